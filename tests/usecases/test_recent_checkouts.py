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


# --- the provider notification, planned from the container's copy --------------------------
# The notification's settle starts from the copy too: the change it plans is written on a
# condition of the copy's version (and, unless the checkout waits on that very session, of
# the notification's digest not being recorded), and anything else is decided only after a
# read. Here the copy is made stale on purpose by "another container" (a second Store).

def _kc_checkout(local_db, client, receiver, kc_fake, submit: bool = True):
    from tests.adapters.providers.fake_koreacheckout import credentials

    handle = create_merchant(local_db, receiver.url, provider="koreacheckout", credentials=credentials(kc_fake))
    created = api_json(client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body())))
    token = _page_and_token(client, created["id"])
    if not submit:
        return handle, created["id"], None
    answer = client.http.post(f"/c/{created['id']}", headers=FORM, body=urlencode({**GOOD_FORM, "csrf_token": token}))
    assert answer.status_code == 303
    return handle, created["id"], kc_fake.session_for(created["id"])["sessionId"]


def _elsewhere(local_db):
    """Another container: its own Store (its own copies) and its own test client."""
    from chalice.test import Client

    from app import app

    class Elsewhere:
        def __init__(self) -> None:
            self.store = store.Store(local_db.client, local_db.table)

        def request(self, method: str, path: str, **kwargs):
            store.set_store(self.store)
            try:
                with Client(app) as other:
                    return getattr(other.http, method)(path, **kwargs)
            finally:
                store.set_store(local_db)

    return Elsewhere()


def _notify(client, handle, note):
    body, headers = note
    return client.http.post(f"/webhooks/koreacheckout/{handle.id}", body=body, headers=headers)


def test_a_notification_accepted_by_another_container_is_refused_here_from_a_stale_copy(local_db, client, receiver, kc_fake):
    handle, checkout_id, session = _kc_checkout(local_db, client, receiver, kc_fake)
    kc_fake.pay(session)
    note = kc_fake.notification("payment.completed", session)
    other = _elsewhere(local_db)
    accepted = other.request("post", f"/webhooks/koreacheckout/{handle.id}", body=note[0], headers=note[1])
    assert accepted.status_code == 200 and json.loads(accepted.body)["status"] == "complete"
    paid = other.store.get_checkout(checkout_id)
    assert local_db.recent_checkout(checkout_id).status == "processing"  # this container's copy is stale

    replay = _notify(client, handle, note)
    assert replay.status_code == 400 and json.loads(replay.body)["error"]["code"] == "notification_rejected"
    after = local_db.get_checkout(checkout_id)
    assert (after.status, after.version) == ("complete", paid.version)
    assert [e["type"] for e in receiver.verified(handle.webhook_secret)] == ["checkout.completed"]
    # Refused for good now: the copy knows the digest, so the next replay costs nothing at all.
    reads = len(kc_fake.requests)
    assert _notify(client, handle, note).status_code == 400 and len(kc_fake.requests) == reads


def test_a_payment_on_a_checkout_cancelled_by_another_container_completes_flagged(local_db, client, receiver, kc_fake):
    handle, checkout_id, session = _kc_checkout(local_db, client, receiver, kc_fake)
    other = _elsewhere(local_db)
    # Elsewhere: the shopper comes back through the cancel URL, then the merchant cancels.
    assert other.request("get", f"/c/{checkout_id}/cancel").status_code == 303
    checkouts.cancel(other.store, handle.merchant, checkout_id, "https://pay.example")
    assert local_db.recent_checkout(checkout_id).status == "processing"  # stale here
    kc_fake.pay(session)  # the shopper paid on the provider's page after all

    answer = _notify(client, handle, kc_fake.notification("payment.completed", session))
    assert answer.status_code == 200 and json.loads(answer.body)["status"] == "complete"
    after = local_db.get_checkout(checkout_id)
    assert (after.status, after.late_payment, after.payment.provider_session_id) == ("complete", True, session)
    assert [e["type"] for e in receiver.verified(handle.webhook_secret)] == ["checkout.cancelled", "checkout.completed"]


def test_a_payment_after_a_patch_and_a_lock_elsewhere_is_judged_by_the_item_not_the_copy(local_db, client, receiver, kc_fake):
    handle, checkout_id, _ = _kc_checkout(local_db, client, receiver, kc_fake, submit=False)
    assert local_db.recent_checkout(checkout_id).amount_total == 22000  # the page's copy, open
    other = _elsewhere(local_db)
    checkouts.update(other.store, handle.merchant, checkout_id,
                     {"line_items": [{"name": "선물 세트", "unit_amount": 35000, "quantity": 1}]}, "https://pay.example")
    page = other.request("get", f"/c/{checkout_id}").body.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    locked = other.request("post", f"/c/{checkout_id}", headers=FORM, body=urlencode({**GOOD_FORM, "csrf_token": token}))
    assert locked.status_code == 303
    session = kc_fake.session_for(checkout_id)["sessionId"]
    kc_fake.pay(session)  # 35,000: what the session asked for, not the copy's 22,000

    answer = _notify(client, handle, kc_fake.notification("payment.completed", session))
    assert answer.status_code == 200 and json.loads(answer.body)["status"] == "complete"
    after = local_db.get_checkout(checkout_id)
    assert (after.status, after.amount_mismatch, after.payment.amount) == ("complete", None, 35000)
    assert [e["type"] for e in receiver.verified(handle.webhook_secret)] == ["checkout.completed"]


def test_the_settle_itself_refuses_a_digest_recorded_meanwhile(local_db, client, receiver, kc_fake):
    """A digest recorded by another container without a change (its ``add_notification``)
    moves no version: only the write's own condition on the digest refuses the replay."""
    from chalicelib.adapters.providers.koreacheckout import notification_digest

    handle, checkout_id, session = _kc_checkout(local_db, client, receiver, kc_fake)
    checkouts.cancel(local_db, handle.merchant, checkout_id, "https://pay.example")  # the copy here: cancelled
    kc_fake.pay(session)
    note = kc_fake.notification("payment.completed", session)
    before = local_db.get_checkout(checkout_id)
    assert store.Store(local_db.client, local_db.table).add_notification(checkout_id, notification_digest(handle.id, note[0]))
    assert local_db.recent_checkout_and_notifications(checkout_id)[1] == frozenset()  # not known here

    replay = _notify(client, handle, note)
    assert replay.status_code == 400 and json.loads(replay.body)["error"]["code"] == "notification_rejected"
    after = local_db.get_checkout(checkout_id)
    assert (after.status, after.version) == ("cancelled", before.version)
    assert [e["type"] for e in receiver.verified(handle.webhook_secret)] == ["checkout.cancelled"]
