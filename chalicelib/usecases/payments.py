"""Paying a checkout: submit, confirm with the provider, and provider notifications.

The provider's word is never taken from a browser or a notification alone:
every path that could complete a checkout ends in ``settle``, which starts from
an authenticated read of the provider session and completes the checkout only
when the read says paid with exactly our amount and currency.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Collection, Mapping

from chalicelib import logs
from chalicelib.adapters import providers
from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.store import NOTIFICATIONS, LimitReached, StaleItem, Store
from chalicelib.domain import clock, discounts, ids, model, shopper_form, validation
from chalicelib.domain.errors import FormInvalid, NotFound, NotificationRejected, ProviderFailed, ServiceUnavailable, StateConflict
from chalicelib.domain.model import Attempt, Checkout, Payment
from chalicelib.usecases.events import transition
from chalicelib.usecases.merchants import Merchant
from chalicelib.usecases.merchants import get as get_merchant

log = logging.getLogger(__name__)

# An attempt with no provider page after this long lost its Lambda mid-create;
# the next submit may start over (the provider create is idempotent per attempt).
STALE_ATTEMPT_S = 60
_RACE_RETRIES = 8


def load(store: Store, checkout_id: str, recent_if: Collection[str] = ()) -> Checkout:
    """The checkout, read from the table.

    ``recent_if``: statuses in which the copy this container last read or wrote will do
    instead of a read, because the caller's next step either writes on a condition of
    the checkout's version (so a stale copy only loses the condition and is planned again
    from the item as it is) or rests on a status that cannot change back.
    """
    if not ids.looks_like("chk", checkout_id):
        raise NotFound("No such checkout.")
    if recent_if:
        recent = store.recent_checkout(checkout_id)
        if recent is not None and recent.view_status() in recent_if:
            return recent
    checkout = store.get_checkout(checkout_id)
    if checkout is None:
        raise NotFound("No such checkout.")
    return checkout


def load_with_merchant(store: Store, checkout_id: str, recent_if: Collection[str] = ()) -> tuple[Checkout, Merchant]:
    checkout = load(store, checkout_id, recent_if)
    logs.note(merchant_id=checkout.merchant_id, provider=checkout.provider)
    merchant = get_merchant(store, checkout.merchant_id)
    if merchant is None:
        raise NotFound("No such checkout.")
    return checkout, merchant


def return_url(base: str, checkout_id: str) -> str:
    return f"{base}/c/{checkout_id}/return"


def cancel_url(base: str, checkout_id: str) -> str:
    return f"{base}/c/{checkout_id}/cancel"


def notify_url(base: str, provider: str, merchant_id: str) -> str:
    return f"{base}/webhooks/{provider}/{merchant_id}"


def _reload(store: Store, checkout: Checkout, error: StaleItem) -> Checkout:
    if error.current is not None:
        from chalicelib.adapters.store import checkout_from_record

        return checkout_from_record(error.current)
    time.sleep(0.02)
    return load(store, checkout.id)


# --- submit -------------------------------------------------------------------------

def submit(store: Store, checkout: Checkout, merchant: Merchant, form: Mapping[str, object], base: str) -> str:
    """Validate the form, lock the checkout, create the provider session; the URL to send the shopper to.

    A second submit (double click, two tabs) is sent to the first one's provider page.
    """
    values = shopper_form.values_from(form)
    for _ in range(_RACE_RETRIES):
        now = clock.now_s()
        view = checkout.view_status(now)
        if view == model.PROCESSING and checkout.attempt is not None:
            if checkout.attempt.redirect_url:
                return checkout.attempt.redirect_url
            if now - checkout.attempt.created_at_s < STALE_ATTEMPT_S:
                return _wait_for_redirect(store, checkout)
            plan = model.plan_release(checkout, checkout.attempt.id, False, "attempt_abandoned", now, payable=True)
            if plan is not None:
                try:
                    checkout = transition(store, merchant, checkout, plan, base)
                except StaleItem as e:
                    checkout = _reload(store, checkout, e)
                continue
        if view != model.OPEN:
            raise StateConflict(f"This checkout is {view}.")
        provider_cls = providers.adapter_class(checkout.provider)
        errors = shopper_form.validate(values, checkout, provider_cls.takes_installments)
        if errors:
            raise FormInvalid(errors)
        method = shopper_form.chosen_method(values, checkout)
        attempt = Attempt(id=ids.new_id("att"), provider=checkout.provider, method=method, created_at_s=now,
                          amount=checkout.amount_total, currency=checkout.currency)
        extras = shopper_form.extras(values, checkout, method, provider_cls.takes_installments,
                                     provider_cls.takes_cash_receipts)
        plan = model.plan_lock(checkout, attempt, shopper_form.shopper_details(values, checkout), now, extras)
        try:
            checkout = transition(store, merchant, checkout, plan, base)
        except LimitReached as e:
            # The promotion code ran out (or ended) since the page: refused, the checkout stays open.
            from chalicelib.usecases.promotions import refusal

            raise refusal(e, now) from e
        except StaleItem as e:
            checkout = _reload(store, checkout, e)
            continue
        return _create_session(store, checkout, merchant, attempt, values, base)
    raise StateConflict("This checkout is busy; please try again.")


def _wait_for_redirect(store: Store, checkout: Checkout) -> str:
    """Another request holds the attempt and is creating the session: wait for its page."""
    deadline = time.monotonic() + 12
    while time.monotonic() < deadline:
        time.sleep(0.2)
        current = load(store, checkout.id)
        if current.attempt is None or current.status != model.PROCESSING:
            raise StateConflict("The payment attempt ended; please try again.")
        if current.attempt.redirect_url:
            return current.attempt.redirect_url
    raise StateConflict("The payment is still being prepared; please reload the page.")


def _candidates(checkout: Checkout, merchant: Merchant, method: str) -> list[str]:
    names = [checkout.provider]
    fallback = merchant.fallback_provider
    if fallback and providers.is_enabled(fallback):
        cls = providers.adapter_class(fallback)
        if checkout.currency in cls.currencies and method in cls.methods:
            names.append(fallback)
    return names


def _create_session(
    store: Store, checkout: Checkout, merchant: Merchant, attempt: Attempt, values: Mapping[str, str], base: str
) -> str:
    error: pb.ProviderError | None = None
    for name in _candidates(checkout, merchant, attempt.method):
        adapter = providers.build(name, merchant.id, merchant.credentials(), base, store)
        request = pb.SessionRequest(
            checkout=checkout,
            line_items=discounts.charge_lines(checkout.line_items, checkout.promotion, checkout.amount_discount),
            amount_total=checkout.amount_total,
            attempt_id=attempt.id,
            method=attempt.method,
            shopper=checkout.shopper or {},
            return_url=return_url(base, checkout.id),
            cancel_url=cancel_url(base, checkout.id),
            notify_url=notify_url(base, name, merchant.id),
            bank=values.get("bank") or None,
        )
        _korean_choices(request, adapter, checkout)
        try:
            session = adapter.create_session(request)
        except pb.ProviderError as e:
            log.warning("provider %s create failed for %s: %s", name, checkout.id, type(e).__name__)
            error = e
            if not e.fallback_ok:
                break
            continue
        logs.note(provider=name, outcome="sent_to_provider")
        try:
            store.update(
                f"CHECKOUT#{checkout.id}",
                "CHECKOUT",
                {
                    "attempt.provider_session_id": session.session_id,
                    "attempt.redirect_url": session.redirect_url,
                    "attempt.provider": name,
                    "provider": name,
                },
                conditions={"attempt.id": attempt.id},
            )
        except StaleItem as e:
            # The attempt was released meanwhile (it looked abandoned): its session is an
            # orphan the shopper never saw, and the checkout's current state decides.
            raise StateConflict("The payment attempt ended; please try again.") from e
        return session.redirect_url
    # Nothing was created anywhere: the checkout is open again for another try.
    plan = model.plan_release(checkout, attempt.id, False, "provider_error", clock.now_s())
    if plan is not None:
        try:
            transition(store, merchant, checkout, plan, base)
        except StaleItem:
            pass
    raise ProviderFailed("The payment provider did not respond. Nothing was charged. Please try again.") from error


def _korean_choices(request: pb.SessionRequest, adapter: pb.Provider, checkout: Checkout) -> None:
    """The 할부 and 현금영수증 choices, for an adapter whose provider documents a field for them."""
    if adapter.takes_installments and checkout.installment_months is not None:
        request.installment_months = checkout.installment_months
    receipt = checkout.cash_receipt
    if adapter.takes_cash_receipts and receipt and receipt.get("type") != "none" and receipt.get("id"):
        request.cash_receipt = {"type": str(receipt["type"]), "id": str(receipt["id"])}


# --- confirm ----------------------------------------------------------------------

def confirm(store: Store, checkout: Checkout, merchant: Merchant, base: str) -> Checkout:
    """Ask the provider about the current attempt and settle what it says (return route)."""
    attempt = checkout.attempt
    if checkout.status in model.PAID_STATUSES or attempt is None:
        return checkout
    if not attempt.provider_session_id:
        return _release_abandoned(store, checkout, merchant, base)
    return read_and_settle(store, checkout, merchant, base)[0]


def read_and_settle(store: Store, checkout: Checkout, merchant: Merchant, base: str) -> tuple[Checkout, pb.ProviderPayment]:
    """Read the current attempt's session at its provider and settle what it says (the
    return route, reconciliation); the checkout as settled, and what the provider said."""
    attempt = checkout.attempt
    if attempt is None or not attempt.provider_session_id:
        raise StateConflict("This checkout has no provider session to read.")
    adapter = providers.build(attempt.provider, merchant.id, merchant.credentials(), base, store)
    payment = adapter.read_session(attempt.provider_session_id)
    return settle(store, checkout, merchant, attempt.provider, payment, base), payment


def _release_abandoned(store: Store, checkout: Checkout, merchant: Merchant, base: str) -> Checkout:
    """Open the checkout again when its attempt lost its Lambda between the provider's create and our write.

    Such an attempt has no provider page, so the page can only say "confirming" and
    offer the return route; without this the shopper could not try again until the
    checkout expired. A payment on that lost session still completes the checkout
    through its notification.
    """
    attempt, now = checkout.attempt, clock.now_s()
    if attempt is None or attempt.redirect_url or now - attempt.created_at_s < STALE_ATTEMPT_S:
        return checkout
    plan = model.plan_release(checkout, attempt.id, False, "attempt_abandoned", now, payable=True)
    if plan is None:
        return checkout
    try:
        return transition(store, merchant, checkout, plan, base)
    except StaleItem as e:
        return _reload(store, checkout, e)


def abandon(store: Store, checkout: Checkout, merchant: Merchant, base: str) -> Checkout:
    """The shopper came back through the cancel URL: open again, unless the provider says paid.

    The URL is anonymous (anyone holding the checkout's link can open it), so what it may
    change is limited to what the shopper could do anyway: the session stays payable at the
    provider, so a promotion code's use stays held (``payable``), and an attempt waiting for
    a deposit into an issued virtual account is kept — the account is the shopper's way to pay.
    """
    checkout = confirm(store, checkout, merchant, base)
    for _ in range(_RACE_RETRIES):
        if checkout.status != model.PROCESSING or checkout.attempt is None or checkout.attempt.pending:
            return checkout
        plan = model.plan_release(checkout, checkout.attempt.id, False, "cancelled_at_provider", clock.now_s(),
                                   payable=True)
        if plan is None:
            return checkout
        try:
            return transition(store, merchant, checkout, plan, base)
        except StaleItem as e:
            checkout = _reload(store, checkout, e)
    return checkout


@dataclass
class NotificationReceipt:
    """A notification's digest on its way to its checkout; ``recorded`` once a change wrote it there."""

    digest: str
    recorded: bool = False


def settle(
    store: Store, checkout: Checkout, merchant: Merchant, provider: str, payment: pb.ProviderPayment, base: str,
    receipt: NotificationReceipt | None = None, fresh: bool = True,
) -> Checkout:
    """Apply an authenticated provider read to the checkout. Safe to call any number of times.

    With a ``receipt``, a change this makes also records the notification's digest, and
    is refused (NotificationRejected) when that digest is recorded already and the
    checkout does not wait on the session. ``fresh=False``: ``checkout`` is this
    container's copy, which may be stale. A change planned from it is still written on a
    condition of its version (a stale copy only loses the condition, and the item handed
    back is planned from); any other outcome (nothing to do, an amount to flag, a pending
    payment) is decided only after the checkout is read again.
    """
    if payment.checkout_id is not None and payment.checkout_id != checkout.id:
        log.error("provider %s session %s belongs to %s, not %s", provider, payment.session_id, payment.checkout_id, checkout.id)
        return checkout
    over_limit = False
    for _ in range(_RACE_RETRIES):
        now = clock.now_s()
        plan = None
        current_attempt = checkout.attempt is not None and checkout.attempt.provider_session_id == payment.session_id
        if payment.status == pb.PAID:
            if checkout.payment is not None and checkout.payment.provider_session_id != payment.session_id:
                log.error("second paid session %s on completed checkout %s: refund it at %s",
                          payment.session_id, checkout.id, provider)
            expected = asked_for(checkout, payment.session_id)
            if payment.amount is None or payment.currency is None or (payment.amount, payment.currency) != expected:
                if not fresh:
                    checkout, fresh = load(store, checkout.id), True
                    continue
                return _flag_mismatch(store, checkout, provider, payment, expected)
            # Paid on an attempt the checkout had moved past (released by the cancel URL, or
            # replaced by another): it completes all the same, flagged like a late payment. (The
            # current attempt's own session, unrecorded after a crash, is not one of those.)
            attempt = checkout.attempt
            stray = attempt is None or attempt.provider_session_id not in (None, payment.session_id)
            plan = model.plan_complete(checkout, Payment(
                provider_session_id=payment.session_id,
                method=payment.method or (checkout.attempt.method if checkout.attempt else "card"),
                amount=payment.amount,
                currency=payment.currency,
                paid_at_s=payment.paid_at_s or now,
                provider_reference=payment.provider_reference,
            ), now, over_limit=over_limit, stray=stray)
        elif payment.status == pb.PENDING and current_attempt and checkout.attempt is not None:
            waiting = checkout.attempt
            if not fresh:
                checkout, fresh = load(store, checkout.id), True
                continue
            if waiting.pending != payment.pending:
                try:
                    store.update(
                        f"CHECKOUT#{checkout.id}", "CHECKOUT",
                        {"attempt.pending": payment.pending or {}},
                        conditions={"attempt.id": waiting.id},
                    )
                except StaleItem:
                    pass  # the attempt moved on meanwhile; its new state is what the reload shows
                return load(store, checkout.id)
            return checkout
        elif payment.status in (pb.FAILED, pb.EXPIRED, pb.CANCELLED) and current_attempt and checkout.attempt is not None:
            plan = model.plan_release(
                checkout, checkout.attempt.id, payment.status == pb.FAILED, f"payment_{payment.status}", now
            )
        if plan is None:
            if not fresh:
                checkout, fresh = load(store, checkout.id), True
                continue
            return checkout
        try:
            if receipt is None:
                return transition(store, merchant, checkout, plan, base)
            # Waiting on this very session, the checkout takes the provider's repeats of it;
            # otherwise the write itself refuses a digest recorded meanwhile (another container).
            changed = transition(store, merchant, checkout, plan, base, receipt.digest,
                                 first_time=not _awaiting(checkout, payment.session_id))
            receipt.recorded = True
            return changed
        except LimitReached:
            # Paid after its reservation was given back, and the code ran out meanwhile:
            # money moved, so it completes all the same, uncounted and flagged.
            log.error("checkout %s paid with promotion code beyond its limit", checkout.id)
            over_limit = True
        except StaleItem as e:
            checkout, fresh = _reload(store, checkout, e), True
            if receipt is not None and e.current is not None and receipt.digest in (e.current.get(NOTIFICATIONS) or ()) \
                    and not _awaiting(checkout, payment.session_id):
                raise NotificationRejected("this notification was already received") from e
    # Acknowledging what we could not write would stop the provider from sending it again.
    raise ServiceUnavailable("the checkout kept changing while this payment was applied; retry")


def asked_for(checkout: Checkout, session_id: str) -> tuple[int, str]:
    """(amount, currency) the provider session was asked to charge, as recorded at its lock.

    A session of an earlier attempt (released, then the checkout was changed by a
    PATCH or a promotion code) is judged by what it asked for, not by the checkout's
    total now. A session we have no record of (or an attempt from before amounts
    were recorded) is judged by the checkout's total.
    """
    attempt = checkout.attempt
    if attempt is not None and attempt.provider_session_id == session_id and attempt.amount is not None:
        return attempt.amount, attempt.currency or checkout.currency
    for earlier in reversed(checkout.released_attempts):
        if earlier.get("provider_session_id") == session_id:
            return int(earlier["amount"]), str(earlier["currency"])
    return checkout.amount_total, checkout.currency


def _flag_mismatch(store: Store, checkout: Checkout, provider: str, payment: pb.ProviderPayment,
                   expected: tuple[int, str]) -> Checkout:
    mismatch = {
        "provider": provider,
        "provider_session_id": payment.session_id,
        "expected_amount": expected[0],
        "expected_currency": expected[1],
        "amount": payment.amount,
        "currency": payment.currency,
    }
    log.error("amount mismatch on %s: %s", checkout.id, mismatch)
    if checkout.amount_mismatch != mismatch:
        store.update(f"CHECKOUT#{checkout.id}", "CHECKOUT", {"amount_mismatch": mismatch})
        checkout.amount_mismatch = mismatch
    return checkout


# --- notifications -----------------------------------------------------------------

def verify_notification(adapter: pb.Provider, headers: Mapping[str, str], body: bytes, now_s: int) -> pb.Notification:
    """The adapter's verification, where anything it trips over in hostile input is a refusal.

    Headers and body are the sender's to choose (a non-ASCII signature, a timestamp
    of superscript digits): an adapter that fails to read them has not verified
    them, and the answer is 400, never a 500 inviting the same request again.
    """
    if not validation.json_depth_within(body):
        # Deeper than any provider's notification: refused before any adapter parses it.
        raise NotificationRejected("the notification could not be verified")
    try:
        return adapter.verify_notification(headers, body, now_s)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as e:
        log.warning("%s could not read a notification: %s", adapter.name, type(e).__name__)
        raise NotificationRejected("the notification could not be verified") from e


def handle_notification(
    store: Store, provider: str, merchant_id: str, headers: Mapping[str, str], body: bytes, base: str
) -> dict[str, object]:
    """A provider says something happened: verify it, read the session, settle."""
    if provider not in providers.PROVIDER_NAMES or not providers.is_enabled(provider):
        raise NotFound("No such notification endpoint.")
    merchant = get_merchant(store, merchant_id)
    if merchant is None or provider not in (merchant.provider, merchant.fallback_provider):
        raise NotFound("No such notification endpoint.")
    adapter = providers.build(provider, merchant.id, merchant.credentials(), base, store)
    note = verify_notification(adapter, headers, body, clock.now_s())
    session_id = note.session_id
    known: Checkout | None = None
    fresh = False
    if note.checkout_id and ids.looks_like("chk", note.checkout_id):
        # This container's copy, when it has one (see ``settle``: a stale copy only costs a
        # lost condition); a provider naming no session needs the one recorded now.
        recent = store.recent_checkout_and_notifications(note.checkout_id) if session_id else None
        if recent is None:
            known, seen = store.get_checkout_and_notifications(note.checkout_id)
            fresh = True
        else:
            known, seen = recent
        if known is not None and known.merchant_id != merchant.id:
            known = None
        if known is not None and note.replay_digest in seen and not _awaiting(known, session_id) \
                and (fresh or not _may_await(known)):
            # Before asking the provider anything: a replay costs one read of ours (none with a
            # copy, whose digests are recorded for good, unless the real item could be waiting
            # on the session now: a copy from before the session was recorded).
            raise NotificationRejected("this notification was already received")
        if not session_id and known is not None and known.attempt is not None:
            # Some providers name only our reference: the session is the one we recorded.
            session_id = known.attempt.provider_session_id
    payment: pb.ProviderPayment | None = None
    try:
        if session_id:
            payment = adapter.read_session(session_id)
        if payment is None or payment.status not in (pb.PAID, pb.UNKNOWN):
            # The current attempt does not explain the notification (it was released or
            # replaced, or its session never recorded): read the payment by the provider's id.
            # (A read in words we do not know is left as it is: never a reason to look for "paid".)
            named = adapter.read_notified(note)
            if named is not None and (payment is None or named.status == pb.PAID):
                payment = named
    except pb.ProviderRejected:
        # The provider itself says there is no such session: retrying will not change that.
        log.warning("%s notification for session %s that the provider does not know", provider, session_id)
        return {"received": True, "ignored": True}
    except pb.ProviderError as e:
        raise ServiceUnavailable(f"{provider} could not be asked about the session; retry later") from e
    if payment is None:
        raise NotificationRejected("the notification names no session we know")
    checkout_id = payment.checkout_id or note.checkout_id
    if note.checkout_id and payment.checkout_id and note.checkout_id != payment.checkout_id:
        raise NotificationRejected("the notification and the provider disagree about the checkout")
    if known is not None and known.id == checkout_id:
        # Read (or copied) before the provider was asked: every write settle makes is conditional
        # on the checkout's version, so a change since then only means planning again.
        checkout: Checkout | None = known
    else:
        checkout = store.get_checkout(checkout_id) if checkout_id and ids.looks_like("chk", checkout_id) else None
        fresh = True
    if checkout is None or checkout.merchant_id != merchant.id:
        log.warning("verified %s notification for unknown checkout %s", provider, checkout_id)
        return {"received": True, "ignored": True}
    receipt = NotificationReceipt(note.replay_digest) if note.replay_digest else None
    checkout = settle(store, checkout, merchant, provider, payment, base, receipt, fresh=fresh)
    if receipt is not None and not receipt.recorded and not store.add_notification(checkout.id, receipt.digest):
        # Nothing changed and the same body was recorded meanwhile (or read without our
        # reference first): a replay, unless the checkout still waits on that session.
        if not _awaiting(checkout, session_id):
            raise NotificationRejected("this notification was already received")
    logs.note(checkout_id=checkout.id, outcome=f"payment_{payment.status}")
    return {"received": True, "status": checkout.view_status()}


def _awaiting(checkout: Checkout, session_id: str | None) -> bool:
    """Whether a notification about ``session_id`` may still change the checkout: it is
    processing that very session (the provider repeating one we could not finish)."""
    attempt = checkout.attempt
    return checkout.status == model.PROCESSING and attempt is not None and attempt.provider_session_id == session_id


def _may_await(recent: Checkout) -> bool:
    """Whether the checkout behind a copy that waits on no session could be waiting on one now:
    only if the copy is processing an attempt whose session was not recorded yet. (Every new
    attempt gets a new session, so no checkout comes back to waiting on an earlier one.)"""
    return recent.status == model.PROCESSING and recent.attempt is not None and not recent.attempt.provider_session_id
