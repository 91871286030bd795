"""Logging: JSON lines to stdout (CloudWatch in AWS), with secrets and PII redacted."""
from __future__ import annotations

import json
import logging
import re
from typing import Any

_PATTERNS = [
    (re.compile(r"sk_(test|live)_[0-9A-Za-z]+"), r"sk_\1_[redacted]"),
    (re.compile(r"whsec_[0-9A-Za-z+/=]+"), "whsec_[redacted]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
    (re.compile(r"(\+?\d[\d -]{8,}\d)"), "[number]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["trace"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


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
