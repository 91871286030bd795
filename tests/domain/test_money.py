from decimal import Decimal

import pytest

from chalicelib.domain import money


@pytest.mark.parametrize("amount,currency,major,text", [
    (29000, "KRW", Decimal("29000"), "29000"),
    (1999, "USD", Decimal("19.99"), "19.99"),
    (5, "USD", Decimal("0.05"), "0.05"),
    (100, "EUR", Decimal("1.00"), "1.00"),
    (2050, "USDT", Decimal("20.50"), "20.50"),
    (1, "JPY", Decimal("1"), "1"),
    (0, "USD", Decimal("0"), "0.00"),
])
def test_minor_units_convert_exactly_to_major(amount, currency, major, text):
    assert money.to_major(amount, currency) == major
    assert money.to_decimal_string(amount, currency) == text
    assert money.from_major(text, currency) == amount


@pytest.mark.parametrize("value,currency,expected", [
    ("19.99", "USD", 1999),
    (Decimal("4.99"), "USD", 499),
    (4.99, "USD", 499),
    (29000, "KRW", 29000),
    ("20.5", "USDT", 2050),
])
def test_provider_amounts_parse_back_exactly(value, currency, expected):
    assert money.from_major(value, currency) == expected


@pytest.mark.parametrize("value,currency", [
    ("19.995", "USD"),
    ("29000.5", "KRW"),
    ("abc", "USD"),
    (True, "USD"),
    (None, "USD"),
])
def test_amounts_with_too_many_digits_or_no_number_are_refused(value, currency):
    with pytest.raises(ValueError):
        money.from_major(value, currency)


@pytest.mark.parametrize("amount,currency,locale,text", [
    (29000, "KRW", "en", "₩29,000"),
    (29000, "KRW", "ko", "29,000원"),
    (1999, "USD", "en", "$19.99"),
    (1999, "USD", "ko", "$19.99"),
    (2050, "USDT", "en", "20.50 USDT"),
    (123456789, "USD", "en", "$1,234,567.89"),
])
def test_amounts_are_formatted_per_locale_and_currency(amount, currency, locale, text):
    assert money.format_amount(amount, currency, locale) == text


def test_exponent_table_matches_the_spec():
    assert money.EXPONENTS == {"KRW": 0, "JPY": 0, "USD": 2, "EUR": 2, "AUD": 2, "SGD": 2, "TWD": 2, "CNY": 2, "USDT": 2}
