"""CSRF tokens for the shopper's forms: an HMAC of the form's subject under a derived key.

A token is bound to one checkout (or sandbox session) and carries its issue
time; it stays good while that checkout can be paid (at most 7 days), so a tab
left open is not punished — nor by a master-key rotation: tokens made under a
previous key (still listed after the new one) verify too.
"""
from __future__ import annotations

import hashlib
import hmac

from chalicelib.adapters import secretbox
from chalicelib.domain import clock

MAX_AGE_S = 8 * 86400


def _mac(key: bytes, subject: str, issued_s: int) -> str:
    return hmac.new(key, f"{subject}|{issued_s}".encode(), hashlib.sha256).hexdigest()[:40]


def issue(subject: str) -> str:
    now = clock.now_s()
    return f"{now}.{_mac(secretbox.derived_key('csrf'), subject, now)}"


def verify(subject: str, token: str) -> bool:
    issued, _, mac = (token or "").partition(".")
    if not issued.isdigit() or not mac:
        return False
    age = clock.now_s() - int(issued)
    if not -60 <= age <= MAX_AGE_S:
        return False
    # Under every master key (newest first): rotating the key does not void the forms open now.
    matched = False
    for key in secretbox.derived_keys("csrf"):
        matched |= hmac.compare_digest(_mac(key, subject, int(issued)), mac)
    return matched
