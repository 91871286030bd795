"""Promotion-code arithmetic (chalicelib.domain.discounts), as tables: what each type of code takes off
an order in KRW (exponent 0), USD and USDT (exponent 2), how it rounds, and how the discount is
spread over the lines a provider sees (they always add up to the discounted total exactly)."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import discounts, money
from chalicelib.domain.discounts import PromotionRefused, Rule
from chalicelib.domain.model import LineItem


def lines(*specs) -> list[LineItem]:
    """(unit_amount, quantity[, product_id[, shipping]]) -> line items."""
    items = []
    for i, spec in enumerate(specs):
        unit, qty, *rest = spec
        product = rest[0] if rest else None
        shipping = True if len(rest) > 1 and rest[1] else None
        items.append(LineItem(name=f"line {i}", unit_amount=unit, quantity=qty, product_id=product, shipping=shipping))
    return items


def pct(value, **kw) -> Rule:
    return Rule(code="PCT", type="percentage", value=value, **kw)


def off(value, currency, **kw) -> Rule:
    return Rule(code="OFF", type="fixed_amount", value=value, currency=currency, **kw)


SHIP = Rule(code="SHIP", type="free_shipping")


def product(value_type, value, ids, currency=None) -> Rule:
    return Rule(code="PROD", type="product_specific", value=value, value_type=value_type, product_ids=tuple(ids),
                currency=currency)


# --- rounding: half down, never more than half a minor unit off -----------------------------

@pytest.mark.parametrize("amount,percent,expected", [
    (29000, 10, 2900),     # ₩29,000 - 10% = ₩2,900 exactly
    (19999, 15, 3000),     # 2999.85 -> 3000 (nearest)
    (19990, 15, 2998),     # 2998.5 -> 2998 (a tie goes down)
    (1, 50, 0),            # 0.5 -> 0 (tie down)
    (3, 50, 1),            # 1.5 -> 1 (tie down)
    (1999, 10, 200),       # $19.99 - 10% = 199.9 cents -> 200
    (1995, 10, 199),       # 199.5 -> 199 (tie down)
    (105, 10, 10),         # 10.5 -> 10 (tie down)
    (107, 10, 11),         # 10.7 -> 11
    (104, 10, 10),         # 10.4 -> 10
    (99_999_999_999, 100, 99_999_999_999),
    (7, 1, 0),             # 0.07 -> 0
    (51, 1, 1),            # 0.51 -> 1
])
def test_percentages_round_to_the_nearest_minor_unit_and_ties_go_down(amount, percent, expected):
    got = discounts.percent_of(amount, percent)
    assert got == expected
    exact = Fraction(amount * percent, 100)
    assert abs(got - exact) <= Fraction(1, 2), "never more than half a minor unit off"
    assert exact - got <= Fraction(1, 2), "the shopper loses at most half a minor unit to rounding"


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=100))
def test_rounding_never_costs_the_shopper_a_whole_minor_unit(amount, percent):
    got = discounts.percent_of(amount, percent)
    exact = Fraction(amount * percent, 100)
    assert 0 <= got <= amount
    assert -Fraction(1, 2) <= got - exact < Fraction(1, 2), "ties go down: the shopper gives up at most half a unit"


# --- every type, in every exponent --------------------------------------------------------------

@pytest.mark.parametrize("currency,rule,items,discount", [
    # percentage: of the whole order, once (not line by line)
    ("KRW", pct(10), [(19000, 1), (3000, 1)], 2200),
    ("KRW", pct(15), [(9999, 1), (1, 1)], 1500),
    ("KRW", pct(33), [(1000, 3)], 990),
    ("USD", pct(10), [(1999, 1)], 200),                 # $1.999 -> $2.00
    ("USD", pct(10), [(1995, 1)], 199),                 # $1.995, a tie -> $1.99
    ("USDT", pct(25), [(2050, 1), (5, 3)], 516),        # 20.65 USDT * 25% = 5.1625 -> 5.16
    ("USDT", pct(1), [(150, 1)], 1),                    # 1.5 cents, a tie -> 1 cent
    ("KRW", pct(1), [(150, 1)], 1),                     # ₩1.5, a tie -> ₩1
    # fixed_amount: in minor units of its own currency
    ("KRW", off(5000, "KRW"), [(19000, 1), (3000, 1)], 5000),
    ("USD", off(500, "USD"), [(1999, 2), (499, 1)], 500),
    ("USDT", off(1, "USDT"), [(2, 1)], 1),
    # free_shipping: the shipping lines, in full
    ("KRW", SHIP, [(19000, 1), (3000, 1, None, True)], 3000),
    ("USD", SHIP, [(1999, 1), (499, 2, None, True), (100, 1, None, True)], 1098),
    ("USDT", SHIP, [(2050, 1), (5, 1, None, True)], 5),
    # product_specific: only the listed products' lines, as a percentage or an amount
    ("KRW", product("percentage", 50, ["tea"]), [(19000, 1, "tea"), (3000, 1, "ship")], 9500),
    ("KRW", product("percentage", 10, ["tea", "cup"]), [(19000, 1, "tea"), (5005, 1, "cup"), (3000, 1)], 2400),
    ("USD", product("fixed_amount", 300, ["tea"], "USD"), [(1999, 1, "tea"), (499, 1)], 300),
    ("USD", product("fixed_amount", 5000, ["tea"], "USD"), [(1999, 1, "tea"), (499, 1)], 1999),  # at most the lines
    ("USDT", product("percentage", 100, ["gift"]), [(2050, 1), (500, 1, "gift")], 500),
])
def test_what_each_type_of_code_takes_off(currency, rule, items, discount):
    order = lines(*items)
    assert discounts.discount_amount(rule, order, currency) == discount
    total = sum(i.amount for i in order) - discount
    assert total > 0
    # What the shopper reads is that many minor units of the currency: ₩2,200; $2.00; 5.16 USDT.
    assert money.from_major(money.to_decimal_string(discount, currency), currency) == discount


@pytest.mark.parametrize("currency,rule,items,reason", [
    ("USD", off(500, "KRW"), [(1999, 1)], discounts.CURRENCY_MISMATCH),
    ("KRW", pct(10, currency="USD"), [(1999, 1)], discounts.CURRENCY_MISMATCH),
    ("KRW", pct(10, currency="KRW", minimum_order_amount=30000), [(19000, 1), (3000, 1)], discounts.MINIMUM_NOT_MET),
    ("USD", pct(10, currency="USD", minimum_order_amount=5000), [(4999, 1)], discounts.MINIMUM_NOT_MET),
    ("KRW", SHIP, [(19000, 1)], discounts.NOT_APPLICABLE),                          # nothing to ship
    ("KRW", SHIP, [(19000, 1), (0, 1, None, True)], discounts.NOT_APPLICABLE),     # shipping is free already
    ("KRW", product("percentage", 10, ["cup"]), [(19000, 1, "tea")], discounts.NOT_APPLICABLE),
    ("KRW", pct(1), [(10, 1)], discounts.NOT_APPLICABLE),                           # 1% of ₩10 is nothing
    ("KRW", pct(100), [(19000, 1), (3000, 1)], discounts.COVERS_TOTAL),
    ("KRW", off(22000, "KRW"), [(19000, 1), (3000, 1)], discounts.COVERS_TOTAL),
    ("USD", off(10_000, "USD"), [(1999, 1)], discounts.COVERS_TOTAL),
    ("USDT", SHIP, [(5, 1, None, True)], discounts.COVERS_TOTAL),                   # only shipping: nothing left
    ("KRW", product("percentage", 100, ["tea"]), [(19000, 1, "tea")], discounts.COVERS_TOTAL),
])
def test_a_code_that_cannot_apply_is_refused_with_its_reason(currency, rule, items, reason):
    with pytest.raises(PromotionRefused) as refused:
        discounts.discount_amount(rule, lines(*items), currency)
    assert refused.value.code == reason
    assert refused.value.param == "promotion_code"
    assert refused.value.http_status == 422


def test_the_minimum_is_judged_before_the_discount():
    rule = pct(50, currency="KRW", minimum_order_amount=22000)
    assert discounts.discount_amount(rule, lines((19000, 1), (3000, 1)), "KRW") == 11000


@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 999), st.booleans()), min_size=1, max_size=12),
    st.sampled_from(["KRW", "USD", "USDT"]),
    st.integers(1, 100),
)
@settings(max_examples=300)
def test_a_total_after_a_discount_is_never_negative_or_zero(specs, currency, percent):
    order = [LineItem(name="x", unit_amount=u, quantity=q, shipping=True if s else None) for u, q, s in specs]
    for rule in (pct(percent), SHIP, off(percent * 137, currency)):
        try:
            discount = discounts.discount_amount(rule, order, currency)
        except PromotionRefused:
            continue
        assert 0 < discount < sum(i.amount for i in order)


# --- allocation over the lines: exact, deterministic, never negative -----------------------

def flat(items: list[LineItem]) -> list[tuple[int, int]]:
    return [(i.unit_amount, i.quantity) for i in items]


@pytest.mark.parametrize("items,mask,discount,expected", [
    # in proportion to each line: 19000:3000 of 2200 -> 1900 + 300
    ([(19000, 1), (3000, 1)], [True, True], 2200, [(17100, 1), (2700, 1)]),
    # a leftover minor unit goes to the largest remainder: 1/3 each of 100 -> 34, 33, 33
    ([(100, 1), (100, 1), (100, 1)], [True, True, True], 100, [(66, 1), (67, 1), (67, 1)]),
    # only the eligible lines bear it
    ([(19000, 1), (3000, 1)], [False, True], 3000, [(19000, 1), (0, 1)]),
    # a line whose new amount does not divide by its quantity is split: 3 x 1000 - 1 = 1 x 999 + 2 x 1000
    ([(1000, 3)], [True], 1, [(999, 1), (1000, 2)]),
    # 1999 x 2 + 499 less 500: the first line bears 444.52 -> 445 (the larger remainder), the second 55.48 -> 55
    ([(1999, 2), (499, 1)], [True, True], 500, [(1776, 1), (1777, 1), (444, 1)]),
    ([(1, 999)], [True], 998, [(0, 998), (1, 1)]),
    ([(5, 3)], [True], 0, [(5, 3)]),
])
def test_allocation_table(items, mask, discount, expected):
    order = lines(*items)
    got = discounts.allocate(order, mask, discount)
    assert flat(got) == expected
    assert sum(i.amount for i in got) == sum(i.amount for i in order) - discount
    assert all(i.unit_amount >= 0 and i.quantity >= 1 for i in got)


def test_allocation_keeps_each_lines_name_and_product():
    order = [LineItem(name="녹차", unit_amount=1000, quantity=3, product_id="tea", description="50g")]
    got = discounts.allocate(order, [True], 1)
    assert {(i.name, i.product_id, i.description) for i in got} == {("녹차", "tea", "50g")}


def test_allocation_refuses_more_than_the_eligible_lines_hold():
    with pytest.raises(ValueError):
        discounts.allocate(lines((100, 1), (50, 1)), [False, True], 51)


@given(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(1, 999), st.booleans()), min_size=1, max_size=20),
    st.data(),
)
@settings(max_examples=400)
def test_allocated_lines_add_up_exactly_and_none_goes_negative(specs, data):
    order = [LineItem(name=f"l{i}", unit_amount=u, quantity=q) for i, (u, q, _) in enumerate(specs)]
    mask = [on for _, _, on in specs]
    base = sum(i.amount for i, on in zip(order, mask) if on)
    discount = data.draw(st.integers(0, base))
    got = discounts.allocate(order, mask, discount)
    assert sum(i.amount for i in got) == sum(i.amount for i in order) - discount
    assert all(i.unit_amount >= 0 and i.quantity >= 1 for i in got)
    assert got == discounts.allocate(order, mask, discount), "deterministic"
    # Each line bears its share within one minor unit, and the ineligible ones bear nothing.
    by_name: dict[str, int] = {}
    for item in got:
        by_name[item.name] = by_name.get(item.name, 0) + item.amount
    for item, on in zip(order, mask):
        borne = item.amount - by_name[item.name]
        if not on or base == 0:
            assert borne == 0
        else:
            assert abs(borne - Fraction(discount * item.amount, base)) < 1


@pytest.mark.parametrize("currency", ["KRW", "USD", "USDT"])
def test_charge_lines_are_the_checkouts_own_without_a_code_and_allocated_with_one(currency):
    order = lines((1999, 2, "tea"), (499, 1, None, True))
    assert flat(discounts.charge_lines(order, None, 0)) == [(1999, 2), (499, 1)]
    rule = SHIP
    discount = discounts.discount_amount(rule, order, currency)
    assert flat(discounts.charge_lines(order, rule.snapshot(), discount)) == [(1999, 2), (0, 1)]
    rule = product("percentage", 10, ["tea"])
    discount = discounts.discount_amount(rule, order, currency)
    assert discount == 400
    assert flat(discounts.charge_lines(order, rule.snapshot(), discount)) == [(1799, 2), (499, 1)]


@pytest.mark.parametrize("text,code", [
    ("welcome10", "WELCOME10"), ("  Spring_Sale-2026 ", "SPRING_SALE-2026"), ("ABC", "ABC"), ("A" * 40, "A" * 40),
    ("AB", None), ("A" * 41, None), ("WELCOME 10", None), ("할인", None), ("", None), (None, None), (10, None),
])
def test_codes_are_case_insensitive_and_stored_upper_case(text, code):
    assert discounts.normalize_code(text) == code


def test_a_rule_survives_its_snapshot():
    rule = Rule(code="P", type="product_specific", value=300, value_type="fixed_amount", currency="USD",
                product_ids=("a", "b"), minimum_order_amount=1000, usage_limit_per_customer=1)
    assert Rule.from_mapping(rule.snapshot()) == rule
