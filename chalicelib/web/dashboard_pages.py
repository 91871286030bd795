"""The merchant dashboard's web side: the request as the dashboard reads it (session
cookie, CSRF, Origin), its pages, and the one place its errors become pages.

Routes (``dashboard_routes``) wrap each handler in ``view``: a POST must come from
our own origin and carry the CSRF token bound to its session (on sign-in, to a
pre-session cookie that never becomes the session); a signed-out request goes
to the sign-in page; every error is a friendly page, never a trace; every page
is ``no-store`` under a nonce CSP that frames nothing but the settings preview.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any, Callable
from urllib.parse import quote, urlencode, urlsplit

from chalicelib import logs
from chalicelib.adapters import providers, secretbox
from chalicelib.adapters.store import Store
from chalicelib.domain import business, clock, counters, model, money
from chalicelib.domain.errors import CheckoutError, Forbidden, InvalidRequest, NotFound
from chalicelib.domain.model import Checkout, LineItem
from chalicelib.usecases import dashboard, dashboard_sessions, dashboard_stats, merchants, payment_links, promotions
from chalicelib.usecases.merchants import Merchant
from chalicelib.web import dashboard_text, pages
from chalicelib.web import views as web
from chalicelib.web.render import Html, render

SESSION_COOKIE = "dashboard_session"
PRESESSION_COOKIE = "dashboard_presession"
LANG_COOKIE = "dashboard_lang"
LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")
FORM = ["application/x-www-form-urlencoded"]


class SignedOut(Exception):
    """No live session: the page sends the merchant to sign in."""


@dataclass
class Ctx:
    """One dashboard request: where we are served, who is signed in, what was sent."""

    request: Any
    store: Store
    base: str
    query: dict[str, str]
    cookies: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)
    session: dashboard_sessions.Session | None = None
    merchant: Merchant | None = None
    set_cookies: list[str] = field(default_factory=list)
    locale: str = "ko"

    # --- where -------------------------------------------------------------------------
    @property
    def dash(self) -> str:
        return f"{self.base}/dashboard"

    @property
    def cookie_path(self) -> str:
        return f"{urlsplit(self.base).path.rstrip('/')}/dashboard"

    @property
    def secure(self) -> bool:
        parts = urlsplit(self.base)
        return not (parts.scheme == "http" and (parts.hostname or "") in LOOPBACK)

    @property
    def source_ip(self) -> str:
        identity = (self.request.context or {}).get("identity") or {}
        return str(identity.get("sourceIp") or "")

    def field(self, name: str) -> str:
        return (self.form.get(name) or [""])[0]

    def cookie(self, name: str, value: str, max_age_s: int) -> None:
        parts = [f"{name}={value}", "HttpOnly", "SameSite=Strict", f"Path={self.cookie_path}", f"Max-Age={max_age_s}"]
        if self.secure:
            parts.append("Secure")
        self.set_cookies.append("; ".join(parts))

    @property
    def t(self) -> Callable[..., str]:
        return dashboard_text.translator(self.locale)

    # --- CSRF ----------------------------------------------------------------------------
    def csrf_subject(self) -> str | None:
        if self.session is not None:
            return f"session|{self.session.id_hash}"
        pre = self.cookies.get(PRESESSION_COOKIE)
        if pre and 20 <= len(pre) <= 100:
            return f"pre|{hashlib.sha256(pre.encode()).hexdigest()}"
        return None

    def csrf_token(self) -> str:
        subject = self.csrf_subject()
        if subject is None:
            # The sign-in page hands out the pre-session cookie its form's token is bound to.
            pre = secrets.token_urlsafe(32)
            self.cookies[PRESESSION_COOKIE] = pre
            self.cookie(PRESESSION_COOKIE, pre, 3600)
            subject = self.csrf_subject()
        return _mac(subject or "")


def _mac(subject: str, key: bytes | None = None) -> str:
    key = key if key is not None else secretbox.derived_key("dashboard-csrf")
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:48]


def _parse_cookies(header: str | None) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header or "")
    except CookieError:
        return {}
    return {k: m.value for k, m in jar.items()}


# --- headers -------------------------------------------------------------------------------------

def csp(nonce: str, preview: bool = False) -> str:
    return "; ".join([
        "default-src 'none'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        # The preview shows the merchant's logo as the hosted page would; the dashboard loads nothing foreign.
        "img-src 'self' https: data:" if preview else "img-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'none'" if preview else "frame-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'" if preview else "frame-ancestors 'none'",
        "form-action 'none'" if preview else "form-action 'self'",
    ])


def _respond(ctx: Ctx, result: Any, preview: bool = False, retry_after: int | None = None) -> Any:
    response = web.to_response(result)
    if isinstance(result, Html):
        response.headers["Content-Security-Policy"] = csp(result.nonce, preview)
        response.headers["X-Frame-Options"] = "SAMEORIGIN" if preview else "DENY"
    response.headers["Cache-Control"] = "no-store"
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if ctx.set_cookies:
        response.headers["Set-Cookie"] = ctx.set_cookies if len(ctx.set_cookies) > 1 else ctx.set_cookies[0]
    return response


def _same_origin(ctx: Ctx) -> bool:
    origin = ctx.request.headers.get("origin")
    return bool(origin) and origin == web.origin_of(ctx.base)


def _login_redirect(ctx: Ctx) -> web.Redirect:
    path = ""
    if ctx.request.method == "GET":
        path = ctx.request.path
        for name, value in (ctx.request.uri_params or {}).items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        path = urlsplit(ctx.base).path.rstrip("/") + path
    query = ctx.request.query_params or {}
    if path and query:
        path += "?" + urlencode(dict(query))
    return web.Redirect(f"{ctx.dash}/login" + (f"?next={quote(path, safe='')}" if path else ""))


def safe_next(ctx: Ctx, value: str) -> str:
    """Where to go after sign-in: a dashboard path on our own origin, else the overview."""
    prefix = ctx.cookie_path
    if ((value == prefix or value.startswith((prefix + "/", prefix + "?"))) and not value.startswith("//") and "\\" not in value
            and all(c.isprintable() and not c.isspace() for c in value)):
        return f"{web.origin_of(ctx.base)}{value}"
    return ctx.dash


def view(bp: Any, public: bool = False, preview: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The dashboard's route decorator: session, Origin and CSRF checks, errors as pages."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def wrapper(**kwargs: Any) -> Any:
            from chalicelib.adapters.store import get_store

            request = bp.current_request
            logs.begin(f"dashboard.{handler.__name__}", request.method or "")
            started = time.monotonic()
            ctx = Ctx(request=request, store=get_store(), base=web.public_base(request),
                      query=dict(request.query_params or {}), cookies=_parse_cookies(request.headers.get("cookie")))
            ctx.locale = _locale(ctx, None)
            retry_after = None
            try:
                if request.method == "POST":
                    ctx.form = web.form_data(request)
                    if not _same_origin(ctx):
                        raise Forbidden("This form did not come from the dashboard.", code="origin_mismatch")
                found = dashboard_sessions.resume(ctx.store, ctx.cookies.get(SESSION_COOKIE))
                if found is not None:
                    ctx.session, ctx.merchant = found
                    ctx.locale = _locale(ctx, ctx.merchant)
                    logs.note(merchant_id=ctx.merchant.id)
                elif not public:
                    raise SignedOut()
                if request.method == "POST" and not _csrf_ok(ctx):
                    raise Forbidden("The form expired; reload the page.", code="csrf_failed")
                result = handler(ctx, **kwargs)
            except SignedOut:
                result = _login_redirect(ctx)
            except dashboard_sessions.LockedOut as e:
                logs.note(outcome=e.code)
                retry_after = e.retry_after_s
                result = error_page(ctx, 429)
            except CheckoutError as e:
                logs.note(outcome=e.code)
                result = error_page(ctx, e.http_status, e)
            except Exception as e:  # noqa: BLE001 - the one place any dashboard error becomes a page; logged there
                result = error_page(ctx, web._server_error(handler.__name__, e))
            response = _respond(ctx, result, preview=preview and isinstance(result, Html) and result.status == 200,
                                retry_after=retry_after)
            logs.end(response.status_code, round((time.monotonic() - started) * 1000))
            return response

        return wrapper

    return decorate


def _csrf_ok(ctx: Ctx) -> bool:
    subject = ctx.csrf_subject()
    token = ctx.field("csrf_token")
    if subject is None or not token:
        return False
    # Under every master key (newest first), as the shopper's forms: a rotation voids no open form.
    matched = False
    for key in secretbox.derived_keys("dashboard-csrf"):
        matched |= hmac.compare_digest(_mac(subject, key), token)
    return matched


def _locale(ctx: Ctx, merchant: Merchant | None) -> str:
    """?lang= (remembered in a cookie for the pages that follow), else the merchant's locale."""
    requested = ctx.query.get("lang")
    if requested in ("ko", "en"):
        if ctx.cookies.get(LANG_COOKIE) != requested and not any(c.startswith(LANG_COOKIE + "=") for c in ctx.set_cookies):
            ctx.cookie(LANG_COOKIE, requested, 365 * 86400)
        return requested
    remembered = ctx.cookies.get(LANG_COOKIE)
    if remembered in ("ko", "en"):
        return remembered
    return merchant.locale if merchant is not None and merchant.locale in ("ko", "en") else "ko"


# --- rendering -------------------------------------------------------------------------------------

def fmt_time(ts_s: int | None) -> str:
    if not ts_s:
        return ""
    from datetime import datetime

    return datetime.fromtimestamp(int(ts_s), tz=counters.KST).strftime("%Y-%m-%d %H:%M KST")


def page(ctx: Ctx, template: str, status: int = 200, **context: Any) -> Html:
    t = ctx.t
    other = "en" if ctx.locale == "ko" else "ko"
    lang_query = {**ctx.query, "lang": other}
    return render(f"dashboard/{template}", {
        "t": t, "locale": ctx.locale, "base": ctx.base, "dash": ctx.dash, "merchant": ctx.merchant,
        "csrf_token": ctx.csrf_token(), "fmt_time": fmt_time, "lang_url": f"?{urlencode(lang_query)}",
        "other_locale": other, "money": lambda amount, currency: money.format_amount(int(amount), currency, "en"),
        "status_label": lambda status: t(f"status_{status}"), "current": context.pop("current", ""),
        "idempotency_key": secrets.token_hex(16), **context,
    }, status=status)


def error_page(ctx: Ctx, status: int, error: CheckoutError | None = None) -> Html:
    """A friendly page: our own words for the status, and for a refused action its code and message."""
    if status not in (400, 403, 404, 409, 422, 429, 500, 502, 503):
        status = 500
    failure = _failure(ctx, error) if error is not None and status in (400, 409, 422, 502) else None
    message = ctx.t(f"error_{status}") if status in (403, 404, 429, 500, 503) else ctx.t("error_400")
    return page(ctx, "error.html", status=status, status_code=status, message=message, failure=failure)


def _failure(ctx: Ctx, error: CheckoutError) -> dict[str, Any]:
    return {"status": error.http_status, "code": error.code, "message": error.message, "param": error.param}


# --- sign-in -----------------------------------------------------------------------------------------

def login_page(ctx: Ctx) -> Html | web.Redirect:
    if ctx.session is not None:
        return web.Redirect(safe_next(ctx, ctx.query.get("next") or ""))
    return login_form(ctx)


def login_form(ctx: Ctx, status: int = 200, failed: bool = False) -> Html:
    return page(ctx, "login.html", status=status, failed=failed, next=ctx.query.get("next") or ctx.field("next"))


def _signed_in(ctx: Ctx, cookie: str) -> web.Redirect:
    # A new random id, never the pre-session value: a cookie planted before sign-in is never the session.
    ctx.cookie(SESSION_COOKIE, cookie, dashboard_sessions.ABSOLUTE_S)
    ctx.cookie(PRESESSION_COOKIE, "", 0)
    return web.Redirect(safe_next(ctx, ctx.field("next") or ctx.query.get("next") or ""))


def login(ctx: Ctx) -> Html | web.Redirect:
    try:
        _merchant, cookie = dashboard_sessions.sign_in_with_key(ctx.store, ctx.field("api_key"), ctx.source_ip)
    except dashboard_sessions.SignInRefused:
        return login_form(ctx, status=401, failed=True)
    return _signed_in(ctx, cookie)


def login_link_page(ctx: Ctx, token: str) -> Html:
    live = dashboard_sessions.link_is_live(ctx.store, token)
    return page(ctx, "login_link.html", status=200 if live else 401, live=live, token=token,
                next=ctx.query.get("next") or "")


def login_with_link(ctx: Ctx, token: str) -> Html | web.Redirect:
    try:
        _merchant, cookie = dashboard_sessions.sign_in_with_link(ctx.store, token, ctx.source_ip)
    except dashboard_sessions.SignInRefused:
        return page(ctx, "login_link.html", status=401, live=False, token=token, next="")
    return _signed_in(ctx, cookie)


def logout(ctx: Ctx) -> web.Redirect:
    if ctx.session is not None:
        dashboard_sessions.end(ctx.store, ctx.session)
    ctx.cookie(SESSION_COOKIE, "", 0)
    return web.Redirect(f"{ctx.dash}/login")


def _signed(ctx: Ctx) -> tuple[dashboard_sessions.Session, Merchant]:
    if ctx.session is None or ctx.merchant is None:
        raise SignedOut()
    return ctx.session, ctx.merchant


# --- overview ------------------------------------------------------------------------------------------

CHART_W, CHART_H = 640, 160


def _bars(values: list[int], labels: list[str]) -> list[dict[str, Any]]:
    """Vertical bars for an inline SVG, in the chart's own coordinates."""
    peak = max(values) if values and max(values) > 0 else 1
    slot = CHART_W / max(1, len(values))
    return [{"x": round(i * slot + slot * 0.1, 1), "w": round(slot * 0.8, 1),
             "h": round(CHART_H * v / peak, 1), "y": round(CHART_H - CHART_H * v / peak, 1), "label": label, "value": v}
            for i, (v, label) in enumerate(zip(values, labels, strict=True))]


def overview(ctx: Ctx) -> Html:
    _session, merchant = _signed(ctx)
    period = ctx.query.get("period") or dashboard_stats.DEFAULT_PERIOD
    if period not in dashboard_stats.PERIODS:
        raise InvalidRequest("period must be today, 7d, 30d or 90d", "period")
    numbers = dashboard_stats.overview(ctx.store, merchant.id, period)
    opened = numbers.funnel[counters.OPENED]
    funnel: list[dict[str, Any]] = [{"step": step, "count": numbers.funnel[step],
               "pct": f"{100 * numbers.funnel[step] / opened:.1f}%" if opened else "–"}
              for step in (counters.OPENED, counters.SUBMITTED, counters.PAID)]
    peak = max(opened, *(row["count"] for row in funnel), 1)
    for i, row in enumerate(funnel):
        row.update(y=i * 44, w=round(CHART_W * 0.7 * row["count"] / peak, 1))
    revenue: list[dict[str, Any]] = []
    for currency in sorted(numbers.revenue):
        per_day = numbers.revenue[currency]
        empty = {"revenue": 0, "payments": 0, "refunded": 0}
        rows: list[dict[str, Any]] = [{"day": day, **per_day.get(day, empty)} for day in numbers.days]
        total = sum(r["revenue"] for r in rows)
        revenue.append({"currency": currency, "rows": rows, "total": total,
                        "refunded": sum(r["refunded"] for r in rows),
                        "bars": _bars([r["revenue"] for r in rows], numbers.days)})
    hooks: list[dict[str, Any]] = [{"day": day, "ok": ok, "tried": tried, "rate": f"{100 * ok / tried:.1f}%" if tried else "–"}
             for day, (ok, tried) in numbers.webhooks.items()]
    rates = [round(1000 * h["ok"] / h["tried"]) if h["tried"] else 0 for h in hooks]
    hook_bars = _bars(rates, numbers.days)
    for bar in hook_bars:  # a rate chart: the full height is 100 %, not the best day
        bar.update(h=round(CHART_H * bar["value"] / 1000, 1), y=round(CHART_H - CHART_H * bar["value"] / 1000, 1))
    return page(ctx, "overview.html", current="overview", period=period, periods=list(dashboard_stats.PERIODS),
                funnel=funnel, revenue=revenue, hooks=hooks, hook_bars=hook_bars,
                hooks_ok=sum(h["ok"] for h in hooks), hooks_tried=sum(h["tried"] for h in hooks),
                chart_w=CHART_W, chart_h=CHART_H)


# --- checkouts -----------------------------------------------------------------------------------------

def checkouts(ctx: Ctx) -> Html:
    _session, merchant = _signed(ctx)
    filters = dashboard.parse_filters(ctx.query)
    found, after = dashboard.list_checkouts(ctx.store, merchant, filters)
    next_url = None
    if after:
        next_url = "?" + urlencode({**{k: v for k, v in ctx.query.items() if k != "after"}, "after": after})
    return page(ctx, "checkouts.html", current="checkouts", checkouts=found, filters=filters, next_url=next_url,
                statuses=model.STATUSES, provider_names=providers.PROVIDER_NAMES, now=clock.now_s())


def _refund_possible(checkout: Checkout) -> tuple[bool, str | None]:
    """Whether the refund form shows, and the provider to name when refunds happen elsewhere."""
    if checkout.view_status() not in (model.COMPLETE, model.PARTIALLY_REFUNDED) or model.refundable(checkout) <= 0:
        return False, None
    provider = checkout.attempt.provider if checkout.attempt and checkout.payment and \
        checkout.attempt.provider_session_id == checkout.payment.provider_session_id else checkout.provider
    from chalicelib.adapters.providers import base as pb

    supported = providers.adapter_class(provider).refund is not pb.Provider.refund
    return supported, None if supported else provider


def checkout_detail(ctx: Ctx, checkout_id: str, failure: dict[str, Any] | None = None, status: int = 200,
                    notice: str | None = None) -> Html:
    _session, merchant = _signed(ctx)
    found = dashboard.timeline(ctx.store, merchant, checkout_id)
    checkout = found.checkout
    can_refund, refund_elsewhere = _refund_possible(checkout)
    return page(ctx, "checkout.html", status=status, current="checkouts", c=checkout, view_status=checkout.view_status(),
                entries=found.entries, events=found.events, can_refund=can_refund, refund_elsewhere=refund_elsewhere,
                can_cancel=checkout.view_status() in (model.OPEN, model.PROCESSING),
                remaining=model.refundable(checkout), url=f"{ctx.base}/c/{checkout.id}", failure=failure,
                notice=notice or ctx.query.get("done"), values={k: ctx.field(k) for k in ("amount", "reason")})


def _back(ctx: Ctx, path: str, done: str) -> web.Redirect:
    return web.Redirect(f"{ctx.dash}{path}?done={done}")


def refund(ctx: Ctx, checkout_id: str) -> Html | web.Redirect:
    _session, merchant = _signed(ctx)
    try:
        dashboard.refund(ctx.store, merchant, checkout_id, ctx.field("amount"), ctx.field("reason"),
                         ctx.field("idempotency_key"), ctx.base)
    except dashboard.AlreadyDone:
        return _back(ctx, f"/checkouts/{checkout_id}", "refund")
    except NotFound:
        raise
    except CheckoutError as e:
        return checkout_detail(ctx, checkout_id, failure=_failure(ctx, e), status=e.http_status)
    return _back(ctx, f"/checkouts/{checkout_id}", "refund")


def cancel(ctx: Ctx, checkout_id: str) -> Html | web.Redirect:
    _session, merchant = _signed(ctx)
    try:
        dashboard.cancel(ctx.store, merchant, checkout_id, ctx.base)
    except NotFound:
        raise
    except CheckoutError as e:
        return checkout_detail(ctx, checkout_id, failure=_failure(ctx, e), status=e.http_status)
    return _back(ctx, f"/checkouts/{checkout_id}", "cancel")


def resend(ctx: Ctx, event_id: str) -> web.Redirect:
    _session, merchant = _signed(ctx)
    event = dashboard.resend(ctx.store, merchant, event_id)
    return _back(ctx, f"/checkouts/{event['checkout_id']}", "resend")


# --- promotion codes -------------------------------------------------------------------------------------

CODE_NUMBERS = ("value", "usage_limit", "usage_limit_per_customer", "minimum_order_amount")


def promotion_codes(ctx: Ctx, failure: dict[str, Any] | None = None, status: int = 200) -> Html:
    _session, merchant = _signed(ctx)
    codes = promotions.list_(ctx.store, merchant, {"limit": "100"})["data"]
    return page(ctx, "promotion_codes.html", status=status, current="promotion_codes", codes=codes, failure=failure,
                values={k: ctx.field(k) for k in ("code", "type", "currency", *CODE_NUMBERS)},
                types=("percentage", "fixed_amount", "free_shipping"), currencies=tuple(money.EXPONENTS),
                notice=ctx.query.get("done"))


def _number(text: str, param: str) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not text.isdigit():
        raise InvalidRequest(f"{param} must be a whole number", param)
    return int(text)


def create_promotion_code(ctx: Ctx) -> Html | web.Redirect:
    _session, merchant = _signed(ctx)
    try:
        body: dict[str, Any] = {"code": ctx.field("code").strip(), "type": ctx.field("type")}
        for name in CODE_NUMBERS:
            body[name] = _number(ctx.field(name), name)
        if ctx.field("currency"):
            body["currency"] = ctx.field("currency")
        promotions.create(ctx.store, merchant, {k: v for k, v in body.items() if v is not None})
    except CheckoutError as e:
        return promotion_codes(ctx, failure=_failure(ctx, e), status=e.http_status if e.http_status != 400 else 422)
    return _back(ctx, "/promotion-codes", "code")


def deactivate_promotion_code(ctx: Ctx, code: str) -> web.Redirect:
    _session, merchant = _signed(ctx)
    promotions.update(ctx.store, merchant, code, {"active": False})
    return _back(ctx, "/promotion-codes", "code_off")


# --- payment links ------------------------------------------------------------------------------------------

LINK_FIELDS = ("name", "unit_amount", "quantity", "currency", "success_url", "cancel_url")


def payment_links_page(ctx: Ctx, failure: dict[str, Any] | None = None, status: int = 200) -> Html:
    _session, merchant = _signed(ctx)
    links = payment_links.list_(ctx.store, merchant, ctx.base)
    return page(ctx, "payment_links.html", status=status, current="payment_links", links=links, failure=failure,
                values={k: ctx.field(k) for k in LINK_FIELDS}, currencies=tuple(money.EXPONENTS),
                notice=ctx.query.get("done"))


def create_payment_link(ctx: Ctx) -> Html | web.Redirect:
    _session, merchant = _signed(ctx)
    try:
        currency = ctx.field("currency") or "KRW"
        if currency not in money.EXPONENTS:
            raise InvalidRequest("currency is not supported", "currency")
        try:
            unit_amount = money.from_major(ctx.field("unit_amount").strip().replace(",", "") or "x", currency)
        except ValueError as e:
            raise InvalidRequest(f"the price must be a number in {currency}", "unit_amount") from e
        body = {
            "line_items": [{"name": ctx.field("name").strip(), "unit_amount": unit_amount,
                            "quantity": _number(ctx.field("quantity"), "quantity") or 1}],
            "currency": currency, "success_url": ctx.field("success_url").strip(), "cancel_url": ctx.field("cancel_url").strip(),
        }
        payment_links.create(ctx.store, merchant, body, ctx.base)
    except CheckoutError as e:
        return payment_links_page(ctx, failure=_failure(ctx, e), status=e.http_status if e.http_status != 400 else 422)
    return _back(ctx, "/payment-links", "link")


def deactivate_payment_link(ctx: Ctx, link_id: str) -> web.Redirect:
    _session, merchant = _signed(ctx)
    payment_links.update(ctx.store, merchant, link_id, {"active": False}, ctx.base)
    return _back(ctx, "/payment-links", "link_off")


# --- developers -----------------------------------------------------------------------------------------------

def developers(ctx: Ctx, new_key: str | None = None, test_status: str | None = None,
               failure: dict[str, Any] | None = None, status: int = 200) -> Html:
    _session, merchant = _signed(ctx)
    delivered, failed = dashboard_stats.deliveries_last_24h(ctx.store, merchant.id)
    return page(ctx, "developers.html", status=status, current="developers", delivered=delivered, failed=failed,
                failures=dashboard_stats.last_failures(ctx.store, merchant.id), key_hint=dashboard.key_hint(merchant),
                new_key=new_key, test_status=test_status, failure=failure,
                credential_names=sorted(merchant.credentials()) if merchant.credentials_enc else [])


def rotate_key(ctx: Ctx) -> Html:
    session, _merchant = _signed(ctx)
    new_key = dashboard_sessions.rotate_key(ctx.store, session)
    found = dashboard_sessions.resume(ctx.store, ctx.cookies.get(SESSION_COOKIE))
    if found is not None:
        ctx.session, ctx.merchant = found
    return developers(ctx, new_key=new_key)


def send_test_event(ctx: Ctx) -> Html:
    _session, merchant = _signed(ctx)
    try:
        answer = dashboard.send_test_event(merchant)
    except CheckoutError as e:
        return developers(ctx, failure=_failure(ctx, e), status=e.http_status)
    return developers(ctx, test_status=str(answer) if answer is not None else ctx.t("no_answer"))


# --- settings -----------------------------------------------------------------------------------------------------

SETTINGS_FIELDS = ("name", "brand_color", "button_radius", "logo_url", "allowed_hosts", "locale", "support_email")


def _settings_values(merchant: Merchant) -> dict[str, str]:
    profile = {f"business_{k}": str(merchant.business.get(k, "")) for k in business.PROFILE_KEYS}
    return {**profile,"name": merchant.name, "brand_color": merchant.brand_color, "button_radius": str(merchant.button_radius),
            "logo_url": merchant.logo_url or "", "allowed_hosts": "\n".join(merchant.allowed_hosts),
            "locale": merchant.locale, "support_email": merchant.support_email or ""}


def settings_page(ctx: Ctx, values: dict[str, str] | None = None, failure: dict[str, Any] | None = None,
                  status: int = 200) -> Html:
    _session, merchant = _signed(ctx)
    shown = values or _settings_values(merchant)
    preview_query = urlencode({k: shown[k] for k in ("name", "brand_color", "button_radius", "logo_url", "locale",
                                                     "support_email")})
    return page(ctx, "settings.html", status=status, current="settings", values=shown, failure=failure,
                business_keys=business.PROFILE_KEYS,
                preview_url=f"{ctx.dash}/settings/preview?{preview_query}", notice=ctx.query.get("done"))


def _profile_from(values: dict[str, str]) -> dict[str, Any]:
    radius = values["button_radius"].strip()
    if not radius.lstrip("-").isdigit():
        raise InvalidRequest("button_radius must be an integer from 0 to 24 (px)", "button_radius")
    return {
        "name": values["name"], "brand_color": values["brand_color"].strip(), "button_radius": int(radius),
        "logo_url": values["logo_url"].strip() or None, "locale": values["locale"],
        "allowed_hosts": [h.strip() for h in values["allowed_hosts"].replace(",", "\n").splitlines() if h.strip()],
        "support_email": values["support_email"].strip() or None,
    }


def save_settings(ctx: Ctx) -> Html | web.Redirect:
    _session, merchant = _signed(ctx)
    values = {k: ctx.field(k) for k in (*SETTINGS_FIELDS, *(f"business_{k}" for k in business.PROFILE_KEYS))}
    profile = {k: values[f"business_{k}"] for k in business.PROFILE_KEYS}
    try:
        ctx.merchant = merchants.update(ctx.store, merchant.id, _profile_from(values), profile)
    except CheckoutError as e:
        return settings_page(ctx, values=values, failure=_failure(ctx, e), status=422)
    return _back(ctx, "/settings", "settings")


def _sample_checkout(merchant: Merchant, locale: str) -> Checkout:
    now = clock.now_s()
    return Checkout(
        id="chk_preview0000000000", merchant_id=merchant.id, status=model.OPEN, version=0, currency="KRW",
        line_items=[LineItem("유기농 녹차 세트" if locale == "ko" else "Organic green tea set", 19000, 1),
                    LineItem("배송비" if locale == "ko" else "Shipping", 3000, 1, shipping=True)],
        success_url="https://example.com/thanks", cancel_url="https://example.com/cart", provider="sandbox",
        created_at_s=now, expires_at_s=now + 3600, locale=locale, payment_method_types=["card", "kakao_pay"],
        collect_shipping_address=True,
    )


def settings_preview(ctx: Ctx) -> Html:
    """The hosted checkout page with a sample order and the values being edited (saved or not); inert."""
    _session, merchant = _signed(ctx)
    q = ctx.query
    unsaved = dataclasses.replace(
        merchant, name=(q.get("name") or merchant.name)[:100], brand_color=q.get("brand_color") or merchant.brand_color,
        logo_url=q.get("logo_url") or None, support_email=q.get("support_email") or None,
        provider="sandbox", fallback_provider=None, credentials_enc=None,
        button_radius=int(q["button_radius"]) if (q.get("button_radius") or "").isdigit() else merchant.button_radius,
    )
    locale = str(q["locale"]) if q.get("locale") in ("ko", "en") else merchant.locale
    # pages.brand() checks the unsaved colour, radius, logo and email again before they reach the page.
    return pages.preview_page(_sample_checkout(unsaved, locale), unsaved, ctx.base, locale)

