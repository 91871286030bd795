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
from tests.adapters.providers.fake_clink import FakeClink
from tests.conftest import checkout_body, create_merchant
from tests.flow import csrf_token

KEY = "sk_test_9c2d7e1f4a6b8c0d"
FROZEN_S = clock.now_s()


@pytest.fixture
def fake(monkeypatch):
    server = FakeClink(KEY)
    monkeypatch.setenv("CLINK_API_BASE", server.url)
    checkout_config.settings.cache_clear()
    yield server
    server.close()


@pytest.fixture
def merchant(db, receiver, fake):
    return create_merchant(db, receiver.url, provider="clink", credentials={"api_key": KEY})


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


def clink_headers(timestamp_ms: int, key: str = KEY) -> dict:
    return {"Content-Type": "application/json", "X-API-KEY": key, "X-Timestamp": str(timestamp_ms)}


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

    event = notify(live_server, merchant, fake.event(session_id), clink_headers(clock.now_ms()))
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
    event = notify(live_server, merchant, fake.event(session_id, "session.expired"), clink_headers(clock.now_ms()))
    assert event.status_code == 200, event.text
    assert read(live_server, merchant, checkout["id"])["status"] == "open"
    assert receiver.deliveries == []


# --- notifications that must change nothing ------------------------------------------

def assert_nothing_changed(server, merchant, checkout_id: str, receiver) -> None:
    current = read(server, merchant, checkout_id)
    assert current["status"] == "processing"
    assert current["payment"] is None
    assert receiver.deliveries == []


@pytest.mark.parametrize("case,offset_ms,key", [
    ("forged key", 0, "sk_test_0000000000000000"),
    ("another merchant's key shape", 0, "sk_prod_9c2d7e1f4a6b8c0d"),
    ("replayed 301 s later", -301_000, KEY),
    ("dated 301 s in the future", 301_000, KEY),
])
def test_forged_and_replayed_events_are_rejected(live_server, merchant, fake, receiver, frozen, case, offset_ms, key):
    checkout, session_id = paid_session(live_server, merchant, fake)
    response = notify(live_server, merchant, fake.event(session_id), clink_headers(frozen * 1000 + offset_ms, key))
    assert response.status_code == 400, case
    assert response.json()["error"]["code"] == "notification_rejected"
    assert KEY not in response.text
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


@pytest.mark.parametrize("offset_ms", [-299_000, 299_000])
def test_an_event_up_to_five_minutes_old_or_early_is_accepted(live_server, merchant, fake, receiver, frozen, offset_ms):
    checkout, session_id = paid_session(live_server, merchant, fake)
    response = notify(live_server, merchant, fake.event(session_id), clink_headers(frozen * 1000 + offset_ms))
    assert response.status_code == 200, response.text
    assert read(live_server, merchant, checkout["id"])["status"] == "complete"
    assert len(receiver.verified(merchant.webhook_secret)) == 1


@pytest.mark.parametrize("drop", ["X-API-KEY", "X-Timestamp"])
def test_events_missing_a_header_are_rejected(live_server, merchant, fake, receiver, drop):
    checkout, session_id = paid_session(live_server, merchant, fake)
    headers = clink_headers(clock.now_ms())
    del headers[drop]
    response = notify(live_server, merchant, fake.event(session_id), headers)
    assert response.status_code == 400
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


def test_an_event_whose_reference_was_changed_after_sending_is_rejected(live_server, merchant, fake, receiver):
    checkout, session_id = paid_session(live_server, merchant, fake)
    event = json.loads(fake.event(session_id))
    event["data"]["merchantReferenceId"] = "chk_" + "A" * 27
    response = notify(live_server, merchant, json.dumps(event).encode(), clink_headers(clock.now_ms()))
    assert response.status_code == 400
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


def test_an_event_claiming_payment_proves_nothing_without_the_read(live_server, merchant, fake, receiver):
    """Clink signs no body: a tampered 'complete' event for an unpaid session completes nothing."""
    checkout = create_checkout(live_server, merchant)
    assert submit_form(live_server, checkout["id"]).status_code == 303
    session_id, = fake.sessions
    event = json.loads(fake.event(session_id))
    event["data"].update(status="complete", paymentStatus="paid")
    response = notify(live_server, merchant, json.dumps(event).encode(), clink_headers(clock.now_ms()))
    assert response.status_code == 200
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


def test_an_event_for_another_merchants_endpoint_is_rejected(live_server, db, merchant, fake, receiver):
    other = create_merchant(db, receiver.url, provider="clink", credentials={"api_key": "sk_test_other0000000000"})
    checkout, session_id = paid_session(live_server, merchant, fake)
    response = requests.post(f"{live_server.url}/webhooks/clink/{other.id}", data=fake.event(session_id),
                             headers=clink_headers(clock.now_ms()), timeout=10)
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
    response = notify(live_server, merchant, fake.event(session_id), clink_headers(clock.now_ms()))
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
    response = notify(live_server, merchant, fake.event(session_id), clink_headers(clock.now_ms()))
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
    headers = clink_headers(clock.now_ms() if timestamp_ms is None else timestamp_ms, key)
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
                        "--credential", f"api_key={KEY}", "--allowed-host", "shop.example"])
    assert result["merchant_id"] == "clink-shop" and result["api_key"].startswith("sk_test_")
    stored = merchants.get(db, "clink-shop")
    assert stored.provider == "clink"
    assert stored.credentials() == {"api_key": KEY}
    assert KEY not in json.dumps(db.get("MERCHANT#clink-shop", "MERCHANT"), default=str)
    shown = admin.run(["merchant", "show", "--id", "clink-shop"])
    assert shown["credential_names"] == ["api_key"] and KEY not in json.dumps(shown)


@pytest.mark.parametrize("credentials", [[], ["api_key=sk_test_a", "secret_key=x"]])
def test_the_admin_cli_insists_on_exactly_the_clink_credentials(db, monkeypatch, credentials):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    argv = ["merchant", "create", "--id", "clink-shop", "--name", "Clink Shop", "--provider", "clink"]
    for pair in credentials:
        argv += ["--credential", pair]
    with pytest.raises(InvalidRequest):
        admin.run(argv)
