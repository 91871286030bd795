"""Clink end to end over HTTP: our app (Chalice's local server) against a local Clink
that enforces the documented contract; notifications sent the way Clink sends them."""
import json
import os
from decimal import Decimal

import pytest
import requests

from chalicelib import config as checkout_config
from chalicelib.adapters.providers import base, clink
from chalicelib.domain import clock
from chalicelib.domain.errors import InvalidRequest
from chalicelib.domain.model import Checkout, LineItem
from chalicelib.entrypoints import admin
from chalicelib.usecases import merchants
from tests.adapters.providers.fake_clink import FakeClink, sign_event
from tests.conftest import checkout_body, create_merchant
from tests.flow import csrf_token

KEY = "sk_test_9c2d7e1f4a6b8c0d"
SIGNING_SECRET = "whsec_" + "c2lnbmluZy1zZWNyZXQtZm9yLWNsaW5rLWZsb3c"
OLD_SECRET = "whsec_" + "b2xkLXNpZ25pbmctc2VjcmV0LWJlZm9yZS1yb3Q"
FROZEN_S = clock.now_s()


@pytest.fixture
def fake(monkeypatch):
    server = FakeClink(KEY, SIGNING_SECRET)
    monkeypatch.setenv("CLINK_API_BASE", server.url)
    checkout_config.settings.cache_clear()
    yield server
    server.close()


@pytest.fixture
def merchant(db, receiver, fake):
    return create_merchant(db, receiver.url, provider="clink",
                           credentials={"api_key": KEY, "webhook_secret": SIGNING_SECRET})


@pytest.fixture
def frozen(monkeypatch):
    """Our clock stands still, so a timestamp can be exactly 299 or 301 seconds old."""
    monkeypatch.setattr(clock, "now_s", lambda: FROZEN_S)
    return FROZEN_S


def create_checkout(server, merchant, **overrides) -> dict:
    body = checkout_body(
        currency="USD",
        line_items=[{"name": "Green tea", "unit_amount": 1999, "quantity": 2}, {"name": "Shipping", "unit_amount": 499, "quantity": 1}],
        customer={"email": "shopper@example.com"},
        collect_shipping_address=False,
        **overrides,
    )
    response = requests.post(f"{server.url}/api/checkouts", data=json.dumps(body), headers=merchant.headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def submit_form(server, checkout_id: str, method: str = "card") -> requests.Response:
    page = requests.get(f"{server.url}/c/{checkout_id}", timeout=10)
    assert page.status_code == 200
    token = csrf_token(page.text)
    form = {
        "csrf_token": token, "name": "홍길동", "email": "shopper@example.com", "phone": "+82 10 1234 5678",
        "payment_method": method, "agree": "1",
    }
    return requests.post(f"{server.url}/c/{checkout_id}", data=form, allow_redirects=False, timeout=20)


def notify(server, merchant, body: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{server.url}/webhooks/clink/{merchant.id}", data=body, headers=headers, timeout=20)


def signed(fake, body: bytes, timestamp_ms: int | None = None, secret: str | None = None, encoding: str = "hex") -> dict:
    """Clink's headers for ``body``: the fake's own HMAC, not the product's verifier."""
    return fake.signed(body, timestamp_ms, secret, encoding)


def read(server, merchant, checkout_id: str) -> dict:
    return requests.get(f"{server.url}/api/checkouts/{checkout_id}", headers=merchant.headers, timeout=10).json()


def paid_session(server, merchant, fake) -> tuple[dict, str]:
    """A checkout whose shopper went to Clink and paid there; returns it and the session id."""
    checkout = create_checkout(server, merchant)
    redirect = submit_form(server, checkout["id"])
    assert redirect.status_code == 303, redirect.text
    session_id = redirect.headers["Location"].rsplit("/", 1)[1]
    paid = requests.post(redirect.headers["Location"], allow_redirects=False, timeout=10)
    assert paid.status_code == 303
    return checkout, session_id


# --- the whole flow -----------------------------------------------------------------

def test_a_usd_checkout_is_paid_at_clink_and_completes_after_the_event(live_server, merchant, fake, receiver):
    checkout = create_checkout(live_server, merchant)
    assert checkout["amount_total"] == 4497

    redirect = submit_form(live_server, checkout["id"])
    assert redirect.status_code == 303, redirect.text
    session_id, = fake.sessions
    assert redirect.headers["Location"] == f"{fake.url}/pay/{session_id}"
    sent = fake.created[0]
    assert sent["merchantReferenceId"] == checkout["id"]
    assert sent["customerEmail"] == "shopper@example.com"
    assert sent["paymentMethodType"] == "CARD"
    assert sent["originalAmount"] == Decimal("44.97")
    assert [(p["name"], p["unitAmount"], p["quantity"]) for p in sent["priceDataList"]] == [
        ("Green tea", Decimal("19.99"), 2), ("Shipping", Decimal("4.99"), 1)]
    assert sent["successUrl"] == f"{live_server.url}/c/{checkout['id']}/return"
    assert read(live_server, merchant, checkout["id"])["status"] == "processing"

    # The shopper pays on Clink's page, which sends them back to our return URL.
    paid = requests.post(redirect.headers["Location"], allow_redirects=False, timeout=10)
    assert paid.status_code == 303
    assert paid.headers["Location"].startswith(f"{live_server.url}/c/{checkout['id']}/return")

    body = fake.event(session_id)
    event = notify(live_server, merchant, body, signed(fake, body))
    assert event.status_code == 200, event.text
    assert event.json() == {"received": True, "status": "complete"}

    done = read(live_server, merchant, checkout["id"])
    assert done["status"] == "complete"
    assert done["payment"]["amount"] == 4497 and done["payment"]["currency"] == "USD"
    assert done["payment"]["provider_session_id"] == session_id
    assert done["payment"]["method"] == "card"
    assert done["payment"]["provider_reference"] == fake.sessions[session_id]["orderId"]

    deliveries = receiver.verified(merchant.webhook_secret)
    assert len(deliveries) == 1
    assert deliveries[0]["type"] == "checkout.completed"
    assert deliveries[0]["data"]["id"] == checkout["id"]

    back = requests.get(paid.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 303
    assert back.headers["Location"] == f"https://shop.example/thanks?c={checkout['id']}"
    assert len(receiver.deliveries) == 1


def test_an_expired_session_event_opens_the_checkout_again_without_a_delivery(live_server, merchant, fake, receiver):
    checkout = create_checkout(live_server, merchant)
    assert submit_form(live_server, checkout["id"]).status_code == 303
    session_id, = fake.sessions
    fake.change(session_id, status="expired")
    body = fake.event(session_id, "session.expired")
    event = notify(live_server, merchant, body, signed(fake, body))
    assert event.status_code == 200, event.text
    assert read(live_server, merchant, checkout["id"])["status"] == "open"
    assert receiver.deliveries == []


# --- notifications that must change nothing ------------------------------------------

def assert_nothing_changed(server, merchant, checkout_id: str, receiver) -> None:
    current = read(server, merchant, checkout_id)
    assert current["status"] == "processing"
    assert current["payment"] is None
    assert receiver.deliveries == []


def forged(fake, session_id: str, case: str, now_ms: int) -> tuple[bytes, dict]:
    body = fake.event(session_id)
    if case == "wrong secret":
        return body, signed(fake, body, now_ms, secret="whsec_" + "A" * 38)
    if case == "the API key as the secret":
        return body, signed(fake, body, now_ms, secret=KEY)
    if case == "stale by 301 s":
        return body, signed(fake, body, now_ms - 301_000)
    if case == "dated 301 s ahead":
        return body, signed(fake, body, now_ms + 301_000)
    if case == "stale by 301 s, in seconds":
        return body, signed(fake, body, now_ms // 1000 - 301)
    if case == "tampered body":
        headers = signed(fake, body, now_ms)
        return body.replace(b'"object":"event"', b'"object":"event" '), headers
    if case == "fresh timestamp on an old signature":
        headers = signed(fake, body, now_ms - 400_000)
        return body, {**headers, "X-Clink-Timestamp": str(now_ms)}
    if case == "the old X-API-KEY echo":
        return body, {"Content-Type": "application/json", "X-API-KEY": KEY, "X-Timestamp": str(now_ms)}
    headers = signed(fake, body, now_ms)
    if case == "no signature":
        del headers["X-Clink-Signature"]
    elif case == "no timestamp":
        del headers["X-Clink-Timestamp"]
    elif case == "no headers":
        headers = {"Content-Type": "application/json"}
    elif case == "another sign type":
        headers["X-Clink-SignType"] = "MD5"
    return body, headers


FORGED = ["wrong secret", "the API key as the secret", "stale by 301 s", "dated 301 s ahead", "stale by 301 s, in seconds",
          "tampered body", "fresh timestamp on an old signature", "the old X-API-KEY echo", "no signature",
          "no timestamp", "no headers", "another sign type"]


@pytest.mark.parametrize("case", FORGED)
def test_forged_and_replayed_events_are_rejected(live_server, merchant, fake, receiver, frozen, case):
    checkout, session_id = paid_session(live_server, merchant, fake)
    body, headers = forged(fake, session_id, case, frozen * 1000)
    response = notify(live_server, merchant, body, headers)
    assert response.status_code == 400, case
    assert response.json()["error"]["code"] == "notification_rejected"
    assert KEY not in response.text and SIGNING_SECRET not in response.text
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


@pytest.mark.parametrize("offset_ms,unit,encoding", [
    (-299_000, "ms", "hex"), (299_000, "ms", "hex"), (0, "s", "hex"), (-299_000, "s", "hex"), (0, "ms", "base64"),
])
def test_a_genuine_event_up_to_five_minutes_off_completes_the_checkout(live_server, merchant, fake, receiver, frozen,
                                                                        offset_ms, unit, encoding):
    checkout, session_id = paid_session(live_server, merchant, fake)
    stamp = frozen * 1000 + offset_ms
    body = fake.event(session_id)
    headers = sign_event(body, SIGNING_SECRET, str(stamp if unit == "ms" else stamp // 1000), encoding)
    response = notify(live_server, merchant, body, headers)
    assert response.status_code == 200, response.text
    assert read(live_server, merchant, checkout["id"])["status"] == "complete"
    assert len(receiver.verified(merchant.webhook_secret)) == 1


def test_events_signed_with_the_previous_secret_pass_while_it_is_rotated(live_server, db, fake, receiver):
    rotating = create_merchant(db, receiver.url, provider="clink",
                               credentials={"api_key": KEY, "webhook_secret": f"{SIGNING_SECRET},{OLD_SECRET}"})
    checkout, session_id = paid_session(live_server, rotating, fake)
    body = fake.event(session_id)
    response = notify(live_server, rotating, body, signed(fake, body, secret=OLD_SECRET))
    assert response.status_code == 200, response.text
    assert read(live_server, rotating, checkout["id"])["status"] == "complete"


def test_an_event_whose_reference_was_changed_after_sending_is_rejected(live_server, merchant, fake, receiver):
    checkout, session_id = paid_session(live_server, merchant, fake)
    event = json.loads(fake.event(session_id))
    event["data"]["merchantReferenceId"] = "chk_" + "A" * 27
    body = json.dumps(event).encode()
    response = notify(live_server, merchant, body, signed(fake, body))
    assert response.status_code == 400
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


def test_an_event_claiming_payment_proves_nothing_without_the_read(live_server, merchant, fake, receiver):
    """Even a genuinely signed 'complete' event for an unpaid session completes nothing: the read decides."""
    checkout = create_checkout(live_server, merchant)
    assert submit_form(live_server, checkout["id"]).status_code == 303
    session_id, = fake.sessions
    event = json.loads(fake.event(session_id))
    event["data"].update(status="complete", paymentStatus="paid")
    body = json.dumps(event).encode()
    response = notify(live_server, merchant, body, signed(fake, body))
    assert response.status_code == 200
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


def test_an_event_for_another_merchants_endpoint_is_rejected(live_server, db, merchant, fake, receiver):
    other = create_merchant(db, receiver.url, provider="clink", credentials={
        "api_key": "sk_test_other0000000000", "webhook_secret": "whsec_" + "b3RoZXItbWVyY2hhbnRzLXNlY3JldA"})
    checkout, session_id = paid_session(live_server, merchant, fake)
    body = fake.event(session_id)
    response = requests.post(f"{live_server.url}/webhooks/clink/{other.id}", data=body,
                             headers=signed(fake, body), timeout=10)
    assert response.status_code == 400
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


# --- the read decides ---------------------------------------------------------------

@pytest.mark.parametrize("changes,amount,currency", [
    ({"amountTotal": Decimal("44.96")}, 4496, "USD"),
    ({"amountTotal": Decimal("4497")}, 449700, "USD"),
    ({"originalCurrency": "EUR"}, 4497, "EUR"),
])
def test_a_paid_read_with_another_amount_or_currency_is_flagged(live_server, merchant, fake, receiver, changes, amount, currency):
    checkout, session_id = paid_session(live_server, merchant, fake)
    fake.change(session_id, **changes)
    body = fake.event(session_id)
    response = notify(live_server, merchant, body, signed(fake, body))
    assert response.status_code == 200, response.text
    current = read(live_server, merchant, checkout["id"])
    assert current["status"] == "processing"
    assert current["amount_mismatch"] == {
        "provider": "clink", "provider_session_id": session_id,
        "expected_amount": 4497, "expected_currency": "USD", "amount": amount, "currency": currency,
    }
    assert receiver.deliveries == []
    back = requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=10)
    assert back.headers["Location"] == f"{live_server.url}/c/{checkout['id']}"


def test_a_read_with_more_digits_than_the_currency_changes_nothing(live_server, merchant, fake, receiver):
    checkout, session_id = paid_session(live_server, merchant, fake)
    fake.change(session_id, amountTotal=Decimal("44.970001"))
    body = fake.event(session_id)
    response = notify(live_server, merchant, body, signed(fake, body))
    assert response.status_code >= 500
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


# --- the fake holds us to Clink's contract -------------------------------------------

def direct_checkout(currency: str, *items: tuple[int, int]) -> Checkout:
    now = clock.now_s()
    return Checkout(
        id="chk_2Xb9QmTz7LkP4vRw8NcY1sDe", merchant_id="m-shop", status="processing", version=1, currency=currency,
        line_items=[LineItem(name=f"상품 {i}", unit_amount=a, quantity=q) for i, (a, q) in enumerate(items)],
        success_url="https://shop.example/thanks", cancel_url="https://shop.example/cart", provider="clink",
        created_at_s=now, expires_at_s=now + 3600, locale="ko", payment_method_types=["card"],
        collect_shipping_address=False,
    )


def direct_request(checkout: Checkout, method: str = "card") -> base.SessionRequest:
    return base.SessionRequest(
        checkout=checkout, attempt_id="att_1", method=method, shopper={"email": "shopper@example.com"},
        return_url="https://pay.example/r", cancel_url="https://pay.example/c", notify_url="https://pay.example/n",
    )


@pytest.mark.parametrize("currency,items", [
    ("USD", [(1999, 1), (5, 3), (100, 2)]),
    ("USD", [(1, 999)]),
    ("KRW", [(29000, 1), (3000, 2)]),
    ("JPY", [(1, 1)]),
    ("EUR", [(10, 7)]),
])
def test_what_we_send_adds_up_and_reads_back_exactly(fake, currency, items):
    adapter = clink.Adapter("m-shop", {"api_key": KEY}, fake.url)
    checkout = direct_checkout(currency, *items)
    session = adapter.create_session(direct_request(checkout, "kakao_pay"))
    payment = adapter.read_session(session.session_id)
    assert (payment.amount, payment.currency, payment.status) == (checkout.amount_total, currency, base.OPEN)
    assert payment.checkout_id == checkout.id
    assert fake.created[-1]["paymentMethodType"] == "KAKAO"


def post_to_fake(fake, body: bytes, key: str = KEY, timestamp_ms: int | None = None) -> requests.Response:
    stamp = clock.now_ms() if timestamp_ms is None else timestamp_ms
    headers = {"Content-Type": "application/json", "X-API-KEY": key, "X-Timestamp": str(stamp)}
    return requests.post(f"{fake.url}/api/checkout/session", data=body, headers=headers, timeout=10)


def our_body(**changes) -> bytes:
    body = clink.session_request(direct_request(direct_checkout("USD", (1999, 2), (499, 1))))
    body.update(changes)
    return clink.encode_json(body)


BROKEN = [
    ("items do not add up to originalAmount", our_body(originalAmount=Decimal("44.98"))),
    ("float artefact in a price", our_body().replace(b'"unitAmount":19.99', b'"unitAmount":19.990000000000002')),
    ("amount as a string", our_body().replace(b'"originalAmount":44.97', b'"originalAmount":"44.97"')),
    ("more digits than USD has (yet adding up)", our_body().replace(b'"unitAmount":4.99', b'"unitAmount":4.995').replace(
        b'"originalAmount":44.97', b'"originalAmount":44.975')),
    ("no customer", our_body(customerEmail=None)),
    ("wrong field name", our_body(amount=Decimal("44.97"))),
    ("price in another currency", clink.encode_json(
        json.loads(our_body(), parse_float=Decimal) | {"priceDataList": [
            {"name": "x", "unitAmount": Decimal("44.97"), "quantity": 1, "currency": "EUR"}]})),
    ("unknown payment method type", our_body(paymentMethodType="PAYPAL")),
]


@pytest.mark.parametrize("case,body", BROKEN, ids=[case for case, _ in BROKEN])
def test_the_fake_rejects_requests_that_break_the_contract(fake, case, body):
    response = post_to_fake(fake, body)
    assert response.status_code == 400, case
    assert response.json()["code"] == 400 and response.json()["data"] is None
    assert fake.sessions == {}


@pytest.mark.parametrize("case,key,timestamp_ms", ids=["wrong key", "stale", "seconds"], argvalues=[
    ("wrong key", "sk_test_wrong", None),
    ("stale timestamp", KEY, clock.now_ms() - 600_000),
    ("seconds timestamp", KEY, clock.now_s()),
])
def test_the_fake_rejects_unauthenticated_requests(fake, case, key, timestamp_ms):
    response = post_to_fake(fake, our_body(), key, timestamp_ms)
    assert response.status_code == 401, case
    assert fake.sessions == {}


def test_a_refused_create_is_a_rejection_without_the_key_in_it(fake):
    adapter = clink.Adapter("m-shop", {"api_key": "sk_test_not_the_merchants"}, fake.url)
    with pytest.raises(base.ProviderRejected) as raised:
        adapter.create_session(direct_request(direct_checkout("USD", (499, 1))))
    assert "sk_test_not_the_merchants" not in str(raised.value)


def test_a_create_that_fails_is_not_repeated(fake):
    fake.faults.append("500")
    adapter = clink.Adapter("m-shop", {"api_key": KEY}, fake.url)
    with pytest.raises(base.ProviderError) as raised:
        adapter.create_session(direct_request(direct_checkout("USD", (499, 1))))
    assert raised.value.fallback_ok
    assert len(fake.requests) == 1


def test_a_provider_failure_reopens_the_checkout(live_server, merchant, fake, receiver):
    checkout = create_checkout(live_server, merchant)
    fake.faults.append("500")
    response = submit_form(live_server, checkout["id"])
    assert response.status_code == 502
    assert read(live_server, merchant, checkout["id"])["status"] == "open"
    assert fake.sessions == {}


# --- onboarding ---------------------------------------------------------------------

def test_the_admin_cli_creates_a_clink_merchant(db, monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))   # admin.run loads the stage into the environment
    result = admin.run(["merchant", "create", "--id", "clink-shop", "--name", "Clink Shop", "--provider", "clink",
                        "--credential", f"api_key={KEY}", "--credential", f"webhook_secret={SIGNING_SECRET}",
                        "--allowed-host", "shop.example"])
    assert result["merchant_id"] == "clink-shop" and result["api_key"].startswith("sk_test_")
    stored = merchants.get(db, "clink-shop")
    assert stored.provider == "clink"
    assert stored.credentials() == {"api_key": KEY, "webhook_secret": SIGNING_SECRET}
    stored_text = json.dumps(db.get("MERCHANT#clink-shop", "MERCHANT"), default=str)
    assert KEY not in stored_text and SIGNING_SECRET not in stored_text
    shown = admin.run(["merchant", "show", "--id", "clink-shop"])
    assert shown["credential_names"] == ["api_key", "webhook_secret"]
    assert KEY not in json.dumps(shown) and SIGNING_SECRET not in json.dumps(shown)


def test_merchant_update_rotates_the_clink_signing_secret_and_keeps_the_rest(db, monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    admin.run(["merchant", "create", "--id", "clink-rot", "--name", "Clink Shop", "--provider", "clink",
               "--credential", f"api_key={KEY}", "--credential", f"webhook_secret={OLD_SECRET}"])
    shown = admin.run(["merchant", "update", "--id", "clink-rot", "--credential", f"webhook_secret={SIGNING_SECRET},{OLD_SECRET}"])
    assert shown["credential_names"] == ["api_key", "webhook_secret"] and SIGNING_SECRET not in json.dumps(shown)
    stored = merchants.get(db, "clink-rot", fresh=True)
    assert stored.credentials() == {"api_key": KEY, "webhook_secret": f"{SIGNING_SECRET},{OLD_SECRET}"}
    assert SIGNING_SECRET not in json.dumps(db.get("MERCHANT#clink-rot", "MERCHANT"), default=str)
    for bad in (["webhook_secret=short"], ["secret_key=x"]):
        with pytest.raises(InvalidRequest) as refused:
            admin.run(["merchant", "update", "--id", "clink-rot", *[f"--credential={pair}" for pair in bad]])
        assert refused.value.param == "credential"
    assert merchants.get(db, "clink-rot", fresh=True).credentials()["webhook_secret"] == f"{SIGNING_SECRET},{OLD_SECRET}"


@pytest.mark.parametrize("credentials", [[], ["api_key=sk_test_a"], ["api_key=sk_test_a", "secret_key=x"],
                                         ["api_key=sk_test_a", "webhook_secret=short"]])
def test_the_admin_cli_insists_on_exactly_the_clink_credentials(db, monkeypatch, credentials):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    argv = ["merchant", "create", "--id", "clink-shop", "--name", "Clink Shop", "--provider", "clink"]
    for pair in credentials:
        argv += ["--credential", pair]
    with pytest.raises(InvalidRequest):
        admin.run(argv)


# --- refunds ------------------------------------------------------------------------

def refund(server, merchant, checkout_id: str, body: dict | None = None) -> requests.Response:
    return requests.post(f"{server.url}/api/checkouts/{checkout_id}/refunds", headers=merchant.headers,
                         data=json.dumps(body) if body is not None else "", timeout=20)


def completed(server, merchant, fake) -> tuple[dict, str]:
    checkout, session_id = paid_session(server, merchant, fake)
    body = fake.event(session_id)
    assert notify(server, merchant, body, signed(fake, body)).status_code == 200
    assert read(server, merchant, checkout["id"])["status"] == "complete"
    return checkout, session_id


def test_a_partial_refund_then_the_rest_refund_the_checkout_at_clink(live_server, merchant, fake, receiver):
    checkout, session_id = completed(live_server, merchant, fake)
    first = refund(live_server, merchant, checkout["id"], {"amount": 1000, "reason": "한 개 반품"})
    assert first.status_code == 201, first.text
    assert first.json()["checkout"]["status"] == "partially_refunded"
    rest = refund(live_server, merchant, checkout["id"])
    assert rest.status_code == 201, rest.text
    assert rest.json()["amount"] == 3497 and rest.json()["checkout"]["status"] == "refunded"

    sent = fake.refund_requests
    assert [r["refundAmount"] for r in sent] == [Decimal("10.00"), Decimal("34.97")]
    assert [r["refundMerchantOrderId"] for r in sent] == [first.json()["id"], rest.json()["id"]]
    assert len({r["refundMerchantOrderId"] for r in sent}) == 2
    assert {r["orderId"] for r in sent} == {fake.sessions[session_id]["orderId"]}
    assert sent[0]["remark"] == "한 개 반품" and sent[0]["refundReasonType"] in (0, 1, 2, 3)
    raw = [r.body for r in fake.requests if r.path == "/api/refund"]
    assert b'"refundAmount":10.00' in raw[0] and b'"refundAmount":34.97' in raw[1]
    assert first.json()["provider_refund_id"] == fake.refunds[first.json()["id"]]["refundId"]
    assert [d["type"] for d in receiver.verified(merchant.webhook_secret)] == [
        "checkout.completed", "checkout.refunded", "checkout.refunded"]
    assert refund(live_server, merchant, checkout["id"], {"amount": 1}).status_code == 409


def test_a_repeated_refund_request_is_one_refund_at_clink(live_server, merchant, fake):
    checkout, session_id = completed(live_server, merchant, fake)
    adapter = clink.Adapter(merchant.id, {"api_key": KEY, "webhook_secret": SIGNING_SECRET}, fake.url)
    first = adapter.refund(session_id, 499, "USD", None, "re_retry0000000000000000001")
    again = adapter.refund(session_id, 499, "USD", None, "re_retry0000000000000000001")
    assert first == again and len(fake.refunds) == 1 and len(fake.refund_requests) == 2
    read_back = adapter.read_refund(session_id, "re_retry0000000000000000001")
    assert (read_back.status, read_back.amount, read_back.currency) == (base.REFUND_SUCCEEDED, 499, "USD")
    assert read_back.provider_refund_id == first
    with pytest.raises(base.ProviderRejected):
        adapter.refund(session_id, 4497 - 499 + 1, "USD", None, "re_toomuch000000000000000001")
    with pytest.raises(base.ProviderRejected):
        adapter.read_refund(session_id, "re_neverasked00000000000001")


def test_clink_refuses_an_amount_that_is_not_exact_in_major_units(live_server, merchant, fake):
    _, session_id = completed(live_server, merchant, fake)
    body = {"orderId": fake.sessions[session_id]["orderId"], "refundMerchantOrderId": "re_x",
            "refundAmount": Decimal("1.005"), "refundReasonType": 0, "remark": ""}
    response = requests.post(f"{fake.url}/api/refund", data=clink.encode_json(body), timeout=10, headers={
        "Content-Type": "application/json", "X-API-KEY": KEY, "X-Timestamp": str(clock.now_ms())})
    assert response.status_code == 400 and fake.refunds == {}


def test_a_refund_body_carries_our_refund_id_and_the_exact_amount():
    body = clink.refund_request("ord_1", 1005, "USD", "x" * 300, "re_1")
    assert clink.encode_json(body) == (
        b'{"orderId":"ord_1","refundMerchantOrderId":"re_1","refundAmount":10.05,"refundReasonType":0,'
        b'"remark":"' + b"x" * 200 + b'"}')
    assert clink.encode_json(clink.refund_request("ord_1", 29000, "KRW", None, "re_2")).count(b'"refundAmount":29000,') == 1


@pytest.mark.parametrize("raw,status", [("succeeded", base.REFUND_SUCCEEDED), ("SUCCEEDED", base.REFUND_SUCCEEDED),
                                        ("created", base.REFUND_PENDING), ("failed", base.REFUND_FAILED),
                                        ("reversed", base.REFUND_UNKNOWN), (None, base.REFUND_UNKNOWN)])
def test_refund_statuses_map_to_a_closed_set(raw, status):
    refund_read = clink.refund_from_answer({"refundMerchantOrderId": "re_1", "status": raw,
                                            "refundAmount": Decimal("1.50"), "refundCurrency": "USD"}, "re_1", None)
    assert (refund_read.status, refund_read.amount) == (status, 150)
    with pytest.raises(base.ProviderError):
        clink.refund_from_answer({"refundMerchantOrderId": "re_2", "status": "succeeded"}, "re_1", None)
