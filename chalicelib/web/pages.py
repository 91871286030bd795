"""The shopper's pages: the checkout form, its submit, the provider's return and cancel,
the state pages (paid, expired, cancelled, waiting for a deposit) and the status the
waiting page polls.

Each function takes what the route parsed and returns an ``Html`` page, a
``Redirect`` or a JSON-able dict; ``chalicelib.web.views`` makes the response.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Mapping
from urllib.parse import urlsplit

from chalicelib import logs
from chalicelib.adapters import providers
from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.store import Store
from chalicelib.config import settings
from chalicelib.domain import business, clock, discounts, ids, model, money, shopper_form
from chalicelib.domain.errors import Forbidden, FormInvalid, NotFound, ProviderFailed, StateConflict
from chalicelib.domain.model import Checkout
from chalicelib.domain.validation import is_valid_email
from chalicelib.usecases import dashboard_stats, payment_links, payments, promotions
from chalicelib.usecases.merchants import DEFAULT_BUTTON_RADIUS, MAX_BUTTON_RADIUS, Merchant
from chalicelib.web import csrf, i18n
from chalicelib.web.render import Html, render, render_shared
from chalicelib.web.views import Redirect, origin_of

NOTICES = ("cancelled", "failed", "busy")
DEFAULT_COLOR = "#1A56DB"
_COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
KST = timezone(timedelta(hours=9), "KST")
# Where the waiting page's script starts polling the status, and how often at most.
POLL_MS = 3000
# The words the page's script needs for client-side checks; the server has the rest.
CLIENT_MESSAGES = ("required", "invalid_email", "invalid_postal_code", "choose_method", "must_agree",
                   "errors_title", "error_count", "error_count_one")


# Who processes the shopper's data for the payment (PIPA 제26조 위탁) and, for providers
# outside Korea, where it goes (제28조의8). No public source names Clink's or Payfect's
# country; these are our reading of their own sites, to be confirmed with each contract.
TRANSFER_COUNTRIES: dict[str, str] = {"clink": "country_sg", "payfect": "country_us"}


def _relative_luminance(color: str) -> float:
    channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two #RRGGBB colours (1.0 to 21.0)."""
    high, low = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_color_on(background: str) -> str:
    """White or near-black, whichever reads better on the merchant's colour."""
    white, dark = "#FFFFFF", "#111111"
    return white if contrast_ratio(background, white) >= contrast_ratio(background, dark) else dark


def brand(merchant: Merchant) -> dict[str, Any]:
    """The merchant's branding as the page uses it, checked again here rather than trusted.

    A value that does not pass (an old record, a hand-edited item) falls back to the
    default instead of reaching the page: the colour and radius end up inside a
    ``<style>`` element, where HTML escaping alone would not make them safe.
    """
    color = merchant.brand_color if _COLOR_RE.fullmatch(merchant.brand_color or "") else DEFAULT_COLOR
    radius = merchant.button_radius
    if isinstance(radius, bool) or not isinstance(radius, int) or not 0 <= radius <= MAX_BUTTON_RADIUS:
        radius = DEFAULT_BUTTON_RADIUS
    logo = merchant.logo_url
    if logo and (urlsplit(logo).scheme != "https" or not urlsplit(logo).hostname or any(c.isspace() for c in logo)):
        logo = None
    email = merchant.support_email if merchant.support_email and is_valid_email(merchant.support_email) else None
    return {
        "name": merchant.name,
        "primary_color": color.upper(),
        "on_primary": text_color_on(color),
        "button_radius": radius,
        "logo_url": logo or None,
        "support_email": email,
    }


def format_deadline(due_at_s: int, locale: str) -> tuple[str, str]:
    """(machine-readable ISO 8601, what the shopper reads) for a deposit deadline, in Korean time."""
    moment = datetime.fromtimestamp(due_at_s, tz=KST)
    if locale == "ko":
        text = f"{moment.year}년 {moment.month}월 {moment.day}일 {moment:%H:%M} (한국 시간)"
    else:
        text = f"{moment.day} {moment:%b %Y, %H:%M} KST"
    return moment.isoformat(), text


def format_time_left(seconds: int, locale: str) -> str | None:
    """What is left until a deadline, as the shopper reads it (2일 5시간 / 3시간 20분); None once past."""
    if seconds <= 0:
        return None
    t = i18n.translator(locale)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return t("time_days", d=days, h=hours)
    return t("time_hours", h=hours, m=max(1, rest // 60) if not hours else rest // 60)


def _form_actions(checkout: Checkout, merchant: Merchant, base: str) -> tuple[str, ...]:
    """Where a POST from our page may end up: the providers' known pages and the merchant's redirects.

    Kept narrow on purpose: a provider page anywhere else is reached through the
    page ``to_provider`` renders, not by widening the policy.
    """
    origins = [origin_of(checkout.success_url), origin_of(checkout.cancel_url)]
    bases = tuple(sorted(settings().provider_bases.items()))
    for name in (checkout.provider, merchant.fallback_provider):
        if name and name != "sandbox":
            origins += _provider_origins(name, merchant.test_mode(name), bases)
    return tuple(o for o in origins if o)


@lru_cache(maxsize=64)
def _provider_origins(name: str, test_mode: bool, provider_bases: tuple[tuple[str, str], ...]) -> tuple[str | None, ...]:
    """A provider's API and hosted-page origins for test or live credentials (the configured
    bases first), worked out once per container: no credentials are decrypted for them."""
    adapter = providers.adapter_class(name)
    return (origin_of(dict(provider_bases).get(name) or adapter.api_base(test_mode)), *adapter.page_origins(test_mode))


@lru_cache(maxsize=4)
def _client_messages(locale: str) -> dict[str, str]:
    t = i18n.translator(locale)
    return {key: t(key) for key in CLIENT_MESSAGES}


def _context(checkout: Checkout, merchant: Merchant, base: str, locale: str) -> dict[str, Any]:
    t = i18n.translator(locale)

    def fmt(amount: int) -> str:
        return money.format_amount(amount, checkout.currency, locale)

    other = "en" if locale == "ko" else "ko"
    products = [i for i in checkout.line_items if not i.shipping]
    shipping_lines = [i for i in checkout.line_items if i.shipping]
    profile = merchant.business or {}
    fee = profile.get("return_shipping_fee")
    processor = providers.adapter_class(checkout.provider).display_name or checkout.provider
    country = TRANSFER_COUNTRIES.get(checkout.provider)
    return {
        "t": t,
        "seller": business.footer(profile),
        "return_fee": money.format_amount(int(fee), "KRW", locale) if isinstance(fee, int) else None,
        "processor": processor,
        "processor_country": t(country) if country else None,
        "non_returnable": any(i.non_returnable for i in products),
        "locale": locale,
        "base": base,
        "checkout": checkout,
        "merchant": merchant,
        "brand": brand(merchant),
        "items": [
            {"name": i.name, "description": i.description, "image_url": i.image_url,
             "quantity": i.quantity, "amount": fmt(i.amount), "non_returnable": bool(i.non_returnable)}
            for i in products
        ],
        # Lines the merchant marks as shipping are one line of the sums (free when they add up to 0).
        # Without such a line we cannot tell what shipping costs, so the page claims nothing.
        "shipping_fee": (fmt(sum(i.amount for i in shipping_lines)) if sum(i.amount for i in shipping_lines) else t("free"))
        if shipping_lines else None,
        "total": fmt(checkout.amount_total),
        "subtotal": fmt(checkout.amount_subtotal),
        "discount": fmt(checkout.amount_discount) if checkout.amount_discount else None,
        "promotion_code": checkout.promotion["code"] if checkout.promotion else None,
        # The pay button's amount is the symbol form in both languages: ₩29,000 결제하기 / Pay ₩29,000.
        "pay_label": t("pay", amount=money.format_amount(checkout.amount_total, checkout.currency, "en")),
        "page_url": f"{base}/c/{checkout.id}",
        "lang_url": f"{base}/c/{checkout.id}?lang={other}",
        "other_locale": other,
        "status_url": f"{base}/c/{checkout.id}/status",
        "return_url": payments.return_url(base, checkout.id),
        "poll_ms": POLL_MS,
        "success_url": model.replace_checkout_id(checkout.success_url, checkout.id),
        "cancel_url": model.replace_checkout_id(checkout.cancel_url, checkout.id),
        "client_messages": _client_messages(locale),
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
    refused: discounts.PromotionRefused | None = None,
    code_typed: str = "",
    link: str | None = None,
) -> Html:
    if values is None and errors is None and status == 200 and refused is None and not code_typed:
        # The page as everyone who opens this checkout now gets it: rendered once per
        # container for this very checkout, merchant and settings; the CSRF token (and
        # the CSP nonce) are new for every response.
        key = ("checkout.html", repr(checkout), repr(merchant), repr(settings()), base, locale, notice, link)
        return render_shared(
            "checkout.html", key, lambda: _form_context(checkout, merchant, base, locale, notice=notice, link=link),
            {"csrf_token": csrf.issue(checkout.id)}, form_action=_form_actions(checkout, merchant, base))
    context = _form_context(checkout, merchant, base, locale, values, errors, notice, refused, code_typed, link)
    context["csrf_token"] = csrf.issue(checkout.id)
    return render("checkout.html", context, status=status, form_action=_form_actions(checkout, merchant, base))


def _form_context(
    checkout: Checkout,
    merchant: Merchant,
    base: str,
    locale: str,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
    refused: discounts.PromotionRefused | None = None,
    code_typed: str = "",
    link: str | None = None,
) -> dict[str, Any]:
    context = _context(checkout, merchant, base, locale)
    if link:
        # A payment link's checkout not written yet: its forms carry the link's reference.
        context["page_url"] += f"?link={link}"
        context["lang_url"] += f"&link={link}"
    if values is None:
        # Only what the merchant gave: the page is public to whoever holds its URL, so what
        # an earlier shopper typed (kept on the checkout for the provider and the merchant)
        # is never shown again after their attempt was released.
        values = dict(checkout.customer)
        # One tap fewer: the first method the checkout allows starts chosen, and most orders
        # ship to the orderer. Never ticked for the shopper: agree and marketing_opt_in.
        values["payment_method"] = checkout.payment_method_types[0]
        values["recipient_same"] = "1"
    t = context["t"]
    takes_installments = providers.adapter_class(checkout.provider).takes_installments
    cash = checkout.currency == "KRW" and any(m in model.CASH_METHODS for m in checkout.payment_method_types)
    context.update(
        installment_options=[("0", t("months_0"))] + [(str(n), t("months", n=n)) for n in model.INSTALLMENT_MONTHS]
        if shopper_form.installments_shown(checkout, takes_installments) else [],
        cash_receipt_options=[(k, t("cash_receipt_" + k)) for k in shopper_form.CASH_RECEIPT_TYPES] if cash else [],
        delivery_options=[("", t("delivery_none"))] + [(k, t("delivery_" + k)) for k in shopper_form.DELIVERY_REQUESTS],
        values=values,
        errors=dict(errors or {}),
        notice=notice,
        methods=checkout.payment_method_types,
        banks=shopper_form.VIRTUAL_ACCOUNT_BANKS,
        # The code form carries what the shopper has typed so far, so applying a code loses nothing.
        carried={k: v for k, v in values.items() if v and k in shopper_form.FIELDS},
        code_typed=code_typed,
        promo_error=_refusal_text(refused, checkout, locale) if refused else None,
    )
    if context["promo_error"] is None and context["errors"].get("promotion_code"):
        context["promo_error"] = context["t"](context["errors"]["promotion_code"])
    return context


def preview_page(checkout: Checkout, merchant: Merchant, base: str, locale: str) -> Html:
    """The checkout page as the merchant's settings would make it, for the dashboard's preview (inert)."""
    values = {"payment_method": checkout.payment_method_types[0]}
    html = _form_page(checkout, merchant, base, locale, values=values)
    return html


def _refusal_text(refused: discounts.PromotionRefused, checkout: Checkout, locale: str) -> str:
    amount = refused.details.get("minimum_amount")
    minimum = money.format_amount(int(amount), checkout.currency, locale) if amount is not None else ""
    return i18n.translator(locale)(refused.code, minimum=minimum)


def _promotion(
    store: Store, checkout: Checkout, merchant: Merchant, base: str, locale: str, form: Mapping[str, list[str]], action: str
) -> Html:
    """The code form: apply the typed code, or take the applied one off; the page again, values kept."""
    values = shopper_form.values_from(form)
    typed = (form.get("promotion_code") or [""])[0].strip()[:60]
    if action == "apply" and not typed:
        return _form_page(checkout, merchant, base, locale, values, {"promotion_code": "required"}, status=422)
    try:
        if action == "remove":
            checkout = promotions.remove_code(store, checkout)
            notice = "code_removed"
        else:
            checkout = promotions.apply_typed_code(store, checkout, typed, values.get("email") or None)
            notice = "code_applied"
    except discounts.PromotionRefused as e:
        return _form_page(checkout, merchant, base, locale, values, {"promotion_code": e.code}, status=422,
                          refused=e, code_typed=typed)
    return _form_page(checkout, merchant, base, locale, values, notice=notice)


def _state_page(checkout: Checkout, merchant: Merchant, base: str, locale: str, view: str) -> Html:
    context = _context(checkout, merchant, base, locale)
    template = {
        model.COMPLETE: "paid.html",
        model.PARTIALLY_REFUNDED: "paid.html",
        model.REFUNDED: "paid.html",
        model.EXPIRED: "state.html",
        model.CANCELLED: "state.html",
    }[view]
    context["kind"] = "expired" if view == model.EXPIRED else "cancelled"
    return render(template, context)


def _load(store: Store, base: str, checkout_id: str, query: Mapping[str, str], save: bool,
          recent_if: tuple[str, ...] = ()) -> tuple[Checkout, Merchant, bool]:
    """The checkout and its merchant, and whether it is a payment-link visit's not yet written.

    A link visit's checkout exists only as ``?link=`` (``payment_links``) until the shopper's
    first POST writes it (``save``). ``recent_if``: as for ``payments.load``.
    """
    try:
        checkout, merchant = payments.load_with_merchant(store, checkout_id, recent_if)
        return checkout, merchant, False
    except NotFound:
        reference = query.get("link")
        if not reference or not ids.looks_like("chk", checkout_id):
            raise
        found = (payment_links.save if save else payment_links.unsaved_checkout)(store, checkout_id, reference, base)
        if found is None:
            raise
        return found[0], found[1], not save


def checkout_page(store: Store, base: str, checkout_id: str, query: Mapping[str, str]) -> Html | Redirect:
    checkout, merchant, unsaved = _load(store, base, checkout_id, query, save=False)
    if not unsaved:
        dashboard_stats.record_open(store, checkout)
    locale = i18n.pick_locale(query.get("lang"), checkout.locale)
    view = checkout.view_status()
    if view == model.PROCESSING and checkout.attempt is not None:
        context = _context(checkout, merchant, base, locale)
        attempt = checkout.attempt
        if attempt.pending:
            pending = dict(attempt.pending)
            if pending.get("due_at_s"):
                pending["deadline_iso"], pending["deadline"] = format_deadline(int(pending["due_at_s"]), locale)
                pending["time_left"] = format_time_left(int(pending["due_at_s"]) - clock.now_s(), locale)
            context.update(pending=pending, status=view)
            return render("waiting.html", context)
        context.update(provider_url=attempt.redirect_url, status=view)
        return render("confirming.html", context)
    if view != model.OPEN:
        return _state_page(checkout, merchant, base, locale, view)
    notice = query.get("notice") if query.get("notice") in NOTICES else None
    return _form_page(checkout, merchant, base, locale, notice=notice, link=query.get("link") if unsaved else None)


def submit(store: Store, base: str, checkout_id: str, form: Mapping[str, list[str]], query: Mapping[str, str]) -> Html | Redirect:
    action = (form.get("promo_action") or [""])[0]
    # Paying locks the checkout on a condition of its version: an open copy this container
    # holds (from the page) will do, and a stale one only costs the condition and a re-plan.
    paying = action not in ("apply", "remove")
    token = (form.get("csrf_token") or [""])[0]
    # A payment link's checkout is written only for a form that is ours (never by a forged POST).
    checkout, merchant, _ = _load(store, base, checkout_id, query, save=csrf.verify(checkout_id, token),
                                  recent_if=(model.OPEN,) if paying else ())
    locale = i18n.pick_locale(query.get("lang") or (form.get("lang") or [""])[0], checkout.locale)
    if not csrf.verify(checkout.id, token):
        # The error page of a known checkout: the merchant's brand and seller footer stay on it.
        logs.note(outcome="csrf_failed")
        context = _context(checkout, merchant, base, locale)
        context.update(kind="csrf", title=context["t"]("csrf_title"), body=context["t"]("csrf_body"))
        return render("message.html", context, status=Forbidden.http_status)
    page = f"{base}/c/{checkout.id}"
    try:
        if not paying:
            return _promotion(store, checkout, merchant, base, locale, form, action)
        return to_provider(payments.submit(store, checkout, merchant, form, base), checkout, merchant, base, locale)
    except FormInvalid as e:
        # The form again, from the checkout as it is now (the copy may be a while old).
        fresh = payments.load(store, checkout.id)
        return _form_page(fresh, merchant, base, locale, shopper_form.values_from(form), e.errors, status=422)
    except discounts.PromotionRefused as e:
        # The code ran out (or ended) between the page and the submit: say so on the code, charge nothing.
        fresh = payments.load(store, checkout.id)
        return _form_page(fresh, merchant, base, locale, shopper_form.values_from(form), {"promotion_code": e.code},
                          status=422, refused=e)
    except ProviderFailed:
        fresh = payments.load(store, checkout.id)
        return _form_page(fresh, merchant, base, locale, shopper_form.values_from(form),
                          notice="provider_error", status=502)
    except StateConflict:
        fresh = payments.load(store, checkout.id)
        if fresh.view_status() == model.OPEN:
            return Redirect(f"{page}?notice=busy")
        return Redirect(page)


def to_provider(url: str, checkout: Checkout, merchant: Merchant, base: str, locale: str) -> Html | Redirect:
    """The answer to the form's POST that takes the shopper to the provider's page at ``url``.

    Browsers apply the form page's CSP ``form-action`` to the redirect after the POST,
    so a ``303`` is only for an origin that policy names (our own, the providers' known
    page hosts). Any other origin (a page host that moved, a merchant's custom domain)
    gets a page of ours that moves on by itself and links there: a navigation that is
    no form submission, so ``form-action`` stays narrow and the shopper still arrives.
    """
    target = origin_of(url)
    if target is None:
        raise ProviderFailed("The payment provider gave no page to continue on.")
    allowed = _form_actions(checkout, merchant, base)
    if target == origin_of(base) or target in allowed:
        return Redirect(url)
    # The checkout as the page saw it: a fallback provider that took the attempt has its own pages.
    name = checkout.provider
    if merchant.fallback_provider:
        fallback = providers.adapter_class(merchant.fallback_provider)
        if target in fallback.page_origins(merchant.test_mode(merchant.fallback_provider)):
            name = merchant.fallback_provider
    context = _context(checkout, merchant, base, locale)
    context.update(provider_url=url, provider_name=providers.adapter_class(name).display_name or name)
    return render("to_provider.html", context, form_action=allowed)


def provider_return(store: Store, base: str, checkout_id: str) -> Html | Redirect:
    """The provider sent the shopper back: believe only the provider's own answer.

    A checkout this container already knows as paid is paid (nothing makes it unpaid).
    """
    checkout, merchant = payments.load_with_merchant(store, checkout_id, model.PAID_STATUSES)
    page = f"{base}/c/{checkout.id}"
    try:
        checkout = payments.confirm(store, checkout, merchant, base)
    except pb.ProviderError:
        return Redirect(page)
    view = checkout.view_status()
    if view in model.PAID_STATUSES:
        return Redirect(model.replace_checkout_id(checkout.success_url, checkout.id))
    if view == model.OPEN and checkout.last_error and checkout.last_error.startswith("payment_"):
        return Redirect(f"{page}?notice=failed")
    return Redirect(page)


def provider_cancel(store: Store, base: str, checkout_id: str) -> Redirect:
    checkout, merchant = payments.load_with_merchant(store, checkout_id)
    try:
        checkout = payments.abandon(store, checkout, merchant, base)
    except pb.ProviderError:
        return Redirect(f"{base}/c/{checkout.id}")
    if checkout.view_status() in model.PAID_STATUSES:
        return Redirect(model.replace_checkout_id(checkout.success_url, checkout.id))
    if checkout.view_status() == model.OPEN:
        return Redirect(f"{base}/c/{checkout.id}?notice=cancelled")
    return Redirect(f"{base}/c/{checkout.id}")


def status(store: Store, checkout_id: str) -> dict[str, str]:
    """What the waiting page polls: the checkout's status and nothing else."""
    return {"status": payments.load(store, checkout_id).view_status()}
