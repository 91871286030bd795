"""The shopper's form on the checkout page: pure validation, field by field.

Errors are message keys (see ``chalicelib.web.i18n``) so the page can say them in
the shopper's language; every typed value is returned so nothing is lost.
"""
from __future__ import annotations

import re
from typing import Mapping

from chalicelib.domain.model import Checkout
from chalicelib.domain.validation import is_valid_email, is_valid_phone

_POSTAL_RE = re.compile(r"^\d{5}$")
FIELDS = ("name", "email", "phone", "postal_code", "address1", "address_jibun", "address2", "payment_method", "bank", "agree")
ADDRESS_FIELDS = ("postal_code", "address1", "address_jibun", "address2")
MAX_LENGTHS = {"name": 100, "email": 254, "phone": 20, "postal_code": 5, "address1": 200, "address_jibun": 200, "address2": 200, "bank": 40}

# Banks offered for virtual-account payments (shown where the method needs a bank).
VIRTUAL_ACCOUNT_BANKS = (
    "KDB산업은행", "KB국민은행", "신한은행", "우리은행", "하나은행", "IBK기업은행", "NH농협은행", "카카오뱅크", "토스뱅크",
)


def values_from(form: Mapping[str, object]) -> dict[str, str]:
    """The submitted fields as plain strings (first value of each), trimmed."""
    values: dict[str, str] = {}
    for name in FIELDS:
        raw = form.get(name)
        if isinstance(raw, list):
            raw = raw[0] if raw else ""
        values[name] = raw.strip() if isinstance(raw, str) else ""
    return values


def validate(values: Mapping[str, str], checkout: Checkout) -> dict[str, str]:
    """Field name -> message key for every field in error; empty when the form is good."""
    errors: dict[str, str] = {}
    for name, limit in MAX_LENGTHS.items():
        if len(values.get(name, "")) > limit:
            errors[name] = "too_long"
    if not values.get("name"):
        errors.setdefault("name", "required")
    email = values.get("email", "")
    if not email:
        errors.setdefault("email", "required")
    elif not is_valid_email(email):
        errors.setdefault("email", "invalid_email")
    phone = values.get("phone", "")
    if not phone:
        errors.setdefault("phone", "required")
    elif not is_valid_phone(phone):
        errors.setdefault("phone", "invalid_phone")
    if checkout.collect_shipping_address:
        postal = values.get("postal_code", "")
        if not postal:
            errors.setdefault("postal_code", "required")
        elif not _POSTAL_RE.match(postal):
            errors.setdefault("postal_code", "invalid_postal_code")
        if not values.get("address1"):
            errors.setdefault("address1", "required")
        if not values.get("address2"):
            errors.setdefault("address2", "required")
    method = values.get("payment_method", "")
    if len(checkout.payment_method_types) == 1 and not method:
        method = checkout.payment_method_types[0]
    if method not in checkout.payment_method_types:
        errors.setdefault("payment_method", "choose_method")
    elif method == "virtual_account" and values.get("bank") and values["bank"] not in VIRTUAL_ACCOUNT_BANKS:
        errors.setdefault("bank", "choose_bank")
    if values.get("agree") not in ("1", "on", "yes", "true"):
        errors.setdefault("agree", "must_agree")
    return errors


def shopper_details(values: Mapping[str, str], checkout: Checkout) -> dict[str, str]:
    """What is kept on the checkout from a good form."""
    keep = ["name", "email", "phone"]
    if checkout.collect_shipping_address:
        keep += list(ADDRESS_FIELDS)
    return {k: values[k] for k in keep if values.get(k)}


def chosen_method(values: Mapping[str, str], checkout: Checkout) -> str:
    return values.get("payment_method") or checkout.payment_method_types[0]
