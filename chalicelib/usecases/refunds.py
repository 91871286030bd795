"""Refunds: the merchant asks, the checkout's refund lock is taken, the provider refunds,
the checkout records it.

1. The lock (``model.plan_refund_lock``): one conditional write recording the pending
   refund on the checkout, planned from the read the request is judged on. Of two
   concurrent refunds one holds it; the other is 409 ``refund_in_progress`` (or
   ``checkout_state_conflict`` once nothing remains) and never reaches the provider.
2. The provider call, once, with our refund id as its idempotency key where the
   provider has one.
3. The record: one transition (``model.plan_refund``) with its own
   ``checkout.refunded`` event, freeing the lock.

A refund the provider refused frees the lock. A refund whose answer never came keeps
it: whether the money moved is unknown, so it is never sent again (a merchant retry is
409) and ``settle_pending`` — the refund pass of reconciliation — reads it back and
records or frees it.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable

from chalicelib.adapters import providers
from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.store import REFUND_INDEX, StaleItem, Store, checkout_from_record
from chalicelib.domain import clock, ids, model
from chalicelib.domain.errors import InvalidRequest, ProviderFailed, RefundInProgress, StateConflict, Unprocessable
from chalicelib.domain.model import Checkout
from chalicelib.usecases.events import checkout_url, transition
from chalicelib.usecases.merchants import Merchant, owned_checkout
from chalicelib.usecases.merchants import get as get_merchant

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500
# A pending refund younger than this may still be in its request (the provider client gives
# up after 13 s, a Lambda after 30 s): reconciliation leaves it to the request that holds it.
PENDING_GRACE_S = 120
_RETRIES = 8
_FIELDS = frozenset({"amount", "reason"})


def parse_request(raw: bytes | str | None) -> tuple[int | None, str | None]:
    """The body ``{amount?: int, reason?: string}`` (an empty body refunds what remains)."""
    if not raw or not raw.strip():
        return None, None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
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


def _lock(store: Store, merchant: Merchant, checkout: Checkout, amount: int | None, reason: str | None) -> Checkout:
    """Take the refund lock for a new refund; the checkout as locked (its ``refund_pending`` is ours)."""
    for _ in range(_RETRIES):
        now = clock.now_s()
        provider, session_id = _paid_with(checkout)
        if not providers.adapter_class(provider).supports_refunds:
            raise pb.RefundNotSupported(f"{provider} has no refund API; refund in the provider's dashboard")
        pending: dict[str, Any] = {
            "id": ids.new_id("re"),
            "amount": amount if amount is not None else model.refundable(checkout),
            "reason": reason,
            "provider": provider,
            "provider_session_id": session_id,
            "started_at_s": now,
        }
        plan = model.plan_refund_lock(checkout, {k: v for k, v in pending.items() if v is not None}, now)
        try:
            return store.apply(checkout, plan)
        except StaleItem as e:
            checkout = checkout_from_record(e.current) if e.current else owned_checkout(store, merchant, checkout.id)
    raise RefundInProgress("the checkout kept changing; nothing was refunded, try again")


def create(store: Store, merchant: Merchant, checkout_id: str, raw_body: bytes | str | None, base: str) -> dict[str, Any]:
    amount, reason = parse_request(raw_body)
    checkout = _lock(store, merchant, owned_checkout(store, merchant, checkout_id), amount, reason)
    pending = checkout.refund_pending or {}
    refund_id, requested = str(pending["id"]), int(pending["amount"])
    provider, session_id = str(pending["provider"]), str(pending["provider_session_id"])
    adapter = providers.build(provider, merchant.id, merchant.credentials(), base, store)
    try:
        provider_refund_id = adapter.refund(session_id, requested, checkout.currency, reason, refund_id)
    except pb.ProviderRejected as e:
        log.warning("%s refused refund %s on %s: %s", provider, refund_id, checkout.id, e)
        _unlock(store, checkout, refund_id)
        raise Unprocessable("The payment provider refused the refund. Nothing was refunded.", code="refund_rejected") from e
    except pb.ProviderError as e:
        log.error("%s did not confirm refund %s of %s on %s: pending until reconciliation reads it back",
                  provider, refund_id, requested, checkout.id)
        raise ProviderFailed(
            f"The payment provider did not confirm refund {refund_id}. It stays pending and is checked with the "
            "provider automatically; it will not be sent again."
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


def _holds_lock(checkout: Checkout, refund_id: str) -> bool:
    return bool(checkout.refund_pending) and (checkout.refund_pending or {}).get("id") == refund_id


def _unlock(store: Store, checkout: Checkout, refund_id: str) -> Checkout:
    """The provider did not make the refund: free the lock (unless it was freed already)."""
    for _ in range(_RETRIES):
        plan = model.plan_refund_unlock(checkout, refund_id)
        if plan is None:
            return checkout
        try:
            return store.apply(checkout, plan)
        except StaleItem as e:
            fresh = checkout_from_record(e.current) if e.current else store.get_checkout(checkout.id)
            if fresh is None:
                return checkout
            checkout = fresh
    raise StateConflict("the checkout kept changing; the refund lock is freed by reconciliation")


def _record(store: Store, merchant: Merchant, checkout: Checkout, amount: int, refund_id: str, base: str) -> Checkout:
    """The provider made the refund: write it (freeing the lock), re-planning on whatever changed meanwhile."""
    for _ in range(_RETRIES):
        if not _holds_lock(checkout, refund_id):
            # Recorded already (reconciliation read it back meanwhile): once is enough.
            return checkout
        try:
            plan = model.plan_refund(checkout, amount, refund_id, clock.now_s())
            return transition(store, merchant, checkout, plan, base)
        except StaleItem as e:
            checkout = checkout_from_record(e.current) if e.current else owned_checkout(store, merchant, checkout.id)
        except (StateConflict, Unprocessable):
            log.error("refund %s of %s on %s was made at the provider but cannot be recorded", refund_id, amount, checkout.id)
            raise
    log.error("refund %s of %s on %s was made at the provider but not recorded (busy)", refund_id, amount, checkout.id)
    raise StateConflict("the checkout kept changing; the refund was made and stays pending until it is recorded")


# --- reconciliation: refunds whose provider call got no answer -----------------------------

def _made(adapter: pb.Provider, checkout: Checkout, pending: dict[str, Any]) -> bool | None:
    """Did the provider make the pending refund? True, False, or None when its answers cannot tell.

    Read back by our refund id where the provider has a refund read. Otherwise (KoreaCheckout)
    from the session's status, which only tells when the refunds it shows are exactly the ones
    we know of plus this one: no refund at the provider before any was recorded (not made),
    fully refunded by exactly this amount, or partly refunded when this is the first refund (made).
    """
    try:
        read = adapter.read_refund(str(pending["provider_session_id"]), str(pending["id"]))
    except pb.RefundNotSupported:
        read = None
    except pb.ProviderRejected:
        # No refund under our id (yet?): not proof enough to free the lock — a wrong "not made"
        # would let a retry refund twice. Left pending for the next run or an operator.
        return None
    if read is not None:
        if read.status in (pb.REFUND_SUCCEEDED, pb.REFUND_PENDING):
            return True
        if read.status == pb.REFUND_FAILED:
            return False
        return None
    payment = adapter.read_session(str(pending["provider_session_id"]))
    recorded, amount, paid = checkout.amount_refunded, int(pending["amount"]), model.refundable(checkout) + checkout.amount_refunded
    if payment.status == pb.PAID:
        return False if recorded == 0 else None
    if payment.status == pb.REFUNDED:
        return True if recorded + amount == paid else None
    if payment.status == pb.PARTIALLY_REFUNDED:
        return True if recorded == 0 and amount < paid else None
    return None


def settle_pending(store: Store, now_s: int, limit: int = 50, may_read: Callable[[str], bool] | None = None,
                   checkout_id: str | None = None) -> dict[str, int]:
    """The refund pass of reconciliation: read back each refund whose answer never came.

    Made -> recorded (its ``checkout.refunded`` event, once); not made -> the lock is freed
    (the merchant may refund again); unknown -> left pending and logged for an operator.
    ``may_read(provider)`` is asked before each provider read (reconciliation's budget);
    ``checkout_id`` looks at that checkout only. Counts: ``checked``, ``recorded``,
    ``cleared``, ``unchanged``, ``errors``.
    """
    counts = {"checked": 0, "recorded": 0, "cleared": 0, "unchanged": 0, "errors": 0}
    keys = ([{"pk": f"CHECKOUT#{checkout_id}"}] if checkout_id is not None
            else store.due(REFUND_INDEX, now_s - PENDING_GRACE_S, limit))
    for key in keys:
        checkout = store.get_checkout(str(key["pk"]).removeprefix("CHECKOUT#"))
        pending = checkout.refund_pending if checkout is not None else None
        if checkout is None or not pending or int(pending["started_at_s"]) > now_s - PENDING_GRACE_S:
            continue
        if may_read is not None and not may_read(str(pending["provider"])):
            continue
        counts["checked"] += 1
        merchant = get_merchant(store, checkout.merchant_id)
        try:
            if merchant is None:
                raise LookupError(f"merchant {checkout.merchant_id} is gone")
            adapter = providers.build(str(pending["provider"]), merchant.id, merchant.credentials(),
                                      checkout.base_url or "", store)
            made = _made(adapter, checkout, pending)
            if made is None:
                log.error("refund %s of %s on %s: the provider's answers cannot tell whether it was made; "
                          "check in the provider's dashboard", pending["id"], pending["amount"], checkout.id)
                counts["unchanged"] += 1
            elif made:
                _record(store, merchant, checkout, int(pending["amount"]), str(pending["id"]), checkout.base_url or "")
                counts["recorded"] += 1
            else:
                _unlock(store, checkout, str(pending["id"]))
                counts["cleared"] += 1
        except (pb.ProviderError, LookupError, StateConflict, Unprocessable) as e:
            log.warning("refund %s on %s not settled this time: %s", pending["id"], checkout.id, type(e).__name__)
            counts["errors"] += 1
    return counts
