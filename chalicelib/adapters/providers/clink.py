"""Clink (clinkbill.com) hosted checkout sessions, in our terms.

Pure mapping: our checkout -> the Create Checkout Session body; a session read
-> ProviderPayment; a ``session.*`` event -> Notification. The thin Adapter sends
through the shared ``ProviderHttp`` client.

Clink authenticates every request with the secret key in ``X-API-KEY`` and the
time in ``X-Timestamp`` (ms). Its notifications are signed instead
(docs.clinkbill.com/integration): ``X-Clink-Signature`` is the HMAC-SHA256 of
``X-Clink-Timestamp + "." + raw body`` under the endpoint's signing secret
(``whsec_…``, the merchant's ``webhook_secret`` credential; several,
comma-separated, while Clink rotates it). Clink does not say how the digest is
written: hex is what public merchant code checks, and base64 of the same bytes
is accepted too. The timestamp may be seconds or milliseconds and must be within
five minutes of now. A verified event is still only a hint: the session read
that follows is what counts.

Amounts are JSON numbers in major units (``"originalAmount": 4.99``); we write
the number's text from the exact Decimal, never through a float.

Sources: the seed (Create Checkout Session); docs.clinkbill.com
``api-reference/endpoint/get-checkout-session``, ``api-reference/webhook/session``,
``guides/payments/checkout_session`` (statuses, no idempotency on
merchantReferenceId), ``integration`` (sk_test_/sk_prod_ keys, test domain),
``api-reference/endpoint/create-price`` (currencies; ``code`` is 200 on success).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from decimal import Decimal
from typing import Any, Mapping
from urllib.parse import quote

from chalicelib.adapters.providers import base
from chalicelib.adapters.providers.http import ProviderHttp
from chalicelib.domain import clock, money
from chalicelib.domain.errors import NotificationRejected

SANDBOX_BASE = "https://uat-api.clinkbill.com"
LIVE_BASE = "https://api.clinkbill.com"
LIVE_KEY_PREFIX = "sk_prod_"
SESSION_PATH = "/api/checkout/session"
REFUND_PATH = "/api/refund"

SIGNATURE_HEADER = "x-clink-signature"
TIMESTAMP_HEADER = "x-clink-timestamp"
SIGN_TYPE_HEADER = "x-clink-signtype"
SIGN_TYPE = "SHA256"
TOLERANCE_S = 300
# A timestamp at or above this is milliseconds (1e11 s is the year 5138).
MS_THRESHOLD = 10**11
_HEX_DIGEST = re.compile(r"[0-9A-Fa-f]{64}")
SUCCESS_CODE = 200

# Our payment method -> Clink's paymentMethodType.
METHOD_TYPES: dict[str, str] = {
    "card": "CARD",
    "kakao_pay": "KAKAO",
    "wechat_pay": "WECHAT",
    "cash_app": "CASHAPP",
}

# Clink's price currencies that chalicelib.domain.money knows.
CURRENCIES = frozenset({"USD", "EUR", "JPY", "KRW", "AUD", "SGD", "CNY"})

# (session status, paymentStatus) -> our payment state. Only a complete session
# that says paid is paid; contradictory pairs are UNKNOWN on purpose, so they
# neither complete nor release the checkout, and the next read decides.
STATUS_MAP: dict[tuple[str, str], str] = {
    ("open", "unpaid"): base.OPEN,
    ("complete", "paid"): base.PAID,
    ("expired", "unpaid"): base.EXPIRED,
    ("open", "paid"): base.UNKNOWN,          # paid but not yet closed: wait for complete
    ("complete", "unpaid"): base.UNKNOWN,
    ("expired", "paid"): base.UNKNOWN,       # money may have moved: never release on this
}

EVENT_TYPES = frozenset({"session.complete", "session.expired"})

# refundReasonType is documented as 0-3 without saying what each means; we send 0
# and give the merchant's words in ``remark``.
REFUND_REASON_TYPE = 0
MAX_REMARK_CHARS = 200

# Refund status words, read case-insensitively. The docs name the events
# refund.created / refund.succeeded / refund.failed but show no refund object,
# so the other spellings are guesses kept on the safe side: anything else is UNKNOWN.
REFUND_STATUS_MAP: dict[str, str] = {
    "created": base.REFUND_PENDING,
    "pending": base.REFUND_PENDING,
    "processing": base.REFUND_PENDING,
    "succeeded": base.REFUND_SUCCEEDED,
    "success": base.REFUND_SUCCEEDED,
    "failed": base.REFUND_FAILED,
    "fail": base.REFUND_FAILED,
}


def map_status(status: object, payment_status: object) -> str:
    if not isinstance(status, str) or not isinstance(payment_status, str):
        return base.UNKNOWN
    return STATUS_MAP.get((status, payment_status), base.UNKNOWN)


# --- JSON with exact numbers --------------------------------------------------------

def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON in which a Decimal is written as its exact number text.

    ``json.dumps`` cannot write a Decimal as a number, and going through float is
    what this module exists to avoid. Floats are refused outright.
    """
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("an amount must be a finite number")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats never go to a provider; use Decimal")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --- our checkout -> Clink ----------------------------------------------------------

def session_request(request: base.SessionRequest) -> dict[str, Any]:
    """The Create Checkout Session body for one attempt (amounts as exact Decimals)."""
    checkout = request.checkout
    currency = checkout.currency
    if currency not in CURRENCIES:
        raise base.ProviderRejected(f"clink does not take {currency}")
    if request.method not in METHOD_TYPES:
        raise base.ProviderRejected(f"clink does not offer {request.method}")
    email = request.shopper.get("email") or checkout.customer.get("email")
    if not email:
        # Clink needs customerId or customerEmail; we never have a Clink customer id.
        raise base.ProviderRejected("clink needs the shopper's email")
    items = []
    for item in request.lines:
        price: dict[str, Any] = {
            "name": item.name,
            "unitAmount": money.to_major(item.unit_amount, currency),
            "quantity": item.quantity,
            "currency": currency,
        }
        if item.image_url:
            price["imageUrl"] = item.image_url
        items.append(price)
    return {
        "originalAmount": money.to_major(request.amount_total, currency),
        "originalCurrency": currency,
        "customerEmail": email,
        "merchantReferenceId": checkout.id,
        "successUrl": request.return_url,
        "cancelUrl": request.cancel_url,
        "paymentMethodType": METHOD_TYPES[request.method],
        "priceDataList": items,
    }


# --- Clink -> our types -------------------------------------------------------------

def unwrap(payload: Any) -> dict[str, Any]:
    """The ``data`` of a ``{code, msg, data}`` answer; raises unless ``code`` is 200."""
    if not isinstance(payload, dict):
        raise base.ProviderError("clink answered with something that is not an object")
    code = payload.get("code")
    if code != SUCCESS_CODE:
        msg = str(payload.get("msg") or "")[:200]
        error = base.ProviderError if isinstance(code, int) and code >= 500 else base.ProviderRejected
        raise error(f"clink refused the request (code {code}): {msg}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise base.ProviderError("clink answered without data")
    return data


def created_session(data: Mapping[str, Any]) -> base.ProviderSession:
    session_id, url = data.get("sessionId"), data.get("url")
    if not isinstance(session_id, str) or not session_id or not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise base.ProviderError("clink's created session has no sessionId or url")
    return base.ProviderSession(session_id=session_id, redirect_url=url)


def payment_from_session(data: Mapping[str, Any], session_id: str) -> base.ProviderPayment:
    """A Get Checkout Session ``data`` object in our terms. Raises ProviderError on a bad amount."""
    if data.get("sessionId") != session_id:
        raise base.ProviderError("clink answered about a different session")
    status, payment_status = data.get("status"), data.get("paymentStatus")
    amount, currency = base.exact_total("clink", "amountTotal", data.get("amountTotal"), data.get("originalCurrency"))
    reference = data.get("merchantReferenceId")
    order_id = data.get("orderId")
    return base.ProviderPayment(
        session_id=session_id,
        status=map_status(status, payment_status),
        raw_status=f"{status}/{payment_status}",
        amount=amount,
        currency=currency,
        checkout_id=reference if isinstance(reference, str) and reference else None,
        provider_reference=order_id if isinstance(order_id, str) and order_id else None,
    )


# --- refunds ------------------------------------------------------------------------

def refund_request(order_id: str, amount: int, currency: str, reason: str | None, refund_id: str) -> dict[str, Any]:
    """The ``POST /refund`` body: our refund id is Clink's idempotency key (refundMerchantOrderId)."""
    if not order_id:
        raise base.ProviderRejected("clink names no orderId for this session: it was not paid there")
    return {
        "orderId": order_id,
        "refundMerchantOrderId": refund_id,
        "refundAmount": money.to_major(amount, currency),
        "refundReasonType": REFUND_REASON_TYPE,
        "remark": (reason or "")[:MAX_REMARK_CHARS],
    }


def refund_from_answer(data: Mapping[str, Any], refund_id: str, currency: str | None) -> base.ProviderRefund:
    """A refund object (create or read answer) in our terms; it must be the refund we asked about."""
    ours = data.get("refundMerchantOrderId")
    if ours is not None and ours != refund_id:
        raise base.ProviderError("clink answered about a different refund")
    raw = data.get("status") if data.get("status") is not None else data.get("refundStatus")
    status = REFUND_STATUS_MAP.get(raw.lower(), base.REFUND_UNKNOWN) if isinstance(raw, str) else base.REFUND_UNKNOWN
    named = data.get("refundCurrency") or data.get("currency") or currency
    # Without a currency the number's digits cannot be read exactly: no amount rather than a guess.
    amount, read_currency = base.exact_total("clink", "refundAmount", data.get("refundAmount"), named) if named else (None, None)
    provider_id = data.get("refundId") if isinstance(data.get("refundId"), str) else data.get("id")
    return base.ProviderRefund(
        refund_id=refund_id,
        status=status,
        raw_status=str(raw),
        provider_refund_id=provider_id if isinstance(provider_id, str) and provider_id else None,
        amount=amount,
        currency=read_currency,
    )


# --- notifications ------------------------------------------------------------------

def webhook_secrets(value: object) -> list[str]:
    """The merchant's signing secrets: a comma-separated string or a list (newest first)."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def signature_bytes(secret: str, timestamp: str, body: bytes) -> bytes:
    """HMAC-SHA256 of ``timestamp + "." + body`` under ``secret`` (its UTF-8 bytes, prefix and all)."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).digest()


def _sent_digest(value: str) -> bytes | None:
    """The 32 bytes a signature header carries, written in hex or in (url-safe) base64; None if neither."""
    text = value.strip()
    if _HEX_DIGEST.fullmatch(text):
        return bytes.fromhex(text)
    if not text.isascii() or not 43 <= len(text) <= 44:
        return None
    try:
        padded = text + "=" * (-len(text) % 4)
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    # Only the canonical writing of the 32 bytes: stray padding bits make another string.
    canonical = base64.b64encode(decoded).decode()
    if len(decoded) != 32 or text.rstrip("=") not in (canonical.rstrip("="), canonical.rstrip("=").replace("+", "-").replace("/", "_")):
        return None
    return decoded


def _timestamp_s(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 16:
        raise NotificationRejected("missing or malformed X-Clink-Timestamp header")
    value = int(raw)
    return value // 1000 if value >= MS_THRESHOLD else value


def verify_event(headers: Mapping[str, str], body: bytes, secrets: object, now_s: int) -> base.Notification:
    """Check a Clink event's signature and timestamp; the event it names. Raises NotificationRejected."""
    keys = webhook_secrets(secrets)
    if not keys:
        raise NotificationRejected("no Clink webhook_secret is configured for this merchant")
    lower = {k.lower(): v for k, v in headers.items()}
    sign_type = (lower.get(SIGN_TYPE_HEADER) or "").strip()
    if sign_type and sign_type.upper() not in (SIGN_TYPE, "HMAC-SHA256", "HMACSHA256"):
        raise NotificationRejected(f"unsupported X-Clink-SignType {sign_type[:20]!r}")
    raw_ts = (lower.get(TIMESTAMP_HEADER) or "").strip()
    sent = _sent_digest(lower.get(SIGNATURE_HEADER) or "")
    if not raw_ts:
        raise NotificationRejected("missing X-Clink-Timestamp header")
    if sent is None:
        raise NotificationRejected("missing or malformed X-Clink-Signature header")
    if abs(now_s - _timestamp_s(raw_ts)) > TOLERANCE_S:
        raise NotificationRejected("the X-Clink-Timestamp is more than 5 minutes from now")
    # Every secret is tried (no early exit), so timing tells nothing about which one matched.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(signature_bytes(key, raw_ts, body), sent)
    if not matched:
        raise NotificationRejected("the X-Clink-Signature does not match the body under the merchant's webhook_secret")
    try:
        payload = json.loads(body)
        event, data = payload["type"], payload["data"]
        if not isinstance(event, str) or not isinstance(data, dict):
            raise TypeError("type must be a string and data an object")
    except (ValueError, KeyError, TypeError) as e:
        raise NotificationRejected("the Clink event is not the documented shape") from e
    session_id, reference = data.get("sessionId"), data.get("merchantReferenceId")
    return base.Notification(
        event=event,
        session_id=session_id if isinstance(session_id, str) and session_id else None,
        checkout_id=reference if isinstance(reference, str) and reference else None,
    )


# --- the adapter --------------------------------------------------------------------

class Adapter(base.Provider):
    name = "clink"
    display_name = "Clink"
    currencies = CURRENCIES
    methods = frozenset(METHOD_TYPES)
    credential_names = ("api_key", "webhook_secret")
    supports_refunds = True
    default_base_url = SANDBOX_BASE

    @classmethod
    def is_test_mode(cls, credentials: Mapping[str, str]) -> bool:
        return not credentials.get("api_key", "").startswith(LIVE_KEY_PREFIX)

    @classmethod
    def check_credentials(cls, credentials: Mapping[str, str]) -> None:
        secrets = webhook_secrets(credentials.get("webhook_secret"))
        if not secrets:
            raise ValueError("webhook_secret must be the signing secret Clink shows for the webhook endpoint (whsec_…)")
        if any(len(secret) < 16 or any(c.isspace() for c in secret) for secret in secrets):
            raise ValueError("each webhook_secret must be 16 or more characters without spaces (comma-separated to rotate)")

    @classmethod
    def api_base(cls, test_mode: bool) -> str:
        return SANDBOX_BASE if test_mode else LIVE_BASE

    @classmethod
    def page_origins(cls, test_mode: bool) -> tuple[str, ...]:
        # The seed's sandbox page is uat-checkout.clinkbill.com; the live host is assumed by analogy.
        return ("https://uat-checkout.clinkbill.com",) if test_mode else ("https://checkout.clinkbill.com",)

    def __init__(self, merchant_id: str, credentials: Mapping[str, str], base_url: str,
                 memory: base.ProviderMemory | None = None) -> None:
        super().__init__(merchant_id, credentials, base_url, memory)
        self._http = ProviderHttp(
            self.name, secrets=[credentials.get("api_key", ""), *webhook_secrets(credentials.get("webhook_secret"))])

    def _headers(self) -> dict[str, str]:
        return {
            "X-API-KEY": self.credentials["api_key"],
            "X-Timestamp": str(clock.now_ms()),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def _data(self, payload: Any) -> dict[str, Any]:
        try:
            return unwrap(payload)
        except base.ProviderError as e:
            raise type(e)(self._http.redact(str(e))) from None

    def create_session(self, request: base.SessionRequest) -> base.ProviderSession:
        body = encode_json(session_request(request))
        # merchantReferenceId is no idempotency key at Clink: never repeat a create.
        response = self._http.request(
            "POST", self.base_url + SESSION_PATH, headers=self._headers(), body=body, retry_safe=False
        )
        return created_session(self._data(response.json()))

    def read_session(self, session_id: str) -> base.ProviderPayment:
        url = f"{self.base_url}{SESSION_PATH}/{quote(session_id, safe='')}"
        response = self._http.request("GET", url, headers=self._headers())
        return payment_from_session(self._data(response.json()), session_id)

    def refund(self, session_id: str, amount: int, currency: str, reason: str | None, refund_id: str) -> str:
        session = self.read_session(session_id)
        if session.status != base.PAID:
            raise base.ProviderRejected(f"clink says the session is {session.raw_status}, not paid")
        body = encode_json(refund_request(session.provider_reference or "", amount, currency, reason, refund_id))
        # refundMerchantOrderId makes a repeat of this request the same refund at Clink.
        response = self._http.request(
            "POST", self.base_url + REFUND_PATH, headers=self._headers(), body=body, retry_safe=True)
        try:
            payload = response.json()
        except base.ProviderError:
            # A 2xx means the refund was accepted: an unreadable body must not hide that.
            return ""
        refund = refund_from_answer(self._data(payload), refund_id, currency)
        if refund.status == base.REFUND_FAILED:
            raise base.ProviderRejected(f"clink refused the refund ({refund.raw_status})")
        return refund.provider_refund_id or ""

    def read_refund(self, session_id: str, refund_id: str, provider_refund_id: str | None = None) -> base.ProviderRefund:
        # Clink's own id when we have it; else ours, which Clink keeps as refundMerchantOrderId.
        url = f"{self.base_url}{REFUND_PATH}/{quote(provider_refund_id or refund_id, safe='')}"
        response = self._http.request("GET", url, headers=self._headers())
        return refund_from_answer(self._data(response.json()), refund_id, None)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now_s: int) -> base.Notification:
        return verify_event(headers, body, self.credentials.get("webhook_secret"), now_s)
