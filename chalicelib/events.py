"""Merchant events: made with the state change that causes them, then delivered.

``transition`` is the one way a checkout changes state: it applies the planned
transition and its event in a single transaction, then makes the first
delivery attempt at once. Later attempts come from the retry schedule.
"""
from __future__ import annotations

import logging
from typing import Any

from . import clock, domain, webhooks
from .domain import Checkout, Transition
from .merchants import Merchant
from .store import StaleItem, Store

log = logging.getLogger(__name__)


def checkout_url(base: str, checkout_id: str) -> str:
    return f"{base}/c/{checkout_id}"


def transition(store: Store, merchant: Merchant, checkout: Checkout, plan: Transition, base: str) -> Checkout:
    """Apply ``plan``; raises StaleItem when another writer got there first."""
    now = clock.now_s()
    event = None
    if plan.event_type is not None:
        after = domain.applied(checkout, plan)
        event = webhooks.new_event_record(
            checkout.id,
            checkout.merchant_id,
            plan.event_type,
            plan.event_key or plan.event_type,
            domain.to_api_object(after, checkout_url(base, checkout.id), now),
            now,
        )
    updated = store.apply(checkout, plan, event)
    if event is not None:
        deliver(store, merchant, event, first=True)
    return updated


def deliver(store: Store, merchant: Merchant, event: dict[str, Any], first: bool = False) -> None:
    """One delivery attempt, recorded on the event item (the count guards against double counting)."""
    now = clock.now_s()
    if not merchant.webhook_url:
        changes: dict[str, Any] = {"delivery_status": "no_endpoint", "gsi2pk": None, "gsi2sk": None}
        status = None
        attempts = event["attempts"]
    else:
        timeout = webhooks.FIRST_ATTEMPT_TIMEOUT_S if first else webhooks.RETRY_TIMEOUT_S
        status = webhooks.send(merchant.webhook_url, merchant.webhook_secret(), event, timeout)
        attempts = event["attempts"] + 1
        changes = webhooks.next_state(attempts, status is not None and 200 <= status < 300, now)
        if changes.get("next_attempt_at_s") is not None:
            changes["gsi2sk"] = f"{changes['next_attempt_at_s']:012d}#{event['id']}"
    changes.update(attempts=attempts, last_attempt_at_s=now, last_response_code=status)
    try:
        store.update(event["pk"], event["sk"], changes, conditions={"attempts": event["attempts"]})
    except StaleItem:
        log.info("event %s was delivered concurrently; keeping the other record", event["id"])
