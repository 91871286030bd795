"""A fault-injecting HTTP proxy in front of DynamoDB Local.

Every DynamoDB call is a POST whose ``X-Amz-Target`` names the operation; the proxy
forwards it unchanged, unless a queued fault matches (operation, and optionally a
piece of the request body), in which case it answers as DynamoDB does when it
throttles, fails or cancels a transaction. botocore parses those answers into the
same ``ClientError`` codes production sees, and applies its own retry rules to them.

Besides queued faults, a steady rate (``rate``): that share of the calls fail with
``rate_kind``, chosen at random (seeded). ``burst`` makes a chosen call fail that many
times in a row (its retries carry the same body), as a throttled partition keeps
throttling for a moment; botocore's standard mode with 4 retries makes 5 attempts, so a
burst of 5 reaches the app.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import random
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tools.dynamodb_local import free_port

PREFIX = "com.amazonaws.dynamodb.v20120810#"
ANSWERS = {
    "throughput": (400, PREFIX + "ProvisionedThroughputExceededException",
                   "The level of configured provisioned throughput for the table was exceeded."),
    "throttling": (400, "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    "500": (500, PREFIX + "InternalServerError", "Internal server error"),
    "conflict": (400, PREFIX + "TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons"),
}


@dataclass
class Fault:
    operation: str          # "PutItem", "TransactWriteItems", ...
    kind: str               # a key of ANSWERS
    times: int              # how many matching calls fail
    contains: str = ""      # only calls whose body contains this


class FaultProxy:
    def __init__(self, upstream: str, rate: float = 0.0, rate_kind: str = "throttling", burst: int = 1,
                 seed: int = 15) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, bool]] = []     # (operation, failed)
        self.lock = threading.Lock()
        self.rate, self.rate_kind, self.burst = rate, rate_kind, burst
        self._random = random.Random(seed)
        self._bursts: dict[str, int] = {}           # body digest -> failures still to come
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                operation = (self.headers.get("x-amz-target") or "").rsplit(".", 1)[-1]
                fault = proxy._take(operation, body)
                if fault is not None:
                    status, payload = proxy._answer(fault, body)
                    content_type = "application/x-amz-json-1.0"
                else:
                    status, payload, content_type = proxy._forward(self, body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def inject(self, operation: str, kind: str, times: int, contains: str = "") -> None:
        with self.lock:
            self.faults.append(Fault(operation, kind, times, contains))

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def failed(self, operation: str | None = None) -> int:
        return sum(1 for op, failed in self.calls if failed and operation in (None, op))

    def _take(self, operation: str, body: bytes) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.operation == operation and fault.times > 0 and fault.contains.encode() in body:
                    fault.times -= 1
                    self.calls.append((operation, True))
                    return fault
            if self.rate and operation:
                key = hashlib.sha256(body).hexdigest()
                left = self._bursts.pop(key, 0)
                if left or self._random.random() < self.rate:
                    if (left or self.burst) > 1:
                        self._bursts[key] = (left or self.burst) - 1
                    self.calls.append((operation, True))
                    return Fault(operation, self.rate_kind, 0)
            self.calls.append((operation, False))
            return None

    @staticmethod
    def _answer(fault: Fault, body: bytes) -> tuple[int, bytes]:
        status, error_type, message = ANSWERS[fault.kind]
        payload: dict[str, object] = {"__type": error_type, "message": message}
        if fault.kind == "conflict":
            items = json.loads(body).get("TransactItems", [])
            payload["CancellationReasons"] = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] + [
                {"Code": "None"} for _ in items[1:]]
        return status, json.dumps(payload).encode()

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, str]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
            connection.request("POST", handler.path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read(), response.getheader("Content-Type", "application/x-amz-json-1.0")
        finally:
            connection.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
