"""Hostile input stays cheap: figures for the review's reproductions (issue 16, point 4).

    .venv/bin/python bench/hostile.py [--runs N]

Each hostile request is timed against a floor measured in the same run, interleaved,
medians compared: ``GET /c/<16,000 digits>`` and ``GET /static/<16,000 digits>`` against
``GET /static/missing.css`` (a 404 that reads nothing), and the log redaction of a
16,000-digit line against 100 lines of 160 characters (the same number of characters, in
short lines: linear work would cost the same). The old email pattern is timed too, to show
what the bounded one replaced. No table is touched: the long path is refused before that.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LONG = "1" * 16_000
OLD_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def event(path: str, route: str, params: dict[str, str]) -> dict[str, Any]:
    return {
        "resource": route, "path": path, "httpMethod": "GET",
        "headers": {"host": "abc.execute-api.ap-northeast-2.amazonaws.com", "x-forwarded-proto": "https"},
        "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": params, "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": route, "httpMethod": "GET", "stage": "api", "path": "/api" + path},
    }


def timed(task: Callable[[], Any]) -> float:
    started = time.perf_counter()
    task()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    os.environ.setdefault("CHECKOUT_SECRET_KEY", "bench-" + "0" * 38)
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
    import logging

    from app import app
    from chalicelib import logs

    logging.disable(logging.CRITICAL)

    def get(path: str, route: str, params: dict[str, str], status: int) -> Callable[[], None]:
        def call() -> None:
            answer = app(event(path, route, params), None)
            assert answer["statusCode"] == status, (path[:40], answer["statusCode"])
        return call

    short_lines = ["1" * 160] * 100
    cases: dict[str, Callable[[], Any]] = {
        "floor: GET /static/missing.css": get("/static/missing.css", "/static/{name}", {"name": "missing.css"}, 404),
        "GET /c/<16,000 digits>": get(f"/c/{LONG}", "/c/{checkout_id}", {"checkout_id": LONG}, 404),
        "GET /static/<16,000 digits>": get(f"/static/{LONG}", "/static/{name}", {"name": LONG}, 404),
        "floor: redact 100 lines of 160": lambda: [logs.redact(line) for line in short_lines],
        "redact one line of 16,000 digits": lambda: logs.redact(LONG),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, task in cases.items():
            samples[name].append(timed(task))
    old_ms = timed(lambda: OLD_EMAIL.sub("[email]", LONG))
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{'measure':<36} {'median ms':>10} {'vs floor':>9}")
    for name, value in median.items():
        floor = median["floor: GET /static/missing.css"] if "GET" in name else median["floor: redact 100 lines of 160"]
        print(f"{name:<36} {value:>10.3f} {value / floor:>8.2f}x")
    print(f"{'(old email pattern, one run)':<36} {old_ms:>10.1f}")


if __name__ == "__main__":
    main()
