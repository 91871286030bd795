"""Unguessable identifiers: a type prefix and 160 random bits in base62."""
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


def looks_like(prefix: str, value: str) -> bool:
    """A cheap shape check before touching the table with a shopper-supplied id."""
    body = value[len(prefix) + 1:]
    return (
        value.startswith(prefix + "_")
        and 10 <= len(body) <= 40
        and all(c in _ALPHABET for c in body)
    )
