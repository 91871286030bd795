"""The error types of the product.

Every error a merchant or shopper can see is a ``CheckoutError`` carrying an HTTP
status, a stable ``code`` and, where one field is at fault, its ``param``. They
become HTTP responses in exactly one place: ``chalicelib.web.views``.
"""
from __future__ import annotations

from typing import Any


class CheckoutError(Exception):
    http_status = 400
    code = "invalid_request"

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


class InvalidRequest(CheckoutError):
    """The request is malformed: wrong type, missing or unknown field."""


class Unprocessable(CheckoutError):
    """The request is well formed but cannot be honoured as asked."""

    http_status = 422
    code = "unprocessable"


class AuthenticationFailed(CheckoutError):
    http_status = 401
    code = "unauthorized"


class Forbidden(CheckoutError):
    http_status = 403
    code = "forbidden"


class NotFound(CheckoutError):
    http_status = 404
    code = "not_found"


class Conflict(CheckoutError):
    http_status = 409
    code = "conflict"


class StateConflict(Conflict):
    """The checkout is not in a state that allows the operation."""

    code = "checkout_state_conflict"


class RefundInProgress(Conflict):
    """Another refund of the checkout holds its refund lock (in flight, or waiting for reconciliation)."""

    code = "refund_in_progress"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"


class PayloadTooLarge(CheckoutError):
    """A request body over its documented limit (README, "Limits"): refused before it is read."""

    http_status = 413
    code = "payload_too_large"


class ProviderFailed(CheckoutError):
    """The payment provider did not answer usefully. Nothing was charged."""

    http_status = 502
    code = "provider_error"


class ServiceUnavailable(CheckoutError):
    http_status = 503
    code = "service_unavailable"


class NotificationRejected(CheckoutError):
    """A provider notification failed verification; it changes nothing."""

    http_status = 400
    code = "notification_rejected"


class FormInvalid(CheckoutError):
    """The shopper's form has errors; ``errors`` maps field name to message key."""

    http_status = 422
    code = "form_invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("The form has errors.")
        self.errors = errors
