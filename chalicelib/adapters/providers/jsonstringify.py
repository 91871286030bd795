"""JavaScript's ``JSON.stringify`` for JSON values built in Python, byte for byte.

Providers that sign ``JSON.stringify(body)`` (PayCombat) verify the signature by
re-serializing the body they parsed, so the bytes we send and sign must be
exactly what Node would write: no spaces after ``,`` and ``:``; non-ASCII kept
as UTF-8 (``홍길동``, not ``\\ud64d...``); only ``"``, ``\\`` and control characters
escaped (U+2028/U+2029 and DEL stay raw); a lone UTF-16 surrogate written as a
lower-case ``\\uXXXX`` (ES2019 well-formed stringify); and object keys that are
array indices ("0", "2", "10") first, in ascending numeric order, as every JS
engine orders own properties.

Only what round-trips exactly is accepted: str, int (within ±(2**53 - 1), JS's
safe integers), bool, None, dict with str keys, list and tuple. Floats and
Decimals are refused: money travels as integers, and a float's JS rendering is
a trap we do not need.
"""
from __future__ import annotations

from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
_MAX_ARRAY_INDEX = 2**32 - 2

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def stringify(value: Any) -> str:
    """``JSON.stringify(value)`` as a str; encode with UTF-8 to get the bytes to send and sign."""
    parts: list[str] = []
    _write(value, parts, depth=0)
    return "".join(parts)


def to_bytes(value: Any) -> bytes:
    """The exact request body: ``JSON.stringify(value)`` encoded as UTF-8 (what Node's hmac.update hashes)."""
    return stringify(value).encode("utf-8")


def quote(text: str) -> str:
    """JSON.stringify of one string (the spec's QuoteJSONString over UTF-16 code units)."""
    out = ['"']
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        code = ord(ch)
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDBFF and i + 1 < n and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            # A surrogate pair spelled as two code points is one character in JS: written raw.
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            i += 1
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
        i += 1
    out.append('"')
    return "".join(out)


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and (key == "0" or not key.startswith("0")) and int(key) <= _MAX_ARRAY_INDEX


def ordered_keys(obj: dict[str, Any]) -> list[str]:
    """Own-property order of a JS object built from these keys: array indices ascending, then insertion order."""
    indices = sorted((k for k in obj if _is_array_index(k)), key=int)
    return indices + [k for k in obj if not _is_array_index(k)]


def _write(value: Any, parts: list[str], depth: int) -> None:
    if depth > 64:
        raise ValueError("JSON value nested deeper than 64 levels")
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{value} is beyond JavaScript's safe integers; JSON.stringify would change it")
        parts.append(str(value))
    elif isinstance(value, str):
        parts.append(quote(value))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"object keys must be str, not {type(key).__name__}")
        parts.append("{")
        for index, key in enumerate(ordered_keys(value)):
            if index:
                parts.append(",")
            parts.append(quote(key))
            parts.append(":")
            _write(value[key], parts, depth + 1)
        parts.append("}")
    elif isinstance(value, (list, tuple)):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts, depth + 1)
        parts.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not serialized: send money and counts as int, never float or Decimal")
