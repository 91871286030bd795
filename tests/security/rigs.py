"""One rig per provider: its contract-enforcing fake (or the sandbox's table items), a
merchant on it, and the moves of the provider's side a test needs (pay, fail, expire,
send the genuine notification, count sessions, read what it was asked to charge).

``Web`` is our app as a shopper and the providers reach it: the Chalice test client
(in-process, quick) or the live server (real HTTP, real concurrency).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping
from urllib.parse import urlencode, urlsplit

import requests
from cryptography.fernet import Fernet

from chalicelib import config as checkout_config
from chalicelib.adapters.providers import sandbox
from chalicelib.adapters.store import Store
from chalicelib.domain import clock, money
from tests import flow
from tests.adapters.providers.fake_clink import FakeClink
from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout
from tests.adapters.providers.fake_paycombat import FakePayCombat
from tests.adapters.providers.fake_payfect import FakePayfect
from tests.conftest import MerchantHandle, checkout_body, create_merchant

PROVIDERS = ("sandbox", "koreacheckout", "paycombat", "clink", "payfect")
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}


# --- our app, as the outside world reaches it --------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]          # lower-cased names
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Web:
    """Requests to our app by path; ``base`` is the origin our URLs are made under."""

    def __init__(self, client: Any = None, base_url: str | None = None) -> None:
        self.client, self.base_url = client, base_url
        self.base = base_url or "http://localhost"

    def request(self, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes | str = b"") -> Answer:
        data = body.encode() if isinstance(body, str) else body
        if self.client is not None:
            r = self.client.http.request(method, path, headers=dict(headers or {}), body=data)
            return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.body or b"")
        response = requests.request(method, f"{self.base_url}{path}", headers=dict(headers or {}), data=data,
                                    allow_redirects=False, timeout=30)
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers)

    def post(self, path: str, body: bytes | str = b"", headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("POST", path, headers, body)

    def path(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no csrf_token field"
    return match.group(1)


# --- the rigs ----------------------------------------------------------------------

class Rig:
    name = ""
    env_var: str | None = None
    # Our checkout's total as the rig creates it, in minor units, and its currency.
    total = 22000
    currency = "KRW"
    form: dict[str, str] = dict(flow.GOOD_FORM)

    def __init__(self, store: Store, monkeypatch: Any, webhook_url: str | None) -> None:
        self.store = store
        self.fake = self.start_fake()
        if self.fake is not None and self.env_var:
            monkeypatch.setenv(self.env_var, self.fake.url)
            checkout_config.settings.cache_clear()
        self.merchant: MerchantHandle = create_merchant(store, webhook_url, provider=self.name,
                                                        credentials=self.credentials())

    # --- what each provider fills in
    def start_fake(self) -> Any:
        return None

    def credentials(self) -> dict[str, str]:
        return {}

    def checkout_overrides(self) -> dict[str, Any]:
        return {}

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None) -> None:
        raise NotImplementedError

    def expire(self, session_id: str) -> None:
        raise NotImplementedError

    def notification(self, session_id: str, checkout_id: str) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError

    def sessions(self) -> list[str]:
        """The provider sessions created so far, oldest first."""
        raise NotImplementedError

    def sessions_created(self) -> int:
        return len(self.sessions())

    def asked_total(self) -> int:
        """What the provider was last asked to charge, in our minor units."""
        raise NotImplementedError

    def close(self) -> None:
        if self.fake is not None:
            self.fake.close()

    # --- the shopper's side, the same for every provider
    def create_checkout(self, web: Web, **overrides: Any) -> dict[str, Any]:
        body = checkout_body(**{**self.checkout_overrides(), **overrides})
        answer = web.post("/api/checkouts", json.dumps(body), self.merchant.headers)
        assert answer.status == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def token(self, web: Web, checkout_id: str) -> str:
        page = web.get(f"/c/{checkout_id}")
        assert page.status == 200, page.text[:300]
        return csrf_of(page.text)

    def submit(self, web: Web, checkout_id: str, extra: Mapping[str, str] | None = None, token: str | None = None) -> Answer:
        """The shopper's form, posted with the page's CSRF token (or ``token``: a second click on the same form)."""
        form = {**self.form, **(extra or {}), "csrf_token": token or self.token(web, checkout_id)}
        return web.post(f"/c/{checkout_id}", urlencode(form), FORM_TYPE)

    def start(self, web: Web, **overrides: Any) -> tuple[str, str]:
        """A checkout whose shopper was sent to the provider: (checkout id, provider session id)."""
        checkout = self.create_checkout(web, **overrides)
        submitted = self.submit(web, checkout["id"])
        assert submitted.status == 303, submitted.text[:500]
        return checkout["id"], self.session_of(checkout["id"])

    def session_of(self, checkout_id: str) -> str:
        current = self.store.get_checkout(checkout_id)
        assert current is not None and current.attempt is not None and current.attempt.provider_session_id
        return current.attempt.provider_session_id

    def notify(self, web: Web, session_id: str, checkout_id: str) -> Answer:
        body, headers = self.notification(session_id, checkout_id)
        return web.post(f"/webhooks/{self.name}/{self.merchant.id}", body, headers)


class SandboxRig(Rig):
    name = "sandbox"

    def _session(self, session_id: str, **changes: Any) -> None:
        self.store.update(f"SANDBOX#{session_id}", "SANDBOX", changes)

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None) -> None:
        changes: dict[str, Any] = {"status": "paid", "paid_at_s": clock.now_s(), "reference": "sbxpay_test"}
        if amount is not None:
            changes["amount"] = amount
        if currency is not None:
            changes["currency"] = currency
        self._session(session_id, **changes)

    def fail(self, session_id: str) -> None:
        self._session(session_id, status="declined")

    def expire(self, session_id: str) -> None:
        self._session(session_id, status="expired")

    def notification(self, session_id: str, checkout_id: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"type": "session.updated", "session_id": session_id, "checkout_id": checkout_id},
                          separators=(",", ":")).encode()
        return body, {"content-type": "application/json",
                      sandbox.SIGNATURE_HEADER: sandbox.sign(self.merchant.id, body, clock.now_s())}

    def _records(self) -> list[dict[str, Any]]:
        items = self.store.client.scan(TableName=self.store.table)["Items"]
        return [i for i in items if i["pk"]["S"].startswith("SANDBOX#")]

    def sessions(self) -> list[str]:
        records = sorted(self._records(), key=lambda i: (int(i["created_at_s"]["N"]), i["id"]["S"]))
        return [r["id"]["S"] for r in records]

    def asked_total(self) -> int:
        session = self.store.get(f"SANDBOX#{self.sessions()[-1]}", "SANDBOX")
        assert session is not None
        return int(session["amount"])


class KoreaCheckoutRig(Rig):
    name = "koreacheckout"
    env_var = "KOREACHECKOUT_API_BASE"

    def start_fake(self) -> FakeKoreaCheckout:
        return FakeKoreaCheckout()

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.fake.api_key, "webhook_secret": self.fake.webhook_secret}

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None) -> None:
        self.fake.pay(session_id, amount=amount, currency=currency)

    def fail(self, session_id: str) -> None:
        self.fake.set_status(session_id, "failed")

    def expire(self, session_id: str) -> None:
        self.fake.set_status(session_id, "expired")

    def notification(self, session_id: str, checkout_id: str) -> tuple[bytes, dict[str, str]]:
        status = self.fake.sessions[session_id]["status"]
        event = {"completed": "payment.completed", "failed": "payment.failed"}.get(status, "session.expired")
        result: tuple[bytes, dict[str, str]] = self.fake.notification(event, session_id)
        return result

    def sessions(self) -> list[str]:
        return list(self.fake.sessions)

    def asked_total(self) -> int:
        request = list(self.fake.sessions.values())[-1]["request"]
        assert sum(i["price"] * i["quantity"] for i in request["items"]) == request["totalAmount"]
        return int(request["totalAmount"])


class PayCombatRig(Rig):
    name = "paycombat"
    env_var = "PAYCOMBAT_API_BASE"
    form = {**flow.GOOD_FORM, "payment_method": "virtual_account", "bank": "KDB산업은행"}

    def start_fake(self) -> FakePayCombat:
        return FakePayCombat()

    def credentials(self) -> dict[str, str]:
        return {"x_token": self.fake.x_token, "signature_key": self.fake.signature_key}

    def checkout_overrides(self) -> dict[str, Any]:
        return {"payment_method_types": ["virtual_account"]}

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None) -> None:
        changes: dict[str, Any] = {"status": "SUCCESS"}
        if amount is not None:
            changes["amount"] = amount
        if currency is not None:
            changes["currency"] = currency
        self.fake.update(session_id, **changes)

    def fail(self, session_id: str) -> None:
        self.fake.set_status(session_id, "FAILED")

    def expire(self, session_id: str) -> None:
        self.fake.set_status(session_id, "EXPIRED")

    def notification(self, session_id: str, checkout_id: str) -> tuple[bytes, dict[str, str]]:
        status = self.fake.checkouts[session_id]["status"]
        result: tuple[bytes, dict[str, str]] = self.fake.notification(
            session_id, status if status in ("SUCCESS", "FAILED", "EXPIRED") else "SUCCESS")
        return result

    def sessions(self) -> list[str]:
        return list(self.fake.checkouts)

    def asked_total(self) -> int:
        return int(list(self.fake.checkouts.values())[-1]["amount"])


CLINK_KEY = "sk_test_" + "5ec0f1d2a3b4c5d6"
CLINK_SIGNING_SECRET = "whsec_" + "cmlnLXNpZ25pbmctc2VjcmV0LWZvci1jbGluaw"


class ClinkRig(Rig):
    name = "clink"
    env_var = "CLINK_API_BASE"
    total = 4497
    currency = "USD"
    form = {"name": "홍길동", "email": "shopper@example.com", "phone": "+82 10 1234 5678",
            "payment_method": "card", "agree": "1"}

    def start_fake(self) -> FakeClink:
        return FakeClink(CLINK_KEY, CLINK_SIGNING_SECRET)

    def credentials(self) -> dict[str, str]:
        return {"api_key": CLINK_KEY, "webhook_secret": CLINK_SIGNING_SECRET}

    def checkout_overrides(self) -> dict[str, Any]:
        return {"currency": "USD", "collect_shipping_address": False, "customer": {"email": "shopper@example.com"},
                "line_items": [{"name": "Green tea", "unit_amount": 1999, "quantity": 2},
                               {"name": "Shipping", "unit_amount": 499, "quantity": 1}]}

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None) -> None:
        self.fake.pay(session_id)
        if amount is not None:
            self.fake.change(session_id, amountTotal=money.to_major(amount, currency or self.currency))
        if currency is not None:
            self.fake.change(session_id, originalCurrency=currency)

    def expire(self, session_id: str) -> None:
        self.fake.change(session_id, status="expired", paymentStatus="unpaid")

    def notification(self, session_id: str, checkout_id: str) -> tuple[bytes, dict[str, str]]:
        paid = self.fake.sessions[session_id]["status"] == "complete"
        body = self.fake.event(session_id, "session.complete" if paid else "session.expired")
        headers: dict[str, str] = self.fake.signed(body, clock.now_ms())
        return body, headers

    def sessions(self) -> list[str]:
        return list(self.fake.sessions)

    def asked_total(self) -> int:
        created = [json.loads(r.body, parse_float=Decimal) for r in self.fake.requests
                   if r.method == "POST" and r.path == "/api/checkout/session"]
        body = created[-1]
        items = sum(Decimal(p["unitAmount"]) * p["quantity"] for p in body["priceDataList"])
        assert items == Decimal(body["originalAmount"])
        return money.from_major(Decimal(body["originalAmount"]), body["originalCurrency"])


PAYFECT_KEY = "5a31f3a4-279c-11ee-be56-0242ac120002"
PAYFECT_SECRET = Fernet.generate_key().decode()


class PayfectRig(Rig):
    name = "payfect"
    env_var = "PAYFECT_API_BASE"
    total = 2065
    currency = "USDT"
    form = {"name": "홍길동", "email": "shopper@example.com", "phone": "+82 10 1234 5678",
            "payment_method": "crypto", "agree": "1"}

    def start_fake(self) -> FakePayfect:
        return FakePayfect(PAYFECT_KEY)

    def credentials(self) -> dict[str, str]:
        return {"api_key": PAYFECT_KEY, "secret_key": PAYFECT_SECRET}

    def checkout_overrides(self) -> dict[str, Any]:
        return {"currency": "USDT", "payment_method_types": ["crypto"], "collect_shipping_address": False,
                "line_items": [{"name": "Standard Plan", "unit_amount": 2050, "quantity": 1},
                               {"name": "Add-on", "unit_amount": 5, "quantity": 3}]}

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None) -> None:
        changes: dict[str, Any] = {"status": "complete", "updatedAt": f"{clock.now_s()}.000000"}
        if amount is not None:
            changes["amountTotal"] = str(money.to_major(amount, currency or self.currency).quantize(Decimal("0.01")))
        if currency is not None:
            changes["currency"] = currency.lower()
        self.fake.change(session_id, **changes)

    def expire(self, session_id: str) -> None:
        self.fake.change(session_id, status="expired")

    def notification(self, session_id: str, checkout_id: str) -> tuple[bytes, dict[str, str]]:
        result: tuple[bytes, dict[str, str]] = self.fake.callback(session_id, PAYFECT_SECRET)
        return result

    def sessions(self) -> list[str]:
        return list(self.fake.checkouts)

    def asked_total(self) -> int:
        body = self.fake.created[-1]
        total = sum(Decimal(i["price_data"]["unit_amount"]) * i["quantity"] for i in body["invoice_items"])
        return money.from_major(total, body["currency"].upper())


RIGS: dict[str, type[Rig]] = {cls.name: cls for cls in (SandboxRig, KoreaCheckoutRig, PayCombatRig, ClinkRig, PayfectRig)}

