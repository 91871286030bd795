"""PayCombat: hosted checkout by virtual account (KRW), and the wallet payins land in.

A session is two calls: Create Payment Request (``POST /api/v1/checkout``: amount,
our checkout id as ``description`` / ``order_reference``) and, when the shopper
chose a bank on our page, Create New Checkout (``PATCH /api/v1/checkout`` with the
``checkout_token`` and the bank as ``payin_method_name``). The read is
``GET /api/v1/checkout/retrieve/{id}``. Notifications (PAYIN SUCCESS / FAILED /
EXPIRED) carry only our reference, so they name the checkout, not the session.

Every POST/PATCH is signed: ``signature`` = hex HMAC-SHA256 of
``JSON.stringify(body)`` under the merchant's signature key, beside ``X-token``.
PayCombat re-serializes the body it parsed to check it, so the bytes we send
are the bytes we sign, written by ``jsonstringify`` exactly as Node would
(compact, Korean text as raw UTF-8). Notifications carry ``X-Signature``
computed the same way.

Everything above the ``Adapter`` is pure: mapping our types to PayCombat's and
back, and signing. The adapter only sends through ``ProviderHttp``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

from chalicelib.adapters.providers import base, jsonstringify
from chalicelib.adapters.providers.http import ProviderHttp
from chalicelib.domain import ids, model, money, validation
from chalicelib.domain.errors import NotificationRejected

NAME = "paycombat"
LIVE_BASE = "https://api.paycombat.com"
SIGNATURE_HEADER = "x-signature"

# A notification's signed ``updated_at`` older than this is a replay, whatever its signature.
NOTIFICATION_TOLERANCE_S = 3 * 86400
NOTIFICATION_CLOCK_SKEW_S = 300
# How long a processed notification is remembered: longer than the tolerance, so
# no replay outlives its record.
NOTIFICATION_MEMORY_S = 7 * 86400
# A PAYIN notification is a flat object of ~30 fields (under 2 KB); this is far above any.
MAX_NOTIFICATION_BYTES = 64 * 1024

# PayCombat checkout status (the read's ``data.status``, the webhook's ``status``) ->
# our payment state. Exhaustive over the documented words; anything else is UNKNOWN,
# which is never paid.
STATUS_MAP: dict[str, str] = {
    "PENDING": base.PENDING,
    "SUCCESS": base.PAID,
    "FAILED": base.FAILED,
    "EXPIRED": base.EXPIRED,
}
NOTIFIED_STATUSES = frozenset({"SUCCESS", "FAILED", "EXPIRED"})

COUNTRY_BY_CURRENCY: dict[str, str] = {"KRW": "KR"}

# Our virtual-account bank (the page's ``bank`` select) -> PayCombat's KRW payin
# method name: for KRW virtual accounts the payin method *is* the bank
# ("KDB산업은행" in PayCombat's Create New Checkout example).
VIRTUAL_ACCOUNT_PAYIN_METHODS: dict[str, str] = {
    "KDB산업은행": "KDB산업은행",
    "KB국민은행": "KB국민은행",
    "신한은행": "신한은행",
    "우리은행": "우리은행",
    "하나은행": "하나은행",
    "IBK기업은행": "IBK기업은행",
    "NH농협은행": "NH농협은행",
    "카카오뱅크": "카카오뱅크",
    "토스뱅크": "토스뱅크",
}

# (currency, our payment method) PayCombat serves. A one-line change per method
# once its payin method names are confirmed (bank_transfer, card...).
SUPPORTED: frozenset[tuple[str, str]] = frozenset({("KRW", "virtual_account")})


# --- signing -----------------------------------------------------------------------

def sign(body: bytes, signature_key: str) -> str:
    """hex HMAC-SHA256 of the exact body bytes (Node: createHmac('sha256', key).update(JSON.stringify(data)))."""
    return hmac.new(signature_key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signed_request(payload: Mapping[str, Any], x_token: str, signature_key: str) -> tuple[dict[str, str], bytes]:
    """The headers and the exact body of a POST/PATCH: the bytes signed are the bytes sent."""
    body = jsonstringify.to_bytes(dict(payload))
    headers = {
        "X-token": x_token,
        "signature": sign(body, signature_key),
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    return headers, body


def verify_signature(body: bytes, header: str | None, signature_keys: Sequence[str]) -> None:
    """Check ``X-Signature`` against the raw body, under any of the keys (rotation).

    The signature is defined over ``JSON.stringify(data)``; a body sent in another
    layout is also checked in its JSON.stringify form. Raises NotificationRejected.
    """
    if not header:
        raise NotificationRejected("missing X-Signature header")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", header.strip()):
        raise NotificationRejected("X-Signature is not a hex HMAC-SHA256")
    given = header.strip().lower()
    keys = [k for k in signature_keys if k]
    if not keys:
        raise NotificationRejected("no signature key is configured for this merchant")

    def matches(candidate: bytes) -> bool:
        matched = False
        for key in keys:
            # Every comparison runs: no early exit to time.
            matched |= hmac.compare_digest(sign(candidate, key), given)
        return matched

    # The exact bytes first: PayCombat sends what JSON.stringify wrote, so this is the
    # usual case, and nothing unsigned is parsed on the way.
    if matches(body):
        return
    # Only a body within the bounds of a real notification is parsed for its JSON.stringify form.
    if len(body) > MAX_NOTIFICATION_BYTES or not validation.json_depth_within(body):
        raise NotificationRejected("X-Signature does not match the body")
    try:
        canonical = jsonstringify.to_bytes(json.loads(body))
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
        canonical = body
    if canonical == body or not matches(canonical):
        raise NotificationRejected("X-Signature does not match the body")


# --- our checkout -> PayCombat -------------------------------------------------------

def payin_method_name(currency: str, method: str, bank: str | None) -> str | None:
    """PayCombat's payin method for the shopper's choice; None to let them choose on PayCombat's page."""
    if (currency, method) not in SUPPORTED:
        raise base.ProviderRejected(f"PayCombat does not take {method} in {currency} here")
    if not bank:
        return None
    try:
        return VIRTUAL_ACCOUNT_PAYIN_METHODS[bank]
    except KeyError:
        raise base.ProviderRejected(f"PayCombat has no virtual accounts at {bank!r}") from None


def amount_to_provider(amount: int, currency: str) -> int:
    """Our minor units -> PayCombat's integer ``amount`` (major units; exact or refused)."""
    major = money.to_major(amount, currency)
    if major != major.to_integral_value():
        raise base.ProviderRejected(f"PayCombat takes whole {currency} amounts, not {major}")
    return int(major)


def amount_from_provider(value: object, currency: str | None) -> int | None:
    """PayCombat's ``amount`` -> our minor units; None when it is not an exact amount we know."""
    if currency is None or not money.is_supported(currency) or isinstance(value, bool):
        return None
    if not isinstance(value, (int, Decimal, str)):
        return None
    try:
        return money.from_major(value, currency)
    except ValueError:
        return None


def e164_phone(phone: str, country_code: str) -> str:
    """010-1234-5678 -> +821012345678 (PayCombat's examples are E.164)."""
    digits = re.sub(r"[^\d+]", "", phone)
    if digits.startswith("+"):
        return digits
    if country_code == "KR" and digits.startswith("0"):
        return "+82" + digits[1:]
    return digits


def iso_ms(epoch_s: int) -> str:
    """1737098468 -> '2025-01-17T07:21:08.000Z' (PayCombat's timestamp layout)."""
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_iso(value: object) -> int | None:
    """'2025-01-17T07:21:08.000Z' -> epoch seconds; None when absent or not a timestamp."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def payment_request_body(request: base.SessionRequest) -> dict[str, Any]:
    """Create Payment Request: our checkout id travels as ``description`` and ``order_reference``."""
    checkout = request.checkout
    country = COUNTRY_BY_CURRENCY[checkout.currency]
    person = {**checkout.customer, **request.shopper}
    info: dict[str, Any] = {"order_reference": checkout.id}
    if person.get("name"):
        info["customer_full_name"] = person["name"]
    if person.get("email"):
        info["customer_email"] = person["email"]
    if person.get("phone"):
        info["customer_phone"] = e164_phone(person["phone"], country)
    return {
        "amount": amount_to_provider(request.amount_total, checkout.currency),
        "currency": checkout.currency,
        "country_code": country,
        "description": checkout.id,
        "redirect_url": request.return_url,
        "webhook_url": request.notify_url,
        "expire_at": iso_ms(checkout.expires_at_s),
        "additional_info": info,
    }


def new_checkout_body(checkout_token: str, payin_method: str) -> dict[str, Any]:
    """Create New Checkout: the payment request's token and the shopper's payin method."""
    return {"checkout_token": checkout_token, "payin_method_name": payin_method}


# --- PayCombat -> our types ----------------------------------------------------------

def envelope_data(body: object, what: str) -> Any:
    """``{"status": true, "message": ..., "data": ...}`` -> data; anything else is a failed call."""
    if not isinstance(body, dict) or body.get("status") is not True or "data" not in body:
        message = body.get("message") if isinstance(body, dict) else None
        raise base.ProviderError(f"PayCombat answered {what} without data ({str(message)[:100]!r})")
    return body["data"]


def _web_url(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("https", "http") and parts.netloc else None


def checkout_fields(data: object, what: str) -> tuple[str, str, str | None]:
    """(id, checkout_token, checkout_url) of a payment request or checkout."""
    if not isinstance(data, dict):
        raise base.ProviderError(f"PayCombat answered {what} without a checkout object")
    checkout_id, token = data.get("id"), data.get("checkout_token")
    if not isinstance(checkout_id, str) or not checkout_id or not isinstance(token, str) or not token:
        raise base.ProviderError(f"PayCombat answered {what} without id and checkout_token")
    return checkout_id, token, _web_url(data.get("checkout_url"))


def virtual_account_details(data: Mapping[str, Any], amount: int | None, currency: str | None) -> dict[str, Any] | None:
    """The deposit instructions the waiting page shows; None until PayCombat has issued the account."""
    account = data.get("virtual_account")
    if not isinstance(account, dict):
        return None
    bank, number = account.get("bank_name"), account.get("account_number")
    if not isinstance(bank, str) or not bank or not isinstance(number, str) or not number:
        return None
    details: dict[str, Any] = {"bank": bank, "account_number": number}
    holder = account.get("account_holder")
    if isinstance(holder, str) and holder:
        details["account_holder"] = holder
    due = parse_iso(account.get("expire_at")) or parse_iso(data.get("expire_at"))
    if due is not None:
        details["due_at_s"] = due
    if amount is not None and currency is not None:
        details.update(amount=amount, currency=currency)
    return details


def payment_from_checkout(data: object, session_id: str) -> base.ProviderPayment:
    """A retrieved checkout in our terms: status by the table, amount exact or None (never guessed)."""
    if not isinstance(data, dict):
        raise base.ProviderError("PayCombat answered the read without a checkout object")
    if data.get("id") not in (None, session_id):
        raise base.ProviderError("PayCombat answered the read with another checkout")
    raw = data.get("status")
    status = STATUS_MAP.get(raw, base.UNKNOWN) if isinstance(raw, str) else base.UNKNOWN
    currency = data["currency"].upper() if isinstance(data.get("currency"), str) else None
    amount = amount_from_provider(data.get("amount"), currency)
    info = data.get("additional_info")
    reference = data.get("description") or (info.get("order_reference") if isinstance(info, dict) else None)
    payin = data.get("payin_method_name")
    return base.ProviderPayment(
        session_id=session_id,
        status=status,
        raw_status=str(raw),
        amount=amount,
        currency=currency,
        method="virtual_account" if payin in VIRTUAL_ACCOUNT_PAYIN_METHODS.values() else None,
        checkout_id=reference if isinstance(reference, str) and reference else None,
        provider_reference=data.get("id") if isinstance(data.get("id"), str) else None,
        paid_at_s=parse_iso(data.get("updated_at")) if status == base.PAID else None,
        pending=virtual_account_details(data, amount, currency) if status == base.PENDING else None,
    )


def payment_from_payin(data: object, payin_id: str) -> base.ProviderPayment:
    """A retrieved payin in our terms: status by the table, amount exact in ``amount_type`` or None.

    The payin's own id is the payment's session id and reference: PayCombat's payin names
    our order reference, not its checkout.
    """
    if not isinstance(data, dict) or data.get("id") != payin_id:
        raise base.ProviderError("PayCombat answered the payin read without that payin")
    if data.get("type", "PAYIN") != "PAYIN":
        raise base.ProviderError("PayCombat answered the payin read with something that is not a payin")
    raw = data.get("status")
    status = STATUS_MAP.get(raw, base.UNKNOWN) if isinstance(raw, str) else base.UNKNOWN
    currency = data["amount_type"].upper() if isinstance(data.get("amount_type"), str) else None
    reference = data.get("order_reference") or data.get("transaction")
    paid_at = parse_iso(data.get("payment_date")) or parse_iso(data.get("updated_at"))
    return base.ProviderPayment(
        session_id=payin_id,
        status=status,
        raw_status=str(raw),
        amount=amount_from_provider(data.get("amount"), currency),
        currency=currency,
        method="virtual_account" if data.get("payment_method") in VIRTUAL_ACCOUNT_PAYIN_METHODS.values() else None,
        checkout_id=reference if isinstance(reference, str) and reference else None,
        provider_reference=payin_id,
        paid_at_s=paid_at if status == base.PAID else None,
    )


def notification_from_body(body: bytes) -> tuple[base.Notification, int]:
    """A verified webhook body -> (which checkout it names, its signed ``updated_at``)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise NotificationRejected("PayCombat notification body is not JSON") from e
    if not isinstance(payload, dict):
        raise NotificationRejected("PayCombat notification body is not an object")
    if payload.get("type", "PAYIN") != "PAYIN":
        raise NotificationRejected(f"PayCombat {str(payload.get('type'))[:20]} notifications are not for checkouts")
    status = payload.get("status")
    if status not in NOTIFIED_STATUSES:
        raise NotificationRejected(f"PayCombat notification status {str(status)[:20]!r} is not PAYIN SUCCESS/FAILED/EXPIRED")
    reference = payload.get("order_reference")
    if not isinstance(reference, str) or not reference:
        raise NotificationRejected("PayCombat notification has no order_reference")
    updated_at = parse_iso(payload.get("updated_at"))
    if updated_at is None:
        raise NotificationRejected("PayCombat notification has no updated_at")
    extra = {"provider_id": payload["id"]} if isinstance(payload.get("id"), str) else {}
    return base.Notification(event=f"PAYIN {status}", session_id=None, checkout_id=reference, extra=extra), updated_at


def check_freshness(updated_at_s: int, now_s: int) -> None:
    if updated_at_s < now_s - NOTIFICATION_TOLERANCE_S:
        raise NotificationRejected("PayCombat notification is too old (replay)")
    if updated_at_s > now_s + NOTIFICATION_CLOCK_SKEW_S:
        raise NotificationRejected("PayCombat notification is from the future")


# --- wallet -------------------------------------------------------------------------

def wallet_create_body(
    customer_id: str, currency: str, currencies: Iterable[str], webhook_url: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "currency": currency,
        "currency_list": sorted(set(currencies) | {currency}),
        "description": f"hosted checkout {customer_id}",
    }
    if webhook_url:
        body["webhook_url"] = webhook_url
    return body


def _live(record: Mapping[str, Any]) -> bool:
    return record.get("is_active") is True and record.get("is_deleted") is not True


def wallet_holds(wallet: object, currency: str) -> bool:
    """An active wallet with an active account in ``currency``."""
    if not isinstance(wallet, dict) or not _live(wallet) or not isinstance(wallet.get("wallet_id"), str):
        return False
    accounts = wallet.get("wallet_account")
    return isinstance(accounts, list) and any(
        isinstance(a, dict) and _live(a) and a.get("currency") == currency for a in accounts
    )


def find_wallet_id(wallets: object, currency: str) -> str | None:
    """The account's wallet for ``currency`` (payins of one account and currency share one wallet)."""
    if not isinstance(wallets, list):
        raise base.ProviderError("PayCombat answered the wallet list without a list")
    for wallet in wallets:
        if wallet_holds(wallet, currency):
            return str(wallet["wallet_id"])
    return None


def balances_from_wallet(wallet: object) -> dict[str, list[dict[str, Any]]]:
    """A wallet's accounts -> our balance lists, int minor units; an inexact amount is an error, not rounded."""
    if not isinstance(wallet, dict) or not isinstance(wallet.get("wallet_account"), list):
        raise base.ProviderError("PayCombat answered the wallet without accounts")
    available: list[dict[str, Any]] = []
    total: list[dict[str, Any]] = []
    for account in wallet["wallet_account"]:
        if not isinstance(account, dict) or not _live(account):
            continue
        currency = account.get("currency")
        if not isinstance(currency, str) or not money.is_supported(currency.upper()):
            continue
        currency = currency.upper()
        for field, into in (("available_balance", available), ("actual_balance", total)):
            amount = amount_from_provider(account.get(field), currency)
            if amount is None:
                raise base.ProviderError(f"PayCombat answered a {currency} {field} that is not an exact amount")
            into.append({"amount": amount, "currency": currency})
    return {"available": available, "total": total}


# --- the adapter --------------------------------------------------------------------

PAGE_ORIGIN = "https://checkout.paycombat.com"


class Adapter(base.Provider):
    name = NAME
    display_name = "PayCombat"
    currencies = frozenset(currency for currency, _ in SUPPORTED)
    methods = frozenset(method for _, method in SUPPORTED)
    credential_names = ("x_token", "signature_key")
    default_base_url = LIVE_BASE
    # The currency of the wallet onboarding finds or creates.
    wallet_currency = "KRW"

    @classmethod
    def page_origins(cls, test_mode: bool) -> tuple[str, ...]:
        # docs.paycombat.com (get-detail-checkout): checkout_url is on checkout.paycombat.com, not the
        # API host, for a sandbox (snd_) checkout; that live pages are on the same host is assumed.
        return (PAGE_ORIGIN,)

    @classmethod
    def api_base(cls, test_mode: bool) -> str:
        # Sandbox tokens (snd_…) and live tokens use the same host in PayCombat's examples.
        return LIVE_BASE

    @classmethod
    def is_test_mode(cls, credentials: Mapping[str, str]) -> bool:
        # PayCombat's examples are all sandbox tokens, snd_…; a live token's prefix is not documented.
        return credentials.get("x_token", "").startswith("snd_")

    @classmethod
    def check_credentials(cls, credentials: Mapping[str, str]) -> None:
        # Both travel verbatim (a header, an HMAC key): whitespace is a paste error, never part of them.
        for key in cls.credential_names:
            value = credentials.get(key, "")
            if not value or any(c.isspace() or ord(c) < 0x20 for c in value):
                raise ValueError(f"{key} must be the non-empty value from PayCombat's dashboard, without spaces")

    def __init__(self, merchant_id: str, credentials: Mapping[str, str], base_url: str,
                 memory: base.ProviderMemory | None = None) -> None:
        super().__init__(merchant_id, credentials, base_url, memory)
        self._http = ProviderHttp(NAME, secrets=[credentials.get("x_token", ""), credentials.get("signature_key", "")])

    # -- transport

    def _send(self, method: str, path: str, payload: Mapping[str, Any], what: str) -> Any:
        # Neither create takes an idempotency key: never repeated blindly.
        headers, body = signed_request(payload, self.credentials["x_token"], self.credentials["signature_key"])
        response = self._http.request(method, self.base_url + path, headers=headers, body=body, retry_safe=False)
        return envelope_data(response.json(), what)

    def _get(self, path: str, what: str) -> Any:
        headers = {"X-token": self.credentials["x_token"], "Accept": "application/json"}
        return envelope_data(self._http.request("GET", self.base_url + path, headers=headers).json(), what)

    # -- checkout

    def create_session(self, request: base.SessionRequest) -> base.ProviderSession:
        payin = payin_method_name(request.checkout.currency, request.method, request.bank)
        created = self._send("POST", "/api/v1/checkout", payment_request_body(request), "Create Payment Request")
        session_id, token, page = checkout_fields(created, "Create Payment Request")
        if payin is not None:
            chosen = self._send("PATCH", "/api/v1/checkout", new_checkout_body(token, payin), "Create New Checkout")
            session_id, _, chosen_page = checkout_fields(chosen, "Create New Checkout")
            page = chosen_page or page
        if page is None:
            raise base.ProviderError("PayCombat answered without a checkout_url to send the shopper to")
        return base.ProviderSession(session_id=session_id, redirect_url=page)

    def read_session(self, session_id: str) -> base.ProviderPayment:
        data = self._get(f"/api/v1/checkout/retrieve/{url_quote(session_id, safe='')}", "the checkout read")
        return payment_from_checkout(data, session_id)

    def read_notified(self, note: base.Notification) -> base.ProviderPayment | None:
        # Retrieve Payin (its path, /api/v1/payin/retrieve/{id}, is not in the documents we
        # hold: it follows Get Detail Checkout's). Only a SUCCESS needs it: a failed or
        # expired payin changes nothing on an attempt the checkout has moved past.
        payin_id = note.extra.get("provider_id")
        if note.event != "PAYIN SUCCESS" or not isinstance(payin_id, str) or not payin_id:
            return None
        data = self._get(f"/api/v1/payin/retrieve/{url_quote(payin_id, safe='')}", "the payin read")
        return payment_from_payin(data, payin_id)

    def verify_notification(self, headers: Mapping[str, str], body: bytes, now_s: int) -> base.Notification:
        header = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
        verify_signature(body, header, [self.credentials.get("signature_key", "")])
        note, updated_at = notification_from_body(body)
        check_freshness(updated_at, now_s)
        self._remember(body, note.checkout_id or "", now_s)
        return note

    def _remember(self, body: bytes, checkout_id: str, now_s: int) -> None:
        """Reject a notification already acted on; a retry of one whose handling failed still passes."""
        store = self.memory
        digest = hashlib.sha256(body).hexdigest()
        if store.remember({
                "pk": f"PAYCOMBAT_NOTIFICATION#{self.merchant_id}#{digest}",
                "sk": "PAYCOMBAT_NOTIFICATION",
                "type": "paycombat_notification",
                "checkout_id": checkout_id,
                "received_at_s": now_s,
                "ttl": now_s + NOTIFICATION_MEMORY_S,
            }):
            return
        # Seen before. Only a checkout not yet paid can need it again (our first handling
        # failed and PayCombat retried; it may be open again, its attempt released); otherwise
        # it is a replay. Either way nothing is settled without PayCombat's own read.
        checkout = store.get_checkout(checkout_id) if ids.looks_like("chk", checkout_id) else None
        if checkout is None or checkout.merchant_id != self.merchant_id or checkout.status in model.PAID_STATUSES:
            raise NotificationRejected("this PayCombat notification was already processed (replay)")

    # -- wallet

    def find_or_create_wallet(self, webhook_url: str | None) -> str:
        """The id of the account's wallet for ``wallet_currency``: found (list, then get) or created."""
        currency = self.wallet_currency
        found = find_wallet_id(self._get("/wallet", "the wallet list"), currency)
        if found is not None and wallet_holds(self.wallet(found), currency):
            return found
        body = wallet_create_body(self.merchant_id, currency, self.currencies, webhook_url)
        created = self._send("POST", "/wallet/create", body, "Create Wallet")
        wallet_id = created.get("wallet_id") if isinstance(created, dict) else None
        if not isinstance(wallet_id, str) or not wallet_id:
            raise base.ProviderError("PayCombat answered Create Wallet without a wallet_id")
        return wallet_id

    def wallet(self, wallet_id: str) -> Any:
        return self._get(f"/wallet/{url_quote(wallet_id, safe='')}", "the wallet read")

    def wallet_balances(self, wallet_id: str) -> dict[str, list[dict[str, Any]]]:
        return balances_from_wallet(self.wallet(wallet_id))
