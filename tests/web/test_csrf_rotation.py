"""Rotating the master key (``NEW,OLD`` in the parameter) leaves every open form working."""
from __future__ import annotations

import pytest

from chalicelib.adapters import secretbox
from chalicelib.web import csrf

OLD = "k3vBvlcAXgDuIGRVF6wR5r5cqUJ7ZHLFEaQ2Er3Pp8E="
NEW = "nq2J1qvJyzO7s9kx5WcQf8rYlG3bT0aHmXpVdE6uLwI="


@pytest.fixture
def master(monkeypatch):
    def use(keys: str) -> None:
        monkeypatch.setenv("CHECKOUT_SECRET_KEY", keys)
        secretbox.reset_cache()

    yield use
    secretbox.reset_cache()


def test_a_token_issued_before_the_rotation_still_verifies(master):
    master(OLD)
    token = csrf.issue("chk_rotation")
    master(f"{NEW},{OLD}")
    assert csrf.verify("chk_rotation", token), "an open form stopped working when the key rotated"
    assert not csrf.verify("chk_other", token)
    fresh = csrf.issue("chk_rotation")
    assert fresh != token and csrf.verify("chk_rotation", fresh)


def test_once_the_old_key_is_dropped_its_tokens_stop_verifying(master):
    master(OLD)
    token = csrf.issue("chk_rotation")
    master(NEW)
    assert not csrf.verify("chk_rotation", token)
