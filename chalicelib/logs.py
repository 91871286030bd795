"""Logging: JSON lines on stdout (CloudWatch Logs in AWS), secrets and shopper PII redacted.

Each request ends with one line (``request``) carrying the route, status,
duration and what the request was about — checkout, merchant, provider and
outcome — gathered along the way with ``note()``. Redaction runs on every line
as a backstop; nothing should log a secret or an email in the first place.
"""
from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from typing import Any

# (pattern, replacement, a literal every match contains: a line without it skips the pattern)
_PATTERNS = [
    (re.compile(r"sk_(test|live|prod)_[0-9A-Za-z]+"), r"sk_\1_[redacted]", "sk_"),
    (re.compile(r"whsec_[0-9A-Za-z+/=]+"), "whsec_[redacted]", "whsec_"),
    (re.compile(r"gAAAAA[0-9A-Za-z_\-=]{20,}"), "[fernet-token]", "gAAAAA"),
    # Linear time on any line: a match starts only where a run of address characters starts
    # (the lookbehind), and possessive runs never give characters back, so a line of 16,000
    # word characters is scanned once instead of once per starting position.
    (re.compile(r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+"), "[email]", "@"),
    # Phone numbers: Korean mobiles in any spacing, and +international ones.
    (re.compile(r"(?<![\w.])(\+\d{1,3}[ -]?)?0?1[016789][ -]?\d{3,4}[ -]?\d{4}(?![\w.])"), "[phone]", "1"),
    (re.compile(r"\+\d[\d -]{7,17}\d"), "[phone]", "+"),
]

_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("request_log", default=None)
FIELDS = ("checkout_id", "merchant_id", "provider", "outcome")


def redact(text: str) -> str:
    for pattern, replacement, literal in _PATTERNS:
        if literal in text:
            text = pattern.sub(replacement, text)
    return text


def begin(route: str, method: str) -> None:
    _REQUEST.set({"route": route, "method": method})


def note(**fields: Any) -> None:
    """Add what this request is about (checkout_id, merchant_id, provider, outcome) to its log line."""
    current = _REQUEST.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if k in FIELDS and v is not None})


def end(status: int, duration_ms: int) -> dict[str, Any]:
    entry = dict(_REQUEST.get() or {})
    entry.update(status=status, duration_ms=duration_ms)
    entry.setdefault("outcome", "ok" if status < 400 else "error" if status >= 500 else "refused")
    _REQUEST.set(None)
    logging.getLogger("checkout.request").info("request", extra={"fields": entry})
    return entry


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"level": record.levelname, "logger": record.name}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = redact(record.getMessage())
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["trace"] = redact(self.formatException(record.exc_info))
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(app: Any) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app.log.handlers[:] = []
    app.log.propagate = True
