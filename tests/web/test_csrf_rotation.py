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


def test_a_dashboard_form_opened_before_the_rotation_still_posts(master):
    from chalicelib.web import dashboard_pages as dp

    def ctx(token: str = "") -> dp.Ctx:
        return dp.Ctx(request=None, store=None, base="https://pay.example", query={},  # type: ignore[arg-type]
                      cookies={dp.PRESESSION_COOKIE: "p" * 32}, form={"csrf_token": [token]} if token else {})

    master(OLD)
    token = ctx().csrf_token()
    master(f"{NEW},{OLD}")
    assert dp._csrf_ok(ctx(token)), "an open dashboard form stopped working when the key rotated"
    assert ctx().csrf_token() != token
    master(NEW)
    assert not dp._csrf_ok(ctx(token))
