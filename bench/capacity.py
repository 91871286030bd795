"""Write units as DynamoDB bills them, worked out from the items before and after each write.

DynamoDB Local reports a transaction's capacity wrongly: it adds up the *distinct*
per-item figures (two 1 KB items in one transaction are reported as one), so a
transaction of several small items reads as cheaper than AWS bills it. Its figures
for single-item writes are right. This works out every write by AWS's documented
rules instead, from the items themselves (read before and after the call through a
client of its own, so they are not counted):

- an item's size is its attribute names' and values' bytes (UTF-8 strings, binary
  lengths, numbers at a byte per two significant digits plus one, 1 byte for a boolean
  or null, 3 bytes plus 1 per element for a list or map);
- a put, update or delete costs 1 WRU per KB of the larger of the item before and
  after, rounded up per item;
- each global secondary index holding the item costs the same for its projection
  (an index entry created or removed costs its own size, a changed key both, a keys-only
  entry whose keys stay nothing); the table's indexes come from its DescribeTable;
- in a transaction, everything twice.

``bench/run.py`` checks these against DynamoDB Local's own figures on every single-item
write of the bench and reports the difference.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Any

KEY = ("pk", "sk")


def attribute_size(value: dict[str, Any]) -> int:
    (kind, data), = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode()) for v in data)
    if kind == "NS":
        return sum(attribute_size({"N": v}) for v in data)
    if kind == "BS":
        return sum(len(v) for v in data)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in data.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + attribute_size(v) for k, v in (item or {}).items())


def _units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


# An index as the bench needs it: its key attributes, and whether it projects every attribute.
Index = tuple[tuple[str, str], bool]


def indexes_of(description: dict[str, Any]) -> list[Index]:
    """A table's global secondary indexes, from its DescribeTable (KEYS_ONLY or ALL)."""
    found: list[Index] = []
    for index in description.get("GlobalSecondaryIndexes", []):
        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        projection = index["Projection"]["ProjectionType"]
        if projection not in ("KEYS_ONLY", "ALL"):
            raise ValueError(f"index {index['IndexName']} projects {projection}: not worked out here")
        found.append(((keys["HASH"], keys["RANGE"]), projection == "ALL"))
    return found


def _projection(item: dict[str, Any] | None, keys: tuple[str, str], everything: bool) -> dict[str, Any] | None:
    if item is None or any(k not in item for k in keys):
        return None
    if everything:
        return item
    return {k: item[k] for k in (*KEY, *keys)}


def write_units(before: dict[str, Any] | None, after: dict[str, Any] | None, indexes: list[Index]) -> int:
    """One item's write (table and indexes), outside a transaction."""
    if before is None and after is None:
        return 1  # a delete of nothing, a failed condition: still a write
    units = _units(max(item_size(before), item_size(after)))
    for keys, everything in indexes:
        old, new = _projection(before, keys, everything), _projection(after, keys, everything)
        if old is None and new is None:
            continue
        if old is None or new is None:
            units += _units(item_size(old if new is None else new))
        elif any(old[k] != new[k] for k in keys):
            units += _units(item_size(old)) + _units(item_size(new))
        elif old != new:
            units += _units(max(item_size(old), item_size(new)))
    return units


class WriteUnits:
    """Hooks on a botocore DynamoDB client that add up write units by the rules above.

    ``reader`` is another client on the same table (its reads are not the product's).
    One thread per call, as botocore's events are: the items before a call are kept per thread.
    """

    def __init__(self, client: Any, reader: Any) -> None:
        self.reader = reader
        self.units = 0
        self.by_kind: dict[str, int] = {}  # item kind (its pk's prefix: CHECKOUT, STATS, ...) -> units
        self.single: list[tuple[float, int]] = []  # (DynamoDB Local's figure, ours) per single-item write
        self.spent_s = 0.0  # in its own reads: the caller takes it off the steps' durations
        self._indexes: dict[str, list[Index]] = {}
        self._pending = threading.local()
        client.meta.events.register("provide-client-params.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    @staticmethod
    def _targets(name: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        if name == "PutItem":
            return [(params["TableName"], {k: params["Item"][k] for k in KEY})]
        if name in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"])]
        if name == "TransactWriteItems":
            targets = []
            for entry in params["TransactItems"]:
                (_, op), = entry.items()
                key = op.get("Key") or {k: op["Item"][k] for k in KEY}
                targets.append((op["TableName"], key))
            return targets
        return []

    def _read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        started = time.perf_counter()
        item: dict[str, Any] | None = self.reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        self.spent_s += time.perf_counter() - started
        return item

    def _table_indexes(self, table: str) -> list[Index]:
        if table not in self._indexes:
            self._indexes[table] = indexes_of(self.reader.describe_table(TableName=table)["Table"])
        return self._indexes[table]

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        targets = self._targets(model.name, params)
        self._pending.call = (model.name, targets, [self._read(t, k) for t, k in targets]) if targets else None

    def _after(self, model: Any, parsed: dict[str, Any], http_response: Any = None, **_: Any) -> None:
        call = getattr(self._pending, "call", None)
        self._pending.call = None
        if call is None or call[0] != model.name or (http_response is not None and http_response.status_code != 200):
            return
        name, targets, befores = call
        factor = 2 if name == "TransactWriteItems" else 1
        units = 0
        for (t, k), b in zip(targets, befores, strict=True):
            item_units = factor * write_units(b, self._read(t, k), self._table_indexes(t))
            kind = k["pk"]["S"].split("#", 1)[0]
            self.by_kind[kind] = self.by_kind.get(kind, 0) + item_units
            units += item_units
        if name != "TransactWriteItems":
            reported = (parsed.get("ConsumedCapacity") or {}).get("CapacityUnits")
            if reported is not None:
                self.single.append((float(reported), units))
        self.units += units
