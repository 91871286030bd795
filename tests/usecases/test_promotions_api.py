"""Promotion codes in the merchant API: create, list (with times_redeemed), read, turn off; a
checkout created with a code (the discount on the checkout object and in the webhook); and the
error each refused code gets."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

import pytest

from chalicelib.domain import clock
from tests.conftest import api_json, checkout_body, create_merchant

FORM = {"content-type": "application/x-www-form-urlencoded"}
SHOPPER = {
    "name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678", "postal_code": "06236",
    "address1": "서울 강남구 테헤란로 152", "address2": "10층", "payment_method": "card", "agree": "1",
}
DAY_S = 86400


# --- helpers (the other test_promotions_* modules use them too) ---------------------------

def new_code(client, handle, **fields) -> dict:
    body = {"code": "WELCOME10", "type": "percentage", "value": 10, **fields}
    body = {k: v for k, v in body.items() if v is not None}  # value=None: a type without a value
    response = client.http.post("/api/promotion-codes", headers=handle.headers, body=json.dumps(body))
    assert response.status_code == 201, response.body
    return api_json(response)


def create_checkout(client, handle, **overrides):
    return client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body(**overrides)))


def new_checkout(client, handle, **overrides) -> dict:
    response = create_checkout(client, handle, **overrides)
    assert response.status_code == 201, response.body
    return api_json(response)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def post_form(client, checkout_id: str, **fields):
    page = client.http.get(f"/c/{checkout_id}").body.decode()
    return client.http.post(f"/c/{checkout_id}", headers=FORM, body=urlencode({"csrf_token": csrf_of(page), **fields}))


def pay(client, checkout_id: str, action: str = "approve", **fields):
    """Submit the shopper's form and act on the sandbox page; returns the submit's response."""
    submitted = post_form(client, checkout_id, **{**SHOPPER, **fields})
    if submitted.status_code != 303:
        return submitted
    path = urlsplit(submitted.headers["Location"]).path
    page = client.http.get(path).body.decode()
    client.http.post(path, headers=FORM, body=urlencode({"csrf_token": csrf_of(page), "action": action}))
    client.http.get(f"/c/{checkout_id}/return")
    return submitted


def read(client, handle, checkout_id: str) -> dict:
    return api_json(client.http.get(f"/api/checkouts/{checkout_id}", headers=handle.headers))


def code_view(client, handle, code: str) -> dict:
    return api_json(client.http.get(f"/api/promotion-codes/{code}", headers=handle.headers))


# --- creating codes -------------------------------------------------------------------------

@pytest.mark.parametrize("fields,expected", [
    ({"code": "welcome10", "type": "percentage", "value": 10},
     {"code": "WELCOME10", "type": "percentage", "value": 10, "currency": None, "value_type": None}),
    ({"code": "KRW5000", "type": "fixed_amount", "value": 5000, "currency": "krw", "minimum_order_amount": 30000},
     {"code": "KRW5000", "type": "fixed_amount", "value": 5000, "currency": "KRW", "minimum_order_amount": 30000}),
    ({"code": "SHIPFREE", "type": "free_shipping"}, {"type": "free_shipping", "value": None}),
    ({"code": "TEA-HALF", "type": "product_specific", "value_type": "percentage", "value": 50, "product_ids": ["tea", "tea"]},
     {"type": "product_specific", "value_type": "percentage", "value": 50, "product_ids": ["tea"]}),
    ({"code": "TEA_300", "type": "product_specific", "value_type": "fixed_amount", "value": 300, "currency": "USD",
      "product_ids": ["tea"]}, {"value_type": "fixed_amount", "currency": "USD"}),
    ({"code": "WINDOW", "type": "percentage", "value": 100, "valid_from": "2026-01-01T00:00:00+09:00",
      "valid_until": "2026-12-31T23:59:59Z", "usage_limit": 10, "usage_limit_per_customer": 1, "active": False},
     {"valid_from": "2025-12-31T15:00:00Z", "valid_until": "2026-12-31T23:59:59Z", "usage_limit": 10,
      "usage_limit_per_customer": 1, "active": False}),
])
def test_each_type_of_code_is_created(client, merchant, fields, expected):
    response = client.http.post("/api/promotion-codes", headers=merchant.headers, body=json.dumps(fields))
    assert response.status_code == 201, response.body
    created = api_json(response)
    assert created["object"] == "promotion_code"
    assert created["times_redeemed"] == 0 and created["reserved"] == 0
    assert {k: created[k] for k in expected} == expected
    assert code_view(client, merchant, fields["code"].lower()) == created


def test_a_code_is_unique_per_merchant_whatever_its_case(client, merchant, db, receiver):
    new_code(client, merchant, code="Spring")
    again = client.http.post("/api/promotion-codes", headers=merchant.headers,
                             body=json.dumps({"code": "SPRING", "type": "percentage", "value": 5}))
    assert again.status_code == 409
    assert api_json(again)["error"] == {"code": "promotion_code_exists", "param": "code",
                                        "message": "this merchant already has a promotion code SPRING"}
    other = create_merchant(db, receiver.url)
    assert new_code(client, other, code="spring")["code"] == "SPRING"


@pytest.mark.parametrize("fields,param,code", [
    ({"typo": 1}, "typo", "parameter_unknown"),
    ({"code": None}, "code", "invalid_request"),
    ({"code": "AB"}, "code", "invalid_request"),
    ({"code": "WELCOME 10"}, "code", "invalid_request"),
    ({"code": "할인코드"}, "code", "invalid_request"),
    ({"code": "X" * 41}, "code", "invalid_request"),
    ({"type": "bogo"}, "type", "invalid_request"),
    ({"value": 0}, "value", "invalid_request"),
    ({"value": 101}, "value", "invalid_request"),
    ({"value": "10"}, "value", "invalid_request"),
    ({"value": True}, "value", "invalid_request"),
    ({"value": 10.5}, "value", "invalid_request"),
    ({"value": None}, "value", "invalid_request"),
    ({"type": "fixed_amount", "value": 500}, "currency", "invalid_request"),
    ({"type": "fixed_amount", "value": 500, "currency": "XYZ"}, "currency", "invalid_request"),
    ({"type": "free_shipping", "value": 10}, "value", "invalid_request"),
    ({"type": "product_specific", "product_ids": ["tea"]}, "value_type", "invalid_request"),
    ({"type": "product_specific", "value_type": "percentage"}, "product_ids", "invalid_request"),
    ({"type": "product_specific", "value_type": "percentage", "product_ids": []}, "product_ids", "invalid_request"),
    ({"type": "product_specific", "value_type": "percentage", "product_ids": [7]}, "product_ids[0]", "invalid_request"),
    ({"type": "product_specific", "value_type": "fixed_amount", "value": 100, "product_ids": ["t"]}, "currency",
     "invalid_request"),
    ({"value_type": "percentage"}, "value_type", "invalid_request"),
    ({"product_ids": ["tea"]}, "product_ids", "invalid_request"),
    ({"valid_from": "tomorrow"}, "valid_from", "invalid_request"),
    ({"valid_until": "2026-12-31T23:59:59"}, "valid_until", "invalid_request"),
    ({"valid_from": "2026-12-31T00:00:00Z", "valid_until": "2026-12-30T00:00:00Z"}, "valid_until", "invalid_request"),
    ({"minimum_order_amount": 30000}, "currency", "invalid_request"),
    ({"minimum_order_amount": 0, "currency": "KRW"}, "minimum_order_amount", "invalid_request"),
    ({"usage_limit": 0}, "usage_limit", "invalid_request"),
    ({"usage_limit_per_customer": -1}, "usage_limit_per_customer", "invalid_request"),
    ({"active": "yes"}, "active", "invalid_request"),
])
def test_a_bad_code_definition_is_400_naming_the_field(client, merchant, fields, param, code):
    body = {"code": "WELCOME10", "type": "percentage", "value": 10, **fields}
    response = client.http.post("/api/promotion-codes", headers=merchant.headers, body=json.dumps(body))
    assert response.status_code == 400, response.body
    error = api_json(response)["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert error["message"]


def test_the_codes_api_needs_the_merchants_key(client, merchant):
    assert client.http.get("/api/promotion-codes").status_code == 401
    assert client.http.post("/api/promotion-codes", body=json.dumps({"code": "ABC", "type": "free_shipping"}),
                            headers={"content-type": "application/json"}).status_code == 401


# --- listing, reading, turning off -------------------------------------------------------------

def test_codes_are_listed_in_code_order_with_times_redeemed_and_paged(client, merchant, db, receiver):
    for code in ("CHARLIE", "ALPHA", "BRAVO"):
        new_code(client, merchant, code=code)
    new_code(client, create_merchant(db, receiver.url), code="ZULU")  # another merchant's
    listed = api_json(client.http.get("/api/promotion-codes", headers=merchant.headers))
    assert [c["code"] for c in listed["data"]] == ["ALPHA", "BRAVO", "CHARLIE"]
    assert listed["has_more"] is False
    assert all(c["times_redeemed"] == 0 for c in listed["data"])
    first = api_json(client.http.get("/api/promotion-codes?limit=2", headers=merchant.headers))
    assert [c["code"] for c in first["data"]] == ["ALPHA", "BRAVO"] and first["has_more"] is True
    rest = api_json(client.http.get("/api/promotion-codes?limit=2&starting_after=bravo", headers=merchant.headers))
    assert [c["code"] for c in rest["data"]] == ["CHARLIE"] and rest["has_more"] is False
    for query, param in (("limit=0", "limit"), ("limit=x", "limit"), ("status=active", "status"), ("starting_after=a", "starting_after")):
        bad = client.http.get(f"/api/promotion-codes?{query}", headers=merchant.headers)
        assert bad.status_code == 400 and api_json(bad)["error"]["param"] == param


def test_a_redemption_shows_in_times_redeemed(client, merchant):
    new_code(client, merchant, usage_limit=5)
    checkout = new_checkout(client, merchant, promotion_code="welcome10")
    assert pay(client, checkout["id"]).status_code == 303
    assert read(client, merchant, checkout["id"])["status"] == "complete"
    [listed] = api_json(client.http.get("/api/promotion-codes", headers=merchant.headers))["data"]
    assert (listed["times_redeemed"], listed["reserved"]) == (1, 0)


def test_a_code_is_turned_off_and_on_again(client, merchant):
    new_code(client, merchant)
    off = client.http.post("/api/promotion-codes/welcome10", headers=merchant.headers, body=json.dumps({"active": False}))
    assert off.status_code == 200 and api_json(off)["active"] is False
    refused = create_checkout(client, merchant, promotion_code="WELCOME10")
    assert refused.status_code == 422 and api_json(refused)["error"]["code"] == "promotion_code_inactive"
    on = client.http.post("/api/promotion-codes/WELCOME10", headers=merchant.headers, body=json.dumps({"active": True}))
    assert api_json(on)["active"] is True
    assert create_checkout(client, merchant, promotion_code="WELCOME10").status_code == 201


@pytest.mark.parametrize("body,param", [({"value": 20}, "value"), ({}, "active"), ({"active": "no"}, "active")])
def test_only_active_can_be_changed(client, merchant, body, param):
    new_code(client, merchant)
    response = client.http.post("/api/promotion-codes/WELCOME10", headers=merchant.headers, body=json.dumps(body))
    assert response.status_code == 400 and api_json(response)["error"]["param"] == param


def test_another_merchants_code_is_not_found(client, merchant, db, receiver):
    new_code(client, create_merchant(db, receiver.url), code="THEIRS")
    assert client.http.get("/api/promotion-codes/THEIRS", headers=merchant.headers).status_code == 404
    off = client.http.post("/api/promotion-codes/THEIRS", headers=merchant.headers, body=json.dumps({"active": False}))
    assert off.status_code == 404 and api_json(off)["error"]["code"] == "not_found"
    assert client.http.get("/api/promotion-codes/no%20such", headers=merchant.headers).status_code == 404


# --- a checkout with a code -----------------------------------------------------------------------

def test_a_checkout_created_with_a_code_shows_the_discount(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, promotion_code="Welcome10")
    assert {k: checkout[k] for k in ("amount_subtotal", "amount_discount", "amount_total", "promotion_code")} == {
        "amount_subtotal": 22000, "amount_discount": 2200, "amount_total": 19800, "promotion_code": "WELCOME10"}
    assert checkout["allow_promotion_codes"] is False
    assert read(client, merchant, checkout["id"])["amount_total"] == 19800


def test_a_checkout_without_a_code_has_no_discount(client, merchant):
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    assert {k: checkout[k] for k in ("amount_subtotal", "amount_discount", "amount_total", "promotion_code",
                                     "allow_promotion_codes")} == {
        "amount_subtotal": 22000, "amount_discount": 0, "amount_total": 22000, "promotion_code": None,
        "allow_promotion_codes": True}


def test_the_webhook_and_the_payment_carry_the_discount(client, merchant, receiver):
    new_code(client, merchant, code="SHIPFREE", type="free_shipping", value=None)
    lines = [{"name": "녹차", "unit_amount": 19000, "quantity": 1, "product_id": "tea"},
             {"name": "배송비", "unit_amount": 3000, "quantity": 1, "shipping": True}]
    checkout = new_checkout(client, merchant, line_items=lines, promotion_code="SHIPFREE")
    assert checkout["line_items"][1]["shipping"] is True and "shipping" not in checkout["line_items"][0]
    assert pay(client, checkout["id"]).status_code == 303
    [event] = receiver.verified(merchant.webhook_secret)
    data = event["data"]
    assert event["type"] == "checkout.completed"
    assert {k: data[k] for k in ("amount_subtotal", "amount_discount", "amount_total", "promotion_code")} == {
        "amount_subtotal": 22000, "amount_discount": 3000, "amount_total": 19000, "promotion_code": "SHIPFREE"}
    assert data["payment"]["amount"] == 19000


def code_at(offset_days: int) -> str:
    return clock.iso(clock.now_s() + offset_days * DAY_S)


@pytest.mark.parametrize("code,overrides,reason", [
    ({"code": "OTHER"}, {}, "promotion_code_not_found"),
    ({"valid_until": code_at(-1), "valid_from": code_at(-10)}, {}, "promotion_code_expired"),
    ({"valid_from": code_at(1)}, {}, "promotion_code_not_yet_valid"),
    ({"active": False}, {}, "promotion_code_inactive"),
    ({"minimum_order_amount": 30000, "currency": "KRW"}, {}, "promotion_code_minimum_not_met"),
    ({"type": "fixed_amount", "value": 500, "currency": "USD"}, {}, "promotion_code_currency_mismatch"),
    ({"type": "fixed_amount", "value": 22000, "currency": "KRW"}, {}, "promotion_code_covers_total"),
    ({"type": "free_shipping", "value": None}, {}, "promotion_code_not_applicable"),
    ({"type": "product_specific", "value_type": "percentage", "value": 10, "product_ids": ["cup"]}, {},
     "promotion_code_not_applicable"),
])
def test_a_refused_code_is_422_with_its_own_error_code(client, merchant, code, overrides, reason):
    new_code(client, merchant, **code)
    response = create_checkout(client, merchant, promotion_code="WELCOME10", **overrides)
    assert response.status_code == 422, response.body
    error = api_json(response)["error"]
    assert (error["code"], error["param"]) == (reason, "promotion_code")
    assert error["message"]


def test_an_exhausted_code_is_refused_on_create(client, merchant):
    new_code(client, merchant, usage_limit=1)
    assert pay(client, new_checkout(client, merchant, promotion_code="WELCOME10")["id"]).status_code == 303
    response = create_checkout(client, merchant, promotion_code="WELCOME10")
    assert response.status_code == 422
    assert api_json(response)["error"]["code"] == "promotion_code_exhausted"


def test_a_customer_over_their_limit_is_refused_on_create(client, merchant):
    new_code(client, merchant, usage_limit_per_customer=1)
    assert pay(client, new_checkout(client, merchant, promotion_code="WELCOME10")["id"]).status_code == 303
    again = create_checkout(client, merchant, promotion_code="WELCOME10", customer={"email": "GilDong@example.com"})
    assert again.status_code == 422 and api_json(again)["error"]["code"] == "promotion_code_customer_limit"
    other = create_checkout(client, merchant, promotion_code="WELCOME10", customer={"email": "someone@example.com"})
    assert other.status_code == 201


@pytest.mark.parametrize("value,param", [(123, "promotion_code"), ("a b", "promotion_code"), ("AB", "promotion_code")])
def test_a_malformed_code_on_create_is_400(client, merchant, value, param):
    response = create_checkout(client, merchant, promotion_code=value)
    assert response.status_code == 400 and api_json(response)["error"]["param"] == param


def test_allow_promotion_codes_must_be_a_boolean(client, merchant):
    response = create_checkout(client, merchant, allow_promotion_codes="yes")
    assert response.status_code == 400 and api_json(response)["error"]["param"] == "allow_promotion_codes"


def test_a_shipping_flag_must_be_a_boolean(client, merchant):
    lines = [{"name": "배송비", "unit_amount": 3000, "quantity": 1, "shipping": "yes"}]
    response = create_checkout(client, merchant, line_items=lines)
    assert response.status_code == 400 and api_json(response)["error"]["param"] == "line_items[0].shipping"
