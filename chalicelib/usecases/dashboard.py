"""The dashboard's use cases over the merchant API's: listings, a checkout's timeline,
refunds and the other actions, developer health, settings.

Nothing here decides a business rule of its own: a refund is ``refunds.create``, a
cancel ``checkouts.cancel``, a resend ``events.resend``, a code ``promotions``, a
link ``payment_links``, a settings change ``merchants.update_profile``. What it
adds is reading for people (filters, search, a timeline) and the form's
idempotency key, so a double click refunds once.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from chalicelib.adapters import webhooks
from chalicelib.adapters.store import ABSENT, StaleItem, Store, checkout_from_record
from chalicelib.domain import clock, counters, ids, model, money
from chalicelib.domain.errors import CheckoutError, Conflict, InvalidRequest, Unprocessable
from chalicelib.domain.model import Checkout
from chalicelib.usecases import checkouts, dashboard_stats, events, refunds
from chalicelib.usecases.merchants import Merchant
from chalicelib.usecases.merchants import owned_checkout as get_owned

log = logging.getLogger(__name__)

PAGE_SIZE = 50
# At most this many index items are read to fill one filtered page (then "more" links on).
SCAN_BUDGET = 1000
ONCE_WINDOW_S = 86400


# --- checkouts: list, filter, search ------------------------------------------------------------

@dataclass
class Filters:
    status: str | None = None
    provider: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    q: str | None = None
    after: str | None = None


def parse_filters(query: dict[str, str]) -> Filters:
    """The list's query string; a bad value is a 400 naming it."""
    found = Filters()
    status = (query.get("status") or "").strip()
    if status:
        if status not in model.STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(model.STATUSES)}", "status")
        found.status = status
    provider = (query.get("provider") or "").strip()
    if provider:
        from chalicelib.adapters.providers import PROVIDER_NAMES

        if provider not in PROVIDER_NAMES:
            raise InvalidRequest(f"provider must be one of {', '.join(PROVIDER_NAMES)}", "provider")
        found.provider = provider
    for param in ("from", "to"):
        text = (query.get(param) or "").strip()
        if text:
            try:
                day = date.fromisoformat(text)
            except ValueError as e:
                raise InvalidRequest(f"{param} must be a date like 2026-12-01", param) from e
            setattr(found, "day_from" if param == "from" else "day_to", day)
    found.q = (query.get("q") or "").strip()[:200] or None
    found.after = (query.get("after") or "").strip() or None
    return found


def _kst_start_s(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=counters.KST).timestamp())


def list_checkouts(store: Store, merchant: Merchant, filters: Filters) -> tuple[list[Checkout], str | None]:
    """One page, newest first, and the ``after`` of the next page (None at the end)."""
    now = clock.now_s()
    if filters.q:
        return [c for c in search(store, merchant, filters.q) if _matches(c, filters, now)], None
    lo = _kst_start_s(filters.day_from) if filters.day_from else 0
    hi = _kst_start_s(filters.day_to + timedelta(days=1)) - 1 if filters.day_to else 10**12 - 1
    after = None
    if filters.after:
        try:
            after = get_owned(store, merchant, filters.after)
        except CheckoutError as e:
            raise InvalidRequest("after is not a checkout of yours", "after") from e
    # The merchant index keys checkouts by creation time in microseconds (16 digits); older ones
    # keep 12-digit seconds and sort before them. Newest first: the microsecond range, then the other.
    # (Both ranges stay within their own format: 16-digit keys start with 1 from 2001 on, 12-digit ones with 00.)
    ranges = [(f"CHECKOUT#{max(lo, 10**9) * 10**6:016d}", f"CHECKOUT#{(hi + 1) * 10**6 - 1:016d}#~"),
              (f"CHECKOUT#{lo:012d}", f"CHECKOUT#{min(hi, 10**10 - 1):012d}#~")]
    if after is not None and after.created_at_us is None:
        ranges = ranges[1:]
    found: list[Checkout] = []
    scanned = 0
    for sk_from, sk_to in ranges:
        while True:
            page, more = store.merchant_checkouts_between(merchant.id, sk_from, sk_to, 100, after)
            scanned += len(page)
            for checkout in page:
                if _matches(checkout, filters, now):
                    found.append(checkout)
                    if len(found) > PAGE_SIZE:
                        return found[:PAGE_SIZE], found[PAGE_SIZE - 1].id
            if not more or not page:
                break
            after = page[-1]
            if scanned >= SCAN_BUDGET:
                return found, after.id
        after = None
    return found, None


def _matches(checkout: Checkout, filters: Filters, now_s: int) -> bool:
    if filters.status and checkout.view_status(now_s) != filters.status:
        return False
    if filters.provider and (checkout.attempt.provider if checkout.attempt else checkout.provider) != filters.provider:
        return False
    created = datetime.fromtimestamp(checkout.created_at_s, tz=counters.KST).date()
    if filters.day_from and created < filters.day_from:
        return False
    return not (filters.day_to and created > filters.day_to)


def search(store: Store, merchant: Merchant, q: str) -> list[Checkout]:
    """Exactly the checkout ``q`` names: its id, its client_reference_id or the customer's email."""
    if ids.looks_like("chk", q):
        checkout = store.get_checkout(q)
        return [checkout] if checkout is not None and checkout.merchant_id == merchant.id else []
    hits = []
    for checkout_id in dashboard_stats.find(store, merchant.id, q):
        checkout = store.get_checkout(checkout_id)
        if checkout is None or checkout.merchant_id != merchant.id:
            continue
        emails = {(checkout.customer.get("email") or "").lower(), ((checkout.shopper or {}).get("email") or "").lower()}
        if checkout.client_reference_id == q or q.lower() in emails:
            hits.append(checkout)
    return hits


# --- one checkout: its detail and timeline ---------------------------------------------------------

@dataclass
class Timeline:
    checkout: Checkout
    events: list[dict[str, Any]]
    # (at_s, kind, detail) in time order
    entries: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)


def timeline(store: Store, merchant: Merchant, checkout_id: str) -> Timeline:
    """The checkout, its events (each with every delivery attempt) and what happened when."""
    checkout = get_owned(store, merchant, checkout_id)
    found = sorted(store.query(f"CHECKOUT#{checkout.id}", "EVENT#"), key=lambda e: (e["created_at_s"], e["id"]))
    entries: list[tuple[int, str, dict[str, Any]]] = [(checkout.created_at_s, "created", {})]
    if checkout.opened_at_s:
        entries.append((checkout.opened_at_s, "opened", {}))
    if checkout.submitted_at_s:
        entries.append((checkout.submitted_at_s, "submitted", {}))
    if checkout.attempt is not None:
        entries.append((checkout.attempt.created_at_s, "attempt", {"attempt": checkout.attempt}))
    refunded_before = 0
    for event in found:
        data = json.loads(webhooks.payload_of(event)).get("data", {})
        detail: dict[str, Any] = {"event": event, "status": data.get("status")}
        if event["event_type"] == model.EVENT_REFUNDED:
            detail["refund_id"] = event["sk"].rsplit("#", 1)[-1]
            detail["amount"] = int(data.get("amount_refunded", 0)) - refunded_before
            refunded_before = int(data.get("amount_refunded", 0))
        if event["event_type"] == model.EVENT_PAYMENT_FAILED:
            detail["attempt_id"] = event["sk"].rsplit("#", 1)[-1]
        entries.append((event["created_at_s"], event["event_type"], detail))
    entries.sort(key=lambda e: e[0])
    return Timeline(checkout=checkout, events=found, entries=entries)


# --- actions -----------------------------------------------------------------------------------------

class AlreadyDone(Conflict):
    """This form was sent before (a double click): what it asked for is done or under way."""

    code = "already_submitted"


def _once(store: Store, merchant: Merchant, action: str, key: str) -> tuple[str, str]:
    """Claim the form's idempotency key for ``action``; AlreadyDone when it was claimed before."""
    if not 8 <= len(key) <= 100:
        raise InvalidRequest("the form is missing its idempotency_key; reload the page", "idempotency_key")
    now = clock.now_s()
    pk = f"DONCE#{merchant.id}#{hashlib.sha256(f'{action}|{key}'.encode()).hexdigest()[:40]}"
    try:
        store.update(pk, "ONCE", {"type": "dashboard_once", "claimed_at_s": now, "ttl": now + ONCE_WINDOW_S},
                     conditions={"claimed_at_s": ABSENT})
    except StaleItem as e:
        raise AlreadyDone("This form was already sent; nothing was done twice.") from e
    return pk, "ONCE"


def _forget(store: Store, claim: tuple[str, str]) -> None:
    """Free a claimed key whose action was refused (nothing happened, so sending it again is safe)."""
    store.update(*claim, {"claimed_at_s": None})


def refund(
    store: Store, merchant: Merchant, checkout_id: str, amount_text: str, reason: str, idempotency_key: str, base: str
) -> dict[str, Any]:
    """The API's refund, from the form: ``amount`` in major units (exact), empty for what remains."""
    checkout = get_owned(store, merchant, checkout_id)
    body: dict[str, Any] = {}
    if amount_text.strip():
        try:
            body["amount"] = money.from_major(amount_text.strip().replace(",", ""), checkout.currency)
        except ValueError as e:
            digits = money.exponent(checkout.currency)
            raise Unprocessable(
                f"amount must be a number in {checkout.currency} with at most {digits} decimal places",
                "amount", code="invalid_refund_amount") from e
        if body["amount"] <= 0:
            raise Unprocessable("amount must be more than zero", "amount", code="invalid_refund_amount")
    if reason.strip():
        body["reason"] = reason.strip()
    claim = _once(store, merchant, f"refund|{checkout.id}", idempotency_key)
    try:
        return refunds.create(store, merchant, checkout.id, json.dumps(body, ensure_ascii=False), base)
    except CheckoutError:
        _forget(store, claim)
        raise


def cancel(store: Store, merchant: Merchant, checkout_id: str, base: str) -> dict[str, Any]:
    return checkouts.cancel(store, merchant, checkout_id, base)


def resend(store: Store, merchant: Merchant, event_id: str) -> dict[str, Any]:
    return events.resend(store, merchant, event_id)


# --- developers ----------------------------------------------------------------------------------------

def send_test_event(merchant: Merchant) -> int | None:
    """One signed ``webhook.test`` to the merchant's endpoint: no retry, not counted. Its HTTP status."""
    if not merchant.webhook_url:
        raise Unprocessable("There is no webhook_url to send to.", "webhook_url", code="no_webhook_url")
    now = clock.now_s()
    event = {
        "id": ids.new_id("evt"),
        "merchant_id": merchant.id,
        "payload": json.dumps({"type": "webhook.test", "timestamp": clock.iso(now), "data": {"merchant_id": merchant.id}},
                              separators=(",", ":")),
    }
    return webhooks.send(merchant.webhook_url, merchant.webhook_secret(), event, webhooks.FIRST_ATTEMPT_TIMEOUT_S)


def key_hint(merchant: Merchant) -> str:
    """The key as the page may show it: its kind and, when known, its last four characters."""
    prefix = "sk_live_" if merchant.livemode else "sk_test_"
    return f"{prefix}…{merchant.api_key_last4}" if merchant.api_key_last4 else f"{prefix}…"


__all__ = ["Filters", "parse_filters", "list_checkouts", "search", "timeline", "refund", "cancel", "resend",
           "send_test_event", "key_hint", "AlreadyDone", "checkout_from_record"]
