"""Counting promotion-code uses under concurrency, on DynamoDB Local (AWS's engine; moto does not
make a conditional write atomic across threads): a use is reserved in the submit's lock
transaction, becomes a redemption in the completion's, and is given back when the attempt ends
otherwise. A code with usage_limit N is redeemed at most N times however many shoppers race."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from chalicelib.adapters.providers import sandbox
from chalicelib.domain import clock
from tests.conftest import create_merchant
from tests.flow import GOOD_FORM, MerchantSite, create_checkout, csrf_token, sandbox_action

pytestmark = pytest.mark.ddb_local


@pytest.fixture
def site():
    s = MerchantSite()
    yield s
    s.close()


def new_code(base: str, merchant, **fields) -> dict:
    body = {"code": "TEN", "type": "percentage", "value": 10, **fields}
    response = requests.post(f"{base}/api/promotion-codes", data=json.dumps(body), headers=merchant.headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def code_view(base: str, merchant, code: str) -> dict:
    return requests.get(f"{base}/api/promotion-codes/{code}", headers=merchant.headers, timeout=10).json()


def read(base: str, merchant, checkout_id: str) -> dict:
    return requests.get(f"{base}/api/checkouts/{checkout_id}", headers=merchant.headers, timeout=10).json()


def race(n: int, action):
    """Run ``action(i)`` for i in range(n), all released at once."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def submitter(checkouts: list[dict], emails: list[str]):
    """Each shopper's page is loaded first; then all of them press Pay together."""
    tokens = [csrf_token(requests.get(c["url"], timeout=10).text) for c in checkouts]

    def submit(i):
        form = {**GOOD_FORM, "email": emails[i], "csrf_token": tokens[i]}
        return requests.post(checkouts[i]["url"], data=form, allow_redirects=False, timeout=60)

    return submit


def test_thirty_shoppers_racing_for_ten_uses_get_exactly_ten(local_db, receiver, live_server, site):
    base = live_server.url
    merchant = create_merchant(local_db, receiver.url)
    new_code(base, merchant, usage_limit=10)
    checkouts = [create_checkout(base, merchant.api_key, site.url, promotion_code="ten") for _ in range(30)]
    assert all(c["amount_total"] == 19800 for c in checkouts)
    emails = [f"shopper{i}@example.com" for i in range(30)]

    # 1. Thirty submits at once: ten reserve a use and go to the provider, twenty are told it ran out.
    submitted = race(30, submitter(checkouts, emails))
    winners = [i for i, r in enumerate(submitted) if r.status_code == 303]
    losers = [i for i, r in enumerate(submitted) if r.status_code != 303]
    assert len(winners) == 10, [r.status_code for r in submitted]
    assert all(submitted[i].status_code == 422 and "사용 가능 횟수가 모두 소진된 할인 코드입니다." in submitted[i].text
               for i in losers)
    assert (code_view(base, merchant, "TEN")["reserved"], code_view(base, merchant, "TEN")["times_redeemed"]) == (10, 0)

    # 2. At the provider, three decline and seven pay, all at once: seven redemptions, three uses back.
    decliners = set(winners[:3])
    race(10, lambda k: sandbox_action(requests.Session(), submitted[winners[k]].headers["location"],
                                      "decline" if winners[k] in decliners else "approve"))
    view = code_view(base, merchant, "TEN")
    assert (view["times_redeemed"], view["reserved"]) == (7, 0)

    # 3. Everyone not yet paid tries again at once: exactly the three uses given back are taken.
    again = [i for i in range(30) if i not in winners or i in decliners]
    second = race(len(again), lambda k: submitter([checkouts[again[k]]], [emails[again[k]]])(0))
    second_winners = [again[k] for k, r in enumerate(second) if r.status_code == 303]
    assert len(second_winners) == 3, [r.status_code for r in second]
    race(3, lambda k: sandbox_action(requests.Session(), second[again.index(second_winners[k])].headers["location"],
                                     "approve"))

    view = code_view(base, merchant, "TEN")
    assert (view["times_redeemed"], view["reserved"]) == (10, 0)
    states = [read(base, merchant, c["id"]) for c in checkouts]
    paid = [s for s in states if s["status"] == "complete"]
    assert len(paid) == 10
    assert all(s["payment"]["amount"] == 19800 and s["promotion_code"] == "TEN" for s in paid)
    assert sorted(s["status"] for s in states if s["status"] != "complete") == ["open"] * 20
    item = local_db.get(f"PROMO#{merchant.id}#TEN", "PROMO")
    assert (item["claimed"], item["redeemed"]) == (10, 10)
    completed = [d for d in receiver.verified(merchant.webhook_secret) if d["type"] == "checkout.completed"]
    assert len(completed) == 10 and all(d["data"]["amount_discount"] == 2200 for d in completed)


def test_one_customer_racing_themselves_gets_their_limit_and_no_more(local_db, receiver, live_server, site):
    base = live_server.url
    merchant = create_merchant(local_db, receiver.url)
    new_code(base, merchant, code="TWICE", usage_limit_per_customer=2)
    checkouts = [create_checkout(base, merchant.api_key, site.url, promotion_code="TWICE") for _ in range(13)]
    emails = ["same@example.com"] * 6 + ["SAME@Example.com "] * 6 + ["other@example.com"]

    submitted = race(13, submitter(checkouts, [e.strip() for e in emails]))
    won = [i for i, r in enumerate(submitted) if r.status_code == 303]
    assert 12 in won, "another customer is not held back"
    assert len([i for i in won if i < 12]) == 2, [r.status_code for r in submitted]
    assert all("이 할인 코드를 사용할 수 있는 횟수를 이미 모두 사용하셨습니다." in submitted[i].text
               for i in range(12) if i not in won)
    race(len(won), lambda k: sandbox_action(requests.Session(), submitted[won[k]].headers["location"], "approve"))
    assert code_view(base, merchant, "TWICE")["times_redeemed"] == 3
    customers = local_db.query(f"PROMO#{merchant.id}#TWICE", "CUSTOMER#")
    assert sorted((c["claimed"], c["redeemed"]) for c in customers) == [(1, 1), (2, 2)]
    assert all("example.com" not in json.dumps(c) for c in customers), "emails are kept only as hashes"


def test_late_payments_after_their_uses_were_given_back_are_counted_within_the_limit(
    local_db, receiver, live_server, site, monkeypatch
):
    """Thirty shoppers paid at the provider after their checkouts expired (their reserved uses
    were given back then) and the code's limit is now 10: all thirty complete — money moved —
    but only ten count as redemptions; the other twenty are flagged, never over the limit."""
    from chalicelib.usecases import expiry

    base = live_server.url
    merchant = create_merchant(local_db, receiver.url)
    new_code(base, merchant, code="LATE", usage_limit=1000)
    checkouts = [create_checkout(base, merchant.api_key, site.url, promotion_code="LATE", expires_in=1800)
                 for _ in range(30)]
    sessions = []
    for c in checkouts:
        with requests.Session() as shopper:
            token = csrf_token(shopper.get(c["url"], timeout=10).text)
            location = shopper.post(c["url"], data={**GOOD_FORM, "csrf_token": token}, allow_redirects=False,
                                    timeout=20).headers["location"]
        sessions.append(location.rsplit("/", 1)[1])
    later = clock.now_s() + 1801
    monkeypatch.setattr(clock, "now_s", lambda: later)
    assert expiry.expire_due(local_db, later) == 30
    assert code_view(base, merchant, "LATE")["reserved"] == 0
    local_db.update(f"PROMO#{merchant.id}#LATE", "PROMO", {"usage_limit": 10})  # as if the code had only 10 uses
    for session_id in sessions:
        local_db.update(f"SANDBOX#{session_id}", "SANDBOX", {"status": "paid", "paid_at_s": clock.now_s()})

    def notify(i):
        body = json.dumps({"type": "session.updated", "session_id": sessions[i], "checkout_id": checkouts[i]["id"]}).encode()
        return requests.post(f"{base}/webhooks/sandbox/{merchant.id}", data=body, timeout=60,
                             headers={sandbox.SIGNATURE_HEADER: sandbox.sign(merchant.id, body, clock.now_s())})

    answers = race(30, notify)
    assert [a.status_code for a in answers] == [200] * 30, [a.text for a in answers if a.status_code != 200]
    states = [read(base, merchant, c["id"]) for c in checkouts]
    assert [s["status"] for s in states] == ["complete"] * 30
    assert all(s["late_payment"] and s["payment"]["amount"] == 19800 for s in states)
    assert sum(1 for s in states if s.get("promotion_over_limit")) == 20
    item = local_db.get(f"PROMO#{merchant.id}#LATE", "PROMO")
    assert (item["claimed"], item["redeemed"]) == (10, 10)
