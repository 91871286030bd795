"""KoreaCheckout's pure mapping: tables of cases, with fixtures recorded from its document."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.providers import base
from chalicelib.adapters.providers import koreacheckout as kc
from chalicelib.domain.errors import NotificationRejected
from chalicelib.domain.model import Checkout, LineItem

FIXTURES = Path(__file__).parent / "fixtures" / "koreacheckout"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def fixture_bytes(name: str) -> bytes:
    # Compact, as a provider sends it: the signature is over exactly these bytes.
    return json.dumps(fixture(name), ensure_ascii=False, separators=(",", ":"), default=str).encode()


def make_checkout(**overrides: Any) -> Checkout:
    values: dict[str, Any] = {
        "id": "chk_2Q6vAbCdEfGhIjKlMnOp",
        "merchant_id": "m-test",
        "status": "processing",
        "version": 1,
        "currency": "KRW",
        "line_items": [
            LineItem(name="유기농 녹차", unit_amount=19000, quantity=1, product_id="tea-1", description="100g"),
            LineItem(name="배송비", unit_amount=3000, quantity=1),
        ],
        "success_url": "https://shop.example/thanks",
        "cancel_url": "https://shop.example/cart",
        "provider": "koreacheckout",
        "created_at_s": 1_700_000_000,
        "expires_at_s": 1_700_086_400,
        "locale": "ko",
        "payment_method_types": ["card"],
        "collect_shipping_address": True,
        "customer": {"email": "prefill@example.com"},
        "client_reference_id": "order-123",
    }
    values.update(overrides)
    return Checkout(**values)


def session_request(checkout: Checkout | None = None, **shopper: str) -> base.SessionRequest:
    return base.SessionRequest(
        checkout=checkout or make_checkout(),
        attempt_id="att_abc123",
        method="card",
        shopper=shopper or {"name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678"},
        return_url="https://pay.example/c/chk_1/return",
        cancel_url="https://pay.example/c/chk_1/cancel",
        notify_url="https://pay.example/webhooks/koreacheckout/m-test",
    )


# --- the status table ---------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("pending", base.OPEN),
    ("processing", base.PENDING),
    ("completed", base.PAID),
    ("failed", base.FAILED),
    ("cancelled", base.CANCELLED),
    ("expired", base.EXPIRED),
    ("refunded", base.REFUNDED),
    ("partially_refunded", base.PARTIALLY_REFUNDED),
])
def test_every_documented_status_maps_to_our_state(raw, expected):
    assert kc.map_status(raw) == expected


def test_the_table_covers_exactly_the_documented_statuses():
    assert set(kc.STATUS_MAP) == set(fixture("statuses.json"))
    assert set(kc.STATUS_MAP.values()) <= base.PAYMENT_STATES


@pytest.mark.parametrize("raw", [
    "COMPLETED", "Completed", " completed", "complete", "paid", "success", "succeeded", "approved",
    "partially_paid", "", None, 1, True, ["completed"], {"status": "completed"},
])
def test_an_unknown_status_is_unknown_and_never_paid(raw):
    assert kc.map_status(raw) == base.UNKNOWN


def test_only_completed_is_paid():
    assert [raw for raw, state in kc.STATUS_MAP.items() if state == base.PAID] == ["completed"]


# --- amounts ------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (29000, 29000),
    (0, 0),
    (Decimal("29000"), 29000),
    (Decimal("29000.0"), 29000),
])
def test_amounts_read_back_exactly(value, expected):
    assert kc.parse_amount(value, "KRW") == expected


@pytest.mark.parametrize("value", ["29000", Decimal("29000.5"), Decimal("0.1"), 29000.0, True, None, [29000], {"v": 1}])
def test_an_amount_that_does_not_convert_is_a_provider_error(value):
    with pytest.raises(base.ProviderError):
        kc.parse_amount(value, "KRW")


@pytest.mark.parametrize(("amount", "currency", "expected"), [(29000, "KRW", 29000), (1, "KRW", 1), (500, "JPY", 500), (1900, "USD", 19)])
def test_our_minor_units_become_whole_provider_units(amount, currency, expected):
    assert kc.to_provider_amount(amount, currency) == expected


def test_an_amount_with_a_fraction_of_the_providers_unit_is_refused():
    with pytest.raises(ValueError):
        kc.to_provider_amount(1999, "USD")


# --- create-session -----------------------------------------------------------------

def test_the_create_body_has_the_documented_fields_and_types():
    documented = fixture("create_session_request.json")
    body = kc.create_session_body(session_request())
    assert set(body) <= set(documented) | {"webhookUrl"}
    for key, value in documented.items():
        if key in body:
            assert type(body[key]) is type(value), key
    for item in body["items"]:
        assert set(item) <= {"name", "price", "quantity", "productId", "description"}
        assert type(item["price"]) is int and type(item["quantity"]) is int


def test_the_create_body_carries_our_ids_and_amounts_that_add_up():
    body = kc.create_session_body(session_request())
    assert body["platformOrderId"] == "chk_2Q6vAbCdEfGhIjKlMnOp"
    assert body["metadata"]["checkout_id"] == "chk_2Q6vAbCdEfGhIjKlMnOp"
    assert body["metadata"]["attempt_id"] == "att_abc123"
    assert body["metadata"]["client_reference_id"] == "order-123"
    assert body["totalAmount"] == 22000 == sum(i["price"] * i["quantity"] for i in body["items"])
    assert body["items"][0] == {"name": "유기농 녹차", "price": 19000, "quantity": 1, "productId": "tea-1", "description": "100g"}
    assert body["currency"] == "KRW"
    assert body["webhookUrl"] == "https://pay.example/webhooks/koreacheckout/m-test"


def test_the_shopper_overrides_the_prefill_and_the_phone_is_international():
    body = kc.create_session_body(session_request())
    assert body["customer"] == {"name": "홍길동", "email": "gildong@example.com", "phone": "+82-10-1234-5678"}


def test_a_checkout_without_shopper_details_sends_what_the_merchant_prefilled():
    request = session_request(make_checkout(customer={}))
    request.shopper = {}
    assert "customer" not in kc.create_session_body(request)


@pytest.mark.parametrize(("phone", "expected"), [
    ("010-1234-5678", "+82-10-1234-5678"),
    ("01012345678", "+82-10-1234-5678"),
    ("+82 10 1234 5678", "+82-10-1234-5678"),
    ("+82-10-1234-5678", "+82-10-1234-5678"),
    ("011-123-4567", "+82-11-123-4567"),
    ("+1 415 555 0100", "+1 415 555 0100"),
])
def test_phone_numbers_take_the_documented_form(phone, expected):
    assert kc.international_phone(phone) == expected


def test_the_bytes_sent_are_compact_utf8_json():
    body = {"customer": {"name": "홍길동"}, "reason": "고객 요청 환불"}
    encoded = kc.encode(body)
    assert encoded == '{"customer":{"name":"홍길동"},"reason":"고객 요청 환불"}'.encode()


def test_the_documented_create_answer_becomes_a_session():
    session = kc.parse_created(fixture("create_session_response.json"))
    assert session == base.ProviderSession("cs_1234567890abcdef", "https://checkout.koreacheckout.com/cs_1234567890abcdef")


@pytest.mark.parametrize("change", [
    {"success": False},
    {"sessionId": None},
    {"sessionId": "cs_../../admin"},
    {"checkoutUrl": None},
    {"checkoutUrl": "javascript:alert(1)"},
    {"checkoutUrl": "/relative/path"},
])
def test_a_create_answer_without_a_usable_session_is_a_provider_error(change):
    with pytest.raises(base.ProviderError):
        kc.parse_created({**fixture("create_session_response.json"), **change})


@pytest.mark.parametrize("payload", [None, [], "ok", {"error": {"code": "x"}}])
def test_a_create_answer_of_another_shape_is_a_provider_error(payload):
    with pytest.raises(base.ProviderError):
        kc.parse_created(payload)


# --- reads --------------------------------------------------------------------------

def test_the_documented_session_read_becomes_a_paid_payment():
    payment = kc.parse_session(fixture("get_session_response.json"), "cs_1234567890abcdef")
    assert payment.status == base.PAID and payment.raw_status == "completed"
    assert payment.amount == 29000 and payment.currency == "KRW"
    assert payment.checkout_id == "order_123"
    assert payment.paid_at_s == 1704105000  # 2024-01-01T10:30:00Z


def test_the_documented_verify_read_carries_method_and_gateway_reference():
    payment = kc.parse_session(fixture("verify_payment_response.json"), "cs_1234567890abcdef")
    assert payment.method == "card"
    assert payment.provider_reference == "toss_tx_123456"
    assert payment.checkout_id is None  # that example names no platformOrderId


def _read(**data: Any) -> dict[str, Any]:
    payload = fixture("get_session_response.json")
    payload["data"].update(data)
    return payload


@pytest.mark.parametrize(("change", "status"), [
    ({"status": "pending"}, base.OPEN),
    ({"status": "processing"}, base.PENDING),
    ({"status": "SUCCESS"}, base.UNKNOWN),
    ({"status": None}, base.UNKNOWN),
])
def test_a_read_takes_its_state_from_the_table(change, status):
    assert kc.parse_session(_read(**change), "cs_1234567890abcdef").status == status


def test_a_lower_case_currency_reads_upper_case():
    assert kc.parse_session(_read(currency="krw"), "cs_1234567890abcdef").currency == "KRW"


@pytest.mark.parametrize("change", [
    {"totalAmount": "29000"},
    {"totalAmount": Decimal("29000.5")},
    {"totalAmount": None},
    {"currency": "XXX"},
    {"currency": None},
    {"sessionId": "cs_other"},
])
def test_a_read_that_does_not_convert_is_a_provider_error(change):
    with pytest.raises(base.ProviderError):
        kc.parse_session(_read(**change), "cs_1234567890abcdef")


@pytest.mark.parametrize("payload", [None, [], {"success": True}, {"success": True, "data": "completed"}, fixture("error_response.json")])
def test_a_read_of_another_shape_is_a_provider_error(payload):
    with pytest.raises(base.ProviderError):
        kc.parse_session(payload, "cs_1234567890abcdef")


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-01-01T10:30:00Z", 1704105000),
    ("2024-01-01T19:30:00+09:00", 1704105000),
    ("2024-01-01T10:30:00", None),
    ("yesterday", None),
    (None, None),
    (1704105000, None),
])
def test_times_read_as_epoch_seconds_only_with_a_zone(value, expected):
    assert kc.parse_time_s(value) == expected


# --- refunds ------------------------------------------------------------------------

def test_the_refund_body_is_the_documented_one():
    assert kc.refund_body(10000, "KRW", "고객 요청 환불") == fixture("refund_request.json")


def test_a_refund_without_a_reason_sends_none():
    assert kc.refund_body(10000, "KRW", None) == {"amount": 10000, "notify_customer": True}


def test_the_documented_refund_answer_gives_the_refund_id():
    assert kc.parse_refund(fixture("refund_response.json")) == "ref_1234567890abcdef"


@pytest.mark.parametrize("payload", [None, {}, {"refundId": 12}, []])
def test_a_refund_answer_without_an_id_still_counts_as_made(payload):
    assert kc.parse_refund(payload) == ""


# --- notifications ------------------------------------------------------------------

SECRET = "kc_whsec_test_secret"


def test_a_body_signed_with_the_secret_verifies():
    body = fixture_bytes("webhook_payment_completed.json")
    kc.verify_signature(body, {kc.SIGNATURE_HEADER: kc.sign(body, SECRET)}, [SECRET])


def test_the_signature_is_hex_hmac_sha256_of_the_raw_body():
    # Computed independently: printf '%s' '{"event":"x"}' | openssl dgst -sha256 -hmac kc_whsec_test_secret
    import hashlib
    import hmac

    body = b'{"event":"x"}'
    assert kc.sign(body, SECRET) == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert len(kc.sign(body, SECRET)) == 64


def _rejected(body: bytes, headers: dict[str, str], secrets: list[str] | None = None) -> str:
    with pytest.raises(NotificationRejected) as raised:
        kc.verify_signature(body, headers, secrets if secrets is not None else [SECRET])
    return raised.value.message


def test_verification_rejects_each_failure_with_its_own_message():
    body = fixture_bytes("webhook_payment_completed.json")
    good = kc.sign(body, SECRET)
    assert "missing" in _rejected(body, {})
    assert "missing" in _rejected(body, {kc.SIGNATURE_HEADER: ""})
    assert "malformed" in _rejected(body, {kc.SIGNATURE_HEADER: "sha256=" + good})
    assert "malformed" in _rejected(body, {kc.SIGNATURE_HEADER: good[:-2]})
    assert "does not match" in _rejected(body, {kc.SIGNATURE_HEADER: kc.sign(body, "another_secret")})
    assert "does not match" in _rejected(body.replace(b"29000", b"2900"), {kc.SIGNATURE_HEADER: good})
    assert "does not match" in _rejected(body + b" ", {kc.SIGNATURE_HEADER: good})
    assert "no webhook secret" in _rejected(body, {kc.SIGNATURE_HEADER: good}, [""])


def test_verification_accepts_any_header_case_and_hex_case_and_a_rotated_secret():
    body = fixture_bytes("webhook_payment_completed.json")
    kc.verify_signature(body, {"X-Korea-Checkout-Signature": kc.sign(body, SECRET).upper()}, [SECRET])
    kc.verify_signature(body, {kc.SIGNATURE_HEADER: kc.sign(body, "old")}, [SECRET, "old"])


def test_the_documented_notification_names_its_session_and_our_checkout():
    note = kc.parse_notification(fixture_bytes("webhook_payment_completed.json"))
    assert note == base.Notification(event="payment.completed", session_id="cs_1234567890abcdef", checkout_id="order_123")


@pytest.mark.parametrize("event", sorted(kc.EVENTS))
def test_each_documented_event_is_accepted(event):
    payload = fixture("webhook_payment_completed.json")
    payload["event"] = event
    body = json.dumps(payload, default=str).encode()
    assert kc.parse_notification(body).event == event


def test_an_event_not_in_the_document_is_still_a_hint_to_read_the_session():
    note = kc.parse_notification(b'{"event":"payment.partially_refunded","data":{"sessionId":"cs_1"}}')
    assert note == base.Notification(event="payment.partially_refunded", session_id="cs_1", checkout_id=None)


@pytest.mark.parametrize("body", [
    b"not json",
    b"[]",
    b'{"event":"payment.completed"}',
    b'{"event":"payment.completed","data":{}}',
    b'{"event":"payment.completed","data":{"sessionId":12}}',
    b'{"event":"payment.completed","data":{"sessionId":"cs_/../x"}}',
    b'{"event":12,"data":{"sessionId":"cs_1"}}',
])
def test_a_notification_of_another_shape_is_rejected(body):
    with pytest.raises(NotificationRejected):
        kc.parse_notification(body)


@pytest.mark.parametrize(("status", "attempt_session", "expected"), [
    ("processing", "cs_1", True),
    ("processing", "cs_2", False),
    ("processing", None, False),
    ("complete", "cs_1", False),
    ("open", None, False),
    (None, None, False),
])
def test_a_repeated_notification_matters_only_while_its_session_is_in_flight(status, attempt_session, expected):
    assert kc.awaiting_outcome(status, attempt_session, "cs_1") is expected


# --- the adapter's static facts -----------------------------------------------------

@pytest.mark.parametrize(("credentials", "expected"), [
    ({"api_key": "sk_live_abc"}, "https://api.koreacheckout.com"),
    ({"api_key": "sk_test_abc"}, "https://sandbox-api.koreacheckout.com"),
    ({"api_key": "garbage"}, "https://sandbox-api.koreacheckout.com"),
    ({}, "https://sandbox-api.koreacheckout.com"),
])
def test_the_api_base_follows_the_key(credentials, expected):
    assert kc.Adapter.default_base(credentials) == expected


def test_the_adapter_declares_what_it_takes():
    assert kc.Adapter.name == "koreacheckout"
    assert kc.Adapter.credential_names == ("api_key", "webhook_secret")
    assert kc.Adapter.currencies == frozenset({"KRW"})
    assert kc.Adapter.supports_refunds is True


def test_the_hosted_page_origin_is_allowed_for_the_form():
    assert kc.Adapter.page_origins(test_mode=False) == kc.Adapter.page_origins(test_mode=True) == (
        "https://checkout.koreacheckout.com",)


@pytest.mark.parametrize("credentials", [
    {"api_key": "pk_live_abc", "webhook_secret": "whsec"},
    {"api_key": "", "webhook_secret": "whsec"},
    {"api_key": "sk_test_abc", "webhook_secret": ""},
    {"api_key": "sk_test_abc", "webhook_secret": " whsec "},
])
def test_credentials_that_cannot_work_are_refused_without_echoing_them(credentials):
    with pytest.raises(ValueError) as refused:
        kc.Adapter.check_credentials(credentials)
    assert all(value not in str(refused.value) for value in credentials.values() if len(value) > 3)


def test_good_credentials_pass():
    kc.Adapter.check_credentials({"api_key": "sk_live_abc", "webhook_secret": "whsec_abc"})


def test_the_registry_knows_koreacheckout():
    from chalicelib.adapters import providers

    assert providers.adapter_class("koreacheckout") is kc.Adapter
