"""Reconciliation: asking the providers about payments nobody told us about.

Notifications get lost (an endpoint misconfigured at the provider, a rotated
secret, an outage) and shoppers close tabs. So every checkout in ``processing``
is read from its provider on a schedule (``domain.reconcile_at``: about 1, 5, 15
and 60 minutes after the attempt, then hourly, once more just before expiry and
once at it) and the answer is settled exactly as a notification's read is
(``payments.confirm`` -> ``payments.settle``: the same transaction, one
``checkout.completed``). At expiry, a checkout the provider does not call paid
is expired; one it calls paid completes, flagged ``late_payment``.

A run is a list of passes over one shared budget (provider reads per run and
per provider, a wall-clock deadline) and one set of counts. A provider that
fails is counted in ``errors`` and skipped for the rest of the run: nothing is
written for it, and its checkouts stay due for the next run.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.store import EVERYTHING_DUE_S, RECONCILE_INDEX, StaleItem, Store, checkout_from_record
from chalicelib.domain import model as domain
from chalicelib.domain.errors import CheckoutError
from chalicelib.domain.model import Checkout
from chalicelib.usecases import payments, refunds
from chalicelib.usecases.events import transition
from chalicelib.usecases.merchants import Merchant
from chalicelib.usecases.merchants import get as get_merchant

log = logging.getLogger(__name__)

# KoreaCheckout's sandbox allows 100 requests a minute and the job runs every minute.
READS_PER_PROVIDER = 40
READS_PER_RUN = 120
# Below the functions' 30 s timeout, with room for one provider call (≤ 12 s) in flight.
RUN_BUDGET_S = 15.0
# Failed reads of one provider after which the run leaves it alone.
FAILURES_PER_PROVIDER = 2
# A checkout whose provider could not be read for this long after its expiry is
# expired anyway (a payment that still arrives completes it, flagged late).
EXPIRE_UNREAD_AFTER_S = 86400
COUNT_NAMES = ("checked", "completed", "released", "unchanged", "errors")


@dataclass
class Run:
    """One reconciliation run: what it may still do, and what it found."""

    store: Store
    now_s: int
    older_than_s: int | None = None
    checkout_id: str | None = None
    deadline: float = field(default_factory=lambda: time.monotonic() + RUN_BUDGET_S)
    counts: Counter[str] = field(default_factory=Counter)
    reads: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    merchants: dict[str, Merchant | None] = field(default_factory=dict)

    def may_read(self, provider: str) -> bool:
        return (time.monotonic() < self.deadline and sum(self.reads.values()) < READS_PER_RUN
                and self.reads[provider] < READS_PER_PROVIDER and self.failures[provider] < FAILURES_PER_PROVIDER)

    def merchant(self, merchant_id: str) -> Merchant | None:
        if merchant_id not in self.merchants:
            self.merchants[merchant_id] = get_merchant(self.store, merchant_id)
        return self.merchants[merchant_id]

    def result(self) -> dict[str, int]:
        return {name: self.counts[name] for name in COUNT_NAMES}


Pass = Callable[[Run], None]


def run(store: Store, now_s: int, older_than_s: int | None = None, checkout_id: str | None = None,
        passes: list[Pass] | None = None) -> dict[str, int]:
    """One run of every pass; the counts ``{checked, completed, released, unchanged, errors}``.

    Without ``older_than_s`` or ``checkout_id`` only what is due by the schedule is read;
    ``older_than_s`` reads every processing attempt at least that old, ``checkout_id`` one checkout.
    Never raises for a provider's failure.
    """
    current = Run(store, now_s, older_than_s, checkout_id)
    for each in passes if passes is not None else PASSES:
        each(current)
    return current.result()


def processing_checkouts(current: Run) -> None:
    """The pass over checkouts whose attempt is at a provider (found on gsi2's RECONCILE schedule)."""
    for checkout in _candidates(current):
        attempt = checkout.attempt
        if current.older_than_s is not None and (attempt is None or current.now_s - attempt.created_at_s < current.older_than_s):
            continue
        reconcile_checkout(current, checkout)


def _candidates(current: Run) -> list[Checkout]:
    store = current.store
    if current.checkout_id is not None:
        found = store.get_checkout(current.checkout_id)
        return [found] if found is not None else []
    # The index lists; the table decides: each item is read again before anything is done.
    upto = current.now_s if current.older_than_s is None else EVERYTHING_DUE_S
    records = (store.get(key["pk"], key["sk"]) for key in store.due(RECONCILE_INDEX, upto, READS_PER_RUN))
    return [checkout_from_record(record) for record in records if record is not None]


# What a provider may say at expiry for the checkout to be expired: anything but paid
# (or a word we cannot read, which may hide a payment).
_EXPIRES_ON = frozenset({pb.OPEN, pb.PENDING, pb.FAILED, pb.EXPIRED, pb.CANCELLED})


def reconcile_checkout(current: Run, checkout: Checkout) -> str | None:
    """Read one processing checkout's attempt from its provider and settle what it says.

    Returns the count it went into (None when it was not read: no longer processing,
    or the run's budget for its provider is spent).
    """
    attempt = checkout.attempt
    if checkout.status != domain.PROCESSING or attempt is None:
        return None
    merchant = current.merchant(checkout.merchant_id)
    if merchant is None:
        return None
    base = checkout.base_url or ""
    if not attempt.provider_session_id:
        # Lost its Lambda between the provider's create and our write: nothing to read.
        current.counts["checked"] += 1
        outcome = _outcome(payments.confirm(current.store, checkout, merchant, base))
        current.counts[outcome] += 1
        return outcome
    if not current.may_read(attempt.provider):
        return None
    current.counts["checked"] += 1
    current.reads[attempt.provider] += 1
    try:
        settled, payment = payments.read_and_settle(current.store, checkout, merchant, base)
    except (pb.ProviderError, CheckoutError) as e:
        current.failures[attempt.provider] += 1
        log.warning("reconcile: %s could not be asked about %s: %s", attempt.provider, checkout.id, type(e).__name__)
        outcome = "errors"
        if current.now_s - checkout.expires_at_s >= EXPIRE_UNREAD_AFTER_S:
            outcome = _expire(current, checkout, merchant, base) or outcome
        current.counts[outcome] += 1
        return outcome
    outcome = _outcome(settled)
    if outcome == "unchanged" and current.now_s >= settled.expires_at_s and payment.status in _EXPIRES_ON:
        outcome = _expire(current, settled, merchant, base) or outcome
    if outcome == "unchanged" and settled.attempt is not None:
        current.store.reschedule_check(settled, settled.attempt.id, settled.attempt.checks + 1)
    current.counts[outcome] += 1
    return outcome


def _outcome(checkout: Checkout) -> str:
    if checkout.status in domain.PAID_STATUSES:
        return "completed"
    if checkout.status == domain.PROCESSING:
        return "unchanged"
    return "released"


def _expire(current: Run, checkout: Checkout, merchant: Merchant, base: str) -> str | None:
    """Past expiry and not paid at the provider: expired (its attempt and reservation released)."""
    plan = domain.plan_expire(checkout, current.now_s)
    if plan is None:
        return None
    try:
        transition(current.store, merchant, checkout, plan, base)
    except StaleItem:
        log.info("reconcile: %s changed while expiring; the next run looks again", checkout.id)
        return None
    return "released"


def settle_before_expiry(store: Store, checkout: Checkout, merchant: Merchant, now_s: int) -> str | None:
    """For the expiry sweep: a processing checkout past expiry, read from its provider first.

    "completed" when the provider calls it paid (it completes, late), "released" when
    it was expired, "errors" when the provider could not be asked (left for later).
    """
    current = Run(store, now_s)
    current.merchants[merchant.id] = merchant
    return reconcile_checkout(current, checkout)


def pending_refunds(current: Run) -> None:
    """The pass over refunds whose provider call got no answer (``refunds.settle_pending``).

    Its counts join the run's: a refund read back as made counts as ``completed`` (recorded,
    with its ``checkout.refunded``), one never made as ``released`` (its lock freed).
    """
    def may_read(provider: str) -> bool:
        if not current.may_read(provider):
            return False
        current.reads[provider] += 1
        return True

    counts = refunds.settle_pending(current.store, current.now_s, READS_PER_RUN, may_read, current.checkout_id)
    for ours, theirs in (("checked", "checked"), ("recorded", "completed"), ("cleared", "released"),
                         ("unchanged", "unchanged"), ("errors", "errors")):
        current.counts[theirs] += counts[ours]


PASSES: list[Pass] = [processing_checkouts, pending_refunds]
