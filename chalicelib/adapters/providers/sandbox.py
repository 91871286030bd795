"""The built-in sandbox provider: a fake payment provider that lives on our own host.

It speaks through the same interface as a real one. Its "server side" is items
in our table (``SANDBOX#id``); its hosted page is ``chalicelib.web.sandbox_site``;
its notifications are signed with a key derived from our master secret and the
merchant id (header ``sandbox-signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">``).

Its documented session fields beyond the amount: ``installment_months`` (card: 0 for
일시불, 2–12) and ``cash_receipt`` (cash methods: ``{"type": "income_deduction" |
"expense_proof", "id": phone or 사업자등록번호}``), kept on the session and shown on its page.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Mapping

from chalicelib.adapters import secretbox
from chalicelib.adapters.providers import base
from chalicelib.adapters.providers.http import ProviderHttp
from chalicelib.domain import clock, money
from chalicelib.domain.errors import NotificationRejected
from chalicelib.domain.model import PAYMENT_METHODS

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "sandbox-signature"
TOLERANCE_S = 300

# Sandbox session status -> our payment state: exhaustive over what the sandbox writes.
STATUS_MAP = {
    "open": base.OPEN,
    "pending": base.PENDING,
    "paid": base.PAID,
    "declined": base.FAILED,
    "cancelled": base.CANCELLED,
    "expired": base.EXPIRED,
}


def map_status(raw: str) -> str:
    return STATUS_MAP.get(raw, base.UNKNOWN)


def session_id_for(attempt_id: str) -> str:
    # Deterministic per attempt: creating twice for one attempt yields one session.
    return "sbx_" + attempt_id.split("_", 1)[1]


def _key(merchant_id: str) -> bytes:
    return secretbox.derived_key(f"sandbox-webhook:{merchant_id}")


def sign(merchant_id: str, body: bytes, timestamp_s: int) -> str:
    mac = hmac.new(_key(merchant_id), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp_s},v1={mac}"


class Adapter(base.Provider):
    name = "sandbox"
    display_name = "Sandbox"
    currencies = frozenset(money.EXPONENTS)
    methods = frozenset(PAYMENT_METHODS)
    credential_names = ()
    takes_installments = True
    takes_cash_receipts = True

    def create_session(self, request: base.SessionRequest) -> base.ProviderSession:
        checkout = request.checkout
        session_id = session_id_for(request.attempt_id)
        record: dict[str, Any] = {
            "pk": f"SANDBOX#{session_id}",
            "sk": "SANDBOX",
            "type": "sandbox_session",
            "id": session_id,
            "merchant_id": self.merchant_id,
            "checkout_id": checkout.id,
            "amount": request.amount_total,
            "currency": checkout.currency,
            "method": request.method,
            "status": "open",
            "return_url": request.return_url,
            "cancel_url": request.cancel_url,
            "notify_url": request.notify_url,
            "created_at_s": clock.now_s(),
            "ttl": checkout.expires_at_s + 30 * 86400,
        }
        if request.installment_months is not None:
            record["installment_months"] = request.installment_months
        if request.cash_receipt:
            record["cash_receipt"] = dict(request.cash_receipt)
        self.memory.remember(record)
        return base.ProviderSession(session_id=session_id, redirect_url=f"{self.base_url}/sandbox/{session_id}")

    def read_session(self, session_id: str) -> base.ProviderPayment:
        record = self.memory.get(f"SANDBOX#{session_id}", "SANDBOX")
        if record is None or record["merchant_id"] != self.merchant_id:
            raise base.ProviderRejected(f"sandbox session {session_id} not found")
        return base.ProviderPayment(
            session_id=session_id,
            status=map_status(record["status"]),
            raw_status=record["status"],
            amount=record["amount"],
            currency=record["currency"],
            method=record["method"],
            checkout_id=record["checkout_id"],
            provider_reference=record.get("reference"),
            paid_at_s=record.get("paid_at_s"),
            pending=record.get("virtual_account"),
        )

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now_s: int) -> base.Notification:
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            timestamp = int(parts["t"])
        except (KeyError, ValueError) as e:
            raise NotificationRejected("missing or malformed sandbox-signature header") from e
        if abs(now_s - timestamp) > TOLERANCE_S:
            raise NotificationRejected("sandbox notification timestamp is outside the tolerance")
        expected = sign(self.merchant_id, body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected.encode(), parts.get("v1", "").encode()):
            raise NotificationRejected("sandbox notification signature does not match")
        try:
            payload = json.loads(body)
            return base.Notification(
                event=str(payload["type"]),
                session_id=str(payload["session_id"]),
                checkout_id=str(payload["checkout_id"]),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise NotificationRejected("sandbox notification body is not the documented shape") from e


def notify(record: Mapping[str, Any]) -> None:
    """Tell the merchant's integration (us) that the session changed, the way a provider does."""
    body = json.dumps(
        {"type": "session.updated", "session_id": record["id"], "checkout_id": record["checkout_id"]},
        separators=(",", ":"),
    ).encode()
    headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(record["merchant_id"], body, clock.now_s())}
    try:
        ProviderHttp("sandbox").request("POST", record["notify_url"], headers=headers, body=body, retry_safe=False)
    except base.ProviderError as e:
        # The return route confirms with the sandbox too; a lost notification loses nothing.
        log.warning("sandbox notification for %s not delivered: %s", record["id"], type(e).__name__)
