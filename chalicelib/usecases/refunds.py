"""Refunds: the merchant asks, the provider refunds, the checkout records it.

The refund is made at the provider first and recorded after, as one transition
(``model.plan_refund``) with its own ``checkout.refunded`` event, so each refund
is one merchant delivery. The request is checked against the checkout before the
provider is called, so an impossible refund never reaches it.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.adapters import providers
from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.store import StaleItem, Store, checkout_from_record
from chalicelib.domain import clock, ids, model
from chalicelib.domain.errors import InvalidRequest, ProviderFailed, StateConflict, Unprocessable
from chalicelib.domain.model import Checkout
from chalicelib.usecases.events import checkout_url, transition
from chalicelib.usecases.merchants import Merchant, owned_checkout

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500
_FIELDS = frozenset({"amount", "reason"})


def parse_request(raw: bytes | str | None) -> tuple[int | None, str | None]:
    """The body ``{amount?: int, reason?: string}`` (an empty body refunds what remains)."""
    if not raw or not raw.strip():
        return None, None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidRequest("the request body is not valid JSON", "body", code="invalid_json") from e
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", "body")
    for key in body:
        if key not in _FIELDS:
            raise InvalidRequest(f"unknown parameter: {key}", key, code="parameter_unknown")
    amount, reason = body.get("amount"), body.get("reason")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0):
        raise InvalidRequest("amount must be a positive integer (minor units)", "amount")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS):
        raise InvalidRequest(f"reason must be a string of at most {MAX_REASON_CHARS} characters", "reason")
    return amount, reason or None


def _paid_with(checkout: Checkout) -> tuple[str, str]:
    """(provider, provider session) that took the payment."""
    payment = checkout.payment
    if payment is None:
        raise StateConflict(f"a checkout that is {checkout.view_status()} cannot be refunded")
    attempt = checkout.attempt
    if attempt is not None and attempt.provider_session_id == payment.provider_session_id:
        return attempt.provider, payment.provider_session_id
    return checkout.provider, payment.provider_session_id


def create(store: Store, merchant: Merchant, checkout_id: str, raw_body: bytes | str | None, base: str) -> dict[str, Any]:
    amount, reason = parse_request(raw_body)
    checkout = owned_checkout(store, merchant, checkout_id)
    requested = amount if amount is not None else model.refundable(checkout)
    refund_id = ids.new_id("re")
    # Refuses a refund that cannot be recorded before the provider is asked for it.
    model.plan_refund(checkout, requested, refund_id, clock.now_s())
    provider, session_id = _paid_with(checkout)
    adapter = providers.build(provider, merchant.id, merchant.credentials(), base, store)
    try:
        provider_refund_id = adapter.refund(session_id, requested, checkout.currency, reason, refund_id)
    except pb.ProviderRejected as e:
        log.warning("%s refused refund %s on %s: %s", provider, refund_id, checkout.id, e)
        raise Unprocessable("The payment provider refused the refund. Nothing was refunded.", code="refund_rejected") from e
    except pb.ProviderError as e:
        log.error("%s did not confirm refund %s of %s on %s", provider, refund_id, requested, checkout.id)
        raise ProviderFailed(
            "The payment provider did not confirm the refund. Check with the provider before trying again."
        ) from e
    checkout = _record(store, merchant, checkout, requested, refund_id, base)
    return {
        "id": refund_id,
        "object": "refund",
        "checkout_id": checkout.id,
        "amount": requested,
        "currency": checkout.currency,
        "reason": reason,
        "provider": provider,
        "provider_refund_id": provider_refund_id or None,
        "created_at": clock.iso(clock.now_s()),
        "checkout": model.to_api_object(checkout, checkout_url(base, checkout.id)),
    }


def _record(store: Store, merchant: Merchant, checkout: Checkout, amount: int, refund_id: str, base: str) -> Checkout:
    """The provider made the refund: write it, re-planning on whatever changed meanwhile."""
    for _ in range(8):
        try:
            plan = model.plan_refund(checkout, amount, refund_id, clock.now_s())
            return transition(store, merchant, checkout, plan, base)
        except StaleItem as e:
            checkout = checkout_from_record(e.current) if e.current else owned_checkout(store, merchant, checkout.id)
        except (StateConflict, Unprocessable):
            log.error("refund %s of %s on %s was made at the provider but cannot be recorded", refund_id, amount, checkout.id)
            raise
    log.error("refund %s of %s on %s was made at the provider but not recorded (busy)", refund_id, amount, checkout.id)
    raise StateConflict("the checkout kept changing; the refund was made but not yet recorded")
