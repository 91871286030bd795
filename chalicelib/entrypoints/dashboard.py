"""Routes of the merchant dashboard (``/dashboard…``): thin, over ``dashboard_pages``.

A Blueprint (registered in app.py) for the merchant's browser. Each route names its page function; the
``view`` decorator does the session, Origin and CSRF checks and turns errors
into pages.
"""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.web import dashboard_pages as pages
from chalicelib.web.dashboard_pages import FORM, view

bp = Blueprint(__name__)


@bp.route("/dashboard/login", methods=["GET"])
@view(bp, public=True)
def login_page(ctx: pages.Ctx) -> Any:
    return pages.login_page(ctx)


@bp.route("/dashboard/login", methods=["POST"], content_types=FORM)
@view(bp, public=True)
def login(ctx: pages.Ctx) -> Any:
    return pages.login(ctx)


@bp.route("/dashboard/login/{token}", methods=["GET"])
@view(bp, public=True)
def login_link_page(ctx: pages.Ctx, token: str) -> Any:
    return pages.login_link_page(ctx, token)


@bp.route("/dashboard/login/{token}", methods=["POST"], content_types=FORM)
@view(bp, public=True)
def login_with_link(ctx: pages.Ctx, token: str) -> Any:
    return pages.login_with_link(ctx, token)


@bp.route("/dashboard/logout", methods=["POST"], content_types=FORM)
@view(bp)
def logout(ctx: pages.Ctx) -> Any:
    return pages.logout(ctx)


@bp.route("/dashboard", methods=["GET"])
@view(bp)
def overview(ctx: pages.Ctx) -> Any:
    return pages.overview(ctx)


@bp.route("/dashboard/checkouts", methods=["GET"])
@view(bp)
def checkouts(ctx: pages.Ctx) -> Any:
    return pages.checkouts(ctx)


@bp.route("/dashboard/checkouts/{checkout_id}", methods=["GET"])
@view(bp)
def checkout_detail(ctx: pages.Ctx, checkout_id: str) -> Any:
    return pages.checkout_detail(ctx, checkout_id)


@bp.route("/dashboard/checkouts/{checkout_id}/refund", methods=["POST"], content_types=FORM)
@view(bp)
def refund(ctx: pages.Ctx, checkout_id: str) -> Any:
    return pages.refund(ctx, checkout_id)


@bp.route("/dashboard/checkouts/{checkout_id}/cancel", methods=["POST"], content_types=FORM)
@view(bp)
def cancel(ctx: pages.Ctx, checkout_id: str) -> Any:
    return pages.cancel(ctx, checkout_id)


@bp.route("/dashboard/events/{event_id}/resend", methods=["POST"], content_types=FORM)
@view(bp)
def resend(ctx: pages.Ctx, event_id: str) -> Any:
    return pages.resend(ctx, event_id)


@bp.route("/dashboard/promotion-codes", methods=["GET"])
@view(bp)
def promotion_codes(ctx: pages.Ctx) -> Any:
    return pages.promotion_codes(ctx)


@bp.route("/dashboard/promotion-codes", methods=["POST"], content_types=FORM)
@view(bp)
def create_promotion_code(ctx: pages.Ctx) -> Any:
    return pages.create_promotion_code(ctx)


@bp.route("/dashboard/promotion-codes/{code}/deactivate", methods=["POST"], content_types=FORM)
@view(bp)
def deactivate_promotion_code(ctx: pages.Ctx, code: str) -> Any:
    return pages.deactivate_promotion_code(ctx, code)


@bp.route("/dashboard/payment-links", methods=["GET"])
@view(bp)
def payment_links(ctx: pages.Ctx) -> Any:
    return pages.payment_links_page(ctx)


@bp.route("/dashboard/payment-links", methods=["POST"], content_types=FORM)
@view(bp)
def create_payment_link(ctx: pages.Ctx) -> Any:
    return pages.create_payment_link(ctx)


@bp.route("/dashboard/payment-links/{link_id}/deactivate", methods=["POST"], content_types=FORM)
@view(bp)
def deactivate_payment_link(ctx: pages.Ctx, link_id: str) -> Any:
    return pages.deactivate_payment_link(ctx, link_id)


@bp.route("/dashboard/developers", methods=["GET"])
@view(bp)
def developers(ctx: pages.Ctx) -> Any:
    return pages.developers(ctx)


@bp.route("/dashboard/developers/rotate-key", methods=["POST"], content_types=FORM)
@view(bp)
def rotate_key(ctx: pages.Ctx) -> Any:
    return pages.rotate_key(ctx)


@bp.route("/dashboard/developers/test-event", methods=["POST"], content_types=FORM)
@view(bp)
def test_event(ctx: pages.Ctx) -> Any:
    return pages.send_test_event(ctx)


@bp.route("/dashboard/settings", methods=["GET"])
@view(bp)
def settings(ctx: pages.Ctx) -> Any:
    return pages.settings_page(ctx)


@bp.route("/dashboard/settings", methods=["POST"], content_types=FORM)
@view(bp)
def save_settings(ctx: pages.Ctx) -> Any:
    return pages.save_settings(ctx)


@bp.route("/dashboard/settings/preview", methods=["GET"])
@view(bp, preview=True)
def settings_preview(ctx: pages.Ctx) -> Any:
    return pages.settings_preview(ctx)
