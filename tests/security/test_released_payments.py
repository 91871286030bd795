"""A paid PayCombat order is never dropped.

PayCombat's PAYIN notification names only our order reference and its own payin id. When
the checkout's current attempt is not the one that was paid — released through the cancel
URL, replaced by a second attempt — reading the current attempt cannot explain the payment;
the payin is read by the id PayCombat gave (Retrieve Payin) and settled, flagged
``late_payment`` like any payment on an attempt the checkout had moved past. An attempt with
an issued virtual account is not released by the cancel URL at all: the account is how the
shopper pays.
"""
from __future__ import annotations

import json

import pytest

from tests.security.rigs import Web

pytestmark = pytest.mark.xdist_group("security")


def payin_id_of(body: bytes) -> str:
    return str(json.loads(body)["id"])


def completed_events(receiver, rig) -> list[dict]:
    return [e for e in receiver.verified(rig.merchant.webhook_secret) if e["type"] == "checkout.completed"]


def test_a_virtual_account_attempt_survives_the_cancel_url_and_its_deposit_completes(
        local_db, web: Web, make_rig, receiver, figures):
    rig = make_rig("paycombat", local_db, receiver.url)
    checkout_id, session_id = rig.start(web)
    assert web.get(f"/c/{checkout_id}/return").status == 303  # the waiting page: the account is issued
    held = local_db.get_checkout(checkout_id)
    assert held.status == "processing" and held.attempt.pending and held.attempt.pending["account_number"]

    back = web.get(f"/c/{checkout_id}/cancel")
    assert back.status == 303 and web.path(back.headers["location"]) == f"/c/{checkout_id}"
    kept = local_db.get_checkout(checkout_id)
    assert kept.status == "processing" and kept.attempt.provider_session_id == session_id
    figures.mark()
    assert "계좌" in web.get(f"/c/{checkout_id}").text or kept.attempt.pending  # still the deposit page

    rig.pay(session_id)
    answer = rig.notify(web, session_id, checkout_id)
    assert answer.status == 200 and answer.json()["status"] == "complete", answer.text
    done = local_db.get_checkout(checkout_id)
    assert done.status == "complete" and done.payment.provider_session_id == session_id
    assert len(completed_events(receiver, rig)) == 1
    figures.add("faults", "paycombat: VA issued, cancel URL, deposit", expect="attempt kept; payin completes it")


@pytest.mark.parametrize("then", ["released", "replaced"])
def test_a_payin_on_an_attempt_the_checkout_moved_past_still_completes_it(
        local_db, web: Web, make_rig, receiver, then, figures):
    rig = make_rig("paycombat", local_db, receiver.url)
    rig.form = {k: v for k, v in rig.form.items() if k != "bank"}  # the bank chosen on PayCombat's page
    checkout_id, first = rig.start(web)
    back = web.get(f"/c/{checkout_id}/cancel")
    assert back.status == 303 and local_db.get_checkout(checkout_id).status == "open"
    if then == "replaced":
        assert rig.submit(web, checkout_id).status == 303
        assert rig.session_of(checkout_id) != first

    rig.pay(first)
    figures.mark()
    body, headers = rig.notification(first, checkout_id)
    answer = web.post(f"/webhooks/paycombat/{rig.merchant.id}", body, headers)
    assert answer.status == 200 and answer.json()["status"] == "complete", answer.text
    done = local_db.get_checkout(checkout_id)
    assert done.status == "complete" and done.late_payment is True
    assert done.payment.provider_reference == payin_id_of(body) and done.payment.amount == rig.total
    assert len(completed_events(receiver, rig)) == 1
    # PayCombat sends it again (our answer was lost): nothing changes, still one event.
    again = web.post(f"/webhooks/paycombat/{rig.merchant.id}", body, headers)
    assert again.status in (200, 400) and local_db.get_checkout(checkout_id).version == done.version
    assert len(completed_events(receiver, rig)) == 1
    figures.add("faults", f"paycombat: payin on a {then} attempt", expect="read by payin id, completes once, flagged late")


def test_a_payin_that_paycombat_does_not_confirm_is_not_a_payment(local_db, web: Web, make_rig, receiver):
    rig = make_rig("paycombat", local_db, receiver.url)
    rig.form = {k: v for k, v in rig.form.items() if k != "bank"}
    checkout_id, first = rig.start(web)
    web.get(f"/c/{checkout_id}/cancel")
    # A correctly signed SUCCESS whose payin PayCombat's read says is still pending: nothing completes.
    body, headers = rig.fake.notification(first, "SUCCESS")
    rig.fake.payins[payin_id_of(body)]["status"] = "PENDING"
    answer = web.post(f"/webhooks/paycombat/{rig.merchant.id}", body, headers)
    assert answer.status < 500
    assert local_db.get_checkout(checkout_id).status == "open"
    assert completed_events(receiver, rig) == []
