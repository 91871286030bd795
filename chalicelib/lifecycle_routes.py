"""Routes for the checkout lifecycle: the event log, payment links and the scheduled jobs.

A Blueprint (registered in app.py) so that app.py stays a short list of routes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Rate

from . import checkouts, clock, events, i18n, lifecycle, merchants, payment_links, reconcile, web
from .render import render
from .store import get_store

bp = Blueprint(__name__)
OPENAPI = Path(__file__).with_name("openapi.json")
api_view, page_view = web.make_views(bp)


def _base() -> str:
    return web.public_base(bp.current_request)


def _query() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def _merchant() -> merchants.Merchant:
    return merchants.authenticate(get_store(), bp.current_request.headers)


@bp.route("/api/events", methods=["GET"])
@api_view
def list_events() -> Any:
    return events.list_for_checkout(get_store(), _merchant(), _query().get("checkout_id"))


@bp.route("/api/events/{event_id}/resend", methods=["POST"])
@api_view
def resend_event(event_id: str) -> Any:
    return events.resend(get_store(), _merchant(), event_id)


@bp.route("/api/openapi.json", methods=["GET"])
@api_view
def openapi_document() -> Any:
    return web.Json(json.loads(OPENAPI.read_text()))


@bp.route("/api/payment-links", methods=["POST"])
@api_view
def create_payment_link() -> Any:
    body = checkouts.parse_json(bp.current_request.raw_body)
    return web.Json(payment_links.create(get_store(), _merchant(), body, _base()), 201)


@bp.route("/api/payment-links/{link_id}", methods=["GET"])
@api_view
def get_payment_link(link_id: str) -> Any:
    return payment_links.read(get_store(), _merchant(), link_id, _base())


@bp.route("/api/payment-links/{link_id}", methods=["POST"])
@api_view
def update_payment_link(link_id: str) -> Any:
    body = checkouts.parse_json(bp.current_request.raw_body)
    return payment_links.update(get_store(), _merchant(), link_id, body, _base())


@bp.route("/l/{link_id}", methods=["GET"])
@page_view
def visit_payment_link(link_id: str) -> Any:
    url = payment_links.visit(get_store(), link_id, _base())
    if url is None:
        locale = i18n.pick_locale(_query().get("lang"), "ko")
        t = i18n.translator(locale)
        return render("message.html", {"t": t, "locale": locale, "base": _base(), "kind": "link_inactive",
                                       "title": t("link_inactive_title"), "body": t("link_inactive_body")}, status=410)
    return web.Redirect(url)


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def deliver_webhooks(event: Any) -> dict[str, int]:
    """Retries of merchant webhooks that are due (the first attempt is made at once)."""
    return {"tried": events.deliver_due(get_store(), clock.now_s())}


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def reconcile_payments(event: Any) -> dict[str, int]:
    """Asks the providers about processing checkouts that are due (providers.md, "Reconciliation")."""
    return reconcile.run(get_store(), clock.now_s())


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def expire_checkouts(event: Any) -> dict[str, int]:
    """Makes expiry durable and emits checkout.expired once per checkout."""
    return {"expired": lifecycle.expire_due(get_store(), clock.now_s())}
