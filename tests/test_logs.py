"""Logs: one JSON line per request, and nothing secret or personal in any line of a whole flow."""
import io
import json
import logging

import pytest
import requests

from chalicelib import logs
from tests.adapters.providers.fake_koreacheckout import complete_payment, credentials
from tests.conftest import create_merchant
from tests.flow import GOOD_FORM


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)  # everything, even what production would not print
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_whole_flow_logs_no_secret_and_no_shopper_data(db, receiver, live_server, kc_fake, captured):
    merchant = create_merchant(db, receiver.url, provider="koreacheckout", credentials=credentials(kc_fake))
    checkout = complete_payment(live_server.url, kc_fake, merchant.id, merchant.api_key,
                                customer={"name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678"})
    requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=10)
    requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers={"x-api-key": merchant.api_key}, timeout=10)
    requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers={"x-api-key": merchant.api_key + "x"}, timeout=10)
    text = captured.getvalue()
    assert text, "nothing was logged"
    forbidden = {
        "API key": merchant.api_key, "API key body": merchant.api_key.split("_", 2)[2],
        "webhook secret": merchant.webhook_secret, "provider API key": kc_fake.api_key,
        "provider webhook secret": kc_fake.webhook_secret,
        "email": GOOD_FORM["email"], "customer email": "gildong@example.com",
        "phone": GOOD_FORM["phone"], "phone digits": GOOD_FORM["phone"].replace("-", ""), "phone intl": "+82-10-1234-5678",
        "address": GOOD_FORM["address1"], "address detail": GOOD_FORM["address2"], "postal code": f'"{GOOD_FORM["postal_code"]}"',
    }
    leaks = {what: value for what, value in forbidden.items() if value in text}
    assert leaks == {}

    lines = [json.loads(line) for line in text.splitlines()]
    requests_logged = [line for line in lines if line["logger"] == "checkout.request"]
    routes = {line["route"] for line in requests_logged}
    assert {"create_checkout", "checkout_page", "submit_checkout", "provider_webhook", "provider_return", "get_checkout"} <= routes
    for line in requests_logged:
        assert {"route", "method", "status", "duration_ms", "outcome"} <= set(line)
    submit = [line for line in requests_logged if line["route"] == "submit_checkout"][0]
    assert (submit["checkout_id"], submit["merchant_id"], submit["provider"], submit["outcome"]) == \
        (checkout["id"], merchant.id, "koreacheckout", "sent_to_provider")
    webhook = [line for line in requests_logged if line["route"] == "provider_webhook"][0]
    assert webhook["outcome"] == "payment_paid" and webhook["checkout_id"] == checkout["id"]
    refused = [line for line in requests_logged if line["status"] == 401]
    assert refused and refused[0]["outcome"] == "unauthorized"


@pytest.mark.parametrize("text,secret", [
    ("key sk_live_abcDEF123", "abcDEF123"), ("whsec_QUJDRA==", "QUJDRA=="), ("mail kim.cs+1@shop.co.kr", "kim.cs+1"),
    ("tel 010-1234-5678", "1234-5678"), ("tel 01012345678", "12345678"), ("tel +82 10 1234 5678", "1234 5678"),
    ("token gAAAAABpZ3JlZXRpbmdzZnJvbXRoZWZlcm5ldA==", "ZnJvbXRoZWZlcm5ldA"),
])
def test_redaction_backstop(text, secret):
    assert secret not in logs.redact(text)


@pytest.mark.parametrize("text", ['"duration_ms": 1234', "chk_2Q6v8JkLmNoP", "2026-11-22T04:00:00Z", '"status": 201'])
def test_redaction_leaves_ordinary_values(text):
    assert logs.redact(text) == text
