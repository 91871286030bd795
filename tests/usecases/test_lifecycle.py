"""Time: webhook retries, the event log, expiry, late payments, payment links.

The scheduled functions are invoked through Chalice's test client with a
controlled clock (``chalicelib.domain.clock.now_s`` is the only clock the code reads).
"""
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib.adapters import webhooks
from chalicelib.domain import clock
from tests.conftest import api_json, checkout_body, create_merchant
from tests.flow import GOOD_FORM, csrf_token


class Clock:
    def __init__(self, monkeypatch):
        self.now = clock.now_s()
        monkeypatch.setattr(clock, "now_s", lambda: self.now)

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def timeline(monkeypatch):
    return Clock(monkeypatch)


def tick(client, function="deliver_webhooks"):
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke(function, event).payload


def create(client, merchant, **overrides):
    response = client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body(**overrides)))
    assert response.status_code == 201, response.body
    return api_json(response)


def submit(client, checkout_id):
    page = client.http.get(f"/c/{checkout_id}").body.decode()
    form = {**GOOD_FORM, "csrf_token": csrf_token(page)}
    from urllib.parse import urlencode

    response = client.http.post(f"/c/{checkout_id}", body=urlencode(form),
                                headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 303, response.body[:300]
    return response.headers["Location"].rsplit("/", 1)[1]


def pay(db, session_id, status="paid"):
    db.update(f"SANDBOX#{session_id}", "SANDBOX", {"status": status, "paid_at_s": clock.now_s()})


def complete(client, db, merchant, **overrides):
    checkout = create(client, merchant, **overrides)
    pay(db, submit(client, checkout["id"]))
    assert client.http.get(f"/c/{checkout['id']}/return").status_code == 303
    return checkout


def signature_ok(delivery, secret):
    """Checked with the standardwebhooks library's own signer (its verify() also checks the
    timestamp against the real clock, which this test moves by hours)."""
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    ts = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], ts, delivery["body"].decode())
    return expected == headers["webhook-signature"]


def delivered(receiver, secret):
    """The deliveries' bodies, each signature checked with the library's signer."""
    assert all(signature_ok(d, secret) for d in receiver.deliveries)
    return [json.loads(d["body"]) for d in receiver.deliveries]


def events_of(client, merchant, checkout_id):
    return api_json(client.http.get(f"/api/events?checkout_id={checkout_id}", headers=merchant.headers))["data"]


def test_an_endpoint_failing_three_times_gets_the_event_on_the_fourth_attempt(client, db, receiver, timeline):
    merchant = create_merchant(db, receiver.url)
    receiver.responses = [500, 503, 500]
    checkout = complete(client, db, merchant)
    assert len(receiver.deliveries) == 1
    for delay in webhooks.RETRY_DELAYS_S[:3]:
        tick(client)  # not due yet: nothing is sent early
        timeline.advance(int(delay * (1 + webhooks.JITTER)) + 1)
        tick(client)
    assert len(receiver.deliveries) == 4
    ids = {d["headers"]["webhook-id"] for d in receiver.deliveries}
    assert len(ids) == 1
    assert all(signature_ok(d, merchant.webhook_secret) for d in receiver.deliveries)
    assert len({d["headers"]["webhook-timestamp"] for d in receiver.deliveries}) == 4
    [event] = events_of(client, merchant, checkout["id"])
    assert (event["type"], event["delivery_status"], event["attempts"], event["last_response_code"]) == \
        ("checkout.completed", "succeeded", 4, 204)
    timeline.advance(10 * 86400)
    tick(client)
    assert len(receiver.deliveries) == 4


def test_an_endpoint_that_never_succeeds_ends_failed_after_the_schedule(client, db, receiver, timeline):
    merchant = create_merchant(db, receiver.url)
    receiver.responses = [500] * 50
    checkout = complete(client, db, merchant)
    started = timeline.now
    for _ in range(48):  # hourly ticks over two days (the real schedule ticks every minute)
        timeline.advance(3600)
        tick(client)
    [event] = events_of(client, merchant, checkout["id"])
    assert event["delivery_status"] == "failed" and event["next_attempt_at"] is None
    assert event["attempts"] == len(receiver.deliveries) == 1 + len(webhooks.RETRY_DELAYS_S)
    assert timeline.now - started >= 24 * 3600
    # A resend still works, with the same webhook-id, and is recorded.
    receiver.responses = []
    event_id = receiver.deliveries[0]["headers"]["webhook-id"]
    resent = client.http.post(f"/api/events/{event_id}/resend", headers=merchant.headers)
    assert resent.status_code == 200 and api_json(resent)["delivery_status"] == "succeeded"
    assert receiver.deliveries[-1]["headers"]["webhook-id"] == event_id
    assert signature_ok(receiver.deliveries[-1], merchant.webhook_secret)


def test_only_2xx_counts_as_delivered(client, db, receiver, timeline):
    merchant = create_merchant(db, receiver.url)
    receiver.responses = [302, 404]
    checkout = complete(client, db, merchant)
    timeline.advance(10)
    tick(client)
    [event] = events_of(client, merchant, checkout["id"])
    assert event["delivery_status"] == "pending" and event["last_response_code"] == 404


def test_resend_is_for_the_merchants_own_events(client, db, receiver):
    merchant = create_merchant(db, receiver.url)
    other = create_merchant(db, receiver.url)
    complete(client, db, merchant)
    event_id = receiver.deliveries[0]["headers"]["webhook-id"]
    assert client.http.post(f"/api/events/{event_id}/resend", headers=other.headers).status_code == 404
    assert client.http.post("/api/events/evt_nothing00000000000000/resend", headers=merchant.headers).status_code == 404
    assert client.http.get("/api/events", headers=merchant.headers).status_code == 400


def test_expiry_read_time_and_sweep_agree_and_the_sweep_emits_once(client, db, receiver, timeline):
    merchant = create_merchant(db, receiver.url)
    checkout = create(client, merchant, expires_in=1800)
    other = create(client, merchant, expires_in=7200)
    timeline.advance(1800)
    read = lambda cid: api_json(client.http.get(f"/api/checkouts/{cid}", headers=merchant.headers))["status"]  # noqa: E731
    assert read(checkout["id"]) == "expired" and read(other["id"]) == "open"
    assert db.get_checkout(checkout["id"]).status == "open"  # only the view so far
    tick(client, "expire_checkouts")
    tick(client, "expire_checkouts")
    assert db.get_checkout(checkout["id"]).status == "expired" and read(checkout["id"]) == "expired"
    assert db.get_checkout(other["id"]).status == "open"
    types = [e["type"] for e in delivered(receiver, merchant.webhook_secret)]
    assert types == ["checkout.expired"]
    assert [e["type"] for e in events_of(client, merchant, checkout["id"])] == ["checkout.expired"]
    record = db.get(f"CHECKOUT#{checkout['id']}", "CHECKOUT")
    assert record["ttl"] > timeline.now  # kept for a retention period, then removed by DynamoDB TTL


def test_a_payment_confirmed_after_expiry_completes_late_once(client, db, receiver, timeline):
    merchant = create_merchant(db, receiver.url)
    checkout = create(client, merchant, expires_in=1800)
    session_id = submit(client, checkout["id"])
    timeline.advance(1801)
    tick(client, "expire_checkouts")
    assert db.get_checkout(checkout["id"]).status == "expired"
    pay(db, session_id)
    from chalicelib.adapters.providers import sandbox

    body = json.dumps({"type": "session.updated", "session_id": session_id, "checkout_id": checkout["id"]}).encode()
    for _ in range(3):
        response = client.http.post(f"/webhooks/sandbox/{merchant.id}", body=body, headers={
            "content-type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(merchant.id, body, timeline.now)})
        assert response.status_code == 200
    final = api_json(client.http.get(f"/api/checkouts/{checkout['id']}", headers=merchant.headers))
    assert final["status"] == "complete" and final["late_payment"] is True
    types = [e["type"] for e in delivered(receiver, merchant.webhook_secret)]
    assert types == ["checkout.expired", "checkout.completed"]
    assert [e for e in delivered(receiver, merchant.webhook_secret) if e["type"] == "checkout.completed"][0]["data"]["late_payment"]


def test_a_payment_confirmed_after_merchant_cancel_completes_late(client, db, receiver):
    merchant = create_merchant(db, receiver.url)
    checkout = create(client, merchant)
    session_id = submit(client, checkout["id"])
    assert client.http.post(f"/api/checkouts/{checkout['id']}/cancel", headers=merchant.headers).status_code == 200
    pay(db, session_id)
    assert client.http.get(f"/c/{checkout['id']}/return").status_code == 303
    final = api_json(client.http.get(f"/api/checkouts/{checkout['id']}", headers=merchant.headers))
    assert final["status"] == "complete" and final["late_payment"] is True
    assert [e["type"] for e in receiver.verified(merchant.webhook_secret)] == ["checkout.cancelled", "checkout.completed"]


def test_payment_failed_reopens_and_is_told(client, db, receiver):
    merchant = create_merchant(db, receiver.url)
    checkout = create(client, merchant)
    pay(db, submit(client, checkout["id"]), status="declined")
    client.http.get(f"/c/{checkout['id']}/return")
    assert api_json(client.http.get(f"/api/checkouts/{checkout['id']}", headers=merchant.headers))["status"] == "open"
    assert [e["type"] for e in receiver.verified(merchant.webhook_secret)] == ["checkout.payment_failed"]


# --- payment links ------------------------------------------------------------------

def link_body(**overrides):
    body = checkout_body()
    body.pop("client_reference_id")
    body.update(overrides)
    return body


def test_each_visit_to_a_payment_link_makes_a_fresh_checkout(client, db, receiver):
    merchant = create_merchant(db, receiver.url)
    created = client.http.post("/api/payment-links", headers=merchant.headers, body=json.dumps(link_body()))
    assert created.status_code == 201
    link = api_json(created)
    assert link["id"].startswith("plink_") and link["active"] is True and link["url"].endswith(f"/l/{link['id']}")
    first = client.http.get(f"/l/{link['id']}")
    second = client.http.get(f"/l/{link['id']}")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] != second.headers["Location"]
    for visit in (first, second):
        path = urlsplit(visit.headers["Location"])
        checkout_id = path.path.rsplit("/", 1)[1]
        # A visit writes nothing: the checkout is the shopper's, drawn from the link, written on their first POST.
        assert client.http.get(f"/api/checkouts/{checkout_id}", headers=merchant.headers).status_code == 404
        page = client.http.get(f"{path.path}?{path.query}")
        assert page.status_code == 200 and "₩22,000" in page.body.decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.body.decode()).group(1)
        action = re.search(r'<form class="card pay-form" method="post" action="([^"]+)"', page.body.decode()).group(1)
        target = urlsplit(action.replace("&amp;", "&"))
        paid = client.http.post(f"{target.path}?{target.query}", headers={"content-type": "application/x-www-form-urlencoded"},
                                body=urlencode({**GOOD_FORM, "csrf_token": token}))
        assert paid.status_code == 303, paid.body[:300]
        read = api_json(client.http.get(f"/api/checkouts/{checkout_id}", headers=merchant.headers))
        assert read["status"] == "processing" and read["amount_total"] == 22000


def test_a_deactivated_link_shows_a_friendly_page_and_creates_nothing(client, db):
    merchant = create_merchant(db)
    link = api_json(client.http.post("/api/payment-links", headers=merchant.headers, body=json.dumps(link_body())))
    off = client.http.post(f"/api/payment-links/{link['id']}", headers=merchant.headers, body=json.dumps({"active": False}))
    assert off.status_code == 200 and api_json(off)["active"] is False
    visit = client.http.get(f"/l/{link['id']}")
    assert visit.status_code == 410
    assert "text/html" in visit.headers["Content-Type"] and "결제 링크" in visit.body.decode()
    assert api_json(client.http.get("/api/checkouts", headers=merchant.headers))["data"] == []
    assert client.http.get("/l/plink_nosuchlink000000000000").status_code == 404


@pytest.mark.parametrize("body,param", [
    ({"active": "no"}, "active"), ({"name": "x"}, "name"),
])
def test_payment_link_updates_are_validated(client, db, body, param):
    merchant = create_merchant(db)
    link = api_json(client.http.post("/api/payment-links", headers=merchant.headers, body=json.dumps(link_body())))
    response = client.http.post(f"/api/payment-links/{link['id']}", headers=merchant.headers, body=json.dumps(body))
    assert response.status_code == 400 and api_json(response)["error"]["param"] == param


def test_payment_links_are_validated_like_checkouts(client, db):
    merchant = create_merchant(db)
    bad = client.http.post("/api/payment-links", headers=merchant.headers,
                           body=json.dumps(link_body(success_url="https://evil.example/")))
    assert bad.status_code == 422 and api_json(bad)["error"]["param"] == "success_url"
