"""GET /api/checkouts lists newest first, strictly in creation order even within one second."""
from __future__ import annotations

import json

import pytest

from chalicelib.adapters.store import checkout_from_record, checkout_to_record, to_item
from chalicelib.domain import clock
from tests.conftest import _installed_table, api_json, checkout_body, create_merchant


@pytest.fixture
def engine_db(engine: str):
    with _installed_table(engine) as s:
        yield s


def test_checkouts_created_back_to_back_list_in_reverse_creation_order(client, engine_db, monkeypatch):
    merchant = create_merchant(engine_db)
    second = clock.now_s()
    monkeypatch.setattr(clock, "now_s", lambda: second)  # all three within the same second
    made = [api_json(client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body())))["id"]
            for _ in range(3)]
    assert len({engine_db.get_checkout(i).created_at_s for i in made}) == 1
    # The index is eventually consistent on AWS; DynamoDB Local and moto answer at once.
    listed = api_json(client.http.get("/api/checkouts", headers=merchant.headers))
    assert [c["id"] for c in listed["data"]] == made[::-1]
    page = api_json(client.http.get("/api/checkouts?limit=1", headers=merchant.headers))
    assert [c["id"] for c in page["data"]] == [made[2]] and page["has_more"] is True
    rest = api_json(client.http.get(f"/api/checkouts?limit=5&starting_after={made[2]}", headers=merchant.headers))
    assert [c["id"] for c in rest["data"]] == made[1::-1]


def test_checkouts_from_before_microseconds_list_after_newer_ones(client, engine_db):
    merchant = create_merchant(engine_db)
    old_id = api_json(client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body())))["id"]
    record = engine_db.get(f"CHECKOUT#{old_id}", "CHECKOUT")
    record.pop("created_at_us")
    engine_db.client.put_item(TableName=engine_db.table, Item=to_item(checkout_to_record(checkout_from_record(record))))
    new_id = api_json(client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body())))["id"]
    listed = api_json(client.http.get("/api/checkouts", headers=merchant.headers))
    assert [c["id"] for c in listed["data"]] == [new_id, old_id]
