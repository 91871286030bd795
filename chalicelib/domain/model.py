"""The checkout and its state machine.

This module owns which state may follow which. It is pure: it plans a transition
(new status, changed fields, the merchant event it causes) and ``chalicelib.adapters.store``
applies the plan as one conditional write on the status and version it was
planned from, so of two racing Lambdas exactly one wins and a late "failed" can
never overwrite "complete". Nothing here imports Chalice or boto3.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain import clock
from chalicelib.domain.errors import RefundInProgress, StateConflict, Unprocessable

OPEN = "open"
PROCESSING = "processing"
COMPLETE = "complete"
EXPIRED = "expired"
CANCELLED = "cancelled"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"

STATUSES = (OPEN, PROCESSING, COMPLETE, EXPIRED, CANCELLED, PARTIALLY_REFUNDED, REFUNDED)

# The whole state machine. COMPLETE is reachable from EXPIRED and CANCELLED (and
# from OPEN, when a shopper left the provider's page and paid after all) only
# through a payment the provider confirmed: money moved, so it is never lost.
TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({PROCESSING, COMPLETE, EXPIRED, CANCELLED}),
    PROCESSING: frozenset({OPEN, COMPLETE, EXPIRED, CANCELLED}),
    EXPIRED: frozenset({COMPLETE}),
    CANCELLED: frozenset({COMPLETE}),
    COMPLETE: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    PARTIALLY_REFUNDED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    REFUNDED: frozenset(),
}

PAID_STATUSES = frozenset({COMPLETE, PARTIALLY_REFUNDED, REFUNDED})

# Merchant event types (Standard Webhooks deliveries).
EVENT_COMPLETED = "checkout.completed"
EVENT_PAYMENT_FAILED = "checkout.payment_failed"
EVENT_EXPIRED = "checkout.expired"
EVENT_CANCELLED = "checkout.cancelled"
EVENT_REFUNDED = "checkout.refunded"

# Methods that are cash under 부가가치세법 (현금영수증 applies), and the amount from which an
# e-commerce retailer must issue one even when the shopper did not ask (국세청).
CASH_METHODS = frozenset({"bank_transfer", "virtual_account"})
CASH_RECEIPT_MANDATORY_KRW = 100_000
# 할부 is offered from this card amount (KRW), for 2 to 12 months.
INSTALLMENT_MINIMUM_KRW = 50_000
INSTALLMENT_MONTHS = tuple(range(2, 13))
# The checkout's ``shipping`` object, as merchants read it (absent values are null).
SHIPPING_KEYS = ("name", "phone", "phone2", "postal_code", "address1", "address_jibun", "address2", "request",
                 "request_type", "entrance_code")

PAYMENT_METHODS = (
    "card",
    "virtual_account",
    "bank_transfer",
    "kakao_pay",
    "naver_pay",
    "toss_pay",
    "wechat_pay",
    "cash_app",
    "crypto",
)


@dataclass
class LineItem:
    name: str
    unit_amount: int
    quantity: int
    description: str | None = None
    image_url: str | None = None
    product_id: str | None = None
    # A shipping charge (free_shipping promotion codes take it to 0); None when not.
    shipping: bool | None = None
    # Excluded from 청약철회 by 전자상거래법 제17조②; the page labels it so (제17조⑥).
    non_returnable: bool | None = None

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity


@dataclass
class Attempt:
    """One try at paying: a provider session created for this checkout."""

    id: str
    provider: str
    method: str
    created_at_s: int
    provider_session_id: str | None = None
    redirect_url: str | None = None
    # Set while a payment waits for something outside the browser (a deposit).
    pending: dict[str, Any] | None = None
    # What this attempt asked the provider to charge, fixed at lock: a payment on its
    # session is judged against this, whatever the checkout's total is later.
    amount: int | None = None
    currency: str | None = None
    # How many times reconciliation has asked the provider about this attempt.
    checks: int = 0


@dataclass
class Payment:
    provider_session_id: str
    method: str
    amount: int
    currency: str
    paid_at_s: int
    provider_reference: str | None = None


@dataclass
class Checkout:
    id: str
    merchant_id: str
    status: str
    version: int
    currency: str
    line_items: list[LineItem]
    success_url: str
    cancel_url: str
    provider: str
    created_at_s: int
    expires_at_s: int
    locale: str
    payment_method_types: list[str]
    collect_shipping_address: bool
    customer: dict[str, str] = field(default_factory=dict)
    client_reference_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    attempt: Attempt | None = None
    payment: Payment | None = None
    shopper: dict[str, str] | None = None
    late_payment: bool = False
    amount_mismatch: dict[str, Any] | None = None
    last_error: str | None = None
    # The external base URL the checkout was created under: its page URL in events
    # and webhooks stays the same whichever route (or scheduled job) emits them.
    base_url: str | None = None
    # Minor units refunded so far (complete -> partially_refunded -> refunded).
    amount_refunded: int = 0
    # The refund lock: {"id", "amount", "reason"?, "provider", "provider_session_id", "started_at_s"}
    # while a refund is at the provider (or its answer was lost and reconciliation will read it back).
    refund_pending: dict[str, Any] | None = None
    # --- promotion codes (chalicelib.domain.discounts / chalicelib.usecases.promotions) ---
    allow_promotion_codes: bool = False
    # The applied code's rule as it was applied (discounts.Rule.snapshot()), and what it takes off.
    promotion: dict[str, Any] | None = None
    amount_discount: int = 0
    # {"code", "customer"?, "unsettled"?}: a use of the code reserved at the first submit and held
    # while any session of this checkout carrying its discount may still be paid ("unsettled":
    # the shopper left one at the provider unconfirmed). Given back when the checkout ends.
    reservation: dict[str, Any] | None = None
    # Paid after its reservation was given back, when the code had run out meanwhile.
    promotion_over_limit: bool = False
    # Codes refused on the public page so far (usecases.promotions.MAX_REFUSED_TRIES ends them).
    promotion_refusals: int = 0
    # What earlier attempts' provider sessions asked for ({provider_session_id, amount,
    # currency}, newest last): a late payment on one is judged by it.
    released_attempts: list[dict[str, Any]] = field(default_factory=list)
    # Creation time in microseconds: the merchant index's order, strict within one second.
    created_at_us: int | None = None
    # --- Korean commerce (issue 17), set with the submit's lock ---
    # Recipient and delivery: {name, phone, phone2, postal_code, address1, address_jibun, address2,
    # request, entrance_code}; only for checkouts that collect a shipping address.
    shipping: dict[str, str] | None = None
    # 현금영수증 for cash methods: {"type": none|income_deduction|expense_proof, "id"?, "sent_to_provider"}.
    cash_receipt: dict[str, Any] | None = None
    # 할부 for card payments: 0 (일시불) or 2–12; None when not asked.
    installment_months: int | None = None
    # The shopper's optional marketing consent (its own unticked box; never needed to pay).
    marketing_opt_in: bool = False
    # --- the dashboard's funnel (chalicelib.counters): each set once, by the step it counts ---
    opened_at_s: int | None = None
    submitted_at_s: int | None = None

    @property
    def amount_subtotal(self) -> int:
        return sum(item.amount for item in self.line_items)

    @property
    def amount_total(self) -> int:
        return self.amount_subtotal - self.amount_discount

    def view_status(self, now_s: int | None = None) -> str:
        """The status everyone sees: an unpaid checkout past expires_at reads as expired."""
        now = clock.now_s() if now_s is None else now_s
        if self.status in (OPEN, PROCESSING) and now >= self.expires_at_s:
            return EXPIRED
        return self.status


# Named conditions a promotion counter change is written under (chalicelib.adapters.store).
COUNT_ALWAYS = "always"            # releases and conversions: never block the transition
COUNT_WITHIN_LIMIT = "within_limit"  # claimed < usage_limit (and, per customer, < its limit)
COUNT_RESERVABLE = "reservable"    # within_limit, and the code is active and inside its window


@dataclass(frozen=True)
class CounterChange:
    """A move of a promotion code's counters, written in the same transaction as a transition.

    ``claimed`` counts reservations plus redemptions, so one clause (claimed < limit)
    bounds both; ``redeemed`` counts completed checkouts. ``customer`` (a hash of the
    shopper's email) names the per-customer counter instead of the code's own.
    """

    code: str
    claimed: int = 0
    redeemed: int = 0
    customer: str | None = None
    condition: str = COUNT_ALWAYS
    customer_limit: int | None = None
    at_s: int = 0


def customer_key(email: str) -> str:
    """The per-customer counter's key: a hash of the normalised email (the email itself is not kept)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass
class Transition:
    """A planned state change: applied only if the checkout is still at (status, version)."""

    from_status: str
    from_version: int
    to_status: str
    set_fields: dict[str, Any] = field(default_factory=dict)
    remove_fields: tuple[str, ...] = ()
    event_type: str | None = None
    # Makes the event unique: one checkout.completed per checkout, one
    # payment_failed per attempt.
    event_key: str | None = None
    # Promotion-code counters moved atomically with the transition.
    counters: tuple[CounterChange, ...] = ()


# Reconciliation asks the provider about a processing attempt this long after it began
# (then hourly), once more shortly before the checkout expires, and at its expiry.
RECONCILE_AFTER_S = (60, 300, 900, 3600)
RECONCILE_EVERY_S = 3600
FINAL_CHECK_BEFORE_EXPIRY_S = 120


def reconcile_at(attempt_created_at_s: int, expires_at_s: int, checks_done: int) -> int:
    """When reconciliation should next read an attempt that was read ``checks_done`` times.

    About 1, 5, 15 and 60 minutes after the attempt, then hourly; always once
    ``FINAL_CHECK_BEFORE_EXPIRY_S`` before expiry and once at it (the read that decides
    between a late payment and expiry); after that, hourly again.
    """
    final = expires_at_s - FINAL_CHECK_BEFORE_EXPIRY_S
    k = 0
    while True:
        offset = RECONCILE_AFTER_S[k] if k < len(RECONCILE_AFTER_S) else (
            RECONCILE_AFTER_S[-1] + RECONCILE_EVERY_S * (k - len(RECONCILE_AFTER_S) + 1))
        at = attempt_created_at_s + offset
        if at >= final:
            break
        if k == checks_done:
            return at
        k += 1
    if checks_done == k:
        return max(final, attempt_created_at_s)
    return expires_at_s + RECONCILE_EVERY_S * (checks_done - k - 1)


def _shopper_email(checkout: Checkout, shopper: dict[str, str] | None = None) -> str | None:
    return (shopper or checkout.shopper or {}).get("email") or checkout.customer.get("email")


def _reserve(checkout: Checkout, email: str | None, now_s: int) -> tuple[dict[str, Any] | None, tuple[CounterChange, ...]]:
    """A reservation of the applied code for one attempt: the code's counter, and the shopper's."""
    if not checkout.promotion or checkout.amount_discount <= 0:
        return None, ()
    code = str(checkout.promotion["code"])
    changes = [CounterChange(code, claimed=1, condition=COUNT_RESERVABLE, at_s=now_s)]
    held: dict[str, Any] = {"code": code}
    per_customer = checkout.promotion.get("usage_limit_per_customer")
    if per_customer and email:
        held["customer"] = customer_key(email)
        changes.append(CounterChange(code, claimed=1, customer=held["customer"], condition=COUNT_WITHIN_LIMIT,
                                     customer_limit=int(per_customer), at_s=now_s))
    return held, tuple(changes)


def _release(checkout: Checkout) -> tuple[CounterChange, ...]:
    """Give back the checkout's reservation (its payment can no longer happen, or it ended)."""
    held = checkout.reservation
    if not held:
        return ()
    changes = [CounterChange(held["code"], claimed=-1)]
    if held.get("customer"):
        changes.append(CounterChange(held["code"], claimed=-1, customer=held["customer"]))
    return tuple(changes)


def _redeem(checkout: Checkout, now_s: int) -> tuple[CounterChange, ...]:
    """Count the use of the code on completion: the reservation becomes a redemption.

    A payment confirmed after its reservation was given back (paid at the provider
    after cancelling there, or after expiry) claims a use now, within the limit.
    """
    held = checkout.reservation
    if held:
        changes = [CounterChange(held["code"], redeemed=1)]
        if held.get("customer"):
            changes.append(CounterChange(held["code"], redeemed=1, customer=held["customer"]))
        return tuple(changes)
    if not checkout.promotion or checkout.amount_discount <= 0:
        return ()
    code = str(checkout.promotion["code"])
    late = [CounterChange(code, claimed=1, redeemed=1, condition=COUNT_WITHIN_LIMIT, at_s=now_s)]
    per_customer = checkout.promotion.get("usage_limit_per_customer")
    email = _shopper_email(checkout)
    if per_customer and email:
        late.append(CounterChange(code, claimed=1, redeemed=1, customer=customer_key(email),
                                  condition=COUNT_WITHIN_LIMIT, customer_limit=int(per_customer), at_s=now_s))
    return tuple(late)


def _require(checkout: Checkout, to_status: str, now_s: int | None) -> str:
    current = checkout.status
    if to_status not in TRANSITIONS[current]:
        raise StateConflict(
            f"a checkout that is {checkout.view_status(now_s)} cannot become {to_status}"
        )
    return current


def plan_lock(checkout: Checkout, attempt: Attempt, shopper: dict[str, str], now_s: int,
              extras: dict[str, Any] | None = None) -> Transition:
    """open -> processing: the shopper submitted the form and an attempt begins.

    ``extras``: what else the form decided (shipping, cash_receipt, installment_months,
    marketing_opt_in), kept on the checkout with the lock; None removes a field.
    """
    if checkout.view_status(now_s) != OPEN:
        raise StateConflict(f"a checkout that is {checkout.view_status(now_s)} cannot be paid")
    held: dict[str, Any] | None = checkout.reservation
    counters: tuple[CounterChange, ...] = ()
    if not held:
        # (A use still held for this checkout — an earlier session may yet be paid — covers this
        # attempt too: it carries the same discount, and one checkout completes at most once.)
        held, counters = _reserve(checkout, _shopper_email(checkout, shopper), now_s)
    return Transition(
        from_status=_require(checkout, PROCESSING, now_s),
        from_version=checkout.version,
        to_status=PROCESSING,
        set_fields={**(extras or {}), "attempt": attempt, "shopper": shopper, "reservation": held},
        remove_fields=("last_error",),
        counters=counters,
    )


# Earlier attempts remembered for judging a late payment on their sessions.
MAX_RELEASED_ATTEMPTS = 20


def plan_release(
    checkout: Checkout, attempt_id: str, failed: bool, reason: str, now_s: int, payable: bool = False
) -> Transition | None:
    """processing -> open: the attempt failed or the shopper left the provider.

    ``payable``: the attempt's provider session may still be paid (the shopper came back
    through the cancel URL, or the attempt looked abandoned), so a promotion code's use
    stays held for the checkout — marked ``unsettled`` — until the checkout ends. Otherwise
    the provider confirmed the session cannot be paid, and the use is given back unless an
    earlier session of the checkout is still unsettled.

    Returns None when there is nothing to do (another attempt is current, or the
    checkout already moved on): a late "failed" never touches a later state.
    """
    if checkout.status != PROCESSING or checkout.attempt is None or checkout.attempt.id != attempt_id:
        return None
    set_fields: dict[str, Any] = {"last_error": reason}
    attempt = checkout.attempt
    if attempt.provider_session_id and attempt.amount is not None:
        asked = {"provider_session_id": attempt.provider_session_id, "amount": attempt.amount,
                 "currency": attempt.currency or checkout.currency}
        set_fields["released_attempts"] = [*checkout.released_attempts, asked][-MAX_RELEASED_ATTEMPTS:]
    remove: tuple[str, ...] = ("attempt",)
    counters: tuple[CounterChange, ...] = ()
    held = checkout.reservation
    if held and (payable or held.get("unsettled")):
        set_fields["reservation"] = {**held, "unsettled": True}
    else:
        remove += ("reservation",)
        counters = _release(checkout)
    return Transition(
        from_status=PROCESSING,
        from_version=checkout.version,
        to_status=OPEN,
        set_fields=set_fields,
        remove_fields=remove,
        event_type=EVENT_PAYMENT_FAILED if failed else None,
        event_key=f"{EVENT_PAYMENT_FAILED}#{attempt_id}" if failed else None,
        counters=counters,
    )


def plan_complete(
    checkout: Checkout, payment: Payment, now_s: int, over_limit: bool = False, stray: bool = False
) -> Transition | None:
    """Anything unpaid -> complete, for a payment the provider confirmed.

    None when the checkout is already paid: completion happens once. ``over_limit``:
    the late claim of its promotion code found the code used up; the payment still
    completes (money moved), uncounted and flagged. ``stray``: the payment is on an
    attempt the checkout had moved past; flagged ``late_payment`` like one after expiry.
    """
    if checkout.status in PAID_STATUSES:
        return None
    late = stray or checkout.view_status(now_s) in (EXPIRED, CANCELLED)
    set_fields: dict[str, Any] = {"payment": payment, "late_payment": late}
    if over_limit:
        set_fields["promotion_over_limit"] = True
    return Transition(
        from_status=_require(checkout, COMPLETE, now_s),
        from_version=checkout.version,
        to_status=COMPLETE,
        set_fields=set_fields,
        remove_fields=("last_error", "amount_mismatch", "reservation"),
        event_type=EVENT_COMPLETED,
        event_key=EVENT_COMPLETED,
        counters=() if over_limit else _redeem(checkout, now_s),
    )


def _may_still_be_paid(checkout: Checkout) -> bool:
    """A session of this checkout carrying its discount may yet be paid at the provider."""
    held = checkout.reservation or {}
    current = checkout.attempt is not None and bool(checkout.attempt.provider_session_id)
    return bool(held) and (bool(held.get("unsettled")) or current)


def plan_cancel(checkout: Checkout, now_s: int) -> Transition:
    """open/processing -> cancelled, on the merchant's request.

    A promotion use held for a session that may still be paid stays held until the
    checkout's expiry (``plan_expire`` gives it back then): a shopper paying at the
    provider after the cancel completes the checkout within the code's limit.
    """
    view = checkout.view_status(now_s)
    if view not in (OPEN, PROCESSING):
        raise StateConflict(f"a checkout that is {view} cannot be cancelled")
    keep = _may_still_be_paid(checkout)
    return Transition(
        from_status=_require(checkout, CANCELLED, now_s),
        from_version=checkout.version,
        to_status=CANCELLED,
        set_fields={"reservation": {**(checkout.reservation or {}), "unsettled": True}} if keep else {},
        remove_fields=() if keep else ("reservation",),
        event_type=EVENT_CANCELLED,
        event_key=EVENT_CANCELLED,
        counters=() if keep else _release(checkout),
    )


def plan_expire(checkout: Checkout, now_s: int) -> Transition | None:
    """open/processing past expires_at -> expired (made durable by the sweep).

    A cancelled checkout still holding a promotion use gives it back now (cancelled ->
    cancelled, no event): its provider sessions expired with it.
    """
    if checkout.status == CANCELLED and checkout.reservation and now_s >= checkout.expires_at_s:
        return Transition(from_status=CANCELLED, from_version=checkout.version, to_status=CANCELLED,
                          remove_fields=("reservation",), counters=_release(checkout))
    if checkout.status not in (OPEN, PROCESSING) or now_s < checkout.expires_at_s:
        return None
    return Transition(
        from_status=checkout.status,
        from_version=checkout.version,
        to_status=EXPIRED,
        remove_fields=("reservation",),
        event_type=EVENT_EXPIRED,
        event_key=EVENT_EXPIRED,
        counters=_release(checkout),
    )


def plan_update(checkout: Checkout, changes: dict[str, Any], now_s: int) -> Transition:
    """open -> open with new contents (PATCH, a promotion code applied or removed).

    Only an open checkout changes: a submit already at the provider is never
    changed underneath it. ``None`` in ``changes`` removes the field.
    """
    view = checkout.view_status(now_s)
    if view != OPEN:
        raise StateConflict(f"a checkout that is {view} cannot be changed")
    if checkout.reservation and ("promotion" in changes or "amount_discount" in changes):
        # A session the shopper left at the provider carries this code's discount and may
        # still be paid; its use is held for this checkout, so the code stays as it is.
        raise StateConflict("the promotion code cannot change while an earlier payment with it may still complete")
    return Transition(from_status=OPEN, from_version=checkout.version, to_status=OPEN, set_fields=dict(changes))


def applied(checkout: Checkout, plan: Transition) -> Checkout:
    """The checkout as it will be once ``plan`` is written."""
    names = {f.name for f in dataclasses.fields(Checkout)}
    updated = dataclasses.replace(checkout, **{k: v for k, v in plan.set_fields.items() if k in names})
    updated.status = plan.to_status
    updated.version = plan.from_version + 1
    for name in plan.remove_fields:
        if name in names:
            setattr(updated, name, None)
    return updated


def replace_checkout_id(url: str, checkout_id: str) -> str:
    return url.replace("{CHECKOUT_ID}", checkout_id)


def to_api_object(checkout: Checkout, url: str, now_s: int | None = None) -> dict[str, Any]:
    """The checkout as merchants see it in the API and in webhooks."""
    payment = None
    if checkout.payment is not None:
        p = checkout.payment
        payment = {
            "provider_session_id": p.provider_session_id,
            "method": p.method,
            "amount": p.amount,
            "currency": p.currency,
            "paid_at": clock.iso(p.paid_at_s),
            "provider_reference": p.provider_reference,
        }
    obj: dict[str, Any] = {
        "id": checkout.id,
        "object": "checkout",
        "url": url,
        "status": checkout.view_status(now_s),
        "amount_subtotal": checkout.amount_subtotal,
        "amount_discount": checkout.amount_discount,
        "amount_total": checkout.amount_total,
        "promotion_code": checkout.promotion["code"] if checkout.promotion else None,
        "allow_promotion_codes": checkout.allow_promotion_codes,
        "currency": checkout.currency,
        "line_items": [
            {k: v for k, v in vars(item).items() if v is not None} | {"amount": item.amount}
            for item in checkout.line_items
        ],
        "customer": dict(checkout.customer),
        "client_reference_id": checkout.client_reference_id,
        "metadata": dict(checkout.metadata),
        "locale": checkout.locale,
        "payment_method_types": list(checkout.payment_method_types),
        "collect_shipping_address": checkout.collect_shipping_address,
        "success_url": checkout.success_url,
        "cancel_url": checkout.cancel_url,
        "provider": checkout.provider,
        "payment": payment,
        "late_payment": checkout.late_payment,
        "amount_refunded": checkout.amount_refunded,
        "created_at": clock.iso(checkout.created_at_s),
        "expires_at": clock.iso(checkout.expires_at_s),
    }
    obj["shipping"] = {k: checkout.shipping.get(k) for k in SHIPPING_KEYS} if checkout.shipping else None
    obj["cash_receipt"] = cash_receipt_view(checkout)
    obj["installment_months"] = checkout.installment_months
    obj["marketing_opt_in"] = checkout.marketing_opt_in
    if checkout.amount_mismatch:
        obj["amount_mismatch"] = dict(checkout.amount_mismatch)
    if checkout.promotion_over_limit:
        obj["promotion_over_limit"] = True
    return obj


def paying_method(checkout: Checkout) -> str | None:
    """The method paid with, or being paid with."""
    if checkout.payment is not None:
        return checkout.payment.method
    return checkout.attempt.method if checkout.attempt is not None else None


def cash_receipt_required(checkout: Checkout) -> bool:
    """A cash payment of ₩100,000 or more: the merchant must issue a 현금영수증 even unasked."""
    return (checkout.currency == "KRW" and paying_method(checkout) in CASH_METHODS
            and checkout.amount_total >= CASH_RECEIPT_MANDATORY_KRW)


def cash_receipt_view(checkout: Checkout) -> dict[str, Any] | None:
    """The 현금영수증 request as merchants see it; None unless the payment is in cash."""
    if checkout.cash_receipt is None and not cash_receipt_required(checkout):
        return None
    chosen = dict(checkout.cash_receipt or {"type": "none"})
    return {
        "type": chosen.get("type", "none"),
        "id": chosen.get("id"),
        "sent_to_provider": bool(chosen.get("sent_to_provider")),
        "issue_required": cash_receipt_required(checkout),
    }


def installments_allowed(checkout: Checkout) -> bool:
    """할부 can be offered: a KRW card payment of ₩50,000 or more."""
    return checkout.currency == "KRW" and "card" in checkout.payment_method_types and \
        checkout.amount_total >= INSTALLMENT_MINIMUM_KRW


def refundable(checkout: Checkout) -> int:
    """What is left to refund: the amount the provider confirmed as paid, less refunds so far."""
    paid = checkout.payment.amount if checkout.payment is not None else checkout.amount_total
    return max(0, paid - checkout.amount_refunded)


def plan_refund(checkout: Checkout, amount: int, refund_id: str, now_s: int) -> Transition:
    """complete/partially_refunded -> partially_refunded/refunded, for a refund the provider made.

    Each refund is its own ``checkout.refunded`` event (keyed by the refund id).
    Raises StateConflict for a checkout that is not paid, Unprocessable for an
    amount that is not positive or more than remains.
    """
    view = checkout.view_status(now_s)
    if view not in (COMPLETE, PARTIALLY_REFUNDED):
        raise StateConflict(f"a checkout that is {view} cannot be refunded")
    remaining = refundable(checkout)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Unprocessable("amount must be a positive integer (minor units)", "amount", code="invalid_refund_amount")
    if amount > remaining:
        raise Unprocessable(
            f"amount {amount} is more than the {remaining} that remains to be refunded",
            "amount",
            code="refund_exceeds_remaining",
        )
    refunded = checkout.amount_refunded + amount
    to_status = REFUNDED if amount == remaining else PARTIALLY_REFUNDED
    return Transition(
        from_status=_require(checkout, to_status, now_s),
        from_version=checkout.version,
        to_status=to_status,
        set_fields={"amount_refunded": refunded},
        remove_fields=("refund_pending",),
        event_type=EVENT_REFUNDED,
        event_key=f"{EVENT_REFUNDED}#{refund_id}",
    )


def plan_refund_lock(checkout: Checkout, pending: dict[str, Any], now_s: int) -> Transition:
    """Take the checkout's refund lock before the provider is asked: one refund at a time.

    The status does not change, so only the version clause of the write keeps two
    concurrent refunds (planned from the same read) from both holding the lock.
    Raises RefundInProgress while another refund holds it, and what plan_refund
    raises for a refund that could not be recorded.
    """
    if checkout.refund_pending:
        raise RefundInProgress(
            f"refund {checkout.refund_pending.get('id')} of this checkout is still being confirmed with the "
            "provider; try again once it is settled"
        )
    plan_refund(checkout, int(pending["amount"]), str(pending["id"]), now_s)
    return Transition(
        from_status=checkout.status,
        from_version=checkout.version,
        to_status=checkout.status,
        set_fields={"refund_pending": dict(pending)},
    )


def plan_refund_unlock(checkout: Checkout, refund_id: str) -> Transition | None:
    """Free the refund lock of a refund the provider did not make; None if that refund no longer holds it."""
    if not checkout.refund_pending or checkout.refund_pending.get("id") != refund_id:
        return None
    return Transition(
        from_status=checkout.status,
        from_version=checkout.version,
        to_status=checkout.status,
        remove_fields=("refund_pending",),
    )
