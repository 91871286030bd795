"""Merchants: onboarding, API-key authentication, key rotation, branding.

An API key is shown once and stored only as its SHA-256 (keys carry 190 random
bits, so a plain hash cannot be brute-forced). Provider credentials and the
webhook signing secret are Fernet-encrypted with the master key (secretbox).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib import logs
from chalicelib.adapters import secretbox
from chalicelib.adapters.providers import PROVIDER_NAMES, adapter_class, is_enabled
from chalicelib.adapters.store import AlreadyExists, StaleItem, Store
from chalicelib.config import settings
from chalicelib.domain import business, clock, ids
from chalicelib.domain.errors import AuthenticationFailed, InvalidRequest, NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.model import Checkout
from chalicelib.domain.validation import _HOST_RE, LOOPBACK_HOSTS, is_valid_email
from chalicelib.usecases import wallets

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")
_COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEFAULT_BUTTON_RADIUS = 8
MAX_BUTTON_RADIUS = 24


@dataclass
class Merchant:
    id: str
    name: str
    provider: str
    api_key_hash: str
    webhook_secret_enc: str
    created_at_s: int
    fallback_provider: str | None = None
    credentials_enc: str | None = None
    allowed_hosts: list[str] = field(default_factory=list)
    webhook_url: str | None = None
    locale: str = "ko"
    brand_color: str = "#1A56DB"
    logo_url: str | None = None
    support_email: str | None = None
    livemode: bool = False
    # The key's last four characters, so the dashboard can say which key is live.
    api_key_last4: str | None = None
    button_radius: int = DEFAULT_BUTTON_RADIUS
    # The provider-side wallet payins land in (PayCombat); set at onboarding.
    wallet_id: str | None = None
    # The seller information of the shopper pages' footer (chalicelib.domain.business).
    business: dict[str, Any] = field(default_factory=dict)
    # Provider -> "test" or "live": the mode of its credentials, which is not a secret, kept
    # in clear beside them so the checkout page (its CSP) needs no decryption.
    provider_modes: dict[str, str] = field(default_factory=dict)

    def credentials(self) -> dict[str, str]:
        return secretbox.decrypt_json(self.credentials_enc) if self.credentials_enc else {}

    def test_mode(self, provider: str) -> bool:
        """Whether the merchant's credentials for ``provider`` are its test (sandbox) ones."""
        mode = self.provider_modes.get(provider)
        if mode is not None:
            return mode == "test"
        # A merchant stored before the modes were: from the credentials themselves.
        return _test_mode_of(provider, self.credentials_enc)

    def webhook_secret(self) -> str:
        return secretbox.decrypt(self.webhook_secret_enc)

    def public_view(self) -> dict[str, Any]:
        """The merchant without secrets: what `merchant show` prints."""
        return {
            "merchant_id": self.id,
            "name": self.name,
            "provider": self.provider,
            "fallback_provider": self.fallback_provider,
            "credential_names": sorted(self.credentials()),
            "allowed_hosts": list(self.allowed_hosts),
            "webhook_url": self.webhook_url,
            "locale": self.locale,
            "brand_color": self.brand_color,
            "button_radius": self.button_radius,
            "logo_url": self.logo_url,
            "support_email": self.support_email,
            "livemode": self.livemode,
            "business": dict(self.business),
            "warnings": self.warnings(),
            "created_at": clock.iso(self.created_at_s),
        }

    def warnings(self) -> list[dict[str, Any]]:
        """What the merchant should fix before selling: an incomplete profile on a Korean storefront."""
        return business.warnings(self.locale, self.business)


@lru_cache(maxsize=256)
def _test_mode_of(provider: str, credentials_enc: str | None) -> bool:
    credentials = secretbox.decrypt_json(credentials_enc) if credentials_enc else {}
    return adapter_class(provider).is_test_mode(credentials)


def provider_modes(provider: str, fallback_provider: str | None, credentials: dict[str, str]) -> dict[str, str]:
    """What ``Merchant.provider_modes`` holds for these providers and credentials."""
    return {name: "test" if adapter_class(name).is_test_mode(credentials) else "live"
            for name in filter(None, (provider, fallback_provider))}


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _new_api_key(livemode: bool) -> str:
    return new_id("sk_live" if livemode else "sk_test", 24)


def _new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def check_webhook_url(url: str) -> str:
    """https to a public address; plain http to loopback only where the stage allows it (dev)."""
    from chalicelib.adapters.netguard import BlockedDestination, check_url

    try:
        check_url(url, allow_loopback_http=settings().allow_insecure_webhooks)
    except BlockedDestination as e:
        raise InvalidRequest(
            f"webhook_url is not allowed: {e} (https to a public host; plain http to localhost only in dev)",
            "webhook_url",
        ) from e
    return url


def _record(merchant: Merchant) -> dict[str, Any]:
    record = {k: v for k, v in vars(merchant).items()}
    record.update(pk=f"MERCHANT#{merchant.id}", sk="MERCHANT", type="merchant")
    return record


def from_record(record: dict[str, Any]) -> Merchant:
    names = Merchant.__dataclass_fields__
    return Merchant(**{k: v for k, v in record.items() if k in names})


def create(
    store: Store,
    *,
    merchant_id: str,
    name: str,
    provider: str,
    fallback_provider: str | None = None,
    credentials: dict[str, str] | None = None,
    allowed_hosts: list[str] | None = None,
    webhook_url: str | None = None,
    locale: str = "ko",
    brand_color: str = "#1A56DB",
    logo_url: str | None = None,
    support_email: str | None = None,
    button_radius: int = DEFAULT_BUTTON_RADIUS,
    business_profile: dict[str, Any] | None = None,
) -> tuple[Merchant, str, str]:
    """Create a merchant; returns it with the API key and webhook secret (shown once)."""
    profile = business.merged({}, business.validate_changes(business_profile or {}))
    if not _ID_RE.match(merchant_id):
        raise InvalidRequest("id must be 3–64 characters of a-z, 0-9, _ and -", "id")
    if not name.strip() or len(name) > 100:
        raise InvalidRequest("name must be 1–100 characters", "name")
    for param, value in (("provider", provider), ("fallback_provider", fallback_provider)):
        if value is not None and value not in PROVIDER_NAMES:
            raise InvalidRequest(f"{param} must be one of {', '.join(PROVIDER_NAMES)}", param)
    if not is_enabled(provider):
        raise InvalidRequest(f"the {provider} provider is switched off on this stage", "provider")
    if fallback_provider == provider:
        raise InvalidRequest("fallback_provider must differ from provider", "fallback_provider")
    credentials = dict(credentials or {})
    _check_credentials(provider, fallback_provider, credentials)
    hosts = _hosts(list(allowed_hosts or []))
    _check_settings(locale=locale, brand_color=brand_color, button_radius=button_radius, logo_url=logo_url,
                    support_email=support_email, webhook_url=webhook_url)

    # --- provider onboarding: before anything is written, so a provider failure
    # leaves no half-created merchant (and finding before creating makes a retry safe).
    wallet_id = wallets.onboard(provider, merchant_id, credentials)
    # ---

    livemode = settings().stage == "prod"
    api_key, webhook_secret = _new_api_key(livemode), _new_webhook_secret()
    merchant = Merchant(
        id=merchant_id,
        name=name.strip(),
        provider=provider,
        fallback_provider=fallback_provider,
        credentials_enc=secretbox.encrypt_json(credentials) if credentials else None,
        provider_modes=provider_modes(provider, fallback_provider, credentials),
        api_key_hash=hash_key(api_key),
        api_key_last4=api_key[-4:],
        webhook_secret_enc=secretbox.encrypt(webhook_secret),
        allowed_hosts=hosts,
        webhook_url=webhook_url,
        locale=locale,
        brand_color=brand_color.upper(),
        button_radius=button_radius,
        logo_url=logo_url,
        support_email=support_email,
        created_at_s=clock.now_s(),
        livemode=livemode,
        wallet_id=wallet_id,
        business=profile,
    )
    from chalicelib.adapters.store import to_item

    try:
        store.transact([
            {"Put": {"TableName": store.table, "Item": to_item(_record(merchant)),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": store.table, "Item": to_item(_key_record(merchant)),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    except StaleItem as e:
        raise InvalidRequest(f"merchant {merchant_id} already exists", "id", code="merchant_exists") from e
    return merchant, api_key, webhook_secret


def _check_settings(**given: Any) -> None:
    """The settings a merchant may change after onboarding, each checked on its own."""
    if "locale" in given and given["locale"] not in ("ko", "en"):
        raise InvalidRequest("locale must be ko or en", "locale")
    if "brand_color" in given and not _COLOR_RE.match(str(given["brand_color"])):
        raise InvalidRequest("brand_color must look like #RRGGBB", "brand_color")
    radius = given.get("button_radius", DEFAULT_BUTTON_RADIUS)
    if isinstance(radius, bool) or not isinstance(radius, int) or not 0 <= radius <= MAX_BUTTON_RADIUS:
        raise InvalidRequest(f"button_radius must be an integer from 0 to {MAX_BUTTON_RADIUS} (px)", "button_radius")
    logo_url = given.get("logo_url")
    if logo_url is not None and not str(logo_url).startswith("https://"):
        raise InvalidRequest("logo_url must be an https URL", "logo_url")
    support_email = given.get("support_email")
    if support_email is not None and not is_valid_email(str(support_email)):
        raise InvalidRequest("support_email must be an email address", "support_email")
    if given.get("webhook_url") is not None:
        check_webhook_url(str(given["webhook_url"]))


# What `merchant update` (and the dashboard's settings page) may change.
UPDATABLE = ("name", "allowed_hosts", "webhook_url", "locale", "brand_color", "button_radius", "logo_url",
             "support_email")


def _existing(store: Store, merchant_id: str) -> Merchant:
    """The merchant as stored now (no cache), for a change to it; unknown is 404."""
    current = get(store, merchant_id, fresh=True)
    if current is None:
        raise InvalidRequest(f"no merchant {merchant_id}", "id", code="not_found")
    return current


def _save(store: Store, merchant_id: str, fields: dict[str, Any]) -> None:
    """Write changed attributes of an existing merchant, and forget this container's copy."""
    try:
        store.update(f"MERCHANT#{merchant_id}", "MERCHANT", fields, conditions={"pk": None})
    except StaleItem as e:
        raise InvalidRequest(f"no merchant {merchant_id}", "id", code="not_found") from e
    _merchants.pop((store.table, merchant_id), None)


def _check_credentials(provider: str, fallback_provider: str | None, credentials: dict[str, str]) -> None:
    """Exactly the credentials the providers name, each accepted by its adapter (live keys only in prod)."""
    needed = set(adapter_class(provider).credential_names)
    if fallback_provider:
        needed |= set(adapter_class(fallback_provider).credential_names)
    missing, extra = needed - set(credentials), set(credentials) - needed
    if missing or extra:
        raise InvalidRequest(
            f"credentials for {provider}{' + ' + fallback_provider if fallback_provider else ''} "
            f"are {sorted(needed) or 'none'}; missing {sorted(missing)}, unexpected {sorted(extra)}",
            "credential",
        )
    for provider_name in filter(None, (provider, fallback_provider)):
        try:
            adapter_class(provider_name).check_credentials(credentials)
        except ValueError as e:
            raise InvalidRequest(f"{provider_name} credentials: {e}", "credential") from e
        if settings().live and adapter_class(provider_name).is_test_mode(credentials):
            raise InvalidRequest(f"{provider_name} credentials are test keys; production takes only live keys",
                                 "credential")


# The credential that names the provider account itself: changing it would leave the
# merchant's wallet (found or created at onboarding) at another account.
ACCOUNT_CREDENTIALS = {"paycombat": "x_token"}


def update_credentials(store: Store, merchant_id: str, changes: dict[str, str]) -> Merchant:
    """Replace some provider credentials (a rotated webhook secret, a new API key of the same
    account), checked as at create; the others are kept. Returns the merchant as stored."""
    current = _existing(store, merchant_id)
    for provider_name in filter(None, (current.provider, current.fallback_provider)):
        account_key = ACCOUNT_CREDENTIALS.get(provider_name)
        if account_key in changes:
            raise InvalidRequest(f"{provider_name} {account_key} names the provider account (and its wallet); "
                                 "create a new merchant for another account", "credential")
    merged = {**current.credentials(), **changes}
    _check_credentials(current.provider, current.fallback_provider, merged)
    updated = dataclasses.replace(current, credentials_enc=secretbox.encrypt_json(merged),
                                  provider_modes=provider_modes(current.provider, current.fallback_provider, merged))
    _save(store, merchant_id, {"credentials_enc": updated.credentials_enc, "provider_modes": updated.provider_modes})
    return updated


def update(store: Store, merchant_id: str, changes: dict[str, Any],
           business_changes: dict[str, Any] | None = None) -> Merchant:
    """Change a merchant's settings, branding or business profile; returns the merchant as stored.

    ``changes`` holds UPDATABLE settings (None leaves one as it is); ``business_changes``
    holds profile keys (an empty value removes one). One write of the changed attributes
    (the whole profile map as merged here: of two concurrent profile edits the later wins).
    """
    current = _existing(store, merchant_id)
    given = {k: v for k, v in changes.items() if v is not None}
    unknown = set(given) - set(UPDATABLE)
    if unknown:
        raise InvalidRequest(f"cannot change {', '.join(sorted(unknown))}", sorted(unknown)[0])
    if "name" in given and (not str(given["name"]).strip() or len(str(given["name"])) > 100):
        raise InvalidRequest("name must be 1–100 characters", "name")
    if "allowed_hosts" in given:
        given["allowed_hosts"] = _hosts(list(given["allowed_hosts"]))
    _check_settings(**{k: v for k, v in given.items() if k not in ("name", "allowed_hosts")})
    if "brand_color" in given:
        given["brand_color"] = str(given["brand_color"]).upper()
    if "name" in given:
        given["name"] = str(given["name"]).strip()
    profile = business.merged(current.business, business.validate_changes(business_changes or {}))
    updated = dataclasses.replace(current, **given, business=profile)
    fields = {k: getattr(updated, k) for k in (*given, "business")}
    _save(store, merchant_id, fields)
    return updated


def _hosts(allowed_hosts: list[str]) -> list[str]:
    hosts = [h.lower() for h in allowed_hosts]
    for host in hosts:
        bare = host[2:] if host.startswith("*.") else host
        if not (_HOST_RE.match(bare) or host in LOOPBACK_HOSTS):
            raise InvalidRequest(f"allowed host {host!r} is not a host name", "allowed_host")
    return hosts


def _key_record(merchant: Merchant) -> dict[str, Any]:
    return {"pk": f"APIKEY#{merchant.api_key_hash}", "sk": "APIKEY", "type": "api_key", "merchant_id": merchant.id}


# Merchants change rarely (onboarding, key rotation) and are read on every request:
# each container keeps what it read for a short while. Treat cached merchants as
# read-only. A rotated key stops working everywhere within CACHE_TTL_S.
CACHE_TTL_S = 30.0
_merchants: dict[tuple[str, str], tuple[float, Merchant]] = {}
_keys: dict[tuple[str, str], tuple[float, str]] = {}


def get(store: Store, merchant_id: str, fresh: bool = False) -> Merchant | None:
    cache_key = (store.table, merchant_id)
    hit = _merchants.get(cache_key)
    if hit is not None and not fresh and time.monotonic() - hit[0] < CACHE_TTL_S:
        return hit[1]
    record = store.get(f"MERCHANT#{merchant_id}", "MERCHANT")
    merchant = from_record(record) if record else None
    if merchant is None:
        _merchants.pop(cache_key, None)
    else:
        _merchants[cache_key] = (time.monotonic(), merchant)
    return merchant


def authenticate(store: Store, headers: Any) -> Merchant:
    """The merchant whose key is in ``x-api-key`` (or ``Authorization: Bearer``)."""
    key = headers.get("x-api-key") or ""
    auth = headers.get("authorization") or ""
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key:
        raise AuthenticationFailed("missing API key: send it in the x-api-key header")
    if not key.startswith(("sk_test_", "sk_live_")) or len(key) > 100:
        raise AuthenticationFailed("invalid API key")
    key_hash = hash_key(key)
    known = _keys.get((store.table, key_hash))
    merchant = None
    if known is not None and time.monotonic() - known[0] < CACHE_TTL_S:
        merchant = get(store, known[1])
    if merchant is None or merchant.api_key_hash != key_hash:
        record = store.get(f"APIKEY#{key_hash}", "APIKEY")
        merchant = get(store, record["merchant_id"]) if record else None
        if merchant is not None and merchant.api_key_hash != key_hash:
            merchant = get(store, merchant.id, fresh=True)  # rotated since we cached it
        if merchant is None or merchant.api_key_hash != key_hash:
            _keys.pop((store.table, key_hash), None)
            raise AuthenticationFailed("invalid API key")
        _keys[(store.table, key_hash)] = (time.monotonic(), merchant.id)
    logs.note(merchant_id=merchant.id)
    return merchant


def rotate_key(store: Store, merchant_id: str) -> str:
    """A new API key; the old one stops working in the same transaction."""
    from chalicelib.adapters.store import to_attr, to_item

    current = _existing(store, merchant_id)
    api_key = _new_api_key(current.livemode)
    old_hash, new_hash = current.api_key_hash, hash_key(api_key)
    merchant = dataclasses.replace(current, api_key_hash=new_hash)
    store.transact([
        {"Update": {
            "TableName": store.table,
            "Key": {"pk": {"S": f"MERCHANT#{merchant_id}"}, "sk": {"S": "MERCHANT"}},
            "UpdateExpression": "SET #h = :new, #l4 = :l4",
            "ConditionExpression": "#h = :old",
            "ExpressionAttributeNames": {"#h": "api_key_hash", "#l4": "api_key_last4"},
            "ExpressionAttributeValues": {":new": to_attr(new_hash), ":old": to_attr(old_hash), ":l4": to_attr(api_key[-4:])},
        }},
        {"Delete": {"TableName": store.table,
                    "Key": {"pk": {"S": f"APIKEY#{old_hash}"}, "sk": {"S": "APIKEY"}}}},
        {"Put": {"TableName": store.table, "Item": to_item(_key_record(merchant)),
                 "ConditionExpression": "attribute_not_exists(pk)"}},
    ])
    return api_key


__all__ = ["Merchant", "create", "update", "get", "authenticate", "rotate_key", "AlreadyExists"]


def owned_checkout(store: Store, merchant: Merchant, checkout_id: str) -> Checkout:
    """A checkout of this merchant; another merchant's is simply not found."""
    checkout = store.get_checkout(checkout_id) if ids.looks_like("chk", checkout_id) else None
    if checkout is None or checkout.merchant_id != merchant.id:
        raise NotFound(f"no checkout {checkout_id}", "id")
    return checkout
