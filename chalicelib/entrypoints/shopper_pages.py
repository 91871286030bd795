"""The shopper's pages (``/c/…``, ``/l/…``) and their static files: HTML, friendly on every error.

As in every Blueprint, a route imports the module it calls in its body (on its first call).
"""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.adapters.store import get_store
from chalicelib.domain.errors import NotFound
from chalicelib.entrypoints.current import FORM, CurrentRequest
from chalicelib.web import views
from chalicelib.web.render import static_file

bp = Blueprint(__name__)
api_view, page_view = views.make_views(bp)
current = CurrentRequest(bp)


@bp.route("/c/{checkout_id}", methods=["GET"])
@page_view
def checkout_page(checkout_id: str) -> Any:
    from chalicelib.web import pages
    return pages.checkout_page(get_store(), current.base(), checkout_id, current.query())


@bp.route("/c/{checkout_id}", methods=["POST"], content_types=FORM)
@page_view
def submit_checkout(checkout_id: str) -> Any:
    from chalicelib.web import pages
    return pages.submit(get_store(), current.base(), checkout_id, current.form(), current.query())


@bp.route("/c/{checkout_id}/return", methods=["GET"])
@page_view
def provider_return(checkout_id: str) -> Any:
    from chalicelib.web import pages
    return pages.provider_return(get_store(), current.base(), checkout_id)


@bp.route("/c/{checkout_id}/cancel", methods=["GET"])
@page_view
def provider_cancel(checkout_id: str) -> Any:
    from chalicelib.web import pages
    return pages.provider_cancel(get_store(), current.base(), checkout_id)


@bp.route("/c/{checkout_id}/status", methods=["GET"])
@api_view
def checkout_status(checkout_id: str) -> Any:
    from chalicelib.web import pages
    return pages.status(get_store(), checkout_id)


@bp.route("/l/{link_id}", methods=["GET"])
@page_view
def visit_payment_link(link_id: str) -> Any:
    from chalicelib.usecases import payment_links
    from chalicelib.web import i18n
    from chalicelib.web.render import render

    url = payment_links.visit(get_store(), link_id, current.base())
    if url is None:
        locale = i18n.pick_locale(current.query().get("lang"), "ko")
        t = i18n.translator(locale)
        return render("message.html", {"t": t, "locale": locale, "base": current.base(), "kind": "link_inactive",
                                       "title": t("link_inactive_title"), "body": t("link_inactive_body")}, status=410)
    return views.Redirect(url)


@bp.route("/static/{name}", methods=["GET"])
@page_view
def static(name: str) -> Any:
    found = static_file(name)
    if found is None:
        raise NotFound("No such file.")
    body, content_type = found
    return Response(body=body.decode(), status_code=200, headers={
        **views.BASE_HEADERS, "Content-Type": content_type,
        "Cache-Control": "public, max-age=31536000, immutable"})
