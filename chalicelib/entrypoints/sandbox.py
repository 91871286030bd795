"""The built-in sandbox provider's pages (``/sandbox/…``), served only where the stage enables it.

As in every Blueprint, a route imports the module it calls in its body (on its first call).
"""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.adapters.store import get_store
from chalicelib.config import settings
from chalicelib.domain.errors import NotFound
from chalicelib.entrypoints.current import FORM, CurrentRequest
from chalicelib.web import views

bp = Blueprint(__name__)
_api_view, page_view = views.make_views(bp)
current = CurrentRequest(bp)


def _require_sandbox() -> None:
    if not settings().sandbox_enabled:
        raise NotFound("The sandbox is off.")


@bp.route("/sandbox/{session_id}", methods=["GET"])
@page_view
def sandbox_page(session_id: str) -> Any:
    from chalicelib.web import sandbox_site
    _require_sandbox()
    return sandbox_site.page(get_store(), current.base(), session_id, current.query().get("lang"))


@bp.route("/sandbox/{session_id}", methods=["POST"], content_types=FORM)
@page_view
def sandbox_act(session_id: str) -> Any:
    from chalicelib.web import sandbox_site
    _require_sandbox()
    return sandbox_site.act(get_store(), session_id, current.form())
