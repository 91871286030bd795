"""The dashboard's counters: what each step counts (pure), and the overview's reads
staying the same whatever the volume (DynamoDB Local, calls counted with botocore's
event hooks)."""
from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.adapters import store
from chalicelib.domain import clock, counters, model
from chalicelib.domain.model import Attempt, Checkout, LineItem, Payment
from chalicelib.usecases import checkouts, dashboard_stats, events
from tests.conftest import checkout_body, create_merchant
from tests.dashboard_client import Dashboard

NOW = 1_796_000_000  # a fixed moment: sessions are not touched, days do not roll over mid-test


def a_checkout(**overrides: Any) -> Checkout:
    fields: dict[str, Any] = dict(
        id="chk_2Q6vAbCdEfGhIjKlMnOp", merchant_id="m-1", status=model.OPEN, version=0, currency="KRW",
        line_items=[LineItem("녹차", 19000, 1)], success_url="https://shop.example/ok", cancel_url="https://shop.example/no",
        provider="sandbox", created_at_s=NOW - 86400, expires_at_s=NOW + 3600, locale="ko", payment_method_types=["card"],
        collect_shipping_address=False)
    fields.update(overrides)
    return Checkout(**fields)


def test_the_shard_is_stable_and_spreads_checkouts_evenly():
    shards = Counter(counters.shard_of(f"chk_{i:020d}") for i in range(32_000))
    assert counters.shard_of("chk_abc") == counters.shard_of("chk_abc")
    assert set(shards) == set(range(counters.SHARDS)) and max(shards.values()) < 1.15 * 1000


def test_days_are_korean_days():
    assert counters.kst_day(1_700_000_000 - 1_700_000_000 % 86400 + 15 * 3600 - 1) != counters.kst_day(
        1_700_000_000 - 1_700_000_000 % 86400 + 15 * 3600)  # 00:00 KST is 15:00 UTC


def test_the_first_submit_counts_and_marks_itself_and_a_second_one_does_not():
    checkout = a_checkout()
    attempt = Attempt("att_1", "sandbox", "card", NOW)
    plan, moves = counters.for_transition(checkout, model.plan_lock(checkout, attempt, {"email": "a@b.example"}, NOW), NOW)
    assert plan.set_fields["submitted_at_s"] == NOW
    assert moves.adds == {f"DAY#{counters.kst_day(checkout.created_at_s)}": {"submitted": 1}}
    again = a_checkout(submitted_at_s=NOW - 60)
    _, moves = counters.for_transition(again, model.plan_lock(again, attempt, {}, NOW), NOW)
    assert not moves


def test_a_completion_counts_paid_on_the_creation_day_and_money_on_the_payment_day():
    checkout = a_checkout(status=model.PROCESSING, attempt=Attempt("att_1", "sandbox", "card", NOW))
    payment = Payment("ps_1", "card", 19000, "KRW", NOW)
    _, moves = counters.for_transition(checkout, model.plan_complete(checkout, payment, NOW), NOW)
    assert moves.adds == {f"DAY#{counters.kst_day(checkout.created_at_s)}": {"paid": 1},
                          f"DAY#{counters.kst_day(NOW)}": {"revenue_KRW": 19000, "payments_KRW": 1}}
    same_day = a_checkout(status=model.PROCESSING, created_at_s=NOW)
    _, moves = counters.for_transition(same_day, model.plan_complete(same_day, payment, NOW), NOW)
    assert moves.adds == {f"DAY#{counters.kst_day(NOW)}": {"paid": 1, "revenue_KRW": 19000, "payments_KRW": 1}}


def test_a_refund_counts_its_own_amount_and_a_cancel_counts_nothing():
    paid = a_checkout(status=model.PARTIALLY_REFUNDED, payment=Payment("ps_1", "card", 19000, "KRW", NOW), amount_refunded=4000)
    _, moves = counters.for_transition(paid, model.plan_refund(paid, 5000, "re_1", NOW), NOW)
    assert moves.adds == {f"DAY#{counters.kst_day(NOW)}": {"refunded_KRW": 5000}}
    _, moves = counters.for_transition(a_checkout(), model.plan_cancel(a_checkout(), NOW), NOW)
    assert not moves


@pytest.mark.parametrize(("status", "ok"), [(204, 1), (200, 1), (500, 0), (None, 0), (301, 0)])
def test_a_delivery_attempt_counts_on_its_day_and_hour_in_one_item(status, ok):
    moves = counters.for_delivery("chk_x", status, NOW)
    hour = counters.kst_hour(NOW)[-2:]
    assert moves.adds == {f"DAY#{counters.kst_day(NOW)}": {
        "hook_attempts": 1, f"h{hour}_attempts": 1, **({"hook_ok": 1, f"h{hour}_ok": 1} if ok else {})}}


@pytest.mark.ddb_local
def test_a_busy_days_counter_item_stays_within_one_write_unit(local_db):
    # Every count a day item can hold (funnel, deliveries, every hour's, money in two
    # currencies) at a busy merchant's magnitudes: still under 1 KB, so each counter it
    # adds to a step's transaction costs 1 write unit (2 in the transaction), not more.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    import capacity

    moves = counters.Moves(7)
    day = counters.day_sk("2026-12-01")
    for attr in (counters.OPENED, counters.SUBMITTED, counters.PAID, counters.HOOK_ATTEMPTS, counters.HOOK_OK):
        moves.add(day, attr, 9_999_999)
    for currency in ("KRW", "USD"):
        for attr in (counters.revenue_attr, counters.payments_attr, counters.refunded_attr):
            moves.add(day, attr(currency), 99_999_999_999)
    for hour in range(24):
        for attr in counters.hour_attrs(f"2026-12-01T{hour:02d}"):
            moves.add(day, attr, 999_999)
    local_db.transact(local_db.counter_items("merchant-with-a-long-id-0123456789", moves))
    [item] = local_db.client.query(
        TableName=local_db.table, KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "STATS#merchant-with-a-long-id-0123456789#7"}})["Items"]
    assert capacity.item_size(item) <= 1024, capacity.item_size(item)


def test_the_last_24_hours_count_the_day_items_hours_and_the_hour_items_of_releases_before(local_db):
    """Across KST midnight: yesterday's hours from 23 h ago on, today's up to now; the hour items an
    earlier release wrote (kept 3 days) count as well, and nothing outside the 24 hours does."""
    now = 1_800_000_000 - 1_800_000_000 % 86400 + 86400 - 9 * 3600 + 5 * 3600 + 60  # 05:01 KST
    ok_at = [now - 3600 * h for h in (0, 4, 5, 6, 22)] + [now - 24 * 3600, now - 30 * 3600]  # the last two: too old
    failed_at = [now - 60, now - 23 * 3600 + 60]
    for at, status in [(t, 204) for t in ok_at] + [(t, 500) for t in failed_at]:
        moves = counters.for_delivery("chk_x", status, at)
        local_db.transact(local_db.counter_items("m-24h", moves))
    # An hour item as the release before wrote it: 3 attempts, 2 delivered, 2 hours ago.
    shard = counters.shard_of("chk_x")
    old_hour = counters.kst_hour(now - 2 * 3600)
    local_db.client.put_item(TableName=local_db.table, Item=store.to_item({
        "pk": f"STATS#m-24h#{shard}", "sk": f"HOUR#{old_hour}", "hook_attempts": 3, "hook_ok": 2}))
    local_db.client.put_item(TableName=local_db.table, Item=store.to_item({  # too old
        "pk": f"STATS#m-24h#{shard}", "sk": f"HOUR#{counters.kst_hour(now - 26 * 3600)}", "hook_attempts": 9, "hook_ok": 9}))
    assert dashboard_stats.deliveries_last_24h(local_db, "m-24h", now) == (5 + 2, 2 + 1)


# --- the overview's reads on DynamoDB Local ----------------------------------------------------------

def _seed(store: Any, merchant: Any, n: int, start: int) -> None:
    """n checkouts made, opened and (every fifth) paid, through the use cases themselves."""

    def one(i: int) -> None:
        made = checkouts.create(store, merchant, checkout_body(client_reference_id=f"seed-{start + i}"), None, "http://app.example")
        checkout = store.get_checkout(made["id"])
        dashboard_stats.record_open(store, checkout)
        if i % 5 == 0:
            checkout = store.get_checkout(made["id"])
            payment = Payment(f"ps_{start + i}", "card", checkout.amount_total, "KRW", NOW)
            events.transition(store, merchant, checkout, model.plan_complete(checkout, payment, NOW), "http://app.example")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(n)))


@pytest.mark.ddb_local
def test_the_overview_makes_as_many_dynamodb_calls_at_1000_checkouts_as_at_10(local_db, live_server, monkeypatch, figures):
    monkeypatch.setattr(clock, "now_s", lambda: NOW)
    handle = create_merchant(local_db)
    calls: list[str] = []
    local_db.client.meta.events.register("before-call.dynamodb.*", lambda model, **kw: calls.append(model.name))
    dash = Dashboard(live_server.url)
    dash.sign_in(handle.api_key)

    def overview() -> tuple[Counter[str], dict[str, int]]:
        calls.clear()
        html = dash.get("/dashboard", period="90d").text
        made = Counter(calls)
        funnel = {step: int(n) for step, n in re.findall(r'<tr data-step="(\w+)">.*?data-count>(\d+)</td>', html)}
        return made, funnel

    _seed(local_db, handle.merchant, 10, 0)
    at_10, funnel_10 = overview()
    _seed(local_db, handle.merchant, 990, 10)
    at_1000, funnel_1000 = overview()
    assert funnel_10 == {"opened": 10, "submitted": 0, "paid": 2}
    assert funnel_1000 == {"opened": 1000, "submitted": 0, "paid": 200}
    assert at_10 == at_1000 == Counter({"Query": counters.SHARDS, "GetItem": 2}), "session, merchant, 32 shard queries"
    figures.add("dashboard", "overview DynamoDB calls at 10 and 1,000 checkouts", 2,
                expect=f"equal: {sum(at_10.values())} = {sum(at_1000.values())} calls")
