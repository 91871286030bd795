"""PATCH /api/checkouts/{id}: an open checkout's customer, metadata, line items, client reference
(and promotion code) change in one conditional write on its status and version; the total and the
discount are computed again; any other status is 409 — a submit already at the provider is never
changed underneath it."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib.domain import clock
from tests.conftest import api_json, create_merchant
from tests.flow import GOOD_FORM, MerchantSite, csrf_token
from tests.flow import create_checkout as create_over_http
from tests.usecases.test_promotions_api import new_checkout, new_code, pay, post_form, read

THREE_TEAS = [{"name": "유기농 녹차", "unit_amount": 19000, "quantity": 3, "product_id": "tea"},
              {"name": "배송비", "unit_amount": 3000, "quantity": 1, "shipping": True}]


def patch(client, handle, checkout_id: str, body, raw: str | None = None):
    return client.http.request("PATCH", f"/api/checkouts/{checkout_id}", headers=handle.headers,
                               body=raw if raw is not None else json.dumps(body))


def test_an_open_checkout_is_updated_and_its_total_computed_again(client, merchant, db):
    checkout = new_checkout(client, merchant, metadata={"cart": "v1", "old": "x"}, customer={"name": "홍길동"})
    before = db.get_checkout(checkout["id"]).version
    response = patch(client, merchant, checkout["id"], {
        "line_items": THREE_TEAS, "customer": {"email": "kim@example.com", "phone": "010-1111-2222"},
        "metadata": {"cart": "v2"}, "client_reference_id": "order-124"})
    assert response.status_code == 200, response.body
    updated = api_json(response)
    assert (updated["amount_subtotal"], updated["amount_total"], updated["status"]) == (60000, 60000, "open")
    assert [i["amount"] for i in updated["line_items"]] == [57000, 3000]
    assert updated["customer"] == {"email": "kim@example.com", "phone": "010-1111-2222"}
    assert updated["metadata"] == {"cart": "v2"} and updated["client_reference_id"] == "order-124"
    assert read(client, merchant, checkout["id"]) == updated
    assert db.get_checkout(checkout["id"]).version == before + 1
    page = client.http.get(f"/c/{checkout['id']}").body.decode()
    assert "₩60,000 결제하기" in page and 'value="kim@example.com"' in page


def test_null_clears_and_an_empty_body_changes_nothing(client, merchant):
    checkout = new_checkout(client, merchant, metadata={"a": "b"}, customer={"name": "홍길동"})
    cleared = api_json(patch(client, merchant, checkout["id"], {"metadata": None, "customer": None, "client_reference_id": None}))
    assert (cleared["metadata"], cleared["customer"], cleared["client_reference_id"]) == ({}, {}, None)
    same = patch(client, merchant, checkout["id"], {})
    assert same.status_code == 200 and api_json(same)["amount_total"] == 22000


def test_the_update_is_one_conditional_write_on_status_and_version(client, merchant, db, monkeypatch):
    checkout = new_checkout(client, merchant)
    writes = []
    real = db.client.update_item

    def spy(**kwargs):
        writes.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(db.client, "update_item", spy)
    monkeypatch.setattr(db.client, "transact_write_items", lambda **kw: pytest.fail("no transaction for an update"))
    assert patch(client, merchant, checkout["id"], {"metadata": {"x": "y"}}).status_code == 200
    [write] = writes
    names, values = write["ExpressionAttributeNames"], write["ExpressionAttributeValues"]
    clauses = write["ConditionExpression"].split(" AND ")
    resolved = {names[c.split(" = ")[0]]: values[c.split(" = ")[1]] for c in clauses}
    assert resolved == {"status": {"S": "open"}, "version": {"N": "0"}}


def test_the_discount_is_judged_again_on_the_new_lines(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, promotion_code="WELCOME10")
    assert checkout["amount_discount"] == 2200
    updated = api_json(patch(client, merchant, checkout["id"], {"line_items": THREE_TEAS}))
    assert (updated["amount_subtotal"], updated["amount_discount"], updated["amount_total"]) == (60000, 6000, 54000)
    assert updated["promotion_code"] == "WELCOME10"


def test_lines_the_applied_code_no_longer_fits_are_refused_and_nothing_changes(client, merchant):
    new_code(client, merchant, minimum_order_amount=20000, currency="KRW")
    checkout = new_checkout(client, merchant, promotion_code="WELCOME10")
    response = patch(client, merchant, checkout["id"], {"line_items": [{"name": "녹차", "unit_amount": 9000, "quantity": 1}]})
    assert response.status_code == 422
    assert api_json(response)["error"]["code"] == "promotion_code_minimum_not_met"
    assert api_json(response)["error"]["param"] == "promotion_code"
    assert read(client, merchant, checkout["id"])["amount_total"] == 19800
    # Taking the code off in the same request lets the new lines through.
    both = patch(client, merchant, checkout["id"], {"promotion_code": None,
                                                    "line_items": [{"name": "녹차", "unit_amount": 9000, "quantity": 1}]})
    assert both.status_code == 200
    assert (api_json(both)["amount_total"], api_json(both)["promotion_code"]) == (9000, None)


def test_a_code_is_applied_through_patch_with_the_same_checks(client, merchant):
    new_code(client, merchant, code="SHIPFREE", type="free_shipping", value=None)
    checkout = new_checkout(client, merchant, line_items=THREE_TEAS)
    applied = api_json(patch(client, merchant, checkout["id"], {"promotion_code": "shipfree"}))
    assert (applied["amount_discount"], applied["amount_total"], applied["promotion_code"]) == (3000, 57000, "SHIPFREE")
    missing = patch(client, merchant, checkout["id"], {"promotion_code": "NOSUCH"})
    assert missing.status_code == 422 and api_json(missing)["error"]["code"] == "promotion_code_not_found"


def to_processing(client, checkout_id: str) -> None:
    assert post_form(client, checkout_id, **GOOD_FORM).status_code == 303


@pytest.mark.parametrize("make", [
    ("processing", lambda client, merchant, c, timeline: to_processing(client, c["id"])),
    ("complete", lambda client, merchant, c, timeline: pay(client, c["id"])),
    ("cancelled", lambda client, merchant, c, timeline: client.http.post(f"/api/checkouts/{c['id']}/cancel", headers=merchant.headers)),
    ("expired", lambda client, merchant, c, timeline: timeline(1801)),
], ids=lambda m: m[0])
def test_any_status_but_open_is_409(client, merchant, monkeypatch, make):
    status, action = make
    checkout = new_checkout(client, merchant, expires_in=1800)
    start = clock.now_s()

    def timeline(seconds):
        monkeypatch.setattr(clock, "now_s", lambda: start + seconds)

    action(client, merchant, checkout, timeline)
    assert read(client, merchant, checkout["id"])["status"] == status
    response = patch(client, merchant, checkout["id"], {"metadata": {"late": "yes"}})
    assert response.status_code == 409
    assert api_json(response)["error"]["code"] == "checkout_state_conflict"
    assert read(client, merchant, checkout["id"])["metadata"] == {}


@pytest.mark.parametrize("body,status,param,code", [
    ({"currency": "USD"}, 400, "currency", "parameter_unknown"),
    ({"success_url": "https://shop.example/x"}, 400, "success_url", "parameter_unknown"),
    ({"amount_total": 1}, 400, "amount_total", "parameter_unknown"),
    ({"line_items": []}, 400, "line_items", "invalid_request"),
    ({"line_items": [{"name": "x", "unit_amount": -1, "quantity": 1}]}, 400, "line_items[0].unit_amount", "invalid_request"),
    ({"line_items": [{"name": "x", "unit_amount": 1, "quantity": 1000}]}, 400, "line_items[0].quantity", "invalid_request"),
    ({"line_items": [{"name": "x", "unit_amount": 1, "quantity": 1, "colour": "red"}]}, 400, "line_items[0].colour",
     "parameter_unknown"),
    ({"line_items": [{"name": "x", "unit_amount": 0, "quantity": 1}]}, 422, "line_items", "amount_too_small"),
    ({"customer": {"email": "not-an-email"}}, 400, "customer.email", "invalid_request"),
    ({"customer": "홍길동"}, 400, "customer", "invalid_request"),
    ({"metadata": {"k" * 41: "v"}}, 400, f"metadata[{'k' * 40}]", "invalid_request"),
    ({"client_reference_id": "x" * 201}, 400, "client_reference_id", "invalid_request"),
    ({"promotion_code": "a b"}, 400, "promotion_code", "invalid_request"),
])
def test_bad_input_is_refused_naming_the_field(client, merchant, body, status, param, code):
    checkout = new_checkout(client, merchant)
    response = patch(client, merchant, checkout["id"], body)
    assert response.status_code == status, response.body
    error = api_json(response)["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert read(client, merchant, checkout["id"])["amount_total"] == 22000


@pytest.mark.parametrize("raw,param", [("", "body"), ("{", "body"), ("[]", "body")])
def test_a_body_that_is_not_an_object_is_400(client, merchant, raw, param):
    checkout = new_checkout(client, merchant)
    response = patch(client, merchant, checkout["id"], None, raw=raw)
    assert response.status_code == 400 and api_json(response)["error"]["param"] == param


def test_another_merchants_checkout_is_not_found_and_a_key_is_needed(client, merchant, db, receiver):
    checkout = new_checkout(client, merchant)
    other = create_merchant(db, receiver.url)
    assert patch(client, other, checkout["id"], {"metadata": {}}).status_code == 404
    assert client.http.request("PATCH", f"/api/checkouts/{checkout['id']}", body="{}",
                               headers={"content-type": "application/json"}).status_code == 401
    assert patch(client, merchant, "chk_doesnotexist0000000000", {}).status_code == 404


@pytest.mark.ddb_local
def test_a_patch_racing_a_submit_never_changes_what_the_provider_was_asked(local_db, receiver, live_server):
    """Either the PATCH lands first and the provider is asked for the new total, or the submit
    does and the PATCH is 409; never a session for one amount on a checkout of another, and
    neither write is lost. Both orders happen here: some rounds give one side a head start of
    half a second after the barrier (so each order is seen for sure), the rest are a plain race."""
    merchant = create_merchant(local_db, receiver.url)
    site = MerchantSite()
    outcomes: list[int] = []
    head_starts = ["update", "submit", "update", "submit"] + [None] * 6
    try:
        for head_start in head_starts:
            checkout = create_over_http(live_server.url, merchant.api_key, site.url)
            token = csrf_token(requests.get(checkout["url"], timeout=10).text)
            barrier = threading.Barrier(2)

            def after_barrier(side: str) -> None:
                barrier.wait()
                if head_start is not None and head_start != side:
                    time.sleep(0.5)

            def submit():
                after_barrier("submit")
                return requests.post(checkout["url"], data={**GOOD_FORM, "csrf_token": token}, allow_redirects=False, timeout=30)

            def update():
                after_barrier("update")
                return requests.patch(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers,
                                      data=json.dumps({"line_items": THREE_TEAS, "metadata": {"cart": "v2"}}), timeout=30)

            with ThreadPoolExecutor(2) as pool:
                submitted, updated = pool.submit(submit), pool.submit(update)
                submitted, updated = submitted.result(), updated.result()
            assert submitted.status_code == 303 and updated.status_code in (200, 409), updated.text
            outcomes.append(updated.status_code)
            session_id = submitted.headers["location"].rsplit("/", 1)[1]
            asked = local_db.get(f"SANDBOX#{session_id}", "SANDBOX")["amount"]
            final = local_db.get_checkout(checkout["id"])
            # The submit's write is there whichever came first: processing, with its session.
            assert final.status == "processing" and final.attempt.provider_session_id == session_id
            assert asked == final.amount_total
            if updated.status_code == 200:
                # ...and so is the PATCH's, all of it.
                assert final.amount_total == 60000 and final.metadata == {"cart": "v2"}
                assert [i.quantity for i in final.line_items] == [3, 1]
            else:
                assert updated.json()["error"]["code"] == "checkout_state_conflict"
                assert final.amount_total == 22000 and final.metadata == {}
            if head_start == "update":
                assert updated.status_code == 200, "the PATCH went first"
            if head_start == "submit":
                assert updated.status_code == 409, "the submit went first"
    finally:
        site.close()
    assert set(outcomes) == {200, 409}, outcomes
