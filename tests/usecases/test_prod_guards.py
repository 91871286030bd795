"""What production refuses: provider test keys (they would pick the provider's sandbox and take
no real money), and URLs for providers built from a Host header the client chose."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from chalicelib import config
from chalicelib.adapters import providers
from chalicelib.adapters.providers import base as pb
from chalicelib.domain.errors import InvalidRequest, ServiceUnavailable
from chalicelib.usecases import merchants
from chalicelib.web import views

TEST_KEYS = {
    "koreacheckout": {"api_key": "sk_test_" + "a" * 16, "webhook_secret": "kc_secret"},
    "clink": {"api_key": "sk_test_" + "b" * 16, "webhook_secret": "whsec_test_signing_secret_0001"},
    "paycombat": {"x_token": "snd_eyJpdiI6InRlc3QifQ==", "signature_key": "sig_key"},
}
LIVE_KEYS = {
    "koreacheckout": {"api_key": "sk_live_" + "a" * 16, "webhook_secret": "kc_secret"},
    "clink": {"api_key": "sk_prod_" + "b" * 16, "webhook_secret": "whsec_live_signing_secret_0001"},
}


@pytest.fixture
def stage(monkeypatch):
    def use(name: str, **env: str) -> None:
        monkeypatch.setenv("CHECKOUT_STAGE", name)
        monkeypatch.delenv("CHECKOUT_PUBLIC_URL", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        config.settings.cache_clear()

    yield use
    config.settings.cache_clear()


@pytest.mark.parametrize("provider", sorted(TEST_KEYS))
def test_provider_test_keys_are_refused_in_prod(db, stage, provider):
    stage("prod")
    with pytest.raises(InvalidRequest) as refused:
        merchants.create(db, merchant_id=f"m-test-{provider}", name="Shop", provider=provider,
                         credentials=TEST_KEYS[provider], allowed_hosts=["shop.example"])
    assert "test" in refused.value.message.lower() and refused.value.param == "credential"
    # One made before this rule (or in the table by hand) cannot take a payment either.
    with pytest.raises(pb.ProviderRejected):
        providers.build(provider, "m-old", TEST_KEYS[provider], "https://pay.example")


@pytest.mark.parametrize("provider", sorted(LIVE_KEYS))
def test_live_keys_are_taken_in_prod_and_test_keys_in_dev(db, stage, provider):
    stage("prod")
    assert providers.build(provider, "m-live", LIVE_KEYS[provider], "https://pay.example").name == provider
    stage("dev")
    assert providers.build(provider, "m-dev", TEST_KEYS[provider], "https://pay.example").name == provider


def request(host: str, context: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(headers={"host": host, "x-forwarded-proto": "http"}, context=context or {})


def test_in_prod_without_a_public_url_the_host_header_never_chooses_the_urls(stage):
    stage("prod")
    gateway = {"domainName": "abc123.execute-api.ap-northeast-2.amazonaws.com", "stage": "api"}
    assert views.public_base(request("evil.example", gateway)) == \
        "https://abc123.execute-api.ap-northeast-2.amazonaws.com/api"
    with pytest.raises(ServiceUnavailable):
        views.public_base(request("evil.example"))


def test_the_configured_public_url_wins_and_dev_still_derives_from_the_request(stage):
    stage("prod", CHECKOUT_PUBLIC_URL="https://pay.example.com/")
    assert views.public_base(request("evil.example")) == "https://pay.example.com"
    stage("dev")
    assert views.public_base(request("127.0.0.1:8000")) == "http://127.0.0.1:8000"
