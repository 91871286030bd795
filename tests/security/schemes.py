"""Each provider's notification scheme as an attacker sees it, and hypothesis strategies
of forgeries against it.

A ``Scheme`` knows how a genuine notification is signed (or keyed) and what the
adapter treats as *the same* proof or body: hex digests are case-insensitive,
base64 has padding bits, PayCombat signs ``JSON.stringify(data)`` rather than
bytes, Payfect compares parsed JSON, Clink signs ``timestamp.body`` and its digest
may come in hex or base64. A forgery is a request that is not, under those rules, the genuine one:
changed bytes, a wrong secret, a missing or duplicated proof header, a timestamp
outside the window. Changes the scheme cannot see (``A`` for ``a`` in a hex
digest) are the same request, not forgeries, and are skipped with ``assume``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from cryptography.fernet import Fernet
from hypothesis import assume
from hypothesis import strategies as st

from chalicelib.adapters import secretbox
from chalicelib.adapters.providers import jsonstringify, payfect, sandbox
from chalicelib.adapters.providers import koreacheckout as kc
from chalicelib.adapters.providers import paycombat as pc

CONTENT_TYPE = {"content-type": "application/json"}


@dataclass
class Forgery:
    kind: str                        # the class of forgery, for the tally
    headers: dict[str, str]
    body: bytes
    detail: str = ""


class Scheme:
    name = ""
    # Headers whose value is the proof (a signature, the API key).
    proof_headers: tuple[str, ...] = ()
    # Headers an attacker could leave out (the proof, and a timestamp where it is separate).
    removable: tuple[str, ...] = ()
    # Accepted age of the timestamp, in seconds: (oldest in the past, latest in the future); None: no timestamp.
    window: tuple[int, int] | None = None

    def __init__(self, body: bytes, secret: str, now_s: int) -> None:
        self.body, self.secret, self.now_s = body, secret, now_s

    def sign(self, body: bytes, secret: str, at_s: int) -> dict[str, str]:
        raise NotImplementedError

    def genuine(self) -> Forgery:
        return Forgery("genuine", self.sign(self.body, self.secret, self.now_s), self.body)

    def at(self, offset_s: int) -> Forgery:
        """The genuine notification, honestly signed, but stamped ``offset_s`` from now."""
        return Forgery("timestamp", self.sign(self.body, self.secret, self.now_s + offset_s), self.body, f"{offset_s:+d} s")

    def same_body(self, a: bytes, b: bytes) -> bool:
        return a == b

    def same_proof(self, name: str, a: str, b: str) -> bool:
        return a == b

    def other_secrets(self) -> st.SearchStrategy[str]:
        return st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=48).filter(
            lambda s: s != self.secret)

    def boundaries(self) -> tuple[list[Forgery], list[Forgery]]:
        """(forgeries just outside the window, genuine ones just inside it)."""
        if self.window is None:
            return [], []
        past, future = self.window
        return [self.at(-(past + 1)), self.at(future + 1)], [self.at(-(past - 1)), self.at(future - 1)]


def _hmac_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class SandboxScheme(Scheme):
    """``sandbox-signature: t=<s>,v1=<hex HMAC of "t.body">`` under a key derived per merchant; 300 s."""

    name = "sandbox"
    proof_headers = removable = (sandbox.SIGNATURE_HEADER,)
    window = (sandbox.TOLERANCE_S, sandbox.TOLERANCE_S)

    def sign(self, body: bytes, secret: str, at_s: int) -> dict[str, str]:
        # ``secret`` is a merchant id (the key is derived from it), or "raw:<hex>" for a key out of nowhere.
        key = bytes.fromhex(secret[4:]) if secret.startswith("raw:") else secretbox.derived_key(f"sandbox-webhook:{secret}")
        return {**CONTENT_TYPE, sandbox.SIGNATURE_HEADER: f"t={at_s},v1={_hmac_hex(key, f'{at_s}.'.encode() + body)}"}

    @staticmethod
    def parsed(header: str) -> tuple[int, str] | None:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            return int(parts["t"]), parts.get("v1", "")
        except (KeyError, ValueError):
            return None

    def same_proof(self, name: str, a: str, b: str) -> bool:
        return self.parsed(a) is not None and self.parsed(a) == self.parsed(b)

    def other_secrets(self) -> st.SearchStrategy[str]:
        other_merchant = st.from_regex(r"m-[a-z0-9]{3,12}", fullmatch=True).filter(lambda s: s != self.secret)
        return st.one_of(other_merchant, st.binary(min_size=16, max_size=32).map(lambda k: "raw:" + k.hex()))


class KoreaCheckoutScheme(Scheme):
    """``x-korea-checkout-signature``: hex HMAC-SHA256 of the raw body; no timestamp (replays are remembered)."""

    name = "koreacheckout"
    proof_headers = removable = (kc.SIGNATURE_HEADER,)

    def sign(self, body: bytes, secret: str, at_s: int) -> dict[str, str]:
        return {**CONTENT_TYPE, kc.SIGNATURE_HEADER: kc.sign(body, secret)}

    def same_proof(self, name: str, a: str, b: str) -> bool:
        return a.strip().lower() == b.strip().lower()


class PayCombatScheme(Scheme):
    """``X-Signature``: hex HMAC-SHA256 of ``JSON.stringify(data)``; the signed ``updated_at`` is the clock."""

    name = "paycombat"
    proof_headers = removable = ("X-Signature",)
    window = (pc.NOTIFICATION_TOLERANCE_S, pc.NOTIFICATION_CLOCK_SKEW_S)

    def sign(self, body: bytes, secret: str, at_s: int) -> dict[str, str]:
        return {**CONTENT_TYPE, "X-Signature": pc.sign(body, secret)}

    def at(self, offset_s: int) -> Forgery:
        payload = json.loads(self.body)
        payload["updated_at"] = pc.iso_ms(self.now_s + offset_s)
        body = jsonstringify.to_bytes(payload)
        return Forgery("timestamp", self.sign(body, self.secret, self.now_s), body, f"updated_at {offset_s:+d} s")

    @staticmethod
    def canonical(body: bytes) -> bytes:
        try:
            return jsonstringify.to_bytes(json.loads(body))
        except (ValueError, TypeError, UnicodeDecodeError):
            return body

    def same_body(self, a: bytes, b: bytes) -> bool:
        # Accepted when the body is the signed one, or JSON.stringify of it is.
        return a == b or self.canonical(b) == a

    def same_proof(self, name: str, a: str, b: str) -> bool:
        return a.strip().lower() == b.strip().lower()


class ClinkScheme(Scheme):
    """``X-Clink-Signature``: HMAC-SHA256 of ``X-Clink-Timestamp + "." + body`` (hex here) under the
    endpoint's signing secret; the timestamp (ms) within 300 s.

    The same digest written in upper-case hex or in base64 (standard or url-safe,
    padded or not) is the same proof; the timestamp is signed as text, so any
    change to it is a forgery.
    """

    name = "clink"
    proof_headers = ("X-Clink-Signature", "X-Clink-Timestamp")
    removable = ("X-Clink-Signature", "X-Clink-Timestamp")
    window = (300, 300)

    def sign(self, body: bytes, secret: str, at_s: int) -> dict[str, str]:
        stamp = str(at_s * 1000)
        digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return {**CONTENT_TYPE, "X-Clink-Timestamp": stamp, "X-Clink-Signature": digest, "X-Clink-SignType": "SHA256"}

    def same_proof(self, name: str, a: str, b: str) -> bool:
        if name == "X-Clink-Timestamp":
            return a.strip() == b.strip()
        digest = bytes.fromhex(a)
        text = b.strip()
        writings = {base64.b64encode(digest).decode().rstrip("="), base64.urlsafe_b64encode(digest).decode().rstrip("=")}
        return text.lower() == digest.hex() or (text.rstrip("=") in writings and len(text) - len(text.rstrip("=")) <= 1)

    def other_secrets(self) -> st.SearchStrategy[str]:
        return st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=16, max_size=48).filter(
            lambda s: s != self.secret)


class PayfectScheme(Scheme):
    """``X-Payfect-Signature``: the callback JSON encrypted with Fernet under the merchant's key; compared as JSON."""

    name = "payfect"
    proof_headers = removable = ("X-Payfect-Signature",)

    def sign(self, body: bytes, secret: str, at_s: int) -> dict[str, str]:
        # Serialised differently from the body on purpose: the scheme compares JSON, not bytes.
        try:
            plain = json.dumps(json.loads(body), indent=1).encode()
        except ValueError:
            plain = body
        token = Fernet(secret.encode()).encrypt_at_time(plain, at_s)
        return {**CONTENT_TYPE, "X-Payfect-Signature": token.decode()}

    def same_body(self, a: bytes, b: bytes) -> bool:
        try:
            return payfect.same_json(json.loads(a, parse_float=Decimal), json.loads(b, parse_float=Decimal))
        except ValueError:
            return a == b

    def same_proof(self, name: str, a: str, b: str) -> bool:
        try:
            return base64.urlsafe_b64decode(a.strip().encode()) == base64.urlsafe_b64decode(b.strip().encode())
        except ValueError:
            return a == b

    def other_secrets(self) -> st.SearchStrategy[str]:
        return st.binary(min_size=32, max_size=32).map(lambda k: base64.urlsafe_b64encode(k).decode()).filter(
            lambda k: k != self.secret)


SCHEMES: dict[str, type[Scheme]] = {
    cls.name: cls for cls in (SandboxScheme, KoreaCheckoutScheme, PayCombatScheme, ClinkScheme, PayfectScheme)
}


# --- forgeries --------------------------------------------------------------------

# Header text as HTTP carries it (latin-1), without control characters.
HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_categories=("Cc",))


def _changed_body(draw: Callable[..., Any], s: Scheme) -> bytes:
    body = s.body
    i = draw(st.integers(0, len(body) - 1))
    byte = draw(st.integers(0, 255).filter(lambda b: b != body[i]))
    changed = body[:i] + bytes([byte]) + body[i + 1:]
    assume(not s.same_body(body, changed))
    return changed


def _other_case(name: str) -> str:
    return name.title() if name == name.lower() else name.lower()


@st.composite
def body_byte(draw: Callable[..., Any], s: Scheme) -> Forgery:
    return Forgery("one body byte changed", s.genuine().headers, _changed_body(draw, s))


@st.composite
def resized_body(draw: Callable[..., Any], s: Scheme) -> Forgery:
    if draw(st.booleans()):
        body = s.body[:draw(st.integers(0, len(s.body) - 1))]
    else:
        body = s.body + draw(st.binary(min_size=1, max_size=16))
    assume(not s.same_body(s.body, body))
    return Forgery("body cut or extended", s.genuine().headers, body)


@st.composite
def proof_byte(draw: Callable[..., Any], s: Scheme) -> Forgery:
    headers = s.genuine().headers
    name = draw(st.sampled_from(s.proof_headers))
    value = headers[name]
    i = draw(st.integers(0, len(value) - 1))
    char = draw(HEADER_CHARS.filter(lambda c: c != value[i]))
    changed = value[:i] + char + value[i + 1:]
    assume(not s.same_proof(name, value, changed))
    return Forgery("proof header byte changed", {**headers, name: changed}, s.body, name)


@st.composite
def wrong_secret(draw: Callable[..., Any], s: Scheme) -> Forgery:
    return Forgery("signed with another secret", s.sign(s.body, draw(s.other_secrets()), s.now_s), s.body)


@st.composite
def missing_header(draw: Callable[..., Any], s: Scheme) -> Forgery:
    headers = dict(s.genuine().headers)
    names = draw(st.sets(st.sampled_from(s.removable), min_size=1))
    how = draw(st.sampled_from(["absent", "empty", "blank"]))
    for name in names:
        if how == "absent":
            del headers[name]
        else:
            headers[name] = "" if how == "empty" else "   "
    return Forgery("header missing", headers, s.body, f"{'/'.join(sorted(names))} {how}")


@st.composite
def duplicated_header(draw: Callable[..., Any], s: Scheme) -> Forgery:
    """The genuine proof and a forged one in one request: merged by a proxy ("a, b") or sent twice.

    The body is changed, so the genuine proof no longer covers it.
    """
    genuine = s.genuine()
    body = _changed_body(draw, s)
    name = s.proof_headers[0]
    forged = s.sign(body, draw(s.other_secrets()), s.now_s)[name]
    first, second = draw(st.permutations([genuine.headers[name], forged]))
    how = draw(st.sampled_from(["merged", "merged reversed", "sent twice"]))
    headers = dict(genuine.headers)
    if how == "merged":
        headers[name] = f"{first}, {second}"
    elif how == "merged reversed":
        headers[name] = f"{second}, {first}"
    else:
        # A Lambda sees one value of a repeated header: the last one sent.
        headers[name] = first
        headers[_other_case(name)] = second
    return Forgery("header duplicated", headers, body, f"{name} {how}")


@st.composite
def smuggled_timestamp(draw: Callable[..., Any], s: Scheme) -> Forgery:
    """Sandbox: a captured, stale signature with a fresh ``t=`` added to the same header."""
    assert s.window is not None
    stale = s.at(-(s.window[0] + draw(st.integers(1, 10**6))))
    value = stale.headers[sandbox.SIGNATURE_HEADER]
    parts = draw(st.permutations([*value.split(","), f"t={s.now_s}"]))
    return Forgery("stale signature, fresh t= added", {**stale.headers, sandbox.SIGNATURE_HEADER: ",".join(parts)}, s.body)


@st.composite
def outside_window(draw: Callable[..., Any], s: Scheme) -> Forgery:
    assert s.window is not None
    past, future = s.window
    offset = draw(st.one_of(st.integers(-(past + 10**7), -(past + 1)), st.integers(future + 1, future + 10**7)))
    return s.at(offset)


def forgeries(s: Scheme) -> st.SearchStrategy[Forgery]:
    kinds = [proof_byte(s), wrong_secret(s), missing_header(s), duplicated_header(s), body_byte(s), resized_body(s)]
    if s.window is not None:
        kinds.append(outside_window(s))
    if isinstance(s, SandboxScheme):
        kinds.append(smuggled_timestamp(s))
    return st.one_of(*kinds)


def kinds(s: Scheme) -> set[str]:
    """Every class of forgery ``forgeries(s)`` draws from."""
    names = {"proof header byte changed", "signed with another secret", "header missing", "header duplicated",
             "one body byte changed", "body cut or extended"}
    if s.window is not None:
        names.add("timestamp")
    if isinstance(s, SandboxScheme):
        names.add("stale signature, fresh t= added")
    return names
