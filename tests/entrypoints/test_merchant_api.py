"""The merchant API: authentication, reads, listing, cancel, idempotency."""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.domain import clock
from tests.conftest import api_json, checkout_body, create_merchant


def create(client, merchant, headers=None, **overrides):
    response = client.http.post(
        "/api/checkouts", headers={**merchant.headers, **(headers or {})}, body=json.dumps(checkout_body(**overrides))
    )
    return response


@pytest.mark.parametrize("headers", [
    {},
    {"x-api-key": "sk_test_nope"},
    {"x-api-key": "hello"},
    {"authorization": "Bearer sk_test_wrong"},
    {"authorization": "Basic abc"},
])
def test_a_wrong_or_missing_key_is_401(client, merchant, headers):
    response = client.http.get("/api/checkouts", headers=headers)
    assert response.status_code == 401
    assert api_json(response)["error"]["code"] == "unauthorized"


def test_bearer_authorization_is_accepted(client, merchant):
    response = client.http.get("/api/checkouts", headers={"authorization": f"Bearer {merchant.api_key}"})
    assert response.status_code == 200


def test_another_merchants_checkout_is_not_found(client, db, merchant):
    created = api_json(create(client, merchant))
    other = create_merchant(db)
    for method, path in (("get", f"/api/checkouts/{created['id']}"), ("post", f"/api/checkouts/{created['id']}/cancel")):
        response = getattr(client.http, method)(path, headers=other.headers)
        assert response.status_code == 404
    assert api_json(client.http.get(f"/api/checkouts/{created['id']}", headers=merchant.headers))["status"] == "open"


def test_create_returns_the_spec_object(client, merchant):
    response = create(client, merchant, customer={"name": "홍길동", "email": "h@example.com", "phone": "010-1234-5678"},
                      metadata={"order": "123"})
    assert response.status_code == 201
    body = api_json(response)
    assert body["id"].startswith("chk_") and len(body["id"]) >= 26
    assert body["url"].endswith(f"/c/{body['id']}")
    assert body["customer"]["name"] == "홍길동" and body["metadata"] == {"order": "123"}
    assert body["provider"] == "sandbox" and body["payment"] is None
    assert body["created_at"].endswith("Z") and body["expires_at"] > body["created_at"]
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["content-type"].startswith("application/json")
    assert headers["cache-control"] == "no-store"


def test_ids_are_unguessable(client, merchant):
    ids = {api_json(create(client, merchant))["id"] for _ in range(5)}
    assert len(ids) == 5


def test_unknown_checkout_is_a_json_404(client, merchant):
    for checkout_id in ("chk_doesnotexist000000000", "nonsense", "chk_" + "A" * 100):
        response = client.http.get(f"/api/checkouts/{checkout_id}", headers=merchant.headers)
        assert response.status_code == 404
        assert api_json(response)["error"]["code"] == "not_found"


def test_an_open_checkout_past_expiry_reads_as_expired(client, merchant, monkeypatch):
    created = api_json(create(client, merchant, expires_in=1800))
    real_now = clock.now_s()
    monkeypatch.setattr(clock, "now_s", lambda: real_now + 1801)
    assert api_json(client.http.get(f"/api/checkouts/{created['id']}", headers=merchant.headers))["status"] == "expired"
    listed = api_json(client.http.get("/api/checkouts?status=expired", headers=merchant.headers))
    assert [c["id"] for c in listed["data"]] == [created["id"]]


def test_list_is_newest_first_and_paginates(client, merchant, monkeypatch):
    base = clock.now_s()
    made = []
    for i in range(5):
        monkeypatch.setattr(clock, "now_s", lambda i=i: base + i)
        made.append(api_json(create(client, merchant))["id"])
    page1 = api_json(client.http.get("/api/checkouts?limit=2", headers=merchant.headers))
    assert page1["object"] == "list" and page1["has_more"] is True
    assert [c["id"] for c in page1["data"]] == made[::-1][:2]
    page2 = api_json(client.http.get(f"/api/checkouts?limit=2&starting_after={page1['data'][-1]['id']}", headers=merchant.headers))
    assert [c["id"] for c in page2["data"]] == made[::-1][2:4] and page2["has_more"] is True
    page3 = api_json(client.http.get(f"/api/checkouts?limit=2&starting_after={page2['data'][-1]['id']}", headers=merchant.headers))
    assert [c["id"] for c in page3["data"]] == made[:1] and page3["has_more"] is False


def test_list_filters_by_status(client, merchant):
    a = api_json(create(client, merchant))["id"]
    b = api_json(create(client, merchant))["id"]
    client.http.post(f"/api/checkouts/{a}/cancel", headers=merchant.headers)
    cancelled = api_json(client.http.get("/api/checkouts?status=cancelled", headers=merchant.headers))["data"]
    opened = api_json(client.http.get("/api/checkouts?status=open", headers=merchant.headers))["data"]
    assert [c["id"] for c in cancelled] == [a] and [c["id"] for c in opened] == [b]


@pytest.mark.parametrize("query,param", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"),
    ("status=paid", "status"), ("starting_after=chk_nothere000000000000", "starting_after"), ("sort=asc", "sort"),
])
def test_list_rejects_bad_queries(client, merchant, query, param):
    response = client.http.get(f"/api/checkouts?{query}", headers=merchant.headers)
    assert response.status_code == 400
    assert api_json(response)["error"]["param"] == param


def test_cancel_then_cancel_again_is_409(client, merchant, receiver):
    checkout_id = api_json(create(client, merchant))["id"]
    first = client.http.post(f"/api/checkouts/{checkout_id}/cancel", headers=merchant.headers)
    assert first.status_code == 200 and api_json(first)["status"] == "cancelled"
    again = client.http.post(f"/api/checkouts/{checkout_id}/cancel", headers=merchant.headers)
    assert again.status_code == 409 and api_json(again)["error"]["code"] == "checkout_state_conflict"
    events = [e["type"] for e in receiver.verified(merchant.webhook_secret)]
    assert events == ["checkout.cancelled"]


def test_idempotency_key_replays_the_first_response(client, merchant):
    first = create(client, merchant, headers={"idempotency-key": "order-123-try"})
    second = create(client, merchant, headers={"idempotency-key": "order-123-try"})
    assert first.status_code == second.status_code == 201
    assert api_json(first) == api_json(second)
    listed = api_json(client.http.get("/api/checkouts", headers=merchant.headers))["data"]
    assert len(listed) == 1


def test_idempotency_key_with_another_body_is_409(client, merchant):
    create(client, merchant, headers={"idempotency-key": "k1"})
    response = create(client, merchant, headers={"idempotency-key": "k1"}, client_reference_id="other")
    assert response.status_code == 409
    assert api_json(response)["error"]["code"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_merchant(client, db, merchant):
    other = create_merchant(db)
    a = api_json(create(client, merchant, headers={"idempotency-key": "same"}))
    b = api_json(create(client, other, headers={"idempotency-key": "same"}))
    assert a["id"] != b["id"]


def test_idempotency_window_is_24_hours(client, merchant, monkeypatch):
    first = api_json(create(client, merchant, headers={"idempotency-key": "daily"}))
    later = clock.now_s() + 86401
    monkeypatch.setattr(clock, "now_s", lambda: later)
    second = api_json(create(client, merchant, headers={"idempotency-key": "daily"}))
    assert second["id"] != first["id"]


def test_idempotency_key_longer_than_255_is_400(client, merchant):
    response = create(client, merchant, headers={"idempotency-key": "k" * 256})
    assert response.status_code == 400 and api_json(response)["error"]["param"] == "Idempotency-Key"


def test_concurrent_requests_with_one_key_create_one_checkout(live_server, local_db, receiver):
    # DynamoDB Local: moto's transact_write_items is not thread-safe, and this is a race.
    import requests

    merchant = create_merchant(local_db, receiver.url)

    def post(_):
        return requests.post(f"{live_server.url}/api/checkouts", headers={**merchant.headers, "idempotency-key": "race"},
                             data=json.dumps(checkout_body()), timeout=30)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    assert all(r.status_code in (201, 409) for r in responses)
    listed = requests.get(f"{live_server.url}/api/checkouts", headers=merchant.headers, timeout=10).json()["data"]
    assert len(listed) == 1


def test_health_reports_the_table(client, db):
    response = client.http.get("/health")
    assert response.status_code == 200 and api_json(response) == {"ok": True}


def test_health_is_503_when_the_table_is_gone(client, db):
    from chalicelib.adapters import store

    store.set_store(store.Store(db.client, "no-such-table"))
    response = client.http.get("/health")
    assert response.status_code == 503 and api_json(response)["error"]["code"] == "service_unavailable"


def test_unexpected_errors_are_a_generic_500_without_internals(client, merchant, monkeypatch):
    from chalicelib.usecases import checkouts

    def boom(*args, **kwargs):
        raise KeyError("secret_internal_name")

    monkeypatch.setattr(checkouts, "read", boom)
    response = client.http.get("/api/checkouts/chk_whatever000000000000", headers=merchant.headers)
    assert response.status_code == 500
    text = response.body.decode()
    assert api_json(response)["error"]["code"] == "internal_error"
    assert "secret_internal_name" not in text and "Traceback" not in text
