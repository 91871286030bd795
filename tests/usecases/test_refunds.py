"""Refunds: POST /api/checkouts/{id}/refunds, the state they move the checkout through, and
the one merchant event each refund makes."""
from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from chalicelib.domain import model
from chalicelib.domain.errors import InvalidRequest, StateConflict, Unprocessable
from chalicelib.domain.model import Checkout, LineItem, Payment
from chalicelib.usecases.refunds import parse_request
from tests import flow
from tests.adapters.providers.fake_koreacheckout import complete_payment, start_payment
from tests.conftest import create_merchant

# --- the state machine, pure ------------------------------------------------------------


def paid_checkout(status: str = model.COMPLETE, refunded: int = 0, paid: int = 22000) -> Checkout:
    return Checkout(
        id="chk_2Q6vAbCdEfGhIjKlMnOp", merchant_id="m-1", status=status, version=3, currency="KRW",
        line_items=[LineItem("녹차", 19000, 1), LineItem("배송비", 3000, 1)],
        success_url="https://shop.example/ok", cancel_url="https://shop.example/no", provider="koreacheckout",
        created_at_s=1_700_000_000, expires_at_s=1_700_086_400, locale="ko", payment_method_types=["card"],
        collect_shipping_address=True,
        payment=Payment("cs_1", "card", paid, "KRW", 1_700_000_100) if status in model.PAID_STATUSES else None,
        amount_refunded=refunded,
    )


@pytest.mark.parametrize(("status", "refunded", "amount", "to_status", "total"), [
    (model.COMPLETE, 0, 5000, model.PARTIALLY_REFUNDED, 5000),
    (model.COMPLETE, 0, 22000, model.REFUNDED, 22000),
    (model.PARTIALLY_REFUNDED, 5000, 1, model.PARTIALLY_REFUNDED, 5001),
    (model.PARTIALLY_REFUNDED, 5000, 17000, model.REFUNDED, 22000),
])
def test_a_refund_moves_a_paid_checkout_on(status, refunded, amount, to_status, total):
    plan = model.plan_refund(paid_checkout(status, refunded), amount, "re_1", 1_700_000_200)
    assert (plan.from_status, plan.from_version, plan.to_status) == (status, 3, to_status)
    assert plan.set_fields == {"amount_refunded": total}
    assert (plan.event_type, plan.event_key) == ("checkout.refunded", "checkout.refunded#re_1")


def test_each_refund_is_its_own_event():
    checkout = paid_checkout()
    assert model.plan_refund(checkout, 1, "re_1", 0).event_key != model.plan_refund(checkout, 1, "re_2", 0).event_key


@pytest.mark.parametrize("status", [model.OPEN, model.PROCESSING, model.EXPIRED, model.CANCELLED, model.REFUNDED])
def test_only_a_paid_checkout_with_money_left_can_be_refunded(status):
    with pytest.raises(StateConflict):
        model.plan_refund(paid_checkout(status, 22000 if status == model.REFUNDED else 0), 1, "re_1", 1_700_000_200)


@pytest.mark.parametrize(("refunded", "amount"), [(0, 22001), (5000, 17001), (21999, 2)])
def test_more_than_remains_is_unprocessable(refunded, amount):
    status = model.PARTIALLY_REFUNDED if refunded else model.COMPLETE
    with pytest.raises(Unprocessable) as raised:
        model.plan_refund(paid_checkout(status, refunded), amount, "re_1", 1_700_000_200)
    assert raised.value.code == "refund_exceeds_remaining" and raised.value.http_status == 422


@pytest.mark.parametrize("amount", [0, -1, True, 1.5, "100"])
def test_a_refund_amount_is_a_positive_integer(amount):
    with pytest.raises(Unprocessable):
        model.plan_refund(paid_checkout(), amount, "re_1", 1_700_000_200)


def test_what_remains_is_what_the_provider_confirmed_less_refunds():
    assert model.refundable(paid_checkout()) == 22000
    assert model.refundable(paid_checkout(model.PARTIALLY_REFUNDED, 5000)) == 17000
    assert model.refundable(paid_checkout(paid=20000)) == 20000


@pytest.mark.parametrize(("raw", "expected"), [
    (None, (None, None)),
    (b"", (None, None)),
    (b"  ", (None, None)),
    (b"{}", (None, None)),
    (b'{"amount": 5000}', (5000, None)),
    ('{"amount": 1, "reason": "고객 요청 환불"}'.encode(), (1, "고객 요청 환불")),
    (b'{"reason": ""}', (None, None)),
])
def test_the_refund_body_parses(raw, expected):
    assert parse_request(raw) == expected


@pytest.mark.parametrize(("raw", "param"), [
    (b"not json", "body"),
    (b"[]", "body"),
    (b'{"amount": "5000"}', "amount"),
    (b'{"amount": 0}', "amount"),
    (b'{"amount": -5}', "amount"),
    (b'{"amount": true}', "amount"),
    (b'{"amount": 50.5}', "amount"),
    (b'{"reason": 12}', "reason"),
    (json.dumps({"reason": "x" * 501}).encode(), "reason"),
    (b'{"amonut": 5000}', "amonut"),
])
def test_a_bad_refund_body_is_400_naming_the_field(raw, param):
    with pytest.raises(InvalidRequest) as raised:
        parse_request(raw)
    assert raised.value.http_status == 400 and raised.value.param == param


# --- over HTTP against KoreaCheckout's kc_fake ---------------------------------------------

def refund(app_url: str, merchant: Any, checkout_id: str, body: Any = None, raw: bytes | None = None) -> requests.Response:
    data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else b"")
    return requests.post(f"{app_url}/api/checkouts/{checkout_id}/refunds", headers=merchant.headers, data=data, timeout=20)


def read(app_url: str, merchant: Any, checkout_id: str) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(f"{app_url}/api/checkouts/{checkout_id}", headers=merchant.headers, timeout=10).json()
    return result


def error_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return dict(body["error"])


def test_a_partial_then_a_full_refund(db, live_server, kc_fake, kc_merchant, receiver):
    app = live_server.url
    checkout = complete_payment(app, kc_fake, kc_merchant.id, kc_merchant.api_key)
    session_id = kc_fake.session_for(checkout["id"])["sessionId"]

    partial = refund(app, kc_merchant, checkout["id"], {"amount": 5000, "reason": "고객 요청 환불"})
    assert partial.status_code == 201, partial.text
    body = partial.json()
    assert body["object"] == "refund" and body["id"].startswith("re_")
    assert (body["amount"], body["currency"], body["reason"]) == (5000, "KRW", "고객 요청 환불")
    assert body["provider"] == "koreacheckout" and body["provider_refund_id"].startswith("ref_")
    assert body["checkout"]["status"] == "partially_refunded" and body["checkout"]["amount_refunded"] == 5000
    assert kc_fake.refund_requests[0] == {"sessionId": session_id, "refundId": body["provider_refund_id"],
                                       "amount": 5000, "reason": "고객 요청 환불", "notify_customer": True}

    full = refund(app, kc_merchant, checkout["id"])  # no body: what remains
    assert full.status_code == 201, full.text
    assert full.json()["amount"] == 17000 and full.json()["reason"] is None
    assert kc_fake.refund_requests[1]["amount"] == 17000

    now = read(app, kc_merchant, checkout["id"])
    assert now["status"] == "refunded" and now["amount_refunded"] == 22000
    assert kc_fake.sessions[session_id]["status"] == "refunded"
    events = receiver.verified(kc_merchant.webhook_secret)
    assert [e["type"] for e in events] == ["checkout.completed", "checkout.refunded", "checkout.refunded"]
    assert [(e["data"]["status"], e["data"]["amount_refunded"]) for e in events[1:]] == [
        ("partially_refunded", 5000), ("refunded", 22000)]
    assert len({d["headers"]["webhook-id"] for d in receiver.deliveries}) == 3

    again = refund(app, kc_merchant, checkout["id"], {"amount": 1})
    assert again.status_code == 409 and error_of(again)["code"] == "checkout_state_conflict"
    assert len(kc_fake.refund_requests) == 2 and len(receiver.deliveries) == 3


def test_refunding_more_than_remains_is_422_and_reaches_nobody(db, live_server, kc_fake, kc_merchant, receiver):
    app = live_server.url
    checkout = complete_payment(app, kc_fake, kc_merchant.id, kc_merchant.api_key)
    assert refund(app, kc_merchant, checkout["id"], {"amount": 5000}).status_code == 201
    over = refund(app, kc_merchant, checkout["id"], {"amount": 17001})
    assert over.status_code == 422
    error = error_of(over)
    assert error["code"] == "refund_exceeds_remaining" and error["param"] == "amount" and "17000" in error["message"]
    assert len(kc_fake.refund_requests) == 1
    assert read(app, kc_merchant, checkout["id"])["amount_refunded"] == 5000
    assert len(receiver.deliveries) == 2


def test_a_checkout_that_is_not_paid_cannot_be_refunded(db, live_server, kc_fake, kc_merchant, receiver):
    app = live_server.url
    open_checkout = flow.create_checkout(app, kc_merchant.api_key, "https://shop.example")
    response = refund(app, kc_merchant, open_checkout["id"], {"amount": 100})
    assert response.status_code == 409 and error_of(response)["code"] == "checkout_state_conflict"
    processing, _ = start_payment(app, kc_fake, kc_merchant.api_key)
    assert refund(app, kc_merchant, processing["id"]).status_code == 409
    assert kc_fake.refund_requests == [] and receiver.deliveries == []


def test_a_sandbox_checkout_has_no_refund_api(db, live_server, receiver):
    app = live_server.url
    merchant = create_merchant(db, receiver.url)
    checkout = flow.create_checkout(app, merchant.api_key, "https://shop.example")
    with requests.Session() as browser:
        submitted = flow.submit_form(browser, checkout["url"])
        approved = flow.sandbox_action(browser, submitted.headers["location"], "approve")
        browser.get(approved.headers["location"], allow_redirects=False, timeout=20)
    assert read(app, merchant, checkout["id"])["status"] == "complete"
    response = refund(app, merchant, checkout["id"], {"amount": 1000})
    assert response.status_code == 422 and error_of(response)["code"] == "refund_not_supported"
    now = read(app, merchant, checkout["id"])
    assert now["status"] == "complete" and now["amount_refunded"] == 0
    assert [e["type"] for e in receiver.verified(merchant.webhook_secret)] == ["checkout.completed"]


def test_a_refund_the_provider_refuses_records_nothing(db, live_server, kc_fake, kc_merchant, receiver):
    app = live_server.url
    checkout = complete_payment(app, kc_fake, kc_merchant.id, kc_merchant.api_key)
    session_id = kc_fake.session_for(checkout["id"])["sessionId"]
    kc_fake.sessions[session_id]["refunded"] = 22000  # refunded in KoreaCheckout's dashboard meanwhile
    response = refund(app, kc_merchant, checkout["id"], {"amount": 1000})
    assert response.status_code == 422 and error_of(response)["code"] == "refund_rejected"
    assert "koreacheckout" not in response.text.lower()
    assert read(app, kc_merchant, checkout["id"])["status"] == "complete"
    assert len(receiver.deliveries) == 1


def test_a_refund_the_provider_does_not_confirm_is_502_and_is_not_repeated(db, live_server, kc_fake, kc_merchant, receiver):
    app = live_server.url
    checkout = complete_payment(app, kc_fake, kc_merchant.id, kc_merchant.api_key)
    session_id = kc_fake.session_for(checkout["id"])["sessionId"]
    kc_fake.faults = ["500"]
    response = refund(app, kc_merchant, checkout["id"], {"amount": 1000})
    assert response.status_code == 502 and error_of(response)["code"] == "provider_error"
    refund_calls = [r for r in kc_fake.requests if r.path == f"/api/checkout/session/{session_id}/refund"]
    assert len(refund_calls) == 1  # no idempotency key at KoreaCheckout: never sent twice
    assert read(app, kc_merchant, checkout["id"])["status"] == "complete"
    assert len(receiver.deliveries) == 1


def test_refund_requests_are_checked_before_anything_happens(db, live_server, kc_fake, kc_merchant, receiver):
    app = live_server.url
    checkout = complete_payment(app, kc_fake, kc_merchant.id, kc_merchant.api_key)
    for raw, param in [(b'{"amount": "5000"}', "amount"), (b'{"amount": 0}', "amount"), (b'{"amonut": 5}', "amonut")]:
        response = refund(app, kc_merchant, checkout["id"], raw=raw)
        assert response.status_code == 400 and error_of(response)["param"] == param
    other = create_merchant(db, receiver.url)
    assert refund(app, other, checkout["id"], {"amount": 1}).status_code == 404
    assert refund(app, kc_merchant, "chk_doesnotexist0000000000", {"amount": 1}).status_code == 404
    anonymous = requests.post(f"{app}/api/checkouts/{checkout['id']}/refunds", data=b"{}", timeout=10,
                              headers={"content-type": "application/json"})
    assert anonymous.status_code == 401
    assert kc_fake.refund_requests == [] and len(receiver.deliveries) == 1


def test_a_new_checkout_reports_nothing_refunded(db, live_server, kc_merchant):
    created = flow.create_checkout(live_server.url, kc_merchant.api_key, "https://shop.example")
    assert created["amount_refunded"] == 0
