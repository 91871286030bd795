"""The merchant's business profile: what the e-commerce act wants a seller to show (pure).

전자상거래법 제10조①·제13조① and 시행규칙 제7조 ask for 상호, 대표자, 주소, 전화, 이메일,
사업자등록번호, 통신판매업 신고번호 and the office that took it, the hosting provider, the
terms, and (제13조②) the return/exchange conditions and costs. One function validates a
profile change wherever it comes from (the admin CLI, the dashboard's settings page) and
raises ``Unprocessable`` (422) naming the key at fault as ``param``.
"""
from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import urlsplit

from chalicelib.domain.errors import Unprocessable

# In the order the footer shows them.
PROFILE_KEYS = (
    "name", "representative", "address", "phone", "email", "registration_number",
    "mail_order_number", "mail_order_office", "hosting_provider", "terms_url",
    "refund_policy", "return_shipping_fee",
)
TEXT_LIMITS = {
    "name": 100, "representative": 60, "address": 200, "phone": 30, "email": 254,
    "mail_order_number": 60, "mail_order_office": 60, "hosting_provider": 100,
    "terms_url": 2048, "refund_policy": 1000,
}
MAX_RETURN_SHIPPING_FEE = 1_000_000
FTC_URL = "https://www.ftc.go.kr/bizCommPop.do?wrkr_no={number}"
# The checksum weights of a 사업자등록번호 (국세청): the ninth digit's product also adds its tens.
_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{6,18}[0-9]$")
_EMAIL_RE = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def registration_digits(value: str) -> str | None:
    """The ten digits of a 사업자등록번호 typed with or without dashes; None when it is not one."""
    digits = re.sub(r"[\s-]", "", value)
    return digits if re.fullmatch(r"\d{10}", digits) else None


def is_valid_registration_number(value: str) -> bool:
    """Ten digits whose last one is the 국세청 check digit."""
    digits = registration_digits(value)
    if digits is None:
        return False
    d = [int(c) for c in digits]
    total = sum(a * w for a, w in zip(d[:9], _WEIGHTS, strict=True)) + (d[8] * 5) // 10
    return (10 - total % 10) % 10 == d[9]


def format_registration_number(digits: str) -> str:
    """123-45-67890: how the number is printed."""
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


def ftc_url(digits: str) -> str:
    """The FTC 사업자정보 공개 page for this business (법 제10조①)."""
    return FTC_URL.format(number=digits)


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in value)


def validate_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Profile keys -> their stored values; raises Unprocessable naming the first bad key.

    An empty string (or None) removes a key. ``registration_number`` is kept as its ten
    digits, ``return_shipping_fee`` as an integer in minor units (KRW: won).
    """
    clean: dict[str, Any] = {}
    for key, raw in changes.items():
        if key not in PROFILE_KEYS:
            raise Unprocessable(
                f"unknown business profile key {key!r}; the keys are {', '.join(PROFILE_KEYS)}",
                key, code="business_profile_unknown_key")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            clean[key] = None
            continue
        clean[key] = _value(key, raw)
    return clean


def _value(key: str, raw: Any) -> Any:
    if key == "return_shipping_fee":
        fee = raw
        if isinstance(raw, str) and re.fullmatch(r"\d{1,9}", raw.strip()):
            fee = int(raw.strip())
        if isinstance(fee, bool) or not isinstance(fee, int) or not 0 <= fee <= MAX_RETURN_SHIPPING_FEE:
            raise Unprocessable(f"return_shipping_fee must be an integer from 0 to {MAX_RETURN_SHIPPING_FEE} "
                                "(minor units: won)", key, code="business_profile_invalid")
        return fee
    if not isinstance(raw, str):
        raise Unprocessable(f"{key} must be a string", key, code="business_profile_invalid")
    value = raw.strip()
    if len(value) > TEXT_LIMITS.get(key, 100) or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise Unprocessable(f"{key} must be at most {TEXT_LIMITS.get(key, 100)} characters of plain text",
                            key, code="business_profile_invalid")
    if key == "registration_number":
        digits = registration_digits(value)
        if digits is None or not is_valid_registration_number(digits):
            raise Unprocessable(
                "registration_number must be a 사업자등록번호: 10 digits (dashes allowed) with a valid check digit",
                key, code="invalid_registration_number")
        return digits
    if key == "email" and not _EMAIL_RE.match(value):
        raise Unprocessable("email must be an email address", key, code="business_profile_invalid")
    if key == "phone" and not _PHONE_RE.match(value):
        raise Unprocessable("phone must be a telephone number such as 02-1234-5678 or 1588-1234",
                            key, code="business_profile_invalid")
    if key == "terms_url" and not is_url(value):
        raise Unprocessable("terms_url must be an https URL", key, code="business_profile_invalid")
    if "\n" in value and key != "refund_policy":
        raise Unprocessable(f"{key} must be one line", key, code="business_profile_invalid")
    return value


def merged(profile: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The profile after validated ``changes`` (None removes a key)."""
    result = dict(profile)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def missing_keys(profile: Mapping[str, Any]) -> list[str]:
    """The keys a Korean storefront must show that the profile lacks."""
    return [k for k in PROFILE_KEYS if profile.get(k) is None or profile.get(k) == ""]


def warnings(locale: str, profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What a merchant selling in Korean is told about an incomplete profile (CLI and API)."""
    missing = missing_keys(profile)
    if locale != "ko" or not missing:
        return []
    return [{
        "code": "business_profile_incomplete",
        "message": ("The seller information Korean law asks for on the payment page is incomplete: "
                    f"missing {', '.join(missing)}. Set it with `merchant update --id ID --business KEY=VALUE`; "
                    "the page shows what there is meanwhile."),
        "missing": missing,
    }]


def footer(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The profile as the seller footer shows it: formatted number, FTC link, policy as URL or text."""
    shown: dict[str, Any] = {k: profile[k] for k in PROFILE_KEYS if profile.get(k) not in (None, "")}
    digits = shown.get("registration_number")
    if digits and is_valid_registration_number(str(digits)):
        shown["registration_number"] = format_registration_number(str(digits))
        shown["ftc_url"] = ftc_url(str(digits))
    else:
        shown.pop("registration_number", None)
    if "terms_url" in shown and not is_url(str(shown["terms_url"])):
        shown.pop("terms_url")
    policy = shown.get("refund_policy")
    shown["refund_policy_url"] = policy if isinstance(policy, str) and is_url(policy) else None
    return shown
