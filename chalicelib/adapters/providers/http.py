"""The one HTTP client every provider request goes through.

Adapters build the request (method, URL, headers, the exact body bytes) and read
the answer; this module sends it: connect timeout 3 s and read timeout 10 s,
retries only where they are safe, ``429`` honoured through ``Retry-After``, and
an overall deadline so a shopper never waits more than ~12 s. Secrets the
adapter names are redacted from every log line and error message.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from chalicelib.adapters.providers.base import ProviderError, ProviderRejected

log = logging.getLogger("checkout.providers")

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
DEADLINE_S = 12.0
MAX_ATTEMPTS = 3
MAX_RETRY_AFTER_S = 3.0


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, numbers with a fraction as Decimal (never float)."""
        try:
            return json.loads(self.body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as e:
            raise ProviderError(f"the provider answered {self.status} with a body that is not JSON") from e


class ProviderHttp:
    def __init__(self, provider: str, secrets: Iterable[str] = ()) -> None:
        self.provider = provider
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        retry_safe: bool | None = None,
    ) -> HttpResponse:
        """Send one request; return the response for 2xx, raise for anything else.

        ``retry_safe`` says a repeat cannot do harm (reads; creates guarded by an
        idempotency key). It defaults to True for GET only. A 429 is retried
        either way: the provider did not act on the request.

        Raises ProviderRejected for 4xx (other than 429) and ProviderError for
        timeouts, connection errors, 5xx and exhausted retries.
        """
        import requests

        safe = method.upper() == "GET" if retry_safe is None else retry_safe
        deadline = time.monotonic() + DEADLINE_S
        path = urlsplit(url).path
        error: ProviderError | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                break
            started = time.monotonic()
            try:
                response = requests.request(
                    method,
                    url,
                    headers=dict(headers or {}),
                    data=body,
                    timeout=(CONNECT_TIMEOUT_S, min(READ_TIMEOUT_S, remaining)),
                    allow_redirects=False,
                )
            except requests.Timeout as e:
                self._log(method, path, None, started, attempt, "timeout")
                error = ProviderError(f"{self.provider} did not answer in time")
                error.__cause__ = e
                if not safe:
                    break
                continue
            except requests.RequestException as e:
                self._log(method, path, None, started, attempt, type(e).__name__)
                error = ProviderError(f"{self.provider} could not be reached")
                error.__cause__ = e
                connect_failed = isinstance(e, requests.ConnectionError) and not isinstance(e, requests.ReadTimeout)
                # A refused connection never reached the provider: safe to repeat.
                if not (safe or connect_failed):
                    break
                continue
            self._log(method, path, response.status_code, started, attempt, None)
            result = HttpResponse(response.status_code, response.headers, response.content)
            if 200 <= response.status_code < 300:
                return result
            if response.status_code == 429:
                error = ProviderError(f"{self.provider} is rate limiting us (429)")
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait is None or wait > min(MAX_RETRY_AFTER_S, deadline - time.monotonic() - 1):
                    break
                time.sleep(wait)
                continue
            if 400 <= response.status_code < 500:
                raise ProviderRejected(
                    f"{self.provider} refused the request ({response.status_code}): "
                    f"{self.redact(response.text[:300])}"
                )
            error = ProviderError(f"{self.provider} failed ({response.status_code})")
            if not safe:
                break
            time.sleep(min(0.2 * attempt, max(0.0, deadline - time.monotonic() - 1)))
        raise error or ProviderError(f"{self.provider} did not answer in time")

    def _log(self, method: str, path: str, status: int | None, started: float, attempt: int, failure: str | None) -> None:
        log.info(json.dumps({
            "provider": self.provider,
            "method": method,
            "path": self.redact(path),
            "status": status,
            "attempt": attempt,
            "failure": failure,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }))


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
