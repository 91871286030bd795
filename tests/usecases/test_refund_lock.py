"""One refund at a time: a refund takes the checkout's refund lock (a conditional write
recording the pending refund) before the provider is called, so a concurrent refund is 409
without reaching the provider; a refund whose provider call got no answer stays pending,
is never sent again, and is settled by reconciliation (``refunds.settle_pending``).

Races run on DynamoDB Local (moto does not make a conditional write atomic across threads).
The lock leaves the status as it is, so only the ``version`` clause of the store's
conditional write makes it exclusive: with that clause removed from ``Store.apply`` the
three race tests here fail (two or more refunds reach the provider) — the mutation the
review found no behavioural test would catch.
"""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from chalicelib.adapters.providers import http
from chalicelib.domain import clock
from chalicelib.usecases import refunds
from tests.adapters.providers.fake_koreacheckout import complete_payment, credentials
from tests.conftest import create_merchant
from tests.flow import at_once

pytestmark = pytest.mark.ddb_local


def refund(app_url: str, merchant: Any, checkout_id: str, body: Any = None) -> requests.Response:
    data = json.dumps(body).encode() if body is not None else b""
    return requests.post(f"{app_url}/api/checkouts/{checkout_id}/refunds", headers=merchant.headers, data=data, timeout=30)


def refund_calls(fake: Any, session_id: str) -> list[Any]:
    with fake.lock:
        return [r for r in fake.requests if r.method == "POST" and r.path == f"/api/checkout/session/{session_id}/refund"]


def made_then_silent(fake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider makes the next refund and its answer never arrives (our read times out)."""
    monkeypatch.setattr(http, "READ_TIMEOUT_S", 1.0)
    real = fake.handle
    silent = [True]

    def handle(request: Any) -> Any:
        reply = real(request)
        if request.path.endswith("/refund") and silent and silent.pop():
            time.sleep(2.0)
        return reply

    monkeypatch.setattr(fake, "handle", handle)


@pytest.fixture
def paid(local_db, live_server, kc_fake, receiver):
    merchant = create_merchant(local_db, receiver.url, provider="koreacheckout", credentials=credentials(kc_fake))
    checkout = complete_payment(live_server.url, kc_fake, merchant.id, merchant.api_key)
    session_id = kc_fake.session_for(checkout["id"])["sessionId"]
    return merchant, checkout["id"], session_id


@pytest.mark.parametrize("bodies", [(None, None), ({"amount": 22000}, {"amount": 5000})], ids=["full+full", "full+partial"])
def test_two_refunds_at_once_reach_the_provider_once(local_db, live_server, kc_fake, receiver, paid, bodies):
    merchant, checkout_id, session_id = paid
    answers = at_once(2, lambda i: refund(live_server.url, merchant, checkout_id, bodies[i]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["error"]["code"] in ("refund_in_progress", "checkout_state_conflict")
    assert len(refund_calls(kc_fake, session_id)) == 1
    winner = next(a for a in answers if a.status_code == 201).json()
    final = local_db.get_checkout(checkout_id)
    assert final.amount_refunded == winner["amount"] and final.refund_pending is None
    events = [e["type"] for e in receiver.verified(merchant.webhook_secret)]
    assert events == ["checkout.completed", "checkout.refunded"]


def test_ten_refunds_at_once_make_one_provider_request(local_db, live_server, kc_fake, receiver, paid):
    merchant, checkout_id, session_id = paid
    answers = at_once(10, lambda _: refund(live_server.url, merchant, checkout_id, {"amount": 1000}))
    statuses = sorted(a.status_code for a in answers)
    # Each refund is judged on the checkout as it is; one holds the lock at a time, the rest are 409.
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, [a.text for a in answers]
    assert len(refund_calls(kc_fake, session_id)) == statuses.count(201)
    assert local_db.get_checkout(checkout_id).amount_refunded == 1000 * statuses.count(201)


def test_a_refund_without_an_answer_stays_pending_and_a_retry_never_reaches_the_provider(
        local_db, live_server, kc_fake, receiver, paid, monkeypatch):
    merchant, checkout_id, session_id = paid
    made_then_silent(kc_fake, monkeypatch)
    first = refund(live_server.url, merchant, checkout_id, {"amount": 5000})
    assert first.status_code == 502 and first.json()["error"]["code"] == "provider_error"
    pending = local_db.get_checkout(checkout_id).refund_pending
    assert pending is not None and pending["amount"] == 5000
    # The merchant retries, with the same amount or another one: 409, the provider is not asked again.
    for body in ({"amount": 5000}, {"amount": 7000}, None):
        again = refund(live_server.url, merchant, checkout_id, body)
        assert again.status_code == 409 and again.json()["error"]["code"] == "refund_in_progress", again.text
    assert len(refund_calls(kc_fake, session_id)) == 1

    # Reconciliation reads it back (KoreaCheckout: the session's status) and records it once.
    assert refunds.settle_pending(local_db, clock.now_s(), 50) == {"checked": 0, "recorded": 0, "cleared": 0,
                                                                   "unchanged": 0, "errors": 0}, "too young to judge"
    later = clock.now_s() + refunds.PENDING_GRACE_S + 1
    counts = refunds.settle_pending(local_db, later, 50)
    assert counts == {"checked": 1, "recorded": 1, "cleared": 0, "unchanged": 0, "errors": 0}
    final = local_db.get_checkout(checkout_id)
    assert (final.status, final.amount_refunded, final.refund_pending) == ("partially_refunded", 5000, None)
    assert refunds.settle_pending(local_db, later, 50)["checked"] == 0
    assert len(refund_calls(kc_fake, session_id)) == 1
    assert [e["type"] for e in receiver.verified(merchant.webhook_secret)] == ["checkout.completed", "checkout.refunded"]
    # The lock is free again: the next refund goes through.
    assert refund(live_server.url, merchant, checkout_id, {"amount": 1000}).status_code == 201


def test_a_pending_refund_the_provider_never_made_is_cleared(local_db, live_server, kc_fake, receiver, paid):
    merchant, checkout_id, session_id = paid
    kc_fake.faults = ["500"]
    assert refund(live_server.url, merchant, checkout_id, {"amount": 5000}).status_code == 502
    assert local_db.get_checkout(checkout_id).refund_pending is not None
    counts = refunds.settle_pending(local_db, clock.now_s() + refunds.PENDING_GRACE_S + 1, 50)
    assert counts == {"checked": 1, "recorded": 0, "cleared": 1, "unchanged": 0, "errors": 0}
    final = local_db.get_checkout(checkout_id)
    assert (final.status, final.amount_refunded, final.refund_pending) == ("complete", 0, None)
    assert refund(live_server.url, merchant, checkout_id, {"amount": 5000}).status_code == 201
    assert len(refund_calls(kc_fake, session_id)) == 2


def test_the_reconciliation_run_settles_a_pending_refund(local_db, live_server, kc_fake, receiver, paid, monkeypatch):
    """The refund pass is one of reconciliation's passes: ``reconcile.run`` (the schedule, ``admin reconcile``)."""
    from chalicelib.usecases import reconcile

    merchant, checkout_id, session_id = paid
    made_then_silent(kc_fake, monkeypatch)
    assert refund(live_server.url, merchant, checkout_id, {"amount": 3000}).status_code == 502
    later = clock.now_s() + refunds.PENDING_GRACE_S + 1
    counts = reconcile.run(local_db, later)
    assert counts["completed"] == 1 and counts["errors"] == 0, counts
    final = local_db.get_checkout(checkout_id)
    assert (final.amount_refunded, final.refund_pending) == (3000, None)
    assert len(refund_calls(kc_fake, session_id)) == 1
    assert reconcile.run(local_db, later)["checked"] == 0


def test_a_clink_refund_without_an_answer_is_read_back_by_reconciliation(local_db, live_server, receiver, monkeypatch):
    """Clink has a refund read (``GET /api/refund/{id}``): reconciliation asks it about our refund id
    (Clink's ``refundMerchantOrderId``) and records the refund once; it is never sent again."""
    from chalicelib import config as checkout_config
    from chalicelib.usecases import reconcile
    from tests.adapters.providers import test_clink_flow as clink_flow
    from tests.adapters.providers.fake_clink import FakeClink

    fake = FakeClink(clink_flow.KEY, clink_flow.SIGNING_SECRET)
    monkeypatch.setenv("CLINK_API_BASE", fake.url)
    checkout_config.settings.cache_clear()
    try:
        merchant = create_merchant(local_db, receiver.url, provider="clink",
                                   credentials={"api_key": clink_flow.KEY, "webhook_secret": clink_flow.SIGNING_SECRET})
        checkout, _ = clink_flow.completed(live_server, merchant, fake)
        # Clink makes the refund but no answer ever comes back: our client repeats the request
        # (safe: the same refundMerchantOrderId) until it gives up.
        monkeypatch.setattr(http, "READ_TIMEOUT_S", 1.0)
        real = fake.handle

        def silent(request: Any) -> Any:
            reply = real(request)
            if request.method == "POST" and request.path == "/api/refund":
                time.sleep(1.5)
            return reply

        monkeypatch.setattr(fake, "handle", silent)
        assert refund(live_server.url, merchant, checkout["id"], {"amount": 1000}).status_code == 502
        assert refund(live_server.url, merchant, checkout["id"], {"amount": 1000}).status_code == 409
        assert len(fake.refunds) == 1

        later = clock.now_s() + refunds.PENDING_GRACE_S + 1
        counts = reconcile.run(local_db, later)

        assert counts["completed"] == 1 and counts["errors"] == 0, counts
        final = local_db.get_checkout(checkout["id"])
        assert (final.status, final.amount_refunded, final.refund_pending) == ("partially_refunded", 1000, None)
        assert {r["refundMerchantOrderId"] for r in fake.refund_requests} == set(fake.refunds), "one id, however often sent"
        events = [e["event_type"] for e in local_db.query(f"CHECKOUT#{checkout['id']}", "EVENT#")]
        assert sorted(events) == ["checkout.completed", "checkout.refunded"]
        assert reconcile.run(local_db, later)["checked"] == 0
    finally:
        fake.close()
        checkout_config.settings.cache_clear()
