"""Payment links: one URL a merchant without a backend can paste anywhere.

A link holds a validated checkout template; each visit sends the shopper to a fresh
checkout of their own (303, as the contract says), but writes nothing: the visit mints
the checkout's id and a signed reference to the link, the page is drawn from the
template, and the checkout is written on the shopper's first POST (paying, or applying
a code). So crawlers, link previews and the curious cost one read each, and the
merchant's list holds only checkouts a shopper acted on. A deactivated link creates
nothing and shows a friendly page.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from chalicelib.adapters import secretbox
from chalicelib.adapters.store import AlreadyExists, Store
from chalicelib.domain import clock, ids
from chalicelib.domain.errors import InvalidRequest, NotFound
from chalicelib.domain.model import Checkout
from chalicelib.usecases import dashboard_stats
from chalicelib.usecases.checkouts import draft
from chalicelib.usecases.merchants import Merchant
from chalicelib.usecases.merchants import get as get_merchant

LINK_FIELDS = frozenset({
    "line_items", "currency", "customer", "collect_shipping_address", "success_url", "cancel_url",
    "client_reference_id", "metadata", "locale", "expires_in", "payment_method_types",
})


def link_url(base: str, link_id: str) -> str:
    return f"{base}/l/{link_id}"


def _view(link: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "id": link["id"],
        "object": "payment_link",
        "url": link_url(link.get("base_url") or base, link["id"]),
        "active": link["active"],
        "created_at": clock.iso(link["created_at_s"]),
        "template": json.loads(link["template"]),
    }


def create(store: Store, merchant: Merchant, body: Any, base: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", "body")
    for key in body:
        if key not in LINK_FIELDS:
            raise InvalidRequest(f"unknown parameter: {key}", key, code="parameter_unknown")
    # Validate exactly as a checkout would be, without keeping that checkout.
    from chalicelib.adapters import providers
    from chalicelib.domain import validation

    cls = providers.adapter_class(merchant.provider)
    validation.create_checkout(
        body,
        allowed_hosts=merchant.allowed_hosts,
        provider_currencies=cls.currencies,
        provider_methods=cls.methods,
        default_locale=merchant.locale,
    )
    link = {
        "pk": "", "sk": "LINK", "type": "payment_link",
        "id": ids.new_id("plink"),
        "merchant_id": merchant.id,
        "template": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "active": True,
        "created_at_s": clock.now_s(),
        "base_url": base,
    }
    link["pk"] = f"LINK#{link['id']}"
    # Listed newest first in the dashboard through the merchant index.
    link.update(gsi1pk=f"MERCHANT#{merchant.id}", gsi1sk=f"LINK#{link['created_at_s']:012d}#{link['id']}")
    store.put_new(link)
    return _view(link, base)


def _owned(store: Store, merchant: Merchant, link_id: str) -> dict[str, Any]:
    link = store.get(f"LINK#{link_id}", "LINK") if ids.looks_like("plink", link_id) else None
    if link is None or link["merchant_id"] != merchant.id:
        raise NotFound(f"no payment link {link_id}", "id")
    return link


def read(store: Store, merchant: Merchant, link_id: str, base: str) -> dict[str, Any]:
    return _view(_owned(store, merchant, link_id), base)


def update(store: Store, merchant: Merchant, link_id: str, body: Any, base: str) -> dict[str, Any]:
    link = _owned(store, merchant, link_id)
    if not isinstance(body, dict) or set(body) - {"active"}:
        unknown = sorted(set(body) - {"active"}) if isinstance(body, dict) else ["body"]
        raise InvalidRequest(f"only active can be changed; got {unknown[0]}", unknown[0])
    if not isinstance(body.get("active"), bool):
        raise InvalidRequest("active must be true or false", "active")
    updated = store.update(link["pk"], link["sk"], {"active": body["active"]})
    return _view(updated, base)


def list_(store: Store, merchant: Merchant, base: str, limit: int = 100) -> list[dict[str, Any]]:
    """The merchant's links, newest first."""
    records, _more = store.merchant_index(merchant.id, "LINK#", limit, newest_first=True)
    return [_view(r, base) for r in records]


def _signature(checkout_id: str, link_id: str, issued_s: int) -> str:
    key = secretbox.derived_key("payment-link")
    return hmac.new(key, f"{checkout_id}|{link_id}|{issued_s}".encode(), hashlib.sha256).hexdigest()[:32]


def _live_link(store: Store, link_id: str) -> tuple[dict[str, Any], Merchant] | None:
    """The link and its merchant; None when the link is off. NotFound when there is none."""
    link = store.get(f"LINK#{link_id}", "LINK") if ids.looks_like("plink", link_id) else None
    if link is None:
        raise NotFound("No such payment link.")
    if not link["active"]:
        return None
    merchant = get_merchant(store, link["merchant_id"])
    if merchant is None:
        raise NotFound("No such payment link.")
    return link, merchant


def visit(store: Store, link_id: str, base: str) -> str | None:
    """A shopper opened the link: the URL of a checkout of their own (not written yet), or None when the link is off."""
    found = _live_link(store, link_id)
    if found is None:
        return None
    checkout_id, now = ids.new_id("chk"), clock.now_s()
    return f"{base}/c/{checkout_id}?link={link_id}.{now}.{_signature(checkout_id, link_id, now)}"


def unsaved_checkout(store: Store, checkout_id: str, reference: str | None, base: str) -> tuple[Checkout, Merchant] | None:
    """The checkout a link visit named (``?link=``), as the template makes it; None unless the reference is ours."""
    link_id, _, rest = (reference or "").partition(".")
    issued, _, signature = rest.partition(".")
    if not issued.isdigit() or not hmac.compare_digest(_signature(checkout_id, link_id, int(issued)), signature):
        return None
    try:
        found = _live_link(store, link_id)
    except NotFound:
        return None
    if found is None:
        return None
    link, merchant = found
    # Its clock starts at the visit: the page the shopper saw and the checkout written agree.
    checkout = draft(store, merchant, json.loads(link["template"]), base, checkout_id, int(issued))
    return checkout, merchant


def save(store: Store, checkout_id: str, reference: str | None, base: str) -> tuple[Checkout, Merchant] | None:
    """Write the link visit's checkout on the shopper's first POST (or find it, if another request did)."""
    found = unsaved_checkout(store, checkout_id, reference, base)
    if found is None:
        return None
    checkout, merchant = found
    try:
        store.create_checkout(checkout, extra=dashboard_stats.lookup_items(store, checkout))
    except AlreadyExists:
        existing = store.get_checkout(checkout_id)
        if existing is None:
            return None
        return existing, merchant
    return checkout, merchant
