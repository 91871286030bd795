"""Each provider is asked for the discounted total, exactly, in its own amount format. Providers
that list lines (Clink's priceDataList, Payfect's invoice_items, KoreaCheckout's items) get the
lines with the discount allocated over them; the enforcing fakes refuse lines that do not add up
to the total, so a session that is created and reads back the discounted amount is the proof."""
from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from chalicelib.adapters import providers
from chalicelib.adapters.providers import base, clink, paycombat, payfect
from chalicelib.adapters.providers import koreacheckout as kc
from chalicelib.domain import clock, discounts
from chalicelib.domain.discounts import Rule
from chalicelib.domain.model import Checkout, LineItem
from tests.adapters.providers.fake_clink import FakeClink
from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout, credentials
from tests.adapters.providers.fake_payfect import FakePayfect

CLINK_KEY = "sk_test_9c2d7e1f4a6b8c0d"
PAYFECT_KEY = "5a31f3a4-279c-11ee-be56-0242ac120002"


def discounted(currency: str, provider: str, rule: Rule, *items: tuple) -> Checkout:
    """A checkout with ``rule`` applied, as the app would have it at submit."""
    now = clock.now_s()
    lines = [LineItem(name=f"상품 {i}", unit_amount=spec[0], quantity=spec[1],
                      product_id=spec[2] if len(spec) > 2 else None,
                      shipping=True if len(spec) > 3 and spec[3] else None) for i, spec in enumerate(items)]
    discount = discounts.discount_amount(rule, lines, currency)
    return Checkout(
        id="chk_2Xb9QmTz7LkP4vRw8NcY1sDe", merchant_id="m-shop", status="processing", version=1, currency=currency,
        line_items=lines, success_url="https://shop.example/thanks", cancel_url="https://shop.example/cart",
        provider=provider, created_at_s=now, expires_at_s=now + 3600, locale="ko", payment_method_types=["card"],
        collect_shipping_address=False, promotion=rule.snapshot(), amount_discount=discount,
    )


def request_for(checkout: Checkout, method: str = "card") -> base.SessionRequest:
    return base.SessionRequest(
        checkout=checkout, attempt_id="att_1", method=method, shopper={"email": "shopper@example.com", "name": "홍길동"},
        return_url="https://pay.example/r", cancel_url="https://pay.example/c", notify_url="https://pay.example/n",
    )


PCT15 = Rule(code="P15", type="percentage", value=15)
SHIP = Rule(code="SHIP", type="free_shipping")


def off(value: int, currency: str) -> Rule:
    return Rule(code="OFF", type="fixed_amount", value=value, currency=currency)


def tea(value_type: str, value: int, currency: str | None = None) -> Rule:
    return Rule(code="TEA", type="product_specific", value_type=value_type, value=value, product_ids=("tea",), currency=currency)


def test_a_session_request_defaults_to_the_checkouts_charge():
    checkout = discounted("USD", "clink", PCT15, (1999, 2), (499, 1))
    request = request_for(checkout)
    assert request.amount_total == checkout.amount_total == 4497 - 675
    assert sum(i.amount for i in request.lines) == request.amount_total


# --- Clink: originalAmount and priceDataList in major units (Decimal) ----------------------------

@pytest.fixture
def fake_clink():
    server = FakeClink(CLINK_KEY)
    yield server
    server.close()


@pytest.mark.parametrize("currency,rule,items", [
    ("USD", PCT15, [(1999, 2), (499, 1)]),               # 674.55 -> 675 off, spread and split
    ("USD", off(1000, "USD"), [(333, 3), (1, 7)]),
    ("USD", SHIP, [(1999, 1), (499, 1, None, True)]),
    ("KRW", PCT15, [(29000, 1), (3000, 3)]),
    ("JPY", tea("fixed_amount", 7, "JPY"), [(100, 3, "tea"), (50, 1)]),
    ("EUR", tea("percentage", 33, None), [(1001, 7, "tea"), (250, 1)]),
])
def test_clink_gets_lines_that_add_up_to_the_discounted_total(fake_clink, currency, rule, items):
    checkout = discounted(currency, "clink", rule, *items)
    adapter = clink.Adapter("m-shop", {"api_key": CLINK_KEY}, fake_clink.url)
    session = adapter.create_session(request_for(checkout))
    sent = fake_clink.created[-1]
    assert sent["originalAmount"] == Decimal(checkout.amount_total).scaleb(-2 if currency in ("USD", "EUR") else 0)
    assert all(p["unitAmount"] >= 0 for p in sent["priceDataList"])
    payment = adapter.read_session(session.session_id)
    assert (payment.amount, payment.currency) == (checkout.amount_total, currency)
    assert checkout.amount_discount > 0 and payment.amount == checkout.amount_subtotal - checkout.amount_discount


# --- Payfect: invoice_items with decimal-string unit amounts ---------------------------------------

@pytest.fixture
def fake_payfect():
    server = FakePayfect(PAYFECT_KEY)
    yield server
    server.close()


@pytest.mark.parametrize("currency,rule,items", [
    ("USDT", PCT15, [(2050, 1), (5, 3)]),
    ("USDT", off(1, "USDT"), [(1, 999)]),
    ("USDT", SHIP, [(1999, 1), (300, 2, None, True)]),
    ("CNY", tea("percentage", 50, None), [(999, 3, "tea"), (10, 7)]),
    ("TWD", off(12345, "TWD"), [(100000000, 1)]),
])
def test_payfect_gets_invoice_items_that_add_up_to_the_discounted_total(fake_payfect, currency, rule, items):
    checkout = discounted(currency, "payfect", rule, *items)
    adapter = payfect.Adapter("m-shop", {"api_key": PAYFECT_KEY, "secret_key": Fernet.generate_key().decode()},
                              fake_payfect.url)
    session = adapter.create_session(request_for(checkout, "crypto"))
    payment = adapter.read_session(session.session_id)
    assert (payment.amount, payment.currency) == (checkout.amount_total, currency)
    assert checkout.amount_discount > 0


# --- KoreaCheckout: integer KRW items and totalAmount ---------------------------------------------

@pytest.fixture
def fake_kc(monkeypatch):
    server = FakeKoreaCheckout()
    monkeypatch.setenv("KOREACHECKOUT_API_BASE", server.url)
    yield server
    server.close()


@pytest.mark.parametrize("rule,items", [
    (PCT15, [(19000, 1), (3000, 1)]),
    (PCT15, [(9999, 3), (1, 1)]),
    (off(5000, "KRW"), [(1000, 3), (7, 7), (19999, 1)]),
    (SHIP, [(19000, 2), (3000, 1, None, True)]),
    (tea("percentage", 10, None), [(19000, 3, "tea"), (3000, 1)]),
])
def test_koreacheckout_gets_items_whose_prices_add_up_to_the_discounted_total(db, fake_kc, rule, items):
    checkout = discounted("KRW", "koreacheckout", rule, *items)
    adapter = providers.build("koreacheckout", "m-shop", credentials(fake_kc), "https://pay.example")
    body = kc.create_session_body(request_for(checkout))
    assert body["totalAmount"] == checkout.amount_total
    assert sum(i["price"] * i["quantity"] for i in body["items"]) == checkout.amount_total
    session = adapter.create_session(request_for(checkout))
    payment = adapter.read_session(session.session_id)
    assert (payment.amount, payment.currency) == (checkout.amount_total, "KRW")


# --- PayCombat: one amount ----------------------------------------------------------------------------

def test_paycombat_is_asked_for_the_discounted_amount():
    checkout = discounted("KRW", "paycombat", PCT15, (19000, 1), (3000, 1))
    body = paycombat.payment_request_body(request_for(checkout, "virtual_account"))
    assert body["amount"] == 18700 == checkout.amount_total
