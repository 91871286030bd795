"""Provider faults at submit: the shopper gets the form back (502) quickly, nothing is charged
or created twice, the checkout stays open, and trying again works."""
from __future__ import annotations

import time

import pytest
import requests

from chalicelib.web import i18n
from tests import flow
from tests.adapters.providers.fake_koreacheckout import start_payment

CREATE_PATH = "/api/checkout/create-session"
SHOPPER_BUDGET_S = 14.0

# Each fault as the provider shows it to us. A 429 that persists: the shared client
# honours Retry-After and tries again, so only a third one in a row reaches the shopper.
FAULTS = {
    "500": ["500"],
    "429": ["429", "429", "429"],
    "stall": ["stall"],          # no answer for 15 s: our read timeout (10 s) gives up first
    "garbage": ["garbage"],      # 200 with an HTML body
}


def _timed_submit(browser: requests.Session, checkout_url: str) -> tuple[requests.Response, float]:
    token = flow.csrf_token(browser.get(checkout_url, timeout=10).text)
    started = time.monotonic()
    response = browser.post(checkout_url, data={**flow.GOOD_FORM, "csrf_token": token}, allow_redirects=False, timeout=30)
    return response, time.monotonic() - started


def _status(app_url: str, merchant, checkout_id: str) -> str:
    response = requests.get(f"{app_url}/api/checkouts/{checkout_id}", headers=merchant.headers, timeout=10)
    return str(response.json()["status"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_provider_fault_shows_the_form_again_and_a_retry_succeeds(db, live_server, kc_fake, kc_merchant, receiver, fault):
    checkout = flow.create_checkout(live_server.url, kc_merchant.api_key, "https://shop.example", locale="en")
    kc_fake.faults = list(FAULTS[fault])
    with requests.Session() as browser:
        failed, elapsed = _timed_submit(browser, checkout["url"])
        assert failed.status_code == 502
        assert elapsed < SHOPPER_BUDGET_S, f"the shopper waited {elapsed:.1f} s"
        assert "The payment provider did not respond. Nothing was charged. Please try again." in failed.text
        assert 'name="csrf_token"' in failed.text and "홍길동" in failed.text  # the form, with what was typed
        assert _status(live_server.url, kc_merchant, checkout["id"]) == "open"
        assert kc_fake.creates == 0

        retried, _ = _timed_submit(browser, checkout["url"])
    assert retried.status_code == 303
    session = kc_fake.session_for(checkout["id"])
    assert retried.headers["location"] == f"{kc_fake.url}/checkout/{session['sessionId']}"
    assert _status(live_server.url, kc_merchant, checkout["id"]) == "processing"
    # One session, made once: every create request the kc_fake saw is a fault we injected, or the one that worked.
    assert list(kc_fake.creates_by_attempt.values()) == [1]
    assert len([r for r in kc_fake.requests if r.path == CREATE_PATH]) == len(FAULTS[fault]) + 1
    assert receiver.deliveries == []


def test_the_fault_page_speaks_korean_to_a_korean_shopper(db, live_server, kc_fake, kc_merchant):
    checkout = flow.create_checkout(live_server.url, kc_merchant.api_key, "https://shop.example", locale="ko")
    kc_fake.faults = ["500"]
    with requests.Session() as browser:
        failed, _ = _timed_submit(browser, checkout["url"])
    assert failed.status_code == 502
    assert i18n.MESSAGES["ko"]["provider_error"] in failed.text
    assert i18n.MESSAGES["en"]["provider_error"] not in failed.text
    assert _status(live_server.url, kc_merchant, checkout["id"]) == "open"


def test_a_read_fault_on_return_keeps_the_checkout_and_sends_the_shopper_to_the_page(db, live_server, kc_fake, kc_merchant):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    kc_fake.faults = ["garbage"]  # a 2xx is not retried: its body is judged after
    back = requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=20)
    assert back.status_code == 303 and back.headers["location"] == checkout["url"]
    assert _status(live_server.url, kc_merchant, checkout["id"]) == "processing"
    again = requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=20)
    assert again.headers["location"].startswith("https://shop.example/thanks")
