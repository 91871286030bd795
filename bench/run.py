"""`make bench`: the product's speed and size figures, each against a floor or a goal.

    .venv/bin/python bench/run.py [--runs N] [--skip-browser] [--skip-package]

Prints one table. Ratios are against a floor measured in the same run (these
machines are noisy): cold start and warm render against a bare Chalice app whose
one route does a single DynamoDB GetItem and returns a 2 KB page. Runs are
interleaved and medians compared. Also: DynamoDB calls for one whole completed
checkout (counted through botocore's event hooks, per step), first-party page
weight, the deployment package's size and the import-time top 10.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {where!r})
import {module} as m
event = {{"resource": "/c/{{checkout_id}}", "path": "/c/{cid}", "httpMethod": "GET",
         "headers": {{"host": "abc.execute-api.ap-northeast-2.amazonaws.com", "x-forwarded-proto": "https"}},
         "multiValueHeaders": {{}}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
         "pathParameters": {{"checkout_id": "{cid}"}}, "stageVariables": None, "body": None, "isBase64Encoded": False,
         "requestContext": {{"resourcePath": "/c/{{checkout_id}}", "httpMethod": "GET", "stage": "api", "path": "/api/c/{cid}"}}}}
response = m.app(event, None)
assert response["statusCode"] == 200, response["statusCode"]
print(json.dumps({{"ms": (time.perf_counter() - t0) * 1000}}))
"""


def gateway_event(path: str, route: str, params: dict[str, str]) -> dict[str, Any]:
    return {
        "resource": route, "path": path, "httpMethod": "GET",
        "headers": {"host": "abc.execute-api.ap-northeast-2.amazonaws.com", "x-forwarded-proto": "https"},
        "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": params, "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": route, "httpMethod": "GET", "stage": "api", "path": "/api" + path},
    }


def setup_data(env: dict[str, str]) -> str:
    """A table with a merchant and one open checkout; returns the checkout id."""
    os.environ.update(env)
    from chalicelib.adapters import store
    from chalicelib.usecases import checkouts, merchants

    s = store.get_store()
    s.create_table(point_in_time_recovery=False)
    merchant, _, _ = merchants.create(s, merchant_id="bench", name="벤치 상점", provider="sandbox",
                                      allowed_hosts=["shop.example"])
    created = checkouts.create(s, merchant, {
        "line_items": [{"name": "유기농 녹차", "unit_amount": 19000, "quantity": 1},
                       {"name": "배송비", "unit_amount": 3000, "quantity": 1}],
        "currency": "KRW", "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart",
    }, None, "https://pay.example")
    return str(created["id"])


def cold_start(env: dict[str, str], checkout_id: str, runs: int) -> tuple[float, float]:
    ours, floor = [], []
    for _ in range(runs):
        for module, where, bucket in (("app", str(ROOT), ours), ("floor_app", str(ROOT / "bench"), floor)):
            started = time.perf_counter()
            result = subprocess.run([sys.executable, "-c", COLD.format(where=where, module=module, cid=checkout_id)],
                                    cwd=where, env=env, capture_output=True, text=True, timeout=60)
            wall = (time.perf_counter() - started) * 1000
            if result.returncode != 0:
                raise SystemExit(f"cold start of {module} failed:\n{result.stderr[-2000:]}")
            bucket.append(wall)
    return statistics.median(ours), statistics.median(floor)


def warm_render(checkout_id: str, runs: int) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT / "bench"))
    import floor_app

    import app as ours_app

    event = gateway_event(f"/c/{checkout_id}", "/c/{checkout_id}", {"checkout_id": checkout_id})
    for handler in (ours_app.app, floor_app.app):
        for _ in range(5):
            assert handler(dict(event), None)["statusCode"] == 200
    ours, floor = [], []
    for _ in range(runs):
        for handler, bucket in ((ours_app.app, ours), (floor_app.app, floor)):
            started = time.perf_counter()
            handler(dict(event), None)
            bucket.append((time.perf_counter() - started) * 1000)
    return statistics.median(ours), statistics.median(floor)


def dynamodb_calls() -> tuple[list[tuple[str, int]], int]:
    """Completed checkouts on a real adapter (KoreaCheckout, against its contract fake).

    Two in a row: the first in a fresh container (its caches empty), the second as a
    warm container serves it. Returns the second's steps and the first's total.
    """

    from chalice.test import Client

    import app as ours_app
    from chalicelib import config
    from chalicelib.adapters import store
    from chalicelib.usecases import merchants
    from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout, credentials
    from tests.flow import GOOD_FORM, csrf_token

    fake = FakeKoreaCheckout()
    os.environ["KOREACHECKOUT_API_BASE"] = fake.url
    config.settings.cache_clear()
    s = store.get_store()
    merchant, api_key, _ = merchants.create(s, merchant_id="bench-kc", name="KC", provider="koreacheckout",
                                            credentials=credentials(fake), allowed_hosts=["shop.example"])
    calls: list[str] = []
    s.client.meta.events.register("before-call.dynamodb.*", lambda model, **kw: calls.append(model.name))
    steps: list[tuple[str, int]] = []

    def step(name: str, action: Any) -> Any:
        before = len(calls)
        result = action()
        steps.append((name, len(calls) - before))
        return result

    headers = {"x-api-key": api_key, "content-type": "application/json"}
    totals = []
    for _ in range(2):
        steps.clear()
        one_checkout(ours_app, fake, merchant, headers, step, Client, GOOD_FORM, csrf_token)
        totals.append(sum(n for _, n in steps))
    fake.close()
    return steps, totals[0]


def one_checkout(ours_app: Any, fake: Any, merchant: Any, headers: dict[str, str], step: Any, Client: Any,
                 GOOD_FORM: dict[str, str], csrf_token: Any) -> None:
    from urllib.parse import urlencode

    with Client(ours_app.app) as client:
        body = json.dumps({"line_items": [{"name": "녹차", "unit_amount": 22000, "quantity": 1}], "currency": "KRW",
                           "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart"})
        created = step("create (API)", lambda: json.loads(client.http.post("/api/checkouts", headers=headers, body=body).body))
        cid = created["id"]
        page = step("page", lambda: client.http.get(f"/c/{cid}").body.decode())
        form = urlencode({**GOOD_FORM, "csrf_token": csrf_token(page)})
        step("submit", lambda: client.http.post(f"/c/{cid}", body=form,
                                                 headers={"content-type": "application/x-www-form-urlencoded"}))
        session_id = fake.session_for(cid)["sessionId"]
        fake.pay(session_id)
        note, note_headers = fake.notification("payment.completed", session_id)
        step("provider notification", lambda: client.http.post(f"/webhooks/koreacheckout/{merchant.id}", body=note,
                                                               headers=note_headers))
        step("return", lambda: client.http.get(f"/c/{cid}/return"))
        final = step("API read", lambda: json.loads(client.http.get(f"/api/checkouts/{cid}", headers=headers).body))
        assert final["status"] == "complete", final


def page_weight() -> dict[str, Any] | None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "page_weight.py")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    found = re.search(r"first-party weight: (\d+) bytes in (\d+) requests", result.stdout + result.stderr)
    if not found:
        print(result.stdout[-1500:], result.stderr[-1500:], file=sys.stderr)
        return None
    return {"first_party_bytes": int(found.group(1)), "first_party_requests": int(found.group(2))}


def package() -> tuple[int, list[tuple[str, int]]]:
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([str(Path(sys.executable).parent / "chalice"), "package", "--stage", "prod", tmp],
                                cwd=ROOT, capture_output=True, text=True, timeout=600,
                                env={**os.environ, "AWS_DEFAULT_REGION": "ap-northeast-2"})
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        zipped = (Path(tmp) / "deployment.zip").stat().st_size
        sizes: dict[str, int] = {}
        with zipfile.ZipFile(Path(tmp) / "deployment.zip") as archive:
            for info in archive.infolist():
                top = info.filename.split("/")[0]
                sizes[top] = sizes.get(top, 0) + info.compress_size
    return zipped, sorted(sizes.items(), key=lambda kv: -kv[1])[:5]


def import_times(env: dict[str, str]) -> list[tuple[str, int]]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import app"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    rows = []
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        # The modules app imports directly or one level down, by cumulative time.
        if match and 3 <= len(match.group(3)) <= 5 and not match.group(4).startswith("_"):
            rows.append((match.group(4), int(match.group(2))))
    return sorted(rows, key=lambda r: -r[1])[:10]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-package", action="store_true")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    from tools.dynamodb_local import DynamoDBLocal, MotoServer

    engine: Any = DynamoDBLocal() if DynamoDBLocal.available() is None else MotoServer()
    endpoint = engine.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_")},
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_DEFAULT_REGION": "ap-northeast-2",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "CHECKOUT_TABLE": "bench", "CHECKOUT_STAGE": "dev", "CHECKOUT_SANDBOX": "1",
        "CHECKOUT_ALLOW_INSECURE_WEBHOOKS": "1", "CHECKOUT_SECRET_KEY": Fernet.generate_key().decode(),
    }
    rows: list[tuple[str, str, str, str]] = []
    try:
        checkout_id = setup_data(env)
        cold_ours, cold_floor = cold_start(env, checkout_id, args.runs)
        rows.append(("cold start, first page (median ms)", f"{cold_ours:.0f} vs floor {cold_floor:.0f}",
                     f"{cold_ours / cold_floor:.2f}x", "<= 1.3x"))
        warm_ours, warm_floor = warm_render(checkout_id, args.runs * 20)
        rows.append(("warm page render (median ms)", f"{warm_ours:.2f} vs floor {warm_floor:.2f}",
                     f"{warm_ours / warm_floor:.2f}x", "<= 1.2x"))
        steps, cold_total = dynamodb_calls()
        total = sum(n for _, n in steps)
        detail = ", ".join(f"{name} {n}" for name, n in steps) + f" (first in a fresh container: {cold_total})"
        rows.append(("DynamoDB calls, one completed checkout (warm)", detail, str(total), "<= 8"))
        if not args.skip_browser:
            weight = page_weight()
            if weight:
                rows.append(("first load, first-party", f"{weight.get('first_party_requests')} requests",
                             f"{weight.get('first_party_bytes', 0) / 1024:.1f} KB", "<= 30 KB, <= 5 requests"))
        if not args.skip_package:
            zipped, biggest = package()
            rows.append(("deployment package (zipped)", ", ".join(f"{n} {s / 1e6:.2f} MB" for n, s in biggest[:3]),
                         f"{zipped / 1e6:.2f} MB", "<= 5 MB"))
        tops = import_times(env)
        rows.append(("import time top 10 (ms, cumulative)", ", ".join(f"{n} {us / 1000:.0f}" for n, us in tops), "", ""))
    finally:
        engine.stop()

    print(f"\nBenchmarks {time.strftime('%Y-%m-%d')} ({engine.name}, {os.cpu_count()} cores)\n")
    print("| measure | detail | result | goal |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
