"""The one clock. Tests replace ``now_s`` to move time; nothing else reads time.time()."""
from __future__ import annotations

import time
from datetime import UTC, datetime


def now_s() -> int:
    return int(time.time())


def now_ms() -> int:
    return int(time.time() * 1000)


def now_us() -> int:
    return time.time_ns() // 1000


def iso(ts_s: int) -> str:
    return datetime.fromtimestamp(ts_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
