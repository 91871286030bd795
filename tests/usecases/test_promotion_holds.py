"""A promotion code is never paid past its ``usage_limit``: a use stays reserved while any
provider session carrying the code's discount can still be paid.

The reservation belongs to the checkout, not to one attempt: the anonymous cancel URL
(``GET /c/{id}/cancel``) opens the checkout again but keeps the use held, because the
provider session it left behind can still be paid. The use is given back only when the
provider confirms the session failed or expired (and no other session of the checkout
might still be paid), or the checkout expires or is cancelled. Everyone else is refused
the code at submit while it is held, so no paid session is ever over the limit.
"""
from __future__ import annotations

import json

import pytest

from chalicelib.adapters.providers import sandbox
from chalicelib.domain import clock
from chalicelib.domain import model as domain
from tests.usecases.test_promotions_api import SHOPPER, code_view, new_checkout, new_code, post_form, read
from tests.usecases.test_promotions_reservations import checkout as plain_checkout
from tests.usecases.test_promotions_reservations import sandbox_act

NOW = 1_800_000_000
HELD = {"code": "TEN", "customer": domain.customer_key("gildong@example.com")}
TEN_ONCE_EACH = {"code": "TEN", "type": "percentage", "value": 10, "usage_limit_per_customer": 1}
ATTEMPT = domain.Attempt(id="att_1", provider="sandbox", method="card", created_at_s=NOW, provider_session_id="sbx_1")


def notify(client, merchant, session_id: str, checkout_id: str):
    """What the sandbox sends once its session changed (signed like the real one)."""
    body = json.dumps({"type": "session.updated", "session_id": session_id, "checkout_id": checkout_id}).encode()
    headers = {"content-type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(merchant.id, body, clock.now_s())}
    return client.http.post(f"/webhooks/sandbox/{merchant.id}", headers=headers, body=body)


def pay_session(client, db, merchant, session_id: str, checkout_id: str) -> None:
    """The shopper pays the provider session after all (the tab they left open), and the provider says so."""
    db.update(f"SANDBOX#{session_id}", "SANDBOX", {"status": "paid", "paid_at_s": clock.now_s(), "reference": "sbxpay_x"})
    assert notify(client, merchant, session_id, checkout_id).status_code == 200


def submit(client, checkout_id: str):
    return post_form(client, checkout_id, **SHOPPER)


# --- the plans ------------------------------------------------------------------------------

def test_the_cancel_url_opens_the_checkout_but_keeps_the_use_held():
    held = plain_checkout("processing", TEN_ONCE_EACH, 2200, HELD, attempt=ATTEMPT)
    plan = domain.plan_release(held, "att_1", False, "cancelled_at_provider", NOW, payable=True)
    assert plan.to_status == "open" and plan.counters == ()
    assert plan.set_fields["reservation"] == {**HELD, "unsettled": True}
    assert "reservation" not in plan.remove_fields


def test_a_confirmed_failure_gives_the_use_back_unless_an_earlier_session_may_still_be_paid():
    held = plain_checkout("processing", TEN_ONCE_EACH, 2200, HELD, attempt=ATTEMPT)
    plan = domain.plan_release(held, "att_1", True, "payment_failed", NOW)
    assert len(plan.counters) == 2 and "reservation" in plan.remove_fields
    unsettled = plain_checkout("processing", TEN_ONCE_EACH, 2200, {**HELD, "unsettled": True}, attempt=ATTEMPT)
    plan = domain.plan_release(unsettled, "att_1", True, "payment_failed", NOW)
    assert plan.counters == () and plan.set_fields["reservation"]["unsettled"] is True


def test_the_next_attempt_reuses_the_held_use():
    reopened = plain_checkout("open", TEN_ONCE_EACH, 2200, {**HELD, "unsettled": True})
    attempt = domain.Attempt(id="att_2", provider="sandbox", method="card", created_at_s=NOW)
    plan = domain.plan_lock(reopened, attempt, {"email": "gildong@example.com"}, NOW)
    assert plan.counters == () and plan.set_fields["reservation"] == {**HELD, "unsettled": True}


def test_the_code_cannot_be_swapped_while_a_session_with_it_may_still_be_paid():
    reopened = plain_checkout("open", TEN_ONCE_EACH, 2200, {**HELD, "unsettled": True})
    with pytest.raises(domain.StateConflict):
        domain.plan_update(reopened, {"promotion": None, "amount_discount": 0}, NOW)
    assert domain.plan_update(reopened, {"metadata": {"a": "b"}}, NOW).to_status == "open"


# --- through the app -----------------------------------------------------------------------

def test_three_shoppers_who_cancel_and_then_pay_get_at_most_one_discount(client, db, merchant):
    """The reviewer's reproduction: limit 1, three shoppers submit, come back through /cancel,
    then pay the sessions they left open. Today's answer must be at most one discounted completion,
    and no payment lost: the second and third shopper are refused the code at submit while the
    first one's session can still be paid, and pay without it (or not at all)."""
    new_code(client, merchant, usage_limit=1)
    checkouts = [new_checkout(client, merchant, promotion_code="WELCOME10") for _ in range(3)]
    sessions: dict[str, str] = {}
    for c in checkouts:
        answer = submit(client, c["id"])
        if answer.status_code == 303:
            sessions[c["id"]] = answer.headers["Location"].rsplit("/", 1)[1]
            assert client.http.get(f"/c/{c['id']}/cancel").status_code == 303
        else:
            # Refused while the use is held elsewhere, with the reason on the code field.
            assert answer.status_code == 422 and "사용 가능 횟수가 모두 소진된 할인 코드입니다." in answer.body.decode()
    for checkout_id, session_id in sessions.items():
        pay_session(client, db, merchant, session_id, checkout_id)

    finals = [read(client, merchant, c["id"]) for c in checkouts]
    discounted = [f for f in finals if f["status"] == "complete" and f["amount_discount"] > 0]
    assert len(discounted) <= 1, [(f["id"], f["status"], f.get("promotion_over_limit")) for f in finals]
    # Every session that was paid completed its checkout: nothing paid is dropped.
    assert all(read(client, merchant, cid)["status"] == "complete" for cid in sessions)
    assert code_view(client, merchant, "WELCOME10")["times_redeemed"] == len(discounted) == 1
    assert not any(f.get("promotion_over_limit") for f in finals)


def test_a_shopper_who_cancelled_pays_the_retry_with_the_same_held_use(client, db, merchant):
    new_code(client, merchant, usage_limit=1)
    c = new_checkout(client, merchant, promotion_code="WELCOME10")
    first = submit(client, c["id"]).headers["Location"].rsplit("/", 1)[1]
    client.http.get(f"/c/{c['id']}/cancel")
    view = code_view(client, merchant, "WELCOME10")
    assert (view["reserved"], view["times_redeemed"]) == (1, 0), "the left-open session can still be paid"
    again = submit(client, c["id"])
    assert again.status_code == 303, again.body
    second = again.headers["Location"].rsplit("/", 1)[1]
    assert second != first
    pay_session(client, db, merchant, second, c["id"])
    view = code_view(client, merchant, "WELCOME10")
    assert (view["reserved"], view["times_redeemed"]) == (0, 1)
    # The first session paid too (two tabs): the order is paid twice, counted once, and flagged for a refund.
    pay_session(client, db, merchant, first, c["id"])
    assert code_view(client, merchant, "WELCOME10")["times_redeemed"] == 1


def test_a_session_paid_after_the_merchant_cancelled_counts_within_the_limit(client, db, merchant):
    """Merchant cancel, then another shopper, then the first shopper pays after all: one discount."""
    new_code(client, merchant, usage_limit=1)
    first = new_checkout(client, merchant, promotion_code="WELCOME10")
    second = new_checkout(client, merchant, promotion_code="WELCOME10")
    session = submit(client, first["id"]).headers["Location"].rsplit("/", 1)[1]
    assert client.http.post(f"/api/checkouts/{first['id']}/cancel", headers=merchant.headers).status_code == 200
    assert submit(client, second["id"]).status_code == 422, "the use is still held for the cancelled checkout's session"
    pay_session(client, db, merchant, session, first["id"])
    done = read(client, merchant, first["id"])
    assert (done["status"], done["late_payment"], done.get("promotion_over_limit")) == ("complete", True, None)
    view = code_view(client, merchant, "WELCOME10")
    assert (view["times_redeemed"], view["reserved"]) == (1, 0)


def test_a_declined_session_after_a_cancelled_one_keeps_the_use_until_expiry(client, db, merchant, monkeypatch):
    new_code(client, merchant, usage_limit=1)
    c = new_checkout(client, merchant, promotion_code="WELCOME10", expires_in=1800)
    first = submit(client, c["id"]).headers["Location"].rsplit("/", 1)[1]
    client.http.get(f"/c/{c['id']}/cancel")
    second = submit(client, c["id"]).headers["Location"].rsplit("/", 1)[1]
    sandbox_act(client, second, "decline")
    client.http.get(f"/c/{c['id']}/return")
    assert read(client, merchant, c["id"])["status"] == "open"
    assert code_view(client, merchant, "WELCOME10")["reserved"] == 1, f"{first} may still be paid"
    later = clock.now_s() + 1801
    monkeypatch.setattr(clock, "now_s", lambda: later)
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    assert client.lambda_.invoke("expire_checkouts", event).payload == {"expired": 1}
    assert code_view(client, merchant, "WELCOME10")["reserved"] == 0
