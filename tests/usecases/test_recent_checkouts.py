"""The container's own copy of a checkout (``Store.recent_checkout``), on DynamoDB Local.

It spares a read only where that cannot decide anything wrongly: the submit locks on a
condition of the version it planned from, so a stale copy loses the condition and is
planned again from the item as it is; the return route trusts only a paid copy (nothing
makes a paid checkout unpaid). These tests make the copy stale on purpose."""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

import pytest

from chalicelib.adapters import store
from chalicelib.usecases import checkouts
from tests.conftest import api_json, checkout_body, create_merchant
from tests.flow import GOOD_FORM

pytestmark = pytest.mark.ddb_local
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _page_and_token(client, checkout_id: str) -> str:
    page = client.http.get(f"/c/{checkout_id}").body.decode()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_a_stale_open_copy_only_costs_the_lock_its_condition(local_db, client, receiver):
    handle = create_merchant(local_db, receiver.url)
    created = api_json(client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body())))
    token = _page_and_token(client, created["id"])
    assert local_db.recent_checkout(created["id"]).amount_total == 22000

    # Another container changes the checkout meanwhile: the merchant's PATCH.
    elsewhere = store.Store(local_db.client, local_db.table)
    checkouts.update(elsewhere, handle.merchant, created["id"],
                     {"line_items": [{"name": "선물 세트", "unit_amount": 35000, "quantity": 1}]}, "https://pay.example")
    assert local_db.recent_checkout(created["id"]).amount_total == 22000  # this container's copy is stale

    answer = client.http.post(f"/c/{created['id']}", headers=FORM, body=urlencode({**GOOD_FORM, "csrf_token": token}))
    assert answer.status_code == 303
    after = local_db.get_checkout(created["id"])
    assert (after.status, after.amount_total, after.version) == ("processing", 35000, 2)
    session = urlsplit(answer.headers["Location"]).path.rsplit("/", 1)[-1]
    assert local_db.get(f"SANDBOX#{session}", "SANDBOX")["amount"] == 35000  # charged what the checkout says now


def test_a_stale_open_copy_of_a_checkout_locked_elsewhere_sends_to_that_attempt(local_db, client, receiver):
    handle = create_merchant(local_db, receiver.url)
    created = api_json(client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body())))
    token = _page_and_token(client, created["id"])
    # The shopper's other tab, served by another container, paid already up to the provider page.
    from chalice.test import Client

    from app import app

    elsewhere = store.Store(local_db.client, local_db.table)
    store.set_store(elsewhere)
    with Client(app) as other:
        first = other.http.post(f"/c/{created['id']}", headers=FORM,
                                body=urlencode({**GOOD_FORM, "csrf_token": _page_and_token(other, created["id"])}))
    store.set_store(local_db)
    assert first.status_code == 303
    assert local_db.recent_checkout(created["id"]).status == "open"  # stale here

    second = client.http.post(f"/c/{created['id']}", headers=FORM, body=urlencode({**GOOD_FORM, "csrf_token": token}))
    assert second.status_code == 303 and second.headers["Location"] == first.headers["Location"]
    assert local_db.get_checkout(created["id"]).version == 1  # one lock, one attempt


def test_the_return_route_trusts_only_a_paid_copy(local_db, client, receiver):
    handle = create_merchant(local_db, receiver.url)
    created = api_json(client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body())))
    _page_and_token(client, created["id"])  # an open copy: the return route reads the table instead
    elsewhere = store.Store(local_db.client, local_db.table)
    checkouts.cancel(elsewhere, handle.merchant, created["id"], "https://pay.example")
    back = client.http.get(f"/c/{created['id']}/return")
    assert back.status_code == 303 and back.headers["Location"].endswith(f"/c/{created['id']}")  # not the success URL
    assert "취소" in client.http.get(f"/c/{created['id']}").body.decode()  # the page says cancelled
