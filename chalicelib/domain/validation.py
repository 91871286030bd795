"""Validation of the merchant API's request bodies: pure, one error per call.

Each check raises ``InvalidRequest`` (400, the shape is wrong) or
``Unprocessable`` (422, well formed but not allowed) naming the ``param`` at
fault, in the order a merchant reads the body.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from chalicelib.domain import money
from chalicelib.domain.discounts import normalize_code
from chalicelib.domain.errors import InvalidRequest, Unprocessable
from chalicelib.domain.model import PAYMENT_METHODS, LineItem

MAX_UNIT_AMOUNT = 99_999_999_999
MAX_TOTAL = 999_999_999_999
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_RE = re.compile(rf"^[^@\s<>\"']{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
# 010 and eight digits, dashes (or spaces) optional; +82 drops the leading 0 (+82 10-1234-5678).
_KR_MOBILE_RE = re.compile(r"^010[- ]?\d{4}[- ]?\d{4}$")
_KR_MOBILE_INTL_RE = re.compile(r"^\+82[- ]?0?10[- ]?\d{4}[- ]?\d{4}$")
# Other countries' numbers, for shoppers abroad (Clink, Payfect checkouts in USD and USDT).
_INTL_PHONE_RE = re.compile(r"^\+(?!82)[1-9][0-9 \-]{6,18}[0-9]$")
_HOST_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

CREATE_FIELDS = frozenset({
    "line_items", "currency", "customer", "collect_shipping_address", "success_url",
    "cancel_url", "client_reference_id", "metadata", "locale", "expires_in",
    "payment_method_types", "allow_promotion_codes", "promotion_code",
})
LINE_ITEM_FIELDS = frozenset({
    "name", "unit_amount", "quantity", "description", "image_url", "product_id", "shipping", "non_returnable",
})
# What PATCH may change while a checkout is open (everything else is fixed at create).
UPDATE_FIELDS = frozenset({"customer", "metadata", "line_items", "client_reference_id", "promotion_code"})
CUSTOMER_FIELDS = frozenset({"name", "email", "phone"})


@dataclass
class CheckoutDraft:
    line_items: list[LineItem]
    currency: str
    customer: dict[str, str]
    collect_shipping_address: bool
    success_url: str
    cancel_url: str
    client_reference_id: str | None
    metadata: dict[str, str]
    locale: str
    expires_in_s: int
    payment_method_types: list[str]
    allow_promotion_codes: bool = False
    promotion_code: str | None = None

    @property
    def amount_total(self) -> int:
        return sum(item.amount for item in self.line_items)


def is_valid_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL_RE.match(value) is not None


def is_valid_phone(value: str) -> bool:
    """A Korean mobile number (010-1234-5678, 01012345678, +82 10 1234 5678) or another country's +number."""
    return bool(_KR_MOBILE_RE.match(value) or _KR_MOBILE_INTL_RE.match(value) or _INTL_PHONE_RE.match(value))


def _object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{param} must be an object", param)
    return value


def _reject_unknown(obj: dict[str, Any], allowed: frozenset[str], prefix: str = "") -> None:
    for key in obj:
        if key not in allowed:
            raise InvalidRequest(f"unknown parameter: {prefix}{key}", f"{prefix}{key}", code="parameter_unknown")


def _string(value: Any, param: str, max_len: int, min_len: int = 1) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{param} must be a string", param)
    if len(value.strip()) < min_len or len(value) > max_len:
        raise InvalidRequest(f"{param} must be {min_len}–{max_len} characters", param)
    if any(ord(c) < 32 and c not in "\t" for c in value):
        raise InvalidRequest(f"{param} must not contain control characters", param)
    return value


def _int(value: Any, param: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{param} must be an integer", param)
    if not low <= value <= high:
        raise InvalidRequest(f"{param} must be between {low} and {high}", param)
    return value


def _https_url(value: Any, param: str) -> str:
    url = _string(value, param, 2048)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise InvalidRequest(f"{param} must be an https URL", param)
    return url


def redirect_url(value: Any, param: str, allowed_hosts: list[str]) -> str:
    """A success/cancel URL: https (http only for loopback), host on the allow-list.

    Anything a browser might read differently from us is refused outright:
    backslashes, white space, user info, non-ASCII hosts.
    """
    url = _string(value, param, 2048)
    if any(c in url for c in "\\ \t\r\n") or any(ord(c) > 126 for c in url):
        raise InvalidRequest(f"{param} must be a plain absolute URL", param)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    loopback = host in LOOPBACK_HOSTS or f"[{host}]" in LOOPBACK_HOSTS
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback):
        raise InvalidRequest(f"{param} must be an https URL (http only for localhost)", param)
    if "@" in parts.netloc or not host or not (loopback or _HOST_RE.match(host)):
        raise InvalidRequest(f"{param} must be an absolute URL with a plain host name", param)
    try:
        _ = parts.port
    except ValueError as e:
        raise InvalidRequest(f"{param} has an invalid port", param) from e
    if not host_allowed(host, allowed_hosts):
        raise Unprocessable(
            f"{param} host {host} is not in the merchant's allowed redirect hosts",
            param,
            code="redirect_host_not_allowed",
        )
    return url


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """Exact host match, or a '*.example.com' entry for its subdomains."""
    host = host.lower().strip("[]")
    for entry in allowed_hosts:
        entry = entry.lower().strip("[]")
        if entry.startswith("*.") and host.endswith(entry[1:]) and host != entry[2:]:
            return True
        if host == entry:
            return True
    return False


def _line_items(value: Any) -> list[LineItem]:
    if not isinstance(value, list) or not 1 <= len(value) <= 100:
        raise InvalidRequest("line_items must be an array of 1–100 items", "line_items")
    items = []
    for i, raw in enumerate(value):
        p = f"line_items[{i}]"
        obj = _object(raw, p)
        _reject_unknown(obj, LINE_ITEM_FIELDS, f"{p}.")
        for required in ("name", "unit_amount", "quantity"):
            if required not in obj:
                raise InvalidRequest(f"{p}.{required} is required", f"{p}.{required}")
        unit_amount = obj["unit_amount"]
        if isinstance(unit_amount, bool) or not isinstance(unit_amount, int) or not 0 <= unit_amount <= MAX_UNIT_AMOUNT:
            raise InvalidRequest(f"{p}.unit_amount must be a non-negative integer in minor units", f"{p}.unit_amount")
        shipping = obj.get("shipping")
        if shipping is not None and not isinstance(shipping, bool):
            raise InvalidRequest(f"{p}.shipping must be a boolean", f"{p}.shipping")
        non_returnable = obj.get("non_returnable")
        if non_returnable is not None and not isinstance(non_returnable, bool):
            raise InvalidRequest(f"{p}.non_returnable must be a boolean", f"{p}.non_returnable")
        items.append(LineItem(
            name=_string(obj["name"], f"{p}.name", 200),
            unit_amount=unit_amount,
            quantity=_int(obj["quantity"], f"{p}.quantity", 1, 999),
            description=_string(obj["description"], f"{p}.description", 500) if obj.get("description") is not None else None,
            image_url=_https_url(obj["image_url"], f"{p}.image_url") if obj.get("image_url") is not None else None,
            product_id=_string(obj["product_id"], f"{p}.product_id", 100) if obj.get("product_id") is not None else None,
            shipping=True if shipping else None,
            non_returnable=True if non_returnable else None,
        ))
    return items


def promotion_code(value: Any) -> str:
    """A code as a merchant passes it: its shape only (whether it exists is the store's to say)."""
    code = normalize_code(value)
    if code is None:
        raise InvalidRequest("promotion_code must be 3–40 characters of A–Z, 0–9, _ and -", "promotion_code")
    return code


def _check_total(line_items: list[LineItem]) -> None:
    total = sum(item.amount for item in line_items)
    if total <= 0:
        raise Unprocessable("the total of line_items must be greater than 0", "line_items", code="amount_too_small")
    if total > MAX_TOTAL:
        raise Unprocessable("the total of line_items is too large", "line_items", code="amount_too_large")


def update_checkout(body: Any) -> dict[str, Any]:
    """A PATCH body -> the changes it asks for, validated as at create (pure).

    ``null`` clears customer, metadata, client_reference_id and promotion_code.
    """
    obj = _object(body, "body")
    for key in obj:
        if key not in UPDATE_FIELDS:
            detail = "cannot be changed after the checkout is created" if key in CREATE_FIELDS else "unknown parameter"
            raise InvalidRequest(f"{key}: {detail}", key, code="parameter_unknown")
    changes: dict[str, Any] = {}
    if "line_items" in obj:
        changes["line_items"] = _line_items(obj["line_items"])
        _check_total(changes["line_items"])
    if "customer" in obj:
        changes["customer"] = customer(obj["customer"]) if obj["customer"] is not None else {}
    if "client_reference_id" in obj:
        reference = obj["client_reference_id"]
        changes["client_reference_id"] = _string(reference, "client_reference_id", 200) if reference is not None else None
    if "metadata" in obj:
        changes["metadata"] = metadata(obj["metadata"]) if obj["metadata"] is not None else {}
    if "promotion_code" in obj:
        changes["promotion_code"] = promotion_code(obj["promotion_code"]) if obj["promotion_code"] is not None else None
    return changes


def customer(value: Any) -> dict[str, str]:
    obj = _object(value, "customer")
    _reject_unknown(obj, CUSTOMER_FIELDS, "customer.")
    result: dict[str, str] = {}
    if obj.get("name") is not None:
        result["name"] = _string(obj["name"], "customer.name", 100)
    if obj.get("email") is not None:
        email = _string(obj["email"], "customer.email", 254)
        if not is_valid_email(email):
            raise InvalidRequest("customer.email must be an email address", "customer.email")
        result["email"] = email
    if obj.get("phone") is not None:
        phone = _string(obj["phone"], "customer.phone", 20)
        if not is_valid_phone(phone):
            raise InvalidRequest("customer.phone must be a Korean mobile or +international number", "customer.phone")
        result["phone"] = phone
    return result


def metadata(value: Any) -> dict[str, str]:
    obj = _object(value, "metadata")
    if len(obj) > 50:
        raise InvalidRequest("metadata has at most 50 keys", "metadata")
    for key, item in obj.items():
        if not key or len(key) > 40 or "[" in key or "]" in key:
            raise InvalidRequest("metadata keys are 1–40 characters without [ or ]", f"metadata[{key[:40]}]")
        if not isinstance(item, str) or len(item) > 500:
            raise InvalidRequest("metadata values are strings of at most 500 characters", f"metadata[{key}]")
    return dict(obj)


def page_query(query: Mapping[str, str], extra: tuple[str, ...] = (), default_limit: int = 20) -> int:
    """A list endpoint's query: only ``limit``, ``starting_after`` and ``extra``; returns the limit (1–100)."""
    unknown = sorted(set(query) - {"limit", "starting_after", *extra})
    if unknown:
        raise InvalidRequest(f"unknown parameter: {unknown[0]}", unknown[0], code="parameter_unknown")
    try:
        limit = int(query.get("limit", str(default_limit)))
    except ValueError as e:
        raise InvalidRequest("limit must be an integer from 1 to 100", "limit") from e
    if not 1 <= limit <= 100:
        raise InvalidRequest("limit must be an integer from 1 to 100", "limit")
    return limit


def create_checkout(
    body: Any,
    *,
    allowed_hosts: list[str],
    provider_currencies: frozenset[str],
    provider_methods: frozenset[str],
    default_locale: str,
) -> CheckoutDraft:
    obj = _object(body, "body")
    _reject_unknown(obj, CREATE_FIELDS)
    for required in ("line_items", "currency", "success_url", "cancel_url"):
        if required not in obj:
            raise InvalidRequest(f"{required} is required", required)
    line_items = _line_items(obj["line_items"])
    if not isinstance(obj["currency"], str) or not money.is_supported(obj["currency"].upper()):
        raise InvalidRequest(f"currency must be one of {', '.join(money.EXPONENTS)}", "currency")
    currency = obj["currency"].upper()
    if currency not in provider_currencies:
        raise Unprocessable(f"the merchant's provider does not accept {currency}", "currency", code="currency_not_supported")

    collect = obj.get("collect_shipping_address", currency == "KRW")
    if not isinstance(collect, bool):
        raise InvalidRequest("collect_shipping_address must be a boolean", "collect_shipping_address")
    success_url = redirect_url(obj["success_url"], "success_url", allowed_hosts)
    cancel_url = redirect_url(obj["cancel_url"], "cancel_url", allowed_hosts)
    reference = obj.get("client_reference_id")
    if reference is not None:
        reference = _string(reference, "client_reference_id", 200)
    locale = obj.get("locale", default_locale)
    if locale not in ("ko", "en"):
        raise InvalidRequest("locale must be ko or en", "locale")
    expires_in = _int(obj.get("expires_in", 86400), "expires_in", 1800, 604800)

    methods_raw = obj.get("payment_method_types")
    if methods_raw is None:
        methods = [m for m in PAYMENT_METHODS if m in provider_methods]
    else:
        if not isinstance(methods_raw, list) or not methods_raw:
            raise InvalidRequest("payment_method_types must be a non-empty array", "payment_method_types")
        methods = []
        for i, method in enumerate(methods_raw):
            if method not in PAYMENT_METHODS:
                raise InvalidRequest(f"unknown payment method {method!r}", f"payment_method_types[{i}]")
            if method not in provider_methods:
                raise Unprocessable(
                    f"the merchant's provider does not offer {method}",
                    f"payment_method_types[{i}]",
                    code="payment_method_not_supported",
                )
            if method not in methods:
                methods.append(method)

    allow_codes = obj.get("allow_promotion_codes", False)
    if not isinstance(allow_codes, bool):
        raise InvalidRequest("allow_promotion_codes must be a boolean", "allow_promotion_codes")
    code = promotion_code(obj["promotion_code"]) if obj.get("promotion_code") is not None else None

    draft = CheckoutDraft(
        line_items=line_items,
        currency=currency,
        customer=customer(obj["customer"]) if obj.get("customer") is not None else {},
        collect_shipping_address=collect,
        success_url=success_url,
        cancel_url=cancel_url,
        client_reference_id=reference,
        metadata=metadata(obj["metadata"]) if obj.get("metadata") is not None else {},
        locale=locale,
        expires_in_s=expires_in,
        payment_method_types=methods,
        allow_promotion_codes=allow_codes,
        promotion_code=code,
    )
    _check_total(draft.line_items)
    return draft


# Deeper than any JSON document a provider or merchant sends us: refused before it is parsed.
MAX_JSON_DEPTH = 32


def json_depth_within(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``raw``'s arrays and objects nest at most ``limit`` deep (one linear pass, no parse).

    Brackets inside strings do not count; the text need not be valid JSON (the parser judges
    that afterwards, with its recursion bounded by this check).
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True
