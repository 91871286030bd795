"""PayCombat end to end over HTTP: our app served for real, PayCombat played by the enforcing fake."""
from __future__ import annotations

import json
import re
import time

import pytest
import requests

from chalicelib import config as checkout_config
from tests.adapters.providers.fake_paycombat import FakePayCombat
from tests.conftest import checkout_body, create_merchant

SHOPPER_FORM = {
    "name": "홍길동",
    "email": "gildong@example.com",
    "phone": "010-1234-5678",
    "postal_code": "06236",
    "address1": "서울특별시 강남구 테헤란로 152",
    "address2": "10층",
    "payment_method": "virtual_account",
    "bank": "KDB산업은행",
    "agree": "1",
}


@pytest.fixture
def fake(monkeypatch):
    server = FakePayCombat()
    monkeypatch.setenv("PAYCOMBAT_API_BASE", server.url)
    checkout_config.settings.cache_clear()
    yield server
    server.close()


@pytest.fixture
def shop(db, receiver, fake):
    return create_merchant(db, receiver.url, provider="paycombat",
                           credentials={"x_token": fake.x_token, "signature_key": fake.signature_key})


class Shopper:
    """A browser on our pages (a requests session that never follows redirects by itself)."""

    def __init__(self, live, shop) -> None:
        self.live, self.shop = live, shop
        self.http = requests.Session()

    def create_checkout(self) -> str:
        created = self.http.post(f"{self.live.url}/api/checkouts", headers=self.shop.headers,
                                 data=json.dumps(checkout_body(payment_method_types=["virtual_account"])))
        assert created.status_code == 201, created.text
        return created.json()["id"]

    def submit(self, checkout_id: str, **overrides: str) -> requests.Response:
        page = self.http.get(f"{self.live.url}/c/{checkout_id}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and csrf
        return self.http.post(f"{self.live.url}/c/{checkout_id}", data={**SHOPPER_FORM, **overrides,
                              "csrf_token": csrf.group(1)}, allow_redirects=False)

    def checkout(self, checkout_id: str) -> dict:
        read = self.http.get(f"{self.live.url}/api/checkouts/{checkout_id}", headers=self.shop.headers)
        assert read.status_code == 200, read.text
        return read.json()

    def notify(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(f"{self.live.url}/webhooks/paycombat/{self.shop.id}", data=body, headers=headers)


def waiting_for_deposit(live, shop, fake) -> tuple[Shopper, str, dict]:
    """Submit the form, come back from PayCombat's page: the checkout waits for the deposit."""
    shopper = Shopper(live, shop)
    checkout_id = shopper.create_checkout()
    submitted = shopper.submit(checkout_id)
    assert submitted.status_code == 303, submitted.text
    record = fake.only_checkout()
    assert submitted.headers["Location"] == record["checkout_url"]
    back = requests.get(record["checkout_url"], allow_redirects=False).headers["Location"]
    assert back == f"{live.url}/c/{checkout_id}/return"
    assert shopper.http.get(back, allow_redirects=False).status_code == 303
    return shopper, checkout_id, record


def reads(fake) -> int:
    return len(fake.requests_to("GET", "/api/v1/checkout/retrieve/"))


# --- the whole flow ---------------------------------------------------------------------

def test_virtual_account_checkout_completes_after_a_verified_deposit(live_server, shop, fake, receiver):
    shopper = Shopper(live_server, shop)
    checkout_id = shopper.create_checkout()

    submitted = shopper.submit(checkout_id)
    assert submitted.status_code == 303
    record = fake.only_checkout()
    assert submitted.headers["Location"] == record["checkout_url"]
    assert record["checkout_url"].startswith(f"{fake.url}/checkout/")

    # What PayCombat received: our id as the reference, KRW as an integer, Korean as raw UTF-8, signed.
    (create,) = fake.requests_to("POST", "/api/v1/checkout")
    (choose,) = fake.requests_to("PATCH", "/api/v1/checkout")
    assert record["description"] == record["additional_info"]["order_reference"] == checkout_id
    assert (record["amount"], record["currency"], record["payin_method_name"]) == (22000, "KRW", "KDB산업은행")
    assert "홍길동".encode() in create.body and "KDB산업은행".encode() in choose.body
    assert b"\\u" not in create.body + choose.body and b", " not in create.body
    assert fake.rejections == []

    # PayCombat's page sends the shopper back; the read says PENDING with the account to pay into.
    back = requests.get(record["checkout_url"], allow_redirects=False).headers["Location"]
    assert shopper.http.get(back, allow_redirects=False).headers["Location"] == f"{live_server.url}/c/{checkout_id}"
    waiting = shopper.http.get(f"{live_server.url}/c/{checkout_id}")
    assert waiting.status_code == 200
    assert record["virtual_account"]["account_number"] in waiting.text
    assert "KDB산업은행" in waiting.text and "페이컴뱃" in waiting.text
    assert shopper.checkout(checkout_id)["status"] == "processing"
    assert receiver.deliveries == []

    # The deposit arrives: PayCombat marks it SUCCESS and notifies.
    fake.set_status(record["id"], "SUCCESS")
    notified = shopper.notify(*fake.notification(record["id"], "SUCCESS"))
    assert notified.status_code == 200, notified.text
    assert notified.json() == {"received": True, "status": "complete"}

    done = shopper.checkout(checkout_id)
    assert done["status"] == "complete"
    assert (done["payment"]["amount"], done["payment"]["currency"]) == (22000, "KRW")
    (event,) = receiver.verified(shop.webhook_secret)
    assert event["type"] == "checkout.completed"
    assert event["data"]["id"] == checkout_id


def test_a_shopper_without_a_bank_choice_goes_to_paycombats_page_to_choose(live_server, shop, fake):
    shopper = Shopper(live_server, shop)
    checkout_id = shopper.create_checkout()
    submitted = shopper.submit(checkout_id, bank="")
    assert submitted.status_code == 303
    record = fake.only_checkout()
    assert submitted.headers["Location"] == record["checkout_url"]
    assert fake.requests_to("PATCH", "/api/v1/checkout") == []
    assert record["payin_method_name"] is None


# --- notifications that must change nothing --------------------------------------------------

def _assert_unchanged(shopper, checkout_id, before, fake, reads_before, receiver):
    assert shopper.checkout(checkout_id) == before
    assert reads(fake) == reads_before
    assert receiver.deliveries == []


@pytest.mark.parametrize("attack", ["forged", "tampered", "unsigned", "stale"])
def test_forged_tampered_unsigned_and_stale_notifications_change_nothing(live_server, shop, fake, receiver, attack):
    shopper, checkout_id, record = waiting_for_deposit(live_server, shop, fake)
    fake.set_status(record["id"], "SUCCESS")
    before, reads_before = shopper.checkout(checkout_id), reads(fake)

    if attack == "forged":
        body, headers = fake.notification(record["id"], "SUCCESS", key="attacker-key")
    elif attack == "tampered":
        body, headers = fake.notification(record["id"], "FAILED")
        body = body.replace(b'"status":"FAILED"', b'"status":"SUCCESS"')
    elif attack == "unsigned":
        body, headers = fake.notification(record["id"], "SUCCESS")
        headers = {"Content-Type": "application/json"}
    else:
        body, headers = fake.notification(record["id"], "SUCCESS", updated_at_s=time.time() - 10 * 86400)
    rejected = shopper.notify(body, headers)

    assert rejected.status_code == 400
    assert rejected.json()["error"]["code"] == "notification_rejected"
    _assert_unchanged(shopper, checkout_id, before, fake, reads_before, receiver)


def test_a_replayed_notification_is_rejected_and_delivers_nothing_more(live_server, shop, fake, receiver):
    shopper, checkout_id, record = waiting_for_deposit(live_server, shop, fake)
    fake.set_status(record["id"], "SUCCESS")
    body, headers = fake.notification(record["id"], "SUCCESS")
    assert shopper.notify(body, headers).status_code == 200
    after, reads_after = shopper.checkout(checkout_id), reads(fake)
    assert after["status"] == "complete"
    assert len(receiver.verified(shop.webhook_secret)) == 1

    replayed = shopper.notify(body, headers)

    assert replayed.status_code == 400
    assert "replay" in replayed.json()["error"]["message"]
    assert shopper.checkout(checkout_id) == after
    assert reads(fake) == reads_after
    assert len(receiver.deliveries) == 1


def test_paycombats_retry_after_our_failed_read_is_still_processed(live_server, shop, fake, receiver):
    shopper, checkout_id, record = waiting_for_deposit(live_server, shop, fake)
    fake.set_status(record["id"], "SUCCESS")
    body, headers = fake.notification(record["id"], "SUCCESS")
    fake.faults = ["500", "500", "500"]
    # Any 5xx: PayCombat keeps the notification and sends it again.
    assert shopper.notify(body, headers).status_code >= 500
    assert shopper.checkout(checkout_id)["status"] == "processing"

    retried = shopper.notify(body, headers)

    assert retried.status_code == 200, retried.text
    assert shopper.checkout(checkout_id)["status"] == "complete"
    assert len(receiver.verified(shop.webhook_secret)) == 1


# --- FAILED and EXPIRED ------------------------------------------------------------------

@pytest.mark.parametrize(("status", "events"), [("FAILED", ["checkout.payment_failed"]), ("EXPIRED", [])])
def test_failed_and_expired_payments_open_the_checkout_again(live_server, shop, fake, receiver, status, events):
    shopper, checkout_id, record = waiting_for_deposit(live_server, shop, fake)
    fake.set_status(record["id"], status)

    notified = shopper.notify(*fake.notification(record["id"], status))

    assert notified.status_code == 200, notified.text
    checkout = shopper.checkout(checkout_id)
    assert checkout["status"] == "open"
    assert [e["type"] for e in receiver.verified(shop.webhook_secret)] == events
    assert 'name="csrf_token"' in shopper.http.get(f"{live_server.url}/c/{checkout_id}").text


def test_a_failed_notification_does_not_override_what_paycombat_says(live_server, shop, fake, receiver):
    # The notification is only a hint: PayCombat's read (still PENDING) decides.
    shopper, checkout_id, record = waiting_for_deposit(live_server, shop, fake)
    assert shopper.notify(*fake.notification(record["id"], "FAILED")).status_code == 200
    assert shopper.checkout(checkout_id)["status"] == "processing"
    assert receiver.deliveries == []


# --- what the read says about the money ---------------------------------------------------

@pytest.mark.parametrize(("changes", "amount", "currency"), [
    ({"amount": 21000}, 21000, "KRW"),
    ({"amount": 220000}, 220000, "KRW"),
    ({"currency": "USD"}, 2200000, "USD"),
    ({"currency": "FIAT"}, None, "FIAT"),
])
def test_a_paid_read_with_another_amount_or_currency_is_flagged_not_completed(
        live_server, shop, fake, receiver, changes, amount, currency):
    shopper, checkout_id, record = waiting_for_deposit(live_server, shop, fake)
    fake.update(record["id"], status="SUCCESS", **changes)

    assert shopper.notify(*fake.notification(record["id"], "SUCCESS")).status_code == 200

    checkout = shopper.checkout(checkout_id)
    assert checkout["status"] == "processing"
    expected = {
        "provider": "paycombat", "provider_session_id": record["id"],
        "expected_amount": 22000, "expected_currency": "KRW", "amount": amount, "currency": currency,
    }
    # An amount we cannot read exactly is recorded as absent (the table keeps no nulls in maps).
    assert checkout["amount_mismatch"] == {k: v for k, v in expected.items() if v is not None}
    assert receiver.deliveries == []


@pytest.mark.parametrize("raw", ["SETTLED", "success", "REFUNDED", None])
def test_a_read_with_an_unknown_status_is_never_paid(live_server, shop, fake, receiver, raw):
    shopper, checkout_id, record = waiting_for_deposit(live_server, shop, fake)
    fake.update(record["id"], status=raw)
    assert shopper.notify(*fake.notification(record["id"], "SUCCESS")).status_code == 200
    assert shopper.checkout(checkout_id)["status"] == "processing"
    assert receiver.deliveries == []
