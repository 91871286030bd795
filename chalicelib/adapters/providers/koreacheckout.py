"""KoreaCheckout (headless checkout API): pure mapping, signature verification, and a thin adapter.

What the provider documents, and what this module assumes where it is silent:

- ``POST /api/checkout/create-session`` with header ``x-api-key``; our checkout id
  is ``platformOrderId`` and, with the attempt id, travels in ``metadata``. Amounts
  (``price``, ``totalAmount``) are integer KRW. KoreaCheckout documents no
  idempotency key, so a create is never repeated by the client (``retry_safe=False``);
  a lost answer costs at most one unused hosted page, never a charge.
- ``GET /api/checkout/session/{sessionId}`` answers ``{"success": true, "data": {…}}``.
- ``POST /api/checkout/session/{sessionId}/refund`` with ``{"amount", "reason"}``;
  partial refunds allowed. No idempotency key either: a refund is sent once.
- Notifications ``{"event", "data": {"sessionId", "platformOrderId", …}}`` carry
  ``x-korea-checkout-signature``: the hex HMAC-SHA256 of the raw body under the
  merchant's webhook secret. The scheme signs no timestamp, so a replay is caught by
  remembering what was received (see ``Adapter.verify_notification``).
- Errors are ``{"error": {"code", "message", "details"}}``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

from chalicelib.adapters.providers import base
from chalicelib.adapters.providers.http import ProviderHttp
from chalicelib.domain import money
from chalicelib.domain.errors import NotificationRejected
from chalicelib.domain.model import PROCESSING

NAME = "koreacheckout"
LIVE_BASE = "https://api.koreacheckout.com"
SANDBOX_BASE = "https://sandbox-api.koreacheckout.com"
HOSTED_PAGE_ORIGIN = "https://checkout.koreacheckout.com"
SIGNATURE_HEADER = "x-korea-checkout-signature"
PLATFORM = "headless"

# The documented events. Each is only a hint to read the session; the read decides.
EVENT_PAYMENT_COMPLETED = "payment.completed"
EVENT_PAYMENT_FAILED = "payment.failed"
EVENT_PAYMENT_REFUNDED = "payment.refunded"
EVENT_SESSION_EXPIRED = "session.expired"
EVENTS = frozenset({EVENT_PAYMENT_COMPLETED, EVENT_PAYMENT_FAILED, EVENT_PAYMENT_REFUNDED, EVENT_SESSION_EXPIRED})

# KoreaCheckout session status -> our payment state. Exhaustive over the documented
# values; anything else (other spellings included) is UNKNOWN and never paid.
STATUS_MAP: dict[str, str] = {
    "pending": base.OPEN,            # session created, payment not started
    "processing": base.PENDING,      # the shopper is paying at the gateway: neither paid nor failed yet
    "completed": base.PAID,
    "failed": base.FAILED,
    "cancelled": base.CANCELLED,
    "expired": base.EXPIRED,
    "refunded": base.REFUNDED,
    "partially_refunded": base.PARTIALLY_REFUNDED,
}

# Their payment method words -> ours. Only "card" appears in the document; the
# others are the methods the document lists, in the same snake_case style.
METHOD_MAP: dict[str, str] = {
    "card": "card",
    "virtual_account": "virtual_account",
    "bank_transfer": "bank_transfer",
    "kakao_pay": "kakao_pay",
    "naver_pay": "naver_pay",
}

_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_KR_PHONE_RE = re.compile(r"^(?:\+82|0)(\d{2})(\d{3,4})(\d{4})$")


def map_status(raw: object) -> str:
    return STATUS_MAP.get(raw, base.UNKNOWN) if isinstance(raw, str) else base.UNKNOWN


# --- amounts ------------------------------------------------------------------------

def to_provider_amount(amount: int, currency: str) -> int:
    """Our minor units -> KoreaCheckout's integer major units (KRW has no minor unit)."""
    major = money.to_major(amount, currency)
    if major != major.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of {currency}")
    return int(major)


def parse_amount(value: object, currency: str) -> int:
    """KoreaCheckout's integer amount -> our minor units, exactly; ProviderError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise base.ProviderError(f"{NAME} sent an amount that is not a number")
    try:
        return money.from_major(value, currency)
    except (ValueError, KeyError) as e:
        raise base.ProviderError(f"{NAME} sent an amount that does not convert to {currency}") from e


# --- requests -----------------------------------------------------------------------

def international_phone(phone: str) -> str:
    """010-1234-5678 -> +82-10-1234-5678, the form the document shows; others unchanged."""
    compact = re.sub(r"[\s().-]", "", phone)
    match = _KR_PHONE_RE.match(compact)
    if not match:
        return phone
    return "+82-" + "-".join(match.groups())


def create_session_body(request: base.SessionRequest) -> dict[str, Any]:
    """Our checkout and attempt -> the create-session request body."""
    checkout = request.checkout
    currency = checkout.currency
    items: list[dict[str, Any]] = []
    for item in request.lines:
        entry: dict[str, Any] = {
            "name": item.name,
            "price": to_provider_amount(item.unit_amount, currency),
            "quantity": item.quantity,
        }
        if item.product_id:
            entry["productId"] = item.product_id
        if item.description:
            entry["description"] = item.description
        items.append(entry)
    shopper = {**checkout.customer, **request.shopper}
    customer = {k: shopper[k] for k in ("name", "email", "phone") if shopper.get(k)}
    if "phone" in customer:
        customer["phone"] = international_phone(customer["phone"])
    metadata = {"checkout_id": checkout.id, "attempt_id": request.attempt_id, "payment_method": request.method}
    if checkout.client_reference_id:
        metadata["client_reference_id"] = checkout.client_reference_id
    body: dict[str, Any] = {
        "platform": PLATFORM,
        "platformOrderId": checkout.id,
        "items": items,
        "totalAmount": to_provider_amount(request.amount_total, currency),
        "currency": currency,
        "returnUrl": request.return_url,
        "cancelUrl": request.cancel_url,
        "webhookUrl": request.notify_url,
        "metadata": metadata,
    }
    if customer:
        body["customer"] = customer
    return body


def refund_body(amount: int, currency: str, reason: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"amount": to_provider_amount(amount, currency), "notify_customer": True}
    if reason:
        body["reason"] = reason
    return body


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes sent (Korean text stays as UTF-8)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- responses ----------------------------------------------------------------------

def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise base.ProviderError(f"{NAME} answered {what} with a body that is not the documented shape")
    return value


def parse_created(payload: object) -> base.ProviderSession:
    data = _object(payload, "create-session")
    session_id, url = data.get("sessionId"), data.get("checkoutUrl")
    if data.get("success") is not True or not isinstance(session_id, str) or not _SESSION_ID_RE.match(session_id):
        raise base.ProviderError(f"{NAME} answered create-session without a usable sessionId")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("https", "http") or not urlsplit(url).hostname:
        raise base.ProviderError(f"{NAME} answered create-session without a usable checkoutUrl")
    return base.ProviderSession(session_id=session_id, redirect_url=url)


def parse_time_s(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp())


def parse_session(payload: object, session_id: str) -> base.ProviderPayment:
    """A read of a session -> our terms. The status decides; unknown is never paid."""
    wrapper = _object(payload, "the session read")
    data = _object(wrapper.get("data"), "the session read")
    if data.get("sessionId") != session_id:
        raise base.ProviderError(f"{NAME} answered the session read for another session")
    raw_status = data.get("status")
    currency = data.get("currency")
    if not isinstance(currency, str) or not money.is_supported(currency.upper()):
        raise base.ProviderError(f"{NAME} answered the session read without a currency we know")
    currency = currency.upper()
    order_id = data.get("platformOrderId")
    method = data.get("paymentMethod")
    reference = data.get("gatewayTransactionId")
    return base.ProviderPayment(
        session_id=session_id,
        status=map_status(raw_status),
        raw_status=str(raw_status),
        amount=parse_amount(data.get("totalAmount"), currency),
        currency=currency,
        method=METHOD_MAP.get(method) if isinstance(method, str) else None,
        checkout_id=order_id if isinstance(order_id, str) else None,
        provider_reference=reference if isinstance(reference, str) else None,
        paid_at_s=parse_time_s(data.get("completedAt")),
    )


def parse_refund(payload: object) -> str:
    """The provider's refund id; empty when a successful answer names none (the refund still happened)."""
    data = payload if isinstance(payload, dict) else {}
    refund_id = data.get("refundId")
    return refund_id if isinstance(refund_id, str) else ""


# --- notifications ------------------------------------------------------------------

def sign(body: bytes, secret: str) -> str:
    """The ``x-korea-checkout-signature`` value for a body (tests and the fake use it too)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def verify_signature(body: bytes, headers: Mapping[str, str], secrets: Iterable[str]) -> None:
    """Raise NotificationRejected unless one of the secrets signed exactly these bytes.

    Several secrets are accepted so a rotated secret keeps working during the change.
    """
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise NotificationRejected(f"missing {SIGNATURE_HEADER} header")
    received = header.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", received):
        raise NotificationRejected(f"malformed {SIGNATURE_HEADER} header")
    candidates = [s for s in secrets if s]
    if not candidates:
        raise NotificationRejected("no webhook secret is configured for this merchant")
    if not any(hmac.compare_digest(sign(body, secret), received) for secret in candidates):
        raise NotificationRejected("notification signature does not match")


def parse_notification(body: bytes) -> base.Notification:
    try:
        payload = json.loads(body)
        event, data = payload["event"], payload["data"]
        session_id, order_id = data["sessionId"], data.get("platformOrderId")
    except (ValueError, KeyError, TypeError) as e:
        raise NotificationRejected("notification body is not the documented shape") from e
    if not isinstance(event, str) or not isinstance(session_id, str) or not _SESSION_ID_RE.match(session_id):
        raise NotificationRejected("notification body is not the documented shape")
    # An event we do not know yet is still signed and still only a hint to read the
    # session: refusing it would only make the provider send it again and again.
    return base.Notification(
        event=event,
        session_id=session_id,
        checkout_id=order_id if isinstance(order_id, str) else None,
    )


def notification_digest(merchant_id: str, body: bytes) -> str:
    return hashlib.sha256(merchant_id.encode() + b"\n" + body).hexdigest()


def awaiting_outcome(checkout_status: str | None, attempt_session_id: str | None, session_id: str) -> bool:
    """Whether a notification about ``session_id`` may still change the checkout.

    True while the checkout is processing this very session: the provider may be
    repeating a notification whose first delivery we could not finish.
    """
    return checkout_status == PROCESSING and attempt_session_id == session_id


class Adapter(base.Provider):
    name = NAME
    display_name = "KoreaCheckout"
    currencies = frozenset({"KRW"})
    methods = frozenset(METHOD_MAP.values())
    credential_names = ("api_key", "webhook_secret")
    supports_refunds = True
    default_base_url = LIVE_BASE

    @classmethod
    def api_base(cls, test_mode: bool) -> str:
        # Live keys go to production; anything else to the sandbox (never live by accident).
        return SANDBOX_BASE if test_mode else LIVE_BASE

    @classmethod
    def page_origins(cls, test_mode: bool) -> tuple[str, ...]:
        # The document's checkoutUrl host. It shows no separate sandbox page host, and a
        # merchant's custom checkout domain is unknown to us until KoreaCheckout returns it.
        return (HOSTED_PAGE_ORIGIN,)

    @classmethod
    def is_test_mode(cls, credentials: Mapping[str, str]) -> bool:
        return not credentials.get("api_key", "").startswith("sk_live_")

    @classmethod
    def check_credentials(cls, credentials: Mapping[str, str]) -> None:
        if not credentials.get("api_key", "").startswith(("sk_test_", "sk_live_")):
            raise ValueError("api_key must be a KoreaCheckout key starting sk_test_ or sk_live_")
        secret = credentials.get("webhook_secret", "")
        if not secret or secret.strip() != secret:
            raise ValueError("webhook_secret must be the webhook secret from the KoreaCheckout dashboard, without spaces")

    def _http(self) -> ProviderHttp:
        return ProviderHttp(NAME, secrets=[self.credentials.get("api_key", ""), self.credentials.get("webhook_secret", "")])

    def _headers(self) -> dict[str, str]:
        return {
            "x-api-key": self.credentials.get("api_key", ""),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def _session_url(self, session_id: str, suffix: str = "") -> str:
        if not _SESSION_ID_RE.match(session_id):
            raise base.ProviderRejected(f"{NAME} session id has an unexpected shape")
        return f"{self.base_url}/api/checkout/session/{quote(session_id, safe='')}{suffix}"

    def create_session(self, request: base.SessionRequest) -> base.ProviderSession:
        try:
            body = encode(create_session_body(request))
        except (ValueError, KeyError) as e:
            raise base.ProviderRejected(f"{NAME} cannot take this checkout: {e}") from e
        response = self._http().request(
            "POST", f"{self.base_url}/api/checkout/create-session",
            headers=self._headers(), body=body, retry_safe=False,
        )
        return parse_created(response.json())

    def read_session(self, session_id: str) -> base.ProviderPayment:
        response = self._http().request("GET", self._session_url(session_id), headers=self._headers(), retry_safe=True)
        return parse_session(response.json(), session_id)

    def refund(self, session_id: str, amount: int, currency: str, reason: str | None, refund_id: str) -> str:
        # KoreaCheckout documents no idempotency key and no refund read: our refund id is not
        # sent (unknown fields are refused), the refund lock makes this call once per refund,
        # and a lost answer is judged from the session's status (usecases.refunds).
        response = self._http().request(
            "POST", self._session_url(session_id, "/refund"),
            headers=self._headers(), body=encode(refund_body(amount, currency, reason)), retry_safe=False,
        )
        try:
            payload = response.json()
        except base.ProviderError:
            # A 2xx means the refund was made: an unreadable body must not hide that.
            payload = None
        return parse_refund(payload)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now_s: int) -> base.Notification:
        """The signature, then the body. The scheme signs no timestamp, so a replay of a genuine
        body is told apart by remembering it: the notification carries its digest, which the
        use case records on the checkout with the change it makes, and refuses when recorded
        already, unless the checkout still waits on that session (see ``awaiting_outcome``)."""
        verify_signature(body, headers, [self.credentials.get("webhook_secret", "")])
        note = parse_notification(body)
        note.replay_digest = notification_digest(self.merchant_id, body)
        return note
