"""Promotion codes: the merchant API (create, list, read, turn off), and applying a code to
an open checkout (on create, from the page, on PATCH) or taking it off again.

The arithmetic is ``chalicelib.domain.discounts`` (pure). Counting uses is not here: a use is
reserved when the shopper submits (the checkout's lock transaction), becomes a
redemption when the checkout completes, and is given back when the attempt ends
otherwise — all in ``chalicelib.domain.model``'s transitions, written by ``chalicelib.adapters.store``
in one transaction with the state change. What this module adds is the friendly
answer: which of the reasons a code was refused for.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.store import AlreadyExists, LimitReached, StaleItem, Store, checkout_from_record, promotion_pk
from chalicelib.domain import clock, discounts, model, money, validation
from chalicelib.domain.discounts import PromotionRefused, Rule
from chalicelib.domain.errors import Conflict, InvalidRequest, NotFound, StateConflict
from chalicelib.domain.model import Checkout, LineItem
from chalicelib.domain.validation import MAX_TOTAL, _int, _object, _reject_unknown, _string
from chalicelib.usecases.merchants import Merchant

CREATE_FIELDS = frozenset({
    "code", "type", "value", "value_type", "currency", "product_ids", "valid_from", "valid_until",
    "minimum_order_amount", "usage_limit", "usage_limit_per_customer", "active",
})
MAX_USAGE_LIMIT = 1_000_000_000
_RETRIES = 8


class PromotionCodeExists(Conflict):
    code = "promotion_code_exists"


# --- the code as stored and as merchants see it ---------------------------------------

def _timestamp(value: Any, param: str) -> int:
    text = _string(value, param, 40)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise InvalidRequest(f"{param} must be an ISO 8601 date-time, e.g. 2026-12-31T23:59:59Z", param) from e
    if moment.tzinfo is None:
        raise InvalidRequest(f"{param} needs a time zone (Z or +09:00)", param)
    return int(moment.timestamp())


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not money.is_supported(value.upper()):
        raise InvalidRequest(f"currency must be one of {', '.join(money.EXPONENTS)}", "currency")
    return value.upper()


def parse_definition(body: Any) -> dict[str, Any]:
    """A create body -> the code's stored fields (pure; one error per call, in reading order)."""
    obj = _object(body, "body")
    _reject_unknown(obj, CREATE_FIELDS)
    for required in ("code", "type"):
        if obj.get(required) is None:
            raise InvalidRequest(f"{required} is required", required)
    code = discounts.normalize_code(obj["code"])
    if code is None:
        raise InvalidRequest("code must be 3–40 characters of A–Z, 0–9, _ and - (any case)", "code")
    kind = obj["type"]
    if kind not in discounts.TYPES:
        raise InvalidRequest(f"type must be one of {', '.join(discounts.TYPES)}", "type")
    record: dict[str, Any] = {"code": code, "discount_type": kind}

    value_type = obj.get("value_type")
    if kind == discounts.PRODUCT_SPECIFIC:
        if value_type not in discounts.VALUE_TYPES:
            raise InvalidRequest("value_type must be percentage or fixed_amount for a product_specific code", "value_type")
        record["value_type"] = value_type
    elif value_type is not None:
        raise InvalidRequest("value_type applies only to product_specific codes", "value_type")
    measure = value_type if kind == discounts.PRODUCT_SPECIFIC else kind

    if kind == discounts.FREE_SHIPPING:
        if obj.get("value") is not None:
            raise InvalidRequest("a free_shipping code takes no value", "value")
    elif obj.get("value") is None:
        raise InvalidRequest("value is required", "value")
    elif measure == discounts.PERCENTAGE:
        record["value"] = _int(obj["value"], "value", 1, 100)
    else:
        record["value"] = _int(obj["value"], "value", 1, MAX_TOTAL)

    if obj.get("currency") is not None:
        record["currency"] = _currency(obj["currency"])
    elif measure == discounts.FIXED_AMOUNT:
        raise InvalidRequest("currency is required for an amount off (minor units of which currency?)", "currency")

    product_ids = obj.get("product_ids")
    if kind == discounts.PRODUCT_SPECIFIC:
        if not isinstance(product_ids, list) or not 1 <= len(product_ids) <= 100:
            raise InvalidRequest("product_ids must be an array of 1–100 product ids", "product_ids")
        record["product_ids"] = list(dict.fromkeys(
            _string(p, f"product_ids[{i}]", 100) for i, p in enumerate(product_ids)))
    elif product_ids is not None:
        raise InvalidRequest("product_ids applies only to product_specific codes", "product_ids")

    if obj.get("valid_from") is not None:
        record["valid_from_s"] = _timestamp(obj["valid_from"], "valid_from")
    if obj.get("valid_until") is not None:
        record["valid_until_s"] = _timestamp(obj["valid_until"], "valid_until")
        if record["valid_until_s"] <= record.get("valid_from_s", record["valid_until_s"] - 1):
            raise InvalidRequest("valid_until must be after valid_from", "valid_until")
    if obj.get("minimum_order_amount") is not None:
        record["minimum_order_amount"] = _int(obj["minimum_order_amount"], "minimum_order_amount", 1, MAX_TOTAL)
        if "currency" not in record:
            raise InvalidRequest("minimum_order_amount needs currency (minor units of which currency?)", "currency")
    if obj.get("usage_limit") is not None:
        record["usage_limit"] = _int(obj["usage_limit"], "usage_limit", 1, MAX_USAGE_LIMIT)
    if obj.get("usage_limit_per_customer") is not None:
        record["usage_limit_per_customer"] = _int(obj["usage_limit_per_customer"], "usage_limit_per_customer", 1, MAX_USAGE_LIMIT)
    active = obj.get("active", True)
    if not isinstance(active, bool):
        raise InvalidRequest("active must be true or false", "active")
    record["active"] = active
    return record


def rule_of(record: dict[str, Any]) -> Rule:
    return Rule(
        code=record["code"],
        type=record["discount_type"],
        value=record.get("value"),
        value_type=record.get("value_type"),
        currency=record.get("currency"),
        product_ids=tuple(record.get("product_ids") or ()),
        minimum_order_amount=record.get("minimum_order_amount"),
        usage_limit_per_customer=record.get("usage_limit_per_customer"),
    )


def view(record: dict[str, Any]) -> dict[str, Any]:
    """A code as the API shows it."""
    redeemed = int(record.get("redeemed", 0))
    return {
        "object": "promotion_code",
        "code": record["code"],
        "type": record["discount_type"],
        "value": record.get("value"),
        "value_type": record.get("value_type"),
        "currency": record.get("currency"),
        "product_ids": list(record.get("product_ids") or []),
        "valid_from": clock.iso(record["valid_from_s"]) if record.get("valid_from_s") is not None else None,
        "valid_until": clock.iso(record["valid_until_s"]) if record.get("valid_until_s") is not None else None,
        "minimum_order_amount": record.get("minimum_order_amount"),
        "usage_limit": record.get("usage_limit"),
        "usage_limit_per_customer": record.get("usage_limit_per_customer"),
        "active": record["active"],
        "times_redeemed": redeemed,
        # Uses held by checkouts at a provider right now (they count against usage_limit).
        "reserved": max(0, int(record.get("claimed", 0)) - redeemed),
        "created_at": clock.iso(record["created_at_s"]),
    }


# --- merchant API ---------------------------------------------------------------------

def create(store: Store, merchant: Merchant, body: Any) -> dict[str, Any]:
    record = parse_definition(body)
    now = clock.now_s()
    record.update(
        pk=promotion_pk(merchant.id, record["code"]), sk="PROMO", type="promotion_code", merchant_id=merchant.id,
        gsi1pk=f"MERCHANT#{merchant.id}", gsi1sk=f"PROMO#{record['code']}", claimed=0, redeemed=0, created_at_s=now,
    )
    try:
        store.put_new(record)
    except AlreadyExists as e:
        raise PromotionCodeExists(f"this merchant already has a promotion code {record['code']}", "code") from e
    return view(record)


def _owned(store: Store, merchant: Merchant, code_text: str) -> dict[str, Any]:
    code = discounts.normalize_code(code_text)
    record = store.get(promotion_pk(merchant.id, code), "PROMO") if code else None
    if record is None:
        raise NotFound(f"no promotion code {code_text[:40]}", "code")
    return record


def read(store: Store, merchant: Merchant, code_text: str) -> dict[str, Any]:
    return view(_owned(store, merchant, code_text))


def update(store: Store, merchant: Merchant, code_text: str, body: Any) -> dict[str, Any]:
    """Only ``active`` changes: a code's terms are what shoppers were offered."""
    obj = _object(body, "body")
    for key in obj:
        if key != "active":
            raise InvalidRequest(f"only active can be changed; got {key}", key, code="parameter_unknown")
    if not isinstance(obj.get("active"), bool):
        raise InvalidRequest("active must be true or false", "active")
    record = _owned(store, merchant, code_text)
    updated = store.update(record["pk"], record["sk"], {"active": obj["active"]}, conditions={"pk": None})
    return view(updated)


def list_(store: Store, merchant: Merchant, query: dict[str, str]) -> dict[str, Any]:
    limit = validation.page_query(query, default_limit=100)
    after = None
    if query.get("starting_after"):
        after = discounts.normalize_code(query["starting_after"])
        if after is None:
            raise InvalidRequest("starting_after must be a promotion code", "starting_after")
    after_key = None
    if after is not None:
        after_key = {"pk": promotion_pk(merchant.id, after), "sk": "PROMO",
                     "gsi1pk": f"MERCHANT#{merchant.id}", "gsi1sk": f"PROMO#{after}"}
    records, more = store.merchant_index(merchant.id, "PROMO#", limit, after_key)
    return {"object": "list", "data": [view(r) for r in records], "has_more": more}


# --- judging a code against an order ----------------------------------------------------

def check_live(record: dict[str, Any] | None, code: str, now_s: int) -> dict[str, Any]:
    """The code exists, is on, and ``now`` is inside its window."""
    if record is None:
        raise PromotionRefused(discounts.NOT_FOUND, code)
    if not record.get("active"):
        raise PromotionRefused(discounts.INACTIVE, code)
    if record.get("valid_from_s") is not None and now_s < record["valid_from_s"]:
        raise PromotionRefused(discounts.NOT_YET_VALID, code)
    if record.get("valid_until_s") is not None and now_s >= record["valid_until_s"]:
        raise PromotionRefused(discounts.EXPIRED, code)
    return record


def check_counts(record: dict[str, Any], customer: dict[str, Any] | None) -> None:
    """Uses left, for everyone and for this customer (counting uses reserved right now)."""
    limit = record.get("usage_limit")
    if limit is not None and int(record.get("claimed", 0)) >= limit:
        raise PromotionRefused(discounts.EXHAUSTED, record["code"])
    per_customer = record.get("usage_limit_per_customer")
    if per_customer is not None and customer is not None and int(customer.get("claimed", 0)) >= per_customer:
        raise PromotionRefused(discounts.CUSTOMER_LIMIT, record["code"])


def evaluate(
    store: Store, merchant_id: str, code_text: Any, lines: list[LineItem], currency: str, email: str | None, now_s: int
) -> tuple[Rule, int]:
    """The rule and discount of ``code_text`` on these lines, or PromotionRefused saying why not."""
    code = discounts.normalize_code(code_text)
    if code is None:
        raise PromotionRefused(discounts.NOT_FOUND, str(code_text)[:40] if isinstance(code_text, str) else "")
    record = check_live(store.get(promotion_pk(merchant_id, code), "PROMO"), code, now_s)
    rule = rule_of(record)
    discount = discounts.discount_amount(rule, lines, currency)
    customer = None
    if rule.usage_limit_per_customer and email:
        customer = store.get(promotion_pk(merchant_id, code), f"CUSTOMER#{model.customer_key(email)}")
    check_counts(record, customer)
    return rule, discount


def refusal(error: LimitReached, now_s: int) -> PromotionRefused:
    """Why a reservation (or a late claim) failed, from the counter item as it was."""
    change, current = error.change, error.current
    if change.customer is not None:
        return PromotionRefused(discounts.CUSTOMER_LIMIT, change.code)
    try:
        check_live(current, change.code, now_s)
    except PromotionRefused as refused:
        return refused
    return PromotionRefused(discounts.EXHAUSTED, change.code)


# --- on a checkout -------------------------------------------------------------------------

def _write(store: Store, checkout: Checkout, changes: dict[str, Any], now_s: int) -> Checkout:
    return store.apply(checkout, model.plan_update(checkout, changes, now_s))


def apply_code(store: Store, checkout: Checkout, code_text: str, email: str | None) -> Checkout:
    """The shopper's code, judged on the server and applied to the open checkout."""
    if not checkout.allow_promotion_codes:
        raise PromotionRefused(discounts.NOT_ALLOWED, "")
    for _ in range(_RETRIES):
        now = clock.now_s()
        if checkout.view_status(now) != model.OPEN:
            raise StateConflict(f"This checkout is {checkout.view_status(now)}.")
        rule, discount = evaluate(store, checkout.merchant_id, code_text, checkout.line_items, checkout.currency,
                                  email or checkout.customer.get("email"), now)
        try:
            return _write(store, checkout, {"promotion": rule.snapshot(), "amount_discount": discount}, now)
        except StaleItem as e:
            checkout = _current(store, checkout, e)
    raise StateConflict("This checkout is busy; please try again.")


# Refused codes one checkout's page may try: enough for typos, too few to guess codes with.
MAX_REFUSED_TRIES = 10


def apply_typed_code(store: Store, checkout: Checkout, code_text: str, email: str | None) -> Checkout:
    """A code typed on the public page: ``apply_code``, answered so that codes cannot be enumerated.

    Unknown, inactive and out-of-window codes get one answer (UNUSABLE), and after
    MAX_REFUSED_TRIES refusals the checkout takes no more codes (TOO_MANY_TRIES), without
    looking the code up. The merchant API (authenticated) keeps each precise reason.
    """
    if checkout.promotion_refusals >= MAX_REFUSED_TRIES:
        raise PromotionRefused(discounts.TOO_MANY_TRIES, "")
    try:
        return apply_code(store, checkout, code_text, email)
    except PromotionRefused as refused:
        # A counter beside the checkout's state: no version bump, so it races nothing.
        store.update(f"CHECKOUT#{checkout.id}", "CHECKOUT", add_fields={"promotion_refusals": 1},
                     conditions={"pk": None})
        if refused.code in discounts.REVEALING:
            raise PromotionRefused(discounts.UNUSABLE, refused.promotion_code) from refused
        raise


def remove_code(store: Store, checkout: Checkout) -> Checkout:
    """Take the code off: the shopper pays the full price."""
    for _ in range(_RETRIES):
        now = clock.now_s()
        if checkout.promotion is None:
            return checkout
        try:
            return _write(store, checkout, {"promotion": None, "amount_discount": 0}, now)
        except StaleItem as e:
            checkout = _current(store, checkout, e)
    raise StateConflict("This checkout is busy; please try again.")


def _current(store: Store, checkout: Checkout, error: StaleItem) -> Checkout:
    if error.current is not None:
        return checkout_from_record(error.current)
    fresh = store.get_checkout(checkout.id)
    if fresh is None:
        raise NotFound("No such checkout.")
    return fresh
