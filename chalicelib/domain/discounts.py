"""Promotion-code arithmetic: what a code takes off an order, and how that discount is
spread over the order's lines for providers that list them. Pure: no I/O, no clock.

Rules this module owns (every amount is an ``int`` in the currency's minor units):

* A percentage is taken of the base it applies to (the whole order, or the listed
  products' lines together) once, not line by line, and rounded **half down** to a
  whole minor unit: ``round(base * p / 100)`` with ties going down. The shopper is
  never short-changed by more than half a minor unit (₩0.5 for KRW, $0.005 for USD).
* A fixed amount is taken in full, at most the base it applies to (product_specific)
  — a code never makes a line negative.
* ``free_shipping`` takes the lines flagged ``shipping`` down to 0.
* A code that would leave nothing to pay is refused (``promotion_code_covers_total``):
  every provider we speak to needs a positive amount, and a checkout completes only on
  a payment the provider confirms, so a zero total would need a second way to complete
  that no provider ever vouched for.

The minor unit depends on the currency's exponent (``chalicelib.domain.money``): KRW 0, so 1
minor unit is ₩1; USD and USDT 2, so 1 minor unit is one cent.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from chalicelib.domain import money
from chalicelib.domain.errors import Unprocessable
from chalicelib.domain.model import LineItem

PERCENTAGE = "percentage"
FIXED_AMOUNT = "fixed_amount"
FREE_SHIPPING = "free_shipping"
PRODUCT_SPECIFIC = "product_specific"
TYPES = (PERCENTAGE, FIXED_AMOUNT, FREE_SHIPPING, PRODUCT_SPECIFIC)
VALUE_TYPES = (PERCENTAGE, FIXED_AMOUNT)

CODE_RE = re.compile(r"^[A-Z0-9_-]{3,40}$")

# The reasons a code is refused: the API's error code and the page's message key at once.
NOT_FOUND = "promotion_code_not_found"
INACTIVE = "promotion_code_inactive"
NOT_YET_VALID = "promotion_code_not_yet_valid"
EXPIRED = "promotion_code_expired"
CURRENCY_MISMATCH = "promotion_code_currency_mismatch"
MINIMUM_NOT_MET = "promotion_code_minimum_not_met"
EXHAUSTED = "promotion_code_exhausted"
CUSTOMER_LIMIT = "promotion_code_customer_limit"
NOT_APPLICABLE = "promotion_code_not_applicable"
COVERS_TOTAL = "promotion_code_covers_total"
NOT_ALLOWED = "promotion_codes_not_allowed"
# The shopper page's answers: one for every reason that would tell whether a code exists,
# and the end of the refused tries a checkout allows.
UNUSABLE = "promotion_code_unusable"
TOO_MANY_TRIES = "promotion_code_too_many_tries"
REVEALING = frozenset({NOT_FOUND, INACTIVE, NOT_YET_VALID, EXPIRED})

_MESSAGES = {
    NOT_FOUND: "there is no promotion code {code}",
    INACTIVE: "the promotion code {code} is not active",
    NOT_YET_VALID: "the promotion code {code} is not valid yet",
    EXPIRED: "the promotion code {code} has expired",
    CURRENCY_MISMATCH: "the promotion code {code} is for {currency} orders",
    MINIMUM_NOT_MET: "the promotion code {code} needs an order of at least {minimum} (before discount)",
    EXHAUSTED: "the promotion code {code} has been used as many times as it allows",
    CUSTOMER_LIMIT: "this customer has used the promotion code {code} as many times as it allows",
    NOT_APPLICABLE: "the promotion code {code} applies to nothing in this order",
    COVERS_TOTAL: "the promotion code {code} would leave nothing to pay; a payment needs an amount above 0",
    NOT_ALLOWED: "this checkout does not take promotion codes",
    UNUSABLE: "the promotion code {code} cannot be used",
    TOO_MANY_TRIES: "too many promotion codes were tried on this checkout",
}


class PromotionRefused(Unprocessable):
    """A code that cannot be used on this order; ``code`` says why (see the constants above)."""

    def __init__(self, reason: str, code: str, **details: Any) -> None:
        super().__init__(_MESSAGES[reason].format(code=code, **details), "promotion_code", code=reason)
        self.promotion_code = code
        self.details = details


def normalize_code(text: Any) -> str | None:
    """The stored form of a code (upper case), or None when it cannot be a code at all."""
    if not isinstance(text, str):
        return None
    code = text.strip().upper()
    return code if CODE_RE.match(code) else None


@dataclass(frozen=True)
class Rule:
    """What a code takes off, as applied to a checkout (kept on it as a snapshot)."""

    code: str
    type: str
    value: int | None = None
    # product_specific only: whether ``value`` is a percentage or an amount.
    value_type: str | None = None
    currency: str | None = None
    product_ids: tuple[str, ...] = ()
    minimum_order_amount: int | None = None
    usage_limit_per_customer: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Rule:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names and v is not None}
        values["product_ids"] = tuple(values.get("product_ids") or ())
        return cls(**values)

    def snapshot(self) -> dict[str, Any]:
        data = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, ())}
        if self.product_ids:
            data["product_ids"] = list(self.product_ids)
        return data

    @property
    def takes_percentage(self) -> bool:
        return self.type == PERCENTAGE or (self.type == PRODUCT_SPECIFIC and self.value_type == PERCENTAGE)


def percent_of(amount: int, percent: int) -> int:
    """``amount * percent / 100`` rounded to a whole minor unit, ties down (never more than ½ unit off)."""
    quotient, remainder = divmod(amount * percent, 100)
    return quotient + 1 if remainder * 2 > 100 else quotient


def eligible(rule: Rule, lines: Iterable[LineItem]) -> list[bool]:
    """Which lines the code's discount applies to."""
    if rule.type == FREE_SHIPPING:
        return [bool(line.shipping) for line in lines]
    if rule.type == PRODUCT_SPECIFIC:
        wanted = set(rule.product_ids)
        return [line.product_id is not None and line.product_id in wanted for line in lines]
    return [True for _ in lines]


def discount_amount(rule: Rule, lines: list[LineItem], currency: str) -> int:
    """What ``rule`` takes off these lines, in minor units; raises PromotionRefused when it cannot apply."""
    if rule.currency is not None and rule.currency != currency:
        raise PromotionRefused(CURRENCY_MISMATCH, rule.code, currency=rule.currency)
    subtotal = sum(line.amount for line in lines)
    if rule.minimum_order_amount is not None and subtotal < rule.minimum_order_amount:
        minimum = money.format_amount(rule.minimum_order_amount, rule.currency or currency)
        raise PromotionRefused(MINIMUM_NOT_MET, rule.code, minimum=minimum, minimum_amount=rule.minimum_order_amount)
    base = sum(line.amount for line, on in zip(lines, eligible(rule, lines), strict=True) if on)
    if base <= 0:
        raise PromotionRefused(NOT_APPLICABLE, rule.code)
    if rule.type == FREE_SHIPPING:
        discount = base
    elif rule.takes_percentage:
        discount = percent_of(base, rule.value or 0)
    else:
        discount = min(rule.value or 0, base)
    if discount <= 0:
        # 1% of ₩10 rounds to nothing: nothing to apply, so say so rather than show "−₩0".
        raise PromotionRefused(NOT_APPLICABLE, rule.code)
    if subtotal - discount <= 0:
        raise PromotionRefused(COVERS_TOTAL, rule.code)
    return discount


def allocate(lines: list[LineItem], mask: list[bool], discount: int) -> list[LineItem]:
    """The lines with ``discount`` taken off the eligible ones, for providers that list lines.

    Each eligible line bears the discount in proportion to its amount, floored, and
    the minor units left over go one each to the lines with the largest remainders
    (ties: the earlier line) — so the lines add up to exactly ``sum - discount`` and
    no line goes below 0. A line whose new amount does not divide by its quantity is
    split in two (``q - r`` units at ``a // q`` and ``r`` units at ``a // q + 1``), so
    every line stays ``unit_amount × quantity`` in whole minor units.
    """
    base = sum(line.amount for line, on in zip(lines, mask, strict=True) if on)
    if not 0 <= discount <= base:
        raise ValueError(f"a discount of {discount} cannot come off eligible lines worth {base}")
    if discount == 0:
        return [dataclasses.replace(line) for line in lines]
    shares: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, (line, on) in enumerate(zip(lines, mask, strict=True)):
        share, remainder = divmod(discount * line.amount, base) if on else (0, 0)
        shares.append(share)
        if remainder:
            remainders.append((-remainder, index))
    for _, index in sorted(remainders)[: discount - sum(shares)]:
        shares[index] += 1
    result: list[LineItem] = []
    for line, share in zip(lines, shares, strict=True):
        amount = line.amount - share
        unit, extra = divmod(amount, line.quantity)
        if extra == 0:
            result.append(dataclasses.replace(line, unit_amount=unit))
            continue
        result.append(dataclasses.replace(line, unit_amount=unit, quantity=line.quantity - extra))
        result.append(dataclasses.replace(line, unit_amount=unit + 1, quantity=extra))
    return result


def charge_lines(lines: list[LineItem], promotion: Mapping[str, Any] | None, discount: int) -> list[LineItem]:
    """The lines a provider is asked to charge: the checkout's, with its discount allocated."""
    if not promotion or discount <= 0:
        return [dataclasses.replace(line) for line in lines]
    return allocate(lines, eligible(Rule.from_mapping(promotion), lines), discount)
