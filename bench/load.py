"""`make load`: many shoppers at once, the whole KoreaCheckout flow, and what must hold after.

    .venv/bin/python bench/load.py [--checkouts 500] [--shoppers 25] [--flash 100 --flash-limit 50]
                                   [--fault-checkouts 200 --fault-rate 0.05] [--endpoint URL] [--json]

Our app is served over HTTP by a threaded server (``ThreadingHTTPServer``, a listen
backlog of 512, a thread per connection) that hands each request to Chalice's local
API Gateway (``LocalGateway``), as ``chalice local`` does but without its backlog of 5;
the table is DynamoDB Local (started here unless ``--endpoint`` names one). KoreaCheckout
is its contract fake (``tests/adapters/providers/fake_koreacheckout.py``) on a port of its own;
the merchant's webhook endpoint verifies every delivery with ``standardwebhooks``.

Each shopper walks one checkout at a time: the merchant's server creates it (API, with
an Idempotency-Key), the shopper loads the page, submits the form, pays at the provider,
comes back through the return route, and the merchant's server reads the checkout.
When the shopper pays, the provider notifies us from a pool of its own, concurrently
with the shopper's return; one notification in ten is sent a second time after it was
accepted (a replay, which must be refused). A 503 (or no answer) is retried by whoever
got it, as a shopper reloads and a provider re-sends, a bounded number of times.

Scenarios: ``main`` (N checkouts from S concurrent shoppers), ``flash`` (F shoppers
released at once on a code whose usage_limit is L), ``fault`` (DynamoDB throttling on a
share of calls through ``tests/security/faultproxy.py``, each chosen call throttled for
all 5 of botocore's attempts (its 4 retries) so it reaches the app). After each, the script checks:
every checkout paid at the provider is ``complete`` in the table, its
``checkout.completed`` event exists exactly once and reached the merchant (verified), no
checkout has two provider sessions, no replay was accepted, no 5xx (in ``fault``: no
500; its 503s are counted), and for the flash sale exactly L redemptions. It exits 1
if any of that fails. Every loop is bounded in count and time; all traffic is to 127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import statistics
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = ("create", "page", "submit", "notification", "return", "api read")
STEP_ATTEMPTS = 6           # a shopper (or the provider) tries a step at most this often
CHECKOUT_BUDGET_S = 60.0    # and gives a checkout up after this long
NOTIFY_ATTEMPTS = 8
REPLAY_SHARE = 0.1
GOOD_FORM = {
    "name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678", "postal_code": "06236",
    "address1": "서울 강남구 테헤란로 152", "address_jibun": "서울 강남구 역삼동 737", "address2": "10층",
    "payment_method": "card", "agree": "1",
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- the app over HTTP --------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # many shoppers at once: far past http.server's backlog of 5
    daemon_threads = True


def _serve(handler: type[BaseHTTPRequestHandler], path: str) -> tuple[ThreadingHTTPServer, str]:
    """A threaded server on a free loopback port, serving in the background; and its URL."""
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{path}"


def _stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


class AppServer:
    """The Chalice app behind a threaded HTTP server, through Chalice's local API Gateway."""

    def __init__(self) -> None:
        from chalice.config import Config
        from chalice.local import LocalChalice, LocalGateway

        import app as app_module

        app = app_module.app
        if not isinstance(app, LocalChalice):
            # current_request per thread, as `chalice local` arranges it.
            class ThreadLocalApp(LocalChalice, app.__class__):  # type: ignore[misc, name-defined]
                pass

            app.__class__ = ThreadLocalApp
        gateway = LocalGateway(app, Config.create(chalice_app=app, lambda_timeout=30))

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    response = gateway.handle_request(self.command, self.path, headers, body)
                    status, payload = response["statusCode"], response.get("body") or ""
                    out_headers = dict(response.get("headers") or {})
                    for name, values in (response.get("multiValueHeaders") or {}).items():
                        out_headers[name] = ", ".join(values)
                    data = payload.encode() if isinstance(payload, str) else payload
                    if response.get("isBase64Encoded"):
                        import base64

                        data = base64.b64decode(data)
                except Exception as e:  # noqa: BLE001 - the gateway's own refusal (no route, auth)
                    status, data, out_headers = getattr(e, "STATUS_CODE", 502), b"{}", {"Content-Type": "application/json"}
                self.send_response(status)
                for name, value in out_headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server, self.url = _serve(Handler, "")

    def close(self) -> None:
        _stop(self.server)


class MerchantSink:
    """The merchant's webhook endpoint: verifies each delivery with standardwebhooks, answers 204."""

    def __init__(self, secret: str) -> None:
        from standardwebhooks.webhooks import Webhook

        self.hook = Webhook(secret)
        self.deliveries: list[dict[str, Any]] = []
        self.invalid = 0
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    payload = sink.hook.verify(body, dict(self.headers))
                    ok = True
                except Exception:  # noqa: BLE001 - any failure to verify is a bad delivery
                    ok = False
                with sink.lock:
                    if ok:
                        sink.deliveries.append({"id": self.headers.get("webhook-id"), "type": payload["type"],
                                                "checkout_id": payload["data"]["id"], "data": payload["data"]})
                    else:
                        sink.invalid += 1
                self.send_response(204 if ok else 400)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server, self.url = _serve(Handler, "/hooks")

    def close(self) -> None:
        _stop(self.server)


# --- figures ------------------------------------------------------------------------

@dataclass
class Figures:
    name: str
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def time(self, step: str, ms: float) -> None:
        with self.lock:
            self.times[step].append(ms)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1

    def outcome(self, kind: str) -> None:
        with self.lock:
            self.outcomes[kind] += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# --- one shopper, one checkout ------------------------------------------------------

class Rig:
    """Everything a scenario runs against: the app, the provider fake, the merchant."""

    def __init__(self, engine_url: str, dynamodb_url: str | None = None) -> None:
        from chalicelib import config
        from chalicelib.adapters import store
        from chalicelib.usecases import merchants
        from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout, credentials

        ThreadingHTTPServer.request_queue_size = 512  # the provider fake's server, too
        self.fake = FakeKoreaCheckout()
        os.environ["KOREACHECKOUT_API_BASE"] = self.fake.url
        config.settings.cache_clear()
        self.direct = store.Store(make_client(engine_url), f"load-{uuid.uuid4().hex[:10]}")
        self.direct.create_table(point_in_time_recovery=False)
        # The app's own store: straight to the engine, or through the fault proxy.
        self.store = store.Store(make_client(dynamodb_url or engine_url), self.direct.table)
        store.set_store(self.store)
        self.sink = MerchantSink("whsec_" + "A" * 32)  # replaced below with the merchant's secret
        merchant, self.api_key, secret = merchants.create(
            self.direct, merchant_id=f"load-{uuid.uuid4().hex[:8]}", name="부하 상점", provider="koreacheckout",
            credentials=credentials(self.fake), allowed_hosts=["shop.example"], webhook_url=self.sink.url)
        from standardwebhooks.webhooks import Webhook

        self.sink.hook = Webhook(secret)
        self.merchant = merchant
        self.app = AppServer()
        self.api_headers = {"x-api-key": self.api_key, "content-type": "application/json"}

    def close(self) -> None:
        from chalicelib.adapters import store

        self.app.close()
        self.fake.close()
        self.sink.close()
        store.set_store(None)
        try:
            self.direct.client.delete_table(TableName=self.direct.table)
        except Exception:  # noqa: BLE001 - the engine may be gone already
            pass


def make_client(endpoint: str) -> Any:
    """A client configured as the product's own (``store.dynamodb_client``), on ``endpoint``."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        "dynamodb", endpoint_url=endpoint,
        config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 4},
                      max_pool_connections=64))


class GiveUp(Exception):
    """The shopper stops here (after bounded retries); ``kind`` says why."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Shopper:
    def __init__(self, rig: Rig, figures: Figures, notifier: Notifier, deadline: float) -> None:
        import requests

        self.rig, self.figures, self.notifier = rig, figures, notifier
        self.deadline = deadline
        self.http = requests.Session()

    def call(self, step: str, method: str, url: str, ok: Callable[[Any], bool], **kwargs: Any) -> Any:
        """One step, retried on a 503 or no answer; anything else unexpected ends the checkout."""
        import requests

        for attempt in range(STEP_ATTEMPTS):
            if time.monotonic() > self.deadline:
                raise GiveUp(f"{step}: out of time")
            try:
                response = self.http.request(method, url, allow_redirects=False, timeout=30, **kwargs)
            except requests.RequestException as e:
                self.figures.error(f"{step}: {type(e).__name__}")
                time.sleep(min(1.5, 0.1 * 2 ** attempt))
                continue
            if response.status_code >= 500:
                self.figures.error(f"{step}: {response.status_code}")
                if response.status_code == 503:
                    time.sleep(min(1.5, 0.1 * 2 ** attempt) * random.uniform(0.5, 1.0))  # noqa: S311
                    continue
                raise GiveUp(f"{step}: {response.status_code}")
            if ok(response):
                return response
            self.figures.error(f"{step}: unexpected {response.status_code}")
            raise GiveUp(f"{step}: unexpected {response.status_code}")
        raise GiveUp(f"{step}: still failing after {STEP_ATTEMPTS} tries")

    def timed(self, step: str, action: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = action()
        self.figures.time(step, (time.perf_counter() - started) * 1000)
        return result

    def checkout(self, promotion_code: str | None = None, barrier: threading.Barrier | None = None) -> str | None:
        """One whole checkout; returns its id (None if it was never created)."""
        base = self.rig.app.url
        body: dict[str, Any] = {
            "line_items": [{"name": "유기농 녹차 세트", "unit_amount": 19000, "quantity": 1},
                           {"name": "배송비", "unit_amount": 3000, "quantity": 1}],
            "currency": "KRW", "success_url": "https://shop.example/thanks?c={CHECKOUT_ID}",
            "cancel_url": "https://shop.example/cart",
        }
        if promotion_code:
            body["promotion_code"] = promotion_code
        key = uuid.uuid4().hex
        created = self.timed("create", lambda: self.call(
            "create", "POST", f"{base}/api/checkouts", lambda r: r.status_code in (200, 201),
            data=json.dumps(body), headers={**self.rig.api_headers, "idempotency-key": key}))
        checkout_id = created.json()["id"]
        page_url = f"{base}/c/{checkout_id}"
        try:
            form_page = self.timed("page", lambda: self.call("page", "GET", page_url, lambda r: r.status_code == 200))
            if barrier is not None:
                barrier.wait(timeout=60)
            location = self.timed("submit", lambda: self.submit(page_url, form_page.text))
            if location is None:
                self.figures.outcome("refused: promotion code used up")
                return checkout_id
            session_id = location.rsplit("/", 1)[-1]
            self.rig.fake.pay(session_id)
            self.notifier.send(checkout_id, session_id)
            self.timed("return", lambda: self.call(
                "return", "GET", f"{page_url}/return",
                lambda r: r.status_code == 303 and r.headers["location"].startswith("https://shop.example/thanks")))
            final = self.timed("api read", lambda: self.call(
                "api read", "GET", f"{base}/api/checkouts/{checkout_id}", lambda r: r.status_code == 200,
                headers=self.rig.api_headers))
            status = final.json()["status"]
            self.figures.outcome("paid" if status == "complete" else f"ended {status}")
        except GiveUp as e:
            self.figures.outcome(f"gave up ({e.kind})")
        return checkout_id

    def submit(self, page_url: str, page: str) -> str | None:
        """Press Pay; the provider page's URL, or None when the code ran out (422)."""
        for attempt in range(STEP_ATTEMPTS):
            token = _CSRF.search(page)
            if token is None:
                # Not the form: the page says the payment is being confirmed (a submit whose
                # provider page was lost to a 503). The attempt frees itself after a minute.
                raise GiveUp("submit: payment being prepared, no provider page")
            answer = self.call("submit", "POST", page_url, lambda r: r.status_code in (303, 422),
                               data={**GOOD_FORM, "csrf_token": token.group(1)})
            if answer.status_code == 422:
                if "promotion" in answer.text or "할인 코드" in answer.text:
                    return None
                raise GiveUp("submit: form refused")
            location = answer.headers["location"]
            if location.startswith(self.rig.fake.url):
                return str(location)
            # Sent back to our page (busy, or already processing): load it and try again.
            time.sleep(min(1.0, 0.1 * 2 ** attempt))
            page = self.call("page", "GET", page_url, lambda r: r.status_code == 200).text
        raise GiveUp("submit: never reached the provider")


class Notifier:
    """KoreaCheckout telling us about payments: a pool of its own, retries on 5xx, some replays."""

    def __init__(self, rig: Rig, figures: Figures, workers: int = 8) -> None:
        import requests

        self.rig, self.figures = rig, figures
        self.jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.replays_accepted: list[str] = []
        self.undelivered: list[str] = []
        self.threads = [threading.Thread(target=self._work, args=(requests.Session(),), daemon=True)
                        for _ in range(workers)]
        for thread in self.threads:
            thread.start()

    def send(self, checkout_id: str, session_id: str) -> None:
        self.jobs.put((checkout_id, session_id))

    def _work(self, http: Any) -> None:
        import requests

        url = f"{self.rig.app.url}/webhooks/koreacheckout/{self.rig.merchant.id}"
        while True:
            job = self.jobs.get()
            if job is None:
                return
            checkout_id, session_id = job
            body, headers = self.rig.fake.notification("payment.completed", session_id)
            delivered = False
            started = time.perf_counter()
            for attempt in range(NOTIFY_ATTEMPTS):
                try:
                    answer = http.post(url, data=body, headers=headers, timeout=30)
                except requests.RequestException as e:
                    self.figures.error(f"notification: {type(e).__name__}")
                    time.sleep(min(2.0, 0.1 * 2 ** attempt))
                    continue
                if answer.status_code == 200:
                    delivered = True
                    break
                self.figures.error(f"notification: {answer.status_code}")
                if answer.status_code < 500:
                    break  # refused: a provider would not send it again
                time.sleep(min(2.0, 0.1 * 2 ** attempt))
            self.figures.time("notification", (time.perf_counter() - started) * 1000)
            if not delivered:
                self.undelivered.append(checkout_id)
            elif random.random() < REPLAY_SHARE:  # noqa: S311 - which ones, not a secret
                replay = http.post(url, data=body, headers=headers, timeout=30)
                self.figures.outcome("replay refused" if replay.status_code == 400 else f"replay answered {replay.status_code}")
                if replay.status_code == 200:
                    self.replays_accepted.append(checkout_id)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.jobs.empty() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))


# --- scenarios ----------------------------------------------------------------------

def run_shoppers(rig: Rig, figures: Figures, count: int, shoppers: int, budget_s: float,
                 promotion_code: str | None = None, together: bool = False) -> list[str]:
    notifier = Notifier(rig, figures)
    deadline = time.monotonic() + budget_s
    barrier = threading.Barrier(count) if together else None
    local = threading.local()

    def one(_: int) -> str | None:
        if not hasattr(local, "shopper"):
            local.shopper = Shopper(rig, figures, notifier, deadline)
        local.shopper.deadline = min(deadline, time.monotonic() + CHECKOUT_BUDGET_S)
        try:
            return local.shopper.checkout(promotion_code, barrier)
        except GiveUp as e:
            figures.outcome(f"gave up ({e.kind})")
        except threading.BrokenBarrierError:
            figures.outcome("gave up (barrier)")
        return None

    with ThreadPoolExecutor(count if together else shoppers) as pool:
        ids = [c for c in pool.map(one, range(count)) if c]
    notifier.drain(60)
    figures.ended = time.monotonic()
    figures.outcomes["notifications never accepted"] += len(notifier.undelivered)
    figures.outcomes["replays accepted"] += len(notifier.replays_accepted)
    return ids


def run_retry_schedule(rig: Rig) -> None:
    """What the scheduled job does every minute, ticked until nothing is due (at most 20 ticks)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.domain import clock
    from chalicelib.usecases import events

    for _ in range(20):
        try:
            if events.deliver_due(rig.store, clock.now_s() + 10) == 0:
                return
        except (BotoCoreError, ClientError) as e:
            # The tick failed (the table throttled it past botocore's retries): as in AWS,
            # the next tick runs anyway and finds the same deliveries still due.
            print(f"a retry tick failed: {type(e).__name__}", file=sys.stderr)
        time.sleep(0.2)


def check(rig: Rig, figures: Figures, ids: list[str], allow_503: bool) -> list[str]:
    """The invariants, from the table itself (not through the proxy), the fake and the sink."""
    with rig.fake.lock:
        sessions = [(s["platformOrderId"], s["status"]) for s in rig.fake.sessions.values()]
        creates = dict(rig.fake.creates_by_attempt)
    with rig.sink.lock:
        deliveries = list(rig.sink.deliveries)
        invalid = rig.sink.invalid
    statuses, stored = {}, {}
    for checkout_id in ids:
        checkout = rig.direct.get_checkout(checkout_id)
        statuses[checkout_id] = checkout.status if checkout else None
        stored[checkout_id] = sum(1 for e in rig.direct.query(f"CHECKOUT#{checkout_id}", "EVENT#")
                                  if e["event_type"] == "checkout.completed")
    return invariant_problems(ids, sessions, creates, deliveries, invalid, statuses, stored, figures, allow_503)


def invariant_problems(
    ids: list[str], sessions: list[tuple[str, str]], creates: dict[str, int], deliveries: list[dict[str, Any]],
    invalid: int, statuses: dict[str, str | None], stored: dict[str, int], figures: Figures, allow_503: bool,
) -> list[str]:
    """What went wrong, from what the provider holds (sessions: checkout id and status; creates
    per attempt), what the merchant received (verified deliveries; ``invalid`` ones), what the
    table holds (status and stored checkout.completed events per checkout) and the errors seen."""
    problems = []
    at_provider: dict[str, list[str]] = defaultdict(list)
    for checkout_id, status in sessions:
        if checkout_id in ids:
            at_provider[checkout_id].append(status)
    paid = {c for c, states in at_provider.items() if "completed" in states}
    two_sessions = [c for c, states in at_provider.items() if len(states) > 1]
    if two_sessions:
        problems.append(f"{len(two_sessions)} checkouts with more than one provider session")
    if any(n > 1 for n in creates.values()):
        problems.append("a provider session created twice for one attempt")
    completed_events: dict[str, set[str]] = defaultdict(set)
    for d in deliveries:
        if d["type"] == "checkout.completed":
            completed_events[d["checkout_id"]].add(d["id"])
    if invalid:
        problems.append(f"{invalid} deliveries failed standardwebhooks verification")
    not_complete, lost, doubled, stored_wrong = [], [], [], []
    for checkout_id in ids:
        delivered = completed_events.get(checkout_id, set())
        if checkout_id in paid:
            if statuses.get(checkout_id) != "complete":
                not_complete.append(checkout_id)
            if stored.get(checkout_id) != 1:
                stored_wrong.append(checkout_id)
            if not delivered:
                lost.append(checkout_id)
        elif stored.get(checkout_id) or delivered:
            doubled.append(checkout_id)  # completed without a payment
        if len(delivered) > 1:
            doubled.append(checkout_id)
    for label, found in (("paid at the provider but not complete", not_complete),
                         ("paid with no checkout.completed delivered (lost)", lost),
                         ("with more than one checkout.completed, or one without a payment", doubled),
                         ("paid without exactly one checkout.completed event stored", stored_wrong)):
        if found:
            problems.append(f"{len(found)} checkouts {label}: {found[:3]}")
    server_errors = sum(n for kind, n in figures.errors.items() if re.search(r": 5\d\d$", kind)
                        and not (allow_503 and kind.endswith(": 503")))
    if server_errors:
        problems.append(f"{server_errors} server errors ({'other than 503' if allow_503 else '5xx'})")
    if figures.outcomes.get("replays accepted"):
        problems.append(f"{figures.outcomes['replays accepted']} replayed notifications accepted")
    figures.outcomes["paid at the provider"] = len(paid)
    figures.outcomes["completed events delivered"] = sum(len(v) for v in completed_events.values())
    figures.outcomes["redeliveries (same event id)"] = sum(1 for d in deliveries if d["type"] == "checkout.completed") - \
        figures.outcomes["completed events delivered"]
    return problems


def report(figures: Figures, problems: list[str], extra: str = "") -> tuple[str, list[str]]:
    wall = max(1e-9, figures.ended - figures.started)
    paid = figures.outcomes.get("paid at the provider", 0)
    lines = [f"## {figures.name}: {paid} paid in {wall:.1f} s, {paid / wall:.1f} checkouts/s{extra}", "",
             "| step | n | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|"]
    for step in STEPS:
        values = figures.times.get(step, [])
        if values:
            lines.append(f"| {step} | {len(values)} | {statistics.median(values):.0f} | {percentile(values, 0.95):.0f} | "
                         f"{percentile(values, 0.99):.0f} |")
    lines += ["", "errors by kind: " + (", ".join(f"{k} ×{v}" for k, v in sorted(figures.errors.items())) or "none"),
              "outcomes: " + ", ".join(f"{k} ×{v}" for k, v in sorted(figures.outcomes.items())),
              "invariants: " + ("all hold" if not problems else "VIOLATED: " + "; ".join(problems))]
    steps = "; ".join(f"{s} {percentile(figures.times[s], 0.5):.0f}/{percentile(figures.times[s], 0.95):.0f}/"
                      f"{percentile(figures.times[s], 0.99):.0f}" for s in STEPS if figures.times.get(s))
    gave_up = sum(n for kind, n in figures.outcomes.items() if kind.startswith("gave up"))
    row = [f"load: {figures.name}", f"{paid} paid in {wall:.0f} s, {paid / wall:.1f} checkouts/s"
           + (f", {gave_up} shoppers gave up after retries" if gave_up else "") + f"; p50/p95/p99 ms: {steps}; errors: "
           + (", ".join(f"{k} ×{v}" for k, v in sorted(figures.errors.items())) or "none") + extra,
           "all invariants hold" if not problems else "VIOLATED", ""]
    return "\n".join(lines), row


def scenario_main(engine: str, checkouts: int, shoppers: int) -> tuple[str, list[str], bool]:
    rig = Rig(engine)
    try:
        figures = Figures(f"{checkouts} checkouts, {shoppers} concurrent shoppers")
        ids = run_shoppers(rig, figures, checkouts, shoppers, budget_s=600)
        run_retry_schedule(rig)
        problems = check(rig, figures, ids, allow_503=False)
        if figures.outcomes.get("paid", 0) != checkouts:
            problems.append(f"only {figures.outcomes.get('paid', 0)} of {checkouts} checkouts were paid")
        text, row = report(figures, problems)
        row[3] = "every paid checkout complete, one checkout.completed each, 0 lost, 0 duplicate sessions, 0 5xx"
        return text, row, not problems
    finally:
        rig.close()


def scenario_flash(engine: str, shoppers: int, limit: int) -> tuple[str, list[str], bool]:
    import requests

    rig = Rig(engine)
    try:
        figures = Figures(f"flash sale, {shoppers} shoppers at once on a code with usage_limit {limit}")
        created = requests.post(f"{rig.app.url}/api/promotion-codes", headers=rig.api_headers, timeout=10,
                                data=json.dumps({"code": "FLASH", "type": "percentage", "value": 10, "usage_limit": limit}))
        assert created.status_code == 201, created.text
        ids = run_shoppers(rig, figures, shoppers, shoppers, budget_s=300, promotion_code="FLASH", together=True)
        run_retry_schedule(rig)
        problems = check(rig, figures, ids, allow_503=False)
        code = rig.direct.get(f"PROMO#{rig.merchant.id}#FLASH", "PROMO") or {}
        complete = [c for c in (rig.direct.get_checkout(i) for i in ids) if c is not None and c.status == "complete"]
        discounted = [c for c in complete if c.promotion and c.amount_discount]
        if (code.get("redeemed"), len(discounted)) != (limit, limit):
            problems.append(f"{code.get('redeemed')} redemptions counted, {len(discounted)} discounted checkouts paid; "
                            f"expected exactly {limit}")
        extra = f"; redemptions {code.get('redeemed')} of limit {limit}, reserved {code.get('claimed')}"
        text, row = report(figures, problems, extra)
        row[3] = f"exactly {limit} redemptions"
        return text, row, not problems
    finally:
        rig.close()


def scenario_fault(engine: str, checkouts: int, shoppers: int, rate: float) -> tuple[str, list[str], bool]:
    from tests.security.faultproxy import FaultProxy

    proxy = FaultProxy(engine, rate=rate, rate_kind="throttling", burst=5)
    rig = Rig(engine, proxy.url)
    try:
        figures = Figures(f"{checkouts} checkouts, {shoppers} shoppers, DynamoDB throttling {rate:.0%} of calls")
        ids = run_shoppers(rig, figures, checkouts, shoppers, budget_s=600)
        run_retry_schedule(rig)
        problems = check(rig, figures, ids, allow_503=True)
        throttled, calls = proxy.failed(), len(proxy.calls)
        extra = f"; DynamoDB calls {calls}, throttled {throttled} ({throttled / max(1, calls):.1%}, each for all 5 attempts)"
        text, row = report(figures, problems, extra)
        row[3] = "503s and retries, 0 lost, 0 duplicated, 0 500s"
        return text, row, not problems
    finally:
        rig.close()
        proxy.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=500)
    parser.add_argument("--shoppers", type=int, default=25)
    parser.add_argument("--flash", type=int, default=100, help="shoppers in the flash sale (0: skip)")
    parser.add_argument("--flash-limit", type=int, default=50)
    parser.add_argument("--fault-checkouts", type=int, default=200, help="checkouts in the fault variant (0: skip)")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--endpoint", help="a running DynamoDB Local (else one is started)")
    parser.add_argument("--json", action="store_true", help="end with the bench rows as JSON")
    args = parser.parse_args()

    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "load")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "load")
    os.environ.update(CHECKOUT_STAGE="dev", CHECKOUT_SANDBOX="1", CHECKOUT_ALLOW_INSECURE_WEBHOOKS="1")
    if not os.environ.get("CHECKOUT_SECRET_KEY"):
        from cryptography.fernet import Fernet

        os.environ["CHECKOUT_SECRET_KEY"] = Fernet.generate_key().decode()
    engine_process = None
    endpoint = args.endpoint
    if endpoint is None:
        from tools.dynamodb_local import DynamoDBLocal

        engine_process = DynamoDBLocal()
        endpoint = engine_process.start()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    import logging

    import app  # noqa: F401 - configures logging

    logging.getLogger().setLevel(logging.ERROR)  # the load's own lines would drown the report
    texts, rows, ok = [], [], True
    try:
        runs: list[Callable[[], tuple[str, list[str], bool]]] = []
        if args.checkouts:
            runs.append(lambda: scenario_main(endpoint, args.checkouts, args.shoppers))
        if args.flash:
            runs.append(lambda: scenario_flash(endpoint, args.flash, args.flash_limit))
        if args.fault_checkouts:
            runs.append(lambda: scenario_fault(endpoint, args.fault_checkouts, args.shoppers, args.fault_rate))
        for run in runs:
            text, row, passed = run()
            print(text + "\n", flush=True)
            texts.append(text)
            rows.append(row)
            ok = ok and passed
    finally:
        if engine_process is not None:
            engine_process.stop()
    if args.json:
        print("\n" + json.dumps({"rows": rows, "ok": ok}, ensure_ascii=False))
    print("load test: " + ("every invariant holds" if ok else "INVARIANTS VIOLATED"), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
