"""A harness for fake provider servers that enforce each provider's documented contract.

A fake subclasses ``FakeProvider`` and implements ``handle(request) -> Reply``; it
must answer 4xx (in the provider's own error shape) to any request that breaks the
contract: missing or wrong auth headers, bad signatures, wrong field names or
types, amounts that do not add up. ``faults`` lets a test make the next calls
fail (500, 429 with Retry-After, a stall, a garbage body) to check our client.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.dynamodb_local import free_port


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]          # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None                 # dict/list -> JSON; bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: list[str] = []      # "500", "429", "stall", "garbage", consumed in order
        self.stall_s = 15.0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake.lock:
                    fake.requests.append(request)
                    fault = fake.faults.pop(0) if fake.faults else None
                if fault == "stall":
                    time.sleep(fake.stall_s)
                    reply = Reply(504, {"error": "stalled"})
                elif fault == "500":
                    reply = Reply(500, {"error": "internal"})
                elif fault == "429":
                    reply = Reply(429, {"error": "rate limited"}, {"Retry-After": "1"})
                elif fault == "garbage":
                    reply = Reply(200, b"<html>502 Bad Gateway</html>", {"Content-Type": "text/html"})
                else:
                    with fake.lock:
                        reply = fake.handle(request)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body, ensure_ascii=False).encode()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
