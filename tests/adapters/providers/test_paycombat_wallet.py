"""The PayCombat wallet: found or created when a merchant is onboarded, its balance at GET /api/balance."""
from __future__ import annotations

import json
import os

import pytest

from chalicelib import config as checkout_config
from chalicelib.domain.errors import InvalidRequest, ProviderFailed
from chalicelib.entrypoints import admin
from chalicelib.usecases import merchants
from tests.adapters.providers.fake_paycombat import FakePayCombat
from tests.conftest import api_json, create_merchant


@pytest.fixture
def fake(monkeypatch):
    server = FakePayCombat()
    monkeypatch.setenv("PAYCOMBAT_API_BASE", server.url)
    checkout_config.settings.cache_clear()
    yield server
    server.close()


@pytest.fixture
def stage_env(monkeypatch):
    """admin.run loads the dev stage's variables into os.environ; undo that after the test."""
    config = json.loads((checkout_config.PROJECT_DIR / ".chalice" / "config.json").read_text())
    names = set(config.get("environment_variables", {})) | set(config["stages"]["dev"]["environment_variables"])
    for name in names:
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.setenv(name, "")
            monkeypatch.delenv(name)


def onboard_with_cli(fake, merchant_id, x_token=None):
    return admin.run([
        "merchant", "create", "--id", merchant_id, "--name", "페이컴뱃 상점", "--provider", "paycombat",
        "--credential", f"x_token={x_token or fake.x_token}", "--credential", f"signature_key={fake.signature_key}",
    ])


# --- onboarding ----------------------------------------------------------------------

def test_onboarding_creates_the_wallet_when_the_account_has_none(db, fake, stage_env):
    created = onboard_with_cli(fake, "pc-shop-one")

    merchant = merchants.get(db, "pc-shop-one")
    (wallet,) = fake.wallets
    assert created["merchant_id"] == "pc-shop-one"
    assert merchant is not None and merchant.wallet_id == wallet["wallet_id"]
    (create,) = fake.requests_to("POST", "/wallet/create")
    assert json.loads(create.body) == {
        "customer_id": "pc-shop-one", "currency": "KRW", "currency_list": ["KRW"], "description": "hosted checkout pc-shop-one",
    }
    assert fake.rejections == []


def test_onboarding_finds_the_accounts_wallet_instead_of_making_another(db, fake, stage_env):
    onboard_with_cli(fake, "pc-shop-one")
    onboard_with_cli(fake, "pc-shop-two")

    (wallet,) = fake.wallets
    assert merchants.get(db, "pc-shop-two").wallet_id == wallet["wallet_id"]
    assert len(fake.requests_to("POST", "/wallet/create")) == 1
    assert len(fake.requests_to("GET", f"/wallet/{wallet['wallet_id']}")) == 1   # found by list, confirmed by get


def test_onboarding_reuses_an_existing_krw_wallet_but_not_an_inactive_one(db, fake):
    fake.add_wallet(["KRW"], active=False)
    fake.add_wallet(["USD"])
    existing = fake.add_wallet(["USD", "KRW"])

    handle = create_merchant(db, None, provider="paycombat",
                             credentials={"x_token": fake.x_token, "signature_key": fake.signature_key})

    assert handle.merchant.wallet_id == existing["wallet_id"]
    assert fake.requests_to("POST", "/wallet/create") == []


def test_onboarding_with_an_inactive_wallet_only_creates_a_new_one(db, fake):
    inactive = fake.add_wallet(["KRW"], active=False)
    handle = create_merchant(db, None, provider="paycombat",
                             credentials={"x_token": fake.x_token, "signature_key": fake.signature_key})
    assert handle.merchant.wallet_id not in (None, inactive["wallet_id"])
    assert len(fake.wallets) == 2


def test_a_provider_outage_during_onboarding_leaves_no_merchant(db, fake, stage_env, capsys):
    fake.faults = ["500", "500", "500"]

    with pytest.raises(ProviderFailed) as failed:
        onboard_with_cli(fake, "pc-shop-down")

    assert "Nothing was created here" in failed.value.message
    assert merchants.get(db, "pc-shop-down") is None
    assert fake.wallets == []


def test_refused_credentials_give_a_clear_error_without_the_secret(db, fake, stage_env, capsys):
    status = admin.main([
        "merchant", "create", "--id", "pc-shop-bad", "--name", "x", "--provider", "paycombat",
        "--credential", "x_token=snd_wrong_token_value", "--credential", f"signature_key={fake.signature_key}",
    ])

    assert status == 2
    error = json.loads(capsys.readouterr().err.strip().splitlines()[-1])["error"]
    assert error["code"] == "provider_onboarding_failed" and error["param"] == "credential"
    assert "snd_wrong_token_value" not in json.dumps(error) and fake.signature_key not in json.dumps(error)
    assert merchants.get(db, "pc-shop-bad") is None
    assert fake.rejections == [(401, "Unauthenticated: X-token is missing or wrong")]


def test_credentials_are_stored_encrypted(db, fake):
    handle = create_merchant(db, None, provider="paycombat",
                             credentials={"x_token": fake.x_token, "signature_key": fake.signature_key})
    raw = json.dumps(db.get(f"MERCHANT#{handle.id}", "MERCHANT"), default=str)
    assert fake.x_token not in raw and fake.signature_key not in raw
    assert handle.merchant.credentials() == {"x_token": fake.x_token, "signature_key": fake.signature_key}


@pytest.mark.parametrize("credentials", [
    {"x_token": "snd_token"},
    {"x_token": "snd_token", "signature_key": ""},
    {"x_token": "snd_token ", "signature_key": "key"},
    {"x_token": "snd_token", "signature_key": "key\n"},
])
def test_onboarding_checks_credentials_before_calling_paycombat(db, fake, credentials):
    with pytest.raises(InvalidRequest) as refused:
        create_merchant(db, None, provider="paycombat", credentials=credentials)
    assert refused.value.param == "credential"
    assert fake.requests == []


# --- GET /api/balance ----------------------------------------------------------------

@pytest.fixture
def shop(db, fake):
    return create_merchant(db, None, provider="paycombat",
                           credentials={"x_token": fake.x_token, "signature_key": fake.signature_key})


def test_balance_shows_the_wallet_in_int_minor_units(client, shop, fake):
    fake.credit(shop.merchant.wallet_id, "KRW", available=150000, actual=172000)

    response = client.http.get("/api/balance", headers=shop.headers)

    assert response.status_code == 200
    assert api_json(response) == {
        "object": "balance",
        "provider": "paycombat",
        "wallet_id": shop.merchant.wallet_id,
        "livemode": False,
        "available": [{"amount": 150000, "currency": "KRW"}],
        "total": [{"amount": 172000, "currency": "KRW"}],
    }


def test_balance_needs_the_merchants_api_key(client, shop):
    assert client.http.get("/api/balance").status_code == 401


def test_balance_for_a_provider_without_a_wallet_is_422(client, db):
    sandbox = create_merchant(db, None)
    response = client.http.get("/api/balance", headers=sandbox.headers)
    assert response.status_code == 422
    assert api_json(response)["error"]["code"] == "balance_not_supported"


@pytest.mark.parametrize("fault", [["500", "500", "500"], ["garbage"]])
def test_a_provider_error_is_a_502_in_our_error_shape(client, shop, fake, fault):
    fake.faults = list(fault)
    response = client.http.get("/api/balance", headers=shop.headers)
    assert response.status_code == 502
    assert api_json(response) == {"error": {"code": "provider_error",
                                            "message": "paycombat did not answer with the balance; try again."}}


def test_an_inexact_balance_is_a_502_not_a_rounded_number(client, shop, fake):
    fake.credit(shop.merchant.wallet_id, "KRW", available=150000.5, actual=150000)
    assert client.http.get("/api/balance", headers=shop.headers).status_code == 502
