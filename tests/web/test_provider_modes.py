"""The checkout page's ``form-action`` names the provider's hosts for the merchant's kind of
credentials (test: the sandbox's, live: production's), and works that out without
decrypting them: the credentials' mode is kept in clear beside them, and a merchant
stored before that is read from its credentials instead."""
from __future__ import annotations

import json

import pytest

from chalicelib.adapters import secretbox
from chalicelib.usecases import merchants
from tests.conftest import api_json, checkout_body, create_merchant

KC_TEST = {"api_key": "sk_test_" + "k" * 24, "webhook_secret": "kc_whsec_" + "s" * 24}
KC_LIVE_KEY = "sk_live_" + "l" * 24
SANDBOX_API, LIVE_API, KC_PAGE = ("https://sandbox-api.koreacheckout.com", "https://api.koreacheckout.com",
                                  "https://checkout.koreacheckout.com")


def form_action(client, handle) -> set[str]:
    created = api_json(client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body())))
    page = client.http.get(f"/c/{created['id']}")
    assert page.status_code == 200, page.body[:300]
    directive = next(d for d in page.headers["Content-Security-Policy"].split("; ") if d.startswith("form-action"))
    return set(directive.split()[1:])


def stored_item(db, merchant_id: str) -> dict:
    return db.client.get_item(TableName=db.table, Key={"pk": {"S": f"MERCHANT#{merchant_id}"}, "sk": {"S": "MERCHANT"}},
                              ConsistentRead=True)["Item"]


def refuse_decryption(monkeypatch) -> None:
    def refuse(token: str) -> str:
        raise AssertionError("the checkout page decrypted a secret")

    monkeypatch.setattr(secretbox, "decrypt", refuse)
    merchants._test_mode_of.cache_clear()


def test_the_mode_is_stored_in_clear_and_the_credentials_are_not(db):
    handle = create_merchant(db, provider="koreacheckout", credentials=KC_TEST)
    item = stored_item(db, handle.merchant.id)
    assert item["provider_modes"] == {"M": {"koreacheckout": {"S": "test"}}}
    raw = json.dumps(item)
    assert KC_TEST["api_key"] not in raw and KC_TEST["webhook_secret"] not in raw


def test_test_keys_let_the_form_reach_the_sandbox_hosts_only_without_decrypting(client, db, monkeypatch):
    handle = create_merchant(db, provider="koreacheckout", credentials=KC_TEST)
    refuse_decryption(monkeypatch)
    allowed = form_action(client, handle)
    assert {SANDBOX_API, KC_PAGE, "https://shop.example"} <= allowed
    assert LIVE_API not in allowed


def test_new_live_keys_move_the_form_to_the_live_host(client, db, monkeypatch):
    handle = create_merchant(db, provider="koreacheckout", credentials=KC_TEST)
    assert SANDBOX_API in form_action(client, handle)
    updated = merchants.update_credentials(db, handle.merchant.id, {"api_key": KC_LIVE_KEY})
    refuse_decryption(monkeypatch)
    assert updated.provider_modes == {"koreacheckout": "live"}
    assert stored_item(db, handle.merchant.id)["provider_modes"] == {"M": {"koreacheckout": {"S": "live"}}}
    allowed = form_action(client, handle)
    assert {LIVE_API, KC_PAGE} <= allowed and SANDBOX_API not in allowed


@pytest.mark.parametrize(("api_key", "host", "not_host"), [
    (KC_TEST["api_key"], SANDBOX_API, LIVE_API),
    (KC_LIVE_KEY, LIVE_API, SANDBOX_API),
])
def test_a_merchant_stored_before_the_modes_gets_them_from_its_credentials(client, db, api_key, host, not_host):
    handle = create_merchant(db, provider="koreacheckout", credentials={**KC_TEST, "api_key": api_key})
    db.client.update_item(TableName=db.table, Key={"pk": {"S": f"MERCHANT#{handle.merchant.id}"}, "sk": {"S": "MERCHANT"}},
                          UpdateExpression="REMOVE provider_modes")
    merchants._merchants.clear()
    assert "provider_modes" not in stored_item(db, handle.merchant.id)
    allowed = form_action(client, handle)
    assert {host, KC_PAGE} <= allowed and not_host not in allowed
