"""The web edge: requests in, responses out, and the one place errors become HTTP.

Routes in ``app.py`` wrap their handler in ``api_view`` (JSON) or ``page_view``
(HTML for shoppers). Both turn a ``CheckoutError`` into its response, hide every
other exception behind a generic 500, and add the security headers.
"""
from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from chalice.app import Response

from chalicelib import logs
from chalicelib.config import settings
from chalicelib.domain.errors import CheckoutError, InvalidRequest, NotFound, PayloadTooLarge, ServiceUnavailable
from chalicelib.web import i18n
from chalicelib.web.render import Html, render

log = logging.getLogger("checkout.web")

DAUM_SCRIPT_HOSTS = ("https://t1.daumcdn.net", "https://t1.kakaocdn.net")
DAUM_FRAME_HOSTS = ("https://postcode.map.daum.net", "https://postcode.map.kakao.com")

# Request size limits (README, "Limits"): bodies over them are 413 before anything reads them.
MAX_API_BODY_BYTES = 256 * 1024
MAX_NOTIFICATION_BODY_BYTES = 64 * 1024
MAX_FORM_BODY_BYTES = 16 * 1024
# Our ids are at most a few dozen characters; a longer path parameter names nothing.
MAX_PATH_PARAM_CHARS = 100

BASE_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


@dataclass
class Redirect:
    location: str
    status: int = 303


@dataclass
class Json:
    body: Any
    status: int = 200


def public_base(request: Any) -> str:
    """The external base URL: CHECKOUT_PUBLIC_URL, else derived from the request.

    Without a custom domain, API Gateway serves under the stage name
    (``https://abc.execute-api.region.amazonaws.com/api``), so the prefix is kept.
    """
    configured = settings().public_url
    if configured:
        return configured
    if settings().live:
        return _gateway_base(request)
    headers = request.headers
    host = headers.get("host") or "localhost"
    loopback = host.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
    proto = headers.get("x-forwarded-proto") or ("http" if loopback else "https")
    prefix = ""
    stage = (request.context or {}).get("stage")
    if stage and host.endswith(".amazonaws.com"):
        prefix = f"/{stage}"
    return f"{proto}://{host}{prefix}"


def _gateway_base(request: Any) -> str:
    """Production without CHECKOUT_PUBLIC_URL: the API Gateway domain that received the request
    (``requestContext.domainName``, set by API Gateway), never the client's Host header."""
    context = request.context or {}
    domain = context.get("domainName")
    if not isinstance(domain, str) or not domain:
        log.error("CHECKOUT_PUBLIC_URL is not set and the request carries no API Gateway domain")
        raise ServiceUnavailable("This service is not configured with its public URL (CHECKOUT_PUBLIC_URL).")
    stage = context.get("stage")
    prefix = f"/{stage}" if stage and domain.endswith(".amazonaws.com") else ""
    return f"https://{domain}{prefix}"


MAX_FORM_FIELDS = 50


def form_data(request: Any) -> dict[str, list[str]]:
    """The urlencoded form; InvalidRequest for one with more fields than any page of ours has."""
    raw = request.raw_body or b""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        return parse_qs(raw, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as e:
        raise InvalidRequest(f"the form has more than {MAX_FORM_FIELDS} fields", "body") from e


def check_request(kwargs: dict[str, Any], body: bytes | str | None, max_body: int) -> None:
    """What is refused before anything reads the request: over-long path parameters (404 —
    they name nothing of ours) and bodies over the documented limit (413)."""
    for value in kwargs.values():
        if isinstance(value, str) and len(value) > MAX_PATH_PARAM_CHARS:
            raise NotFound("No such page.")
    if body is not None and len(body) > max_body:
        raise PayloadTooLarge(f"the request body is over the {max_body // 1024} KiB limit", "body")


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def csp(nonce: str, form_action: tuple[str, ...]) -> str:
    """The page's Content-Security-Policy: a fresh nonce per response, the rest per container."""
    return _CSP_PARTS[0] + nonce + _CSP_PARTS[1] + nonce + _CSP_PARTS[2] + _form_actions(form_action)


@functools.lru_cache(maxsize=256)
def _form_actions(form_action: tuple[str, ...]) -> str:
    return " ".join(["'self'", *sorted({a for a in form_action if a})])


_CSP_PARTS = "; ".join([
    "default-src 'none'",
    f"script-src 'self' 'nonce-\0' {' '.join(DAUM_SCRIPT_HOSTS)}",
    "style-src 'self' 'nonce-\0'",
    "img-src 'self' https: data:",
    "connect-src 'self'",
    f"frame-src {' '.join(DAUM_FRAME_HOSTS)}",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action \0",
]).split("\0")


def to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Redirect):
        return Response(body="", status_code=result.status,
                        headers={**BASE_HEADERS, "Location": result.location, "Cache-Control": "no-store"})
    if isinstance(result, Html):
        headers: dict[str, str | list[str]] = {
            **BASE_HEADERS,
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": csp(result.nonce, result.form_action),
            "Cache-Control": "no-store",
            **result.extra_headers,
        }
        return Response(body=result.body, status_code=result.status, headers=headers)
    body = result.body if isinstance(result, Json) else result
    status = result.status if isinstance(result, Json) else 200
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        headers={**BASE_HEADERS, "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"},
    )


def _begin(app: Any, handler: Callable[..., Any], kwargs: dict[str, Any]) -> float:
    request = app.current_request
    logs.begin(handler.__name__, getattr(request, "method", "") or "")
    if all(not isinstance(v, str) or len(v) <= MAX_PATH_PARAM_CHARS for v in kwargs.values()):
        logs.note(checkout_id=kwargs.get("checkout_id"), provider=kwargs.get("provider"),
                  merchant_id=kwargs.get("merchant_id"))
    return time.monotonic()


def _log(kind: str, started: float, status: int) -> None:
    logs.end(status, round((time.monotonic() - started) * 1000))


def _locale_of(request: Any) -> str:
    """The shopper's language for an error page: ?lang=, else the submitted form's lang field.

    Never fails: it runs while an error page is being made (a form too large or with too
    many fields gets the default language, and the error it is about).
    """
    requested = (request.query_params or {}).get("lang")
    raw = request.raw_body or b""
    if requested is None and request.method == "POST" and len(raw) <= MAX_FORM_BODY_BYTES:
        try:
            requested = next(iter(form_data(request).get("lang") or []), None)
        except InvalidRequest:
            requested = None
    return i18n.pick_locale(requested, "ko")


def make_views(app: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The two route decorators, bound to the Chalice app whose current request they read."""

    def api_view(handler: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            started = _begin(app, handler, kwargs)
            try:
                check_request(kwargs, app.current_request.raw_body, MAX_API_BODY_BYTES)
                response = to_response(handler(*args, **kwargs))
            except CheckoutError as e:
                logs.note(outcome=e.code)
                _log_unavailable(handler.__name__, e)
                response = to_response(Json(e.to_dict(), e.http_status))
            except Exception as e:  # noqa: BLE001 - the one place any error becomes a response; logged there
                status = _server_error(handler.__name__, e)
                response = to_response(Json(UNAVAILABLE if status == 503 else INTERNAL_ERROR, status))
            _log(handler.__name__, started, response.status_code)
            return response

        return wrapper

    def page_view(handler: Callable[..., Any]) -> Callable[..., Response]:
        """Shopper pages: a friendly page for every error, never a trace."""

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            started = _begin(app, handler, kwargs)
            request = app.current_request
            try:
                check_request(kwargs, request.raw_body, MAX_FORM_BODY_BYTES)
                response = to_response(handler(*args, **kwargs))
            except CheckoutError as e:
                logs.note(outcome=e.code)
                _log_unavailable(handler.__name__, e)
                kind = {404: "not_found", 403: "csrf"}.get(e.http_status, "error")
                response = to_response(error_page(e.http_status, kind, _locale_of(request), public_base(request)))
            except Exception as e:  # noqa: BLE001 - the one place any error becomes a response; logged there
                status = _server_error(handler.__name__, e)
                response = to_response(error_page(status, "error", _locale_of(request), public_base(request)))
            _log(handler.__name__, started, response.status_code)
            return response

        return wrapper

    return api_view, page_view


INTERNAL_ERROR = {"error": {"code": "internal_error", "message": "Something went wrong on our side; nothing was changed. Retry later."}}
UNAVAILABLE = {"error": {"code": "service_unavailable", "message": "The service is briefly overloaded. Retry in a moment."}}

# DynamoDB saying "not now" once botocore's own retries are spent: the request may simply
# be repeated, so it is a 503 (the contract's status for it), not a 500 that reads as a bug.
_TRANSIENT_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "TransactionConflictException", "TransactionInProgressException", "InternalServerError", "ServiceUnavailable",
})


def _log_unavailable(handler: str, error: CheckoutError) -> None:
    """A described 5xx (the master key unreadable, a provider down) is the operator's to fix: one line."""
    if error.http_status >= 500:
        log.error("%s: %s", handler, error.message)


def _server_error(handler: str, error: Exception) -> int:
    """Log an exception no CheckoutError described; 503 when the table was only unavailable, else 500."""
    transient = False
    if type(error).__module__.startswith("botocore"):
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, ClientError):
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            transient = error.response.get("Error", {}).get("Code") in _TRANSIENT_CODES or status >= 500
        else:
            transient = isinstance(error, BotoCoreError)
    if transient:
        log.warning("the table was unavailable in %s: %s", handler, type(error).__name__)
        logs.note(outcome="service_unavailable")
        return 503
    log.exception("unhandled error in %s", handler)
    return 500


def error_page(status: int, kind: str, locale: str, base: str) -> Html:
    t = i18n.translator(locale)
    return render("message.html", {
        "t": t, "locale": locale, "base": base, "kind": kind,
        "title": t(f"{kind}_title"), "body": t(f"{kind}_body"),
    }, status=status)
