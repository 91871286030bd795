"""A local Clink that enforces the documented contract of checkout sessions.

Requests must carry the merchant's key in ``X-API-KEY`` and a millisecond
``X-Timestamp`` within five minutes; bodies must use Clink's field names and
JSON types, amounts must be JSON numbers with no more digits than the currency
has, every price's currency must be the session's, and the prices must add up
to ``originalAmount`` exactly. Any violation is a 4xx in Clink's
``{code, msg, data}`` shape. Sessions are kept, so reads return them; the hosted
page (``/pay/{id}``) pays a session when posted to, like a shopper would.

Events are signed the way docs.clinkbill.com/integration describes, with an HMAC
written here (not the product's verifier): ``X-Clink-Signature`` = HMAC-SHA256 of
``X-Clink-Timestamp + "." + body`` under the endpoint's signing secret, in hex
(``encoding="base64"`` for the other reading), ``X-Clink-SignType: SHA256``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from decimal import Decimal
from typing import Any

from tests.adapters.providers.harness import FakeProvider, Reply, Request

EXPONENTS = {"KRW": 0, "JPY": 0}      # every other Clink currency has 2 digits
CURRENCIES = {"USD", "EUR", "JPY", "GBP", "AUD", "CAD", "CNY", "HKD", "SGD", "KRW", "AED", "THB", "IDR", "PHP", "MYR", "BRL", "INR"}
METHOD_TYPES = {"CARD", "KAKAO", "CASHAPP", "WECHAT"}
CREATE_FIELDS = {
    "originalAmount", "originalCurrency", "customerId", "customerEmail", "merchantReferenceId", "priceId",
    "productId", "successUrl", "cancelUrl", "paymentMethodType", "paymentMethodTypeBlackList", "priceDataList",
    "allowPromotionCodes", "promotionCode",
}
PRICE_FIELDS = {"name", "unitAmount", "quantity", "currency", "imageUrl"}
SESSION_PATH = re.compile(r"^/api/checkout/session/([A-Za-z0-9_]+)$")
PAY_PATH = re.compile(r"^/pay/([A-Za-z0-9_]+)$")
REFUND_PATH = re.compile(r"^/api/refund/([A-Za-z0-9_-]+)$")
REFUND_FIELDS = {"orderId", "refundMerchantOrderId", "refundAmount", "refundReasonType", "remark"}


class ContractViolation(Exception):
    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg


def dumps(value: Any) -> bytes:
    """JSON with Decimals as exact numbers, the way Clink's server writes them."""
    def enc(v: Any) -> str:
        if isinstance(v, Decimal):
            return format(v, "f")
        if isinstance(v, dict):
            return "{" + ",".join(f"{json.dumps(k)}:{enc(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)
    return enc(value).encode()


def _number(value: Any, where: str, currency: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ContractViolation(400, f"{where} must be a number")
    number = Decimal(value)
    digits = EXPONENTS.get(currency, 2)
    if number != number.quantize(Decimal(1).scaleb(-digits)) or number < 0:
        raise ContractViolation(400, f"{where} must be a non-negative {currency} amount with at most {digits} decimals")
    return number


DEFAULT_SIGNING_SECRET = "whsec_" + "Zm9yLXRlc3RzLW9ubHktY2xpbmstc2lnbmluZw"


def sign_event(body: bytes, secret: str, timestamp: str, encoding: str = "hex") -> dict[str, str]:
    """The headers Clink sends with an event body: its HMAC over ``timestamp.body``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
    signature = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return {"Content-Type": "application/json", "X-Clink-Timestamp": timestamp,
            "X-Clink-Signature": signature, "X-Clink-SignType": "SHA256"}


class FakeClink(FakeProvider):
    def __init__(self, api_key: str, webhook_secret: str = DEFAULT_SIGNING_SECRET) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []   # request bodies that were accepted
        self.refunds: dict[str, dict[str, Any]] = {}         # by refundMerchantOrderId
        self.refund_requests: list[dict[str, Any]] = []      # refund bodies that were accepted (repeats too)
        self.refund_status = "succeeded"                     # what a new refund reports
        super().__init__()

    # --- the API ---------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        try:
            if request.path.startswith("/pay/"):
                return self._hosted_page(request)
            self._authenticate(request)
            if request.method == "POST" and request.path == "/api/checkout/session":
                return self._ok(self._create(request))
            if request.method == "POST" and request.path == "/api/refund":
                return self._ok(self._refund(request))
            refund = REFUND_PATH.match(request.path)
            if request.method == "GET" and refund:
                found = self.refunds.get(refund.group(1)) or next(
                    (r for r in self.refunds.values() if r["refundId"] == refund.group(1)), None)
                if found is None:
                    raise ContractViolation(404, "refund not found")
                return self._ok(dict(found))
            match = SESSION_PATH.match(request.path)
            if request.method == "GET" and match:
                session = self.sessions.get(match.group(1))
                if session is None:
                    raise ContractViolation(404, "session not found")
                return self._ok(self._view(session))
            raise ContractViolation(404, f"no route {request.method} {request.path}")
        except ContractViolation as e:
            return Reply(e.status, dumps({"code": e.status, "msg": e.msg, "data": None}))

    def _ok(self, data: dict[str, Any]) -> Reply:
        return Reply(200, dumps({"code": 200, "msg": "success", "data": data}))

    def _authenticate(self, request: Request) -> None:
        if request.headers.get("x-api-key") != self.api_key:
            raise ContractViolation(401, "invalid X-API-KEY")
        stamp = request.headers.get("x-timestamp", "")
        if not stamp.isdigit() or len(stamp) != 13:
            raise ContractViolation(401, "X-Timestamp must be milliseconds since the epoch")
        if abs(time.time() * 1000 - int(stamp)) > 300_000:
            raise ContractViolation(401, "X-Timestamp is too far from now")

    def _create(self, request: Request) -> dict[str, Any]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise ContractViolation(415, "Content-Type must be application/json")
        try:
            body = json.loads(request.body, parse_float=Decimal)
        except ValueError as e:
            raise ContractViolation(400, "body is not JSON") from e
        if not isinstance(body, dict):
            raise ContractViolation(400, "body must be an object")
        unknown = set(body) - CREATE_FIELDS
        if unknown:
            raise ContractViolation(400, f"unknown fields {sorted(unknown)}")
        currency = body.get("originalCurrency")
        if currency not in CURRENCIES:
            raise ContractViolation(400, "originalCurrency must be a supported ISO code")
        total = _number(body.get("originalAmount"), "originalAmount", currency)
        if total <= 0:
            raise ContractViolation(400, "originalAmount must be greater than 0")
        email, customer = body.get("customerEmail"), body.get("customerId")
        if not (isinstance(email, str) and "@" in email) and not isinstance(customer, str):
            raise ContractViolation(400, "CUSTOMER_NOT_FOUND: customerId or customerEmail is required")
        for name in ("merchantReferenceId", "successUrl", "cancelUrl"):
            if name in body and not isinstance(body[name], str):
                raise ContractViolation(400, f"{name} must be a string")
        if "paymentMethodType" in body and body["paymentMethodType"] not in METHOD_TYPES:
            raise ContractViolation(400, "paymentMethodType must be CARD, KAKAO, CASHAPP or WECHAT")
        prices = body.get("priceDataList")
        if not isinstance(prices, list) or not prices:
            raise ContractViolation(400, "priceDataList is required for a one-time purchase without priceId")
        items_total = Decimal(0)
        for i, price in enumerate(prices):
            where = f"priceDataList[{i}]"
            if not isinstance(price, dict) or set(price) - PRICE_FIELDS:
                raise ContractViolation(400, f"{where} has unknown fields")
            if not isinstance(price.get("name"), str) or not price["name"]:
                raise ContractViolation(400, f"{where}.name is required")
            quantity = price.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise ContractViolation(400, f"{where}.quantity must be a positive integer")
            if price.get("currency") != currency:
                raise ContractViolation(400, f"{where}.currency must be {currency}")
            items_total += _number(price.get("unitAmount"), f"{where}.unitAmount", currency) * quantity
        if items_total != total:
            raise ContractViolation(400, f"priceDataList adds up to {items_total}, not originalAmount {total}")
        session_id = "sess_" + uuid.uuid4().hex
        self.sessions[session_id] = {
            "sessionId": session_id,
            "token": uuid.uuid4().hex,
            "status": "open",
            "paymentStatus": "unpaid",
            "amountSubtotal": total,
            "amountTotal": total,
            "originalCurrency": currency,
            "paymentCurrency": currency,
            "orderId": None,
            "merchantReferenceId": body.get("merchantReferenceId"),
            "locale": "en",
            "cancelUrl": body.get("cancelUrl"),
            "successUrl": body.get("successUrl"),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "expire": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400)),
            "customer": {"customerId": customer or "cus_" + uuid.uuid4().hex[:12], "email": email},
            "priceDataList": prices,
        }
        self.created.append(body)
        return {
            "sessionId": session_id,
            "tokenValue": self.sessions[session_id]["token"],
            "customerId": self.sessions[session_id]["customer"]["customerId"],
            "originalAmount": total,
            "originalCurrency": currency,
            "url": f"{self.url}/pay/{session_id}",
            "merchantReferenceId": body.get("merchantReferenceId"),
            "expireTime": self.sessions[session_id]["expire"],
        }

    def _refund(self, request: Request) -> dict[str, Any]:
        """POST /refund: an exact major-unit amount, at most what remains; refundMerchantOrderId is the idempotency key."""
        try:
            body = json.loads(request.body, parse_float=Decimal)
        except ValueError as e:
            raise ContractViolation(400, "body is not JSON") from e
        if not isinstance(body, dict) or set(body) - REFUND_FIELDS:
            raise ContractViolation(400, f"unknown fields {sorted(set(body) - REFUND_FIELDS) if isinstance(body, dict) else body}")
        ours = body.get("refundMerchantOrderId")
        if not isinstance(ours, str) or not ours or len(ours) > 64:
            raise ContractViolation(400, "refundMerchantOrderId is required (a string of at most 64 characters)")
        reason = body.get("refundReasonType")
        if isinstance(reason, bool) or not isinstance(reason, int) or not 0 <= reason <= 3:
            raise ContractViolation(400, "refundReasonType must be 0, 1, 2 or 3")
        if "remark" in body and not isinstance(body["remark"], str):
            raise ContractViolation(400, "remark must be a string")
        session = next((s for s in self.sessions.values() if s["orderId"] and s["orderId"] == body.get("orderId")), None)
        if session is None or session["paymentStatus"] != "paid":
            raise ContractViolation(400, "ORDER_NOT_FOUND: orderId names no paid order")
        currency = session["originalCurrency"]
        amount = _number(body.get("refundAmount"), "refundAmount", currency)
        if ours in self.refunds:
            earlier = self.refunds[ours]
            if earlier["orderId"] != body["orderId"] or earlier["refundAmount"] != amount:
                raise ContractViolation(400, "DUPLICATE_REFUND: refundMerchantOrderId was used for another refund")
            self.refund_requests.append(body)
            return dict(earlier)
        refunded = sum((r["refundAmount"] for r in self.refunds.values() if r["orderId"] == body["orderId"]), Decimal(0))
        if amount <= 0 or amount > session["amountTotal"] - refunded:
            raise ContractViolation(400, f"refundAmount must be more than 0 and at most {session['amountTotal'] - refunded}")
        refund = {
            "refundId": "rf_" + uuid.uuid4().hex[:16],
            "refundMerchantOrderId": ours,
            "orderId": body["orderId"],
            "refundAmount": amount,
            "refundCurrency": currency,
            "status": self.refund_status,
        }
        self.refunds[ours] = refund
        self.refund_requests.append(body)
        return dict(refund)

    def _view(self, session: dict[str, Any]) -> dict[str, Any]:
        return dict(session)

    def _hosted_page(self, request: Request) -> Reply:
        match = PAY_PATH.match(request.path)
        session = self.sessions.get(match.group(1)) if match else None
        if session is None:
            return Reply(404, b"<html>no such session</html>", {"Content-Type": "text/html"})
        if request.method == "GET":
            return Reply(200, f"<html><form method=post><button>Pay {session['amountTotal']}</button></form></html>".encode(),
                         {"Content-Type": "text/html"})
        session.update(status="complete", paymentStatus="paid", orderId="ord_" + uuid.uuid4().hex[:16])
        return Reply(303, b"", {"Location": f"{session['successUrl']}?sessionId={session['sessionId']}"})

    # --- what a test does to the provider's side ---------------------------------------

    def pay(self, session_id: str) -> None:
        self.change(session_id, status="complete", paymentStatus="paid", orderId="ord_" + uuid.uuid4().hex[:16])

    def change(self, session_id: str, **fields: Any) -> None:
        """Set fields of a kept session (a test playing the provider: expire it, misreport an amount)."""
        with self.lock:
            self.sessions[session_id].update(fields)

    def signed(self, body: bytes, timestamp_ms: int | None = None, secret: str | None = None,
               encoding: str = "hex") -> dict[str, str]:
        """Headers for ``body`` as Clink signs it (``timestamp_ms`` defaults to now)."""
        stamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
        return sign_event(body, self.webhook_secret if secret is None else secret, stamp, encoding)

    def event(self, session_id: str, event_type: str = "session.complete") -> bytes:
        """The body Clink posts for a session event (api-reference/webhook/session)."""
        return dumps({
            "id": "evt_" + uuid.uuid4().hex,
            "object": "event",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "type": event_type,
            "data": self._view(self.sessions[session_id]),
        })
