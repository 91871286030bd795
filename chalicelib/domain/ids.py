"""Unguessable identifiers: a type prefix and 160 random bits in base62.

A merchant event's id also says which checkout it belongs to (``event_id_for``,
``checkout_of_event``), so the event is found by its id with one read of that checkout's
events and needs no index entry of its own.
"""
from __future__ import annotations

import secrets

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str, nbytes: int = 20) -> str:
    n = int.from_bytes(secrets.token_bytes(nbytes), "big")
    chars = []
    while n:
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return f"{prefix}_{''.join(reversed(chars)) or '0'}"


# An event id's body: one base62 character saying how long the checkout id's body is, that
# body, then random characters (at least _EVENT_RANDOM_MIN, as many as fit in 40, at most
# _EVENT_RANDOM). A checkout id's body has no fixed length (base62 drops leading zeros),
# hence the length character. The checkout part is in every event's payload already.
_EVENT_RANDOM = 12
_EVENT_RANDOM_MIN = 5
_BODY_MAX = 40


def event_id_for(checkout_id: str) -> str:
    """A new event id for one of ``checkout_id``'s events: unique by the checkout and the random part."""
    body = checkout_id.removeprefix("chk_")
    room = _BODY_MAX - 1 - len(body)
    if not checkout_id.startswith("chk_") or not body or room < _EVENT_RANDOM_MIN or not all(c in _ALPHABET for c in body):
        return new_id("evt")  # a checkout id of another form: a random id, located the old way
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(min(_EVENT_RANDOM, room)))
    return f"evt_{_ALPHABET[len(body)]}{body}{random_part}"


def checkout_of_event(event_id: str) -> str | None:
    """The checkout an event id names, or None when it names none (an older, wholly random id
    may still decode to some checkout id: the caller checks that checkout holds the event)."""
    if not looks_like("evt", event_id):
        return None
    body = event_id[len("evt_"):]
    length = _ALPHABET.index(body[0])
    if length == 0 or len(body) < 1 + length + _EVENT_RANDOM_MIN:
        return None
    return "chk_" + body[1:1 + length]


def looks_like(prefix: str, value: str) -> bool:
    """A cheap shape check before touching the table with a shopper-supplied id."""
    body = value[len(prefix) + 1:]
    return (
        value.startswith(prefix + "_")
        and 10 <= len(body) <= 40
        and all(c in _ALPHABET for c in body)
    )
