"""What the app asks of every adapter beyond payments: hosted-page origins for the CSP,
credential checks at onboarding, and how notification-time read failures are answered."""
import json

import pytest
from cryptography.fernet import Fernet

from chalicelib.domain.errors import InvalidRequest
from tests.conftest import api_json, checkout_body, create_merchant


def test_a_payfect_secret_that_is_not_a_fernet_key_is_refused_at_onboarding(db):
    with pytest.raises(InvalidRequest) as refused:
        create_merchant(db, provider="payfect", credentials={"api_key": "pk", "secret_key": "not-a-fernet-key"})
    assert refused.value.param == "credential" and "not-a-fernet-key" not in refused.value.message
    create_merchant(db, provider="payfect", credentials={"api_key": "pk", "secret_key": Fernet.generate_key().decode()})


@pytest.mark.parametrize("api_key,origin", [
    ("sk_test_abc", "https://uat-checkout.clinkbill.com"),
    ("sk_prod_abc", "https://checkout.clinkbill.com"),
])
def test_the_checkout_page_lets_its_form_land_on_the_providers_hosted_page(client, db, api_key, origin):
    merchant = create_merchant(db, provider="clink", credentials={"api_key": api_key, "webhook_secret": "whsec_" + "x" * 32})
    created = api_json(client.http.post("/api/checkouts", headers=merchant.headers,
                                        body=json.dumps(checkout_body(currency="USD", customer={"email": "a@b.example"}))))
    page = client.http.get(f"/c/{created['id']}")
    form_action = [d for d in page.headers["Content-Security-Policy"].split("; ") if d.startswith("form-action")][0]
    assert origin in form_action.split() and "https://shop.example" in form_action.split()


def test_a_notification_for_a_session_the_provider_does_not_know_is_acknowledged_and_ignored(client, db):
    from chalicelib.adapters.providers import sandbox
    from chalicelib.domain import clock

    merchant = create_merchant(db)
    body = json.dumps({"type": "session.updated", "session_id": "sbx_unknown000000000000",
                       "checkout_id": "chk_unknown000000000000"}).encode()
    response = client.http.post(f"/webhooks/sandbox/{merchant.id}", body=body, headers={
        "content-type": "application/json", sandbox.SIGNATURE_HEADER: sandbox.sign(merchant.id, body, clock.now_s())})
    assert response.status_code == 200 and api_json(response)["ignored"] is True
