"""Races on DynamoDB Local: identical notifications at once, submits at once, and a
checkout's notifications arriving in every order.

Extends tests/test_races.py (20 sandbox notifications, 10 sandbox submits) to 50
notifications, to real adapters against their fakes, and to every delivery order of
every outcome across three attempts.
"""
from __future__ import annotations

import itertools
from typing import Any

import pytest

from chalicelib.adapters.store import Store
from chalicelib.domain import model
from chalicelib.usecases import checkouts, payments
from tests import flow
from tests.conftest import checkout_body
from tests.flow import at_once
from tests.security.rigs import SandboxRig, Web

pytestmark = pytest.mark.xdist_group("security")


@pytest.mark.parametrize("provider", ["sandbox", "clink"])
def test_fifty_identical_notifications_make_one_transition_and_one_event(local_db, receiver, live_server, make_rig,
                                                                        provider, figures):
    web = Web(base_url=live_server.url)
    rig = make_rig(provider, local_db, receiver.url)
    checkout_id, session_id = rig.start(web)
    rig.pay(session_id)
    before = local_db.get_checkout(checkout_id)
    body, headers = rig.notification(session_id, checkout_id)
    figures.mark()
    answers = at_once(50, lambda _: web.post(f"/webhooks/{provider}/{rig.merchant.id}", body, headers))
    assert [a.status for a in answers] == [200] * 50, {a.status: a.text for a in answers}
    after = local_db.get_checkout(checkout_id)
    events = local_db.query(f"CHECKOUT#{checkout_id}", "EVENT#")
    assert after.status == "complete" and after.version == before.version + 1
    assert [e["event_type"] for e in events] == ["checkout.completed"]
    assert [e["type"] for e in receiver.verified(rig.merchant.webhook_secret)] == ["checkout.completed"]
    figures.add("races", f"50 identical {provider} notifications at once", expect="1 transition, 1 event")


@pytest.mark.parametrize("provider", ["clink", "payfect"])
def test_ten_submits_at_once_make_one_provider_session(local_db, receiver, live_server, make_rig, provider, figures):
    web = Web(base_url=live_server.url)
    rig = make_rig(provider, local_db, receiver.url)
    checkout = rig.create_checkout(web)
    token = rig.token(web, checkout["id"])
    figures.mark()
    answers = at_once(10, lambda _: rig.submit(web, checkout["id"], token=token))
    assert [a.status for a in answers] == [303] * 10, [a.text[:200] for a in answers if a.status != 303]
    assert len({a.headers["location"] for a in answers}) == 1
    assert rig.sessions_created() == 1
    current = local_db.get_checkout(checkout["id"])
    assert current.status == "processing" and current.version == 1
    figures.add("races", f"10 {provider} submits at once -> 1 provider session", expect="1 session, 1 transition")


# --- every order of every outcome ---------------------------------------------------

OUTCOMES = ("paid", "failed", "expired")


class Recorder:
    """Every transition the store applies, as (from, to)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.applied: list[tuple[str, str]] = []
        real = Store.apply

        def apply(s: Store, checkout: Any, plan: model.Transition, event: Any = None, extra: Any = None,
                  notification: Any = None, first_time: bool = False) -> Any:
            result = real(s, checkout, plan, event, extra, notification=notification, first_time=first_time)
            self.applied.append((plan.from_status, plan.to_status))
            return result

        monkeypatch.setattr(Store, "apply", apply)


def three_attempts(db: Store, rig: SandboxRig, base: str) -> tuple[str, list[str]]:
    """A checkout whose shopper started three attempts, leaving the first two at the provider's cancel."""
    merchant = rig.merchant.merchant
    created = checkouts.create(db, merchant, checkout_body(), None, base)
    sessions = []
    for n in range(3):
        checkout = payments.load(db, created["id"])
        payments.submit(db, checkout, merchant, {**flow.GOOD_FORM}, base)
        session_id = payments.load(db, created["id"]).attempt.provider_session_id
        sessions.append(session_id)
        if n < 2:
            rig._session(session_id, status="cancelled")
            payments.abandon(db, payments.load(db, created["id"]), merchant, base)
    return created["id"], sessions


def deliver(db: Store, rig: SandboxRig, checkout_id: str, session_id: str, base: str) -> str:
    body, headers = rig.notification(session_id, checkout_id)
    return str(payments.handle_notification(db, "sandbox", rig.merchant.id, headers, body, base)["status"])


def check_case(db: Store, rig: SandboxRig, recorder: Recorder, outcomes: tuple[str, ...], order: tuple[int, ...],
               base: str) -> tuple[int, int, int]:
    """Deliver the three attempts' notifications in ``order`` (then all again, reversed). Returns (sent, transitions, events)."""
    checkout_id, sessions = three_attempts(db, rig, base)
    for session_id, outcome in zip(sessions, outcomes, strict=True):
        {"paid": rig.pay, "failed": rig.fail, "expired": rig.expire}[outcome](session_id)
    recorder.applied.clear()
    seen: list[str] = []
    sequence = list(order) + list(reversed(order))
    for index in sequence:
        seen.append(deliver(db, rig, checkout_id, sessions[index], base))
        if "complete" in seen:
            assert seen[-1] == "complete", f"{outcomes} {order}: complete was left for {seen[-1]}"
    for before, after in recorder.applied:
        assert after in model.TRANSITIONS[before], f"illegal {before} -> {after}"
    final = db.get_checkout(checkout_id)
    paid = sessions[outcomes.index("paid")]
    assert final.status == "complete" and final.payment.provider_session_id == paid
    events = [e["event_type"] for e in db.query(f"CHECKOUT#{checkout_id}", "EVENT#")]
    # The current attempt (the third) failing before the payment was seen is the only failure anyone hears of.
    failed_first = outcomes[2] == "failed" and sequence.index(2) < sequence.index(outcomes.index("paid"))
    assert sorted(events) == sorted(["checkout.completed"] + (["checkout.payment_failed"] if failed_first else [])), (
        outcomes, order, events)
    return len(sequence), len(recorder.applied), len(events)


def test_notifications_in_every_order_never_make_an_illegal_transition_and_complete_is_final(
        local_db, monkeypatch, figures):
    rig = SandboxRig(local_db, monkeypatch, None)
    base = "http://localhost"
    recorder = Recorder(monkeypatch)
    sent = transitions = events = cases = 0
    for outcomes in itertools.permutations(OUTCOMES):
        for order in itertools.permutations(range(3)):
            n, t, e = check_case(local_db, rig, recorder, outcomes, order, base)
            sent, transitions, events, cases = sent + n, transitions + t, events + e, cases + 1
    assert cases == 36
    figures.add("races", "3 attempts x every outcome assignment x every order (36 cases, each twice)", sent,
                expect="no illegal transition; complete final")


def test_the_same_notifications_at_once_end_the_same_way(local_db, monkeypatch, figures):
    rig = SandboxRig(local_db, monkeypatch, None)
    base = "http://localhost"
    recorder = Recorder(monkeypatch)
    sent = 0
    for outcomes in itertools.permutations(OUTCOMES):
        checkout_id, sessions = three_attempts(local_db, rig, base)
        for session_id, outcome in zip(sessions, outcomes, strict=True):
            {"paid": rig.pay, "failed": rig.fail, "expired": rig.expire}[outcome](session_id)
        recorder.applied.clear()
        # Every attempt's notification three times, all at once.
        statuses = at_once(9, lambda i, c=checkout_id, s=sessions: deliver(local_db, rig, c, s[i % 3], base))
        sent += len(statuses)
        for before, after in recorder.applied:
            assert after in model.TRANSITIONS[before], f"illegal {before} -> {after}"
        final = local_db.get_checkout(checkout_id)
        assert final.status == "complete" and final.payment.provider_session_id == sessions[outcomes.index("paid")]
        completed = [e for e in local_db.query(f"CHECKOUT#{checkout_id}", "EVENT#") if e["event_type"] == "checkout.completed"]
        assert len(completed) == 1
    figures.add("races", "each outcome assignment, 9 notifications at once (6 cases)", sent,
                expect="complete final, 1 completed event each")
