"""A local PayCombat that enforces the documented contract.

Every API call needs the right ``X-token``. Every POST/PATCH needs a ``signature``
header that is the hex HMAC-SHA256, under the signature key, of the exact bytes
received, and those bytes must be what Node's ``JSON.stringify`` writes for the
parsed body: PayCombat checks by re-serializing what it parsed, so a body in any
other layout (spaces after separators, ``\\uXXXX`` escapes for Korean) cannot be
verified. Field names, JSON types, amounts and required fields are checked;
every violation is answered 4xx in PayCombat's envelope
``{"status": false, "message": ..., "data": null}``.

The fake's JSON.stringify is deliberately not ours: Python's compact
``json.dumps(ensure_ascii=False)`` writes the same bytes as JSON.stringify for
bodies without array-index keys or lone surrogates, which PayCombat bodies never
have (both are refused here).

Payment requests, payins (``GET /api/v1/payin/retrieve/{id}``: the path of Retrieve
Payin is not in the documents we hold, the fields are the PAYIN webhook's) and wallets
are kept, so retrieve and list return them; tests
move a checkout with ``set_status``/``update`` and sign webhooks with ``notification``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.adapters.providers.harness import FakeProvider, Reply, Request

KRW_VIRTUAL_ACCOUNT_BANKS = (
    "KDB산업은행", "KB국민은행", "신한은행", "우리은행", "하나은행", "IBK기업은행", "NH농협은행", "카카오뱅크", "토스뱅크",
)
COUNTRY_BY_CURRENCY = {"KRW": "KR"}
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def js_stringify(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def hmac_hex(key: str, body: bytes) -> str:
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(int(epoch_s), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _has_index_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k.isdigit() for k in value) or any(_has_index_keys(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_index_keys(v) for v in value)
    return False


class Invalid(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_int,
    "object": lambda v: isinstance(v, dict),
    "array[string]": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
}


def check_fields(body: dict[str, Any], required: dict[str, str], optional: dict[str, str]) -> None:
    for name in body:
        if name not in required and name not in optional:
            raise Invalid(400, f"{name} is not allowed")
    for name, kind in required.items():
        if name not in body or body[name] is None:
            raise Invalid(400, f"{name} is required")
    for name, kind in {**required, **optional}.items():
        if name in body and not _TYPES[kind](body[name]):
            raise Invalid(400, f"{name} must be {kind}")


class FakePayCombat(FakeProvider):
    def __init__(self, x_token: str = "snd_eyJpdiI6ImZha2UifQ==", signature_key: str = "sig_fake_key_0123456789") -> None:
        self.x_token = x_token
        self.signature_key = signature_key
        self.checkouts: dict[str, dict[str, Any]] = {}
        self.wallets: list[dict[str, Any]] = []
        # Payins PayCombat has notified, by their id (Retrieve Payin reads them).
        self.payins: dict[str, dict[str, Any]] = {}
        self.rejections: list[tuple[int, str]] = []
        super().__init__()
        # Where checkout_url points: the API's origin unless a test names another, as
        # PayCombat's own checkout.paycombat.com is not its API host.
        self.page_base = self.url
        # True: the page asks the shopper to pay (a form) before sending them back.
        self.page_pays = False

    # --- the API ---------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        try:
            if request.method == "GET" and request.path.startswith("/checkout/"):
                return self._hosted_page(request.path.rsplit("/", 1)[1])
            if request.method == "POST" and request.path.startswith("/checkout/") and self.page_pays:
                return self._hosted_page(request.path.rsplit("/", 1)[1], paid=True)
            self._authenticate(request)
            body = self._verified_body(request) if request.method in ("POST", "PATCH") else None
            return self._route(request, body)
        except Invalid as e:
            self.rejections.append((e.status, e.message))
            return Reply(e.status, {"status": False, "message": e.message, "data": None})

    def _route(self, request: Request, body: dict[str, Any] | None) -> Reply:
        path, method = request.path, request.method
        if path == "/api/v1/checkout" and method == "POST" and body is not None:
            return self._ok(self._create_payment_request(body))
        if path == "/api/v1/checkout" and method == "PATCH" and body is not None:
            return self._ok(self._create_new_checkout(body))
        if path.startswith("/api/v1/checkout/retrieve/") and method == "GET":
            found = self.checkouts.get(path.rsplit("/", 1)[1])
            if found is None:
                raise Invalid(404, "checkout not found")
            return self._ok(found)
        if path.startswith("/api/v1/payin/retrieve/") and method == "GET":
            payin = self.payins.get(path.rsplit("/", 1)[1])
            if payin is None:
                raise Invalid(404, "payin not found")
            return self._ok(payin)
        if path == "/wallet/create" and method == "POST" and body is not None:
            return self._ok(self._create_wallet(body))
        if path == "/wallet" and method == "GET":
            return self._ok(self.wallets)
        if path.startswith("/wallet/") and method == "GET":
            wallet = next((w for w in self.wallets if w["wallet_id"] == path.rsplit("/", 1)[1]), None)
            if wallet is None:
                raise Invalid(404, "wallet not found")
            return self._ok(wallet)
        raise Invalid(404, f"no route {method} {path}")

    @staticmethod
    def _ok(data: Any) -> Reply:
        return Reply(200, {"status": True, "message": "OK", "data": data})

    def _authenticate(self, request: Request) -> None:
        token = request.headers.get("x-token")
        if not token or not hmac.compare_digest(token, self.x_token):
            raise Invalid(401, "Unauthenticated: X-token is missing or wrong")

    def _verified_body(self, request: Request) -> dict[str, Any]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise Invalid(400, "Content-Type must be application/json")
        signature = request.headers.get("signature", "")
        if not re.fullmatch(r"[0-9a-f]{64}", signature):
            raise Invalid(401, "signature header is missing or not hex HMAC-SHA256")
        if not hmac.compare_digest(signature, hmac_hex(self.signature_key, request.body)):
            raise Invalid(401, "signature does not match the request body")
        try:
            parsed = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise Invalid(400, "body is not UTF-8 JSON") from e
        if not isinstance(parsed, dict):
            raise Invalid(400, "body must be a JSON object")
        if _has_index_keys(parsed):
            raise Invalid(400, "numeric object keys are not accepted")
        if request.body != js_stringify(parsed):
            # What PayCombat signs is JSON.stringify(parsed body): other bytes never verify.
            raise Invalid(401, "signature does not match JSON.stringify(body): send the bytes JSON.stringify writes")
        return parsed

    # --- checkout --------------------------------------------------------------------

    def _create_payment_request(self, body: dict[str, Any]) -> dict[str, Any]:
        check_fields(
            body,
            required={"amount": "integer", "currency": "string", "country_code": "string",
                      "description": "string", "redirect_url": "string", "expire_at": "string"},
            optional={"webhook_url": "string", "additional_info": "object"},
        )
        currency = body["currency"]
        if currency not in COUNTRY_BY_CURRENCY:
            raise Invalid(400, f"currency {currency} is not available")
        if body["country_code"] != COUNTRY_BY_CURRENCY[currency]:
            raise Invalid(400, f"country_code must be {COUNTRY_BY_CURRENCY[currency]} for {currency}")
        if body["amount"] <= 0:
            raise Invalid(400, "amount must be positive")
        if not 1 <= len(body["description"]) <= 255:
            raise Invalid(400, "description must be 1-255 characters")
        for name in ("redirect_url", "webhook_url"):
            if name in body and not re.match(r"^https?://[^/\s]+", body[name]):
                raise Invalid(400, f"{name} must be an http(s) URL")
        if not ISO_MS.match(body["expire_at"]) or body["expire_at"] <= iso(time.time()):
            raise Invalid(400, "expire_at must be a future timestamp like 2025-01-17T07:21:08.000Z")
        info = body.get("additional_info", {})
        check_fields(info, required={}, optional={
            "order_reference": "string", "customer_full_name": "string",
            "customer_email": "string", "customer_phone": "string",
        })
        if "customer_phone" in info and not re.fullmatch(r"\+\d{8,15}", info["customer_phone"]):
            raise Invalid(400, "customer_phone must be E.164")
        token = secrets.token_hex(32)
        now = iso(time.time())
        record: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "checkout_token": token,
            "amount": body["amount"],
            "currency": currency,
            "country_code": body["country_code"],
            "country_name": "KOREA, REPUBLIC OF",
            "payin_method_name": None,
            "payin_type": None,
            "description": body["description"],
            "merchant_id": "5a741ab5-a506-4d38-ade7-b039e38134a6",
            "customer_id": None,
            "redirect_url": body["redirect_url"],
            "advanced_redirect_url": None,
            "checkout_url": f"{self.page_base}/checkout/{token}",
            "expire_at": body["expire_at"],
            "status": "PENDING",
            "virtual_account": None,
            "additional_info": {**info, "credit_type": "CHECKOUT", "trx_type": "CHECKOUT"},
            "webhook_url": body.get("webhook_url"),
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        self.checkouts[record["id"]] = record
        return record

    def _create_new_checkout(self, body: dict[str, Any]) -> dict[str, Any]:
        check_fields(body, required={"checkout_token": "string", "payin_method_name": "string"}, optional={})
        record = next((c for c in self.checkouts.values() if c["checkout_token"] == body["checkout_token"]), None)
        if record is None:
            raise Invalid(404, "checkout_token not found")
        if record["payin_method_name"] is not None:
            raise Invalid(400, "this checkout already has a payin method")
        if record["currency"] == "KRW" and body["payin_method_name"] not in KRW_VIRTUAL_ACCOUNT_BANKS:
            raise Invalid(400, f"payin method {body['payin_method_name']} is not available for KRW")
        record["payin_method_name"] = body["payin_method_name"]
        record["virtual_account"] = {
            "bank_name": body["payin_method_name"],
            "account_number": "0201" + "".join(secrets.choice("0123456789") for _ in range(10)),
            "account_holder": "페이컴뱃",
            "expire_at": record["expire_at"],
        }
        record["updated_at"] = iso(time.time())
        return record

    def _hosted_page(self, token: str, paid: bool = False) -> Reply:
        """The shopper on PayCombat's page: it shows the account and links back to redirect_url."""
        record = next((c for c in self.checkouts.values() if c["checkout_token"] == token), None)
        if record is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        if self.page_pays and not paid:
            return Reply(200, b"<!doctype html><title>PayCombat</title><form method=post><button>Pay</button></form>",
                         {"Content-Type": "text/html; charset=utf-8"})
        if paid:
            record.update(status="SUCCESS", updated_at=iso(time.time()))
        return Reply(302, b"", {"Location": record["redirect_url"], "Content-Type": "text/plain"})

    # --- wallet ----------------------------------------------------------------------

    def _create_wallet(self, body: dict[str, Any]) -> dict[str, Any]:
        check_fields(
            body,
            required={"customer_id": "string", "currency": "string", "currency_list": "array[string]"},
            optional={"description": "string", "webhook_url": "string"},
        )
        if body["currency"] not in COUNTRY_BY_CURRENCY or body["currency"] not in body["currency_list"]:
            raise Invalid(400, "currency must be available and in currency_list")
        return self.add_wallet(body["currency_list"], customer_id=body["customer_id"],
                               webhook_url=body.get("webhook_url"), description=body.get("description", ""))

    def add_wallet(self, currencies: list[str], customer_id: str = "existing", active: bool = True,
                   webhook_url: str | None = None, description: str = "") -> dict[str, Any]:
        wallet_id = str(uuid.uuid4())
        now = iso(time.time())
        wallet = {
            "category": "MERCHANT", "created_at": now, "customer_id": customer_id, "deleted_at": None,
            "description": description, "is_active": active, "is_deleted": False, "metadata": {},
            "org_id": "org-1", "raw_data": "", "scope": "PAYIN", "updated_at": now,
            "wallet_account": [
                {"actual_balance": 0, "available_balance": 0, "created_at": now, "currency": c, "deleted_at": None,
                 "is_active": True, "is_deleted": False, "is_settlement_allowed": True, "org_id": "org-1",
                 "updated_at": now, "wallet_account_id": str(uuid.uuid4()), "wallet_id": wallet_id}
                for c in currencies
            ],
            "wallet_alias": f"wallet-{len(self.wallets) + 1}", "wallet_id": wallet_id, "webhook_url": webhook_url,
        }
        self.wallets.append(wallet)
        return wallet

    # --- test controls ---------------------------------------------------------------

    def requests_to(self, method: str, path_prefix: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def only_checkout(self) -> dict[str, Any]:
        with self.lock:
            (record,) = self.checkouts.values()
            return record

    def update(self, checkout_id: str, **fields: Any) -> None:
        with self.lock:
            self.checkouts[checkout_id].update(fields, updated_at=iso(time.time()))

    def set_status(self, checkout_id: str, status: str) -> None:
        self.update(checkout_id, status=status)

    def credit(self, wallet_id: str, currency: str, available: Any, actual: Any) -> None:
        with self.lock:
            wallet = next(w for w in self.wallets if w["wallet_id"] == wallet_id)
            account = next(a for a in wallet["wallet_account"] if a["currency"] == currency)
            account.update(available_balance=available, actual_balance=actual)

    def notification(self, checkout_id: str, status: str, key: str | None = None,
                     updated_at_s: float | None = None) -> tuple[bytes, dict[str, str]]:
        """A PAYIN webhook as PayCombat sends it: JSON.stringify(data) with X-Signature over it."""
        with self.lock:
            record = self.checkouts[checkout_id]
        now = iso(time.time() if updated_at_s is None else updated_at_s)
        info = record["additional_info"]
        payload = {
            "id": str(uuid.uuid4()),
            "merchant_id": record["merchant_id"],
            "status": status,
            "amount": record["amount"],
            "original_amount": record["amount"],
            "amount_type": record["currency"],
            "transaction": record["description"],
            "transaction_date": now,
            "payment_method": record["payin_method_name"],
            "order_reference": info.get("order_reference", record["description"]),
            "customer_full_name": info.get("customer_full_name", ""),
            "currency": "FIAT",
            "credit_type": "PAYIN",
            "trx_type": "CHECKOUT",
            "customer_email": info.get("customer_email", ""),
            "customer_phone": info.get("customer_phone", ""),
            "fee_taken": 0,
            "fee_expected": 0,
            "created_at": record["created_at"],
            "updated_at": now,
            "deleted_at": None,
            "payment_date": now if status == "SUCCESS" else None,
            "type": "PAYIN",
        }
        with self.lock:
            # The payin the webhook is about, as Retrieve Payin answers it (its fields as the webhook's).
            self.payins[payload["id"]] = dict(payload)
        body = js_stringify(payload)
        return body, {"Content-Type": "application/json", "X-Signature": hmac_hex(key or self.signature_key, body)}
