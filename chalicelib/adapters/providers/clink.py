"""Clink (clinkbill.com) hosted checkout sessions, in our terms.

Pure mapping: our checkout -> the Create Checkout Session body; a session read
-> ProviderPayment; a ``session.*`` event -> Notification. The thin Adapter sends
through the shared ``ProviderHttp`` client.

Clink authenticates every request with the secret key in ``X-API-KEY`` and the
time in ``X-Timestamp`` (ms). Its notifications carry the same two headers, so a
notification is genuine when the key equals the merchant's (constant-time) and
the timestamp is within five minutes of now. Nothing signs the body: the
session read that follows is what counts.

Amounts are JSON numbers in major units (``"originalAmount": 4.99``); we write
the number's text from the exact Decimal, never through a float.

Sources: the seed (Create Checkout Session); docs.clinkbill.com
``api-reference/endpoint/get-checkout-session``, ``api-reference/webhook/session``,
``guides/payments/checkout_session`` (statuses, no idempotency on
merchantReferenceId), ``integration`` (sk_test_/sk_prod_ keys, test domain),
``api-reference/endpoint/create-price`` (currencies; ``code`` is 200 on success).
"""
from __future__ import annotations

import hmac
import json
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

API_KEY_HEADER = "x-api-key"
TIMESTAMP_HEADER = "x-timestamp"
TOLERANCE_MS = 300_000
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


def map_status(status: object, payment_status: object) -> str:
    if not isinstance(status, str) or not isinstance(payment_status, str):
        return base.UNKNOWN
    return STATUS_MAP.get((status, payment_status), base.UNKNOWN)


def default_base(api_key: str) -> str:
    return LIVE_BASE if api_key.startswith(LIVE_KEY_PREFIX) else SANDBOX_BASE


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


# --- notifications ------------------------------------------------------------------

def notification_headers(api_key: str, timestamp_ms: int) -> dict[str, str]:
    """The headers Clink sends with an event (for tests and tools)."""
    return {"X-API-KEY": api_key, "X-Timestamp": str(timestamp_ms), "Content-Type": "application/json"}


def verify_event(headers: Mapping[str, str], body: bytes, api_key: str, now_ms: int) -> base.Notification:
    """Check a Clink event's key and timestamp; the event it names. Raises NotificationRejected."""
    lower = {k.lower(): v for k, v in headers.items()}
    sent_key = lower.get(API_KEY_HEADER)
    if not sent_key:
        raise NotificationRejected("missing X-API-KEY header")
    if not api_key or not hmac.compare_digest(sent_key.encode(), api_key.encode()):
        raise NotificationRejected("the X-API-KEY header is not the merchant's Clink key")
    raw_ts = (lower.get(TIMESTAMP_HEADER) or "").strip()
    if not (raw_ts.isascii() and raw_ts.isdigit()):
        raise NotificationRejected("missing or malformed X-Timestamp header")
    if abs(now_ms - int(raw_ts)) > TOLERANCE_MS:
        raise NotificationRejected("the X-Timestamp is more than 5 minutes from now")
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
    currencies = CURRENCIES
    methods = frozenset(METHOD_TYPES)
    credential_names = ("api_key",)
    default_base_url = SANDBOX_BASE

    @classmethod
    def default_base(cls, credentials: Mapping[str, str]) -> str:
        return default_base(credentials.get("api_key", ""))

    @classmethod
    def page_origins(cls, credentials: Mapping[str, str]) -> tuple[str, ...]:
        # The seed's sandbox page is uat-checkout.clinkbill.com; the live host is assumed by analogy.
        live = default_base(credentials.get("api_key", "")) == LIVE_BASE
        return ("https://checkout.clinkbill.com",) if live else ("https://uat-checkout.clinkbill.com",)

    def __init__(self, merchant_id: str, credentials: Mapping[str, str], base_url: str,
                 memory: base.ProviderMemory | None = None) -> None:
        super().__init__(merchant_id, credentials, base_url, memory)
        self._http = ProviderHttp(self.name, secrets=[credentials.get("api_key", "")])

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

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now_s: int) -> base.Notification:
        return verify_event(headers, body, self.credentials.get("api_key", ""), now_s * 1000)
