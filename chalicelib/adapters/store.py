"""DynamoDB: the one table and every read and write the product makes.

Single-table layout (``pk``/``sk`` strings; ``ttl`` in epoch seconds):

=========================  ===========  =============================================
item                        pk           sk
=========================  ===========  =============================================
merchant                    MERCHANT#id  MERCHANT
API key -> merchant         APIKEY#hash  APIKEY
checkout                    CHECKOUT#id  CHECKOUT   (gsi1keys: MERCHANT#id / CHECKOUT#us#id;
                                                     gsi2: EXPIRY/expires_at when open,
                                                     RECONCILE/next provider read when processing)
merchant event (delivery)   CHECKOUT#id  EVENT#key  (gsi2: due deliveries; its id names the
                                                     checkout, ``ids.event_id_for``; older events:
                                                     gsi1keys EVENT#evt_id)
idempotency record          IDEMPOTENCY#merchant#hash  IDEMPOTENCY
sandbox provider session    SANDBOX#id   SANDBOX
promotion code (+counters)  PROMO#merchant#CODE  PROMO  (gsi1keys: MERCHANT#id / PROMO#CODE)
per-customer code counter   PROMO#merchant#CODE  CUSTOMER#sha256(email)
dashboard counters          STATS#merchant#shard  DAY#yyyy-mm-dd (KST; HOUR#yyyy-mm-ddThh before)
checkout lookup (search)    FIND#merchant#sha256(value)  CHECKOUT#s#id
dashboard session / link    DSESSION#sha256 / DLOGIN#sha256  SESSION / LOGIN
=========================  ===========  =============================================

Both indexes hold keys only (``gsi1keys`` on the ``gsi1pk``/``gsi1sk`` attributes: the
merchant's listings and older events' lookup; ``gsi2``: the schedule): whoever reads one
reads the items again from the table, and no write to an item pays an index its copy.

Rules: every read that a decision rests on is a strongly consistent GetItem or
Query on the table itself (indexes only list things); every state change is one
conditional write, and a failed condition hands back the item as it is
(``ReturnValuesOnConditionCheckFailure``) instead of costing a second read. All
attribute names go through ``ExpressionAttributeNames``, so reserved words
(``status``, ``name``, ``ttl``) never bite.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import random
import re
import threading
import time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.config import settings
from chalicelib.domain.counters import Moves
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.model import (
    CANCELLED,
    COUNT_RESERVABLE,
    COUNT_WITHIN_LIMIT,
    OPEN,
    PAID_STATUSES,
    PROCESSING,
    SHIPPING_KEYS,
    Attempt,
    Checkout,
    CounterChange,
    LineItem,
    Payment,
    Transition,
    applied,
    reconcile_at,
)
from chalicelib.lifetime import container_lifetime

# The merchant index: gsi1pk/gsi1sk, keys only (listings read their page from the table).
# It replaces "gsi1", the same keys with whole items projected, which a table made
# before keeps until the operator deletes it (``create-table`` says so).
MERCHANT_INDEX = "gsi1keys"
# Read instead while a table made before has no readable gsi1keys (``create-table`` not run
# yet, or the index still being built): the same keys, so the same answers.
OLD_MERCHANT_INDEX = "gsi1"
# Index name -> (its keys' attributes, projection): what ``create_table`` makes.
INDEXES = {MERCHANT_INDEX: ("gsi1pk", "gsi1sk", "KEYS_ONLY"), "gsi2": ("gsi2pk", "gsi2sk", "KEYS_ONLY")}
log = logging.getLogger(__name__)

EXPIRY_INDEX = "EXPIRY"
# Checkouts whose refund lock is held, by when it was taken: reconciliation reads them back.
REFUND_INDEX = "REFUND_PENDING"
DELIVERY_INDEX = "DELIVERY"
# A condition value meaning "the attribute is not there yet" (``update``'s conditions).
ABSENT = ("attribute_not_exists",)
RECONCILE_INDEX = "RECONCILE"
# Sorts after every due time: a RECONCILE query up to it lists every processing checkout.
EVERYTHING_DUE_S = 10**12 - 1



class StaleItem(Exception):
    """A conditional write lost: ``current`` is the item as it is now (None if unknown).

    For a transaction, ``index`` says which of its items failed its condition.
    """

    def __init__(self, current: dict[str, Any] | None, index: int = 0) -> None:
        super().__init__("the item changed underneath the write")
        self.current = current
        self.index = index


class TransactionConflict(StaleItem):
    """A transaction was cancelled because another one held one of its items: nothing was written."""

    def __init__(self) -> None:
        super().__init__(None)


class LimitReached(Exception):
    """A promotion counter's condition failed: the code is used up (or off, or outside its window).

    ``change`` is the counter change that failed and ``current`` its item as it is (None if missing).
    """

    def __init__(self, change: CounterChange, current: dict[str, Any] | None) -> None:
        super().__init__(f"promotion code {change.code} cannot be claimed")
        self.change = change
        self.current = current


class AlreadyExists(Exception):
    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("the item already exists")
        self.current = current


def _drop_none(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def to_attr(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB attribute value (S, N, B, BOOL, NULL, M, L, SS).

    Our own few lines instead of boto3's TypeSerializer: importing anything from
    boto3 costs ~120 ms of cold start (it pulls in s3transfer). Floats are refused,
    as boto3 refuses them: no float ever reaches the table.
    """
    value = _drop_none(value)
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, dict):
        return {"M": {str(k): to_attr(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attr(v) for v in value]}
    if isinstance(value, (set, frozenset)) and value and all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    raise TypeError(f"cannot store a {type(value).__name__} in DynamoDB")


def from_attr(attr: dict[str, Any]) -> Any:
    """A DynamoDB attribute value back as Python (numbers as int: we store no fractions)."""
    (kind, value), = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else number
    if kind == "BOOL":
        return bool(value)
    if kind == "B":
        return bytes(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "SS":
        return frozenset(value)
    raise TypeError(f"unexpected DynamoDB type {kind}")


def to_item(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in _drop_none(obj).items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}


# --- checkouts <-> items -----------------------------------------------------------

_CONFLICT_RETRIES = 12


def promotion_pk(merchant_id: str, code: str) -> str:
    return f"PROMO#{merchant_id}#{code}"


def checkout_key(checkout_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CHECKOUT#{checkout_id}"}, "sk": {"S": "CHECKOUT"}}


def _listing_key(after: Checkout | None) -> dict[str, str] | None:
    """The merchant-index start key of the page after ``after``."""
    if after is None:
        return None
    record = checkout_to_record(after)
    return {k: record[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}


def checkout_to_record(checkout: Checkout) -> dict[str, Any]:
    record: dict[str, Any] = stored_form(_drop_none(checkout))
    record.update(
        pk=f"CHECKOUT#{checkout.id}",
        sk="CHECKOUT",
        type="checkout",
        gsi1pk=f"MERCHANT#{checkout.merchant_id}",
        gsi1sk=merchant_index_key(checkout),
    )
    if checkout.status not in PAID_STATUSES:
        # Unpaid checkouts are removed by TTL a while after they expire; paid ones are kept.
        record["ttl"] = checkout.expires_at_s + settings().unpaid_retention_s
    if checkout.status in (OPEN, PROCESSING):
        record.update(schedule_keys(checkout))
    return record


# --- the checkout's stored form ------------------------------------------------------
# Every write to a checkout pays per KB of the item, twice over (gsi1 holds a whole copy)
# and twice again in a transaction, so the item leaves out what reads back the same
# without it: its id and merchant (its ``pk`` and ``gsi1pk`` say them), a field at its
# default (False, 0, {}, []: the dataclass's own), an attempt's ``checks`` of 0, and what
# the shipping address copies from the shopper (its name, phone and address, marked
# ``"same_as_shopper": true``). Items written before hold all of it, which reads the
# same; the API's and the events' shapes are made from the Checkout, never from this.

def _defaults() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in dataclasses.fields(Checkout):
        if f.default is not dataclasses.MISSING and f.default is not None:
            found[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            found[f.name] = f.default_factory()
    return found


_DEFAULTS = _defaults()
SAME_AS_KEY = "same_as_shopper"
SAME_AS_SHOPPER = {SAME_AS_KEY: True}


def _is_default(name: str, value: Any) -> bool:
    default = _DEFAULTS.get(name, dataclasses.MISSING)
    return type(value) is type(default) and value == default


def _stored_shipping(shipping: dict[str, Any] | None, shopper: dict[str, Any] | None) -> dict[str, Any] | None:
    """The shipping address without what it copies from the shopper, marked ``same_as_shopper``.

    Only when that reads back exactly: every key it has is a shipping key, and it lacks none
    the shopper has (a lacking one would read back as the shopper's).
    """
    if not shipping or not shopper or not set(shipping) <= set(SHIPPING_KEYS):
        return shipping
    if any(k in shopper and k not in shipping for k in SHIPPING_KEYS):
        return shipping
    own = {k: v for k, v in shipping.items() if shopper.get(k) != v}
    return {**own, **SAME_AS_SHOPPER} if len(own) < len(shipping) else shipping


def _read_shipping(stored: dict[str, Any], shopper: dict[str, Any] | None) -> dict[str, Any]:
    if stored.get(SAME_AS_KEY) is not True:
        return stored
    copied = {k: v for k, v in (shopper or {}).items() if k in SHIPPING_KEYS}
    return {**copied, **{k: v for k, v in stored.items() if k != SAME_AS_KEY}}


def _stored_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attempt.items() if not (k == "checks" and v == 0)}


def stored_form(fields: dict[str, Any]) -> dict[str, Any]:
    """A whole checkout's fields (as ``_drop_none`` gives them) as the item stores them; ``id`` and
    ``merchant_id`` are in its keys already (``pk``, ``gsi1pk``)."""
    stored = {k: v for k, v in fields.items() if not _is_default(k, v) and k not in ("id", "merchant_id")}
    if stored.get("attempt"):
        stored["attempt"] = _stored_attempt(stored["attempt"])
    if stored.get("shipping"):
        stored["shipping"] = _stored_shipping(stored["shipping"], stored.get("shopper"))
    return stored


def _stored_changes(checkout: Checkout, plan: Transition, set_fields: dict[str, Any]) -> dict[str, Any]:
    """A transition's SET fields in the stored form: a default becomes a REMOVE (None), and a
    new shopper or shipping address writes the shipping address again against the new shopper."""
    stored: dict[str, Any] = {}
    for name, value in set_fields.items():
        plain = _drop_none(value)
        if _is_default(name, plain):
            stored[name] = None
        elif name == "attempt" and isinstance(plain, dict):
            stored[name] = _stored_attempt(plain)
        else:
            stored[name] = value
    if "shopper" in set_fields or "shipping" in set_fields:
        after = applied(checkout, plan)
        stored["shipping"] = _stored_shipping(_drop_none(after.shipping), _drop_none(after.shopper))
    return stored


def merchant_index_key(checkout: Checkout) -> str:
    """A checkout's gsi1 sort key: creation order, to the microsecond.

    Checkouts from before microseconds were recorded keep their 12-digit seconds;
    those keys start with "00" and so sort before every 16-digit one, as they
    were created before it.
    """
    if checkout.created_at_us is not None:
        return f"CHECKOUT#{checkout.created_at_us:016d}#{checkout.id}"
    return f"CHECKOUT#{checkout.created_at_s:012d}#{checkout.id}"


def schedule_keys(checkout: Checkout) -> dict[str, str]:
    """Where a payable checkout sits on gsi2: the expiry sweep's schedule while open,
    reconciliation's (the next provider read) while an attempt is processing."""
    attempt = checkout.attempt
    if checkout.status == PROCESSING and attempt is not None:
        due = reconcile_at(attempt.created_at_s, checkout.expires_at_s, attempt.checks)
        return {"gsi2pk": RECONCILE_INDEX, "gsi2sk": f"{due:012d}#{checkout.id}"}
    return {"gsi2pk": EXPIRY_INDEX, "gsi2sk": f"{checkout.expires_at_s:012d}#{checkout.id}"}


def checkout_from_record(record: dict[str, Any]) -> Checkout:
    fields = {f.name for f in dataclasses.fields(Checkout)}
    data = {k: v for k, v in record.items() if k in fields}
    data.setdefault("id", str(record["pk"]).removeprefix("CHECKOUT#"))
    data.setdefault("merchant_id", str(record["gsi1pk"]).removeprefix("MERCHANT#"))
    data["line_items"] = [LineItem(**item) for item in data["line_items"]]
    if data.get("shipping"):
        data["shipping"] = _read_shipping(data["shipping"], data.get("shopper"))
    if data.get("attempt"):
        data["attempt"] = Attempt(**data["attempt"])
    if data.get("payment"):
        data["payment"] = Payment(**data["payment"])
    return Checkout(**data)


# The attribute of a checkout item holding the digests of the provider notifications
# applied to it (a string set), so a replayed one is recognised (``add_notification``).
NOTIFICATIONS = "notifications"


class RecentCheckouts:
    """The checkouts this container last read or wrote, for a while (``Store.recent_checkout``),
    with the notification digests known to be recorded on each.

    Copies in, copies out: a caller changing its checkout changes nothing here. The digests
    only ever grow on the item, so those kept here are a subset of the item's, however old.
    """

    TTL_S = 900.0
    SIZE = 512

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Checkout, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def put(self, checkout: Checkout, notifications: frozenset[str] = frozenset()) -> None:
        kept = copy.deepcopy(checkout)
        with self._lock:
            before = self._items.pop(checkout.id, None)
            known = notifications | (before[2] if before is not None else frozenset())
            self._items[checkout.id] = (time.monotonic(), kept, known)
            while len(self._items) > self.SIZE:
                self._items.pop(next(iter(self._items)))

    def put_record(self, record: dict[str, Any] | None) -> None:
        if record is not None and record.get("sk") == "CHECKOUT" and record.get("type") == "checkout":
            self.put(checkout_from_record(record), frozenset(record.get(NOTIFICATIONS) or ()))

    def add_notification(self, checkout_id: str, digest: str) -> None:
        with self._lock:
            hit = self._items.get(checkout_id)
            if hit is not None:
                self._items[checkout_id] = (hit[0], hit[1], hit[2] | {digest})

    def get(self, checkout_id: str) -> tuple[Checkout, frozenset[str]] | None:
        with self._lock:
            hit = self._items.get(checkout_id)
        if hit is None or time.monotonic() - hit[0] > self.TTL_S:
            return None
        return copy.deepcopy(hit[1]), hit[2]


class Store:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name
        self.recent = RecentCheckouts()

    # --- generic helpers --------------------------------------------------------

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=consistent,
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def put_new(self, record: dict[str, Any]) -> None:
        """Put an item that must not exist yet; AlreadyExists carries the one that does."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as e:
            if _code(e) == "ConditionalCheckFailedException":
                item = e.response.get("Item")
                raise AlreadyExists(from_item(item) if item else None) from e
            raise

    def remember(self, record: dict[str, Any]) -> bool:
        """``put_new`` for adapters (ProviderMemory): False instead of AlreadyExists."""
        try:
            self.put_new(record)
        except AlreadyExists:
            return False
        return True

    def update(
        self,
        pk: str,
        sk: str,
        set_fields: dict[str, Any] | None = None,
        remove_fields: tuple[str, ...] = (),
        conditions: dict[str, Any] | None = None,
        add_fields: dict[str, Any] | None = None,
        lacking: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One conditional UpdateItem; conditions are attribute = value clauses (AND).

        A condition value of ``None`` means "attribute exists", ``ABSENT`` that it
        does not; ``lacking`` names sets that must not hold a value. Returns the new
        item; raises StaleItem with the current one when a condition fails.
        """
        request = _update_request(set_fields or {}, remove_fields, conditions or {}, add_fields or {}, lacking=lacking)
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk}, "sk": {"S": sk}},
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **request,
            )
        except ClientError as e:
            if _code(e) == "ConditionalCheckFailedException":
                item = e.response.get("Item")
                current = from_item(item) if item else None
                self.recent.put_record(current)
                raise StaleItem(current) from e
            raise
        record = from_item(response["Attributes"])
        self.recent.put_record(record)
        return record

    def update_with(
        self,
        pk: str,
        sk: str,
        set_fields: dict[str, Any],
        conditions: dict[str, Any],
        extra: list[dict[str, Any]],
        append_fields: dict[str, list[Any]] | None = None,
    ) -> None:
        """``update`` (plus ``append_fields``: values appended to list attributes), written in
        one transaction with ``extra`` items (counters): both or neither. StaleItem as ``update``.
        """
        request = _update_request(set_fields, (), conditions, {}, append_fields or {})
        item = {"Update": {"TableName": self.table, "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                           "ReturnValuesOnConditionCheckFailure": "ALL_OLD", **request}}
        self.transact_retrying([item, *extra])

    def transact_retrying(self, items: list[dict[str, Any]]) -> None:
        """``transact``, retried with jitter while another transaction holds one of the items
        (a hot counter shard); a lost condition is not retried."""
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self.transact(items)
                return
            except TransactionConflict:
                if attempt == _CONFLICT_RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.03 * 2 ** min(attempt, 4)))  # noqa: S311 - jitter

    def counter_items(self, merchant_id: str, moves: Moves) -> list[dict[str, Any]]:
        """The dashboard counters' Updates for ``moves`` (unconditional ADDs)."""
        items = []
        for sk, adds in sorted(moves.adds.items()):
            names = {f"#c{i}": attr for i, attr in enumerate(adds)}
            values = {f":c{i}": {"N": str(delta)} for i, delta in enumerate(adds.values())}
            expression = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(adds)))
            items.append({"Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": f"STATS#{merchant_id}#{moves.shard}"}, "sk": {"S": sk}},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }})
        return items

    def put_item(self, record: dict[str, Any]) -> dict[str, Any]:
        """A Put for a transaction (overwrites: lookups and logs, never state)."""
        return {"Put": {"TableName": self.table, "Item": to_item(record)}}

    def range_query(
        self, pk: str, sk_from: str, sk_to: str, limit: int | None = None, newest_first: bool = False, consistent: bool = False
    ) -> list[dict[str, Any]]:
        """Items of one partition with ``sk_from <= sk <= sk_to`` (one page of at most ``limit``)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": sk_from}, ":hi": {"S": sk_to}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": consistent,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        response = self.client.query(**kwargs)
        return [from_item(i) for i in response.get("Items", [])]

    def query(self, pk: str, sk_prefix: str, consistent: bool = True) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": sk_prefix}},
            "ConsistentRead": consistent,
        }
        while True:
            response = self.client.query(**kwargs)
            items.extend(from_item(i) for i in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def transact(self, items: list[dict[str, Any]]) -> None:
        """TransactWriteItems; a lost condition raises StaleItem with the first item's current state."""
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as e:
            if _code(e) != "TransactionCanceledException":
                raise
            reasons = e.response.get("CancellationReasons") or []
            for index, reason in enumerate(reasons):
                if reason.get("Code") == "ConditionalCheckFailed":
                    item = reason.get("Item")
                    raise StaleItem(from_item(item) if item else None, index) from e
            # TransactionConflict: another writer is on the same item right now.
            raise TransactionConflict() from e

    # --- checkouts --------------------------------------------------------------

    def get_checkout(self, checkout_id: str) -> Checkout | None:
        return self.get_checkout_and_notifications(checkout_id)[0]

    def get_checkout_and_notifications(self, checkout_id: str) -> tuple[Checkout | None, frozenset[str]]:
        """A strongly consistent read of a checkout, with the digests of the notifications applied to it."""
        record = self.get(f"CHECKOUT#{checkout_id}", "CHECKOUT")
        if record is None:
            return None, frozenset()
        checkout = checkout_from_record(record)
        notifications = frozenset(record.get(NOTIFICATIONS) or ())
        self.recent.put(checkout, notifications)
        return checkout, notifications

    def recent_checkout(self, checkout_id: str) -> Checkout | None:
        """The checkout as this container last read or wrote it (at most 15 minutes ago), or None.

        Not a read: another container may have changed it since. Only for a step whose
        write is conditional on the version it plans from (a failed condition hands back
        the item as it is), or for a fact that cannot change back (a paid checkout stays paid).
        """
        hit = self.recent.get(checkout_id)
        return hit[0] if hit is not None else None

    def recent_checkout_and_notifications(self, checkout_id: str) -> tuple[Checkout, frozenset[str]] | None:
        """``recent_checkout`` with the digests known to be recorded on it (a subset of the item's)."""
        return self.recent.get(checkout_id)

    def add_notification(self, checkout_id: str, digest: str) -> bool:
        """Record a notification's digest on its checkout; False when it was recorded already."""
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key=checkout_key(checkout_id),
                UpdateExpression="ADD #n :d",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#n": NOTIFICATIONS},
                ExpressionAttributeValues={":d": {"SS": [digest]}},
                ReturnValues="UPDATED_OLD",
            )
        except ClientError as e:
            if _code(e) == "ConditionalCheckFailedException":
                return True  # no such checkout: nothing to remember it on
            raise
        self.recent.add_notification(checkout_id, digest)
        before = response.get("Attributes", {}).get(NOTIFICATIONS, {}).get("SS", [])
        return digest not in before

    def create_checkout(
        self, checkout: Checkout, idempotency: dict[str, Any] | None = None, extra: list[dict[str, Any]] | None = None
    ) -> None:
        """Write a new checkout, with its idempotency record in the same transaction.

        Raises AlreadyExists carrying the live idempotency record when the key was
        used before (replay or conflict is the caller's decision).
        """
        if idempotency is None and not extra:
            self.put_new(checkout_to_record(checkout))
            return
        put_checkout = {
            "Put": {
                "TableName": self.table,
                "Item": to_item(checkout_to_record(checkout)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        items = [put_checkout, *(extra or [])]
        if idempotency is not None:
            items.insert(0, {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(idempotency),
                    # A record past its 24 h window may linger until TTL removes it.
                    "ConditionExpression": "attribute_not_exists(pk) OR #exp < :now",
                    "ExpressionAttributeNames": {"#exp": "expires_at_s"},
                    "ExpressionAttributeValues": {":now": {"N": str(idempotency["created_at_s"])}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            })
        for attempt in range(6):
            try:
                self.transact(items)
                return
            except TransactionConflict:
                time.sleep(0.05 * (attempt + 1))
            except StaleItem as e:
                if e.current is not None or idempotency is None:
                    raise AlreadyExists(e.current) from e
                time.sleep(0.05 * (attempt + 1))
        existing = self.get(idempotency["pk"], idempotency["sk"]) if idempotency is not None else None
        raise AlreadyExists(existing)

    def apply(
        self, checkout: Checkout, plan: Transition, event: dict[str, Any] | None = None,
        extra: list[dict[str, Any]] | None = None, notification: str | None = None, first_time: bool = False,
    ) -> Checkout:
        """Apply a planned transition as one conditional write (with its event, its
        promotion-code counters and ``extra`` unconditional items such as the dashboard's
        counters, atomically: one TransactWriteItems).

        ``notification``, the digest of the provider notification that caused the change,
        is added to the checkout's ``notifications`` in the same write; with ``first_time``
        the write is also conditional on that digest not being recorded yet (StaleItem
        otherwise: the item handed back shows it).

        Raises StaleItem when the checkout is no longer at (from_status, from_version),
        LimitReached when a promotion counter's condition failed (nothing was written).
        """
        set_fields = _stored_changes(checkout, plan, plan.set_fields)
        set_fields["status"] = plan.to_status
        set_fields["version"] = plan.from_version + 1
        remove = tuple(plan.remove_fields)
        if plan.to_status in PAID_STATUSES:
            remove += ("ttl",)
        pending = plan.set_fields.get("refund_pending")
        if pending:
            set_fields["gsi2pk"] = REFUND_INDEX
            set_fields["gsi2sk"] = f"{int(pending['started_at_s']):012d}#{checkout.id}"
        elif plan.to_status not in (OPEN, PROCESSING) and not (plan.to_status == CANCELLED and plan.set_fields.get("reservation")):
            # (A cancelled checkout still holding a promotion use stays on the expiry schedule,
            # which gives the use back at its expiry.)
            remove += ("gsi2pk", "gsi2sk")
        elif plan.to_status != plan.from_status:
            # open <-> processing moves the checkout between the expiry and reconciliation schedules.
            set_fields.update(schedule_keys(applied(checkout, plan)))
        conditions = {"status": plan.from_status, "version": plan.from_version}
        adds: dict[str, Any] = {NOTIFICATIONS: frozenset({notification})} if notification else {}
        lacking = {NOTIFICATIONS: notification} if notification and first_time else {}
        request = _update_request(set_fields, remove, conditions, adds, lacking=lacking)
        if event is None and not plan.counters and not extra:
            record = self.update(f"CHECKOUT#{checkout.id}", "CHECKOUT", set_fields, remove, conditions, adds, lacking)
            return checkout_from_record(record)
        counters = [self._counter_update(checkout.merchant_id, change) for change in plan.counters]
        first_counter = 1 if event is None else 2
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self._transact_transition(checkout, request, event, counters + list(extra or []))
                break
            except TransactionConflict as e:
                # Many shoppers on one code: its item is in another transaction right now.
                # (Without counters the caller re-reads the checkout and plans again.)
                if not (counters or extra) or attempt == _CONFLICT_RETRIES - 1:
                    raise StaleItem(None) from e
                time.sleep(random.uniform(0.01, 0.03 * 2 ** min(attempt, 4)))  # noqa: S311 - jitter
            except StaleItem as e:
                if e.index >= first_counter:
                    raise LimitReached(plan.counters[e.index - first_counter], e.current) from e
                # Only the checkout's own state is useful to the caller; an event that
                # already exists means the change it belongs to was made already.
                if e.index == 0:
                    self.recent.put_record(e.current)
                raise StaleItem(e.current if e.index == 0 else None) from e
        # A transaction returns no attributes: the new state is the plan applied locally.
        result = applied(checkout, plan)
        self.recent.put(result, frozenset({notification}) if notification else frozenset())
        return result

    def _transact_transition(
        self, checkout: Checkout, request: dict[str, Any], event: dict[str, Any] | None, counters: list[dict[str, Any]]
    ) -> None:
        items: list[dict[str, Any]] = [{
            "Update": {
                "TableName": self.table,
                "Key": checkout_key(checkout.id),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                **request,
            }
        }]
        if event is not None:
            items.append({
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(event),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            })
        self.transact(items + counters)

    def _counter_update(self, merchant_id: str, change: CounterChange) -> dict[str, Any]:
        """One promotion counter's Update, under the named clauses its condition asks for."""
        adds = [f"#{attr} :{attr}" for attr, delta in (("claimed", change.claimed), ("redeemed", change.redeemed)) if delta]
        clauses: dict[str, str] = {}
        if change.condition in (COUNT_WITHIN_LIMIT, COUNT_RESERVABLE):
            if change.customer is None:
                clauses["code_exists"] = "attribute_exists(#claimed)"
                clauses["within_limit"] = "(attribute_not_exists(#usage_limit) OR #claimed < #usage_limit)"
            else:
                clauses["customer_within_limit"] = "(attribute_not_exists(#claimed) OR #claimed < :customer_limit)"
        if change.condition == COUNT_RESERVABLE:
            clauses["active"] = "#active = :true"
            clauses["started"] = "(attribute_not_exists(#valid_from_s) OR #valid_from_s <= :now)"
            clauses["not_ended"] = "(attribute_not_exists(#valid_until_s) OR #valid_until_s > :now)"
        expressions = " ".join(adds + list(clauses.values()))
        names = {f"#{n}": n for n in ("claimed", "redeemed", "usage_limit", "active", "valid_from_s", "valid_until_s")}
        values = {":claimed": {"N": str(change.claimed)}, ":redeemed": {"N": str(change.redeemed)},
                  ":customer_limit": {"N": str(change.customer_limit or 0)}, ":true": {"BOOL": True},
                  ":now": {"N": str(change.at_s)}}
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": {"S": promotion_pk(merchant_id, change.code)},
                    "sk": {"S": "PROMO" if change.customer is None else f"CUSTOMER#{change.customer}"}},
            "UpdateExpression": "ADD " + ", ".join(adds),
            "ExpressionAttributeNames": {k: v for k, v in names.items() if re.search(rf"{k}\b", expressions)},
            "ExpressionAttributeValues": {k: v for k, v in values.items() if re.search(rf"{k}\b", expressions)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if clauses:
            update["ConditionExpression"] = " AND ".join(clauses.values())
        return {"Update": update}

    def merchant_index(
        self, merchant_id: str, prefix: str, limit: int, after_key: dict[str, str] | None = None, newest_first: bool = False
    ) -> tuple[list[dict[str, Any]], bool]:
        """A merchant's items of one kind (merchant-index sort key ``prefix``) and whether more follow.

        ``after_key`` is the previous page's last item's pk, sk, gsi1pk and gsi1sk.
        """
        return self._merchant_listing(
            "#g = :g AND begins_with(#s, :prefix)",
            {":g": {"S": f"MERCHANT#{merchant_id}"}, ":prefix": {"S": prefix}}, limit, after_key, newest_first)

    def list_checkouts(self, merchant_id: str, limit: int, after: Checkout | None) -> tuple[list[Checkout], bool]:
        """Newest first, from the merchant index."""
        records, more = self.merchant_index(merchant_id, "CHECKOUT#", limit, _listing_key(after), newest_first=True)
        return [checkout_from_record(r) for r in records], more

    def merchant_checkouts_between(
        self, merchant_id: str, sk_from: str, sk_to: str, limit: int, after: Checkout | None
    ) -> tuple[list[Checkout], bool]:
        """A merchant's checkouts whose merchant-index key is in [sk_from, sk_to], newest first."""
        records, more = self._merchant_listing(
            "#g = :g AND #s BETWEEN :lo AND :hi",
            {":g": {"S": f"MERCHANT#{merchant_id}"}, ":lo": {"S": sk_from}, ":hi": {"S": sk_to}},
            limit, _listing_key(after), newest_first=True)
        return [checkout_from_record(r) for r in records], more

    def _merchant_listing(
        self, condition: str, values: dict[str, Any], limit: int, after_key: dict[str, str] | None, newest_first: bool
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the merchant index (keys only), its items read from the table itself.

        The index holds keys only, so that the writes to a checkout (five in a paid one's
        life) pay no copy of the item: a listing reads its page again instead, strongly
        consistent, in the index's order. An item deleted in between is left out.
        """
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": MERCHANT_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": {"#g": "gsi1pk", "#s": "gsi1sk"},
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if after_key is not None:
            kwargs["ExclusiveStartKey"] = {k: {"S": v} for k, v in after_key.items()}
        response = self._query_merchant_index(kwargs)
        keys = [(i["pk"]["S"], i["sk"]["S"]) for i in response.get("Items", [])]
        return self.read_many(keys), "LastEvaluatedKey" in response

    def _query_merchant_index(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """A Query of the merchant index; on a table whose gsi1keys is missing or still being
        built (this release deployed before ``create-table`` ran), of the older gsi1."""
        try:
            response: dict[str, Any] = self.client.query(**kwargs)
        except ClientError as e:
            if _code(e) != "ValidationException" or MERCHANT_INDEX not in str(e):
                raise
            log.warning("table %s has no readable %s yet (run create-table): listing from %s",
                        self.table, MERCHANT_INDEX, OLD_MERCHANT_INDEX)
            response = self.client.query(**{**kwargs, "IndexName": OLD_MERCHANT_INDEX})
        return response

    def read_many(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Items by key, strongly consistent, in the order asked (missing ones left out).

        BatchGetItem takes 100 keys a call and may hand some back unprocessed (throttling,
        the 16 MB cap): those are asked again, with a short backoff, until none are left.
        """
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {self.table: {
                "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in dict.fromkeys(keys[start:start + 100])],
                "ConsistentRead": True}}
            for attempt in range(10):
                response = self.client.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self.table, []):
                    record = from_item(item)
                    found[(record["pk"], record["sk"])] = record
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2 ** attempt, 1.0) * random.random())
            else:
                raise ServiceUnavailable("DynamoDB kept some of a listing's items unprocessed; try again")
        return [found[key] for key in keys if key in found]

    def due(self, index_pk: str, now_s: int, limit: int) -> list[dict[str, Any]]:
        """Keys of items on the gsi2 schedule ``index_pk`` that are due by now, oldest first.

        The index is eventually consistent: callers re-read each item from the table
        before acting on it.
        """
        response = self.client.query(
            TableName=self.table,
            IndexName="gsi2",
            KeyConditionExpression="#p = :p AND #s <= :upto",
            ExpressionAttributeNames={"#p": "gsi2pk", "#s": "gsi2sk"},
            ExpressionAttributeValues={":p": {"S": index_pk}, ":upto": {"S": f"{now_s:012d}#~"}},
            ProjectionExpression="pk, sk",
            Limit=limit,
        )
        return [from_item(i) for i in response.get("Items", [])]

    def reschedule_check(self, checkout: Checkout, attempt_id: str, checks: int) -> bool:
        """Record one more provider read of a processing attempt and move it to its next due time.

        Conditioned on the checkout still processing that attempt, and leaves the
        version alone (no state changed): a transition meanwhile wins, and this is a no-op.
        """
        if checkout.attempt is None:
            return False
        due = reconcile_at(checkout.attempt.created_at_s, checkout.expires_at_s, checks)
        try:
            self.update(f"CHECKOUT#{checkout.id}", "CHECKOUT",
                        {"attempt.checks": checks, "gsi2pk": RECONCILE_INDEX, "gsi2sk": f"{due:012d}#{checkout.id}"},
                        conditions={"status": PROCESSING, "attempt.id": attempt_id})
        except StaleItem:
            return False
        return True

    def find_by_gsi1(self, gsi1pk: str) -> dict[str, Any] | None:
        """Locate an item by its gsi1 key (the merchant index), then read it from the table itself."""
        response = self._query_merchant_index({
            "TableName": self.table,
            "IndexName": MERCHANT_INDEX,
            "KeyConditionExpression": "#g = :g",
            "ExpressionAttributeNames": {"#g": "gsi1pk"},
            "ExpressionAttributeValues": {":g": {"S": gsi1pk}},
            "ProjectionExpression": "pk, sk",
            "Limit": 1,
        })
        items = response.get("Items", [])
        if not items:
            return None
        return self.get(items[0]["pk"]["S"], items[0]["sk"]["S"])

    # --- table ------------------------------------------------------------------

    def create_table(self, point_in_time_recovery: bool, wait_s: int = 900) -> bool:
        """Create the table, its indexes and TTL if missing. Returns True if it was created.

        On a table made before, adds the indexes it lacks (one at a time, as DynamoDB
        allows, waiting until each is built) and leaves the rest alone. An index still
        being built after ``wait_s`` (a big table's can take long) is a clear error:
        running it again waits for it again, and adds nothing twice.
        """
        created = False
        try:
            self.client.create_table(
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": name, "AttributeType": "S"}
                    for name in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                # Keys only, both: the merchant index's listings and the gsi2 schedule's
                # readers read each item again from the table, so no write to a checkout
                # or an event pays an index a copy of the item.
                GlobalSecondaryIndexes=[_index(name) for name in INDEXES],
            )
            created = True
        except ClientError as e:
            if _code(e) != "ResourceInUseException":
                raise
        self._wait_until_active(wait_s)
        if not created:
            for name in self.missing_indexes():
                self.client.update_table(
                    TableName=self.table,
                    AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in INDEXES[name][:2]],
                    GlobalSecondaryIndexUpdates=[{"Create": _index(name)}],
                )
                self._wait_until_active(wait_s)
        ttl = self.client.describe_time_to_live(TableName=self.table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            self.client.update_time_to_live(
                TableName=self.table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
            )
        if point_in_time_recovery:
            self.client.update_continuous_backups(
                TableName=self.table,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        return created

    def _indexes(self) -> dict[str, str]:
        table = self.client.describe_table(TableName=self.table)["Table"]
        return {i["IndexName"]: i.get("IndexStatus", "ACTIVE") for i in table.get("GlobalSecondaryIndexes", [])}

    def missing_indexes(self) -> list[str]:
        return [name for name in INDEXES if name not in self._indexes()]

    def unused_indexes(self) -> list[str]:
        """Indexes of the table this version no longer reads (an older merchant index)."""
        return [name for name in self._indexes() if name not in INDEXES]

    def _wait_until_active(self, wait_s: int) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            table = self.client.describe_table(TableName=self.table)["Table"]
            building = [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])
                        if i.get("IndexStatus", "ACTIVE") != "ACTIVE"]
            if table["TableStatus"] == "ACTIVE" and not building:
                return
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"table {self.table} is not ready after {wait_s} s ({', '.join(building) or 'the table'} still being "
                    "built); run create-table again later to wait for it")
            time.sleep(1)

    def ping(self) -> None:
        self.client.get_item(
            TableName=self.table, Key={"pk": {"S": "HEALTH"}, "sk": {"S": "HEALTH"}}
        )


def _index(name: str) -> dict[str, Any]:
    hash_key, range_key, projection = INDEXES[name]
    return {"IndexName": name,
            "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": range_key, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": projection}}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _update_request(
    set_fields: dict[str, Any],
    remove_fields: tuple[str, ...],
    conditions: dict[str, Any],
    add_fields: dict[str, Any],
    append_fields: dict[str, list[Any]] | None = None,
    lacking: dict[str, str] | None = None,
) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}

    def name(attr: str) -> str:
        # "attempt.id" is a path into a map: alias each segment.
        aliases = []
        for segment in attr.split("."):
            alias = f"#n{len(names)}"
            names[alias] = segment
            aliases.append(alias)
        return ".".join(aliases)

    def value(v: Any) -> str:
        alias = f":v{len(values)}"
        values[alias] = to_attr(v)
        return alias

    sets = [f"{name(k)} = {value(v)}" for k, v in set_fields.items() if v is not None]
    for k, v in (append_fields or {}).items():
        alias = name(k)
        sets.append(f"{alias} = list_append(if_not_exists({alias}, {value([])}), {value(v)})")
    removes = [name(k) for k, v in set_fields.items() if v is None] + [name(k) for k in remove_fields]
    adds = [f"{name(k)} {value(v)}" for k, v in add_fields.items()]
    expression = " ".join(
        part
        for part in (
            "SET " + ", ".join(sets) if sets else "",
            "REMOVE " + ", ".join(removes) if removes else "",
            "ADD " + ", ".join(adds) if adds else "",
        )
        if part
    )
    clauses = [
        f"attribute_exists({name(k)})" if v is None
        else f"attribute_not_exists({name(k)})" if v is ABSENT
        else f"{name(k)} = {value(v)}"
        for k, v in conditions.items()
    ] + [f"NOT contains({name(k)}, {value(v)})" for k, v in (lacking or {}).items()]
    request: dict[str, Any] = {
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
    }
    if values:
        request["ExpressionAttributeValues"] = values
    if clauses:
        request["ConditionExpression"] = " AND ".join(clauses)
    return request


@lru_cache(maxsize=1)
def dynamodb_client() -> Any:
    """One client per container. The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB (boto3's own).

    Made with botocore directly: the same client boto3 would give, without importing boto3.
    """
    import botocore.session

    with container_lifetime():
        return botocore.session.get_session().create_client(
            "dynamodb",
            config=Config(
                connect_timeout=2,
                read_timeout=5,
                retries={"mode": "standard", "max_attempts": 4},
                max_pool_connections=32,
            ),
        )


_store: Store | None = None


def get_store() -> Store:
    """The shared Store, built once per Lambda container; tests swap it with set_store."""
    global _store
    if _store is None:
        _store = Store(dynamodb_client(), settings().table_name)
    return _store


def set_store(store: Store | None) -> None:
    global _store
    _store = store
