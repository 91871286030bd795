"""Resend by event id on DynamoDB Local: new ids name their checkout (no index entry), events
stored before (random ids, found through their ``EVENT#id`` entry in gsi1keys) still resend."""
import json
from urllib.parse import urlencode

import pytest

from chalicelib.adapters import store
from chalicelib.domain import clock, ids
from tests.conftest import api_json, checkout_body, create_merchant
from tests.flow import GOOD_FORM, csrf_token

pytestmark = pytest.mark.ddb_local


def complete(client, db, merchant):
    response = client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body()))
    assert response.status_code == 201, response.body
    checkout_id = api_json(response)["id"]
    page = client.http.get(f"/c/{checkout_id}").body.decode()
    submitted = client.http.post(f"/c/{checkout_id}", body=urlencode({**GOOD_FORM, "csrf_token": csrf_token(page)}),
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert submitted.status_code == 303, submitted.body[:300]
    db.update(f"SANDBOX#{submitted.headers['Location'].rsplit('/', 1)[1]}", "SANDBOX",
              {"status": "paid", "paid_at_s": clock.now_s()})
    assert client.http.get(f"/c/{checkout_id}/return").status_code == 303
    (event,) = db.query(f"CHECKOUT#{checkout_id}", "EVENT#")
    return checkout_id, event


def resend(client, merchant, event_id):
    return client.http.post(f"/api/events/{event_id}/resend", headers=merchant.headers)


def index_entries(db, gsi1pk):
    return db.client.query(TableName=db.table, IndexName=store.MERCHANT_INDEX, KeyConditionExpression="gsi1pk = :g",
                           ExpressionAttributeValues={":g": {"S": gsi1pk}})["Items"]


def test_a_new_event_has_no_index_entry_and_resends_by_its_id(client, local_db, receiver):
    merchant = create_merchant(local_db, receiver.url)
    checkout_id, event = complete(client, local_db, merchant)
    assert "gsi1pk" not in event and "gsi1sk" not in event
    assert index_entries(local_db, f"EVENT#{event['id']}") == []
    assert ids.checkout_of_event(event["id"]) == checkout_id
    assert receiver.deliveries[0]["headers"]["webhook-id"] == event["id"]
    resent = resend(client, merchant, event["id"])
    assert resent.status_code == 200, resent.body
    assert api_json(resent)["id"] == event["id"] and api_json(resent)["checkout_id"] == checkout_id
    assert [d["headers"]["webhook-id"] for d in receiver.deliveries] == [event["id"]] * 2
    receiver.verified(merchant.webhook_secret)
    listed = api_json(client.http.get(f"/api/events?checkout_id={checkout_id}", headers=merchant.headers))["data"]
    assert [e["id"] for e in listed] == [event["id"]] and listed[0]["attempts"] == 2


def old_form(db, event, event_id):
    """The event item as versions before this one stored it: a random id and its gsi1 entry."""
    db.client.delete_item(TableName=db.table, Key={"pk": {"S": event["pk"]}, "sk": {"S": event["sk"]}})
    older = {**event, "id": event_id, "gsi1pk": f"EVENT#{event_id}", "gsi1sk": "EVENT",
             "gsi2sk": f"{event['created_at_s']:012d}#{event_id}"}
    db.put_new(older)
    return older


def test_an_event_stored_before_resends_through_its_index_entry(client, local_db, receiver):
    merchant = create_merchant(local_db, receiver.url)
    checkout_id, event = complete(client, local_db, merchant)
    older = old_form(local_db, event, ids.new_id("evt"))
    resent = resend(client, merchant, older["id"])
    assert resent.status_code == 200, resent.body
    assert api_json(resent)["id"] == older["id"] and api_json(resent)["checkout_id"] == checkout_id
    assert receiver.deliveries[-1]["headers"]["webhook-id"] == older["id"]
    receiver.verified(merchant.webhook_secret)


def test_an_older_id_that_decodes_to_a_checkout_not_holding_it_still_resends(client, local_db, receiver):
    merchant = create_merchant(local_db, receiver.url)
    other_checkout, _ = complete(client, local_db, merchant)
    checkout_id, event = complete(client, local_db, merchant)
    # A random id of before that happens to read as one of the other checkout's ids.
    older = old_form(local_db, event, ids.event_id_for(other_checkout))
    assert ids.checkout_of_event(older["id"]) == other_checkout != checkout_id
    resent = resend(client, merchant, older["id"])
    assert resent.status_code == 200, resent.body
    assert api_json(resent)["checkout_id"] == checkout_id
    assert receiver.deliveries[-1]["headers"]["webhook-id"] == older["id"]


def test_another_merchants_event_and_made_up_ids_are_404(client, local_db, receiver):
    merchant = create_merchant(local_db, receiver.url)
    other = create_merchant(local_db, receiver.url)
    checkout_id, event = complete(client, local_db, merchant)
    older_checkout, older_event = complete(client, local_db, merchant)
    older = old_form(local_db, older_event, ids.new_id("evt"))
    sent = len(receiver.deliveries)
    for event_id in (event["id"], older["id"]):
        refused = resend(client, other, event_id)
        assert refused.status_code == 404 and api_json(refused)["error"]["param"] == "id"
    made_up = [
        ids.event_id_for("chk_" + "Q" * 27),  # names a checkout that does not exist
        ids.event_id_for(checkout_id),  # names a real checkout, which holds no such event
        "evt_" + "0" * 20,  # names no checkout, and no index entry
        "evt_nothing00000000000000",
        "evt_short",  # not an event id at all
    ]
    for event_id in made_up:
        response = resend(client, merchant, event_id)
        assert response.status_code == 404, (event_id, response.body)
        assert api_json(response)["error"]["param"] == "id"
    assert len(receiver.deliveries) == sent
