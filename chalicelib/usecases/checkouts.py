"""The merchant API's checkout operations: create (idempotently), read, list, cancel."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib import logs
from chalicelib.adapters import providers
from chalicelib.adapters.store import AlreadyExists, StaleItem, Store, checkout_from_record
from chalicelib.domain import clock, ids, model, validation
from chalicelib.domain.errors import IdempotencyConflict, InvalidRequest, NotFound, StateConflict, Unprocessable
from chalicelib.domain.model import Checkout
from chalicelib.usecases import dashboard_stats
from chalicelib.usecases.events import checkout_url, transition
from chalicelib.usecases.merchants import Merchant, owned_checkout

IDEMPOTENCY_WINDOW_S = 86400


def parse_json(raw: bytes | str | None) -> Any:
    if not raw:
        raise InvalidRequest("the request body must be a JSON object", "body", code="invalid_json")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise InvalidRequest("the request body is not valid JSON", "body", code="invalid_json") from e


def draft(store: Store, merchant: Merchant, body: Any, base: str, checkout_id: str | None = None,
          now_s: int | None = None) -> Checkout:
    """The checkout ``body`` describes, validated and priced, not yet written (``create`` writes it)."""
    if not providers.is_enabled(merchant.provider):
        raise Unprocessable(f"the {merchant.provider} provider is not enabled on this stage", code="provider_unavailable")
    cls = providers.adapter_class(merchant.provider)
    draft = validation.create_checkout(
        body,
        allowed_hosts=merchant.allowed_hosts,
        provider_currencies=cls.currencies,
        provider_methods=cls.methods,
        default_locale=merchant.locale,
    )
    now = clock.now_s() if now_s is None else now_s
    checkout = Checkout(
        id=checkout_id or ids.new_id("chk"),
        merchant_id=merchant.id,
        status=model.OPEN,
        version=0,
        currency=draft.currency,
        line_items=draft.line_items,
        success_url=draft.success_url,
        cancel_url=draft.cancel_url,
        provider=merchant.provider,
        created_at_s=now,
        created_at_us=clock.now_us(),
        expires_at_s=now + draft.expires_in_s,
        locale=draft.locale,
        payment_method_types=draft.payment_method_types,
        collect_shipping_address=draft.collect_shipping_address,
        customer=draft.customer,
        client_reference_id=draft.client_reference_id,
        metadata=draft.metadata,
        base_url=base,
        allow_promotion_codes=draft.allow_promotion_codes,
    )
    if draft.promotion_code is not None:  # pre-applied code (issue #9): judged now, reserved at submit
        from chalicelib.usecases import promotions

        rule, checkout.amount_discount = promotions.evaluate(
            store, merchant.id, draft.promotion_code, checkout.line_items, checkout.currency, checkout.customer.get("email"), now)
        checkout.promotion = rule.snapshot()
    return checkout


def create(store: Store, merchant: Merchant, body: Any, idempotency_key: str | None, base: str) -> dict[str, Any]:
    checkout = draft(store, merchant, body, base)
    now = checkout.created_at_s
    response = model.to_api_object(checkout, checkout_url(base, checkout.id), now)
    warnings = merchant.warnings()
    if warnings:
        # Only on the create response: the checkout works, but a Korean storefront needs the profile.
        response["warnings"] = warnings
    logs.note(checkout_id=checkout.id, provider=checkout.provider)
    lookups = dashboard_stats.lookup_items(store, checkout)
    if idempotency_key is None:
        store.create_checkout(checkout, extra=lookups)
        return response
    if not 1 <= len(idempotency_key) <= 255:
        raise InvalidRequest("Idempotency-Key must be 1–255 characters", "Idempotency-Key")
    request_hash = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    key_hash = hashlib.sha256(idempotency_key.encode()).hexdigest()
    record = {
        "pk": f"IDEMPOTENCY#{merchant.id}#{key_hash}",
        "sk": "IDEMPOTENCY",
        "type": "idempotency",
        "request_hash": request_hash,
        "response": json.dumps(response, separators=(",", ":"), ensure_ascii=False),
        "checkout_id": checkout.id,
        "created_at_s": now,
        "expires_at_s": now + IDEMPOTENCY_WINDOW_S,
        "ttl": now + IDEMPOTENCY_WINDOW_S + 3600,
    }
    try:
        store.create_checkout(checkout, record, lookups)
    except AlreadyExists as e:
        existing = e.current
        if existing is None:
            raise IdempotencyConflict("a request with this Idempotency-Key is in progress; retry") from e
        if existing["request_hash"] != request_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request body", "Idempotency-Key"
            ) from e
        replay: dict[str, Any] = json.loads(existing["response"])
        return replay
    return response


def read(store: Store, merchant: Merchant, checkout_id: str, base: str) -> dict[str, Any]:
    checkout = owned_checkout(store, merchant, checkout_id)
    return model.to_api_object(checkout, checkout_url(base, checkout.id))


def list_(store: Store, merchant: Merchant, query: dict[str, str], base: str) -> dict[str, Any]:
    limit = validation.page_query(query, extra=("status",))
    status = query.get("status")
    if status is not None and status not in model.STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(model.STATUSES)}", "status")
    after = None
    if query.get("starting_after"):
        try:
            after = owned_checkout(store, merchant, query["starting_after"])
        except NotFound as e:
            raise InvalidRequest("starting_after is not a checkout of yours", "starting_after") from e

    now = clock.now_s()
    found: list[Checkout] = []
    while True:
        page_size = limit + 1 if status is None else 100
        page, more = store.list_checkouts(merchant.id, page_size, after)
        found.extend(c for c in page if status is None or c.view_status(now) == status)
        if len(found) > limit or not more or not page:
            break
        after = page[-1]
    return {
        "object": "list",
        "data": [model.to_api_object(c, checkout_url(base, c.id), now) for c in found[:limit]],
        "has_more": len(found) > limit or (status is None and more and len(found) > limit),
    }


def cancel(store: Store, merchant: Merchant, checkout_id: str, base: str) -> dict[str, Any]:
    checkout = owned_checkout(store, merchant, checkout_id)
    for _ in range(8):
        plan = model.plan_cancel(checkout, clock.now_s())
        try:
            checkout = transition(store, merchant, checkout, plan, base)
            return model.to_api_object(checkout, checkout_url(base, checkout.id))
        except StaleItem as e:
            checkout = checkout_from_record(e.current) if e.current else owned_checkout(store, merchant, checkout_id)
    raise StateConflict("the checkout kept changing; retry")


# --- PATCH (issue #9) ----------------------------------------------------------------

def update(store: Store, merchant: Merchant, checkout_id: str, body: Any, base: str) -> dict[str, Any]:
    """Change an open checkout: one conditional write on its status and version.

    The discount is judged again on the new lines (a ``promotion_code`` in the body
    applies or, with null, removes one); a code that no longer applies is a 422
    naming why, and nothing changes.
    """
    from chalicelib.domain import discounts
    from chalicelib.usecases import promotions

    checkout = owned_checkout(store, merchant, checkout_id)
    requested = validation.update_checkout(body)
    for _ in range(8):
        now = clock.now_s()
        changes = {k: v for k, v in requested.items() if k != "promotion_code"}
        lines = changes.get("line_items", checkout.line_items)
        email = changes.get("customer", checkout.customer).get("email")
        if requested.get("promotion_code") is not None:
            rule, discount = promotions.evaluate(store, merchant.id, requested["promotion_code"], lines, checkout.currency, email, now)
            changes.update(promotion=rule.snapshot(), amount_discount=discount)
        elif "promotion_code" in requested:
            changes.update(promotion=None, amount_discount=0)
        elif checkout.promotion is not None and "line_items" in changes:
            changes["amount_discount"] = discounts.discount_amount(
                discounts.Rule.from_mapping(checkout.promotion), lines, checkout.currency)
        plan = model.plan_update(checkout, changes, now)
        try:
            checkout = store.apply(checkout, plan)
            return model.to_api_object(checkout, checkout_url(base, checkout.id), now)
        except StaleItem as e:
            checkout = checkout_from_record(e.current) if e.current else owned_checkout(store, merchant, checkout_id)
    raise StateConflict("the checkout kept changing; retry")
