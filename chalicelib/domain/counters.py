"""What the merchant dashboard counts, and where: pure.

Counters live in items ``STATS#{merchant}#{shard}`` / ``DAY#{YYYY-MM-DD}`` (a KST
day; webhook attempts also per hour of it, ``h{HH}_attempts``/``h{HH}_ok``, in the same
item, so a delivery moves one counter item, not two), one shard per checkout
(``shard_of``), so a flash sale spreads its writes over 32 partitions. (Releases before
kept the hours in items of their own, ``HOUR#{YYYY-MM-DDTHH}``, for 3 days: the
dashboard still reads them.)
Each count moves in the very transaction that makes the step it counts; this
module only says which counts a step moves:

- the first page view: ``opened`` (sets ``opened_at_s`` on the checkout);
- the first submit: ``submitted`` (sets ``submitted_at_s``);
- the completion: ``paid``, and the money on the day it was paid;
- each refund: its amount on the day it was made;
- each webhook delivery attempt: ``hook_attempts`` and, for a 2xx, ``hook_ok``.

Funnel steps count on the checkout's creation day (a funnel of the checkouts
created in a period); money and deliveries on the day they happened.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from chalicelib.domain.model import COMPLETE, PAID_STATUSES, PARTIALLY_REFUNDED, PROCESSING, REFUNDED, Checkout, Transition

SHARDS = 32
KST = timezone(timedelta(hours=9), "KST")

OPENED = "opened"
SUBMITTED = "submitted"
PAID = "paid"
HOOK_ATTEMPTS = "hook_attempts"
HOOK_OK = "hook_ok"


def revenue_attr(currency: str) -> str:
    return f"revenue_{currency}"


def payments_attr(currency: str) -> str:
    return f"payments_{currency}"


def refunded_attr(currency: str) -> str:
    return f"refunded_{currency}"


def shard_of(checkout_id: str) -> int:
    """The checkout's counter shard: stable, and even across shards for random ids."""
    return int.from_bytes(hashlib.sha256(checkout_id.encode()).digest()[:4], "big") % SHARDS


def kst_day(ts_s: int) -> str:
    return datetime.fromtimestamp(ts_s, tz=KST).strftime("%Y-%m-%d")


def kst_hour(ts_s: int) -> str:
    return datetime.fromtimestamp(ts_s, tz=KST).strftime("%Y-%m-%dT%H")


def day_sk(day: str) -> str:
    return f"DAY#{day}"


def hour_sk(hour: str) -> str:
    return f"HOUR#{hour}"


@dataclass
class Moves:
    """Counter deltas of one step, by item sort key (``DAY#…``) within one shard.

    Two counts on the same item become one update: a transaction may touch an item once.
    """

    shard: int
    adds: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, sk: str, attr: str, delta: int = 1) -> None:
        if delta:
            bucket = self.adds.setdefault(sk, {})
            bucket[attr] = bucket.get(attr, 0) + delta

    def __bool__(self) -> bool:
        return bool(self.adds)


def for_open(checkout: Checkout) -> Moves:
    """The checkout's first page view."""
    moves = Moves(shard_of(checkout.id))
    moves.add(day_sk(kst_day(checkout.created_at_s)), OPENED)
    return moves


def for_transition(checkout: Checkout, plan: Transition, now_s: int) -> tuple[Transition, Moves]:
    """The counts ``plan`` moves, and the plan with the marks that make them count once.

    The first submit marks ``submitted_at_s``; later submits (after a failed
    attempt) find it set. Completion and refunds happen once each by the state
    machine itself (one ``checkout.completed``; one event per refund id).
    """
    moves = Moves(shard_of(checkout.id))
    created_day = day_sk(kst_day(checkout.created_at_s))
    if plan.to_status == PROCESSING and checkout.submitted_at_s is None:
        plan = dataclasses.replace(plan, set_fields={**plan.set_fields, "submitted_at_s": now_s})
        moves.add(created_day, SUBMITTED)
    elif plan.to_status == COMPLETE and checkout.status not in PAID_STATUSES:
        payment = plan.set_fields.get("payment")
        moves.add(created_day, PAID)
        if payment is not None:
            paid_day = day_sk(kst_day(payment.paid_at_s or now_s))
            moves.add(paid_day, revenue_attr(payment.currency), payment.amount)
            moves.add(paid_day, payments_attr(payment.currency))
    elif plan.to_status in (PARTIALLY_REFUNDED, REFUNDED) and "amount_refunded" in plan.set_fields:
        refunded = int(plan.set_fields["amount_refunded"]) - checkout.amount_refunded
        moves.add(day_sk(kst_day(now_s)), refunded_attr(checkout.currency), refunded)
    return plan, moves


def hour_attrs(hour: str) -> tuple[str, str]:
    """The day item's (attempts, 2xx) attributes of one of its hours (``kst_hour``'s form)."""
    return f"h{hour[-2:]}_{HOOK_ATTEMPTS.removeprefix('hook_')}", f"h{hour[-2:]}_{HOOK_OK.removeprefix('hook_')}"


def for_delivery(checkout_id: str, status: int | None, now_s: int) -> Moves:
    """One webhook delivery attempt (``status`` None: no answer), on its day and its hour."""
    moves = Moves(shard_of(checkout_id))
    ok = 1 if status is not None and 200 <= status < 300 else 0
    day = day_sk(kst_day(now_s))
    attempts, delivered = hour_attrs(kst_hour(now_s))
    moves.add(day, HOOK_ATTEMPTS)
    moves.add(day, HOOK_OK, ok)
    moves.add(day, attempts)
    moves.add(day, delivered, ok)
    return moves
