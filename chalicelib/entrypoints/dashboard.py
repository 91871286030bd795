"""Routes of the merchant dashboard (``/dashboard…``): thin, over ``dashboard_pages``.

A Blueprint (registered in app.py) for the merchant's browser. Each route names its page function; the
``view`` decorator does the session, Origin and CSRF checks and turns errors
into pages.

As in every Blueprint, a route imports the module it calls in its body, and ``view``
applies ``dashboard_pages.view`` on the route's first call: a container imports the
dashboard with its first dashboard request, not at start-up (a shopper's page needs none of it).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

from chalice.app import Blueprint

from chalicelib.entrypoints.current import FORM

if TYPE_CHECKING:
    from chalicelib.web.dashboard_pages import Ctx

bp = Blueprint(__name__)


def view(public: bool = False, preview: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``dashboard_pages.view`` for this Blueprint, made on the route's first call."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        made: list[Callable[..., Any]] = []

        @functools.wraps(handler)
        def route(**kwargs: Any) -> Any:
            if not made:
                from chalicelib.web import dashboard_pages

                made.append(dashboard_pages.view(bp, public=public, preview=preview)(handler))
            return made[0](**kwargs)

        return route

    return decorate


@bp.route("/dashboard/login", methods=["GET"])
@view(public=True)
def login_page(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.login_page(ctx)


@bp.route("/dashboard/login", methods=["POST"], content_types=FORM)
@view(public=True)
def login(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.login(ctx)


@bp.route("/dashboard/login/{token}", methods=["GET"])
@view(public=True)
def login_link_page(ctx: Ctx, token: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.login_link_page(ctx, token)


@bp.route("/dashboard/login/{token}", methods=["POST"], content_types=FORM)
@view(public=True)
def login_with_link(ctx: Ctx, token: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.login_with_link(ctx, token)


@bp.route("/dashboard/logout", methods=["POST"], content_types=FORM)
@view()
def logout(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.logout(ctx)


@bp.route("/dashboard", methods=["GET"])
@view()
def overview(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.overview(ctx)


@bp.route("/dashboard/checkouts", methods=["GET"])
@view()
def checkouts(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.checkouts(ctx)


@bp.route("/dashboard/checkouts/{checkout_id}", methods=["GET"])
@view()
def checkout_detail(ctx: Ctx, checkout_id: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.checkout_detail(ctx, checkout_id)


@bp.route("/dashboard/checkouts/{checkout_id}/refund", methods=["POST"], content_types=FORM)
@view()
def refund(ctx: Ctx, checkout_id: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.refund(ctx, checkout_id)


@bp.route("/dashboard/checkouts/{checkout_id}/cancel", methods=["POST"], content_types=FORM)
@view()
def cancel(ctx: Ctx, checkout_id: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.cancel(ctx, checkout_id)


@bp.route("/dashboard/events/{event_id}/resend", methods=["POST"], content_types=FORM)
@view()
def resend(ctx: Ctx, event_id: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.resend(ctx, event_id)


@bp.route("/dashboard/promotion-codes", methods=["GET"])
@view()
def promotion_codes(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.promotion_codes(ctx)


@bp.route("/dashboard/promotion-codes", methods=["POST"], content_types=FORM)
@view()
def create_promotion_code(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.create_promotion_code(ctx)


@bp.route("/dashboard/promotion-codes/{code}/deactivate", methods=["POST"], content_types=FORM)
@view()
def deactivate_promotion_code(ctx: Ctx, code: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.deactivate_promotion_code(ctx, code)


@bp.route("/dashboard/payment-links", methods=["GET"])
@view()
def payment_links(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.payment_links_page(ctx)


@bp.route("/dashboard/payment-links", methods=["POST"], content_types=FORM)
@view()
def create_payment_link(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.create_payment_link(ctx)


@bp.route("/dashboard/payment-links/{link_id}/deactivate", methods=["POST"], content_types=FORM)
@view()
def deactivate_payment_link(ctx: Ctx, link_id: str) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.deactivate_payment_link(ctx, link_id)


@bp.route("/dashboard/developers", methods=["GET"])
@view()
def developers(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.developers(ctx)


@bp.route("/dashboard/developers/rotate-key", methods=["POST"], content_types=FORM)
@view()
def rotate_key(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.rotate_key(ctx)


@bp.route("/dashboard/developers/test-event", methods=["POST"], content_types=FORM)
@view()
def test_event(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.send_test_event(ctx)


@bp.route("/dashboard/settings", methods=["GET"])
@view()
def settings(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.settings_page(ctx)


@bp.route("/dashboard/settings", methods=["POST"], content_types=FORM)
@view()
def save_settings(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.save_settings(ctx)


@bp.route("/dashboard/settings/preview", methods=["GET"])
@view(preview=True)
def settings_preview(ctx: Ctx) -> Any:
    from chalicelib.web import dashboard_pages as pages
    return pages.settings_preview(ctx)
