"""bench/capacity.py: write units by AWS's billing rules, checked against DynamoDB Local.

DynamoDB Local's figure for a single-item write is right, so the rules must give exactly
it for every kind of write the product makes (sizes across KB boundaries, Korean text,
index entries made, moved, removed). For a transaction it is not: it adds up only the
distinct per-item figures, which is why the bench works them out instead."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import capacity  # noqa: E402

pytestmark = pytest.mark.ddb_local


def _item(pk: str, size: int, **extra: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "s"}, "d": {"S": "한" * (size // 3)}, **{k: {"S": v} for k, v in extra.items()}}


def _reported(response: dict) -> float:
    consumed = response["ConsumedCapacity"]
    return sum(c["CapacityUnits"] for c in consumed) if isinstance(consumed, list) else consumed["CapacityUnits"]


def test_the_rules_give_dynamodb_locals_own_figure_for_every_single_item_write(local_db):
    client, table = local_db.client, local_db.table
    counter = capacity.WriteUnits(client, client)
    before = len(counter.single)
    on_both = {"gsi1pk": "g", "gsi1sk": "1", "gsi2pk": "DUE", "gsi2sk": "0001"}
    for n, size in enumerate((10, 990, 1010, 1030, 2000, 3100)):
        client.put_item(TableName=table, Item=_item(f"p{n}", size), ReturnConsumedCapacity="TOTAL")
        client.put_item(TableName=table, Item=_item(f"q{n}", size, **on_both), ReturnConsumedCapacity="TOTAL")
        client.put_item(TableName=table, Item=_item(f"q{n}", size + 900, **on_both), ReturnConsumedCapacity="TOTAL")
        key = {"pk": {"S": f"q{n}"}, "sk": {"S": "s"}}
        for expression, values in (
            ("SET e = :v", {":v": {"S": "x"}}),                      # a projected attribute changed
            ("SET gsi2sk = :v", {":v": {"S": "0002"}}),              # an index key moved
            ("REMOVE gsi2pk, gsi2sk", None),                          # out of an index
            ("SET d = :v", {":v": {"S": "작"}}),                      # shrunk
            ("SET n = :v, m = :m", {":v": {"N": "1796123508233823"}, ":m": {"M": {"a": {"L": [{"BOOL": True}]}}}}),
        ):
            kwargs = {"ExpressionAttributeValues": values} if values else {}
            client.update_item(TableName=table, Key=key, UpdateExpression=expression, ReturnConsumedCapacity="TOTAL",
                               **kwargs)
        client.delete_item(TableName=table, Key=key, ReturnConsumedCapacity="TOTAL")
    checked = counter.single[before:]
    assert len(checked) == 6 * 9
    assert [pair for pair in checked if pair[0] != pair[1]] == []


def test_dynamodb_local_reports_a_transaction_of_equal_items_as_one_the_rules_bill_each(local_db):
    client, table = local_db.client, local_db.table
    counter = capacity.WriteUnits(client, client)
    response = client.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": _item(f"t{n}", 500)}} for n in range(3)],
        ReturnConsumedCapacity="TOTAL")
    assert _reported(response) == 2.0  # DynamoDB Local: as if one item
    assert counter.units == 6  # AWS: three items of 1 KB, twice each
