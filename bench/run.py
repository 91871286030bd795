"""`make bench`: the product's speed and size figures, each against a floor or a goal.

    .venv/bin/python bench/run.py [--runs N] [--skip-browser] [--skip-package]

Prints one table. Ratios are against a floor measured in the same run (these
machines are noisy): cold start and warm render against a bare Chalice app
(``bench/floor_app.py``: a lazily made botocore client, one DynamoDB GetItem, a
fixed 2 KB page). The product is measured on the page a shopper gets: a
KoreaCheckout merchant with credentials, a webhook endpoint, a logo and a support
address, a checkout made through the API. Both go through the same Chalice test
client, interleaved (the order alternates every round), in several batches: the
table shows the median batch's ratio and the spread over the batches.

Also: the top functions of a warm render by cumulative time (cProfile), DynamoDB
calls and consumed capacity for one whole completed checkout (counted through
botocore's event hooks, per step), the cost per 1,000 completed checkouts from
those figures, the load test (``bench/load.py``), first-party page weight, the
deployment package's size and the import-time top 10.
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
t1 = time.perf_counter()
response = m.app(event, None)
assert response["statusCode"] == 200, response["statusCode"]
t2 = time.perf_counter()
print(json.dumps({{"ms": (t2 - t0) * 1000, "import_ms": (t1 - t0) * 1000, "first_ms": (t2 - t1) * 1000,
                  "cryptography": "cryptography" in sys.modules,
                  "compiled": any(n.startswith("_jinja2_module_templates_") for n in sys.modules)}}))
"""


def package_layout(target: Path) -> Path:
    """The app as the Lambda package lays it out (app.py, chalicelib/, templates/, static/ and
    the compiled templates at the root, all with their bytecode, as ``make package`` makes
    them), without the zip and the vendored libraries (the installed ones have theirs)."""
    import shutil

    for name in ("app.py", "chalicelib", "templates", "static"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    subprocess.run([sys.executable, str(ROOT / "tools" / "compile_templates.py"), str(target / "compiled_templates")],
                   check=True, capture_output=True, timeout=120)
    subprocess.run([sys.executable, str(ROOT / "tools" / "compile_bytecode.py"), "--tree", str(target)],
                   check=True, capture_output=True, timeout=120)
    return target


KC_CREDENTIALS = {"api_key": "sk_test_kc_" + "a1b2c3d4e5f6" * 4, "webhook_secret": "kc_whsec_" + "9f8e7d6c5b4a" * 3}


def setup_data(env: dict[str, str]) -> str:
    """A table with the merchant a shopper meets and one open checkout made through the API.

    The merchant is a KoreaCheckout one with credentials (encrypted at rest), a webhook
    endpoint, a logo and a support address; the checkout is what the API makes. Returns its id.
    """
    os.environ.update(env)
    from chalice.test import Client

    import app as ours_app
    from chalicelib.adapters import store
    from chalicelib.usecases import merchants

    s = store.get_store()
    s.create_table(point_in_time_recovery=False)
    _, api_key, _ = merchants.create(
        s, merchant_id="bench", name="벤치 상점", provider="koreacheckout", credentials=KC_CREDENTIALS,
        allowed_hosts=["shop.example"], webhook_url="http://127.0.0.1:9/hooks", support_email="help@shop.example",
        logo_url="https://shop.example/logo.png")
    body = json.dumps({
        "line_items": [{"name": "유기농 녹차", "unit_amount": 19000, "quantity": 1},
                       {"name": "배송비", "unit_amount": 3000, "quantity": 1}],
        "currency": "KRW", "success_url": "https://shop.example/ok?c={CHECKOUT_ID}", "cancel_url": "https://shop.example/cart",
        "customer": {"email": "gildong@example.com"}, "client_reference_id": "order-1",
    })
    with Client(ours_app.app, project_dir=str(ROOT / "bench")) as client:
        response = client.http.post("/api/checkouts", body=body,
                                    headers={"x-api-key": api_key, "content-type": "application/json"})
    assert response.status_code == 201, response.body
    return str(json.loads(response.body)["id"])


def spread(ratios: list[float]) -> str:
    return f"{min(ratios):.2f}x–{max(ratios):.2f}x over {len(ratios)} batches"


def cold_start(env: dict[str, str], checkout_id: str, runs: int) -> tuple[float, float, list[float], dict[str, Any]]:
    """Import + first page in a fresh interpreter, ours (as packaged) and the floor's alternately.

    The figure is taken inside the process (from before the app's import to the first
    response), so interpreter start-up, common to both, does not dilute the ratio. One
    discarded run each first writes the bytecode caches. Returns the medians, the ratio
    of each pair and the split of our median run (import, first page, what it loaded).
    """
    ours: list[dict[str, Any]] = []
    floor: list[float] = []
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        layout = str(package_layout(Path(tmp)))
        order = [("app", layout), ("floor_app", str(ROOT / "bench"))]
        for i in range(runs + 1):
            pair = {}
            for module, where in order if i % 2 == 0 else order[::-1]:
                result = subprocess.run([sys.executable, "-c", COLD.format(where=where, module=module, cid=checkout_id)],
                                        cwd=where, env=env, capture_output=True, text=True, timeout=60)
                if result.returncode != 0:
                    raise SystemExit(f"cold start of {module} failed:\n{result.stderr[-2000:]}")
                pair[module] = json.loads(result.stdout.strip().splitlines()[-1])
            if i == 0:
                continue
            ours.append(pair["app"])
            floor.append(pair["floor_app"]["ms"])
            ratios.append(pair["app"]["ms"] / pair["floor_app"]["ms"])
    median_run = sorted(ours, key=lambda r: r["ms"])[len(ours) // 2]
    return median_run["ms"], statistics.median(floor), ratios, median_run


def _clients() -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    import floor_app
    from chalice.test import Client

    import app as ours_app

    # project_dir without a .chalice/config.json: the client leaves the environment as it is.
    return Client(ours_app.app, project_dir=str(ROOT / "bench")), Client(floor_app.app, project_dir=str(ROOT / "bench"))


def warm_render(checkout_id: str, rounds: int, batches: int) -> tuple[float, float, list[float]]:
    """``GET /c/{id}`` through the test client, ours and the floor's interleaved.

    Each batch: ``rounds`` rounds of one request to each (the order alternating), then
    the ratio of the medians. Returns the median batch's medians and every batch's ratio.
    """
    ours_client, floor_client = _clients()
    path = f"/c/{checkout_id}"
    with ours_client as ours, floor_client as floor:
        for client in (ours, floor):
            for _ in range(20):
                assert client.http.get(path).status_code == 200
        results = []
        for _ in range(batches):
            times: dict[int, list[float]] = {0: [], 1: []}
            for i in range(rounds):
                pairs = ((0, ours), (1, floor)) if i % 2 == 0 else ((1, floor), (0, ours))
                for key, client in pairs:
                    started = time.perf_counter()
                    client.http.get(path)
                    times[key].append((time.perf_counter() - started) * 1000)
            results.append((statistics.median(times[0]), statistics.median(times[1])))
    ratios = [o / f for o, f in results]
    middle = sorted(range(len(results)), key=lambda k: ratios[k])[len(results) // 2]
    return results[middle][0], results[middle][1], ratios


def profile_render(checkout_id: str, renders: int = 300, top: int = 25) -> tuple[str, list[tuple[str, float]]]:
    """cProfile of warm renders: the pstats listing, and our own code's top functions (ms per render)."""
    import cProfile
    import io
    import pstats

    ours_client, _ = _clients()
    path = f"/c/{checkout_id}"
    with ours_client as ours:
        for _ in range(20):
            ours.http.get(path)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(renders):
            ours.http.get(path)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    mine = []
    for (filename, _line, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/chalicelib/" in filename or filename.endswith(".html"):
            short = filename.split("/chalicelib/")[-1].split("/templates/")[-1]
            mine.append((f"{short}:{name}", cumulative * 1000 / renders))
    mine.sort(key=lambda kv: -kv[1])
    return out.getvalue(), mine


class CallCounter:
    """DynamoDB calls and the capacity they consumed, counted through botocore's event hooks.

    Every call is made with ``ReturnConsumedCapacity=TOTAL`` (added by the hook), so
    the figures are DynamoDB's own. Transactions are billed at twice their items' size:
    DynamoDB (and DynamoDB Local) report them so.
    """

    SUPPORTS = {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "TransactWriteItems",
                "TransactGetItems", "BatchGetItem", "BatchWriteItem"}

    def __init__(self, client: Any, by_rules: bool = False) -> None:
        self.calls: list[str] = []
        self.read_units = 0.0
        self.write_units = 0.0
        self.lock = __import__("threading").Lock()
        # DynamoDB Local under-reports transactions (bench/capacity.py): with ``by_rules``, write
        # units are also worked out from the items themselves, as AWS bills them.
        self.rules = None
        if by_rules:
            import botocore.session
            from capacity import WriteUnits

            credentials = client._request_signer._credentials
            reader = botocore.session.get_session().create_client(
                "dynamodb", endpoint_url=client.meta.endpoint_url, region_name=client.meta.region_name,
                aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key)
            self.rules = WriteUnits(client, reader)
        client.meta.events.register("provide-client-params.dynamodb.*", self._ask)
        client.meta.events.register("after-call.dynamodb.*", self._count)

    @property
    def billed_write_units(self) -> float:
        return float(self.rules.units) if self.rules is not None else self.write_units

    def _ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in self.SUPPORTS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _count(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity") or []
        if isinstance(consumed, dict):
            consumed = [consumed]
        with self.lock:
            self.calls.append(model.name)
            for entry in consumed:
                read, write = entry.get("ReadCapacityUnits"), entry.get("WriteCapacityUnits")
                if read is None and write is None:
                    # Only the total: a write operation's units are write units.
                    total = entry.get("CapacityUnits", 0.0)
                    if model.name in ("GetItem", "Query", "Scan", "TransactGetItems", "BatchGetItem"):
                        read = total
                    else:
                        write = total
                self.read_units += read or 0.0
                self.write_units += write or 0.0


def dynamodb_calls() -> dict[str, Any]:
    """Completed checkouts on a real adapter (KoreaCheckout, against its contract fake).

    Two in a row: the first in a fresh container (its caches empty), the second as a
    warm container serves it. Returns the warm one's steps, calls, capacity and time,
    and the first one's total calls.
    """

    from chalice.test import Client

    import app as ours_app
    from chalicelib import config
    from chalicelib.adapters import store
    from chalicelib.usecases import merchants
    from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout, credentials
    from tests.conftest import WebhookReceiver
    from tests.flow import GOOD_FORM, csrf_token

    fake = FakeKoreaCheckout()
    receiver = WebhookReceiver()
    os.environ["KOREACHECKOUT_API_BASE"] = fake.url
    config.settings.cache_clear()
    s = store.get_store()
    merchant, api_key, secret = merchants.create(
        s, merchant_id="bench-kc", name="KC", provider="koreacheckout", credentials=credentials(fake),
        allowed_hosts=["shop.example"], webhook_url=receiver.url)
    merchants._merchants.clear()
    merchants._keys.clear()
    sys.path.insert(0, str(ROOT / "bench"))
    counter = CallCounter(s.client, by_rules=True)
    steps: list[tuple[str, int, float]] = []

    def step(name: str, action: Any) -> Any:
        before = len(counter.calls)
        started, counting = time.perf_counter(), counter.rules.spent_s if counter.rules else 0.0
        result = action()
        counted = (counter.rules.spent_s if counter.rules else 0.0) - counting  # the rules' own reads
        steps.append((name, len(counter.calls) - before, (time.perf_counter() - started - counted) * 1000))
        return result

    headers = {"x-api-key": api_key, "content-type": "application/json"}
    totals = []
    capacity = (0.0, 0.0)
    round_trips = 0
    for _ in range(2):
        steps.clear()
        outside_before = len(fake.requests) + len(receiver.deliveries)
        read_before, write_before, billed_before = counter.read_units, counter.write_units, counter.billed_write_units
        assert counter.rules is not None
        kinds_before = dict(counter.rules.by_kind)
        replay = one_checkout(ours_app, fake, merchant, headers, step, Client, GOOD_FORM, csrf_token)
        totals.append(sum(n for _, n, _ in steps))
        capacity = (counter.read_units - read_before, counter.billed_write_units - billed_before,
                    counter.write_units - write_before)
        round_trips = len(fake.requests) + len(receiver.deliveries) - outside_before
        by_kind = {k: v - kinds_before.get(k, 0) for k, v in counter.rules.by_kind.items() if v - kinds_before.get(k, 0)}
        assert replay() == 400, "a replayed notification must be refused"
    deliveries = receiver.verified(secret)
    fake.close()
    receiver.close()
    assert [d["type"] for d in deliveries] == ["checkout.completed"] * 2, deliveries
    assert counter.rules is not None
    disagree = [pair for pair in counter.rules.single if pair[0] != pair[1]]
    assert not disagree, f"the billing rules disagree with DynamoDB Local on single-item writes: {disagree}"
    return {"steps": list(steps), "warm": totals[1], "cold": totals[0], "rru": capacity[0], "wru": capacity[1],
            "wru_local": capacity[2], "wru_by_kind": by_kind, "round_trips": round_trips}


def one_checkout(ours_app: Any, fake: Any, merchant: Any, headers: dict[str, str], step: Any, Client: Any,
                 GOOD_FORM: dict[str, str], csrf_token: Any) -> Any:
    """The whole flow, step by step; returns a function that replays its notification."""
    from urllib.parse import urlencode

    with Client(ours_app.app, project_dir=str(ROOT / "bench")) as client:
        body = json.dumps({"line_items": [{"name": "녹차", "unit_amount": 22000, "quantity": 1}], "currency": "KRW",
                           "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart"})
        created = step("create (API)", lambda: json.loads(client.http.post("/api/checkouts", headers=headers, body=body).body))
        cid = created["id"]
        page = step("page", lambda: client.http.get(f"/c/{cid}").body.decode())
        # What the page loads (stylesheets, scripts); the address search's script comes
        # only when the shopper presses 주소 검색, one request more for those who do.
        for name in re.findall(r'(?<![\w-])(?:href|src)="[^"]*/static/([\w.-]+)"', page):
            step(f"static {name.split('.')[-1]}", lambda name=name: client.http.get(f"/static/{name}"))
        form = urlencode({**GOOD_FORM, "csrf_token": csrf_token(page)})
        step("submit", lambda: client.http.post(f"/c/{cid}", body=form,
                                                 headers={"content-type": "application/x-www-form-urlencoded"}))
        session_id = fake.session_for(cid)["sessionId"]
        fake.pay(session_id)
        note, note_headers = fake.notification("payment.completed", session_id)
        step("notification", lambda: client.http.post(f"/webhooks/koreacheckout/{merchant.id}", body=note,
                                                      headers=note_headers))
        step("return", lambda: client.http.get(f"/c/{cid}/return"))
        final = step("API read", lambda: json.loads(client.http.get(f"/api/checkouts/{cid}", headers=headers).body))
        assert final["status"] == "complete", final

    def replay() -> int:
        with Client(ours_app.app, project_dir=str(ROOT / "bench")) as again:
            return int(again.http.post(f"/webhooks/koreacheckout/{merchant.id}", body=note, headers=note_headers).status_code)

    return replay


# Public on-demand prices, ap-northeast-2 (Seoul), USD; see the README for sources, dates
# and which of them no AWS page in reach confirmed for Seoul itself.
PRICES = {
    "wru": 1.4135 / 2 / 1e6,      # DynamoDB on demand, per write request unit (halved 1 Nov 2024)
    "rru": 0.2830 / 2 / 1e6,      # DynamoDB on demand, per read request unit (halved 1 Nov 2024)
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_s": 0.0000166667,  # x86, first 6 billion GB-s a month
    "apigw_rest": 3.50 / 1e6,     # REST API, first 333 million a month
}
LAMBDA_GB = 0.5
# The fakes answer on loopback in about a millisecond; a real provider or merchant endpoint
# does not. The cost row says what Lambda would bill if each such round trip took this long.
ASSUMED_ROUND_TRIP_MS = 200


def cost_per_1000(calls: dict[str, Any]) -> tuple[float, str]:
    """Dollars per 1,000 completed checkouts from the measured mix: every step (the page's
    static files included) is one API Gateway request and one Lambda invocation of its
    measured duration, rounded up to the millisecond as Lambda bills."""
    import math

    steps = calls["steps"]
    invocations = len(steps)
    billed_ms = sum(math.ceil(ms) for _, _, ms in steps)
    dynamodb = calls["wru"] * PRICES["wru"] + calls["rru"] * PRICES["rru"]
    lambda_ = invocations * PRICES["lambda_request"] + billed_ms / 1000 * LAMBDA_GB * PRICES["lambda_gb_s"]
    gateway = invocations * PRICES["apigw_rest"]
    total = (dynamodb + lambda_ + gateway) * 1000
    waiting = calls["round_trips"] * ASSUMED_ROUND_TRIP_MS / 1000 * LAMBDA_GB * PRICES["lambda_gb_s"] * 1000
    kinds = ", ".join(f"{kind} {units}" for kind, units in sorted(calls["wru_by_kind"].items(), key=lambda kv: -kv[1]))
    detail = (f"DynamoDB {calls['wru']:.0f} WRU (as AWS bills them, by item kind: {kinds}; DynamoDB Local reports "
              f"{calls['wru_local']:.0f}, under-counting transactions) + {calls['rru']:.1f} RRU ${dynamodb * 1000:.4f}; "
              f"Lambda {invocations} invocations, {billed_ms} ms at 512 MB ${lambda_ * 1000:.4f}; "
              f"API Gateway {invocations} REST requests ${gateway * 1000:.4f}; "
              f"+${waiting:.4f} if each of its {calls['round_trips']} provider and merchant round trips took "
              f"{ASSUMED_ROUND_TRIP_MS} ms (assumed, not measured)")
    return total, detail


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


def idle_cost() -> tuple[float, str]:
    """30 days of the scheduled jobs (entrypoints/jobs.py) on an empty table, from one measured tick of each.

    API Gateway bills nothing idle; DynamoDB on demand bills only requests (and storage,
    nothing here); Lambda bills the scheduled invocations.
    """
    import math

    from chalicelib.adapters import store
    from chalicelib.adapters.store import Store
    from chalicelib.usecases import events, expiry, reconcile

    empty = Store(store.dynamodb_client(), "bench-idle")
    empty.create_table(point_in_time_recovery=False)
    counter = CallCounter(empty.client)
    total = 0.0
    parts = []
    for name, tick, per_month in (("webhook retries", events.deliver_due, 30 * 24 * 60),
                                  ("reconciliation", reconcile.run, 30 * 24 * 60),
                                  ("expiry sweep", expiry.expire_due, 30 * 24 * 12)):
        tick(empty, int(time.time()))  # warm
        before_r = counter.read_units
        started = time.perf_counter()
        tick(empty, int(time.time()))
        ms = math.ceil((time.perf_counter() - started) * 1000)
        rru = counter.read_units - before_r
        cost = per_month * (PRICES["lambda_request"] + ms / 1000 * LAMBDA_GB * PRICES["lambda_gb_s"] + rru * PRICES["rru"])
        total += cost
        parts.append(f"{name}: {per_month} ticks × ({ms} ms, {rru:g} RRU) ${cost:.4f}")
    return total, "; ".join(parts) + " (before Lambda's free tier)"


def run_load(env: dict[str, str], checkouts: int, shoppers: int) -> tuple[list[tuple[str, str, str, str]], str]:
    """The load test (bench/load.py) in a process of its own, on this run's DynamoDB Local."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--checkouts", str(checkouts),
                             "--shoppers", str(shoppers), "--endpoint", env["AWS_ENDPOINT_URL_DYNAMODB"], "--json"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    lines = result.stdout.strip().splitlines()
    try:
        figures = json.loads(lines[-1])
    except (IndexError, ValueError):
        print(result.stdout[-4000:], result.stderr[-4000:], file=sys.stderr)
        return [("load test", "did not finish: see the output above", "FAILED", "every invariant holds")], result.stdout
    if result.returncode != 0:
        print(result.stderr[-4000:], file=sys.stderr)
    return [tuple(row) for row in figures["rows"]], "\n".join(lines[:-1]).strip()  # type: ignore[misc]


def quiet_logs() -> None:
    """The product's log lines are still formatted and written (they cost what they cost in
    Lambda), but to /dev/null instead of the table's terminal."""
    import logging

    import app  # noqa: F401 - configures the handler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="cold-start pairs")
    parser.add_argument("--rounds", type=int, default=300, help="warm-render rounds per batch")
    parser.add_argument("--batches", type=int, default=5, help="warm-render batches")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-package", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--load-checkouts", type=int, default=500)
    parser.add_argument("--load-shoppers", type=int, default=25)
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
    listing = ""
    load_report = ""
    started = time.monotonic()
    try:
        checkout_id = setup_data(env)
        quiet_logs()
        cold_ours, cold_floor, cold_ratios, split = cold_start(env, checkout_id, args.runs)
        rows.append(("cold start: import + first page (median ms)",
                     f"{cold_ours:.0f} vs floor {cold_floor:.0f} ({spread(cold_ratios).replace('batches', 'pairs')}); "
                     f"ours: import {split['import_ms']:.0f} + first page {split['first_ms']:.0f}, "
                     f"templates {'precompiled' if split['compiled'] else 'from source'}, "
                     f"cryptography {'loaded' if split['cryptography'] else 'not loaded'}",
                     f"{statistics.median(cold_ratios):.2f}x", "≤ 1.2x"))
        warm_ours, warm_floor, warm_ratios = warm_render(checkout_id, args.rounds, args.batches)
        rows.append(("warm `GET /c/{id}` (median ms, test client)",
                     f"{warm_ours:.2f} vs floor {warm_floor:.2f} ({spread(warm_ratios)})",
                     f"{statistics.median(warm_ratios):.2f}x", "≤ 1.2x"))
        listing, mine = profile_render(checkout_id)
        rows.append(("warm render profile: our top functions (cumulative ms per render, under cProfile)",
                     ", ".join(f"{name} {ms:.2f}" for name, ms in mine[:8]), "", "see the listing below"))
        calls = dynamodb_calls()
        detail = ", ".join(f"{name} {n}" for name, n, _ in calls["steps"] if not name.startswith("static"))
        rows.append(("DynamoDB calls, one KoreaCheckout checkout, warm container", detail, str(calls["warm"]), "≤ 8"))
        rows.append(("DynamoDB calls, the first checkout in a fresh container", "caches empty (merchant, API key)",
                     str(calls["cold"]), "≤ 10"))
        total, detail = cost_per_1000(calls)
        rows.append(("cost per 1,000 completed checkouts (ap-northeast-2, on demand)", detail, f"${total:.4f}", "≤ $0.05"))
        idle_total, idle_detail = idle_cost()
        rows.append(("cost when idle (30 days, no checkouts)", idle_detail, f"${idle_total:.3f}", "$0"))
        if not args.skip_load:
            load_rows, load_report = run_load(env, args.load_checkouts, args.load_shoppers)
            rows.extend(load_rows)
        if not args.skip_browser:
            weight = page_weight()
            if weight:
                rows.append(("first load, first-party", f"{weight.get('first_party_requests')} requests",
                             f"{weight.get('first_party_bytes', 0) / 1024:.1f} KB", "≤ 30 KB, ≤ 5 requests"))
        if not args.skip_package:
            zipped, biggest = package()
            rows.append(("deployment package (zipped)", ", ".join(f"{n} {s / 1e6:.2f} MB" for n, s in biggest[:3]),
                         f"{zipped / 1e6:.2f} MB", "≤ 5 MB"))
        tops = import_times(env)
        rows.append(("import time top 10 (ms, cumulative)", ", ".join(f"{n} {us / 1000:.0f}" for n, us in tops), "", ""))
    finally:
        engine.stop()

    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    print(f"\nBenchmarks {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({engine.name}, {os.cpu_count()} cores, "
          f"{cpu}, Python {platform.python_version()}; {time.monotonic() - started:.0f} s)\n")
    print("| measure | detail | result | goal |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if load_report:
        print("\n" + load_report)
    print("\nWarm render, cProfile, top functions by cumulative time:\n")
    print(listing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
