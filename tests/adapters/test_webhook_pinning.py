"""DNS rebinding between the guard's lookup and the connection: a delivery connects to the
address the guard checked, never to whatever the name resolves to a moment later."""
from __future__ import annotations

import socket
from typing import Any

import pytest

from chalicelib.adapters import netguard, webhooks


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``rebind.test`` answers 127.0.0.1 to the first lookup and 127.0.0.2 to every later one."""
    answers: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            address = "127.0.0.1" if not answers else "127.0.0.2"
            answers.append(address)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def event() -> dict[str, Any]:
    return {"id": "evt_pin", "merchant_id": "m", "payload": '{"type":"checkout.completed"}'}


def test_the_delivery_goes_to_the_address_the_guard_checked(receiver, rebinding, monkeypatch):
    monkeypatch.setenv("CHECKOUT_ALLOW_INSECURE_WEBHOOKS", "1")
    from chalicelib import config

    config.settings.cache_clear()
    url = receiver.url.replace("127.0.0.1", "rebind.test")
    status = webhooks.send(url, "whsec_" + "A" * 32, event(), (2.0, 3.0))
    assert status == 204, "the delivery did not reach the checked address"
    assert rebinding == ["127.0.0.1"], "the name was looked up again after the check"
    (delivery,) = receiver.deliveries
    assert delivery["headers"]["Host"] == url.split("/")[2]  # the merchant's name, not the address
    config.settings.cache_clear()


def test_check_url_returns_the_addresses_it_checked(fake_dns):
    assert netguard.check_url("https://hooks.shop.example/x", allow_loopback_http=False) == [
        netguard.ipaddress.ip_address("93.184.216.35")]
