"""Provider notifications (``/webhooks/{provider}/{merchant_id}``): a hint to read the provider, never trusted alone.

As in every Blueprint, the route imports the use case it calls in its body (on its first call).
"""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.adapters.store import get_store
from chalicelib.entrypoints.current import FORM, CurrentRequest
from chalicelib.web import views

bp = Blueprint(__name__)
api_view, _page_view = views.make_views(bp)
current = CurrentRequest(bp)


@bp.route("/webhooks/{provider}/{merchant_id}", methods=["POST"], content_types=["application/json", *FORM, "text/plain"])
@api_view
def provider_webhook(provider: str, merchant_id: str) -> Any:
    from chalicelib.usecases import payments

    request = bp.current_request
    # Tighter than the API's limit, and checked before the merchant is looked up or anything parsed.
    views.check_request({}, request.raw_body, views.MAX_NOTIFICATION_BODY_BYTES)
    body = request.raw_body or b""
    raw = body.encode() if isinstance(body, str) else body
    return payments.handle_notification(get_store(), provider, merchant_id, request.headers, raw, current.base())
