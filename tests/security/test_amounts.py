"""Amount integrity, per provider: the total is always ours, never the form's, and a provider
read of another amount or currency never completes a checkout (OWASP's third-party
payment gateway cheat sheet: the amount is decided server-side and checked on the way back).
"""
from __future__ import annotations

import json

import pytest

from chalicelib.domain import money
from tests.security.rigs import PROVIDERS

# What a shopper (or a script posing as one) might add to the form to set the price.
TAMPERING = {
    "amount": "1", "amount_total": "1", "total": "1", "totalAmount": "1", "originalAmount": "0.01", "price": "1",
    "unit_amount": "1", "quantity": "100", "currency": "USD", "line_items": json.dumps([{"name": "x", "unit_amount": 1}]),
    "line_items[0][unit_amount]": "1", "invoice_items": "[]", "discount": "21999", "amount_discount": "21999",
    "items[0][price]": "1", "payment[amount]": "1",
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_extra_form_fields_never_set_the_amount(local_db, receiver, web, make_rig, provider, figures):
    rig = make_rig(provider, local_db, receiver.url)
    checkout = rig.create_checkout(web)
    assert checkout["amount_total"] == rig.total and checkout["currency"] == rig.currency
    figures.mark()
    submitted = rig.submit(web, checkout["id"], extra=TAMPERING)
    assert submitted.status == 303, submitted.text[:300]
    assert rig.asked_total() == rig.total, "the provider was asked for another amount than ours"
    stored = local_db.get_checkout(checkout["id"])
    assert stored.amount_total == rig.total and stored.currency == rig.currency
    assert [(i.unit_amount, i.quantity) for i in stored.line_items] == [
        (i["unit_amount"], i["quantity"]) for i in checkout["line_items"]]
    figures.add("amounts", f"{provider}: {len(TAMPERING)} price fields added to the form", len(TAMPERING), accepted=0,
                expect="0 accepted (provider asked our total)")


def other_currency(rig) -> str:
    return {"KRW": "USD", "USD": "EUR", "USDT": "CNY"}[rig.currency]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("change", ["less", "more", "currency"])
def test_a_provider_read_of_another_amount_never_completes(local_db, receiver, web, make_rig, provider, change, figures):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, session_id = rig.start(web)
    unit = 10 ** money.EXPONENTS[rig.currency]  # one major unit: what every provider's format can carry
    if change == "currency":
        rig.pay(session_id, amount=rig.total, currency=other_currency(rig))
    else:
        rig.pay(session_id, amount=rig.total - unit if change == "less" else rig.total + unit)
    figures.mark()
    answer = rig.notify(web, session_id, checkout_id)
    assert answer.status < 500 and answer.json().get("status") != "complete", answer.text
    back = web.get(f"/c/{checkout_id}/return")
    assert back.status == 303 and "shop.example/thanks" not in back.headers["location"]
    stored = local_db.get_checkout(checkout_id)
    assert stored.status != "complete" and stored.payment is None
    assert stored.amount_mismatch and stored.amount_mismatch["expected_amount"] == rig.total
    events = local_db.query(f"CHECKOUT#{checkout_id}", "EVENT#")
    assert events == [] and receiver.deliveries == []
    figures.add("amounts", f"{provider}: paid read with {change} {'amount' if change != 'currency' else ''}".rstrip(), accepted=0,
                expect="0 accepted (flagged, not complete)")
