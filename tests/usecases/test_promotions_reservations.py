"""The life of a promotion-code use: reserved when the shopper submits, a redemption when the
checkout completes, given back when the attempt fails, the shopper cancels at the provider, the
provider cannot be reached, or the checkout expires or is cancelled. First the plans (pure), then
the whole flow through the app."""
from __future__ import annotations

import pytest

from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.providers import sandbox
from chalicelib.domain import clock, model
from chalicelib.domain.model import (
    COUNT_ALWAYS,
    COUNT_RESERVABLE,
    COUNT_WITHIN_LIMIT,
    Attempt,
    Checkout,
    CounterChange,
    LineItem,
    Payment,
)
from tests.conftest import api_json
from tests.usecases.test_promotions_api import FORM, SHOPPER, csrf_of, new_checkout, new_code, pay, post_form, read

NOW = 1_800_000_000
EMAIL_KEY = model.customer_key("gildong@example.com")


def checkout(status="open", promotion=None, discount=0, reservation=None, **kw) -> Checkout:
    return Checkout(
        id="chk_test", merchant_id="m", status=status, version=3, currency="KRW",
        line_items=[LineItem(name="녹차", unit_amount=19000, quantity=1), LineItem(name="배송비", unit_amount=3000, quantity=1)],
        success_url="https://shop.example/ok", cancel_url="https://shop.example/cart", provider="sandbox",
        created_at_s=NOW - 60, expires_at_s=NOW + 3600, locale="ko", payment_method_types=["card"],
        collect_shipping_address=True, promotion=promotion, amount_discount=discount, reservation=reservation, **kw)


TEN = {"code": "TEN", "type": "percentage", "value": 10}
TEN_ONCE_EACH = {**TEN, "usage_limit_per_customer": 1}
ATTEMPT = Attempt(id="att_1", provider="sandbox", method="card", created_at_s=NOW)
PAYMENT = Payment(provider_session_id="sbx_1", method="card", amount=19800, currency="KRW", paid_at_s=NOW)


# --- the plans: which counters move with which transition -----------------------------------

def test_a_submit_without_a_code_moves_no_counter():
    plan = model.plan_lock(checkout(), ATTEMPT, {"email": "gildong@example.com"}, NOW)
    assert plan.counters == () and plan.set_fields["reservation"] is None


def test_a_submit_reserves_a_use_of_the_code_and_of_the_customers_allowance():
    plan = model.plan_lock(checkout(promotion=TEN_ONCE_EACH, discount=2200), ATTEMPT,
                            {"email": " GilDong@Example.com"}, NOW)
    assert plan.counters == (
        CounterChange("TEN", claimed=1, condition=COUNT_RESERVABLE, at_s=NOW),
        CounterChange("TEN", claimed=1, customer=EMAIL_KEY, condition=COUNT_WITHIN_LIMIT, customer_limit=1, at_s=NOW),
    )
    assert plan.set_fields["reservation"] == {"code": "TEN", "customer": EMAIL_KEY}


@pytest.mark.parametrize("plan_of", [
    lambda c: model.plan_release(c, "att_1", True, "payment_failed", NOW),
    lambda c: model.plan_release(c, "att_1", False, "cancelled_at_provider", NOW),
    lambda c: model.plan_cancel(c, NOW),
    lambda c: model.plan_expire(c, NOW + 3600),
])
def test_an_attempt_that_ends_unpaid_gives_its_use_back(plan_of):
    held = checkout("processing", TEN_ONCE_EACH, 2200, {"code": "TEN", "customer": EMAIL_KEY}, attempt=ATTEMPT)
    plan = plan_of(held)
    assert plan.counters == (CounterChange("TEN", claimed=-1), CounterChange("TEN", claimed=-1, customer=EMAIL_KEY))
    assert all(c.condition == COUNT_ALWAYS for c in plan.counters), "giving back never blocks the transition"
    assert "reservation" in plan.remove_fields


def test_completion_turns_the_reservation_into_a_redemption():
    held = checkout("processing", TEN_ONCE_EACH, 2200, {"code": "TEN", "customer": EMAIL_KEY}, attempt=ATTEMPT)
    plan = model.plan_complete(held, PAYMENT, NOW)
    assert plan.counters == (CounterChange("TEN", redeemed=1), CounterChange("TEN", redeemed=1, customer=EMAIL_KEY))
    assert "reservation" in plan.remove_fields


def test_a_late_payment_claims_a_use_within_the_limit_or_completes_flagged():
    late = checkout("cancelled", TEN_ONCE_EACH, 2200, shopper={"email": "gildong@example.com"})
    plan = model.plan_complete(late, PAYMENT, NOW)
    assert plan.counters == (
        CounterChange("TEN", claimed=1, redeemed=1, condition=COUNT_WITHIN_LIMIT, at_s=NOW),
        CounterChange("TEN", claimed=1, redeemed=1, customer=EMAIL_KEY, condition=COUNT_WITHIN_LIMIT, customer_limit=1, at_s=NOW),
    )
    over = model.plan_complete(late, PAYMENT, NOW, over_limit=True)
    assert over.counters == () and over.set_fields["promotion_over_limit"] is True


def test_an_update_is_a_write_on_an_open_checkout_only():
    plan = model.plan_update(checkout(), {"metadata": {"a": "b"}}, NOW)
    assert (plan.from_status, plan.to_status, plan.from_version, plan.counters) == ("open", "open", 3, ())
    for status in ("processing", "complete", "cancelled", "expired"):
        with pytest.raises(model.StateConflict):
            model.plan_update(checkout(status), {}, NOW)
    with pytest.raises(model.StateConflict):
        model.plan_update(checkout(), {}, NOW + 3600)  # open, but past expires_at


# --- through the app ------------------------------------------------------------------------------

def counts(client, merchant, code="WELCOME10") -> tuple[int, int]:
    view = api_json(client.http.get(f"/api/promotion-codes/{code}", headers=merchant.headers))
    return view["times_redeemed"], view["reserved"]


def submit(client, checkout_id: str) -> str:
    """Press Pay; the sandbox session the shopper is sent to."""
    response = post_form(client, checkout_id, **SHOPPER)
    assert response.status_code == 303, response.body
    return response.headers["Location"].rsplit("/", 1)[1]


def sandbox_act(client, session_id: str, action: str) -> None:
    page = client.http.get(f"/sandbox/{session_id}").body.decode()
    from urllib.parse import urlencode

    client.http.post(f"/sandbox/{session_id}", headers=FORM, body=urlencode({"csrf_token": csrf_of(page), "action": action}))


@pytest.mark.parametrize("action,then", [("decline", "/return"), ("cancel", "/cancel")])
def test_a_declined_or_cancelled_attempt_gives_its_use_back(client, merchant, action, then):
    new_code(client, merchant, usage_limit=1)
    first = new_checkout(client, merchant, promotion_code="WELCOME10")
    second = new_checkout(client, merchant, promotion_code="WELCOME10")
    session_id = submit(client, first["id"])
    assert counts(client, merchant) == (0, 1)
    # While the use is held, the last one is not on offer to anyone else.
    blocked = pay(client, second["id"])
    assert blocked.status_code == 422 and "사용 가능 횟수가 모두 소진된 할인 코드입니다." in blocked.body.decode()
    assert read(client, merchant, second["id"])["status"] == "open"
    sandbox_act(client, session_id, action)
    client.http.get(f"/c/{first['id']}{then}")
    assert read(client, merchant, first["id"])["status"] == "open"
    assert counts(client, merchant) == (0, 0)
    assert pay(client, first["id"]).status_code == 303
    assert counts(client, merchant) == (1, 0)


def test_a_provider_that_cannot_be_reached_gives_the_use_back(client, merchant, monkeypatch):
    new_code(client, merchant, usage_limit=1)
    checkout_ = new_checkout(client, merchant, promotion_code="WELCOME10")

    def unavailable(self, request):
        raise pb.ProviderError("timeout")

    monkeypatch.setattr(sandbox.Adapter, "create_session", unavailable)
    assert post_form(client, checkout_["id"], **SHOPPER).status_code == 502
    assert counts(client, merchant) == (0, 0)


def test_a_merchant_cancel_gives_the_use_back_at_expiry_or_at_once_without_a_session(client, merchant, monkeypatch):
    new_code(client, merchant, usage_limit=2)
    at_provider = new_checkout(client, merchant, promotion_code="WELCOME10", expires_in=1800)
    submit(client, at_provider["id"])
    assert client.http.post(f"/api/checkouts/{at_provider['id']}/cancel", headers=merchant.headers).status_code == 200
    # The shopper may still pay the session they are on: the use stays held until the checkout expires.
    assert counts(client, merchant) == (0, 1)
    never_sent = new_checkout(client, merchant, promotion_code="WELCOME10")
    assert client.http.post(f"/api/checkouts/{never_sent['id']}/cancel", headers=merchant.headers).status_code == 200
    assert counts(client, merchant) == (0, 1)
    later = clock.now_s() + 1801
    monkeypatch.setattr(clock, "now_s", lambda: later)
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    assert client.lambda_.invoke("expire_checkouts", event).payload == {"expired": 0}
    assert counts(client, merchant) == (0, 0)
    assert read(client, merchant, at_provider["id"])["status"] == "cancelled"


def test_expiry_gives_the_use_back(client, merchant, monkeypatch):
    new_code(client, merchant, usage_limit=1)
    checkout_ = new_checkout(client, merchant, promotion_code="WELCOME10", expires_in=1800)
    submit(client, checkout_["id"])
    later = clock.now_s() + 1801
    monkeypatch.setattr(clock, "now_s", lambda: later)
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    assert client.lambda_.invoke("expire_checkouts", event).payload == {"expired": 1}
    assert counts(client, merchant) == (0, 0)


def test_the_provider_is_asked_for_the_discounted_total(client, merchant, db):
    new_code(client, merchant, usage_limit=1)
    checkout_ = new_checkout(client, merchant, promotion_code="WELCOME10")
    session_id = submit(client, checkout_["id"])
    assert db.get(f"SANDBOX#{session_id}", "SANDBOX")["amount"] == 19800
    assert "₩19,800" in client.http.get(f"/sandbox/{session_id}").body.decode()
