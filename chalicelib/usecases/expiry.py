"""What happens with time: expiring checkouts. (Webhook retries: ``events.deliver_due``.)

An unpaid checkout past ``expires_at`` already reads as expired everywhere
(``Checkout.view_status``); the sweep makes that durable and emits
``checkout.expired`` exactly once (the event's key is unique per checkout).
A checkout with an attempt at a provider is never expired without asking the
provider first (``reconcile.settle_before_expiry``): one paid there completes,
flagged ``late_payment``. Open checkouts are found on gsi2's expiry schedule,
processing ones on reconciliation's, where a checkout past its expiry is always
due (its read at expiry is never scheduled later than ``expires_at``).
"""
from __future__ import annotations

import logging

from chalicelib.adapters.store import EXPIRY_INDEX, RECONCILE_INDEX, StaleItem, Store, checkout_from_record
from chalicelib.domain import model
from chalicelib.usecases import reconcile
from chalicelib.usecases.events import transition
from chalicelib.usecases.merchants import Merchant
from chalicelib.usecases.merchants import get as get_merchant

log = logging.getLogger(__name__)


def expire_due(store: Store, now_s: int, limit: int = 100) -> int:
    """Expire every payable checkout whose time is up. Returns how many changed."""
    expired = 0
    merchants: dict[str, Merchant | None] = {}
    for key in [*store.due(EXPIRY_INDEX, now_s, limit), *store.due(RECONCILE_INDEX, now_s, limit)]:
        record = store.get(key["pk"], key["sk"])
        if record is None:
            continue
        checkout = checkout_from_record(record)
        plan = model.plan_expire(checkout, now_s)
        if plan is None:
            continue
        if checkout.merchant_id not in merchants:
            merchants[checkout.merchant_id] = get_merchant(store, checkout.merchant_id)
        merchant = merchants[checkout.merchant_id]
        if merchant is None:
            continue
        if checkout.status == model.PROCESSING:
            expired += reconcile.settle_before_expiry(store, checkout, merchant, now_s) == "released"
            continue
        try:
            transition(store, merchant, checkout, plan, checkout.base_url or "")
            expired += plan.to_status == model.EXPIRED
        except StaleItem:
            log.info("checkout %s changed while expiring; the next sweep looks again", checkout.id)
    return expired
