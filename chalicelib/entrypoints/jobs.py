"""Scheduled functions: what happens with time (webhook retries, reconciliation, expiry)."""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Rate

from chalicelib.adapters.store import get_store
from chalicelib.domain import clock
from chalicelib.usecases import events, expiry, reconcile

bp = Blueprint(__name__)


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
    return {"expired": expiry.expire_due(get_store(), clock.now_s())}
