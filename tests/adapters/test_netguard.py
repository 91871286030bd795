"""Webhook URLs never point our servers at private networks (SSRF)."""
import pytest

from chalicelib.adapters import netguard
from chalicelib.domain.errors import InvalidRequest
from tests.conftest import create_merchant


@pytest.fixture
def prod_like(monkeypatch):
    monkeypatch.setenv("CHECKOUT_ALLOW_INSECURE_WEBHOOKS", "0")


REFUSED = [
    "http://127.0.0.1:9000/hooks",
    "https://127.0.0.1/hooks",
    "https://localhost/hooks",
    "https://10.0.0.1/hooks",
    "https://10.255.1.2:8443/hooks",
    "https://172.16.5.4/hooks",
    "https://192.168.0.10/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",
    "https://100.64.0.1/hooks",
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "https://internal.example/hooks",
    "https://rebind.example/hooks",
    "http://shop.example/hooks",
    "https://user:pw@shop.example/hooks",
    "https://does-not-resolve.invalid/hooks",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_insecure_webhook_urls_are_refused(db, fake_dns, prod_like, url):
    fake_dns["internal.example"] = "10.1.2.3"
    fake_dns["rebind.example"] = "169.254.169.254"
    with pytest.raises(InvalidRequest) as refused:
        create_merchant(db, url)
    assert refused.value.param == "webhook_url"


def test_a_public_https_url_is_accepted(db, fake_dns, prod_like):
    assert create_merchant(db, "https://hooks.shop.example/events").merchant.webhook_url == "https://hooks.shop.example/events"


def test_loopback_http_is_allowed_only_where_the_stage_allows_it(db, monkeypatch):
    monkeypatch.setenv("CHECKOUT_ALLOW_INSECURE_WEBHOOKS", "1")
    assert create_merchant(db, "http://127.0.0.1:9000/hooks").merchant.webhook_url
    with pytest.raises(InvalidRequest):
        create_merchant(db, "http://10.0.0.1:9000/hooks")


def test_a_name_that_turns_private_after_onboarding_is_not_delivered_to(client, db, fake_dns, prod_like, receiver):
    """DNS rebinding: the check runs again right before every delivery."""
    from chalicelib.adapters import webhooks
    from chalicelib.usecases import events

    merchant = create_merchant(db, "https://hooks.shop.example/events")
    fake_dns["hooks.shop.example"] = "127.0.0.1"
    event = webhooks.new_event_record("chk_x000000000000000", merchant.id, "checkout.completed", "checkout.completed", {}, 0)
    event.update(pk="EVT#test", sk="EVT")
    db.put_new(event)
    recorded = events.deliver(db, merchant.merchant, event, first=True)
    assert recorded["attempts"] == 1 and recorded.get("last_response_code") is None
    assert receiver.deliveries == []


@pytest.mark.parametrize("address,public", [
    ("93.184.216.34", True), ("2606:2800:220:1::1", True),
    ("10.0.0.1", False), ("127.0.0.1", False), ("169.254.169.254", False), ("::1", False),
    ("fd12::1", False), ("100.64.1.1", False), ("::ffff:192.168.1.1", False), ("192.0.2.1", False),
])
def test_address_classification(address, public):
    import ipaddress

    assert netguard._is_public(ipaddress.ip_address(address)) is public
