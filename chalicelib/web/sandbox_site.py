"""The sandbox provider's hosted page: Approve, Decline, Cancel, Pay later by virtual account.

This plays the provider's side: it changes the sandbox session, sends a signed
notification to our webhook route (as a real provider would, over HTTP), and
sends the shopper back to the return or cancel URL. A "deposit" button stands
in for the bank when a virtual account is waiting.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any, Mapping

from chalicelib.adapters.providers import sandbox
from chalicelib.adapters.store import StaleItem, Store
from chalicelib.domain import clock, money
from chalicelib.domain.errors import Forbidden, InvalidRequest, NotFound
from chalicelib.web import csrf, i18n
from chalicelib.web.render import Html, render
from chalicelib.web.views import Redirect, origin_of

log = logging.getLogger(__name__)

ACTIONS = {
    # action: (from statuses, to status)
    "approve": (("open",), "paid"),
    "decline": (("open",), "declined"),
    "cancel": (("open",), "cancelled"),
    "pay_later": (("open",), "pending"),
    "deposit": (("pending",), "paid"),
}
VIRTUAL_ACCOUNT_DAYS = 3


def _session(store: Store, session_id: str) -> dict[str, Any]:
    if not session_id.startswith("sbx_") or len(session_id) > 60:
        raise NotFound("No such sandbox session.")
    record = store.get(f"SANDBOX#{session_id}", "SANDBOX")
    if record is None:
        raise NotFound("No such sandbox session.")
    return record


def page(store: Store, base: str, session_id: str, lang: str | None) -> Html:
    record = _session(store, session_id)
    locale = i18n.pick_locale(lang, "en")
    t = i18n.translator(locale)
    return render("sandbox.html", {
        "t": t, "locale": locale, "base": base,
        "session": record,
        "amount": money.format_amount(record["amount"], record["currency"], locale),
        "csrf_token": csrf.issue(session_id),
    }, form_action=_form_actions(store, record))


def _form_actions(store: Store, record: Mapping[str, Any]) -> tuple[str, ...]:
    """Where the buttons' POST may end up. Browsers check form-action on every redirect after
    it, and the return route redirects on to the merchant's success (or cancel) URL."""
    urls = [record["return_url"], record["cancel_url"]]
    checkout = store.get_checkout(record["checkout_id"])
    if checkout is not None:
        urls += [checkout.success_url, checkout.cancel_url]
    return tuple(o for o in (origin_of(u) for u in urls) if o)


def act(store: Store, session_id: str, form: Mapping[str, list[str]]) -> Redirect | Html:
    record = _session(store, session_id)
    if not csrf.verify(session_id, (form.get("csrf_token") or [""])[0]):
        raise Forbidden("The sandbox form expired; reload it.", code="csrf_failed")
    action = (form.get("action") or [""])[0]
    if action not in ACTIONS:
        raise InvalidRequest("unknown sandbox action", "action")
    allowed_from, to_status = ACTIONS[action]
    now = clock.now_s()
    changes: dict[str, Any] = {"status": to_status}
    if to_status == "paid":
        changes.update(paid_at_s=now, reference="sbxpay_" + secrets.token_hex(8))
    if to_status == "pending":
        changes["virtual_account"] = {
            "bank": "KDB산업은행",
            "account_number": "9" + "".join(secrets.choice("0123456789") for _ in range(13)),
            "account_holder": "샌드박스페이",
            "amount": record["amount"],
            "currency": record["currency"],
            "due_at_s": now + VIRTUAL_ACCOUNT_DAYS * 86400,
        }
    if record["status"] in allowed_from:
        try:
            store.update(record["pk"], record["sk"], changes, conditions={"status": record["status"]})
        except StaleItem:
            pass  # a double click: the first one counts
        sandbox.notify(record)
    if action == "deposit":
        return render("sandbox_done.html", {"t": i18n.translator("en"), "locale": "en", "base": "",
                                            "session": record})
    target = record["cancel_url"] if action == "cancel" else record["return_url"]
    return Redirect(target)
