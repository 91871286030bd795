"""Money: integer minor units, currency exponents, and exact conversion at the edges.

No float ever touches an amount. Providers that want major units get a ``Decimal``
(or its string) built from the integer, and parse back with ``from_major``.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents, plus USDT which trades in cents.
EXPONENTS: dict[str, int] = {
    "KRW": 0,
    "JPY": 0,
    "USD": 2,
    "EUR": 2,
    "AUD": 2,
    "SGD": 2,
    "TWD": 2,
    "CNY": 2,
    "USDT": 2,
}

_SYMBOLS: dict[str, str] = {"KRW": "₩", "JPY": "¥", "USD": "$", "EUR": "€", "CNY": "CN¥"}
_CODE_SUFFIX = {"AUD", "SGD", "TWD", "USDT"}


def is_supported(currency: str) -> bool:
    return currency in EXPONENTS


def exponent(currency: str) -> int:
    return EXPONENTS[currency]


def to_major(amount: int, currency: str) -> Decimal:
    """29000 KRW -> Decimal('29000'); 1999 USD -> Decimal('19.99')."""
    return Decimal(amount).scaleb(-EXPONENTS[currency])


def to_decimal_string(amount: int, currency: str) -> str:
    """The amount as a plain decimal string with the currency's digits: '19.99', '29000'."""
    return f"{to_major(amount, currency):.{EXPONENTS[currency]}f}"


def from_major(value: object, currency: str) -> int:
    """Parse a provider's major-unit amount (str, int or Decimal) back to minor units.

    Raises ValueError when the value has more digits than the currency allows,
    so a provider answering 19.995 never silently rounds into a match.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
        raise ValueError(f"not an amount: {value!r}")
    # A float is read through its shortest repr ("4.99"), never its binary value;
    # adapters parse JSON with parse_float=Decimal so this is the rare path.
    try:
        major = Decimal(str(value))
    except InvalidOperation as e:
        raise ValueError(f"not an amount: {value!r}") from e
    minor = major.scaleb(EXPONENTS[currency])
    if minor != minor.to_integral_value():
        raise ValueError(f"{value!r} has more digits than {currency} allows")
    return int(minor)


def format_amount(amount: int, currency: str, locale: str = "en") -> str:
    """Shopper-facing amount: ₩29,000 / 29,000원, $19.99, 20.50 USDT."""
    digits = EXPONENTS[currency]
    text = f"{to_major(amount, currency):,.{digits}f}"
    if locale == "ko" and currency == "KRW":
        return f"{text}원"
    if currency in _CODE_SUFFIX:
        return f"{text} {currency}"
    return f"{_SYMBOLS[currency]}{text}"
