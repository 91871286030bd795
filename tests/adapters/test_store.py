"""The store's contract, on moto and on DynamoDB Local (AWS's own engine is the judge)."""
import dataclasses
import json
import threading
import uuid

import pytest

from chalicelib.adapters import store, webhooks
from chalicelib.adapters.store import AlreadyExists, StaleItem
from chalicelib.domain import model
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.model import Attempt, Checkout, LineItem, Payment
from tests.conftest import IN_CI, make_client

NOW = 1_800_000_000


def new_checkout(checkout_id="chk_store00000000000000", **kw):
    c = Checkout(
        id=checkout_id, merchant_id="m-store", status="open", version=0, currency="KRW",
        line_items=[LineItem("녹차", 19000, 1, description="유기농"), LineItem("배송", 3000, 1)],
        success_url="https://shop.example/ok", cancel_url="https://shop.example/no", provider="sandbox",
        created_at_s=NOW, expires_at_s=NOW + 86400, locale="ko", payment_method_types=["card", "virtual_account"],
        collect_shipping_address=True, customer={"name": "홍길동"}, metadata={"status": "reserved-word-as-key"},
    )
    return dataclasses.replace(c, **kw)


def test_create_table_is_idempotent_with_ttl_and_indexes(any_db):
    assert any_db.create_table(point_in_time_recovery=False) is False
    description = any_db.client.describe_table(TableName=any_db.table)["Table"]
    assert {i["IndexName"]: i["Projection"]["ProjectionType"] for i in description["GlobalSecondaryIndexes"]} == \
        {"gsi1keys": "KEYS_ONLY", "gsi2": "KEYS_ONLY"}
    assert description.get("BillingModeSummary", {}).get("BillingMode", "PAY_PER_REQUEST") == "PAY_PER_REQUEST"
    ttl = any_db.client.describe_time_to_live(TableName=any_db.table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING") and ttl["AttributeName"] == "ttl"


def test_a_checkout_round_trips_exactly(any_db):
    checkout = new_checkout()
    any_db.create_checkout(checkout)
    assert any_db.get_checkout(checkout.id) == checkout
    record = any_db.get(f"CHECKOUT#{checkout.id}", "CHECKOUT")
    assert record["ttl"] == checkout.expires_at_s + 30 * 86400


def test_a_checkout_id_is_written_once(any_db):
    any_db.create_checkout(new_checkout())
    with pytest.raises(AlreadyExists):
        any_db.create_checkout(new_checkout(status="complete"))
    assert any_db.get_checkout("chk_store00000000000000").status == "open"


def test_a_transition_is_conditional_on_status_and_version(any_db):
    checkout = new_checkout()
    any_db.create_checkout(checkout)
    attempt = Attempt("att_1", "sandbox", "card", NOW)
    locked = any_db.apply(checkout, model.plan_lock(checkout, attempt, {"name": "홍길동"}, NOW))
    assert (locked.status, locked.version, locked.attempt) == ("processing", 1, attempt)
    assert any_db.get_checkout(checkout.id) == locked
    # The same plan again (planned from version 0) loses, and hands back the current item.
    with pytest.raises(StaleItem) as lost:
        any_db.apply(checkout, model.plan_lock(checkout, Attempt("att_2", "sandbox", "card", NOW), {}, NOW))
    assert lost.value.current["version"] == 1 and lost.value.current["attempt"]["id"] == "att_1"


def test_a_transition_and_its_event_are_written_together_once(any_db):
    checkout = new_checkout(status="processing", version=4)
    any_db.create_checkout(checkout)
    pay = Payment("sbx_1", "card", 22000, "KRW", NOW, "ref")
    plan = model.plan_complete(checkout, pay, NOW)
    event = webhooks.new_event_record(checkout.id, "m-store", plan.event_type, plan.event_key, {"id": checkout.id}, NOW)
    done = any_db.apply(checkout, plan, event)
    assert done.status == "complete" and done.payment == pay
    stored = any_db.get_checkout(checkout.id)
    assert stored == done
    assert "ttl" not in any_db.get(f"CHECKOUT#{checkout.id}", "CHECKOUT")  # paid checkouts are kept
    # A second completion (a racing Lambda that planned from the old version) writes nothing at all.
    again = webhooks.new_event_record(checkout.id, "m-store", plan.event_type, plan.event_key, {"id": checkout.id}, NOW)
    with pytest.raises(StaleItem):
        any_db.apply(checkout, plan, again)
    events = any_db.query(f"CHECKOUT#{checkout.id}", "EVENT#")
    assert [e["id"] for e in events] == [event["id"]]


def test_an_event_that_exists_blocks_its_transition(any_db):
    """Even a plan from the right version cannot produce a second event with the same key."""
    checkout = new_checkout(status="processing", version=1)
    any_db.create_checkout(checkout)
    event = webhooks.new_event_record(checkout.id, "m-store", "checkout.completed", "checkout.completed", {}, NOW)
    any_db.put_new(event)
    plan = model.plan_complete(checkout, Payment("s", "card", 22000, "KRW", NOW), NOW)
    with pytest.raises(StaleItem) as lost:
        any_db.apply(checkout, plan, webhooks.new_event_record(checkout.id, "m-store", "checkout.completed",
                                                               "checkout.completed", {}, NOW))
    assert lost.value.current is None
    assert any_db.get_checkout(checkout.id).status == "processing"


def test_racing_writers_produce_exactly_one_winner(local_db):
    # DynamoDB Local only: moto's server does not make a conditional write atomic
    # across threads (two of ten racers "win" there), which is why AWS's engine judges.
    any_db = local_db
    checkout = new_checkout()
    any_db.create_checkout(checkout)
    wins, losses = [], []
    barrier = threading.Barrier(10)

    def lock(i):
        attempt = Attempt(f"att_{i}", "sandbox", "card", NOW)
        barrier.wait()
        try:
            wins.append(any_db.apply(checkout, model.plan_lock(checkout, attempt, {}, NOW)))
        except StaleItem:
            losses.append(i)

    threads = [threading.Thread(target=lock, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 9
    assert any_db.get_checkout(checkout.id).attempt == wins[0].attempt


def test_update_paths_into_maps_and_conditions(any_db):
    checkout = new_checkout()
    any_db.create_checkout(checkout)
    locked = any_db.apply(checkout, model.plan_lock(checkout, Attempt("att_1", "sandbox", "card", NOW), {}, NOW))
    any_db.update(f"CHECKOUT#{checkout.id}", "CHECKOUT",
                  {"attempt.provider_session_id": "sbx_1", "attempt.redirect_url": "https://p/1"},
                  conditions={"attempt.id": "att_1"})
    assert any_db.get_checkout(checkout.id).attempt.redirect_url == "https://p/1"
    with pytest.raises(StaleItem):
        any_db.update(f"CHECKOUT#{checkout.id}", "CHECKOUT", {"attempt.redirect_url": "https://evil"},
                      conditions={"attempt.id": "att_other"})
    assert any_db.get_checkout(checkout.id).attempt.redirect_url == "https://p/1"
    assert locked.version == 1


def test_reserved_words_are_safe_everywhere(any_db):
    record = {"pk": "X#1", "sk": "X", "status": "s", "name": "n", "ttl": 1, "data": {"size": 2}, "count": 3}
    any_db.put_new(record)
    updated = any_db.update("X#1", "X", {"status": "t", "name": None, "data.size": 5}, conditions={"status": "s", "ttl": 1})
    assert updated["status"] == "t" and "name" not in updated and updated["data"]["size"] == 5


def test_idempotency_record_and_checkout_are_one_transaction(any_db):
    checkout = new_checkout()
    record = {"pk": "IDEMPOTENCY#m#k", "sk": "IDEMPOTENCY", "request_hash": "h1", "response": "{}",
              "created_at_s": NOW, "expires_at_s": NOW + 86400}
    any_db.create_checkout(checkout, record)
    second = new_checkout("chk_store00000000000001")
    with pytest.raises(AlreadyExists) as existing:
        any_db.create_checkout(second, dict(record, request_hash="h2"))
    assert existing.value.current["request_hash"] == "h1"
    assert any_db.get_checkout(second.id) is None  # nothing half-written
    # Past its window the key may be used again.
    later = dict(record, request_hash="h3", created_at_s=NOW + 86401, expires_at_s=NOW + 2 * 86400)
    any_db.create_checkout(second, later)
    assert any_db.get_checkout(second.id) is not None


def test_listing_is_per_merchant_and_newest_first(any_db):
    for i in range(3):
        any_db.create_checkout(new_checkout(f"chk_store0000000000000{i}", created_at_s=NOW + i))
    any_db.create_checkout(new_checkout("chk_other00000000000000", merchant_id="m-other", created_at_s=NOW + 9))
    page, more = any_db.list_checkouts("m-store", 2, None)
    assert [c.id for c in page] == ["chk_store00000000000002", "chk_store00000000000001"] and more
    page2, _ = any_db.list_checkouts("m-store", 2, page[-1])
    assert [c.id for c in page2] == ["chk_store00000000000000"]


def test_a_listing_reads_its_page_from_the_table_not_from_the_index(any_db):
    # The index holds keys only: what a listing shows is the item as the table has it now.
    checkout = new_checkout("chk_store0000000000000a")
    any_db.create_checkout(checkout)
    projected = any_db.client.query(
        TableName=any_db.table, IndexName=store.MERCHANT_INDEX, KeyConditionExpression="gsi1pk = :g",
        ExpressionAttributeValues={":g": {"S": "MERCHANT#m-store"}})["Items"]
    assert [set(item) for item in projected] == [{"pk", "sk", "gsi1pk", "gsi1sk"}]
    [listed], _ = any_db.list_checkouts("m-store", 10, None)
    assert listed == checkout


def test_a_listing_of_more_than_a_batch_keeps_the_index_order(any_db):
    for i in range(130):
        any_db.create_checkout(new_checkout(f"chk_store{i:014d}", created_at_s=NOW + i))
    page, more = any_db.list_checkouts("m-store", 120, None)
    assert [c.id for c in page] == [f"chk_store{i:014d}" for i in range(129, 9, -1)] and more


def test_a_listing_asks_again_for_what_dynamodb_left_unprocessed(any_db, monkeypatch):
    for i in range(3):
        any_db.create_checkout(new_checkout(f"chk_store0000000000000{i}", created_at_s=NOW + i))
    real = any_db.client.batch_get_item
    calls = []

    def partial(RequestItems):  # noqa: N803 - botocore's parameter name
        calls.append(len(RequestItems[any_db.table]["Keys"]))
        if len(calls) > 1:
            return real(RequestItems=RequestItems)
        keys = RequestItems[any_db.table]["Keys"]
        answer = real(RequestItems={any_db.table: dict(RequestItems[any_db.table], Keys=keys[:1])})
        answer["UnprocessedKeys"] = {any_db.table: dict(RequestItems[any_db.table], Keys=keys[1:])}
        return answer

    monkeypatch.setattr(any_db.client, "batch_get_item", partial)
    page, _ = any_db.list_checkouts("m-store", 10, None)
    assert [c.id for c in page] == [f"chk_store0000000000000{i}" for i in (2, 1, 0)]
    assert calls == [3, 2]


@pytest.fixture
def own_ddb_local():
    """A DynamoDB Local of its own: the shared one's background index builder is busy with
    (and has been seen stalled by) the other tests' tables."""
    from tools.dynamodb_local import DynamoDBLocal

    reason = DynamoDBLocal.available()
    if reason:
        if IN_CI:
            pytest.fail(f"DynamoDB Local must run in CI: {reason}")
        pytest.skip(reason)
    engine = DynamoDBLocal()
    yield engine.start()
    engine.stop()


def test_create_table_adds_the_keys_only_merchant_index_to_a_table_made_before(own_ddb_local):
    # A table as the versions before this one made it: gsi1 projecting whole items.
    client = make_client(own_ddb_local)
    old = store.Store(client, f"checkout-old-{uuid.uuid4().hex[:12]}")
    client.create_table(
        TableName=old.table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": i, "KeySchema": [{"AttributeName": f"{k}pk", "KeyType": "HASH"}, {"AttributeName": f"{k}sk", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": p}} for i, k, p in (("gsi1", "gsi1", "ALL"), ("gsi2", "gsi2", "KEYS_ONLY"))])
    try:
        checkout = new_checkout("chk_store0000000000000o")
        old.create_checkout(checkout)
        assert old.missing_indexes() == [store.MERCHANT_INDEX]
        # Deployed before create-table ran: listings and lookups read the older index meanwhile.
        [listed], _ = old.list_checkouts("m-store", 10, None)
        assert listed == checkout
        event = webhooks.new_event_record(checkout.id, "m-store", "checkout.completed", "checkout.completed", {}, NOW)
        old.put_new({**event, "gsi1pk": f"EVENT#{event['id']}", "gsi1sk": "EVENT"})
        assert old.find_by_gsi1(f"EVENT#{event['id']}")["id"] == event["id"]
        assert old.create_table(point_in_time_recovery=False, wait_s=120) is False
        assert old.missing_indexes() == [] and old.unused_indexes() == ["gsi1"]
        # The item written before the index existed is listed (DynamoDB backfills a new index).
        [listed], _ = old.list_checkouts("m-store", 10, None)
        assert listed == checkout
        assert old.create_table(point_in_time_recovery=False, wait_s=120) is False  # safe to repeat
    finally:
        client.delete_table(TableName=old.table)


def test_an_index_still_being_built_is_a_clear_error_not_a_hang(any_db, monkeypatch):
    real = any_db.client.describe_table

    def building(**kw):
        table = real(**kw)
        for index in table["Table"]["GlobalSecondaryIndexes"]:
            index["IndexStatus"] = "CREATING"
        return table

    monkeypatch.setattr(any_db.client, "describe_table", building)
    with pytest.raises(ServiceUnavailable, match=r"\(gsi.*, gsi.* still being built\); run create-table again"):
        any_db.create_table(point_in_time_recovery=False, wait_s=0)


def test_dynamodb_client_uses_the_standard_endpoint_variable(monkeypatch, engine):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", engine)
    store.dynamodb_client.cache_clear()
    try:
        client = store.dynamodb_client()
        assert client.meta.endpoint_url == engine
        client.list_tables()
    finally:
        store.dynamodb_client.cache_clear()


def test_secrets_are_not_stored_in_plain_text(any_db, fake_dns):
    from chalicelib.usecases import merchants

    merchant, api_key, secret = merchants.create(
        any_db, merchant_id="m-secret", name="S", provider="sandbox", allowed_hosts=["shop.example"],
        webhook_url="https://shop.example/hooks",
    )
    dump = json.dumps(any_db.client.scan(TableName=any_db.table)["Items"])
    assert api_key not in dump and secret not in dump and secret.removeprefix("whsec_") not in dump
    assert merchants.get(any_db, "m-secret").webhook_secret() == secret


@pytest.mark.parametrize("value,attr", [
    ("홍길동", {"S": "홍길동"}), ("", {"S": ""}), (29000, {"N": "29000"}), (0, {"N": "0"}), (-5, {"N": "-5"}),
    (True, {"BOOL": True}), (False, {"BOOL": False}), (None, {"NULL": True}),
    ({"a": 1, "b": None}, {"M": {"a": {"N": "1"}}}), ([1, "x"], {"L": [{"N": "1"}, {"S": "x"}]}),
    ({"nested": {"list": [{"k": "v"}]}}, {"M": {"nested": {"M": {"list": {"L": [{"M": {"k": {"S": "v"}}}]}}}}}),
])
def test_attribute_values_round_trip(value, attr):
    assert store.to_attr(value) == attr
    expected = {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value
    assert store.from_attr(attr) == expected


def test_floats_never_reach_the_table():
    with pytest.raises(TypeError):
        store.to_attr({"amount": 19.99})
