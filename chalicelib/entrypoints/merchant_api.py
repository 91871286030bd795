"""The merchant API (``/api/…``) and the health check: JSON in, JSON out.

Each route imports the use case it calls in its body: a container imports a use case
with the first request that needs it, not at start-up (a shopper's page needs none).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalice.app import Blueprint

from chalicelib.adapters.store import get_store
from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.entrypoints.current import CurrentRequest
from chalicelib.web import views

bp = Blueprint(__name__)
api_view, _page_view = views.make_views(bp)
current = CurrentRequest(bp)
OPENAPI = Path(__file__).resolve().parent.parent / "openapi.json"


@bp.route("/api/checkouts", methods=["POST"])
@api_view
def create_checkout() -> Any:
    from chalicelib.usecases import checkouts
    body = current.json_body()
    key = bp.current_request.headers.get("idempotency-key")
    return views.Json(checkouts.create(get_store(), current.merchant(), body, key, current.base()), 201)


@bp.route("/api/checkouts", methods=["GET"])
@api_view
def list_checkouts() -> Any:
    from chalicelib.usecases import checkouts
    return checkouts.list_(get_store(), current.merchant(), current.query(), current.base())


@bp.route("/api/checkouts/{checkout_id}", methods=["GET"])
@api_view
def get_checkout(checkout_id: str) -> Any:
    from chalicelib.usecases import checkouts
    return checkouts.read(get_store(), current.merchant(), checkout_id, current.base())


@bp.route("/api/checkouts/{checkout_id}", methods=["PATCH"])
@api_view
def update_checkout(checkout_id: str) -> Any:
    from chalicelib.usecases import checkouts
    return checkouts.update(get_store(), current.merchant(), checkout_id, current.json_body(), current.base())


@bp.route("/api/checkouts/{checkout_id}/cancel", methods=["POST"])
@api_view
def cancel_checkout(checkout_id: str) -> Any:
    from chalicelib.usecases import checkouts
    return checkouts.cancel(get_store(), current.merchant(), checkout_id, current.base())


@bp.route("/api/checkouts/{checkout_id}/refunds", methods=["POST"])
@api_view
def refund_checkout(checkout_id: str) -> Any:
    from chalicelib.usecases import refunds
    refund = refunds.create(get_store(), current.merchant(), checkout_id, bp.current_request.raw_body, current.base())
    return views.Json(refund, 201)


@bp.route("/api/balance", methods=["GET"])
@api_view
def balance() -> Any:
    from chalicelib.usecases import wallets
    return wallets.balance(current.merchant())


@bp.route("/api/events", methods=["GET"])
@api_view
def list_events() -> Any:
    from chalicelib.usecases import events
    return events.list_for_checkout(get_store(), current.merchant(), current.query().get("checkout_id"))


@bp.route("/api/events/{event_id}/resend", methods=["POST"])
@api_view
def resend_event(event_id: str) -> Any:
    from chalicelib.usecases import events
    return events.resend(get_store(), current.merchant(), event_id)


@bp.route("/api/payment-links", methods=["POST"])
@api_view
def create_payment_link() -> Any:
    from chalicelib.usecases import payment_links
    body = current.json_body()
    return views.Json(payment_links.create(get_store(), current.merchant(), body, current.base()), 201)


@bp.route("/api/payment-links/{link_id}", methods=["GET"])
@api_view
def get_payment_link(link_id: str) -> Any:
    from chalicelib.usecases import payment_links
    return payment_links.read(get_store(), current.merchant(), link_id, current.base())


@bp.route("/api/payment-links/{link_id}", methods=["POST"])
@api_view
def update_payment_link(link_id: str) -> Any:
    from chalicelib.usecases import payment_links
    body = current.json_body()
    return payment_links.update(get_store(), current.merchant(), link_id, body, current.base())


@bp.route("/api/promotion-codes", methods=["POST"])
@api_view
def create_promotion_code() -> Any:
    from chalicelib.usecases import promotions
    return views.Json(promotions.create(get_store(), current.merchant(), current.json_body()), 201)


@bp.route("/api/promotion-codes", methods=["GET"])
@api_view
def list_promotion_codes() -> Any:
    from chalicelib.usecases import promotions
    return promotions.list_(get_store(), current.merchant(), current.query())


@bp.route("/api/promotion-codes/{code}", methods=["GET"])
@api_view
def get_promotion_code(code: str) -> Any:
    from chalicelib.usecases import promotions
    return promotions.read(get_store(), current.merchant(), code)


@bp.route("/api/promotion-codes/{code}", methods=["POST"])
@api_view
def update_promotion_code(code: str) -> Any:
    from chalicelib.usecases import promotions
    return promotions.update(get_store(), current.merchant(), code, current.json_body())


@bp.route("/api/openapi.json", methods=["GET"])
@api_view
def openapi_document() -> Any:
    return views.Json(json.loads(OPENAPI.read_text()))


@bp.route("/health", methods=["GET"])
@api_view
def health() -> Any:
    try:
        get_store().ping()
    except Exception as e:  # noqa: BLE001 - any failure to reach the table is "not healthy"
        raise ServiceUnavailable("the table is not reachable") from e
    return {"ok": True}
