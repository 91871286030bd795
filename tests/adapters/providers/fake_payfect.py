"""A local Payfect that enforces the documented contract of checkouts.

Requests must carry ``Authorization: Api-Key <key>``; paths keep Django's
trailing slash; the body must use the seed's field names and types: a known
``currency``, non-empty ``invoice_items`` whose ``unit_amount`` is a decimal
*string* with no more than two decimals and whose ``price_data.currency`` is the
checkout's, a positive integer ``quantity``, a product name, and crypto
``payment_method_data`` (``usdt`` on ``tron``). Violations answer 4xx in the
Django REST framework shape (``{"detail": …}`` or ``{field: [messages]}``).
Checkouts are kept; ``amountTotal`` is the exact sum of the items. The hosted
page pays a checkout when posted to, and ``callback`` builds the success
callback with its Fernet ``X-Payfect-Signature``.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from decimal import Decimal
from typing import Any

from tests.adapters.providers.harness import FakeProvider, Reply, Request

CURRENCIES = {"usdt", "cny", "twd"}
CREATE_FIELDS = {
    "client_reference_id", "currency", "invoice_items", "success_url", "cancel_url", "callback_url", "payment_method_data",
}
AMOUNT_RE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
CHECKOUT_PATH = re.compile(r"^/api/v1/checkouts/([0-9a-f-]{36})/$")
PAGE_PATH = re.compile(r"^/checkouts/([0-9a-f-]{36})$")
CENTS = Decimal("0.01")


class ContractViolation(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(json.dumps(body))
        self.status = status
        self.body = body


def _field_error(field: str, message: str) -> ContractViolation:
    return ContractViolation(400, {field: [message]})


class FakePayfect(FakeProvider):
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.checkouts: dict[str, dict[str, Any]] = {}
        self.callback_urls: dict[str, str] = {}
        self.created: list[dict[str, Any]] = []
        super().__init__()

    def handle(self, request: Request) -> Reply:
        try:
            if request.path.startswith("/checkouts/"):
                return self._hosted_page(request)
            self._authenticate(request)
            if request.method == "POST" and request.path == "/api/v1/checkouts/":
                return Reply(201, self._create(request))
            match = CHECKOUT_PATH.match(request.path)
            if request.method == "GET" and match:
                checkout = self.checkouts.get(match.group(1))
                if checkout is None:
                    raise ContractViolation(404, {"detail": "Not found."})
                return Reply(200, dict(checkout))
            raise ContractViolation(404, {"detail": "Not found."})
        except ContractViolation as e:
            return Reply(e.status, e.body)

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if not header:
            raise ContractViolation(401, {"detail": "Authentication credentials were not provided."})
        if header != f"Api-Key {self.api_key}":
            raise ContractViolation(403, {"detail": "You do not have permission to perform this action."})

    def _create(self, request: Request) -> dict[str, Any]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise ContractViolation(415, {"detail": "Unsupported media type in request."})
        try:
            body = json.loads(request.body)
        except ValueError as e:
            raise ContractViolation(400, {"detail": "JSON parse error"}) from e
        if not isinstance(body, dict):
            raise ContractViolation(400, {"non_field_errors": ["Invalid data. Expected a dictionary."]})
        unknown = set(body) - CREATE_FIELDS
        if unknown:
            raise _field_error(sorted(unknown)[0], "Unknown field.")
        currency = body.get("currency")
        if not isinstance(currency, str) or currency.lower() not in CURRENCIES:
            raise _field_error("currency", "This field is required and must be a supported currency.")
        for name in ("client_reference_id", "success_url", "cancel_url", "callback_url"):
            if name in body and not isinstance(body[name], str):
                raise _field_error(name, "Not a valid string.")
        method = body.get("payment_method_data")
        if method is not None and (
            not isinstance(method, dict)
            or method.get("type") != "cryptopaymentmethoddetail"
            or method.get("paymentMethodDetail") != {"currency": "usdt", "network": "tron"}
        ):
            raise _field_error("payment_method_data", "Unsupported payment method detail.")
        items = body.get("invoice_items")
        if not isinstance(items, list) or not items:
            raise _field_error("invoice_items", "This field is required.")
        total = Decimal(0)
        invoice_items = []
        for item in items:
            price = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(price, dict) or set(item) - {"price_data", "quantity"}:
                raise _field_error("invoice_items", "Each item needs price_data and quantity only.")
            product = price.get("product_data")
            if not isinstance(product, dict) or not isinstance(product.get("name"), str) or not product["name"]:
                raise _field_error("invoice_items", "price_data.product_data.name is required.")
            if str(price.get("currency", "")).lower() != currency.lower():
                raise _field_error("invoice_items", "price_data.currency must be the checkout currency.")
            unit = price.get("unit_amount")
            if not isinstance(unit, str) or not AMOUNT_RE.match(unit):
                raise _field_error("invoice_items", "unit_amount must be a decimal string with at most 2 decimal places.")
            quantity = item.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise _field_error("invoice_items", "quantity must be a positive integer.")
            amount = Decimal(unit) * quantity
            total += amount
            invoice_items.append({
                "id": str(uuid.uuid4()), "price": str(uuid.uuid4()), "quantity": quantity,
                "amount": str(amount.quantize(CENTS)),
            })
        if total <= 0:
            raise _field_error("invoice_items", "The total must be greater than 0.")
        checkout_id = str(uuid.uuid4())
        now = time.time()
        checkout = {
            "id": checkout_id,
            "merchant": {"id": "bf065cc8-343d-4419-be7d-ed2190f1df4d", "name": "頑碼資訊有限公司"},
            "nameCollection": False,
            "emailCollection": False,
            "phoneNumberCollection": False,
            "shippingAddressCollection": None,
            "invoiceItems": invoice_items,
            "amountTotal": str(total.quantize(CENTS)),
            "status": "open",
            "createdAt": f"{now:.6f}",
            "updatedAt": f"{now:.6f}",
            "clientReferenceId": body.get("client_reference_id"),
            "currency": currency.lower(),
            "successUrl": body.get("success_url"),
            "cancelUrl": body.get("cancel_url"),
            "expiresAt": str(int((now + 86400) * 1000)),
            "paymentIntent": str(uuid.uuid4()),
            "paymentMethodTypes": ["crypto"],
            "paymentMethodOptions": {"crypto": [{"currency": {"value": "usdt", "name": "Tether"},
                                                 "networks": [{"value": "tron", "name": "Tron (TRC20)"}]}], "card": None},
            "url": f"{self.url}/checkouts/{checkout_id}",
            "metadata": None,
            "isLivemode": False,
        }
        self.checkouts[checkout_id] = checkout
        self.callback_urls[checkout_id] = body.get("callback_url", "")
        self.created.append(body)
        return dict(checkout)

    def _hosted_page(self, request: Request) -> Reply:
        match = PAGE_PATH.match(request.path)
        checkout = self.checkouts.get(match.group(1)) if match else None
        if checkout is None:
            return Reply(404, b"<html>not found</html>", {"Content-Type": "text/html"})
        if request.method == "GET":
            return Reply(200, f"<html><form method=post><button>Pay {checkout['amountTotal']} USDT</button></form></html>".encode(),
                         {"Content-Type": "text/html"})
        checkout.update(status="complete", updatedAt=f"{time.time():.6f}")
        return Reply(303, b"", {"Location": checkout["successUrl"]})

    # --- what a test does to the provider's side ---------------------------------------

    def change(self, checkout_id: str, **fields: Any) -> None:
        with self.lock:
            self.checkouts[checkout_id].update(fields)

    def callback_payload(self, checkout_id: str) -> dict[str, Any]:
        """The success callback body (docs.payfect.finance payment/callback)."""
        checkout = self.checkouts[checkout_id]
        return {
            "id": checkout_id,
            "amount": checkout["amountTotal"],
            "status": "succeeded",
            "currency": checkout["currency"],
            "merchant": checkout["merchant"]["id"],
            "is_livemode": False,
            "payment_intent": checkout["paymentIntent"],
            "payment_method": {
                "id": str(uuid.uuid4()),
                "payment_method_detail": {"network": "tron", "currency": "usdt"},
            },
            "client_reference_id": checkout["clientReferenceId"],
        }

    @staticmethod
    def sign(payload: dict[str, Any], secret_key: str) -> str:
        """X-Payfect-Signature: the payload encrypted with Fernet, serialised differently
        from the body (spaced, keys reversed) as nothing promises the same bytes."""
        from cryptography.fernet import Fernet

        reordered = dict(reversed(list(payload.items())))
        return Fernet(secret_key.encode()).encrypt(json.dumps(reordered, indent=1).encode()).decode()

    def callback(self, checkout_id: str, secret_key: str) -> tuple[bytes, dict[str, str]]:
        payload = self.callback_payload(checkout_id)
        body = json.dumps(payload, separators=(",", ":")).encode()
        return body, {"Content-Type": "application/json", "X-Payfect-Signature": self.sign(payload, secret_key)}
