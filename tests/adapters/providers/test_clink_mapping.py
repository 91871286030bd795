"""Clink's pure mapping, table by table: requests, exact amounts, statuses, events."""
import base64
import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.adapters.providers import base, clink
from chalicelib.adapters.providers.http import HttpResponse
from chalicelib.domain import money
from chalicelib.domain.errors import NotificationRejected
from chalicelib.domain.model import Checkout, LineItem
from tests.adapters.providers.fake_clink import sign_event

FIXTURES = Path(__file__).parent / "fixtures" / "clink"
KEY = "sk_test_5f1c0a8e2b7d4c9f"
NOW_S = 1_760_000_000


def fixture(name: str):
    """A recorded answer, parsed the way the adapter parses it (fractions as Decimal)."""
    return HttpResponse(200, {}, (FIXTURES / name).read_bytes()).json()


def make_checkout(currency: str, *items: tuple[int, int], checkout_id: str = "chk_2Xb9QmTz7LkP4vRw8NcY1sDe") -> Checkout:
    return Checkout(
        id=checkout_id, merchant_id="m-shop", status="processing", version=1, currency=currency,
        line_items=[LineItem(name=f"item {i}", unit_amount=amount, quantity=qty) for i, (amount, qty) in enumerate(items)],
        success_url="https://shop.example/thanks", cancel_url="https://shop.example/cart", provider="clink",
        created_at_s=NOW_S, expires_at_s=NOW_S + 86400, locale="en", payment_method_types=["card"],
        collect_shipping_address=False, customer={"email": "buyer@shop.example"},
    )


def session_request(checkout: Checkout, method: str = "card", email: str | None = "shopper@example.com") -> base.SessionRequest:
    return base.SessionRequest(
        checkout=checkout, attempt_id="att_1", method=method, shopper={"email": email} if email else {},
        return_url=f"https://pay.example/c/{checkout.id}/return", cancel_url=f"https://pay.example/c/{checkout.id}/cancel",
        notify_url="https://pay.example/webhooks/clink/m-shop",
    )


# --- the request ----------------------------------------------------------------------

@pytest.mark.parametrize("currency,unit_amount,number_text", [
    ("USD", 499, "4.99"),
    ("USD", 1999, "19.99"),
    ("USD", 5, "0.05"),
    ("USD", 100, "1.00"),
    ("USD", 10, "0.10"),
    ("USD", 123456789, "1234567.89"),
    ("KRW", 29000, "29000"),
    ("KRW", 1, "1"),
    ("JPY", 500, "500"),
    ("EUR", 1, "0.01"),
])
def test_price_data_numbers_are_the_exact_major_amount(currency, unit_amount, number_text):
    body = clink.encode_json(clink.session_request(session_request(make_checkout(currency, (unit_amount, 3)))))
    assert f'"unitAmount":{number_text},'.encode() in body
    parsed = json.loads(body, parse_float=Decimal)
    price = parsed["priceDataList"][0]
    assert money.from_major(price["unitAmount"], currency) == unit_amount
    assert money.from_major(parsed["originalAmount"], currency) == unit_amount * 3
    assert price["quantity"] == 3 and price["currency"] == currency


@pytest.mark.parametrize("currency,items,total_text", [
    ("USD", [(1999, 3), (5, 1)], "60.02"),
    ("USD", [(1, 7), (10, 3), (33, 3)], "1.36"),
    ("KRW", [(19000, 1), (3000, 1)], "22000"),
])
def test_original_amount_is_the_exact_sum_of_the_prices(currency, items, total_text):
    body = clink.encode_json(clink.session_request(session_request(make_checkout(currency, *items))))
    assert f'"originalAmount":{total_text},'.encode() in body
    parsed = json.loads(body, parse_float=Decimal)
    assert sum(p["unitAmount"] * p["quantity"] for p in parsed["priceDataList"]) == parsed["originalAmount"]


def test_the_request_names_our_checkout_the_shopper_and_our_urls():
    checkout = make_checkout("USD", (499, 1))
    body = clink.session_request(session_request(checkout))
    assert body["merchantReferenceId"] == checkout.id
    assert body["customerEmail"] == "shopper@example.com"
    assert body["successUrl"] == f"https://pay.example/c/{checkout.id}/return"
    assert body["cancelUrl"] == f"https://pay.example/c/{checkout.id}/cancel"
    assert body["originalCurrency"] == "USD"
    assert set(body) <= {
        "originalAmount", "originalCurrency", "customerId", "customerEmail", "merchantReferenceId", "priceId",
        "productId", "successUrl", "cancelUrl", "paymentMethodType", "paymentMethodTypeBlackList", "priceDataList",
        "allowPromotionCodes", "promotionCode",
    }


def test_the_checkout_customer_email_is_used_when_the_shopper_gave_none():
    assert clink.session_request(session_request(make_checkout("USD", (499, 1)), email=None))["customerEmail"] == "buyer@shop.example"


@pytest.mark.parametrize("method,method_type", [
    ("card", "CARD"), ("kakao_pay", "KAKAO"), ("wechat_pay", "WECHAT"), ("cash_app", "CASHAPP"),
])
def test_payment_methods_map_to_clink_types(method, method_type):
    assert clink.session_request(session_request(make_checkout("USD", (499, 1)), method))["paymentMethodType"] == method_type
    assert method in clink.Adapter.methods


@pytest.mark.parametrize("currency,method", [("TWD", "card"), ("USDT", "card"), ("USD", "virtual_account"), ("USD", "crypto")])
def test_what_clink_cannot_take_is_refused_before_sending(currency, method):
    with pytest.raises(base.ProviderRejected):
        clink.session_request(session_request(make_checkout(currency, (499, 1)), method))


def test_json_numbers_never_pass_through_float():
    assert clink.encode_json({"a": Decimal("0.10"), "b": [Decimal("29000"), 1, "한글", None, True]}) == \
        '{"a":0.10,"b":[29000,1,"한글",null,true]}'.encode()
    with pytest.raises(TypeError):
        clink.encode_json({"a": 4.99})
    with pytest.raises(ValueError):
        clink.encode_json({"a": Decimal("NaN")})


# --- statuses -------------------------------------------------------------------------

STATUS_CASES = [
    ("open", "unpaid", base.OPEN),
    ("complete", "paid", base.PAID),
    ("expired", "unpaid", base.EXPIRED),
    ("open", "paid", base.UNKNOWN),
    ("complete", "unpaid", base.UNKNOWN),
    ("expired", "paid", base.UNKNOWN),
    ("complete", "no_payment_required", base.UNKNOWN),
    ("complete", "PAID", base.UNKNOWN),
    ("COMPLETE", "paid", base.UNKNOWN),
    ("paid", "paid", base.UNKNOWN),
    ("succeeded", "paid", base.UNKNOWN),
    ("complete", None, base.UNKNOWN),
    (None, "paid", base.UNKNOWN),
    ("", "", base.UNKNOWN),
]


@pytest.mark.parametrize("status,payment_status,expected", STATUS_CASES)
def test_session_status_table(status, payment_status, expected):
    assert clink.map_status(status, payment_status) == expected


def test_only_a_complete_paid_session_is_paid():
    words = ["open", "complete", "expired", "paid", "unpaid", "processing", "failed", "", "Complete", "Paid"]
    paid = [(s, p) for s in words for p in words if clink.map_status(s, p) == base.PAID]
    assert paid == [("complete", "paid")]
    assert set(clink.STATUS_MAP.values()) <= base.PAYMENT_STATES


# --- reads ----------------------------------------------------------------------------

def test_a_recorded_complete_session_reads_as_paid_in_minor_units():
    payment = clink.payment_from_session(clink.unwrap(fixture("get_session_complete.json")), "sess_abc123xyz")
    assert payment.status == base.PAID
    assert payment.raw_status == "complete/paid"
    assert (payment.amount, payment.currency) == (9999, "USD")
    assert payment.checkout_id == "chk_2Xb9QmTz7LkP4vRw8NcY1sDe"
    assert payment.provider_reference == "ord_7Hq2Lm9Xc4"


def test_a_recorded_open_session_reads_as_open():
    payment = clink.payment_from_session(clink.unwrap(fixture("get_session_open.json")), "sess_abc123xyz")
    assert (payment.status, payment.amount, payment.provider_reference) == (base.OPEN, 9999, None)


def test_the_recorded_create_answer_gives_the_hosted_page():
    session = clink.created_session(clink.unwrap(fixture("create_session_response.json")))
    assert session.session_id == "sess_abc123xyz"
    assert session.redirect_url == "https://uat-checkout.clinkbill.com/pay/sess_abc123xyz"


@pytest.mark.parametrize("amount_total,currency,expected", [
    (Decimal("4.99"), "usd", 499),
    (29000, "KRW", 29000),
    (Decimal("29000.0"), "KRW", 29000),
    (Decimal("0.05"), "USD", 5),
])
def test_amounts_read_back_exactly_and_currency_upper_case(amount_total, currency, expected):
    data = dict(clink.unwrap(fixture("get_session_complete.json")), amountTotal=amount_total, originalCurrency=currency)
    payment = clink.payment_from_session(data, "sess_abc123xyz")
    assert (payment.amount, payment.currency) == (expected, currency.upper())


@pytest.mark.parametrize("changes", [
    {"amountTotal": Decimal("99.999")},
    {"amountTotal": Decimal("29000.5"), "originalCurrency": "KRW"},
    {"amountTotal": "lots"},
    {"amountTotal": True},
    {"originalCurrency": "XXX"},
    {"sessionId": "sess_other"},
])
def test_a_read_that_does_not_convert_exactly_is_an_error(changes):
    data = dict(clink.unwrap(fixture("get_session_complete.json")), **changes)
    with pytest.raises(base.ProviderError):
        clink.payment_from_session(data, "sess_abc123xyz")


@pytest.mark.parametrize("payload,error", [
    ({"code": 400, "msg": "CUSTOMER_NOT_FOUND", "data": None}, base.ProviderRejected),
    ({"code": 401, "msg": "invalid key"}, base.ProviderRejected),
    ({"code": 500, "msg": "busy"}, base.ProviderError),
    ({"code": 200, "msg": "success", "data": None}, base.ProviderError),
    (["not", "an", "object"], base.ProviderError),
])
def test_an_answer_whose_code_is_not_200_is_an_error(payload, error):
    with pytest.raises(error) as raised:
        clink.unwrap(payload)
    assert raised.type is error


@pytest.mark.parametrize("key,expected", [
    ("sk_test_abc", "https://uat-api.clinkbill.com"),
    ("sk_prod_abc", "https://api.clinkbill.com"),
    ("", "https://uat-api.clinkbill.com"),
])
def test_the_default_base_follows_the_key(key, expected):
    assert clink.Adapter.default_base({"api_key": key}) == expected


# --- notifications --------------------------------------------------------------------
# Signatures are made here with hmac directly (sign_event, in the fake), never with the adapter.

EVENT = (FIXTURES / "event_session_complete.json").read_bytes()
SECRET = "whsec_" + "dGVzdC1zaWduaW5nLXNlY3JldC1jbGluaw"
OLD = "whsec_" + "cHJldmlvdXMtc2lnbmluZy1zZWNyZXQ"
NOW_MS = NOW_S * 1000
EXPECTED = base.Notification(event="session.complete", session_id="sess_abc123xyz",
                             checkout_id="chk_2Xb9QmTz7LkP4vRw8NcY1sDe")


def digest(secret: str, stamp: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).digest()


@pytest.mark.parametrize("stamp", [str(NOW_MS), str(NOW_MS - 300_000), str(NOW_MS + 300_000), str(NOW_S),
                                   str(NOW_S - 300), str(NOW_S + 300)])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_a_signed_event_with_a_fresh_timestamp_is_verified(stamp, encoding):
    note = clink.verify_event(sign_event(EVENT, SECRET, stamp, encoding), EVENT, SECRET, NOW_S)
    assert note == EXPECTED


@pytest.mark.parametrize("writing", [
    lambda d: d.hex().upper(),
    lambda d: base64.b64encode(d).decode().rstrip("="),
    lambda d: base64.urlsafe_b64encode(d).decode(),
    lambda d: "  " + d.hex() + " ",
])
def test_the_same_digest_written_another_way_is_the_same_signature(writing):
    headers = {"X-Clink-Timestamp": str(NOW_MS), "X-Clink-Signature": writing(digest(SECRET, str(NOW_MS), EVENT))}
    assert clink.verify_event(headers, EVENT, SECRET, NOW_S) == EXPECTED


@pytest.mark.parametrize("secrets", [f"{SECRET},{OLD}", f"{OLD}, {SECRET}", [OLD, SECRET]])
def test_any_of_several_secrets_verifies_while_rotating(secrets):
    assert clink.verify_event(sign_event(EVENT, SECRET, str(NOW_MS)), EVENT, secrets, NOW_S) == EXPECTED


def _headers(**changes: str | None) -> dict[str, str]:
    headers = sign_event(EVENT, SECRET, str(NOW_MS))
    for name, value in changes.items():
        header = {"sig": "X-Clink-Signature", "ts": "X-Clink-Timestamp", "type": "X-Clink-SignType"}[name]
        if value is None:
            headers.pop(header)
        else:
            headers[header] = value
    return headers


REJECTED = [
    ("wrong secret", sign_event(EVENT, OLD, str(NOW_MS)), EVENT),
    ("the API key as secret", sign_event(EVENT, KEY, str(NOW_MS)), EVENT),
    ("stale by 301 s (ms)", sign_event(EVENT, SECRET, str(NOW_MS - 301_000)), EVENT),
    ("stale by 300.001 s", sign_event(EVENT, SECRET, str(NOW_MS - 301_000 + 999)), EVENT),
    ("future by 301 s (s)", sign_event(EVENT, SECRET, str(NOW_S + 301)), EVENT),
    ("tampered body", sign_event(EVENT, SECRET, str(NOW_MS)), EVENT.replace(b"99.99", b"0.99")),
    ("body with a byte added", sign_event(EVENT, SECRET, str(NOW_MS)), EVENT + b" "),
    ("timestamp changed after signing", _headers(ts=str(NOW_MS + 1)), EVENT),
    ("seconds swapped for ms after signing", _headers(ts=str(NOW_S)), EVENT),
    ("no signature", _headers(sig=None), EVENT),
    ("empty signature", _headers(sig=""), EVENT),
    ("no timestamp", _headers(ts=None), EVENT),
    ("odd timestamp", _headers(ts="2023-11-07T05:31:56Z"), EVENT),
    ("negative timestamp", _headers(ts="-1"), EVENT),
    ("truncated signature", _headers(sig=digest(SECRET, str(NOW_MS), EVENT).hex()[:-2]), EVENT),
    ("signature of the body only", _headers(sig=hmac.new(SECRET.encode(), EVENT, hashlib.sha256).hexdigest()), EVENT),
    ("another sign type", _headers(type="MD5"), EVENT),
    ("the old X-API-KEY echo", {"X-API-KEY": KEY, "X-Timestamp": str(NOW_MS)}, EVENT),
    ("not json, signed", sign_event(b"type=session.complete", SECRET, str(NOW_MS)), b"type=session.complete"),
    ("no data, signed", sign_event(b'{"type":"session.complete"}', SECRET, str(NOW_MS)), b'{"type":"session.complete"}'),
]


@pytest.mark.parametrize("case,headers,body", REJECTED, ids=[c[0] for c in REJECTED])
def test_events_that_fail_verification_are_rejected(case, headers, body):
    with pytest.raises(NotificationRejected):
        clink.verify_event(headers, body, SECRET, NOW_S)


@pytest.mark.parametrize("secrets", ["", " , ", [], None])
def test_a_merchant_without_a_signing_secret_verifies_nothing(secrets):
    with pytest.raises(NotificationRejected):
        clink.verify_event(sign_event(EVENT, "", str(NOW_MS)), EVENT, secrets, NOW_S)


def test_header_names_are_case_insensitive_and_the_secret_never_in_the_message():
    lower = {k.lower(): v for k, v in sign_event(EVENT, SECRET, str(NOW_MS)).items()}
    assert clink.verify_event(lower, EVENT, SECRET, NOW_S).session_id == "sess_abc123xyz"
    with pytest.raises(NotificationRejected) as raised:
        clink.verify_event(sign_event(EVENT, OLD, str(NOW_MS)), EVENT, SECRET, NOW_S)
    assert SECRET not in str(raised.value) and OLD not in str(raised.value)


@pytest.mark.parametrize("credentials,ok", [
    ({"api_key": KEY, "webhook_secret": SECRET}, True),
    ({"api_key": KEY, "webhook_secret": f"{SECRET},{OLD}"}, True),
    ({"api_key": KEY, "webhook_secret": ""}, False),
    ({"api_key": KEY, "webhook_secret": "whsec_short"}, False),
    ({"api_key": KEY, "webhook_secret": "whsec_has a space inside it"}, False),
])
def test_onboarding_checks_the_signing_secret(credentials, ok):
    if ok:
        clink.Adapter.check_credentials(credentials)
    else:
        with pytest.raises(ValueError):
            clink.Adapter.check_credentials(credentials)
