"""The checkout's and the event's stored form: smaller items that read back exactly, and items
written before (the full form, the JSON payload) that still read the same, on moto and DynamoDB Local."""
import dataclasses
import json

import pytest

from chalicelib.adapters import store, webhooks
from chalicelib.adapters.store import checkout_from_record, checkout_to_record, to_item
from chalicelib.domain import model
from chalicelib.domain.model import Attempt, Checkout, LineItem, Payment

NOW = 1_800_000_000
SHOPPER = {"name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678", "postal_code": "06236",
           "address1": "서울 강남구 테헤란로 152", "address_jibun": "서울 강남구 역삼동 737", "address2": "강남파이낸스센터 1층"}
SAME_SHIPPING = {k: SHOPPER[k] for k in ("name", "phone", "postal_code", "address1", "address_jibun", "address2")}


def a_checkout(**kw):
    checkout = Checkout(
        id="chk_form0000000000000000000001", merchant_id="m-form", status="open", version=0, currency="KRW",
        line_items=[LineItem("녹차", 19000, 1, description="유기농"), LineItem("배송비", 3000, 1, shipping=True)],
        success_url="https://shop.example/ok", cancel_url="https://shop.example/no", provider="koreacheckout",
        created_at_s=NOW, created_at_us=NOW * 10**6 + 5, expires_at_s=NOW + 86400, locale="ko",
        payment_method_types=["card", "virtual_account"], collect_shipping_address=True, base_url="https://pay.example",
    )
    return dataclasses.replace(checkout, **kw)


def old_record(checkout: Checkout) -> dict:
    """The item as the release before this one wrote it: every field but None ones, in full."""
    record = store._drop_none(checkout)
    record.update(pk=f"CHECKOUT#{checkout.id}", sk="CHECKOUT", type="checkout", gsi1pk=f"MERCHANT#{checkout.merchant_id}",
                  gsi1sk=store.merchant_index_key(checkout))
    if checkout.status in (model.OPEN, model.PROCESSING):
        record["ttl"] = checkout.expires_at_s + 30 * 86400
        record.update(store.schedule_keys(checkout))
    return record


PAID = a_checkout(
    status="complete", version=3, shopper=dict(SHOPPER), shipping=dict(SAME_SHIPPING), opened_at_s=NOW, submitted_at_s=NOW,
    attempt=Attempt("att_1", "koreacheckout", "card", NOW, "cs_1", "https://kc.example/checkout/cs_1", amount=22000,
                    currency="KRW"),
    payment=Payment("cs_1", "card", 22000, "KRW", NOW + 5, "toss_1"),
)
VARIANTS = {
    "open, nothing set": a_checkout(),
    "paid, shipping the shopper's": PAID,
    "shipping with a request and a second phone": dataclasses.replace(
        PAID, shipping={**SAME_SHIPPING, "phone2": "02-555-1234", "request": "문 앞에 놓아주세요", "request_type": "door"}),
    "shipping to someone else": dataclasses.replace(PAID, shipping={**SAME_SHIPPING, "name": "김철수", "phone": "010-9999-0000"}),
    "shipping lacking what the shopper has": dataclasses.replace(PAID, shipping={"name": "홍길동", "postal_code": "06236"}),
    "shipping, no shopper address": dataclasses.replace(PAID, shopper={"name": "홍길동", "email": "g@example.com"}),
    "every default changed": dataclasses.replace(
        PAID, status="partially_refunded", customer={"email": "kim@example.com"}, metadata={"order": "7"}, late_payment=True,
        amount_refunded=5000, allow_promotion_codes=True, promotion_over_limit=True, promotion_refusals=2,
        released_attempts=[{"provider_session_id": "cs_0", "amount": 22000, "currency": "KRW"}], marketing_opt_in=True,
        attempt=dataclasses.replace(PAID.attempt, checks=3)),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_a_checkout_reads_back_exactly_in_the_new_form_and_the_old(any_db, name):
    checkout = VARIANTS[name]
    new_form = checkout_to_record(checkout)
    assert checkout_from_record(store.from_item(to_item(new_form))) == checkout
    any_db.client.put_item(TableName=any_db.table, Item=to_item(old_record(checkout)))
    assert any_db.get_checkout(checkout.id) == checkout  # an item from a deployed table
    old_api = model.to_api_object(any_db.get_checkout(checkout.id), "https://pay.example/c/x", NOW)
    any_db.client.put_item(TableName=any_db.table, Item=to_item(new_form))
    assert any_db.get_checkout(checkout.id) == checkout
    assert model.to_api_object(any_db.get_checkout(checkout.id), "https://pay.example/c/x", NOW) == old_api


def test_the_new_form_is_smaller_and_leaves_out_only_what_reads_back_the_same():
    new_form, old = checkout_to_record(PAID), old_record(PAID)
    size = lambda record: len(json.dumps(record, ensure_ascii=False).encode())  # noqa: E731
    assert size(new_form) < size(old) - 300
    assert new_form["shipping"] == {"same_as_shopper": True}
    gone = set(old) - set(new_form)
    assert gone == {"id", "merchant_id", "customer", "metadata", "late_payment", "amount_refunded",
                    "allow_promotion_codes", "amount_discount", "promotion_over_limit", "promotion_refusals",
                    "released_attempts", "marketing_opt_in"}
    assert "checks" not in new_form["attempt"]
    # What the merchant reads keeps its shape: every shipping key, null where absent.
    assert model.to_api_object(PAID, "https://pay.example/c/x", NOW)["shipping"] == {
        **{k: None for k in model.SHIPPING_KEYS}, **SAME_SHIPPING}


def test_transitions_on_an_old_item_write_the_new_form_and_read_back_right(local_db):
    checkout = a_checkout(customer={"email": "kim@example.com"})
    local_db.client.put_item(TableName=local_db.table, Item=to_item(old_record(checkout)))
    checkout = local_db.get_checkout(checkout.id)
    attempt = Attempt("att_1", "koreacheckout", "card", NOW, amount=22000, currency="KRW")
    locked = local_db.apply(checkout, model.plan_lock(checkout, attempt, dict(SHOPPER), NOW,
                                                      {"shipping": dict(SAME_SHIPPING), "marketing_opt_in": False}))
    item = local_db.get(f"CHECKOUT#{checkout.id}", "CHECKOUT")
    assert item["shipping"] == {"same_as_shopper": True} and "marketing_opt_in" not in item
    assert local_db.get_checkout(checkout.id) == locked and locked.shipping == SAME_SHIPPING
    # Released, then locked again for another recipient: the address is written again in full.
    released = local_db.apply(locked, model.plan_release(locked, "att_1", False, "payment_failed", NOW))
    other = {**SAME_SHIPPING, "name": "김철수"}
    again = local_db.apply(released, model.plan_lock(released, Attempt("att_2", "koreacheckout", "card", NOW), dict(SHOPPER),
                                                     NOW, {"shipping": other}))
    assert local_db.get(f"CHECKOUT#{checkout.id}", "CHECKOUT")["shipping"] == {"name": "김철수", "same_as_shopper": True}
    assert local_db.get_checkout(checkout.id) == again and again.shipping == other
    # A change back to a default removes the attribute; it still reads as the default.
    opened = local_db.apply(again, model.plan_release(again, "att_2", False, "payment_failed", NOW))
    cleared = local_db.apply(opened, model.Transition(model.OPEN, opened.version, model.OPEN, {"customer": {}}))
    assert "customer" not in local_db.get(f"CHECKOUT#{checkout.id}", "CHECKOUT")
    assert local_db.get_checkout(checkout.id) == cleared and cleared.customer == {}


KOREAN = json.dumps({"type": "checkout.completed", "timestamp": "2027-01-15T00:00:00Z",
                     "data": {"id": "chk_1", "line_items": [{"name": "유기농 녹차 \"특\" 선물 세트 \\ 🍵", "amount": 19000}],
                              "shipping": {"name": "홍길동", "address1": "서울 강남구 테헤란로 152"}}},
                    separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("body", [KOREAN, json.dumps({"data": {"a": "\\u1234"}}), "{}", "x" * 20000])
def test_an_event_payload_is_packed_and_unpacked_byte_for_byte(body):
    record = webhooks.new_event_record("chk_1", "m-1", "checkout.completed", "checkout.completed", {}, NOW)
    record[webhooks.PACKED_PAYLOAD] = webhooks.pack_payload(body)
    assert webhooks.payload_of(record) == body
    assert webhooks.payload_of({"payload": body}) == body  # an event item from before


def test_an_event_is_stored_packed_and_delivered_as_signed(any_db, receiver):
    from tests.conftest import create_merchant

    handle = create_merchant(any_db, receiver.url)
    checkout = a_checkout(merchant_id=handle.id, status="processing", version=1)
    any_db.create_checkout(checkout)
    plan = model.plan_complete(checkout, Payment("cs_1", "card", 22000, "KRW", NOW), NOW)
    data = model.to_api_object(model.applied(checkout, plan), "https://pay.example/c/x", NOW)
    event = webhooks.new_event_record(checkout.id, handle.id, plan.event_type, plan.event_key, data, NOW)
    any_db.apply(checkout, plan, event)
    stored = any_db.get(f"CHECKOUT#{checkout.id}", "EVENT#checkout.completed")
    assert "payload" not in stored and isinstance(stored[webhooks.PACKED_PAYLOAD], bytes)
    body = webhooks.payload_of(stored)
    assert len(stored[webhooks.PACKED_PAYLOAD]) * 3 < len(body.encode())
    from chalicelib.usecases import events

    events.deliver(any_db, handle.merchant, stored)
    delivered = receiver.verified(handle.webhook_secret)
    assert delivered == [json.loads(body)] and delivered[0]["data"]["id"] == checkout.id


def test_an_old_event_item_with_its_json_payload_is_delivered_as_it_was_written(any_db, receiver):
    from chalicelib.usecases import events
    from tests.conftest import create_merchant

    handle = create_merchant(any_db, receiver.url)
    old = webhooks.new_event_record("chk_old", handle.id, "checkout.completed", "checkout.completed", {}, NOW)
    del old[webhooks.PACKED_PAYLOAD]
    old["payload"] = KOREAN
    any_db.client.put_item(TableName=any_db.table, Item=to_item(old))
    events.deliver(any_db, handle.merchant, any_db.get(old["pk"], old["sk"]))
    assert receiver.deliveries[0]["body"] == KOREAN.encode()
    assert receiver.verified(handle.webhook_secret) == [json.loads(KOREAN)]
