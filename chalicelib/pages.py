"""The shopper's pages: the checkout form, its submit, the provider's return and cancel.

Each function takes what the route parsed and returns an ``Html`` page or a
``Redirect``; ``chalicelib.web`` makes the response.
"""
from __future__ import annotations

from typing import Any, Mapping

from . import clock, csrf, domain, i18n, money, payments, providers, shopper_form
from .domain import Checkout
from .errors import Forbidden, FormInvalid, ProviderFailed, StateConflict
from .merchants import Merchant
from .providers import base as pb
from .render import Html, render
from .store import Store
from .web import Redirect, origin_of

NOTICES = ("cancelled", "failed", "busy")


def _form_actions(checkout: Checkout, merchant: Merchant, base: str) -> tuple[str, ...]:
    """Where a POST from our page may end up: the providers' pages and the merchant's redirects."""
    origins = [origin_of(checkout.success_url), origin_of(checkout.cancel_url)]
    for name in (checkout.provider, merchant.fallback_provider):
        if name and name != "sandbox":
            origins.append(origin_of(providers.build(name, merchant.id, {}, base).base_url))
    return tuple(o for o in origins if o)


def _context(checkout: Checkout, merchant: Merchant, base: str, locale: str) -> dict[str, Any]:
    t = i18n.translator(locale)
    fmt = lambda amount: money.format_amount(amount, checkout.currency, locale)  # noqa: E731
    other = "en" if locale == "ko" else "ko"
    return {
        "t": t,
        "locale": locale,
        "base": base,
        "checkout": checkout,
        "merchant": merchant,
        "items": [
            {"name": i.name, "description": i.description, "image_url": i.image_url,
             "quantity": i.quantity, "amount": fmt(i.amount)}
            for i in checkout.line_items
        ],
        "total": fmt(checkout.amount_total),
        "page_url": f"{base}/c/{checkout.id}",
        "lang_url": f"{base}/c/{checkout.id}?lang={other}",
        "success_url": domain.replace_checkout_id(checkout.success_url, checkout.id),
        "cancel_url": domain.replace_checkout_id(checkout.cancel_url, checkout.id),
    }


def _form_page(
    checkout: Checkout,
    merchant: Merchant,
    base: str,
    locale: str,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Html:
    context = _context(checkout, merchant, base, locale)
    if values is None:
        shopper = checkout.shopper or {}
        values = {**checkout.customer, **shopper}
        if len(checkout.payment_method_types) == 1:
            values["payment_method"] = checkout.payment_method_types[0]
    context.update(
        values=values,
        errors=dict(errors or {}),
        notice=notice,
        csrf_token=csrf.issue(checkout.id),
        methods=checkout.payment_method_types,
        banks=shopper_form.VIRTUAL_ACCOUNT_BANKS,
        require_agree=True,
    )
    return render("checkout.html", context, status=status, form_action=_form_actions(checkout, merchant, base))


def _state_page(checkout: Checkout, merchant: Merchant, base: str, locale: str, view: str) -> Html:
    context = _context(checkout, merchant, base, locale)
    template = {
        domain.COMPLETE: "paid.html",
        domain.PARTIALLY_REFUNDED: "paid.html",
        domain.REFUNDED: "paid.html",
        domain.EXPIRED: "state.html",
        domain.CANCELLED: "state.html",
    }[view]
    context["kind"] = "expired" if view == domain.EXPIRED else "cancelled"
    return render(template, context)


def checkout_page(store: Store, base: str, checkout_id: str, query: Mapping[str, str]) -> Html | Redirect:
    checkout, merchant = payments.load_with_merchant(store, checkout_id)
    locale = i18n.pick_locale(query.get("lang"), checkout.locale)
    view = checkout.view_status()
    if view == domain.PROCESSING and checkout.attempt is not None:
        context = _context(checkout, merchant, base, locale)
        attempt = checkout.attempt
        if attempt.pending:
            pending = dict(attempt.pending)
            if pending.get("due_at_s"):
                pending["deadline"] = clock.iso(int(pending["due_at_s"]))
            context.update(pending=pending, return_url=payments.return_url(base, checkout.id))
            return render("waiting.html", context)
        context.update(provider_url=attempt.redirect_url, return_url=payments.return_url(base, checkout.id))
        return render("confirming.html", context)
    if view != domain.OPEN:
        return _state_page(checkout, merchant, base, locale, view)
    notice = query.get("notice") if query.get("notice") in NOTICES else None
    return _form_page(checkout, merchant, base, locale, notice=notice)


def submit(store: Store, base: str, checkout_id: str, form: Mapping[str, list[str]], query: Mapping[str, str]) -> Html | Redirect:
    checkout, merchant = payments.load_with_merchant(store, checkout_id)
    token = (form.get("csrf_token") or [""])[0]
    if not csrf.verify(checkout.id, token):
        raise Forbidden("The form expired; reload the page.", code="csrf_failed")
    locale = i18n.pick_locale(query.get("lang") or (form.get("lang") or [""])[0], checkout.locale)
    page = f"{base}/c/{checkout.id}"
    try:
        return Redirect(payments.submit(store, checkout, merchant, form, base))
    except FormInvalid as e:
        return _form_page(checkout, merchant, base, locale, shopper_form.values_from(form), e.errors, status=422)
    except ProviderFailed:
        fresh = payments.load(store, checkout.id)
        return _form_page(fresh, merchant, base, locale, shopper_form.values_from(form),
                          notice="provider_error", status=502)
    except StateConflict:
        fresh = payments.load(store, checkout.id)
        if fresh.view_status() == domain.OPEN:
            return Redirect(f"{page}?notice=busy")
        return Redirect(page)


def provider_return(store: Store, base: str, checkout_id: str) -> Html | Redirect:
    """The provider sent the shopper back: believe only the provider's own answer."""
    checkout, merchant = payments.load_with_merchant(store, checkout_id)
    page = f"{base}/c/{checkout.id}"
    try:
        checkout = payments.confirm(store, checkout, merchant, base)
    except pb.ProviderError:
        return Redirect(page)
    view = checkout.view_status()
    if view in domain.PAID_STATUSES:
        return Redirect(domain.replace_checkout_id(checkout.success_url, checkout.id))
    if view == domain.OPEN and checkout.last_error and checkout.last_error.startswith("payment_"):
        return Redirect(f"{page}?notice=failed")
    return Redirect(page)


def provider_cancel(store: Store, base: str, checkout_id: str) -> Redirect:
    checkout, merchant = payments.load_with_merchant(store, checkout_id)
    try:
        checkout = payments.abandon(store, checkout, merchant, base)
    except pb.ProviderError:
        return Redirect(f"{base}/c/{checkout.id}")
    if checkout.view_status() in domain.PAID_STATUSES:
        return Redirect(domain.replace_checkout_id(checkout.success_url, checkout.id))
    if checkout.view_status() == domain.OPEN:
        return Redirect(f"{base}/c/{checkout.id}?notice=cancelled")
    return Redirect(f"{base}/c/{checkout.id}")
