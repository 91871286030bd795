"""Standard Webhooks signing: ours must verify with the standardwebhooks library."""
import base64
import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.adapters import webhooks
from chalicelib.domain import clock

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.mark.parametrize("body", [
    b'{"type":"checkout.completed"}',
    json.dumps({"data": {"name": "홍길동", "bank": "KDB산업은행"}}, ensure_ascii=False).encode(),
    b"{}",
])
def test_our_signature_verifies_with_the_reference_library(body):
    now = clock.now_s()
    headers = webhooks.headers_for(SECRET, "evt_123", now, body)
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)


@pytest.mark.parametrize("mutate", ["body", "id", "timestamp", "secret"])
def test_any_change_breaks_the_signature(mutate):
    now = clock.now_s()
    body = b'{"type":"checkout.completed"}'
    headers = webhooks.headers_for(SECRET, "evt_123", now, body)
    secret = SECRET
    if mutate == "body":
        body = b'{"type":"checkout.completed "}'
    elif mutate == "id":
        headers["webhook-id"] = "evt_124"
    elif mutate == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    else:
        secret = "whsec_" + base64.b64encode(b"another-secret-another-secret-!!").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_signature_is_the_documented_hmac():
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(base64.b64decode(SECRET[6:]), b"msg_1.1700000000.{}", hashlib.sha256).digest())
    assert webhooks.sign(SECRET, "msg_1", 1700000000, b"{}") == "v1," + expected.decode()


@pytest.mark.parametrize("attempts,ok,status", [
    (1, True, "succeeded"), (1, False, "pending"), (7, False, "pending"), (8, False, "failed"), (8, True, "succeeded"),
])
def test_delivery_schedule(attempts, ok, status):
    state = webhooks.next_state(attempts, ok, 1000)
    assert state["delivery_status"] == status
    if status == "pending":
        assert state["next_attempt_at_s"] == 1000 + webhooks.RETRY_DELAYS_S[attempts - 1]


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_jitter_only_ever_delays_and_by_at_most_ten_percent(jitter):
    for attempt, delay in enumerate(webhooks.RETRY_DELAYS_S, start=1):
        due = webhooks.next_state(attempt, False, 0, jitter)["next_attempt_at_s"]
        assert delay <= due <= delay * 1.1


def test_the_schedule_spans_at_least_24_hours():
    assert sum(webhooks.RETRY_DELAYS_S) >= 86400
