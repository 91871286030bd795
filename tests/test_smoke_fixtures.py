from tests.conftest import api_json, checkout_body


def test_create_and_read_a_checkout_through_the_api(client, merchant):
    created = client.http.post("/api/checkouts", headers=merchant.headers, body=__import__("json").dumps(checkout_body()))
    assert created.status_code == 201, created.body
    checkout = api_json(created)
    read = client.http.get(f"/api/checkouts/{checkout['id']}", headers=merchant.headers)
    assert api_json(read)["amount_total"] == 22000
