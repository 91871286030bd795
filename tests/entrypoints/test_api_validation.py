"""Every field of POST /api/checkouts: each violation is a 400/422 naming its param."""
import json

import pytest

from tests.conftest import api_json, checkout_body, create_merchant


@pytest.fixture(scope="module")
def module_merchant(module_db):
    return create_merchant(module_db)


@pytest.fixture
def merchant(shared_db, module_merchant):
    return module_merchant

LONG = "x" * 201


def with_item(**fields):
    item = {"name": "차", "unit_amount": 1000, "quantity": 1}
    item.update(fields)
    return {"line_items": [item]}


def without_item_field(name):
    item = {"name": "차", "unit_amount": 1000, "quantity": 1}
    del item[name]
    return {"line_items": [item]}


CASES = [
    # (overrides, status, param, code)
    ({"surprise": 1}, 400, "surprise", "parameter_unknown"),
    ({"line_items": []}, 400, "line_items", "invalid_request"),
    ({"line_items": "many"}, 400, "line_items", "invalid_request"),
    ({"line_items": [{"name": "a", "unit_amount": 1, "quantity": 1}] * 101}, 400, "line_items", "invalid_request"),
    ({"line_items": ["tea"]}, 400, "line_items[0]", "invalid_request"),
    (without_item_field("name"), 400, "line_items[0].name", "invalid_request"),
    (without_item_field("unit_amount"), 400, "line_items[0].unit_amount", "invalid_request"),
    (without_item_field("quantity"), 400, "line_items[0].quantity", "invalid_request"),
    (with_item(name=""), 400, "line_items[0].name", "invalid_request"),
    (with_item(name=LONG), 400, "line_items[0].name", "invalid_request"),
    (with_item(name=5), 400, "line_items[0].name", "invalid_request"),
    (with_item(unit_amount=-1), 400, "line_items[0].unit_amount", "invalid_request"),
    (with_item(unit_amount=10.5), 400, "line_items[0].unit_amount", "invalid_request"),
    (with_item(unit_amount="1000"), 400, "line_items[0].unit_amount", "invalid_request"),
    (with_item(unit_amount=True), 400, "line_items[0].unit_amount", "invalid_request"),
    (with_item(quantity=0), 400, "line_items[0].quantity", "invalid_request"),
    (with_item(quantity=1000), 400, "line_items[0].quantity", "invalid_request"),
    (with_item(description="d" * 501), 400, "line_items[0].description", "invalid_request"),
    (with_item(image_url="http://img.example/a.png"), 400, "line_items[0].image_url", "invalid_request"),
    (with_item(product_id=7), 400, "line_items[0].product_id", "invalid_request"),
    (with_item(colour="red"), 400, "line_items[0].colour", "parameter_unknown"),
    (with_item(unit_amount=0), 422, "line_items", "amount_too_small"),
    ({"currency": "XYZ"}, 400, "currency", "invalid_request"),
    ({"currency": 410}, 400, "currency", "invalid_request"),
    ({"customer": "홍길동"}, 400, "customer", "invalid_request"),
    ({"customer": {"email": "not-an-email"}}, 400, "customer.email", "invalid_request"),
    ({"customer": {"phone": "12345"}}, 400, "customer.phone", "invalid_request"),
    ({"customer": {"name": LONG}}, 400, "customer.name", "invalid_request"),
    ({"customer": {"age": 3}}, 400, "customer.age", "parameter_unknown"),
    ({"collect_shipping_address": "yes"}, 400, "collect_shipping_address", "invalid_request"),
    ({"success_url": "ftp://shop.example/ok"}, 400, "success_url", "invalid_request"),
    ({"success_url": "http://shop.example/ok"}, 400, "success_url", "invalid_request"),
    ({"success_url": "https://evil.example/ok"}, 422, "success_url", "redirect_host_not_allowed"),
    ({"success_url": "https://shop.example@evil.example/"}, 400, "success_url", "invalid_request"),
    ({"success_url": "//evil.example/ok"}, 400, "success_url", "invalid_request"),
    ({"success_url": "https:\\\\evil.example"}, 400, "success_url", "invalid_request"),
    ({"success_url": "javascript:alert(1)"}, 400, "success_url", "invalid_request"),
    ({"success_url": "https://shöp.example/"}, 400, "success_url", "invalid_request"),
    ({"cancel_url": "https://evil.example/"}, 422, "cancel_url", "redirect_host_not_allowed"),
    ({"cancel_url": 3}, 400, "cancel_url", "invalid_request"),
    ({"client_reference_id": LONG}, 400, "client_reference_id", "invalid_request"),
    ({"metadata": []}, 400, "metadata", "invalid_request"),
    ({"metadata": {"k": 1}}, 400, "metadata[k]", "invalid_request"),
    ({"metadata": {"a[b]": "v"}}, 400, "metadata[a[b]]", "invalid_request"),
    ({"metadata": {"k": "v" * 501}}, 400, "metadata[k]", "invalid_request"),
    ({"metadata": {f"k{i}": "v" for i in range(51)}}, 400, "metadata", "invalid_request"),
    ({"locale": "fr"}, 400, "locale", "invalid_request"),
    ({"expires_in": 60}, 400, "expires_in", "invalid_request"),
    ({"expires_in": 604801}, 400, "expires_in", "invalid_request"),
    ({"expires_in": "86400"}, 400, "expires_in", "invalid_request"),
    ({"payment_method_types": []}, 400, "payment_method_types", "invalid_request"),
    ({"payment_method_types": ["cheque"]}, 400, "payment_method_types[0]", "invalid_request"),
]

REQUIRED = ["line_items", "currency", "success_url", "cancel_url"]


@pytest.mark.parametrize("overrides,status,param,code", CASES, ids=[c[2] + ":" + c[3] for c in CASES])
def test_each_violation_names_its_param(client, merchant, overrides, status, param, code):
    response = client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body(**overrides)))
    assert response.status_code == status, response.body
    error = api_json(response)["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert error["message"] and "Traceback" not in response.body.decode()


@pytest.mark.parametrize("field", REQUIRED)
def test_required_fields_are_named_when_missing(client, merchant, field):
    body = checkout_body()
    del body[field]
    response = client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(body))
    assert response.status_code == 400
    assert api_json(response)["error"]["param"] == field


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,2]", b"null", b"\xff\xfe", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(client, merchant, raw):
    response = client.http.post("/api/checkouts", headers=merchant.headers, body=raw)
    assert response.status_code == 400
    assert api_json(response)["error"]["param"] == "body"


def test_a_valid_body_normalises_currency_and_defaults(client, merchant):
    response = client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body(currency="krw")))
    assert response.status_code == 201
    created = api_json(response)
    assert created["currency"] == "KRW" and created["collect_shipping_address"] is True
    assert created["locale"] == "ko" and created["status"] == "open" and created["amount_total"] == 22000
    usd = api_json(client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body(currency="USD"))))
    assert usd["collect_shipping_address"] is False


def test_wildcard_allowed_hosts_cover_subdomains_only(client, shared_db):
    m = create_merchant(shared_db, allowed_hosts=["*.shop.example"])
    ok = client.http.post("/api/checkouts", headers=m.headers,
                          body=json.dumps(checkout_body(success_url="https://www.shop.example/ok",
                                                        cancel_url="https://m.shop.example/c")))
    assert ok.status_code == 201
    bare = client.http.post("/api/checkouts", headers=m.headers, body=json.dumps(checkout_body()))
    assert bare.status_code == 422
