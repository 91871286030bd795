"""chalicelib.lifetime: what is made for the container's lifetime is made with the collector
off and frozen out of its way afterwards; the collector is left as it was found."""
from __future__ import annotations

import gc

import pytest

from chalicelib.lifetime import container_lifetime


@pytest.fixture(autouse=True)
def collector_as_it_was():
    was = gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable() if was else gc.disable()


def test_the_collector_is_off_inside_and_on_again_after():
    gc.enable()
    with container_lifetime():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)


def test_what_was_made_inside_is_frozen():
    with container_lifetime():
        made = {"cycle": []}
        made["cycle"].append(made)
    assert gc.get_freeze_count() > 0
    assert not any(o is made for o in gc.get_objects()), "frozen objects are out of the collector's generations"


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with container_lifetime():
        pass
    assert not gc.isenabled()


def test_an_error_inside_still_turns_the_collector_back_on():
    gc.enable()
    with pytest.raises(RuntimeError), container_lifetime():
        raise RuntimeError("import failed")
    assert gc.isenabled()
