"""Payfect (payfect.finance) crypto checkouts, in our terms.

Pure mapping: our checkout -> the Create a Checkout body; a Query a Checkout
answer -> ProviderPayment; a success callback -> Notification. The thin Adapter
sends through the shared ``ProviderHttp`` client with ``Authorization: Api-Key``.

A callback is genuine when its ``X-Payfect-Signature`` header decrypts, with
Fernet under the merchant's ``secret_key``, to the same JSON as the body. The
docs say to compare the decrypted data with the body, not bytes, so parsed JSON
is compared (strictly: ``true`` is not ``1``). The docs give no Fernet TTL, so
none is enforced; a replayed callback only makes us read the checkout again.

Amounts are decimal strings in major units, written like the seed's request
(``"20.5"``, ``"20"``: no trailing zeros) from the exact Decimal; answers come as
``"20.00"``.

Sources: the seed (Create a Checkout, statuses); docs.payfect.finance
``payment/query`` (GET /checkouts/{id}/), ``payment/callback`` (payload,
X-Payfect-Signature, the Fernet decrypt snippet), ``errors`` (plain HTTP codes).
"""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from urllib.parse import quote

from chalicelib.adapters.providers import base
from chalicelib.adapters.providers.http import ProviderHttp
from chalicelib.domain import money
from chalicelib.domain.errors import NotificationRejected

DEFAULT_BASE = "https://api.payfect.finance"
CHECKOUTS_PATH = "/api/v1/checkouts/"
SIGNATURE_HEADER = "x-payfect-signature"

# USDT, plus the fiat codes the seed's second example prices in.
CURRENCIES = frozenset({"USDT", "CNY", "TWD"})
METHODS = frozenset({"crypto"})
PAYMENT_METHOD_DATA: dict[str, Any] = {
    "type": "cryptopaymentmethoddetail",
    "paymentMethodDetail": {"currency": "usdt", "network": "tron"},
}

# Checkout status -> our payment state (the seed's Status Values, exhaustive).
STATUS_MAP: dict[str, str] = {
    "open": base.OPEN,
    "complete": base.PAID,
    "expired": base.EXPIRED,
}


def map_status(raw: object) -> str:
    return STATUS_MAP.get(raw, base.UNKNOWN) if isinstance(raw, str) else base.UNKNOWN


def amount_text(amount: int, currency: str) -> str:
    """Minor units as the seed writes unit_amount: 2050 USDT -> "20.5", 2000 -> "20", 5 -> "0.05"."""
    return format(money.to_major(amount, currency).normalize(), "f")


# --- our checkout -> Payfect --------------------------------------------------------

def checkout_request(request: base.SessionRequest) -> dict[str, Any]:
    checkout = request.checkout
    currency = checkout.currency
    if currency not in CURRENCIES:
        raise base.ProviderRejected(f"payfect does not take {currency}")
    if request.method not in METHODS:
        raise base.ProviderRejected(f"payfect does not offer {request.method}")
    code = currency.lower()
    items = []
    for item in request.lines:
        product: dict[str, Any] = {"name": item.name}
        if item.description:
            product["description"] = item.description
        if item.image_url:
            product["images"] = [item.image_url]
        items.append({
            "price_data": {
                "currency": code,
                "product_data": product,
                "unit_amount": amount_text(item.unit_amount, currency),
            },
            "quantity": item.quantity,
        })
    return {
        "client_reference_id": checkout.id,
        "currency": code,
        "invoice_items": items,
        "success_url": request.return_url,
        "cancel_url": request.cancel_url,
        "callback_url": request.notify_url,
        "payment_method_data": PAYMENT_METHOD_DATA,
    }


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- Payfect -> our types -----------------------------------------------------------

def created_checkout(payload: Any) -> base.ProviderSession:
    if not isinstance(payload, dict):
        raise base.ProviderError("payfect answered with something that is not an object")
    checkout_id, url = payload.get("id"), payload.get("url")
    if not isinstance(checkout_id, str) or not checkout_id or not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise base.ProviderError("payfect's created checkout has no id or url")
    return base.ProviderSession(session_id=checkout_id, redirect_url=url)


def payment_from_checkout(payload: Any, session_id: str) -> base.ProviderPayment:
    """A Query a Checkout answer in our terms. Raises ProviderError on a bad amount."""
    if not isinstance(payload, dict) or payload.get("id") != session_id:
        raise base.ProviderError("payfect answered about a different checkout")
    raw_status = payload.get("status")
    amount, currency = base.exact_total("payfect", "amountTotal", payload.get("amountTotal"), payload.get("currency"))
    status = map_status(raw_status)
    reference, intent = payload.get("clientReferenceId"), payload.get("paymentIntent")
    return base.ProviderPayment(
        session_id=session_id,
        status=status,
        raw_status=str(raw_status),
        amount=amount,
        currency=currency,
        method="crypto",
        checkout_id=reference if isinstance(reference, str) and reference else None,
        provider_reference=intent if isinstance(intent, str) and intent else None,
        paid_at_s=_seconds(payload.get("updatedAt")) if status == base.PAID else None,
    )


def _seconds(value: object) -> int | None:
    """Payfect's "1690532073.498443" timestamps as whole seconds; None when absent or odd."""
    if not isinstance(value, str):
        return None
    try:
        return int(Decimal(value))
    except (InvalidOperation, ValueError):
        return None


# --- callbacks ----------------------------------------------------------------------

def sign_callback(body: Mapping[str, Any], secret_key: str) -> str:
    """An ``X-Payfect-Signature`` value for a callback body (for tests and tools)."""
    from cryptography.fernet import Fernet

    return Fernet(secret_key.encode()).encrypt(json.dumps(body).encode()).decode()


def verify_callback(headers: Mapping[str, str], body: bytes, secret_key: str) -> base.Notification:
    """Decrypt the signature and compare it with the body; the checkout it names. Raises NotificationRejected."""
    from cryptography.fernet import Fernet, InvalidToken

    token = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER, "").strip()
    if not token:
        raise NotificationRejected("missing X-Payfect-Signature header")
    try:
        fernet = Fernet(secret_key.encode())
    except (ValueError, TypeError) as e:
        raise NotificationRejected("the merchant's Payfect secret_key is not a Fernet key") from e
    try:
        signed = json.loads(fernet.decrypt(token.encode()), parse_float=Decimal)
    except InvalidToken as e:
        raise NotificationRejected("X-Payfect-Signature does not decrypt under the merchant's secret_key") from e
    except ValueError as e:
        raise NotificationRejected("X-Payfect-Signature does not hold JSON") from e
    try:
        sent = json.loads(body, parse_float=Decimal)
    except ValueError as e:
        raise NotificationRejected("the Payfect callback body is not JSON") from e
    if not same_json(signed, sent):
        raise NotificationRejected("the Payfect callback body differs from its signature")
    if not isinstance(sent, dict) or not isinstance(sent.get("id"), str) or not sent["id"]:
        raise NotificationRejected("the Payfect callback is not the documented shape")
    reference = sent.get("client_reference_id")
    return base.Notification(
        event=f"checkout.{sent.get('status')}",
        session_id=sent["id"],
        checkout_id=reference if isinstance(reference, str) and reference else None,
    )


def same_json(a: Any, b: Any) -> bool:
    """Equal JSON values, types included (Python's ``True == 1`` and ``1 == 1.0`` do not count)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# --- the adapter --------------------------------------------------------------------

class Adapter(base.Provider):
    name = "payfect"
    display_name = "Payfect"
    currencies = CURRENCIES
    methods = METHODS
    credential_names = ("api_key", "secret_key")
    default_base_url = DEFAULT_BASE

    @classmethod
    def page_origins(cls, test_mode: bool) -> tuple[str, ...]:
        # The seed's checkout URL is on buy-dev.payfect.finance. The live host is not published:
        # it is not guessed here, and a page there is still reached (pages.to_provider).
        return ("https://buy-dev.payfect.finance",)

    @classmethod
    def check_credentials(cls, credentials: Mapping[str, str]) -> None:
        from cryptography.fernet import Fernet

        try:
            Fernet(credentials.get("secret_key", "").encode())
        except ValueError as e:
            raise ValueError("secret_key must be the Fernet key Payfect gave you (32 url-safe base64 bytes)") from e

    def __init__(self, merchant_id: str, credentials: Mapping[str, str], base_url: str,
                 memory: base.ProviderMemory | None = None) -> None:
        super().__init__(merchant_id, credentials, base_url, memory)
        self._http = ProviderHttp(
            self.name, secrets=[credentials.get("api_key", ""), credentials.get("secret_key", "")]
        )

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Api-Key {self.credentials['api_key']}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def create_session(self, request: base.SessionRequest) -> base.ProviderSession:
        body = encode(checkout_request(request))
        # Payfect documents no idempotency key: never repeat a create.
        response = self._http.request(
            "POST", self.base_url + CHECKOUTS_PATH, headers=self._headers(), body=body, retry_safe=False
        )
        return created_checkout(response.json())

    def read_session(self, session_id: str) -> base.ProviderPayment:
        url = f"{self.base_url}{CHECKOUTS_PATH}{quote(session_id, safe='')}/"
        response = self._http.request("GET", url, headers=self._headers())
        return payment_from_checkout(response.json(), session_id)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now_s: int) -> base.Notification:
        return verify_callback(headers, body, self.credentials.get("secret_key", ""))
