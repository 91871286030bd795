"""A local KoreaCheckout that enforces the headless API as its document describes it.

It answers 4xx in KoreaCheckout's error shape (``{"error": {code, message, details}}``)
to any request that breaks the contract: a missing or wrong ``x-api-key``, a body
that is not compact-enough JSON of the documented fields and types, item prices
that do not add up to ``totalAmount``, a refund of more than remains. It keeps the
sessions it creates, so reads and refunds see them, and counts creates per attempt
(``metadata.attempt_id``) so tests can prove nothing was created twice.

Helpers play the rest of the provider: ``pay`` (the shopper paid on the hosted
page), ``notification`` (a signed webhook the test then posts to our app).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from tests import flow
from tests.adapters.providers.harness import FakeProvider, Reply, Request

# KoreaCheckout's webhook signature as its documents state it, written here and not taken
# from the adapter: a fake that signed with our own signer would prove only that we agree
# with ourselves.
SIGNATURE_HEADER = "x-korea-checkout-signature"


def sign(body: bytes, secret: str) -> str:
    """hex HMAC-SHA256 of the raw body under the merchant's webhook secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()

API_KEY = "sk_test_kc_" + "a1b2c3d4e5f6" * 4
WEBHOOK_SECRET = "kc_whsec_" + "9f8e7d6c5b4a" * 3

CREATE_FIELDS = {
    "platform": str, "platformOrderId": str, "items": list, "customer": dict, "totalAmount": int,
    "currency": str, "returnUrl": str, "cancelUrl": str, "webhookUrl": str, "metadata": dict,
}
CREATE_REQUIRED = {"platform", "platformOrderId", "items", "totalAmount", "currency", "returnUrl", "cancelUrl"}
ITEM_FIELDS = {"name": str, "price": int, "quantity": int, "productId": str, "description": str}
CUSTOMER_FIELDS = {"name", "email", "phone"}
REFUND_FIELDS = {"amount": int, "reason": str, "notify_customer": bool}
PHONE_RE = re.compile(r"^\+82-\d{2}-\d{3,4}-\d{4}$")
SESSION_PATH = re.compile(r"^/api/checkout/session/([A-Za-z0-9_]+)(/refund)?$")
HOSTED_PATH = re.compile(r"^/checkout/([A-Za-z0-9_]+)$")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _error(status: int, code: str, message: str, **details: Any) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message, "details": details}})


def _typed(value: object, kind: type) -> bool:
    return _is_int(value) if kind is int else isinstance(value, kind)


def _url(value: object) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https") and bool(urlsplit(value).hostname)


class FakeKoreaCheckout(FakeProvider):
    def __init__(self, api_key: str = API_KEY, webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.creates_by_attempt: Counter[str] = Counter()
        self.refund_requests: list[dict[str, Any]] = []
        self.rejections: list[Reply] = []
        super().__init__()
        # Where the hosted page is served: the API's origin unless a test names another
        # (``http://localhost:port``: the same server on an origin no configuration knows).
        self.page_base = self.url

    # --- the API ------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        hosted = HOSTED_PATH.match(request.path)
        if request.method == "GET" and hosted:
            return self._hosted_page(hosted.group(1))
        if request.method == "POST" and hosted and hosted.group(1) in self.sessions:
            # The shopper pays on the page and is sent back to returnUrl.
            session = self.sessions[hosted.group(1)]
            session.update(status="completed", paymentMethod="card", gateway="toss",
                           gatewayTransactionId="toss_tx_" + secrets.token_hex(6), completedAt=_iso(datetime.now(UTC)))
            return Reply(303, b"", {"Location": session["request"]["returnUrl"], "Content-Type": "text/plain"})
        if request.headers.get("x-api-key") != self.api_key:
            return self._reject(_error(401, "unauthorized", "Invalid API key"))
        if request.method == "POST" and request.path == "/api/checkout/create-session":
            return self._create(request)
        match = SESSION_PATH.match(request.path)
        if match and request.method == "GET" and not match.group(2):
            return self._read(match.group(1))
        if match and request.method == "POST" and match.group(2):
            return self._refund(match.group(1), request)
        return self._reject(_error(404, "not_found", f"No route {request.method} {request.path}"))

    def _reject(self, reply: Reply) -> Reply:
        self.rejections.append(reply)
        return reply

    def _json_body(self, request: Request) -> dict[str, Any] | Reply:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._reject(_error(400, "invalid_request", "Content-Type must be application/json"))
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return self._reject(_error(400, "invalid_json", "The body is not JSON"))
        if not isinstance(body, dict):
            return self._reject(_error(400, "invalid_request", "The body must be an object"))
        return body

    def _create(self, request: Request) -> Reply:
        body = self._json_body(request)
        if isinstance(body, Reply):
            return body
        problem = self._check_create(body)
        if problem:
            return self._reject(_error(400, "invalid_request", problem[1], field=problem[0]))
        session_id = "cs_" + secrets.token_hex(8)
        now = datetime.now(UTC)
        self.sessions[session_id] = {
            "sessionId": session_id,
            "status": "pending",
            "platformOrderId": body["platformOrderId"],
            "totalAmount": body["totalAmount"],
            "currency": body["currency"],
            "customer": body.get("customer", {}),
            "createdAt": _iso(now),
            "expiresAt": _iso(now + timedelta(hours=24)),
            "request": body,
            "refunded": 0,
        }
        self.creates_by_attempt[str(body.get("metadata", {}).get("attempt_id"))] += 1
        return Reply(200, {
            "success": True,
            "sessionId": session_id,
            "checkoutUrl": f"{self.page_base}/checkout/{session_id}",
            "expiresAt": self.sessions[session_id]["expiresAt"],
        })

    def _check_create(self, body: dict[str, Any]) -> tuple[str, str] | None:
        for name in body:
            if name not in CREATE_FIELDS:
                return name, f"Unknown field {name}"
        for name in CREATE_REQUIRED:
            if name not in body:
                return name, f"{name} is required"
        for name, kind in CREATE_FIELDS.items():
            if name in body and not _typed(body[name], kind):
                return name, f"{name} must be a {kind.__name__}"
        if body["currency"] != "KRW":
            return "currency", "Only KRW is supported"
        if not body["items"]:
            return "items", "items must not be empty"
        total = 0
        for i, item in enumerate(body["items"]):
            if not isinstance(item, dict):
                return f"items[{i}]", "each item must be an object"
            for name in item:
                if name not in ITEM_FIELDS:
                    return f"items[{i}].{name}", f"Unknown field {name}"
            for name in ("name", "price", "quantity"):
                if name not in item:
                    return f"items[{i}].{name}", f"{name} is required"
            for name, kind in ITEM_FIELDS.items():
                if name in item and not _typed(item[name], kind):
                    return f"items[{i}].{name}", f"{name} must be a {kind.__name__}"
            if item["price"] < 0 or item["quantity"] < 1:
                return f"items[{i}]", "price must be >= 0 and quantity >= 1"
            total += item["price"] * item["quantity"]
        if body["totalAmount"] <= 0 or total != body["totalAmount"]:
            return "totalAmount", f"totalAmount {body['totalAmount']} does not equal the items ({total})"
        for name in ("returnUrl", "cancelUrl", "webhookUrl"):
            if name in body and not _url(body[name]):
                return name, f"{name} must be an absolute URL"
        customer = body.get("customer", {})
        for name, value in customer.items():
            if name not in CUSTOMER_FIELDS or not isinstance(value, str):
                return f"customer.{name}", "customer has name, email, phone strings"
        if "phone" in customer and not PHONE_RE.match(customer["phone"]):
            return "customer.phone", "phone must look like +82-10-1234-5678"
        if any(not isinstance(v, str) for v in body.get("metadata", {}).values()):
            return "metadata", "metadata values must be strings"
        return None

    def _read(self, session_id: str) -> Reply:
        session = self.sessions.get(session_id)
        if session is None:
            return self._reject(_error(404, "invalid_session", "The specified session ID is invalid or has expired",
                                       sessionId=session_id, field="sessionId"))
        data = {k: v for k, v in session.items() if k not in ("request", "refunded")}
        return Reply(200, {"success": True, "data": data})

    def _refund(self, session_id: str, request: Request) -> Reply:
        session = self.sessions.get(session_id)
        if session is None:
            return self._reject(_error(404, "invalid_session", "The specified session ID is invalid",
                                       sessionId=session_id))
        body = self._json_body(request)
        if isinstance(body, Reply):
            return body
        for name, value in body.items():
            if name not in REFUND_FIELDS or not _typed(value, REFUND_FIELDS[name]):
                return self._reject(_error(400, "invalid_request", f"Bad field {name}", field=name))
        if session["status"] not in ("completed", "partially_refunded"):
            return self._reject(_error(400, "invalid_status", f"A {session['status']} session cannot be refunded"))
        remaining = session["totalAmount"] - session["refunded"]
        amount = body.get("amount", remaining)
        if amount <= 0 or amount > remaining:
            return self._reject(_error(400, "invalid_amount", f"Refund {amount} exceeds the {remaining} remaining",
                                       field="amount"))
        session["refunded"] += amount
        session["status"] = "refunded" if session["refunded"] == session["totalAmount"] else "partially_refunded"
        refund_id = "ref_" + secrets.token_hex(8)
        self.refund_requests.append({"sessionId": session_id, "refundId": refund_id, **body})
        return Reply(200, {
            "refundId": refund_id,
            "status": "processing",
            "amount": amount,
            "reason": body.get("reason"),
            "processedAt": _iso(datetime.now(UTC)),
        })

    def _hosted_page(self, session_id: str) -> Reply:
        if session_id not in self.sessions:
            return Reply(404, b"<!doctype html><title>Not found</title>", {"Content-Type": "text/html"})
        page = (f"<!doctype html><title>KoreaCheckout</title><h1>{session_id}</h1>"
                "<form method=post><button>Pay</button></form>").encode()
        return Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})

    # --- the provider's side, driven by tests ---------------------------------------

    def session_for(self, checkout_id: str) -> dict[str, Any]:
        with self.lock:
            found = [s for s in self.sessions.values() if s["platformOrderId"] == checkout_id]
        assert len(found) == 1, f"{len(found)} sessions for {checkout_id}"
        return found[0]

    @property
    def creates(self) -> int:
        return sum(self.creates_by_attempt.values())

    def pay(self, session_id: str, amount: int | None = None, currency: str | None = None, method: str = "card") -> None:
        """The shopper paid on the hosted page (optionally a different amount or currency than asked)."""
        with self.lock:
            session = self.sessions[session_id]
            session.update(
                status="completed",
                paymentMethod=method,
                gateway="toss",
                gatewayTransactionId="toss_tx_" + secrets.token_hex(6),
                completedAt=_iso(datetime.now(UTC)),
            )
            if amount is not None:
                session["totalAmount"] = amount
            if currency is not None:
                session["currency"] = currency

    def set_status(self, session_id: str, status: str) -> None:
        with self.lock:
            self.sessions[session_id]["status"] = status

    def notification(self, event: str, session_id: str, secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A webhook as KoreaCheckout sends it: (raw body, headers) signed with the merchant's secret."""
        with self.lock:
            session = self.sessions[session_id]
            data = {
                "sessionId": session_id,
                "platformOrderId": session["platformOrderId"],
                "totalAmount": session["totalAmount"],
                "currency": session["currency"],
                "paymentMethod": session.get("paymentMethod", "card"),
                "customer": session.get("customer", {}),
                "completedAt": session.get("completedAt"),
            }
        body = json.dumps({"event": event, "data": data}, ensure_ascii=False, separators=(",", ":")).encode()
        return body, {"content-type": "application/json", SIGNATURE_HEADER: sign(body, secret or self.webhook_secret)}


# --- driving our app through a KoreaCheckout payment (over real HTTP) ---------------

def credentials(fake: FakeKoreaCheckout) -> dict[str, str]:
    return {"api_key": fake.api_key, "webhook_secret": fake.webhook_secret}


def notify(app_url: str, merchant_id: str, body: bytes, headers: dict[str, str]) -> Any:
    return requests.post(f"{app_url}/webhooks/koreacheckout/{merchant_id}", data=body, headers=headers, timeout=20)


def start_payment(app_url: str, fake: FakeKoreaCheckout, api_key: str, **overrides: Any) -> tuple[dict[str, Any], str]:
    """Create a checkout through our API and submit the shopper's form: (checkout, provider session id)."""
    checkout = flow.create_checkout(app_url, api_key, "https://shop.example", **overrides)
    with requests.Session() as browser:
        submitted = flow.submit_form(browser, checkout["url"])
    assert submitted.status_code == 303, submitted.text[:500]
    session = fake.session_for(checkout["id"])
    assert submitted.headers["location"] == f"{fake.url}/checkout/{session['sessionId']}"
    return checkout, session["sessionId"]


def complete_payment(app_url: str, fake: FakeKoreaCheckout, merchant_id: str, api_key: str, **overrides: Any) -> dict[str, Any]:
    """A checkout paid at the fake and confirmed through a signed notification."""
    checkout, session_id = start_payment(app_url, fake, api_key, **overrides)
    fake.pay(session_id)
    body, headers = fake.notification("payment.completed", session_id)
    answer = notify(app_url, merchant_id, body, headers)
    assert answer.status_code == 200 and answer.json()["status"] == "complete", answer.text
    return checkout
