"""Event ids that name their checkout: the encode/decode pair in ``chalicelib.domain.ids``."""
import pytest

from chalicelib.domain import ids


@pytest.mark.parametrize("length", [1, 2, 9, 10, 20, 26, 27, 28, 34])
def test_an_event_id_names_its_checkout_at_every_checkout_id_length(length):
    checkout_id = "chk_" + ("z0" * 20)[:length]
    event_id = ids.event_id_for(checkout_id)
    assert ids.looks_like("evt", event_id)
    assert ids.checkout_of_event(event_id) == checkout_id
    random_part = event_id[len("evt_") + 1 + length:]
    assert len(random_part) >= 5 and len(event_id) - len("evt_") <= 40


def test_real_checkout_ids_round_trip_and_their_events_never_share_an_id():
    lengths = set()
    for _ in range(2000):
        checkout_id = ids.new_id("chk")
        lengths.add(len(checkout_id))
        event_id = ids.event_id_for(checkout_id)
        assert ids.looks_like("evt", event_id) and ids.checkout_of_event(event_id) == checkout_id
    assert len(lengths) > 1  # base62 drops leading zeros: the lengths do vary
    same_checkout = {ids.event_id_for("chk_" + "Z" * 27) for _ in range(5000)}
    assert len(same_checkout) == 5000


def test_a_checkout_id_too_long_or_of_another_form_gets_a_plain_random_id():
    for checkout_id in ("chk_" + "a" * 35, "cs_abcdefghijkl", "chk_", "chk_abc-def"):
        event_id = ids.event_id_for(checkout_id)
        assert ids.looks_like("evt", event_id)
        assert ids.checkout_of_event(event_id) != checkout_id


def test_an_older_random_id_decodes_to_nothing_or_to_some_other_checkout():
    decoded = [ids.checkout_of_event(ids.new_id("evt")) for _ in range(2000)]
    assert None in decoded  # e.g. a length character of 0, or longer than the id holds
    assert all(c is None or (c.startswith("chk_") and len(c) > len("chk_")) for c in decoded)


@pytest.mark.parametrize("value", [
    "evt_", "evt_0abcdefghijk", "evt_Zabcdefghij", "evt_3abc1234", "evt_3abc-1234567", "chk_3abcdefghijk",
    "evt_" + "3" * 41, "", "evt_5abcde1234",
])
def test_what_is_not_a_new_event_id_names_no_checkout(value):
    assert ids.checkout_of_event(value) is None
