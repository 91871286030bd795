"""KoreaCheckout end to end: our app over real HTTP against a kc_fake that enforces the documented API."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import requests

from chalicelib.adapters import providers
from chalicelib.adapters.providers import base
from chalicelib.adapters.providers import koreacheckout as kc
from chalicelib.config import PROJECT_DIR
from chalicelib.usecases import merchants
from tests import flow
from tests.adapters.providers.fake_koreacheckout import (
    API_KEY,
    WEBHOOK_SECRET,
    FakeKoreaCheckout,
    credentials,
    notify,
    start_payment,
)
from tests.conftest import create_merchant


def api_get(app_url: str, merchant: Any, checkout_id: str) -> dict[str, Any]:
    response = requests.get(f"{app_url}/api/checkouts/{checkout_id}", headers=merchant.headers, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- 1. the whole flow -------------------------------------------------------------

def test_a_shopper_pays_at_koreacheckout_and_the_merchant_is_told_once(db, live_server, kc_fake, kc_merchant, receiver):
    app = live_server.url
    checkout = flow.create_checkout(app, kc_merchant.api_key, "https://shop.example")
    assert checkout["provider"] == "koreacheckout" and checkout["status"] == "open"

    with requests.Session() as browser:
        page = browser.get(checkout["url"], timeout=10)
        token = flow.csrf_token(page.text)
        form_action = next(d for d in page.headers["Content-Security-Policy"].split("; ") if d.startswith("form-action"))
        assert {kc_fake.url, "https://checkout.koreacheckout.com"} <= set(form_action.split())
        form = {"name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678", "postal_code": "06236",
                "address1": "서울 강남구 테헤란로 152", "address2": "강남파이낸스센터 1층", "payment_method": "card",
                "agree": "1", "csrf_token": token}
        submitted = browser.post(checkout["url"], data=form, allow_redirects=False, timeout=20)
    assert submitted.status_code == 303, submitted.text[:500]
    session = kc_fake.session_for(checkout["id"])
    hosted = submitted.headers["location"]
    assert hosted == f"{kc_fake.url}/checkout/{session['sessionId']}"
    assert requests.get(hosted, timeout=10).status_code == 200

    sent = session["request"]
    create_request = next(r for r in kc_fake.requests if r.path == "/api/checkout/create-session")
    assert create_request.headers["x-api-key"] == API_KEY
    assert "홍길동".encode() in create_request.body  # UTF-8 as is, not \u escapes
    assert sent["platformOrderId"] == checkout["id"] and sent["metadata"]["checkout_id"] == checkout["id"]
    assert sent["totalAmount"] == 22000 and sent["currency"] == "KRW"
    assert sent["customer"] == {"name": "홍길동", "email": "gildong@example.com", "phone": "+82-10-1234-5678"}
    assert sent["webhookUrl"] == f"{app}/webhooks/koreacheckout/{kc_merchant.id}"
    assert api_get(app, kc_merchant, checkout["id"])["status"] == "processing"

    kc_fake.pay(session["sessionId"])
    body, headers = kc_fake.notification("payment.completed", session["sessionId"])
    answer = notify(app, kc_merchant.id, body, headers)
    assert answer.status_code == 200 and answer.json() == {"received": True, "status": "complete"}

    read = api_get(app, kc_merchant, checkout["id"])
    assert read["status"] == "complete" and read["provider"] == "koreacheckout"
    assert read["payment"]["provider_session_id"] == session["sessionId"]
    assert read["payment"]["amount"] == 22000 and read["payment"]["currency"] == "KRW"
    assert read["payment"]["method"] == "card"
    assert read["payment"]["provider_reference"].startswith("toss_tx_")
    events = receiver.verified(kc_merchant.webhook_secret)
    assert [e["type"] for e in events] == ["checkout.completed"]
    assert events[0]["data"]["id"] == checkout["id"] and events[0]["data"]["status"] == "complete"

    back = requests.get(f"{app}/c/{checkout['id']}/return", allow_redirects=False, timeout=20)
    assert back.status_code == 303
    assert back.headers["location"] == f"https://shop.example/thanks?checkout={checkout['id']}"
    assert len(receiver.deliveries) == 1


def test_the_return_alone_completes_a_paid_session_when_the_notification_is_late(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    back = requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=20)
    assert back.status_code == 303 and back.headers["location"].startswith("https://shop.example/thanks")
    body, headers = kc_fake.notification("payment.completed", session_id)
    assert notify(live_server.url, kc_merchant.id, body, headers).status_code == 200
    assert [e["type"] for e in receiver.verified(kc_merchant.webhook_secret)] == ["checkout.completed"]


def test_a_failed_payment_opens_the_checkout_again(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.set_status(session_id, "failed")
    body, headers = kc_fake.notification("payment.failed", session_id)
    assert notify(live_server.url, kc_merchant.id, body, headers).status_code == 200
    assert api_get(live_server.url, kc_merchant, checkout["id"])["status"] == "open"
    assert [e["type"] for e in receiver.verified(kc_merchant.webhook_secret)] == ["checkout.payment_failed"]


def test_an_expired_session_opens_the_checkout_again_without_a_failure_event(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.set_status(session_id, "expired")
    assert notify(live_server.url, kc_merchant.id, *kc_fake.notification("session.expired", session_id)).status_code == 200
    assert api_get(live_server.url, kc_merchant, checkout["id"])["status"] == "open"
    assert receiver.deliveries == []


def test_a_refund_notification_after_our_own_refund_changes_nothing(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    assert notify(live_server.url, kc_merchant.id, *kc_fake.notification("payment.completed", session_id)).status_code == 200
    refunded = requests.post(f"{live_server.url}/api/checkouts/{checkout['id']}/refunds", headers=kc_merchant.headers,
                             data=b'{"amount": 2000}', timeout=20)
    assert refunded.status_code == 201
    answer = notify(live_server.url, kc_merchant.id, *kc_fake.notification("payment.refunded", session_id))
    assert answer.status_code == 200 and answer.json()["status"] == "partially_refunded"
    assert [e["type"] for e in receiver.verified(kc_merchant.webhook_secret)] == ["checkout.completed", "checkout.refunded"]


def test_a_notification_that_says_paid_while_the_read_does_not_changes_nothing(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    body, headers = kc_fake.notification("payment.completed", session_id)  # the session is still pending
    assert notify(live_server.url, kc_merchant.id, body, headers).status_code == 200
    assert api_get(live_server.url, kc_merchant, checkout["id"])["status"] == "processing"
    assert receiver.deliveries == []


# --- 2. notifications that must not be believed ------------------------------------

def _tampered(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b'"totalAmount":22000', b'"totalAmount":1000'), headers


def _forged(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {**headers, kc.SIGNATURE_HEADER: kc.sign(body, "not_the_merchants_secret")}


def _unsigned(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {k: v for k, v in headers.items() if k != kc.SIGNATURE_HEADER}


def _api_key_signed(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {**headers, kc.SIGNATURE_HEADER: kc.sign(body, API_KEY)}


@pytest.mark.parametrize("spoil", [_forged, _tampered, _unsigned, _api_key_signed])
def test_a_notification_that_fails_verification_is_refused_and_changes_nothing(db, live_server, kc_fake, kc_merchant, receiver, spoil):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    before = db.get_checkout(checkout["id"])
    reads_before = len(kc_fake.requests)
    body, headers = spoil(*kc_fake.notification("payment.completed", session_id))
    answer = notify(live_server.url, kc_merchant.id, body, headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "notification_rejected"
    after = db.get_checkout(checkout["id"])
    assert (after.status, after.version) == (before.status, before.version) == ("processing", before.version)
    assert len(kc_fake.requests) == reads_before  # not even a read at the provider
    assert receiver.deliveries == []


def test_a_replayed_notification_is_refused_and_changes_nothing(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    body, headers = kc_fake.notification("payment.completed", session_id)
    assert notify(live_server.url, kc_merchant.id, body, headers).status_code == 200
    before = db.get_checkout(checkout["id"])
    reads_before = len(kc_fake.requests)

    replay = notify(live_server.url, kc_merchant.id, body, headers)
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "notification_rejected"
    after = db.get_checkout(checkout["id"])
    assert (after.status, after.version) == (before.status, before.version) == ("complete", before.version)
    assert len(kc_fake.requests) == reads_before
    assert len(receiver.deliveries) == 1


def test_a_replay_of_an_old_failure_cannot_touch_a_later_attempt(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, first = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.set_status(first, "failed")
    failed = kc_fake.notification("payment.failed", first)
    assert notify(live_server.url, kc_merchant.id, *failed).status_code == 200
    with requests.Session() as browser:
        assert flow.submit_form(browser, checkout["url"]).status_code == 303
    before = db.get_checkout(checkout["id"])
    assert before.status == "processing" and before.attempt.provider_session_id != first
    assert notify(live_server.url, kc_merchant.id, *failed).status_code == 400
    assert db.get_checkout(checkout["id"]).version == before.version
    assert [e["type"] for e in receiver.verified(kc_merchant.webhook_secret)] == ["checkout.payment_failed"]


def test_the_provider_repeating_a_notification_we_could_not_finish_is_accepted(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    body, headers = kc_fake.notification("payment.completed", session_id)
    kc_fake.faults = ["500", "500", "500"]  # every try of our read fails: we answer 5xx, so it will send again
    first = notify(live_server.url, kc_merchant.id, body, headers)
    assert first.status_code >= 500 and "Traceback" not in first.text
    assert api_get(live_server.url, kc_merchant, checkout["id"])["status"] == "processing"
    again = notify(live_server.url, kc_merchant.id, body, headers)
    assert again.status_code == 200 and again.json()["status"] == "complete"
    assert [e["type"] for e in receiver.verified(kc_merchant.webhook_secret)] == ["checkout.completed"]


def test_a_notification_for_another_merchants_endpoint_is_not_found(db, live_server, kc_fake, kc_merchant, receiver):
    sandbox_merchant = create_merchant(db, receiver.url)
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    body, headers = kc_fake.notification("payment.completed", session_id)
    assert notify(live_server.url, sandbox_merchant.id, body, headers).status_code == 404
    assert notify(live_server.url, "m-nobody", body, headers).status_code == 404
    assert api_get(live_server.url, kc_merchant, checkout["id"])["status"] == "processing"
    assert receiver.deliveries == []


# --- 3. amounts that do not match --------------------------------------------------

@pytest.mark.parametrize(("paid", "expected"), [
    ({"amount": 21000}, {"amount": 21000, "currency": "KRW"}),
    ({"currency": "USD"}, {"amount": 2200000, "currency": "USD"}),  # 22000 USD read in USD cents
])
def test_a_paid_read_of_another_amount_or_currency_is_flagged_not_completed(
    db, live_server, kc_fake, kc_merchant, receiver, paid, expected
):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id, **paid)
    answer = notify(live_server.url, kc_merchant.id, *kc_fake.notification("payment.completed", session_id))
    assert answer.status_code == 200 and answer.json()["status"] == "processing"
    read = api_get(live_server.url, kc_merchant, checkout["id"])
    assert read["status"] != "complete" and read["payment"] is None
    assert read["amount_mismatch"] == {
        "provider": "koreacheckout", "provider_session_id": session_id,
        "expected_amount": 22000, "expected_currency": "KRW", **expected,
    }
    back = requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=20)
    assert not back.headers["location"].startswith("https://shop.example")
    assert receiver.deliveries == []


def test_a_read_whose_amount_does_not_convert_completes_nothing(db, live_server, kc_fake, kc_merchant, receiver):
    checkout, session_id = start_payment(live_server.url, kc_fake, kc_merchant.api_key)
    kc_fake.pay(session_id)
    kc_fake.sessions[session_id]["totalAmount"] = "22000"  # a string, not the documented integer
    answer = notify(live_server.url, kc_merchant.id, *kc_fake.notification("payment.completed", session_id))
    assert answer.status_code >= 500
    assert api_get(live_server.url, kc_merchant, checkout["id"])["status"] == "processing"
    assert receiver.deliveries == []


# --- the adapter's edges, straight against the kc_fake ---------------------------------

def test_reads_of_an_unknown_session_and_a_wrong_key_are_refused(db, kc_fake):
    good = providers.build("koreacheckout", "m-x", credentials(kc_fake), "http://unused")
    with pytest.raises(base.ProviderRejected):
        good.read_session("cs_doesnotexist")
    wrong = providers.build("koreacheckout", "m-x", {"api_key": "sk_test_wrong", "webhook_secret": "w"}, "http://unused")
    with pytest.raises(base.ProviderRejected):
        wrong.read_session("cs_doesnotexist")


def test_secrets_never_appear_in_provider_errors(db, monkeypatch):
    class EchoingFake(FakeKoreaCheckout):
        def handle(self, request):  # a provider that quotes our key back in its error
            from tests.adapters.providers.harness import Reply

            return Reply(400, {"error": {"code": "bad", "message": f"key {request.headers.get('x-api-key')} refused"}})

    echo = EchoingFake()
    try:
        monkeypatch.setenv("KOREACHECKOUT_API_BASE", echo.url)
        adapter = providers.build("koreacheckout", "m-x", {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}, "")
        with pytest.raises(base.ProviderRejected) as raised:
            adapter.read_session("cs_abc")
        assert API_KEY not in str(raised.value) and "[redacted]" in str(raised.value)
    finally:
        echo.close()


def test_the_sandbox_host_is_used_for_test_keys_when_the_stage_sets_no_base(monkeypatch):
    monkeypatch.delenv("KOREACHECKOUT_API_BASE", raising=False)
    adapter = providers.build("koreacheckout", "m-x", {"api_key": "sk_test_1", "webhook_secret": "w"}, "")
    assert adapter.base_url == "https://sandbox-api.koreacheckout.com"
    adapter = providers.build("koreacheckout", "m-x", {"api_key": "sk_live_1", "webhook_secret": "w"}, "")
    assert adapter.base_url == "https://api.koreacheckout.com"


# --- 5. onboarding through the admin CLI ---------------------------------------------

def _admin(db, moto_endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint, "CHECKOUT_TABLE": db.table}
    return subprocess.run([sys.executable, "-m", "chalicelib.admin", *args], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_admin_cli_creates_a_koreacheckout_merchant(db, moto_endpoint):
    result = _admin(db, moto_endpoint, "merchant", "create", "--id", "kc-shop", "--name", "코리아 상점",
                    "--provider", "koreacheckout", "--credential", f"api_key={API_KEY}",
                    "--credential", f"webhook_secret={WEBHOOK_SECRET}", "--allowed-host", "shop.example")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"merchant_id", "api_key", "webhook_secret"} and created["merchant_id"] == "kc-shop"
    assert API_KEY not in result.stdout and WEBHOOK_SECRET not in result.stdout

    merchant = merchants.get(db, "kc-shop")
    assert merchant is not None and merchant.provider == "koreacheckout"
    assert merchant.credentials() == {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}
    stored = json.dumps(db.get("MERCHANT#kc-shop", "MERCHANT"), ensure_ascii=False)
    assert API_KEY not in stored and WEBHOOK_SECRET not in stored

    shown = _admin(db, moto_endpoint, "merchant", "show", "--id", "kc-shop")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["credential_names"] == ["api_key", "webhook_secret"]
    assert API_KEY not in shown.stdout and WEBHOOK_SECRET not in shown.stdout


def test_the_admin_cli_refuses_a_koreacheckout_merchant_without_its_webhook_secret(db, moto_endpoint):
    result = _admin(db, moto_endpoint, "merchant", "create", "--id", "kc-half", "--name", "Half",
                    "--provider", "koreacheckout", "--credential", f"api_key={API_KEY}")
    assert result.returncode == 2
    error = json.loads(result.stderr)["error"]
    assert "webhook_secret" in error["message"] and API_KEY not in result.stderr
    assert merchants.get(db, "kc-half") is None

