"""Hostile input stays cheap and never becomes a 500.

Path parameters are length-checked before anything else touches them (the log line, the
table, the redaction backstop); bodies over the documented limits are 413 before they are
parsed; a form with more fields than the page has, and JSON nested deeper than any real
document, are 4xx. How long these take is measured in ``bench/hostile.py``, not here.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from chalicelib import config, logs
from chalicelib.adapters.providers import paycombat
from chalicelib.web import views as web
from tests.adapters.providers.fake_paycombat import FakePayCombat
from tests.conftest import create_merchant
from tests.usecases.test_promotions_api import FORM, csrf_of, new_checkout

LONG = "1" * 16_000


@pytest.mark.parametrize("path", [
    f"/c/{LONG}", f"/c/chk_{LONG}", f"/c/{LONG}/return", f"/c/{LONG}/cancel", f"/c/{LONG}/status",
    f"/api/checkouts/{LONG}", f"/sandbox/{LONG}", f"/static/{LONG}",
])
def test_a_very_long_path_parameter_is_404_before_anything_reads_it(client, db, merchant, path, monkeypatch):
    touched: list[str] = []
    monkeypatch.setattr(logs, "redact", lambda text: touched.append(text) or text)
    response = client.http.get(path, headers=merchant.headers)
    assert response.status_code == 404, response.body[:200]
    assert not any(LONG in t for t in touched), "the long parameter reached the log line"


def test_a_very_long_merchant_in_a_webhook_path_is_404(client, db):
    response = client.http.post(f"/webhooks/paycombat/{LONG}", headers={"content-type": "application/json"}, body=b"{}")
    assert response.status_code == 404
    assert json.loads(response.body)["error"]["code"] == "not_found"


def test_redaction_still_finds_what_a_long_line_hides():
    text = f"{LONG} mail gildong@example.com phone 010-1234-5678 " + "a" * 10_000 + "@example.com"
    redacted = logs.redact(text)
    assert "gildong@example.com" not in redacted and "010-1234-5678" not in redacted
    assert "@example.com" not in redacted.replace("[email]", "")


def test_a_form_with_sixty_fields_is_a_4xx_page(client, db, merchant):
    checkout = new_checkout(client, merchant)
    token = csrf_of(client.http.get(f"/c/{checkout['id']}").body.decode())
    fields = {f"field{i}": "x" for i in range(60)} | {"csrf_token": token, "lang": "en"}
    response = client.http.post(f"/c/{checkout['id']}", headers=FORM, body=urlencode(fields))
    assert 400 <= response.status_code < 500, response.status_code
    assert {k.lower(): v for k, v in response.headers.items()}["content-type"].startswith("text/html")
    # Even the error page's language is read without tripping over the fields.
    many_langs = urlencode([("lang", "en")] * 60)
    assert 400 <= client.http.post(f"/c/{checkout['id']}", headers=FORM, body=many_langs).status_code < 500


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


CREDENTIALS = {
    "paycombat": {"x_token": "snd_token", "signature_key": "sig_key"},
    "koreacheckout": {"api_key": "sk_test_" + "0" * 16, "webhook_secret": "kc_webhook_secret"},
    "sandbox": {},
    "clink": {"api_key": "sk_test_" + "0" * 16, "webhook_secret": "whsec_test_signing_secret_0001"},
    "payfect": {"api_key": "pk_test", "secret_key": "9bZ7s0R4QyE1tJ2nY6Vw3uX8oP5aL0kM7cD2fG4hJ1s="},
}


@pytest.fixture
def paycombat_fake(monkeypatch):
    """PayCombat's fake: a PayCombat merchant is onboarded there (its wallet)."""
    fake = FakePayCombat(x_token=CREDENTIALS["paycombat"]["x_token"],
                         signature_key=CREDENTIALS["paycombat"]["signature_key"])
    monkeypatch.setenv("PAYCOMBAT_API_BASE", fake.url)
    config.settings.cache_clear()
    yield fake
    fake.close()
    config.settings.cache_clear()


@pytest.mark.parametrize("provider", sorted(CREDENTIALS))
def test_deeply_nested_json_to_a_notification_route_is_4xx(client, db, receiver, paycombat_fake, provider):
    merchant = create_merchant(db, receiver.url, provider=provider, credentials=CREDENTIALS[provider])
    for body in (nested(100_000), b"[" * 50_000 + b"]" * 50_000):
        response = client.http.post(f"/webhooks/{provider}/{merchant.id}", body=body,
                                    headers={"content-type": "application/json", "x-signature": "0" * 64})
        assert 400 <= response.status_code < 500, (provider, response.status_code)


def test_paycombat_checks_the_signature_before_parsing_and_bounds_what_it_parses():
    key = "sig_key"
    body = nested(10_000)
    with pytest.raises(paycombat.NotificationRejected):
        paycombat.verify_signature(body, paycombat.sign(body, "other"), [key])
    # Signed over the exact bytes: accepted without parsing them at all.
    paycombat.verify_signature(body, paycombat.sign(body, key), [key])


@pytest.mark.parametrize("path,content_type,limit", [
    ("/api/checkouts", "application/json", web.MAX_API_BODY_BYTES),
    ("/webhooks/paycombat/{merchant}", "application/json", web.MAX_NOTIFICATION_BODY_BYTES),
    ("/c/{checkout}", "application/x-www-form-urlencoded", web.MAX_FORM_BODY_BYTES),
])
def test_a_body_over_its_documented_limit_is_413(client, db, merchant, path, content_type, limit):
    checkout = new_checkout(client, merchant)
    target = path.format(merchant=merchant.id, checkout=checkout["id"])
    body = b"x" * (limit + 1)
    response = client.http.post(target, headers={**merchant.headers, "content-type": content_type}, body=body)
    assert response.status_code == 413, (target, response.status_code, response.body[:200])
    at_limit = client.http.post(target, headers={**merchant.headers, "content-type": content_type}, body=b"x" * limit)
    assert at_limit.status_code != 413


def test_a_5_mb_unsigned_body_is_refused_without_being_parsed(client, db, merchant, monkeypatch):
    parsed: list[int] = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda s, *a, **k: parsed.append(len(s)) or real(s, *a, **k))
    body = json.dumps({"pad": "x" * 5_000_000}).encode()
    response = client.http.post(f"/webhooks/paycombat/{merchant.id}", body=body,
                                headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert all(n < 5_000_000 for n in parsed)
