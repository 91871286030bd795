"""Routes only: parse the request, call one function in chalicelib, return."""
from chalice import Chalice, Response

from chalicelib import checkouts, lifecycle_routes, merchants, pages, payments, promotion_routes, refunds, sandbox_site, wallets, web
from chalicelib.config import settings
from chalicelib.dashboard_routes import bp as dashboard_bp
from chalicelib.errors import NotFound, ServiceUnavailable
from chalicelib.logs import configure_logging
from chalicelib.render import static_file
from chalicelib.store import get_store

app = Chalice(app_name="hosted-checkout")
app.register_blueprint(lifecycle_routes.bp)
app.register_blueprint(promotion_routes.bp)
app.register_blueprint(dashboard_bp)
configure_logging(app)
api_view, page_view = web.make_views(app)
FORM = ["application/x-www-form-urlencoded"]


def _base() -> str:
    return web.public_base(app.current_request)


def _query() -> dict:
    return dict(app.current_request.query_params or {})


def _merchant() -> merchants.Merchant:
    return merchants.authenticate(get_store(), app.current_request.headers)


# --- merchant API ------------------------------------------------------------------

@app.route("/api/checkouts", methods=["POST"])
@api_view
def create_checkout():
    request = app.current_request
    body = checkouts.parse_json(request.raw_body)
    created = checkouts.create(get_store(), _merchant(), body, request.headers.get("idempotency-key"), _base())
    return web.Json(created, 201)


@app.route("/api/checkouts", methods=["GET"])
@api_view
def list_checkouts():
    return checkouts.list_(get_store(), _merchant(), _query(), _base())


@app.route("/api/checkouts/{checkout_id}", methods=["GET"])
@api_view
def get_checkout(checkout_id):
    return checkouts.read(get_store(), _merchant(), checkout_id, _base())


@app.route("/api/checkouts/{checkout_id}/cancel", methods=["POST"])
@api_view
def cancel_checkout(checkout_id):
    return checkouts.cancel(get_store(), _merchant(), checkout_id, _base())


@app.route("/webhooks/{provider}/{merchant_id}", methods=["POST"], content_types=["application/json", *FORM, "text/plain"])
@api_view
def provider_webhook(provider, merchant_id):
    request = app.current_request
    return payments.handle_notification(get_store(), provider, merchant_id, request.headers, request.raw_body or b"", _base())


@app.route("/health", methods=["GET"])
@api_view
def health():
    try:
        get_store().ping()
    except Exception as e:
        raise ServiceUnavailable("the table is not reachable") from e
    return {"ok": True}


# --- shopper pages -----------------------------------------------------------------

@app.route("/c/{checkout_id}", methods=["GET"])
@page_view
def checkout_page(checkout_id):
    return pages.checkout_page(get_store(), _base(), checkout_id, _query())


@app.route("/c/{checkout_id}", methods=["POST"], content_types=FORM)
@page_view
def submit_checkout(checkout_id):
    return pages.submit(get_store(), _base(), checkout_id, web.form_data(app.current_request), _query())


@app.route("/c/{checkout_id}/return", methods=["GET"])
@page_view
def provider_return(checkout_id):
    return pages.provider_return(get_store(), _base(), checkout_id)


@app.route("/c/{checkout_id}/cancel", methods=["GET"])
@page_view
def provider_cancel(checkout_id):
    return pages.provider_cancel(get_store(), _base(), checkout_id)


@app.route("/static/{name}", methods=["GET"])
@page_view
def static(name):
    found = static_file(name)
    if found is None:
        raise NotFound("No such file.")
    body, content_type = found
    return Response(body=body.decode(), status_code=200, headers={
        **web.BASE_HEADERS, "Content-Type": content_type,
        "Cache-Control": "public, max-age=31536000, immutable"})


# --- the sandbox provider (only where it is enabled) --------------------------------

@app.route("/sandbox/{session_id}", methods=["GET"])
@page_view
def sandbox_page(session_id):
    if not settings().sandbox_enabled:
        raise NotFound("The sandbox is off.")
    return sandbox_site.page(get_store(), _base(), session_id, _query().get("lang"))


@app.route("/sandbox/{session_id}", methods=["POST"], content_types=FORM)
@page_view
def sandbox_act(session_id):
    if not settings().sandbox_enabled:
        raise NotFound("The sandbox is off.")
    return sandbox_site.act(get_store(), session_id, web.form_data(app.current_request))


@app.route("/c/{checkout_id}/status", methods=["GET"])
@api_view
def checkout_status(checkout_id):
    return pages.status(get_store(), checkout_id)


@app.route("/api/checkouts/{checkout_id}/refunds", methods=["POST"])
@api_view
def refund_checkout(checkout_id):
    refund = refunds.create(get_store(), _merchant(), checkout_id, app.current_request.raw_body, _base())
    return web.Json(refund, 201)


@app.route("/api/balance", methods=["GET"])
@api_view
def balance():
    return wallets.balance(_merchant())
