"""Faults: DynamoDB throttling, 5xx and transaction conflicts on chosen calls (through a
fault-injecting proxy in front of DynamoDB Local), providers failing on the read and on
the create, and a crash between the provider's create and our write.

Whatever fails, the answer is the JSON error shape (503) or a friendly page, never a
trace; nothing is half written (a state change and its event land together or not at
all); and the same request, repeated, succeeds.

The store's client here lets botocore retry once (``total_max_attempts=2``), so a fault
queued twice reaches the app; production's client retries four times (``max_attempts=4``).
"""
from __future__ import annotations

import json
import uuid
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.adapters import store
from chalicelib.adapters.store import Store
from chalicelib.domain import clock
from chalicelib.usecases import events, payments
from tests.conftest import checkout_body, create_merchant
from tests.security.faultproxy import FaultProxy
from tests.security.rigs import PROVIDERS, Web

DB_FAULTS = ("throughput", "throttling", "500")


@pytest.fixture
def proxy(ddb_local: str) -> Iterator[FaultProxy]:
    p = FaultProxy(ddb_local)
    yield p
    p.close()


@pytest.fixture
def faulty_db(proxy: FaultProxy) -> Iterator[Store]:
    client = boto3.client("dynamodb", endpoint_url=proxy.url,
                          config=Config(retries={"mode": "standard", "total_max_attempts": 2}, max_pool_connections=16))
    s = Store(client, f"checkout-faults-{uuid.uuid4().hex[:12]}")
    s.create_table(point_in_time_recovery=False)
    store.set_store(s)
    yield s
    store.set_store(None)
    s.client.delete_table(TableName=s.table)


def items(db: Store, prefix: str) -> list[dict[str, Any]]:
    found = db.client.scan(TableName=db.table)["Items"]
    return [i for i in found if i["pk"]["S"].startswith(prefix)]


def assert_unavailable_json(answer: Any) -> None:
    assert answer.status == 503, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["cache-control"] == "no-store"
    assert answer.json() == {"error": {"code": "service_unavailable", "message": answer.json()["error"]["message"]}}
    assert "Traceback" not in answer.text and "botocore" not in answer.text and "Exception" not in answer.text


def assert_friendly_page(answer: Any, status: int) -> None:
    assert answer.status == status, answer.text[:300]
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "content-security-policy" in answer.headers and answer.headers["x-frame-options"] == "DENY"
    assert "Traceback" not in answer.text and "botocore" not in answer.text and "Exception" not in answer.text


# --- DynamoDB says "not now" -----------------------------------------------------------

@pytest.mark.parametrize("fault", DB_FAULTS)
@pytest.mark.parametrize("idempotency_key", [None, "order-7"])
def test_a_create_the_table_refuses_is_a_503_that_writes_nothing_and_a_retry_succeeds(
        faulty_db, proxy, web, fault, idempotency_key, figures):
    merchant = create_merchant(faulty_db)
    headers = {**merchant.headers, **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}
    body = json.dumps(checkout_body())
    figures.mark()
    # One transaction either way: the checkout with its search lookups (and its idempotency record).
    proxy.inject("TransactWriteItems", fault, times=2, contains="CHECKOUT#")
    failed = web.post("/api/checkouts", body, headers)
    assert_unavailable_json(failed)
    assert proxy.failed() == 2
    assert items(faulty_db, "CHECKOUT#") == [] and items(faulty_db, "IDEMPOTENCY#") == []

    retried = web.post("/api/checkouts", body, headers)
    assert retried.status == 201, retried.text
    if idempotency_key:
        again = web.post("/api/checkouts", body, headers)
        assert again.status == 201 and again.json()["id"] == retried.json()["id"]
    assert len(items(faulty_db, "CHECKOUT#")) == 1
    figures.add("faults", f"DynamoDB {fault} x2 on create{' (Idempotency-Key)' if idempotency_key else ''}",
                expect="503 JSON, nothing written, retry 201")


def test_one_transient_fault_is_absorbed_by_botocores_own_retry(faulty_db, proxy, web):
    merchant = create_merchant(faulty_db)
    proxy.inject("TransactWriteItems", "throughput", times=1, contains="CHECKOUT#")
    assert web.post("/api/checkouts", json.dumps(checkout_body()), merchant.headers).status == 201
    assert proxy.failed() == 1


@pytest.mark.parametrize("fault", DB_FAULTS)
def test_a_throttled_lock_at_submit_is_a_friendly_page_and_the_checkout_stays_open(
        faulty_db, proxy, web, make_rig, fault, figures):
    rig = make_rig("sandbox", faulty_db)
    checkout = rig.create_checkout(web)
    before = faulty_db.get_checkout(checkout["id"])
    # The lock (open -> processing) is the write that carries the shopper's details.
    figures.mark()
    proxy.inject("UpdateItem", fault, times=2, contains="shopper")
    proxy.inject("TransactWriteItems", fault, times=2, contains="shopper")
    failed = rig.submit(web, checkout["id"])
    assert_friendly_page(failed, 503)
    after = faulty_db.get_checkout(checkout["id"])
    assert (after.status, after.version, after.attempt) == ("open", before.version, None)
    assert rig.sessions_created() == 0, "no provider session without the lock"

    retried = rig.submit(web, checkout["id"])
    assert retried.status == 303 and rig.sessions_created() == 1
    figures.add("faults", f"DynamoDB {fault} x2 on the submit lock", expect="503 page, still open, no session; retry 303")


@pytest.mark.parametrize("fault", DB_FAULTS)
def test_a_throttled_page_read_is_a_friendly_page(faulty_db, proxy, web, fault):
    merchant = create_merchant(faulty_db)
    created = web.post("/api/checkouts", json.dumps(checkout_body()), merchant.headers).json()
    proxy.inject("GetItem", fault, times=2, contains=created["id"])
    assert_friendly_page(web.get(f"/c/{created['id']}"), 503)
    assert web.get(f"/c/{created['id']}").status == 200


@pytest.mark.parametrize("fault", DB_FAULTS)
def test_a_first_view_the_table_refuses_still_shows_the_page_and_the_next_view_counts_it(faulty_db, proxy, web, fault, figures):
    from chalicelib.usecases import dashboard_stats

    merchant = create_merchant(faulty_db)
    created = web.post("/api/checkouts", json.dumps(checkout_body()), merchant.headers).json()
    figures.mark()
    proxy.inject("TransactWriteItems", fault, times=2, contains="opened_at_s")
    assert web.get(f"/c/{created['id']}").status == 200
    assert proxy.failed() == 2 and faulty_db.get_checkout(created["id"]).opened_at_s is None
    assert dashboard_stats.overview(faulty_db, merchant.id, "today").funnel["opened"] == 0
    assert web.get(f"/c/{created['id']}").status == 200
    assert web.get(f"/c/{created['id']}").status == 200
    assert faulty_db.get_checkout(created["id"]).opened_at_s is not None
    assert dashboard_stats.overview(faulty_db, merchant.id, "today").funnel["opened"] == 1
    figures.add("faults", f"DynamoDB {fault} x2 on a checkout's first view (its dashboard count)",
                expect="page 200, mark and count both unwritten; next view counts once")


def paid_sandbox_checkout(db: Store, web: Web, make_rig: Any, webhook_url: str) -> tuple[Any, str, str]:
    rig = make_rig("sandbox", db, webhook_url)
    checkout_id, session_id = rig.start(web)
    rig.pay(session_id)
    return rig, checkout_id, session_id


@pytest.mark.parametrize("fault", DB_FAULTS)
def test_a_completion_the_table_refuses_is_a_503_with_nothing_half_written_and_the_providers_retry_completes(
        faulty_db, proxy, web, make_rig, receiver, fault, figures):
    rig, checkout_id, session_id = paid_sandbox_checkout(faulty_db, web, make_rig, receiver.url)
    figures.mark()
    proxy.inject("TransactWriteItems", fault, times=2, contains="checkout.completed")
    failed = rig.notify(web, session_id, checkout_id)
    assert_unavailable_json(failed)
    current = faulty_db.get_checkout(checkout_id)
    assert current.status == "processing" and current.payment is None
    assert faulty_db.query(f"CHECKOUT#{checkout_id}", "EVENT#") == [] and receiver.deliveries == []

    retried = rig.notify(web, session_id, checkout_id)
    assert retried.status == 200 and retried.json()["status"] == "complete"
    events = faulty_db.query(f"CHECKOUT#{checkout_id}", "EVENT#")
    assert [e["event_type"] for e in events] == ["checkout.completed"]
    assert [e["type"] for e in receiver.verified(rig.merchant.webhook_secret)] == ["checkout.completed"]
    figures.add("faults", f"DynamoDB {fault} x2 on the completion transaction", expect="503, nothing half written; retry completes once")


def test_when_only_the_delivery_record_fails_the_payment_stands_and_the_schedule_delivers_again(
        faulty_db, proxy, web, make_rig, receiver, figures):
    """The one write outside the transition's transaction: recording the first delivery attempt."""
    rig, checkout_id, _ = paid_sandbox_checkout(faulty_db, web, make_rig, receiver.url)
    figures.mark()
    # The attempt is recorded with the dashboard's delivery counters: one transaction.
    proxy.inject("TransactWriteItems", "throttling", times=2, contains="last_attempt_at_s")
    # The payment stands and the shopper is sent on to the merchant at once (never "nothing was charged").
    back = web.get(f"/c/{checkout_id}/return")
    assert back.status == 303 and back.headers["location"].startswith("https://shop.example/thanks")
    assert faulty_db.get_checkout(checkout_id).status == "complete"
    (event,) = faulty_db.query(f"CHECKOUT#{checkout_id}", "EVENT#")
    assert event["delivery_status"] == "pending" and event["attempts"] == 0 and len(receiver.deliveries) == 1
    # The schedule sends the event again, with the same id (the merchant's de-duplication key).
    assert events.deliver_due(faulty_db, clock.now_s() + 1) == 1
    assert [d["headers"]["webhook-id"] for d in receiver.deliveries] == [event["id"]] * 2
    figures.add("faults", "DynamoDB throttling x2 on recording the first delivery",
                expect="paid stands, shopper sent on; event re-sent by the schedule")


def test_transaction_conflicts_are_retried_until_the_transition_lands(faulty_db, proxy, web, make_rig, receiver):
    rig, checkout_id, session_id = paid_sandbox_checkout(faulty_db, web, make_rig, receiver.url)
    proxy.inject("TransactWriteItems", "conflict", times=3, contains="checkout.completed")
    answer = rig.notify(web, session_id, checkout_id)
    assert answer.status == 200 and answer.json()["status"] == "complete"
    assert proxy.failed("TransactWriteItems") == 3
    assert len(faulty_db.query(f"CHECKOUT#{checkout_id}", "EVENT#")) == 1


def test_a_notification_whose_transition_never_lands_is_not_acknowledged(faulty_db, proxy, web, make_rig, receiver, figures):
    """A provider that hears 200 never sends again: a completion we could not write must not get one."""
    rig, checkout_id, session_id = paid_sandbox_checkout(faulty_db, web, make_rig, receiver.url)
    figures.mark()
    proxy.inject("TransactWriteItems", "conflict", times=1000, contains="checkout.completed")
    answer = rig.notify(web, session_id, checkout_id)
    assert_unavailable_json(answer)
    assert faulty_db.get_checkout(checkout_id).status == "processing"
    proxy.clear()
    retried = rig.notify(web, session_id, checkout_id)
    assert retried.status == 200 and retried.json()["status"] == "complete"
    assert len(faulty_db.query(f"CHECKOUT#{checkout_id}", "EVENT#")) == 1
    figures.add("faults", "TransactionConflict on every completion try", expect="503 (not 200) until it lands; then once")


# --- providers failing on the read (the submit side: tests/adapters/providers/test_faults.py) -----

# As the provider shows each fault to us. A read is retried on 5xx, a create never; a 429 is
# retried either way (Retry-After), so only a third one in a row reaches the shopper.
READ_FAULTS = {"500": ["500"] * 3, "429": ["429"] * 3, "garbage": ["garbage"]}
CREATE_FAULTS = {"500": ["500"], "429": ["429"] * 3, "garbage": ["garbage"]}


# A 429 costs its Retry-After (1 s) twice: one provider per side shows it.
READ_CASES = [("clink", "500"), ("clink", "429"), ("clink", "garbage"), ("payfect", "500"), ("payfect", "garbage")]
CREATE_CASES = [("paycombat", "500"), ("paycombat", "garbage"), ("clink", "500"), ("clink", "429"), ("clink", "garbage"),
                ("payfect", "500"), ("payfect", "garbage")]


@pytest.mark.parametrize("provider,fault", READ_CASES)
def test_a_provider_failing_on_the_notification_read_is_a_503_and_its_retry_completes(
        local_db, web, make_rig, receiver, provider, fault, figures):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, session_id = rig.start(web)
    rig.pay(session_id)
    before = local_db.get_checkout(checkout_id)
    figures.mark()
    rig.fake.faults = list(READ_FAULTS[fault])
    failed = rig.notify(web, session_id, checkout_id)
    assert_unavailable_json(failed)
    assert local_db.get_checkout(checkout_id).version == before.version and receiver.deliveries == []
    retried = rig.notify(web, session_id, checkout_id)
    assert retried.status == 200 and retried.json()["status"] == "complete", retried.text
    figures.add("faults", f"{provider} read: {fault}", expect="503, unchanged; retry completes once")


@pytest.mark.parametrize("provider,fault", CREATE_CASES)
def test_a_provider_failing_on_the_create_is_a_502_page_and_a_retry_makes_one_session(
        local_db, web, make_rig, receiver, provider, fault, figures):
    rig = make_rig(provider, local_db, receiver.url)
    checkout = rig.create_checkout(web, locale="en")
    figures.mark()
    rig.fake.faults = list(CREATE_FAULTS[fault])
    failed = rig.submit(web, checkout["id"])
    assert_friendly_page(failed, 502)
    assert "Nothing was charged" in failed.text and local_db.get_checkout(checkout["id"]).status == "open"
    created_before_retry = rig.sessions_created()
    retried = rig.submit(web, checkout["id"])
    assert retried.status == 303, retried.text[:300]
    # A create is never repeated blindly: at most the one that failed on its answer, and the retry.
    assert rig.sessions_created() - created_before_retry == 1
    assert local_db.get_checkout(checkout["id"]).status == "processing"
    figures.add("faults", f"{provider} create: {fault}", expect="502 page, open; retry 303, one new session")


# --- a crash between the provider's create and our write -------------------------------

def crash_on_recording_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Store.update

    def update(self: Store, pk: str, sk: str, set_fields: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> Any:
        if set_fields and "attempt.provider_session_id" in set_fields:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, "UpdateItem")
        return real(self, pk, sk, set_fields, *args, **kwargs)

    monkeypatch.setattr(Store, "update", update)


def orphaned(rig: Any, web: Web, db: Store, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Submit with the write that records the provider session failing: (checkout id, orphan session id)."""
    checkout = rig.create_checkout(web)
    with monkeypatch.context() as patched:
        crash_on_recording_the_session(patched)
        failed = rig.submit(web, checkout["id"])
    assert_friendly_page(failed, 503)
    current = db.get_checkout(checkout["id"])
    assert current.status == "processing" and current.attempt.provider_session_id is None
    assert rig.sessions_created() == 1
    return checkout["id"], rig.sessions()[0]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_payment_on_an_orphaned_session_still_completes_the_checkout(
        local_db, web, make_rig, receiver, monkeypatch, provider, figures):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, orphan = orphaned(rig, web, local_db, monkeypatch)
    version = local_db.get_checkout(checkout_id).version
    figures.mark()

    # The return route has no session to ask about: it changes nothing and creates nothing.
    back = web.get(f"/c/{checkout_id}/return")
    assert back.status == 303 and web.path(back.headers["location"]) == f"/c/{checkout_id}"
    assert local_db.get_checkout(checkout_id).version == version and rig.sessions_created() == 1
    assert web.get(f"/c/{checkout_id}").status == 200

    rig.pay(orphan)
    body, headers = rig.notification(orphan, checkout_id)
    answer = web.post(f"/webhooks/{provider}/{rig.merchant.id}", body, headers)
    assert answer.status == 200 and answer.json()["status"] == "complete", answer.text
    done = local_db.get_checkout(checkout_id)
    # PayCombat's notification names our order reference and its payin, never the session: the
    # payment is read by the payin's id (Retrieve Payin) and recorded under it.
    paid_as = json.loads(body)["id"] if provider == "paycombat" else orphan
    assert done.payment.provider_session_id == paid_as and rig.sessions_created() == 1
    assert done.payment.amount == rig.total
    assert [e["type"] for e in receiver.verified(rig.merchant.webhook_secret)] == ["checkout.completed"]
    figures.add("faults", f"{provider}: crash after create, orphan paid", expect="notification completes it; 1 session")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_after_the_stale_attempt_window_the_next_submit_starts_cleanly(
        local_db, web, make_rig, receiver, monkeypatch, freeze, provider, figures):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, orphan = orphaned(rig, web, local_db, monkeypatch)
    freeze(clock.now_s() + payments.STALE_ATTEMPT_S + 1)
    figures.mark()
    # The page can only say "confirming" (there is no provider page); its "check again" is the return route,
    # which opens the checkout again once the attempt is stale, and the form is back.
    confirming = web.get(f"/c/{checkout_id}")
    assert confirming.status == 200 and 'name="csrf_token"' not in confirming.text
    back = web.get(f"/c/{checkout_id}/return")
    assert back.status == 303 and web.path(back.headers["location"]) == f"/c/{checkout_id}"
    assert local_db.get_checkout(checkout_id).status == "open" and rig.sessions_created() == 1
    token = rig.token(web, checkout_id)
    again = rig.submit(web, checkout_id, token=token)
    assert again.status == 303, again.text[:300]
    current = local_db.get_checkout(checkout_id)
    new_session = current.attempt.provider_session_id
    assert new_session and new_session != orphan
    assert rig.sessions() == [orphan, new_session] or sorted(rig.sessions()) == sorted([orphan, new_session])
    # Repeating the submit (a double click) goes to the same page: one session per attempt.
    assert rig.submit(web, checkout_id, token=token).headers["location"] == again.headers["location"]
    assert rig.sessions_created() == 2

    rig.pay(new_session)
    assert rig.notify(web, new_session, checkout_id).json()["status"] == "complete"
    assert [e["type"] for e in receiver.verified(rig.merchant.webhook_secret)] == ["checkout.completed"]
    figures.add("faults", f"{provider}: crash after create, shopper retries after {payments.STALE_ATTEMPT_S} s",
                expect="2 sessions (1 per attempt), completes once")
