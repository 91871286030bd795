"""Fallback: when KoreaCheckout cannot take the session (timeout, 5xx, connection refused) the
merchant's fallback provider (the sandbox) does, and the checkout says so; when KoreaCheckout
refuses the request (4xx) nobody else is asked."""
from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests import flow
from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout, credentials
from tests.adapters.providers.harness import Reply, Request
from tests.conftest import create_merchant
from tools.dynamodb_local import free_port


def _merchant(db, receiver, kc_fake: FakeKoreaCheckout, **overrides: Any):
    return create_merchant(db, receiver.url, provider="koreacheckout", fallback_provider="sandbox",
                           credentials=credentials(kc_fake), **overrides)


def _read(app_url: str, merchant, checkout_id: str) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(f"{app_url}/api/checkouts/{checkout_id}", headers=merchant.headers, timeout=10).json()
    return result


def _sandbox_sessions(db) -> list[dict[str, Any]]:
    items = db.client.scan(TableName=db.table, FilterExpression="begins_with(pk, :p)",
                           ExpressionAttributeValues={":p": {"S": "SANDBOX#"}})["Items"]
    return items


@pytest.mark.parametrize("failure", ["stall", "500", "refused"])
def test_a_failing_primary_falls_back_to_the_sandbox(db, live_server, kc_fake, receiver, monkeypatch, failure):
    if failure == "refused":
        # Nothing listens on this port: the connection is refused. (Settings are read at the first request.)
        monkeypatch.setenv("KOREACHECKOUT_API_BASE", f"http://127.0.0.1:{free_port()}")
    else:
        kc_fake.faults = [failure]
    merchant = _merchant(db, receiver, kc_fake)
    checkout = flow.create_checkout(live_server.url, merchant.api_key, "https://shop.example")
    assert checkout["provider"] == "koreacheckout"

    with requests.Session() as browser:
        started = time.monotonic()
        submitted = flow.submit_form(browser, checkout["url"])
        elapsed = time.monotonic() - started
        assert submitted.status_code == 303, submitted.text[:300]
        assert elapsed < 14, f"the shopper waited {elapsed:.1f} s"
        location = submitted.headers["location"]
        assert location.startswith(f"{live_server.url}/sandbox/sbx_")
        read = _read(live_server.url, merchant, checkout["id"])
        assert read["provider"] == "sandbox" and read["status"] == "processing"
        assert kc_fake.creates == 0

        # The sandbox takes the payment through to the end, like any provider.
        approved = flow.sandbox_action(browser, location, "approve")
        assert approved.status_code == 303
        back = browser.get(approved.headers["location"], allow_redirects=False, timeout=20)
    assert back.status_code == 303 and back.headers["location"].startswith("https://shop.example/thanks")
    read = _read(live_server.url, merchant, checkout["id"])
    assert read["status"] == "complete" and read["provider"] == "sandbox"
    assert read["payment"]["provider_session_id"] == location.rsplit("/", 1)[1]
    assert [e["type"] for e in receiver.verified(merchant.webhook_secret)] == ["checkout.completed"]


class RefusingFake(FakeKoreaCheckout):
    """KoreaCheckout answering a validation error (its error shape, 400) to every create."""

    def handle(self, request: Request) -> Reply:
        if request.path == "/api/checkout/create-session":
            return Reply(400, {"error": {"code": "invalid_request", "message": "items[0].price is invalid",
                                         "details": {"field": "items[0].price"}}})
        return super().handle(request)


@pytest.mark.parametrize("refusal", ["wrong_key", "validation"])
def test_a_4xx_from_the_primary_does_not_fall_back(db, live_server, receiver, monkeypatch, refusal):
    kc_fake: FakeKoreaCheckout = RefusingFake() if refusal == "validation" else FakeKoreaCheckout(api_key="sk_test_other")
    monkeypatch.setenv("KOREACHECKOUT_API_BASE", kc_fake.url)
    try:
        merchant = create_merchant(db, receiver.url, provider="koreacheckout", fallback_provider="sandbox",
                                   credentials={"api_key": "sk_test_kc_merchant", "webhook_secret": kc_fake.webhook_secret}
                                   if refusal == "wrong_key" else credentials(kc_fake), locale="en")
        checkout = flow.create_checkout(live_server.url, merchant.api_key, "https://shop.example")
        with requests.Session() as browser:
            failed = flow.submit_form(browser, checkout["url"])
        assert failed.status_code == 502
        assert "The payment provider did not respond. Nothing was charged. Please try again." in failed.text
        read = _read(live_server.url, merchant, checkout["id"])
        assert read["status"] == "open" and read["provider"] == "koreacheckout"
        assert _sandbox_sessions(db) == []
        assert len([r for r in kc_fake.requests if r.path == "/api/checkout/create-session"]) == 1
        assert receiver.deliveries == []
    finally:
        kc_fake.close()


def test_without_a_fallback_a_failing_primary_is_a_502(db, live_server, kc_fake, receiver):
    merchant = create_merchant(db, receiver.url, provider="koreacheckout", credentials=credentials(kc_fake), locale="en")
    checkout = flow.create_checkout(live_server.url, merchant.api_key, "https://shop.example")
    kc_fake.faults = ["500"]
    with requests.Session() as browser:
        failed = flow.submit_form(browser, checkout["url"])
    assert failed.status_code == 502
    assert _read(live_server.url, merchant, checkout["id"])["status"] == "open"
    assert _sandbox_sessions(db) == []

