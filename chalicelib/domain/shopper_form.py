"""The shopper's form on the checkout page: pure validation, field by field.

Errors are message keys (see ``chalicelib.web.i18n``) so the page can say them in
the shopper's language; every typed value is returned so nothing is lost.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from chalicelib.domain.business import is_valid_registration_number, registration_digits
from chalicelib.domain.model import CASH_METHODS, INSTALLMENT_MONTHS, Checkout, installments_allowed
from chalicelib.domain.validation import is_valid_email, is_valid_phone

_POSTAL_RE = re.compile(r"^\d{5}$")
# A second number may be a landline (02-123-4567) as well as a mobile.
_ANY_PHONE_RE = re.compile(r"^(0\d{1,2}[- ]?\d{3,4}[- ]?\d{4}|\+\d[\d -]{7,17}\d)$")
FIELDS = (
    "name", "email", "phone", "postal_code", "address1", "address_jibun", "address2", "payment_method", "bank", "agree",
    "recipient_same", "recipient_name", "recipient_phone", "recipient_phone2", "delivery_request",
    "delivery_request_text", "entrance_code", "cash_receipt", "cash_receipt_id", "installment_months",
    "marketing_opt_in", "recipient_block",
)
ADDRESS_FIELDS = ("postal_code", "address1", "address_jibun", "address2")
MAX_LENGTHS = {
    "name": 100, "email": 254, "phone": 20, "postal_code": 5, "address1": 200, "address_jibun": 200, "address2": 200,
    "bank": 40, "recipient_name": 100, "recipient_phone": 20, "recipient_phone2": 20, "delivery_request_text": 50,
    "entrance_code": 20, "cash_receipt_id": 20,
}
TICKED = ("1", "on", "yes", "true")
# 배송 요청사항 presets, as the courier reads them (Korean whatever the page's language).
DELIVERY_REQUESTS = {
    "door": "문 앞에 놓아주세요",
    "security_office": "경비실에 맡겨주세요",
    "parcel_box": "택배함에 넣어주세요",
    "call_before": "배송 전 연락주세요",
    "custom": "",
}
CASH_RECEIPT_TYPES = ("none", "income_deduction", "expense_proof")

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


def validate(values: Mapping[str, str], checkout: Checkout, installments_offered: bool = False) -> dict[str, str]:
    """Field name -> message key for every field in error; empty when the form is good.

    ``installments_offered``: the checkout's provider has a field for the 할부 choice.
    """
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
    _require_phone(values, "phone", errors)
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
    if values.get("agree") not in TICKED:
        errors.setdefault("agree", "must_agree")
    if checkout.collect_shipping_address:
        _validate_recipient(values, errors)
    if method in CASH_METHODS and checkout.currency == "KRW":
        _validate_cash_receipt(values, errors)
    if method == "card":
        _validate_installments(values, checkout, installments_offered, errors)
    return errors


def _require_phone(values: Mapping[str, str], name: str, errors: dict[str, str]) -> None:
    """A phone number the courier and the provider can reach: required, and as ``is_valid_phone`` says."""
    phone = values.get(name, "")
    if not phone:
        errors.setdefault(name, "required")
    elif not is_valid_phone(phone):
        errors.setdefault(name, "invalid_phone")


def recipient_is_orderer(values: Mapping[str, str]) -> bool:
    """"주문자 정보와 동일" ticked, or a form without the recipient block (``recipient_block``
    marks a page that had it: there an unticked box means someone else receives the order)."""
    return values.get("recipient_same") in TICKED or values.get("recipient_block") != "1"


def _validate_recipient(values: Mapping[str, str], errors: dict[str, str]) -> None:
    if not recipient_is_orderer(values):
        if not values.get("recipient_name"):
            errors.setdefault("recipient_name", "required")
        _require_phone(values, "recipient_phone", errors)
    second = values.get("recipient_phone2", "")
    if second and not _ANY_PHONE_RE.match(second):
        errors.setdefault("recipient_phone2", "invalid_phone2")
    request = values.get("delivery_request", "")
    if request and request not in DELIVERY_REQUESTS:
        errors.setdefault("delivery_request", "choose_delivery_request")
    elif request == "custom" and not values.get("delivery_request_text"):
        errors.setdefault("delivery_request_text", "required")


def _validate_cash_receipt(values: Mapping[str, str], errors: dict[str, str]) -> None:
    kind = values.get("cash_receipt") or "none"
    number = values.get("cash_receipt_id", "")
    if kind not in CASH_RECEIPT_TYPES:
        errors.setdefault("cash_receipt", "choose_cash_receipt")
    elif kind == "income_deduction":
        if not number:
            errors.setdefault("cash_receipt_id", "required")
        elif not is_valid_phone(number) or number.startswith("+") and not number.startswith("+82"):
            errors.setdefault("cash_receipt_id", "invalid_phone")
    elif kind == "expense_proof":
        if not number:
            errors.setdefault("cash_receipt_id", "required")
        elif not is_valid_registration_number(number):
            errors.setdefault("cash_receipt_id", "invalid_registration_number")


def _validate_installments(values: Mapping[str, str], checkout: Checkout, offered: bool, errors: dict[str, str]) -> None:
    raw = values.get("installment_months") or "0"
    if raw == "0":
        return
    if not raw.isdigit() or int(raw) not in INSTALLMENT_MONTHS:
        errors.setdefault("installment_months", "choose_installment")
    elif not offered or not installments_allowed(checkout):
        errors.setdefault("installment_months", "installment_not_available")


def installments_shown(checkout: Checkout, provider_takes_installments: bool) -> bool:
    """The 할부 select is on the page: a KRW card payment from ₩50,000 at a provider with a field for it."""
    return provider_takes_installments and installments_allowed(checkout)


def extras(values: Mapping[str, str], checkout: Checkout, method: str, installments_offered: bool,
           cash_receipt_sent: bool) -> dict[str, Any]:
    """What a good form adds to the checkout besides the orderer's details (set with the lock)."""
    result: dict[str, Any] = {
        "marketing_opt_in": values.get("marketing_opt_in") in TICKED,
        "shipping": shipping(values) if checkout.collect_shipping_address else None,
        "cash_receipt": None,
        "installment_months": None,
    }
    if method in CASH_METHODS and checkout.currency == "KRW":
        kind = values.get("cash_receipt") or "none"
        receipt: dict[str, Any] = {"type": kind, "sent_to_provider": cash_receipt_sent and kind != "none"}
        number = values.get("cash_receipt_id", "")
        if kind == "income_deduction":
            receipt["id"] = _mobile_digits(number)
        elif kind == "expense_proof":
            receipt["id"] = registration_digits(number)
        result["cash_receipt"] = receipt
    if method == "card" and installments_shown(checkout, installments_offered):
        result["installment_months"] = int(values.get("installment_months") or "0")
    return result


def _mobile_digits(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return "0" + digits[2:] if digits.startswith("82") else digits


def shipping(values: Mapping[str, str]) -> dict[str, str]:
    """The recipient and delivery as the merchant ships them; "주문자 정보와 동일" copies the orderer."""
    same = recipient_is_orderer(values)
    request = values.get("delivery_request", "")
    text = values.get("delivery_request_text", "") if request == "custom" else DELIVERY_REQUESTS.get(request, "")
    kept = {
        "name": values.get("name", "") if same else values.get("recipient_name", ""),
        "phone": values.get("phone", "") if same else values.get("recipient_phone", ""),
        "phone2": values.get("recipient_phone2", ""),
        "postal_code": values.get("postal_code", ""),
        "address1": values.get("address1", ""),
        "address_jibun": values.get("address_jibun", ""),
        "address2": values.get("address2", ""),
        "request": text,
        "request_type": request if request in DELIVERY_REQUESTS else "",
        "entrance_code": values.get("entrance_code", ""),
    }
    return {k: v for k, v in kept.items() if v}


def shopper_details(values: Mapping[str, str], checkout: Checkout) -> dict[str, str]:
    """What is kept on the checkout from a good form."""
    keep = ["name", "email", "phone"]
    if checkout.collect_shipping_address:
        keep += list(ADDRESS_FIELDS)
    return {k: values[k] for k in keep if values.get(k)}


def chosen_method(values: Mapping[str, str], checkout: Checkout) -> str:
    return values.get("payment_method") or checkout.payment_method_types[0]
