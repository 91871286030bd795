"""Merchant events: made with the state change that causes them, then delivered.

``transition`` is the one way a checkout changes state: it applies the planned
transition and its event in a single transaction, then makes the first delivery
attempt at once. Later attempts come from the scheduled ``deliver_due``; the
event log API reads and resends events.
"""
from __future__ import annotations

import logging
import random
from typing import Any

from chalicelib.adapters import webhooks
from chalicelib.adapters.store import DELIVERY_INDEX, StaleItem, Store
from chalicelib.domain import clock, model
from chalicelib.domain.errors import NotFound
from chalicelib.domain.model import Checkout, Transition
from chalicelib.usecases import dashboard_stats
from chalicelib.usecases.merchants import Merchant, owned_checkout
from chalicelib.usecases.merchants import get as get_merchant

log = logging.getLogger(__name__)


def checkout_url(base: str, checkout_id: str) -> str:
    return f"{base}/c/{checkout_id}"


def transition(
    store: Store, merchant: Merchant, checkout: Checkout, plan: Transition, base: str, notification: str | None = None,
    first_time: bool = False,
) -> Checkout:
    """Apply ``plan``; raises StaleItem when another writer got there first.

    ``notification`` is the digest of the provider notification behind the change,
    recorded on the checkout in the same write (see ``payments.handle_notification``);
    ``first_time``: only if it is not recorded there yet (StaleItem otherwise).
    """
    now = clock.now_s()
    event = None
    if plan.event_type is not None:
        after = model.applied(checkout, plan)
        event = webhooks.new_event_record(
            checkout.id,
            checkout.merchant_id,
            plan.event_type,
            plan.event_key or plan.event_type,
            model.to_api_object(after, checkout_url(checkout.base_url or base, checkout.id), now),
            now,
        )
    plan, counted = dashboard_stats.transition_items(store, checkout, plan, now)
    updated = store.apply(checkout, plan, event, counted, notification=notification, first_time=first_time)
    if event is not None:
        try:
            deliver(store, merchant, event, first=True)
        except Exception:  # noqa: BLE001 - the change is made; the schedule delivers the event
            log.exception("first delivery of %s not recorded; the retry schedule will send it", event["id"])
    return updated


def deliver(store: Store, merchant: Merchant, event: dict[str, Any], first: bool = False, manual: bool = False) -> dict[str, Any]:
    """One delivery attempt, recorded on the event item; returns the item as recorded.

    A scheduled attempt moves the event along its retry schedule. A manual resend
    (``manual``) counts as an attempt but leaves the schedule alone unless it succeeds.
    The attempt count in the condition keeps two senders from recording over each other.
    """
    now = clock.now_s()
    changes: dict[str, Any]
    if not merchant.webhook_url:
        status = None
        attempts = event["attempts"]
        changes = {"delivery_status": "no_endpoint", "next_attempt_at_s": None, "gsi2pk": None, "gsi2sk": None}
    else:
        timeout = webhooks.FIRST_ATTEMPT_TIMEOUT_S if first else webhooks.RETRY_TIMEOUT_S
        status = webhooks.send(merchant.webhook_url, merchant.webhook_secret(), event, timeout)
        ok = status is not None and 200 <= status < 300
        attempts = event["attempts"] + 1
        if manual and not ok:
            changes = {}
        else:
            changes = webhooks.next_state(attempts, ok, now, random.random())  # noqa: S311 - jitter, not a secret
            if changes.get("next_attempt_at_s") is not None:
                changes["gsi2sk"] = f"{changes['next_attempt_at_s']:012d}#{event['id']}"
    changes.update(attempts=attempts, last_attempt_at_s=now, last_response_code=status)
    conditions = {"attempts": event["attempts"]}
    try:
        if attempts == event["attempts"]:  # nothing was sent: nothing to count
            return store.update(event["pk"], event["sk"], changes, conditions=conditions)
        # The attempt, its place in the event's history and the dashboard's counters: one write.
        store.update_with(event["pk"], event["sk"], changes, conditions, dashboard_stats.delivery_items(store, event, status, now),
                          append_fields={"deliveries": [{"at_s": now, "status": status}]})
    except StaleItem as e:
        log.info("event %s was delivered concurrently; keeping the other record", event["id"])
        return e.current or event
    recorded = {**event, **changes, "deliveries": [*event.get("deliveries", []), {"at_s": now, "status": status}]}
    return {k: v for k, v in recorded.items() if v is not None}


def deliver_due(store: Store, now_s: int, limit: int = 50) -> int:
    """The retry schedule's tick: send every delivery that is due. Returns how many were tried."""
    tried = 0
    merchants: dict[str, Merchant | None] = {}
    for key in store.due(DELIVERY_INDEX, now_s, limit):
        event = store.get(key["pk"], key["sk"])
        if event is None or event.get("delivery_status") != webhooks.PENDING or event.get("next_attempt_at_s", 0) > now_s:
            continue
        merchant_id = event["merchant_id"]
        if merchant_id not in merchants:
            merchants[merchant_id] = get_merchant(store, merchant_id)
        merchant = merchants[merchant_id]
        if merchant is None:
            continue
        deliver(store, merchant, event)
        tried += 1
    return tried


def view(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the event log API shows it."""
    return {
        "id": event["id"],
        "object": "event",
        "type": event["event_type"],
        "checkout_id": event["checkout_id"],
        "created": clock.iso(event["created_at_s"]),
        "delivery_status": event["delivery_status"],
        "attempts": event["attempts"],
        "last_response_code": event.get("last_response_code"),
        "last_attempt_at": clock.iso(event["last_attempt_at_s"]) if event.get("last_attempt_at_s") else None,
        "next_attempt_at": clock.iso(event["next_attempt_at_s"]) if event.get("next_attempt_at_s") else None,
    }


def list_for_checkout(store: Store, merchant: Merchant, checkout_id: str | None) -> dict[str, Any]:
    from chalicelib.domain.errors import InvalidRequest

    if not checkout_id:
        raise InvalidRequest("checkout_id is required", "checkout_id")
    checkout = owned_checkout(store, merchant, checkout_id)
    events = sorted(store.query(f"CHECKOUT#{checkout.id}", "EVENT#"), key=lambda e: (e["created_at_s"], e["id"]))
    return {"object": "list", "data": [view(e) for e in events], "has_more": False}


def resend(store: Store, merchant: Merchant, event_id: str) -> dict[str, Any]:
    from chalicelib.domain import ids

    event = find(store, event_id) if ids.looks_like("evt", event_id) else None
    if event is None or event.get("merchant_id") != merchant.id:
        raise NotFound(f"no event {event_id}", "id")
    return view(deliver(store, merchant, event, manual=True))


def find(store: Store, event_id: str) -> dict[str, Any] | None:
    """An event by its id: in the checkout its id names (one consistent Query of that checkout's
    events); an event stored before ids named their checkout, through its ``EVENT#id`` index entry."""
    from chalicelib.domain import ids

    checkout_id = ids.checkout_of_event(event_id)
    if checkout_id is not None:
        for event in store.query(f"CHECKOUT#{checkout_id}", "EVENT#"):
            if event.get("id") == event_id:
                return event
    return store.find_by_gsi1(f"EVENT#{event_id}")
