"""Fixtures of the security suite: provider rigs, our app as the outside world reaches
it, a stand-in store for the pure verification path, and a frozen clock.

The figures table (``figures`` fixture, summary hook) lives in ``figures.py``,
loaded as a plugin from ``tests/conftest.py``.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from chalicelib.adapters import store
from chalicelib.domain import clock
from tests.security.rigs import RIGS, Rig, Web


class MemoryStore:
    """Just what adapters touch while verifying (their replay memory), counting writes.

    Anything else the pure path reached would be a state change: it fails loudly.
    """

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes = 0

    def remember(self, record: dict[str, Any]) -> bool:
        key = (record["pk"], record["sk"])
        if key in self.items:
            return False
        self.items[key] = record
        self.writes += 1
        return True

    def get_checkout(self, checkout_id: str) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"verifying a notification reached the store: {name}")


@pytest.fixture
def memory_store() -> Iterator[MemoryStore]:
    stand_in = MemoryStore()
    store.set_store(stand_in)  # type: ignore[arg-type]
    yield stand_in
    store.set_store(None)


@pytest.fixture
def web(client: Any) -> Web:
    """Our app through the Chalice test client."""
    return Web(client=client)


@pytest.fixture
def make_rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Rig]]:
    """``make_rig(provider, store, webhook_url)``: the provider's fake started and a merchant on it."""
    made: list[Rig] = []

    def make(provider: str, db: store.Store, webhook_url: str | None = None) -> Rig:
        rig = RIGS[provider](db, monkeypatch, webhook_url)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


@pytest.fixture
def freeze(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], int]:
    """``freeze(t)``: our clock stands at ``t`` seconds from then on (returns ``t``)."""

    def stand_at(now_s: int) -> int:
        monkeypatch.setattr(clock, "now_s", lambda: now_s)
        monkeypatch.setattr(clock, "now_ms", lambda: now_s * 1000)
        return now_s

    return stand_at
