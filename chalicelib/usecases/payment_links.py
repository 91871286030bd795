"""Payment links: one URL a merchant without a backend can paste anywhere.

A link holds a validated checkout template; each visit creates a fresh checkout
from it and sends the shopper there. A deactivated link creates nothing and
shows a friendly page.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.store import Store
from chalicelib.domain import clock, ids
from chalicelib.domain.errors import InvalidRequest, NotFound
from chalicelib.usecases.checkouts import create as create_checkout
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


def visit(store: Store, link_id: str, base: str) -> str | None:
    """A shopper opened the link: a fresh checkout's URL, or None when the link is off."""
    link = store.get(f"LINK#{link_id}", "LINK") if ids.looks_like("plink", link_id) else None
    if link is None:
        raise NotFound("No such payment link.")
    if not link["active"]:
        return None
    merchant = get_merchant(store, link["merchant_id"])
    if merchant is None:
        raise NotFound("No such payment link.")
    checkout = create_checkout(store, merchant, json.loads(link["template"]), None, base)
    url: str = checkout["url"]
    return url
