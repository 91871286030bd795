"""PayCombat's pure mapping, as tables: statuses, amounts, requests, reads, notifications, wallets."""
from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.adapters.providers import base, jsonstringify, paycombat
from chalicelib.domain import model
from chalicelib.domain.errors import NotificationRejected

FIXTURES = Path(__file__).parent / "fixtures" / "paycombat"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


PENDING_READ = fixture("retrieve_krw_pending.json")["data"]
SESSION = PENDING_READ["id"]


def read_with(**changes):
    data = copy.deepcopy(PENDING_READ)
    data.update(changes)
    return data


# --- status table ---------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "ours"), [
    ("PENDING", base.PENDING),
    ("SUCCESS", base.PAID),
    ("FAILED", base.FAILED),
    ("EXPIRED", base.EXPIRED),
])
def test_documented_statuses_map_explicitly(raw, ours):
    assert paycombat.STATUS_MAP[raw] == ours
    assert paycombat.payment_from_checkout(read_with(status=raw), SESSION).status == ours


def test_the_status_table_is_exactly_the_documented_words():
    assert set(paycombat.STATUS_MAP) == {"PENDING", "SUCCESS", "FAILED", "EXPIRED"}
    assert paycombat.NOTIFIED_STATUSES == {"SUCCESS", "FAILED", "EXPIRED"}


@pytest.mark.parametrize("raw", [
    "success", "Success", "PAID", "SUCCEEDED", "COMPLETED", "SETTLED", "APPROVED", "REFUNDED", "CANCELLED",
    "PROCESSING", "", " SUCCESS", "SUCCESS ", None, True, 1, ["SUCCESS"], {"status": "SUCCESS"},
])
def test_unknown_statuses_are_never_paid(raw):
    payment = paycombat.payment_from_checkout(read_with(status=raw), SESSION)
    assert payment.status == base.UNKNOWN
    assert payment.pending is None


def test_a_read_without_status_is_unknown():
    seed = fixture("create_new_checkout_response.json")["data"]  # the seed example carries no status
    assert paycombat.payment_from_checkout(seed, seed["id"]).status == base.UNKNOWN


# --- the read -------------------------------------------------------------------------

def test_pending_read_carries_the_virtual_account_for_the_waiting_page():
    payment = paycombat.payment_from_checkout(PENDING_READ, SESSION)
    assert payment == base.ProviderPayment(
        session_id=SESSION,
        status=base.PENDING,
        raw_status="PENDING",
        amount=22000,
        currency="KRW",
        method="virtual_account",
        checkout_id="chk_3kTMd1ApGRq5hN7bVx2yWc",
        provider_reference=SESSION,
        paid_at_s=None,
        pending={
            "bank": "KDB산업은행",
            "account_number": "02012345678901",
            "account_holder": "페이컴뱃",
            "due_at_s": 1737098468,
            "amount": 22000,
            "currency": "KRW",
        },
    )


def test_paid_read_has_paid_at_and_no_pending():
    payment = paycombat.payment_from_checkout(read_with(status="SUCCESS"), SESSION)
    assert (payment.status, payment.paid_at_s, payment.pending) == (base.PAID, 1736926428, None)


def test_pending_read_before_an_account_is_issued_has_no_details():
    payment = paycombat.payment_from_checkout(read_with(virtual_account=None, payin_method_name=None), SESSION)
    assert (payment.status, payment.pending, payment.method) == (base.PENDING, None, None)


def test_seed_example_amount_converts_exactly_to_minor_units():
    seed = fixture("create_new_checkout_response.json")["data"]
    payment = paycombat.payment_from_checkout(seed, seed["id"])
    assert (payment.amount, payment.currency, payment.checkout_id) == (10000, "AUD", "invoice_15012025_003")


def test_reference_falls_back_to_order_reference_and_currency_is_upper_cased():
    payment = paycombat.payment_from_checkout(read_with(description=None, currency="krw"), SESSION)
    assert (payment.checkout_id, payment.currency, payment.amount) == ("chk_3kTMd1ApGRq5hN7bVx2yWc", "KRW", 22000)


@pytest.mark.parametrize("data", [None, [], "SUCCESS", read_with(id="another-checkout")])
def test_a_read_that_is_not_this_checkout_is_a_provider_error(data):
    with pytest.raises(base.ProviderError):
        paycombat.payment_from_checkout(data, SESSION)


@pytest.mark.parametrize(("value", "currency", "minor"), [
    (22000, "KRW", 22000),
    ("22000", "KRW", 22000),
    (Decimal("22000"), "KRW", 22000),
    (Decimal("22000.5"), "KRW", None),
    (100, "AUD", 10000),
    (Decimal("19.99"), "AUD", 1999),
    (Decimal("19.999"), "AUD", None),
    (True, "KRW", None),
    (1.5, "KRW", None),
    (None, "KRW", None),
    ("abc", "KRW", None),
    (100, "FIAT", None),
    (100, None, None),
])
def test_amount_from_provider_is_exact_or_none(value, currency, minor):
    assert paycombat.amount_from_provider(value, currency) == minor


def test_amount_to_provider_refuses_fractions():
    assert paycombat.amount_to_provider(22000, "KRW") == 22000
    assert paycombat.amount_to_provider(10000, "AUD") == 100
    with pytest.raises(base.ProviderRejected):
        paycombat.amount_to_provider(1999, "AUD")


# --- the create ---------------------------------------------------------------------

def _checkout() -> model.Checkout:
    return model.Checkout(
        id="chk_3kTMd1ApGRq5hN7bVx2yWc", merchant_id="m-1", status=model.PROCESSING, version=1, currency="KRW",
        line_items=[model.LineItem("유기농 녹차", 19000, 1), model.LineItem("배송비", 3000, 1)],
        success_url="https://shop.example/thanks", cancel_url="https://shop.example/cart", provider="paycombat",
        created_at_s=1736925671, expires_at_s=1737098468, locale="ko", payment_method_types=["virtual_account"],
        collect_shipping_address=True, customer={"email": "api@example.com"},
    )


def _request(**overrides) -> base.SessionRequest:
    options = dict(
        checkout=_checkout(), attempt_id="att_1", method="virtual_account",
        shopper={"name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678"},
        return_url="https://pay.example/c/chk_3kTMd1ApGRq5hN7bVx2yWc/return",
        cancel_url="https://pay.example/c/chk_3kTMd1ApGRq5hN7bVx2yWc/cancel",
        notify_url="https://pay.example/webhooks/paycombat/m-1", bank="KDB산업은행",
    )
    options.update(overrides)
    return base.SessionRequest(**options)


def test_payment_request_body_carries_our_checkout_id_and_exact_amount():
    body = paycombat.payment_request_body(_request())
    assert body == {
        "amount": 22000,
        "currency": "KRW",
        "country_code": "KR",
        "description": "chk_3kTMd1ApGRq5hN7bVx2yWc",
        "redirect_url": "https://pay.example/c/chk_3kTMd1ApGRq5hN7bVx2yWc/return",
        "webhook_url": "https://pay.example/webhooks/paycombat/m-1",
        "expire_at": "2025-01-17T07:21:08.000Z",
        "additional_info": {
            "order_reference": "chk_3kTMd1ApGRq5hN7bVx2yWc",
            "customer_full_name": "홍길동",
            "customer_email": "gildong@example.com",
            "customer_phone": "+821012345678",
        },
    }
    assert "홍길동".encode() in jsonstringify.to_bytes(body)


def test_payment_request_body_without_shopper_details_uses_the_api_customer():
    body = paycombat.payment_request_body(_request(shopper={}))
    assert body["additional_info"] == {"order_reference": "chk_3kTMd1ApGRq5hN7bVx2yWc", "customer_email": "api@example.com"}


def test_new_checkout_body_matches_the_seed_request_shape():
    seed = fixture("create_new_checkout_request.json")
    assert paycombat.new_checkout_body(seed["checkout_token"], "KDB산업은행") == seed


@pytest.mark.parametrize(("currency", "method", "bank", "expected"), [
    ("KRW", "virtual_account", "KDB산업은행", "KDB산업은행"),
    ("KRW", "virtual_account", "토스뱅크", "토스뱅크"),
    ("KRW", "virtual_account", None, None),
    ("KRW", "virtual_account", "", None),
])
def test_payin_method_is_the_chosen_bank(currency, method, bank, expected):
    assert paycombat.payin_method_name(currency, method, bank) == expected


@pytest.mark.parametrize(("currency", "method", "bank"), [
    ("KRW", "card", None), ("KRW", "bank_transfer", None), ("USD", "virtual_account", "KDB산업은행"),
    ("KRW", "virtual_account", "Chase"),
])
def test_unsupported_payin_choices_are_refused(currency, method, bank):
    with pytest.raises(base.ProviderRejected):
        paycombat.payin_method_name(currency, method, bank)


@pytest.mark.parametrize(("phone", "country", "e164"), [
    ("010-1234-5678", "KR", "+821012345678"),
    ("01012345678", "KR", "+821012345678"),
    ("+82 10 1234 5678", "KR", "+821012345678"),
    ("(02) 123-4567", "KR", "+8221234567"),
    ("+6285156789112", "KR", "+6285156789112"),
])
def test_phone_numbers_become_e164(phone, country, e164):
    assert paycombat.e164_phone(phone, country) == e164


@pytest.mark.parametrize(("data", "fields"), [
    ({"id": "x", "checkout_token": "t", "checkout_url": "https://pay.paycombat.com/x"}, ("x", "t", "https://pay.paycombat.com/x")),
    ({"id": "x", "checkout_token": "t", "checkout_url": "javascript:alert(1)"}, ("x", "t", None)),  # never followed
    ({"id": "x", "checkout_token": "t"}, ("x", "t", None)),
])
def test_checkout_fields(data, fields):
    assert paycombat.checkout_fields(data, "test") == fields


@pytest.mark.parametrize("data", [{"id": "x", "checkout_token": ""}, {"checkout_token": "t"}, [], None])
def test_checkout_without_id_or_token_is_a_provider_error(data):
    with pytest.raises(base.ProviderError):
        paycombat.checkout_fields(data, "test")


@pytest.mark.parametrize("body", [
    {"status": False, "message": "Unauthenticated", "data": None}, {"status": True}, {"data": {}}, [], "OK", None,
])
def test_envelopes_without_success_are_provider_errors(body):
    with pytest.raises(base.ProviderError):
        paycombat.envelope_data(body, "test")


# --- notifications ------------------------------------------------------------------

SEED_WEBHOOK = fixture("webhook_payin_success.json")
KEY = "sig_key_키"


def _signed(payload, key=KEY):
    body = jsonstringify.to_bytes(payload)
    return body, paycombat.sign(body, key)


def test_seed_webhook_names_our_reference_not_a_session():
    body, _ = _signed(SEED_WEBHOOK)
    note, updated_at = paycombat.notification_from_body(body)
    assert note == base.Notification(
        event="PAYIN SUCCESS", session_id=None, checkout_id="invoice_19032025_14414443",
        extra={"provider_id": "005e1272-baec-43f6-8f7b-8ab8ddda8144"},
    )
    assert updated_at == 1742374083


def test_signature_over_the_exact_bytes_verifies():
    body, signature = _signed(SEED_WEBHOOK)
    paycombat.verify_signature(body, signature, [KEY])
    paycombat.verify_signature(body, signature.upper(), [KEY])
    paycombat.verify_signature(body, signature, ["old-key", KEY])   # rotation


def test_signature_over_json_stringify_verifies_a_body_sent_in_another_layout():
    _, signature = _signed(SEED_WEBHOOK)
    pretty = json.dumps(SEED_WEBHOOK, indent=2, ensure_ascii=True).encode()
    paycombat.verify_signature(pretty, signature, [KEY])


def _tampered():
    body, signature = _signed(SEED_WEBHOOK)
    return body.replace(b'"amount":100', b'"amount":900'), signature


@pytest.mark.parametrize(("case", "message"), [
    (lambda: (_signed(SEED_WEBHOOK)[0], None), "missing X-Signature header"),
    (lambda: (_signed(SEED_WEBHOOK)[0], ""), "missing X-Signature header"),
    (lambda: (_signed(SEED_WEBHOOK)[0], "sha256=abc"), "X-Signature is not a hex HMAC-SHA256"),
    (lambda: _signed(SEED_WEBHOOK, key="forged-key"), "X-Signature does not match the body"),
    (_tampered, "X-Signature does not match the body"),
    (lambda: (b"not json", paycombat.sign(b"not json!", KEY)), "X-Signature does not match the body"),
], ids=["no-header", "empty-header", "not-hex", "forged", "tampered", "garbage"])
def test_bad_signatures_are_rejected_with_a_precise_reason(case, message):
    body, header = case()
    with pytest.raises(NotificationRejected) as rejected:
        paycombat.verify_signature(body, header, [KEY])
    assert rejected.value.message == message


@pytest.mark.parametrize(("changes", "message"), [
    ({"type": "PAYOUT"}, "PayCombat PAYOUT notifications are not for checkouts"),
    ({"status": "PENDING"}, "is not PAYIN SUCCESS/FAILED/EXPIRED"),
    ({"status": "success"}, "is not PAYIN SUCCESS/FAILED/EXPIRED"),
    ({"order_reference": ""}, "has no order_reference"),
    ({"order_reference": None}, "has no order_reference"),
    ({"updated_at": "yesterday"}, "has no updated_at"),
])
def test_notifications_we_do_not_act_on_are_rejected(changes, message):
    with pytest.raises(NotificationRejected) as rejected:
        paycombat.notification_from_body(jsonstringify.to_bytes({**SEED_WEBHOOK, **changes}))
    assert message in rejected.value.message


@pytest.mark.parametrize(("age_s", "ok"), [
    (0, True), (3600, True), (3 * 86400 - 1, True), (3 * 86400 + 1, False), (-299, True), (-301, False),
])
def test_notification_freshness(age_s, ok):
    now = 1_800_000_000
    if ok:
        paycombat.check_freshness(now - age_s, now)
    else:
        with pytest.raises(NotificationRejected):
            paycombat.check_freshness(now - age_s, now)


# --- wallets ------------------------------------------------------------------------

def _wallet(**changes):
    wallet = copy.deepcopy(fixture("create_wallet_response.json")["data"])
    wallet.update(is_deleted=False, wallet_id="w-1")
    wallet["wallet_account"][0].update(currency="KRW", is_deleted=False, available_balance=150000, actual_balance=180000)
    wallet.update(changes)
    return wallet


def test_the_seed_wallet_is_deleted_so_never_reused():
    seed = fixture("create_wallet_response.json")["data"]
    assert paycombat.find_wallet_id([seed], "string") is None


@pytest.mark.parametrize(("wallets", "found"), [
    ([_wallet()], "w-1"),
    ([_wallet(is_active=False), _wallet(wallet_id="w-2")], "w-2"),
    ([_wallet(is_deleted=True)], None),
    ([_wallet(wallet_account=[])], None),
    ([_wallet(wallet_account=[{**_wallet()["wallet_account"][0], "is_active": False}])], None),
    ([_wallet(wallet_account=[{**_wallet()["wallet_account"][0], "currency": "USD"}])], None),
    ([], None),
])
def test_find_wallet_for_krw(wallets, found):
    assert paycombat.find_wallet_id(wallets, "KRW") == found


def test_wallet_create_body():
    assert paycombat.wallet_create_body("m-1", "KRW", {"KRW"}, "https://pay.example/webhooks/paycombat/m-1") == {
        "customer_id": "m-1", "currency": "KRW", "currency_list": ["KRW"],
        "description": "hosted checkout m-1", "webhook_url": "https://pay.example/webhooks/paycombat/m-1",
    }
    assert "webhook_url" not in paycombat.wallet_create_body("m-1", "KRW", {"KRW"}, None)


def test_balances_are_int_minor_units():
    assert paycombat.balances_from_wallet(_wallet()) == {
        "available": [{"amount": 150000, "currency": "KRW"}],
        "total": [{"amount": 180000, "currency": "KRW"}],
    }


def test_an_inexact_balance_is_an_error_not_a_rounding():
    wallet = _wallet()
    wallet["wallet_account"][0]["available_balance"] = Decimal("150000.5")
    with pytest.raises(base.ProviderError):
        paycombat.balances_from_wallet(wallet)
