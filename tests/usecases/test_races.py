"""Races, on DynamoDB Local: concurrent submits and concurrent notifications."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib.adapters.providers import sandbox
from chalicelib.domain import clock
from tests.conftest import create_merchant
from tests.flow import GOOD_FORM, MerchantSite, create_checkout, csrf_token


@pytest.fixture
def site():
    s = MerchantSite()
    yield s
    s.close()


def sandbox_sessions(db, checkout_id):
    items = db.client.scan(TableName=db.table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("SANDBOX#") and i["checkout_id"]["S"] == checkout_id]


def test_ten_concurrent_submits_make_one_provider_session(local_db, receiver, live_server, site):
    merchant = create_merchant(local_db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    token = csrf_token(requests.get(checkout["url"], timeout=10).text)
    barrier = threading.Barrier(10)

    def submit(_):
        barrier.wait()
        return requests.post(checkout["url"], data={**GOOD_FORM, "csrf_token": token}, allow_redirects=False, timeout=30)

    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(submit, range(10)))
    assert [r.status_code for r in responses] == [303] * 10
    locations = {r.headers["location"] for r in responses}
    assert len(locations) == 1 and locations.pop().startswith(f"{live_server.url}/sandbox/sbx_")
    assert len(sandbox_sessions(local_db, checkout["id"])) == 1
    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert read["status"] == "processing"


def test_twenty_identical_notifications_make_one_transition_and_one_delivery(local_db, receiver, live_server, site):
    merchant = create_merchant(local_db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    shopper = requests.Session()
    token = csrf_token(shopper.get(checkout["url"], timeout=10).text)
    sandbox_url = shopper.post(checkout["url"], data={**GOOD_FORM, "csrf_token": token},
                               allow_redirects=False, timeout=10).headers["location"]
    session_id = sandbox_url.rsplit("/", 1)[1]
    # The provider's side: the session is paid (as the sandbox's Approve would), no notification yet.
    local_db.update(f"SANDBOX#{session_id}", "SANDBOX", {"status": "paid", "paid_at_s": clock.now_s()})
    before = local_db.get_checkout(checkout["id"])
    assert before.status == "processing"

    body = json.dumps({"type": "session.updated", "session_id": session_id, "checkout_id": checkout["id"]}).encode()
    headers = {"content-type": "application/json",
               sandbox.SIGNATURE_HEADER: sandbox.sign(merchant.id, body, clock.now_s())}
    barrier = threading.Barrier(20)

    def notify(_):
        barrier.wait()
        return requests.post(f"{live_server.url}/webhooks/sandbox/{merchant.id}", data=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(notify, range(20)))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.status_code != 200]

    after = local_db.get_checkout(checkout["id"])
    assert after.status == "complete" and after.version == before.version + 1
    events = local_db.query(f"CHECKOUT#{checkout['id']}", "EVENT#")
    assert [e["event_type"] for e in events] == ["checkout.completed"]
    assert [e["type"] for e in receiver.verified(merchant.webhook_secret)] == ["checkout.completed"]


@pytest.mark.parametrize("order", [("decline", "approve"), ("approve", "decline")])
def test_a_late_failure_never_overwrites_complete(local_db, receiver, live_server, site, order):
    """Two attempts: whatever order their outcomes arrive in, the paid one wins and stays."""
    merchant = create_merchant(local_db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    shopper = requests.Session()

    def attempt():
        token = csrf_token(shopper.get(checkout["url"], timeout=10).text)
        url = shopper.post(checkout["url"], data={**GOOD_FORM, "csrf_token": token}, allow_redirects=False,
                           timeout=10).headers["location"]
        return url.rsplit("/", 1)[1]

    first = attempt()
    # The shopper comes back through the cancel URL; a second attempt starts.
    local_db.update(f"SANDBOX#{first}", "SANDBOX", {"status": "cancelled"})
    shopper.get(f"{checkout['url']}/cancel", timeout=10)
    second = attempt()
    outcome = {"approve": "paid", "decline": "declined"}
    sessions = dict(zip(order, (first, second), strict=True))
    for action in order:
        local_db.update(f"SANDBOX#{sessions[action]}", "SANDBOX", {"status": outcome[action], "paid_at_s": clock.now_s()})
        body = json.dumps({"type": "session.updated", "session_id": sessions[action], "checkout_id": checkout["id"]}).encode()
        requests.post(f"{live_server.url}/webhooks/sandbox/{merchant.id}", data=body, timeout=10,
                      headers={sandbox.SIGNATURE_HEADER: sandbox.sign(merchant.id, body, clock.now_s())})
    final = local_db.get_checkout(checkout["id"])
    assert final.status == "complete"
    assert final.payment.provider_session_id == sessions["approve"]
    types = [e["type"] for e in receiver.verified(merchant.webhook_secret)]
    assert types.count("checkout.completed") == 1
