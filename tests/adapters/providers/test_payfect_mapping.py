"""Payfect's pure mapping, table by table: requests, exact amount strings, statuses, callbacks."""
import json
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from chalicelib.adapters.providers import base, payfect
from chalicelib.adapters.providers.http import HttpResponse
from chalicelib.domain import money
from chalicelib.domain.errors import NotificationRejected
from chalicelib.domain.model import Checkout, LineItem

FIXTURES = Path(__file__).parent / "fixtures" / "payfect"
SECRET = Fernet.generate_key().decode()
NOW_S = 1_760_000_000


def fixture(name: str):
    return HttpResponse(200, {}, (FIXTURES / name).read_bytes()).json()


def make_checkout(currency: str, *items: LineItem, checkout_id: str = "chk_2Xb9QmTz7LkP4vRw8NcY1sDe") -> Checkout:
    return Checkout(
        id=checkout_id, merchant_id="m-shop", status="processing", version=1, currency=currency, line_items=list(items),
        success_url="https://shop.example/thanks", cancel_url="https://shop.example/cart", provider="payfect",
        created_at_s=NOW_S, expires_at_s=NOW_S + 86400, locale="en", payment_method_types=["crypto"],
        collect_shipping_address=False,
    )


def item(unit_amount: int, quantity: int = 1, name: str = "item") -> LineItem:
    return LineItem(name=name, unit_amount=unit_amount, quantity=quantity)


def session_request(checkout: Checkout, method: str = "crypto", **urls: str) -> base.SessionRequest:
    return base.SessionRequest(
        checkout=checkout, attempt_id="att_1", method=method, shopper={"email": "shopper@example.com"},
        return_url=urls.get("return_url", "https://pay.example/r"), cancel_url=urls.get("cancel_url", "https://pay.example/c"),
        notify_url=urls.get("notify_url", "https://pay.example/webhooks/payfect/m-shop"),
    )


# --- the request ----------------------------------------------------------------------

@pytest.mark.parametrize("amount,currency,text", [
    (2050, "USDT", "20.5"),
    (2000, "USDT", "20"),
    (1999, "USDT", "19.99"),
    (5, "USDT", "0.05"),
    (10, "USDT", "0.1"),
    (100, "USDT", "1"),
    (0, "USDT", "0"),
    (100000000, "TWD", "1000000"),
    (123456789, "CNY", "1234567.89"),
])
def test_unit_amounts_are_exact_decimal_strings_written_like_the_seed(amount, currency, text):
    assert payfect.amount_text(amount, currency) == text
    assert money.from_major(text, currency) == amount


@pytest.mark.parametrize("currency,units", [
    ("USDT", [1999, 5, 100, 2050]),
    ("CNY", [1, 10, 99]),
    ("TWD", [100000, 33]),
])
def test_invoice_items_are_the_line_items_exactly(currency, units):
    checkout = make_checkout(currency, *[item(u, q + 1) for q, u in enumerate(units)])
    body = json.loads(payfect.encode(payfect.checkout_request(session_request(checkout))))
    for line, sent in zip(checkout.line_items, body["invoice_items"], strict=True):
        assert isinstance(sent["price_data"]["unit_amount"], str)
        assert money.from_major(sent["price_data"]["unit_amount"], currency) == line.unit_amount
        assert sent["quantity"] == line.quantity
        assert sent["price_data"]["currency"] == currency.lower()
    total = sum(Decimal(i["price_data"]["unit_amount"]) * i["quantity"] for i in body["invoice_items"])
    assert money.from_major(total, currency) == checkout.amount_total


def test_our_request_for_the_seeds_checkout_is_the_seeds_request():
    seed = json.loads((FIXTURES / "create_checkout_request.json").read_text())
    line = LineItem(name="Standard Plan", unit_amount=2050, quantity=1, description="A standard plan",
                    image_url="https://google.com.tw/images/123")
    checkout = make_checkout("USDT", line, checkout_id=seed["client_reference_id"])
    request = session_request(checkout, return_url=seed["success_url"], cancel_url=seed["cancel_url"],
                              notify_url=seed["callback_url"])
    assert payfect.checkout_request(request) == seed


def test_the_body_is_compact_utf8_json():
    checkout = make_checkout("USDT", item(2050, name="녹차"))
    body = payfect.encode(payfect.checkout_request(session_request(checkout)))
    assert "녹차".encode() in body and b", " not in body and b'"unit_amount":"20.5"' in body


@pytest.mark.parametrize("currency,method", [("USD", "crypto"), ("KRW", "crypto"), ("USDT", "card")])
def test_what_payfect_cannot_take_is_refused_before_sending(currency, method):
    with pytest.raises(base.ProviderRejected):
        payfect.checkout_request(session_request(make_checkout(currency, item(100)), method))


# --- statuses -------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("open", base.OPEN),
    ("complete", base.PAID),
    ("expired", base.EXPIRED),
    ("succeeded", base.UNKNOWN),     # a callback's word, not a checkout status
    ("paid", base.UNKNOWN),
    ("Complete", base.UNKNOWN),
    ("completed", base.UNKNOWN),
    ("", base.UNKNOWN),
    (None, base.UNKNOWN),
    (1, base.UNKNOWN),
])
def test_checkout_status_table(raw, expected):
    assert payfect.map_status(raw) == expected


def test_only_complete_is_paid():
    assert [raw for raw, state in payfect.STATUS_MAP.items() if state == base.PAID] == ["complete"]
    assert set(payfect.STATUS_MAP.values()) <= base.PAYMENT_STATES


# --- reads ----------------------------------------------------------------------------

SEED_ID = "ed8d24aa-a860-426b-8e56-87cb9f55a081"


def test_the_seeds_checkout_reads_as_open_in_minor_units():
    payment = payfect.payment_from_checkout(fixture("checkout_open.json"), SEED_ID)
    assert (payment.status, payment.raw_status) == (base.OPEN, "open")
    assert (payment.amount, payment.currency) == (2000, "USDT")
    assert payment.checkout_id is None
    assert payment.provider_reference == "b7c30e83-5439-47b2-ac4d-81c64c1d0174"
    assert payment.paid_at_s is None


def test_a_complete_checkout_reads_as_paid_with_its_time():
    data = fixture("checkout_open.json") | {"status": "complete", "clientReferenceId": "chk_2Xb9QmTz7LkP4vRw8NcY1sDe"}
    payment = payfect.payment_from_checkout(data, SEED_ID)
    assert (payment.status, payment.checkout_id, payment.method) == (base.PAID, "chk_2Xb9QmTz7LkP4vRw8NcY1sDe", "crypto")
    assert payment.paid_at_s == 1690532073


def test_the_seeds_create_answer_gives_the_hosted_page():
    session = payfect.created_checkout(fixture("checkout_open.json"))
    assert session.session_id == SEED_ID
    assert session.redirect_url == f"https://buy-dev.payfect.finance/checkouts/{SEED_ID}"


@pytest.mark.parametrize("changes", [
    {"amountTotal": "20.005"},
    {"amountTotal": "twenty"},
    {"amountTotal": True},
    {"currency": "doge"},
    {"id": "another"},
])
def test_a_read_that_does_not_convert_exactly_is_an_error(changes):
    with pytest.raises(base.ProviderError):
        payfect.payment_from_checkout(fixture("checkout_open.json") | changes, SEED_ID)


@pytest.mark.parametrize("payload", [{"id": SEED_ID}, {"url": "https://x"}, [], {"id": "", "url": "https://x"}])
def test_a_create_answer_without_id_or_url_is_an_error(payload):
    with pytest.raises(base.ProviderError):
        payfect.created_checkout(payload)


# --- callbacks ------------------------------------------------------------------------

CALLBACK = json.loads((FIXTURES / "callback_succeeded.json").read_text())
BODY = json.dumps(CALLBACK, separators=(",", ":")).encode()


def signed(payload, key: str = SECRET) -> dict:
    return {"X-Payfect-Signature": Fernet(key.encode()).encrypt(json.dumps(payload).encode()).decode()}


def test_a_callback_whose_signature_decrypts_to_its_body_is_verified():
    note = payfect.verify_callback(signed(CALLBACK), BODY, SECRET)
    assert note == base.Notification(event="checkout.succeeded", session_id=SEED_ID,
                                     checkout_id="5ae50223-e455-4a72-a48d-fe7d85800e64")


def test_json_is_compared_not_bytes():
    spaced = json.dumps(dict(reversed(list(CALLBACK.items()))), indent=2, ensure_ascii=False).encode()
    assert payfect.verify_callback(signed(CALLBACK), spaced, SECRET).session_id == SEED_ID
    assert payfect.verify_callback({"x-payfect-signature": payfect.sign_callback(CALLBACK, SECRET)}, BODY, SECRET).session_id == SEED_ID


REJECTED = [
    ("no header", {}, BODY),
    ("empty header", {"X-Payfect-Signature": ""}, BODY),
    ("another key", signed(CALLBACK, Fernet.generate_key().decode()), BODY),
    ("garbage token", {"X-Payfect-Signature": "not-a-fernet-token"}, BODY),
    ("body amount changed", signed(CALLBACK), BODY.replace(b'"20.00"', b'"2000.00"')),
    ("body reference changed", signed(CALLBACK), BODY.replace(b"5ae50223", b"00000000")),
    ("body status changed", signed(CALLBACK | {"status": "failed"}), BODY),
    ("field added", signed(CALLBACK), json.dumps(CALLBACK | {"extra": 1}).encode()),
    ("false became 0", signed(CALLBACK), BODY.replace(b'"is_livemode":false', b'"is_livemode":0')),
    ("body not json", signed(CALLBACK), b"id=ed8d24aa"),
    ("token holds no json", {"X-Payfect-Signature": Fernet(SECRET.encode()).encrypt(b"hello").decode()}, BODY),
    ("no id", signed({"status": "succeeded"}), json.dumps({"status": "succeeded"}).encode()),
]


@pytest.mark.parametrize("case,headers,body", REJECTED, ids=[c[0] for c in REJECTED])
def test_callbacks_that_fail_verification_are_rejected(case, headers, body):
    with pytest.raises(NotificationRejected):
        payfect.verify_callback(headers, body, SECRET)


def test_a_merchant_secret_that_is_no_fernet_key_rejects_without_showing_it():
    with pytest.raises(NotificationRejected) as raised:
        payfect.verify_callback(signed(CALLBACK), BODY, "not-a-fernet-key")
    assert "not-a-fernet-key" not in str(raised.value)


@pytest.mark.parametrize("a,b,same", [
    ({"a": [1, "x", None]}, {"a": [1, "x", None]}, True),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
    ({"a": True}, {"a": 1}, False),
    ({"a": 1}, {"a": Decimal("1.0")}, False),
    ({"a": "1"}, {"a": 1}, False),
    ({"a": [1, 2]}, {"a": [2, 1]}, False),
    ({"a": None}, {}, False),
])
def test_same_json_is_strict_about_types(a, b, same):
    assert payfect.same_json(a, b) is same
