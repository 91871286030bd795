"""Reconciliation on DynamoDB Local, against each real provider's contract fake: a payment
whose notification never came is found by reading the provider, exactly once; nothing else
is touched; a provider outage changes nothing and crashes nothing."""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Iterator

import pytest

from chalicelib.adapters.providers import http
from chalicelib.adapters.store import EXPIRY_INDEX, RECONCILE_INDEX, Store
from chalicelib.domain import clock
from chalicelib.domain import model as domain
from chalicelib.entrypoints import admin
from chalicelib.usecases import expiry as lifecycle
from chalicelib.usecases import reconcile
from tests.security.rigs import RIGS, Rig, Web

pytestmark = pytest.mark.xdist_group("reconcile")
REAL = ["koreacheckout", "paycombat", "clink", "payfect"]


@pytest.fixture
def web(client: Any) -> Web:
    return Web(client=client)


@pytest.fixture
def make_rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Rig]]:
    """``make_rig(provider, store, webhook_url)``: the provider's contract fake and a merchant on it."""
    made: list[Rig] = []

    def make(provider: str, db: Store, webhook_url: str | None = None) -> Rig:
        made.append(RIGS[provider](db, monkeypatch, webhook_url))
        return made[-1]

    yield make
    for rig in made:
        rig.close()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``python -m chalicelib.admin reconcile …`` in this process: (exit status, the JSON it printed)."""
    monkeypatch.setattr(os, "environ", dict(os.environ))

    def run(*args: str) -> tuple[int, dict[str, int]]:
        status = admin.main(["reconcile", *args])
        printed = capsys.readouterr().out
        return status, json.loads(printed)

    return run


def started(rig: Rig, web: Any, **overrides: Any) -> tuple[str, str]:
    checkout_id, session_id = rig.start(web, **overrides)
    assert rig.store.get_checkout(checkout_id).status == "processing"
    return checkout_id, session_id


def events(store: Store, checkout_id: str) -> list[str]:
    return sorted(e["event_type"] for e in store.query(f"CHECKOUT#{checkout_id}", "EVENT#"))


def counts(**found: int) -> dict[str, int]:
    return {"checked": 0, "completed": 0, "released": 0, "unchanged": 0, "errors": 0, **found}


def past_expiry(store: Store, checkout_id: str) -> None:
    """The checkout's time ran out while the shopper was at the provider (and its read at expiry is due)."""
    expired_at = clock.now_s() - 10
    store.update(f"CHECKOUT#{checkout_id}", "CHECKOUT",
                 {"expires_at_s": expired_at, "gsi2sk": f"{expired_at:012d}#{checkout_id}"})


@pytest.mark.parametrize("provider", REAL)
def test_a_payment_without_a_notification_is_completed_once(provider, local_db, receiver, web, make_rig, cli):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, session_id = started(rig, web)
    rig.pay(session_id)  # paid at the provider; no notification; the shopper closed the tab

    assert cli("--older-than-s", "0") == (0, counts(checked=1, completed=1))
    done = local_db.get_checkout(checkout_id)
    assert done.status == "complete" and done.payment.amount == rig.total and done.payment.currency == rig.currency
    assert not done.late_payment
    assert events(local_db, checkout_id) == ["checkout.completed"]
    assert [d["type"] for d in receiver.verified(rig.merchant.webhook_secret)] == ["checkout.completed"]

    assert cli("--older-than-s", "0") == (0, counts())
    assert cli("--checkout", checkout_id) == (0, counts())
    assert events(local_db, checkout_id) == ["checkout.completed"]
    assert len(receiver.deliveries) == 1
    item = local_db.get(f"CHECKOUT#{checkout_id}", "CHECKOUT")
    assert "gsi2pk" not in item, "a paid checkout leaves the schedules"


@pytest.mark.parametrize("provider", REAL)
def test_an_unpaid_checkout_is_left_as_it_is(provider, local_db, receiver, web, make_rig, cli):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, _ = started(rig, web)
    before = local_db.get_checkout(checkout_id)

    assert cli("--older-than-s", "0") == (0, counts(checked=1, unchanged=1))
    after = local_db.get_checkout(checkout_id)
    assert (after.status, after.version, after.attempt.id) == ("processing", before.version, before.attempt.id)
    assert events(local_db, checkout_id) == [] and receiver.deliveries == []
    # The read is remembered, and the next one is due later.
    assert after.attempt.checks == 1
    item = local_db.get(f"CHECKOUT#{checkout_id}", "CHECKOUT")
    assert item["gsi2pk"] == RECONCILE_INDEX
    assert item["gsi2sk"] == f"{after.attempt.created_at_s + 300:012d}#{checkout_id}"


@pytest.mark.parametrize("fault", ["500", "stall"])
@pytest.mark.parametrize("provider", REAL)
def test_a_provider_outage_changes_nothing_and_is_counted(provider, fault, local_db, receiver, web, make_rig, cli,
                                                          monkeypatch):
    monkeypatch.setattr(http, "READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(http, "DEADLINE_S", 2.5)
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, session_id = started(rig, web)
    rig.pay(session_id)
    before = local_db.get(f"CHECKOUT#{checkout_id}", "CHECKOUT")
    rig.fake.stall_s = 1.5
    rig.fake.faults.extend([fault] * 8)

    assert cli("--older-than-s", "0") == (0, counts(checked=1, errors=1))
    assert local_db.get(f"CHECKOUT#{checkout_id}", "CHECKOUT") == before
    assert events(local_db, checkout_id) == [] and receiver.deliveries == []

    rig.fake.faults.clear()
    assert cli("--checkout", checkout_id) == (0, counts(checked=1, completed=1))
    assert events(local_db, checkout_id) == ["checkout.completed"]


@pytest.mark.parametrize("first", ["reconciliation", "expiry sweep"])
@pytest.mark.parametrize("provider", REAL)
def test_a_paid_checkout_past_its_expiry_completes_late_and_is_never_expired(provider, first, local_db, receiver, web,
                                                                             make_rig):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, session_id = started(rig, web)
    rig.pay(session_id)
    past_expiry(local_db, checkout_id)

    if first == "reconciliation":
        assert reconcile.run(local_db, clock.now_s()) == counts(checked=1, completed=1)
    else:
        # The sweep asks the provider before it expires a processing checkout.
        assert lifecycle.expire_due(local_db, clock.now_s()) == 0
        assert reconcile.run(local_db, clock.now_s()) == counts()
    done = local_db.get_checkout(checkout_id)
    assert done.status == "complete" and done.late_payment is True
    assert events(local_db, checkout_id) == ["checkout.completed"]
    assert lifecycle.expire_due(local_db, clock.now_s()) == 0
    assert local_db.get_checkout(checkout_id).status == "complete"


@pytest.mark.parametrize("provider", REAL)
def test_the_expiry_sweep_asks_the_provider_before_expiring_a_processing_checkout(provider, local_db, receiver, web,
                                                                                 make_rig):
    """Here on the expiry schedule, as a checkout locked before the reconciliation schedule existed is."""
    rig = make_rig(provider, local_db, receiver.url)
    paid_id, paid_session = started(rig, web)
    unpaid_id, _ = started(rig, web)
    rig.pay(paid_session)
    for checkout_id in (paid_id, unpaid_id):
        past_expiry(local_db, checkout_id)
        local_db.update(f"CHECKOUT#{checkout_id}", "CHECKOUT",
                        {"gsi2pk": EXPIRY_INDEX, "gsi2sk": f"{clock.now_s() - 10:012d}#{checkout_id}"})

    assert lifecycle.expire_due(local_db, clock.now_s()) == 1  # the paid one completed instead
    paid, unpaid = local_db.get_checkout(paid_id), local_db.get_checkout(unpaid_id)
    assert (paid.status, paid.late_payment) == ("complete", True)
    assert unpaid.status == "expired"
    assert events(local_db, paid_id) == ["checkout.completed"]
    assert events(local_db, unpaid_id) == ["checkout.expired"]


@pytest.mark.parametrize("provider", ["koreacheckout", "clink"])
def test_at_expiry_an_unpaid_checkout_is_expired_once(provider, local_db, receiver, web, make_rig):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, _ = started(rig, web)
    past_expiry(local_db, checkout_id)

    assert reconcile.run(local_db, clock.now_s()) == counts(checked=1, released=1)
    assert local_db.get_checkout(checkout_id).status == "expired"
    assert events(local_db, checkout_id) == ["checkout.expired"]
    assert reconcile.run(local_db, clock.now_s(), older_than_s=0) == counts()


@pytest.mark.parametrize("provider", ["koreacheckout", "clink"])
def test_a_failed_payment_releases_the_attempt(provider, local_db, receiver, web, make_rig):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, session_id = started(rig, web)
    if provider == "koreacheckout":
        rig.fake.set_status(session_id, "failed")
    else:
        rig.expire(session_id)

    assert reconcile.run(local_db, clock.now_s(), older_than_s=0) == counts(checked=1, released=1)
    opened = local_db.get_checkout(checkout_id)
    assert opened.status == "open" and opened.attempt is None
    item = local_db.get(f"CHECKOUT#{checkout_id}", "CHECKOUT")
    assert item["gsi2pk"] == EXPIRY_INDEX, "open again: back on the expiry schedule"


def test_only_what_is_due_is_read_on_the_schedule(local_db, receiver, web, make_rig):
    rig = make_rig("koreacheckout", local_db, receiver.url)
    checkout_id, _ = started(rig, web)
    attempt = local_db.get_checkout(checkout_id).attempt
    reads = len(rig.fake.requests)

    assert reconcile.run(local_db, attempt.created_at_s + 59) == counts()
    assert len(rig.fake.requests) == reads
    assert reconcile.run(local_db, attempt.created_at_s + 60) == counts(checked=1, unchanged=1)
    assert reconcile.run(local_db, attempt.created_at_s + 299) == counts()
    assert reconcile.run(local_db, attempt.created_at_s + 300) == counts(checked=1, unchanged=1)
    assert local_db.get_checkout(checkout_id).attempt.checks == 2


def test_reads_are_bounded_per_provider_and_a_failing_provider_is_left_alone(local_db, receiver, web, make_rig,
                                                                            monkeypatch):
    monkeypatch.setattr(reconcile, "READS_PER_PROVIDER", 3)
    rig = make_rig("koreacheckout", local_db, receiver.url)
    for _ in range(5):
        started(rig, web)
    reads = len(rig.fake.requests)
    assert reconcile.run(local_db, clock.now_s(), older_than_s=0) == counts(checked=3, unchanged=3)
    assert len(rig.fake.requests) - reads == 3

    rig.fake.faults.extend(["500"] * 30)
    reads = len(rig.fake.requests)
    assert reconcile.run(local_db, clock.now_s(), older_than_s=0) == counts(checked=2, errors=2)
    assert len(rig.fake.requests) - reads == 2 * http.MAX_ATTEMPTS


def test_the_schedule_is_1_5_15_60_minutes_then_hourly_and_at_expiry():
    created, expires = 1_790_000_000, 1_790_000_000 + 4 * 3600
    times = [domain.reconcile_at(created, expires, k) - created for k in range(8)]
    assert times == [60, 300, 900, 3600, 7200, 10800, 4 * 3600 - 120, 4 * 3600]
    assert domain.reconcile_at(created, expires, 8) - created == 5 * 3600


# --- what a session asked for is what it is judged by -----------------------------------

def patch(web: Web, rig: Rig, checkout_id: str, body: dict[str, Any]) -> Any:
    return web.request("PATCH", f"/api/checkouts/{checkout_id}", {**rig.merchant.headers, "content-type": "application/json"},
                       json.dumps(body))


@pytest.mark.parametrize("provider", ["sandbox", "koreacheckout"])
def test_a_late_payment_on_an_earlier_session_is_judged_by_what_that_session_asked(provider, local_db, receiver, web,
                                                                                    make_rig):
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, first_session = started(rig, web)
    assert local_db.get_checkout(checkout_id).attempt.amount == rig.total
    # The shopper came back without paying; the merchant changed the order; nobody submitted again.
    assert web.get(f"/c/{checkout_id}/cancel").status == 303
    changed = patch(web, rig, checkout_id, {"line_items": [{"name": "큰 녹차", "unit_amount": 30000, "quantity": 1}]})
    assert changed.status == 200 and changed.json()["amount_total"] == 30000
    rig.pay(first_session)  # ...and then the first session was paid after all, with what it asked for

    assert rig.notify(web, first_session, checkout_id).status == 200
    done = local_db.get_checkout(checkout_id)
    assert done.status == "complete" and done.amount_mismatch is None
    assert (done.payment.amount, done.payment.provider_session_id) == (rig.total, first_session)
    assert events(local_db, checkout_id) == ["checkout.completed"]


def test_a_current_session_paid_with_the_new_total_instead_of_what_it_asked_is_flagged(local_db, receiver, web,
                                                                                        make_rig):
    rig = make_rig("koreacheckout", local_db, receiver.url)
    checkout_id, session_id = started(rig, web)
    rig.pay(session_id, amount=rig.total + 8000)
    assert reconcile.run(local_db, clock.now_s(), older_than_s=0) == counts(checked=1, unchanged=1)
    flagged = local_db.get_checkout(checkout_id)
    assert flagged.status == "processing"
    assert (flagged.amount_mismatch["expected_amount"], flagged.amount_mismatch["amount"]) == (rig.total, rig.total + 8000)
