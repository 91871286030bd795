"""The dashboard's numbers: counters moved with the steps they count, and the overview read.

Writing: ``counters`` (pure) says what a step counts; this module turns that into
extra items of the step's own transaction (``store.apply``/``store.update_with``),
so a step that is written is counted once and a retry or a lost race, which fails
its condition, counts nothing. Reading: the overview of a period is 32 Queries
(one per shard, at most 90 day items each) whatever the volume.
"""
from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.store import ABSENT, StaleItem, Store, TransactionConflict
from chalicelib.domain import clock, counters
from chalicelib.domain.model import Checkout, Transition

log = logging.getLogger(__name__)

PERIODS = {"today": 1, "7d": 7, "30d": 30, "90d": 90}
DEFAULT_PERIOD = "7d"
LAST_FAILURES_KEPT_S = 3 * 86400


# --- writing: extra items of the step's transaction ---------------------------------------

def transition_items(store: Store, checkout: Checkout, plan: Transition, now_s: int) -> tuple[Transition, list[dict[str, Any]]]:
    """The plan (with its count-once marks) and the counter items it writes with it."""
    plan, moves = counters.for_transition(checkout, plan, now_s)
    items = store.counter_items(checkout.merchant_id, moves) if moves else []
    shopper_email = (plan.set_fields.get("shopper") or {}).get("email") if moves and "submitted_at_s" in plan.set_fields else None
    if shopper_email and shopper_email.strip().lower() != (checkout.customer.get("email") or "").strip().lower():
        # The email the shopper typed becomes searchable with the submit that brought it.
        items.append(store.put_item(lookup_record(checkout, shopper_email, "email")))
    return plan, items


def record_open(store: Store, checkout: Checkout) -> None:
    """The checkout's first page view: mark ``opened_at_s`` and count it, once.

    The one write a page view makes, and only the first time: another tab that got
    there first fails the condition and counts nothing.
    """
    if checkout.opened_at_s is not None:
        return
    now = clock.now_s()
    try:
        store.update_with(f"CHECKOUT#{checkout.id}", "CHECKOUT", {"opened_at_s": now},
                          {"pk": None, "opened_at_s": ABSENT},
                          store.counter_items(checkout.merchant_id, counters.for_open(checkout)))
        checkout.opened_at_s = now
    except TransactionConflict:
        log.warning("first view of %s not counted yet: its counter shard stayed busy", checkout.id)
    except StaleItem:
        pass  # counted by the request that got there first
    except Exception:  # noqa: BLE001 - the shopper's page matters more than its count
        # Neither the mark nor the count was written (one transaction): the next view counts it.
        log.warning("first view of %s not counted yet: the table refused the write", checkout.id, exc_info=True)


def delivery_items(store: Store, event: dict[str, Any], status: int | None, now_s: int) -> list[dict[str, Any]]:
    """A delivery attempt's counters (day and hour) and, when it failed, its line in the failure log."""
    moves = counters.for_delivery(event["checkout_id"], status, now_s)
    items = store.counter_items(event["merchant_id"], moves)
    if status is None or not 200 <= status < 300:
        items.append(store.put_item({
            "pk": f"HOOKFAIL#{event['merchant_id']}", "sk": f"{now_s:012d}#{event['id']}#{event['attempts'] + 1}",
            "type": "delivery_failure", "event_id": event["id"], "event_type": event["event_type"],
            "checkout_id": event["checkout_id"], "at_s": now_s, "status": status, "ttl": now_s + LAST_FAILURES_KEPT_S,
        }))
    return items


# --- search: lookup items written with the checkout ---------------------------------------------

def lookup_pk(merchant_id: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"FIND#{merchant_id}#{digest}"


def lookup_record(checkout: Checkout, value: str, kind: str) -> dict[str, Any]:
    return {"pk": lookup_pk(checkout.merchant_id, value), "sk": f"CHECKOUT#{checkout.created_at_s:012d}#{checkout.id}",
            "type": "lookup", "kind": kind, "checkout_id": checkout.id}


def lookup_items(store: Store, checkout: Checkout) -> list[dict[str, Any]]:
    """Puts that make a new checkout findable by its client_reference_id and customer email."""
    found = []
    if checkout.client_reference_id:
        found.append(lookup_record(checkout, checkout.client_reference_id, "client_reference_id"))
    email = checkout.customer.get("email")
    if email and (not checkout.client_reference_id or email.strip().lower() != checkout.client_reference_id.strip().lower()):
        found.append(lookup_record(checkout, email, "email"))
    return [store.put_item(r) for r in found]


def find(store: Store, merchant_id: str, value: str, limit: int = 50) -> list[str]:
    """Checkout ids whose client_reference_id or email is ``value``, newest first: one Query."""
    items = store.range_query(lookup_pk(merchant_id, value), "CHECKOUT#", "CHECKOUT#~", limit=limit, newest_first=True)
    return list(dict.fromkeys(i["checkout_id"] for i in items))


# --- reading: the overview ---------------------------------------------------------------------

@dataclass
class Overview:
    period: str
    days: list[str]
    funnel: dict[str, int]
    # currency -> day -> {"revenue", "payments", "refunded"}
    revenue: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    # day -> (2xx attempts, attempts)
    webhooks: dict[str, tuple[int, int]] = field(default_factory=dict)


def period_days(period: str, now_s: int) -> list[str]:
    today = datetime.fromtimestamp(now_s, tz=counters.KST).date()
    n = PERIODS[period]
    return [(today - timedelta(days=n - 1 - i)).isoformat() for i in range(n)]


def _shard_items(store: Store, merchant_id: str, shard: int, first: str, last: str) -> list[dict[str, Any]]:
    return store.range_query(f"STATS#{merchant_id}#{shard}", counters.day_sk(first), counters.day_sk(last),
                             limit=90)


def overview(store: Store, merchant_id: str, period: str, now_s: int | None = None) -> Overview:
    """A period's funnel, revenue per currency per day and webhook success per day."""
    days = period_days(period, clock.now_s() if now_s is None else now_s)
    with ThreadPoolExecutor(max_workers=8) as pool:
        shards = list(pool.map(lambda s: _shard_items(store, merchant_id, s, days[0], days[-1]), range(counters.SHARDS)))
    funnel = {counters.OPENED: 0, counters.SUBMITTED: 0, counters.PAID: 0}
    result = Overview(period=period, days=days, funnel=funnel)
    hooks: dict[str, list[int]] = {day: [0, 0] for day in days}
    for items in shards:
        for item in items:
            day = item["sk"].removeprefix("DAY#")
            for step in funnel:
                funnel[step] += int(item.get(step, 0))
            hooks[day][0] += int(item.get(counters.HOOK_OK, 0))
            hooks[day][1] += int(item.get(counters.HOOK_ATTEMPTS, 0))
            for attr, value in item.items():
                for kind in ("revenue", "payments", "refunded"):
                    if attr.startswith(kind + "_"):
                        currency = attr[len(kind) + 1:]
                        per_day = result.revenue.setdefault(currency, {})
                        cell = per_day.setdefault(day, {"revenue": 0, "payments": 0, "refunded": 0})
                        cell[kind] += int(value)
    result.webhooks = {day: (ok, tried) for day, (ok, tried) in hooks.items()}
    return result


def deliveries_last_24h(store: Store, merchant_id: str, now_s: int | None = None) -> tuple[int, int]:
    """(delivered, failed) webhook attempts in the last 24 hours, from the day items' hours (and
    the hour items releases before kept): one Query per shard, from yesterday's day item on."""
    now = clock.now_s() if now_s is None else now_s
    hours = {counters.kst_hour(now - back * 3600) for back in range(24)}
    first, last = counters.day_sk(counters.kst_day(now - 23 * 3600)), counters.hour_sk(counters.kst_hour(now))
    with ThreadPoolExecutor(max_workers=8) as pool:
        shards = list(pool.map(lambda s: store.range_query(f"STATS#{merchant_id}#{s}", first, last),
                               range(counters.SHARDS)))
    ok = tried = 0
    for item in (i for items in shards for i in items):
        if item["sk"].startswith("HOUR#"):
            if item["sk"].removeprefix("HOUR#") in hours:
                ok += int(item.get(counters.HOOK_OK, 0))
                tried += int(item.get(counters.HOOK_ATTEMPTS, 0))
            continue
        day = item["sk"].removeprefix("DAY#")
        for hour in (h for h in hours if h.startswith(day + "T")):
            attempts, delivered = counters.hour_attrs(hour)
            ok += int(item.get(delivered, 0))
            tried += int(item.get(attempts, 0))
    return ok, tried - ok


def last_failures(store: Store, merchant_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The latest failed delivery attempts (event, time, status or None for no answer)."""
    return store.range_query(f"HOOKFAIL#{merchant_id}", "0", "~", limit=limit, newest_first=True)
