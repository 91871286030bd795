"""Payfect end to end over HTTP: our app (Chalice's local server) against a local Payfect
that enforces the documented contract; callbacks signed the way Payfect signs them."""
import json
import os

import pytest
import requests
from cryptography.fernet import Fernet

from chalicelib import config as checkout_config
from chalicelib.adapters.providers import base, payfect
from chalicelib.domain import clock
from chalicelib.domain.errors import InvalidRequest
from chalicelib.domain.model import Checkout, LineItem
from chalicelib.entrypoints import admin
from chalicelib.usecases import merchants
from tests.adapters.providers.fake_payfect import FakePayfect
from tests.conftest import checkout_body, create_merchant
from tests.flow import csrf_token

API_KEY = "5a31f3a4-279c-11ee-be56-0242ac120002"
SECRET = Fernet.generate_key().decode()


@pytest.fixture
def fake(monkeypatch):
    server = FakePayfect(API_KEY)
    monkeypatch.setenv("PAYFECT_API_BASE", server.url)
    checkout_config.settings.cache_clear()
    yield server
    server.close()


@pytest.fixture
def merchant(db, receiver, fake):
    return create_merchant(db, receiver.url, provider="payfect", credentials={"api_key": API_KEY, "secret_key": SECRET})


def create_checkout(server, merchant, **overrides) -> dict:
    body = checkout_body(
        currency="USDT",
        line_items=[{"name": "Standard Plan", "unit_amount": 2050, "quantity": 1}, {"name": "Add-on", "unit_amount": 5, "quantity": 3}],
        payment_method_types=["crypto"],
        **overrides,
    )
    response = requests.post(f"{server.url}/api/checkouts", data=json.dumps(body), headers=merchant.headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def submit_form(server, checkout_id: str) -> requests.Response:
    page = requests.get(f"{server.url}/c/{checkout_id}", timeout=10)
    assert page.status_code == 200
    token = csrf_token(page.text)
    form = {
        "csrf_token": token, "name": "홍길동", "email": "shopper@example.com", "phone": "+82 10 1234 5678",
        "payment_method": "crypto", "agree": "1",
    }
    return requests.post(f"{server.url}/c/{checkout_id}", data=form, allow_redirects=False, timeout=20)


def notify(server, merchant, body: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{server.url}/webhooks/payfect/{merchant.id}", data=body, headers=headers, timeout=20)


def read(server, merchant, checkout_id: str) -> dict:
    return requests.get(f"{server.url}/api/checkouts/{checkout_id}", headers=merchant.headers, timeout=10).json()


def paid_checkout(server, merchant, fake) -> tuple[dict, str]:
    """A checkout whose shopper went to Payfect and paid there; returns it and Payfect's checkout id."""
    checkout = create_checkout(server, merchant)
    redirect = submit_form(server, checkout["id"])
    assert redirect.status_code == 303, redirect.text
    payfect_id = redirect.headers["Location"].rsplit("/", 1)[1]
    assert requests.post(redirect.headers["Location"], allow_redirects=False, timeout=10).status_code == 303
    return checkout, payfect_id


def assert_nothing_changed(server, merchant, checkout_id: str, receiver) -> None:
    current = read(server, merchant, checkout_id)
    assert current["status"] == "processing"
    assert current["payment"] is None
    assert receiver.deliveries == []


# --- the whole flow -----------------------------------------------------------------

def test_a_usdt_checkout_is_paid_at_payfect_and_completes_after_the_callback(live_server, merchant, fake, receiver):
    checkout = create_checkout(live_server, merchant)
    assert checkout["amount_total"] == 2065

    redirect = submit_form(live_server, checkout["id"])
    assert redirect.status_code == 303, redirect.text
    payfect_id, = fake.checkouts
    assert redirect.headers["Location"] == f"{fake.url}/checkouts/{payfect_id}"
    sent = fake.created[0]
    assert sent["client_reference_id"] == checkout["id"]
    assert sent["currency"] == "usdt"
    assert [(i["price_data"]["unit_amount"], i["quantity"]) for i in sent["invoice_items"]] == [("20.5", 1), ("0.05", 3)]
    assert sent["payment_method_data"] == {"type": "cryptopaymentmethoddetail",
                                           "paymentMethodDetail": {"currency": "usdt", "network": "tron"}}
    assert sent["callback_url"] == f"{live_server.url}/webhooks/payfect/{merchant.id}"
    assert sent["success_url"] == f"{live_server.url}/c/{checkout['id']}/return"
    assert fake.checkouts[payfect_id]["amountTotal"] == "20.65"

    paid = requests.post(redirect.headers["Location"], allow_redirects=False, timeout=10)
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"{live_server.url}/c/{checkout['id']}/return"

    body, headers = fake.callback(payfect_id, SECRET)
    callback = notify(live_server, merchant, body, headers)
    assert callback.status_code == 200, callback.text
    assert callback.json() == {"received": True, "status": "complete"}

    done = read(live_server, merchant, checkout["id"])
    assert done["status"] == "complete"
    assert (done["payment"]["amount"], done["payment"]["currency"], done["payment"]["method"]) == (2065, "USDT", "crypto")
    assert done["payment"]["provider_session_id"] == payfect_id
    assert done["payment"]["provider_reference"] == fake.checkouts[payfect_id]["paymentIntent"]

    deliveries = receiver.verified(merchant.webhook_secret)
    assert len(deliveries) == 1
    assert deliveries[0]["type"] == "checkout.completed"
    assert deliveries[0]["data"]["id"] == checkout["id"]

    back = requests.get(paid.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 303
    assert back.headers["Location"] == f"https://shop.example/thanks?c={checkout['id']}"
    assert len(receiver.deliveries) == 1


def test_a_replayed_callback_is_harmless(live_server, merchant, fake, receiver):
    """Payfect documents no TTL for its tokens: a replay only makes us read again, and completion happens once."""
    checkout, payfect_id = paid_checkout(live_server, merchant, fake)
    body, headers = fake.callback(payfect_id, SECRET)
    for _ in range(3):
        response = notify(live_server, merchant, body, headers)
        assert response.status_code == 200
        assert response.json()["status"] == "complete"
    assert len(receiver.verified(merchant.webhook_secret)) == 1


def test_the_return_alone_completes_a_paid_checkout(live_server, merchant, fake, receiver):
    checkout, _ = paid_checkout(live_server, merchant, fake)
    back = requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=10)
    assert back.headers["Location"] == f"https://shop.example/thanks?c={checkout['id']}"
    assert len(receiver.verified(merchant.webhook_secret)) == 1


def test_a_callback_before_payment_completes_nothing(live_server, merchant, fake, receiver):
    checkout = create_checkout(live_server, merchant)
    assert submit_form(live_server, checkout["id"]).status_code == 303
    payfect_id, = fake.checkouts
    body, headers = fake.callback(payfect_id, SECRET)     # genuine signature, but the checkout is open
    assert notify(live_server, merchant, body, headers).status_code == 200
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


# --- callbacks that must change nothing ----------------------------------------------

def test_a_callback_signed_with_another_key_is_rejected(live_server, merchant, fake, receiver):
    checkout, payfect_id = paid_checkout(live_server, merchant, fake)
    body, headers = fake.callback(payfect_id, Fernet.generate_key().decode())
    response = notify(live_server, merchant, body, headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "notification_rejected"
    assert SECRET not in response.text
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


def test_a_callback_without_its_signature_is_rejected(live_server, merchant, fake, receiver):
    checkout, payfect_id = paid_checkout(live_server, merchant, fake)
    body, headers = fake.callback(payfect_id, SECRET)
    del headers["X-Payfect-Signature"]
    assert notify(live_server, merchant, body, headers).status_code == 400
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


@pytest.mark.parametrize("field,value", [
    ("amount", "0.01"),
    ("client_reference_id", "chk_AAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ("id", "00000000-0000-0000-0000-000000000000"),
    ("status", "succeeded "),
])
def test_a_callback_changed_after_signing_is_rejected(live_server, merchant, fake, receiver, field, value):
    checkout, payfect_id = paid_checkout(live_server, merchant, fake)
    payload = fake.callback_payload(payfect_id)
    headers = {"Content-Type": "application/json", "X-Payfect-Signature": fake.sign(payload, SECRET)}
    tampered = json.dumps(payload | {field: value}).encode()
    assert notify(live_server, merchant, tampered, headers).status_code == 400
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


def test_another_checkouts_signature_does_not_cover_this_body(live_server, merchant, fake, receiver):
    checkout, payfect_id = paid_checkout(live_server, merchant, fake)
    other = create_checkout(live_server, merchant)
    assert submit_form(live_server, other["id"]).status_code == 303
    other_id = next(i for i in fake.checkouts if i != payfect_id)
    _, other_headers = fake.callback(other_id, SECRET)
    body, _ = fake.callback(payfect_id, SECRET)
    assert notify(live_server, merchant, body, other_headers).status_code == 400
    assert_nothing_changed(live_server, merchant, checkout["id"], receiver)


# --- the read decides ---------------------------------------------------------------

@pytest.mark.parametrize("changes,amount,currency", [
    ({"amountTotal": "20.64"}, 2064, "USDT"),
    ({"amountTotal": "2065.00"}, 206500, "USDT"),
    ({"currency": "cny"}, 2065, "CNY"),
])
def test_a_paid_read_with_another_amount_or_currency_is_flagged(live_server, merchant, fake, receiver, changes, amount, currency):
    checkout, payfect_id = paid_checkout(live_server, merchant, fake)
    fake.change(payfect_id, **changes)
    body, headers = fake.callback(payfect_id, SECRET)
    assert notify(live_server, merchant, body, headers).status_code == 200
    current = read(live_server, merchant, checkout["id"])
    assert current["status"] == "processing"
    assert current["amount_mismatch"] == {
        "provider": "payfect", "provider_session_id": payfect_id,
        "expected_amount": 2065, "expected_currency": "USDT", "amount": amount, "currency": currency,
    }
    assert receiver.deliveries == []


def test_an_expired_checkout_opens_ours_again(live_server, merchant, fake, receiver):
    checkout = create_checkout(live_server, merchant)
    assert submit_form(live_server, checkout["id"]).status_code == 303
    payfect_id, = fake.checkouts
    fake.change(payfect_id, status="expired")
    back = requests.get(f"{live_server.url}/c/{checkout['id']}/return", allow_redirects=False, timeout=10)
    assert back.headers["Location"].startswith(f"{live_server.url}/c/{checkout['id']}")
    assert read(live_server, merchant, checkout["id"])["status"] == "open"
    assert receiver.deliveries == []


# --- the fake holds us to Payfect's contract -----------------------------------------

def direct_checkout(currency: str, *items: tuple[int, int]) -> Checkout:
    now = clock.now_s()
    return Checkout(
        id="chk_2Xb9QmTz7LkP4vRw8NcY1sDe", merchant_id="m-shop", status="processing", version=1, currency=currency,
        line_items=[LineItem(name=f"상품 {i}", unit_amount=a, quantity=q) for i, (a, q) in enumerate(items)],
        success_url="https://shop.example/thanks", cancel_url="https://shop.example/cart", provider="payfect",
        created_at_s=now, expires_at_s=now + 3600, locale="ko", payment_method_types=["crypto"],
        collect_shipping_address=False,
    )


def direct_request(checkout: Checkout) -> base.SessionRequest:
    return base.SessionRequest(
        checkout=checkout, attempt_id="att_1", method="crypto", shopper={"email": "shopper@example.com"},
        return_url="https://pay.example/r", cancel_url="https://pay.example/c", notify_url="https://pay.example/n",
    )


@pytest.mark.parametrize("currency,items", [
    ("USDT", [(1999, 1), (5, 3), (100, 2)]),
    ("USDT", [(1, 999)]),
    ("USDT", [(2050, 1)]),
    ("CNY", [(10, 7)]),
    ("TWD", [(100000000, 1)]),
])
def test_what_we_send_adds_up_and_reads_back_exactly(fake, currency, items):
    adapter = payfect.Adapter("m-shop", {"api_key": API_KEY, "secret_key": SECRET}, fake.url)
    checkout = direct_checkout(currency, *items)
    session = adapter.create_session(direct_request(checkout))
    payment = adapter.read_session(session.session_id)
    assert (payment.amount, payment.currency, payment.status) == (checkout.amount_total, currency, base.OPEN)
    assert payment.checkout_id == checkout.id


def our_body(**changes) -> dict:
    body = payfect.checkout_request(direct_request(direct_checkout("USDT", (1999, 2), (5, 1))))
    body.update(changes)
    return body


def with_unit_amount(value) -> dict:
    body = our_body()
    body["invoice_items"][0]["price_data"]["unit_amount"] = value
    return body


def with_item_currency(value) -> dict:
    body = our_body()
    body["invoice_items"][1]["price_data"]["currency"] = value
    return body


BROKEN = [
    ("unit amount as a JSON number", with_unit_amount(19.99)),
    ("unit amount with three decimals", with_unit_amount("19.995")),
    ("unit amount in exponent form", with_unit_amount("1.999E+1")),
    ("item priced in another currency", with_item_currency("cny")),
    ("no invoice items", our_body(invoice_items=[])),
    ("no currency", {k: v for k, v in our_body().items() if k != "currency"}),
    ("card payment method data", our_body(payment_method_data={"type": "card"})),
    ("usdt on another network", our_body(payment_method_data={
        "type": "cryptopaymentmethoddetail", "paymentMethodDetail": {"currency": "usdt", "network": "ethereum"}})),
    ("camelCase field name", {**{k: v for k, v in our_body().items() if k != "client_reference_id"}, "clientReferenceId": "x"}),
]


@pytest.mark.parametrize("case,body", BROKEN, ids=[case for case, _ in BROKEN])
def test_the_fake_rejects_requests_that_break_the_contract(fake, case, body):
    response = requests.post(f"{fake.url}/api/v1/checkouts/", data=json.dumps(body),
                             headers={"Authorization": f"Api-Key {API_KEY}", "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400, case
    assert isinstance(response.json(), dict)
    assert fake.checkouts == {}


@pytest.mark.parametrize("case,headers,path,status", [
    ("no key", {}, "/api/v1/checkouts/", 401),
    ("bearer instead of Api-Key", {"Authorization": f"Bearer {API_KEY}"}, "/api/v1/checkouts/", 403),
    ("wrong key", {"Authorization": "Api-Key 00000000-0000-0000-0000-000000000000"}, "/api/v1/checkouts/", 403),
    ("no trailing slash", {"Authorization": f"Api-Key {API_KEY}"}, "/api/v1/checkouts", 404),
], ids=["no key", "bearer", "wrong key", "no slash"])
def test_the_fake_rejects_unauthenticated_or_misaddressed_requests(fake, case, headers, path, status):
    response = requests.post(f"{fake.url}{path}", data=json.dumps(our_body()),
                             headers={"Content-Type": "application/json", **headers}, timeout=10)
    assert response.status_code == status, case
    assert "detail" in response.json()
    assert fake.checkouts == {}


def test_a_refused_create_is_a_rejection_without_the_secrets_in_it(fake):
    adapter = payfect.Adapter("m-shop", {"api_key": "not-the-merchants-key", "secret_key": SECRET}, fake.url)
    with pytest.raises(base.ProviderRejected) as raised:
        adapter.create_session(direct_request(direct_checkout("USDT", (100, 1))))
    assert "not-the-merchants-key" not in str(raised.value) and SECRET not in str(raised.value)


def test_a_create_that_times_out_is_not_repeated(fake, monkeypatch):
    from chalicelib.adapters.providers import http

    monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.5)
    fake.stall_s = 1.0
    fake.faults.append("stall")
    adapter = payfect.Adapter("m-shop", {"api_key": API_KEY, "secret_key": SECRET}, fake.url)
    with pytest.raises(base.ProviderError):
        adapter.create_session(direct_request(direct_checkout("USDT", (100, 1))))
    assert len(fake.requests) == 1


def test_a_read_is_retried_after_a_server_error(fake):
    adapter = payfect.Adapter("m-shop", {"api_key": API_KEY, "secret_key": SECRET}, fake.url)
    session = adapter.create_session(direct_request(direct_checkout("USDT", (100, 1))))
    fake.faults.append("500")
    assert adapter.read_session(session.session_id).amount == 100


# --- onboarding ---------------------------------------------------------------------

def test_the_admin_cli_creates_a_payfect_merchant(db, monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))   # admin.run loads the stage into the environment
    result = admin.run(["merchant", "create", "--id", "payfect-shop", "--name", "Payfect Shop", "--provider", "payfect",
                        "--credential", f"api_key={API_KEY}", "--credential", f"secret_key={SECRET}"])
    assert result["merchant_id"] == "payfect-shop"
    stored = merchants.get(db, "payfect-shop")
    assert stored.provider == "payfect"
    assert stored.credentials() == {"api_key": API_KEY, "secret_key": SECRET}
    record = json.dumps(db.get("MERCHANT#payfect-shop", "MERCHANT"), default=str)
    assert API_KEY not in record and SECRET not in record
    shown = admin.run(["merchant", "show", "--id", "payfect-shop"])
    assert shown["credential_names"] == ["api_key", "secret_key"]


@pytest.mark.parametrize("credentials", [[f"api_key={API_KEY}"], [f"secret_key={SECRET}"]])
def test_the_admin_cli_insists_on_both_payfect_credentials(db, monkeypatch, credentials):
    monkeypatch.setattr(os, "environ", dict(os.environ))
    argv = ["merchant", "create", "--id", "payfect-shop", "--name", "Payfect Shop", "--provider", "payfect"]
    for pair in credentials:
        argv += ["--credential", pair]
    with pytest.raises(InvalidRequest):
        admin.run(argv)
