"""Shared fixtures: DynamoDB engines (moto server and DynamoDB Local), a fresh table per
test, the app (Chalice test client or a real local HTTP server), merchants, and a
merchant webhook receiver that verifies deliveries with the standardwebhooks library.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

# Settings are read from the environment once; set them before chalicelib is imported.
from cryptography.fernet import Fernet

os.environ.update({
    "CHECKOUT_STAGE": "dev",
    "CHECKOUT_SANDBOX": "1",
    "CHECKOUT_ALLOW_INSECURE_WEBHOOKS": "1",
    "CHECKOUT_SECRET_KEY": Fernet.generate_key().decode(),
    "AWS_DEFAULT_REGION": "ap-northeast-2",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
})
os.environ.pop("CHECKOUT_PUBLIC_URL", None)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from chalicelib import config as checkout_config  # noqa: E402
from chalicelib.adapters import store  # noqa: E402
from chalicelib.usecases import merchants
from tools.dynamodb_local import DynamoDBLocal, MotoServer, free_port  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The security suite's figures table: a plugin, so its summary hook runs on the xdist controller too.
pytest_plugins = ["tests.security.figures"]


# --- engines ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = MotoServer()
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def ddb_local_endpoint() -> Iterator[str]:
    reason = DynamoDBLocal.available()
    if reason:
        if IN_CI:
            pytest.fail(f"DynamoDB Local must run in CI: {reason}")
        pytest.skip(f"DynamoDB Local unavailable here: {reason}")
    engine = DynamoDBLocal()
    yield engine.start()
    engine.stop()


@pytest.fixture(params=["moto", "ddb_local"])
def engine(request: pytest.FixtureRequest) -> str:
    """Run the test once on moto and once on DynamoDB Local; the value is the endpoint."""
    endpoint: str = request.getfixturevalue(f"{request.param}_endpoint")
    return endpoint


@pytest.fixture
def ddb_local(ddb_local_endpoint: str) -> str:
    """DynamoDB Local only: for what moto is too lenient to judge (races, conditions)."""
    return ddb_local_endpoint


def make_client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 4}, max_pool_connections=64),
    )


def _new_store(endpoint: str) -> store.Store:
    s = store.Store(make_client(endpoint), f"checkout-test-{uuid.uuid4().hex[:12]}")
    s.create_table(point_in_time_recovery=False)
    return s


@contextlib.contextmanager
def _installed_table(endpoint: str) -> Iterator[store.Store]:
    """A fresh table on ``endpoint``, installed as the app's store for the test."""
    s = _new_store(endpoint)
    store.set_store(s)
    try:
        yield s
    finally:
        store.set_store(None)
        s.client.delete_table(TableName=s.table)


@pytest.fixture
def db(moto_endpoint: str) -> Iterator[store.Store]:
    """A fresh table on moto, installed as the app's store."""
    with _installed_table(moto_endpoint) as s:
        yield s


@pytest.fixture(scope="module")
def module_db(moto_endpoint: str) -> Iterator[store.Store]:
    """One table for a whole module of read-mostly tests (validation tables)."""
    s = _new_store(moto_endpoint)
    yield s
    s.client.delete_table(TableName=s.table)


@pytest.fixture
def shared_db(module_db: store.Store) -> Iterator[store.Store]:
    store.set_store(module_db)
    yield module_db
    store.set_store(None)


@pytest.fixture
def any_db(engine: str) -> Iterator[store.Store]:
    """A fresh table on each engine in turn (moto, then DynamoDB Local)."""
    with _installed_table(engine) as s:
        yield s


@pytest.fixture
def local_db(ddb_local: str) -> Iterator[store.Store]:
    """A fresh table on DynamoDB Local only: for races and conditions moto cannot judge."""
    with _installed_table(ddb_local) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    checkout_config.settings.cache_clear()
    yield
    checkout_config.settings.cache_clear()


# --- DNS --------------------------------------------------------------------------

PUBLIC_HOSTS = {"shop.example": "93.184.216.34", "hooks.shop.example": "93.184.216.35"}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The machine has no DNS: answer for a few test host names (the OS boundary, not our code).

    Add names to the returned dict (e.g. one that resolves to a private address).
    """
    import socket

    table = dict(PUBLIC_HOSTS)
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            address = table[host]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


# --- merchant webhook receiver ----------------------------------------------------

def table_text(s: store.Store) -> str:
    """Every item of the table as JSON text, an event's packed payload unpacked (to search it all)."""
    from chalicelib.adapters import webhooks

    items = []
    for raw in s.client.scan(TableName=s.table, ConsistentRead=True)["Items"]:
        item = store.from_item(raw)
        if webhooks.PACKED_PAYLOAD in item:
            item["payload"] = webhooks.payload_of(item)
            del item[webhooks.PACKED_PAYLOAD]
        items.append(item)
    return json.dumps(items, ensure_ascii=False, default=str)


class WebhookReceiver:
    """A merchant endpoint: records deliveries; answers with the queued status codes (then 204)."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.responses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.deliveries.append({"headers": dict(self.headers), "body": body})
                    status = receiver.responses.pop(0) if receiver.responses else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every delivery, verified with the standardwebhooks library (raises if one is bad)."""
        from standardwebhooks.webhooks import Webhook

        hook = Webhook(secret)
        return [hook.verify(d["body"], d["headers"]) for d in self.deliveries]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


# --- merchants and the app --------------------------------------------------------

class MerchantHandle:
    def __init__(self, merchant: merchants.Merchant, api_key: str, webhook_secret: str) -> None:
        self.merchant = merchant
        self.id = merchant.id
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.headers = {"x-api-key": api_key, "content-type": "application/json"}


def create_merchant(s: store.Store, webhook_url: str | None = None, **overrides: Any) -> MerchantHandle:
    options: dict[str, Any] = {
        "merchant_id": f"m-{uuid.uuid4().hex[:10]}",
        "name": "테스트 상점",
        "provider": "sandbox",
        "allowed_hosts": ["shop.example", "127.0.0.1", "localhost"],
        "webhook_url": webhook_url,
        "support_email": "help@shop.example",
    }
    options.update(overrides)
    merchant, key, secret = merchants.create(s, **options)
    return MerchantHandle(merchant, key, secret)


@pytest.fixture
def merchant(db: store.Store, receiver: WebhookReceiver) -> MerchantHandle:
    return create_merchant(db, receiver.url)


def checkout_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "line_items": [
            {"name": "유기농 녹차", "unit_amount": 19000, "quantity": 1},
            {"name": "배송비", "unit_amount": 3000, "quantity": 1},
        ],
        "currency": "KRW",
        "success_url": "https://shop.example/thanks?c={CHECKOUT_ID}",
        "cancel_url": "https://shop.example/cart",
        "client_reference_id": "order-123",
    }
    body.update(overrides)
    return body


@pytest.fixture
def kc_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """KoreaCheckout's contract-enforcing fake, with the app pointed at it."""
    from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout

    provider = FakeKoreaCheckout()
    monkeypatch.setenv("KOREACHECKOUT_API_BASE", provider.url)
    yield provider
    provider.close()


@pytest.fixture
def kc_merchant(db: store.Store, receiver: WebhookReceiver, kc_fake: Any) -> MerchantHandle:
    from tests.adapters.providers.fake_koreacheckout import credentials

    return create_merchant(db, receiver.url, provider="koreacheckout", credentials=credentials(kc_fake))


@pytest.fixture
def client() -> Any:
    from chalice.test import Client

    from app import app

    with Client(app) as c:
        yield c


def api_json(response: Any) -> Any:
    return json.loads(response.body)


def _method_not_allowed(handler: BaseHTTPRequestHandler) -> None:
    body = b'{"message":"Method Not Allowed"}'
    handler.send_response(405)
    handler.send_header("Allow", "GET, POST")
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _unknown_method(handler: BaseHTTPRequestHandler, name: str) -> Any:
    if name.startswith("do_"):
        return lambda: _method_not_allowed(handler)
    raise AttributeError(name)


class LiveServer:
    """The app served over real HTTP by Chalice's local server, in this process."""

    def __init__(self) -> None:
        from chalice import local
        from chalice.config import Config
        from chalice.local import LocalChalice, LocalDevServer, create_local_server

        from app import app

        # socketserver's default listen backlog is 5: the race tests open 20 connections at once.
        local.ThreadedHTTPServer.request_queue_size = 128
        # Methods API Gateway answers itself (the app never sees them); chalice local would say 501.
        local.ChaliceRequestHandler.__getattr__ = _unknown_method

        self.port = free_port()
        config = Config.create(chalice_app=app)
        if isinstance(app, LocalChalice):
            # The first server turned the app into a thread-local LocalChalice already.
            self.server = LocalDevServer(app, config, "127.0.0.1", self.port)
        else:
            self.server = create_local_server(app, config, "127.0.0.1", self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.server.shutdown()
        self.server.server.server_close()


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.close()
