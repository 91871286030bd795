"""The dashboard's counters: what each step counts (pure), and the overview's reads
staying the same whatever the volume (DynamoDB Local, calls counted with botocore's
event hooks)."""
from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

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
def test_a_delivery_attempt_counts_on_its_day_and_hour(status, ok):
    moves = counters.for_delivery("chk_x", status, NOW)
    assert moves.adds == {f"DAY#{counters.kst_day(NOW)}": {"hook_attempts": 1, **({"hook_ok": 1} if ok else {})},
                          f"HOUR#{counters.kst_hour(NOW)}": {"hook_attempts": 1, **({"hook_ok": 1} if ok else {})}}


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
