"""What every Blueprint reads off the current request: the public base URL, the query,
the form or JSON body, and the merchant its API key names.

The entry points import the use cases they call where they call them (in the route,
here in the method), so a container imports each with the first request that needs it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.adapters.store import get_store
from chalicelib.web import views

if TYPE_CHECKING:
    from chalicelib.usecases.merchants import Merchant

FORM = ["application/x-www-form-urlencoded"]


class CurrentRequest:
    def __init__(self, bp: Blueprint) -> None:
        self.bp = bp

    def base(self) -> str:
        return views.public_base(self.bp.current_request)

    def query(self) -> dict[str, str]:
        return dict(self.bp.current_request.query_params or {})

    def merchant(self) -> Merchant:
        from chalicelib.usecases import merchants
        return merchants.authenticate(get_store(), self.bp.current_request.headers)

    def json_body(self) -> Any:
        from chalicelib.usecases import checkouts
        return checkouts.parse_json(self.bp.current_request.raw_body)

    def form(self) -> dict[str, list[str]]:
        return views.form_data(self.bp.current_request)
