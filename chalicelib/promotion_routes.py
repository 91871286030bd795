"""Routes for promotion codes and for updating an open checkout (PATCH).

A Blueprint (registered in app.py) so that app.py stays a short list of routes.
"""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from . import checkouts, merchants, promotions, web
from .store import get_store

bp = Blueprint(__name__)
api_view, _page_view = web.make_views(bp)


def _base() -> str:
    return web.public_base(bp.current_request)


def _merchant() -> merchants.Merchant:
    return merchants.authenticate(get_store(), bp.current_request.headers)


def _body() -> Any:
    return checkouts.parse_json(bp.current_request.raw_body)


@bp.route("/api/checkouts/{checkout_id}", methods=["PATCH"])
@api_view
def update_checkout(checkout_id: str) -> Any:
    return checkouts.update(get_store(), _merchant(), checkout_id, _body(), _base())


@bp.route("/api/promotion-codes", methods=["POST"])
@api_view
def create_promotion_code() -> Any:
    return web.Json(promotions.create(get_store(), _merchant(), _body()), 201)


@bp.route("/api/promotion-codes", methods=["GET"])
@api_view
def list_promotion_codes() -> Any:
    return promotions.list_(get_store(), _merchant(), dict(bp.current_request.query_params or {}))


@bp.route("/api/promotion-codes/{code}", methods=["GET"])
@api_view
def get_promotion_code(code: str) -> Any:
    return promotions.read(get_store(), _merchant(), code)


@bp.route("/api/promotion-codes/{code}", methods=["POST"])
@api_view
def update_promotion_code(code: str) -> Any:
    return promotions.update(get_store(), _merchant(), code, _body())
