"""Scheduled functions: what happens with time (webhook retries, reconciliation, expiry).

As in every Blueprint, a function imports the use case it runs in its body (on its first run).
"""
from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Rate

from chalicelib.adapters.store import get_store
from chalicelib.domain import clock

bp = Blueprint(__name__)


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def deliver_webhooks(event: Any) -> dict[str, int]:
    """Retries of merchant webhooks that are due (the first attempt is made at once)."""
    from chalicelib.usecases import events
    return {"tried": events.deliver_due(get_store(), clock.now_s())}


@bp.schedule(Rate(1, unit=Rate.MINUTES))
def reconcile_payments(event: Any) -> dict[str, int]:
    """Asks the providers about processing checkouts that are due (providers.md, "Reconciliation")."""
    from chalicelib.usecases import reconcile
    return reconcile.run(get_store(), clock.now_s())


@bp.schedule(Rate(5, unit=Rate.MINUTES))
def expire_checkouts(event: Any) -> dict[str, int]:
    """Makes expiry durable and emits checkout.expired once per checkout."""
    from chalicelib.usecases import expiry
    return {"expired": expiry.expire_due(get_store(), clock.now_s())}
