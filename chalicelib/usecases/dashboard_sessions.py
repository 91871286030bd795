"""Signing merchants in to the dashboard: sessions, one-time login links, lockout.

A session is an opaque random cookie value; the table keeps only its SHA-256
(``DSESSION#hash``), the merchant, and when it began and was last used. It ends
8 h after sign-in, after 60 min idle, at logout, or when the merchant's API key
changes (a session carries a tag of the key it was opened under). A login link
is a 256-bit token kept as its hash for 15 minutes and spent by one conditional
write. Ten failed sign-ins from one source address within 15 minutes lock that
address out, right key or not: each failure is its own short-lived item, so
racing attempts are all counted.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.store import ABSENT, AlreadyExists, StaleItem, Store
from chalicelib.domain import clock
from chalicelib.domain.errors import AuthenticationFailed, CheckoutError, InvalidRequest
from chalicelib.usecases import merchants
from chalicelib.usecases.merchants import Merchant

ABSOLUTE_S = 8 * 3600
IDLE_S = 3600
# last_seen_s is written at most this often: a page view is a read, not a write.
TOUCH_EVERY_S = 60
LINK_TTL_S = 15 * 60
LOCKOUT_FAILURES = 10
LOCKOUT_WINDOW_S = 15 * 60
SIGN_IN_REFUSED = "That key or link did not work. Check it and try again."


class SignInRefused(AuthenticationFailed):
    """A wrong key or a spent/expired link: one message for all, so none is told apart."""

    code = "sign_in_failed"

    def __init__(self) -> None:
        super().__init__(SIGN_IN_REFUSED)


class LockedOut(CheckoutError):
    http_status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many failed sign-ins from this address. Try again later.")
        self.retry_after_s = max(1, retry_after_s)


@dataclass
class Session:
    id_hash: str
    merchant_id: str
    created_at_s: int
    last_seen_s: int


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def key_tag(merchant: Merchant) -> str:
    """Names the API key a session was opened under, without holding the key or its hash."""
    return _hash(f"dashboard-session|{merchant.api_key_hash}")[:32]


# --- lockout -------------------------------------------------------------------------------

def _lock_pk(source_ip: str) -> str:
    return f"DLOCK#{_hash(source_ip or 'unknown')[:32]}"


def check_lockout(store: Store, source_ip: str, now_s: int) -> None:
    recent = store.range_query(_lock_pk(source_ip), f"F#{now_s - LOCKOUT_WINDOW_S:012d}", "F#~",
                               limit=LOCKOUT_FAILURES, consistent=True)
    if len(recent) >= LOCKOUT_FAILURES:
        raise LockedOut(int(recent[0]["at_s"]) + LOCKOUT_WINDOW_S - now_s)


def _failed(store: Store, source_ip: str, now_s: int) -> SignInRefused:
    store.put_new({"pk": _lock_pk(source_ip), "sk": f"F#{now_s:012d}#{secrets.token_hex(8)}", "type": "sign_in_failure",
                   "at_s": now_s, "ttl": now_s + LOCKOUT_WINDOW_S + 3600})
    return SignInRefused()


# --- sessions ------------------------------------------------------------------------------

def start(store: Store, merchant: Merchant) -> str:
    """A new session for ``merchant``; returns the cookie value (never stored as such)."""
    now = clock.now_s()
    cookie = secrets.token_urlsafe(32)
    store.put_new({"pk": f"DSESSION#{_hash(cookie)}", "sk": "SESSION", "type": "dashboard_session",
                   "merchant_id": merchant.id, "key_tag": key_tag(merchant), "created_at_s": now, "last_seen_s": now,
                   "expires_at_s": now + ABSOLUTE_S, "ttl": now + ABSOLUTE_S + 3600})
    return cookie


def sign_in_with_key(store: Store, api_key: str, source_ip: str) -> tuple[Merchant, str]:
    now = clock.now_s()
    check_lockout(store, source_ip, now)
    try:
        merchant = merchants.authenticate(store, {"x-api-key": api_key.strip()})
    except AuthenticationFailed as e:
        raise _failed(store, source_ip, now) from e
    return merchant, start(store, merchant)


def resume(store: Store, cookie: str | None) -> tuple[Session, Merchant] | None:
    """The live session the cookie names, with its merchant (read fresh), or None."""
    if not cookie or len(cookie) > 100:
        return None
    id_hash = _hash(cookie)
    record = store.get(f"DSESSION#{id_hash}", "SESSION")
    now = clock.now_s()
    if (record is None or record.get("ended_at_s") is not None or now >= record["expires_at_s"]
            or now - record["last_seen_s"] >= IDLE_S):
        return None
    merchant = merchants.get(store, record["merchant_id"], fresh=True)
    if merchant is None or record.get("key_tag") != key_tag(merchant):
        return None
    if now - record["last_seen_s"] >= TOUCH_EVERY_S:
        store.update(record["pk"], "SESSION", {"last_seen_s": now}, conditions={"pk": None})
    return Session(id_hash, merchant.id, record["created_at_s"], now), merchant


def end(store: Store, session: Session) -> None:
    store.update(f"DSESSION#{session.id_hash}", "SESSION", {"ended_at_s": clock.now_s()}, conditions={"pk": None})


def rotate_key(store: Store, session: Session) -> str:
    """A new API key (shown once by the caller); every other session of the merchant ends with the old key."""
    api_key = merchants.rotate_key(store, session.merchant_id)
    merchant = merchants.get(store, session.merchant_id, fresh=True)
    if merchant is not None:
        store.update(f"DSESSION#{session.id_hash}", "SESSION", {"key_tag": key_tag(merchant)}, conditions={"pk": None})
    return api_key


# --- one-time login links ------------------------------------------------------------------

def create_login_link(store: Store, merchant_id: str, base: str) -> dict[str, Any]:
    """A link that signs the merchant in once, within 15 minutes (``admin merchant login-link``)."""
    if merchants.get(store, merchant_id, fresh=True) is None:
        raise InvalidRequest(f"no merchant {merchant_id}", "id", code="not_found")
    now = clock.now_s()
    token = secrets.token_urlsafe(32)
    try:
        store.put_new({"pk": f"DLOGIN#{_hash(token)}", "sk": "LOGIN", "type": "login_link", "merchant_id": merchant_id,
                       "created_at_s": now, "expires_at_s": now + LINK_TTL_S, "ttl": now + LINK_TTL_S + 3600})
    except AlreadyExists as e:  # 256 random bits do not collide; refuse rather than share one
        raise InvalidRequest("try again", "id") from e
    return {"url": f"{base.rstrip('/')}/dashboard/login/{token}", "expires_at": clock.iso(now + LINK_TTL_S)}


def _plausible_token(token: str) -> bool:
    return 20 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


def link_is_live(store: Store, token: str) -> bool:
    """Whether the link can still sign in (the page shows its button; looking spends nothing)."""
    if not _plausible_token(token):
        return False
    record = store.get(f"DLOGIN#{_hash(token)}", "LOGIN")
    return record is not None and record.get("used_at_s") is None and clock.now_s() < record["expires_at_s"]


def sign_in_with_link(store: Store, token: str, source_ip: str) -> tuple[Merchant, str]:
    now = clock.now_s()
    check_lockout(store, source_ip, now)
    if not _plausible_token(token):
        raise _failed(store, source_ip, now)
    try:
        record = store.update(f"DLOGIN#{_hash(token)}", "LOGIN", {"used_at_s": now},
                              conditions={"pk": None, "used_at_s": ABSENT})
    except StaleItem as e:
        raise _failed(store, source_ip, now) from e
    merchant = merchants.get(store, record["merchant_id"], fresh=True)
    if now >= record["expires_at_s"] or merchant is None:
        raise _failed(store, source_ip, now)
    return merchant, start(store, merchant)
