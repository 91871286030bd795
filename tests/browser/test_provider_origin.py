"""Reaching a provider's page on an origin no configuration names, in Chromium.

The fake provider's API is on ``127.0.0.1:port`` (the configured base, so its
origin is in the checkout page's ``form-action``), but its hosted page is served
on ``localhost:port``: the same server under an origin nobody configured, as
PayCombat's page lives on ``checkout.paycombat.com`` and not on its API host, or
a KoreaCheckout merchant's page on a custom domain. Chromium enforces
``form-action`` on the redirect after the form POST, so a ``303`` there would
stop on our page; the product answers with a page that moves on by itself.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from chalicelib import config as checkout_config
from chalicelib.web import pages
from chalicelib.web.views import Redirect
from tests import flow
from tests.adapters.providers.fake_koreacheckout import FakeKoreaCheckout
from tests.adapters.providers.fake_paycombat import FakePayCombat
from tests.conftest import checkout_body, create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def start(provider: str, monkeypatch: Any) -> Any:
    fake = FakeKoreaCheckout() if provider == "koreacheckout" else FakePayCombat()
    port = fake.server.server_address[1]
    fake.page_base = f"http://localhost:{port}"
    if provider == "paycombat":
        fake.page_pays = True
    monkeypatch.setenv(f"{provider.upper()}_API_BASE", fake.url)
    checkout_config.settings.cache_clear()
    return fake


def merchant_on(provider: str, fake: Any, db: Any, receiver: Any) -> Any:
    credentials = ({"api_key": fake.api_key, "webhook_secret": fake.webhook_secret} if provider == "koreacheckout"
                   else {"x_token": fake.x_token, "signature_key": fake.signature_key})
    return create_merchant(db, receiver.url, provider=provider, credentials=credentials)


def new_checkout(live_server: Any, merchant: Any, shop: Any, provider: str) -> dict[str, Any]:
    body = checkout_body(success_url=f"{shop.url}/thanks?c={{CHECKOUT_ID}}", cancel_url=f"{shop.url}/cart",
                         customer={"name": "홍길동", "email": "gildong@example.com"}, collect_shipping_address=False,
                         payment_method_types=["card"] if provider == "koreacheckout" else ["virtual_account"])
    response = requests.post(f"{live_server.url}/api/checkouts", json=body, headers=merchant.headers, timeout=10)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def fill_and_pay(page: Any, provider: str) -> None:
    page.fill("#f-phone", "010-1234-5678")
    if provider == "paycombat":
        page.select_option("#f-bank", "KDB산업은행")
    page.check("#f-agree")
    page.click("[data-pay]")


@pytest.fixture(params=["koreacheckout", "paycombat"])
def provider_rig(request: Any, monkeypatch: Any, db: Any, receiver: Any) -> Any:
    fake = start(request.param, monkeypatch)
    yield request.param, fake, merchant_on(request.param, fake, db, receiver)
    fake.close()


def test_the_shopper_reaches_a_provider_page_on_an_unconfigured_origin_and_ends_on_success_url(
    provider_rig, browsing, live_server, shop
):
    provider, fake, merchant = provider_rig
    checkout = new_checkout(live_server, merchant, shop, provider)
    page = browsing.page
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if r.request.method == "POST" and "/c/" in r.url else None)
    browsing.open(checkout["url"])
    policy = requests.get(checkout["url"], timeout=10).headers["Content-Security-Policy"]
    form_action = next(d for d in policy.split("; ") if d.startswith("form-action")).split()
    assert fake.url in form_action and fake.page_base not in form_action

    fill_and_pay(page, provider)
    page.wait_for_url(re.compile(rf"^{re.escape(fake.page_base)}/checkout/"))
    assert answers == [200], "the submit is answered by our page, not a redirect the policy would stop"
    page.click("text=Pay")

    page.wait_for_url(f"{shop.url}/thanks?c={checkout['id']}")
    assert shop.visits == [f"/thanks?c={checkout['id']}"]
    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert read["status"] == "complete"
    browsing.assert_clean()
    assert browsing.recorder.csp_violations == []


def test_the_page_that_moves_on_is_accessible_and_in_the_shoppers_language(provider_rig, browsing, live_server, shop):
    """The 200 page as the app serves it (headers and all), shown without its refresh so axe can read it."""
    provider, fake, merchant = provider_rig
    checkout = new_checkout(live_server, merchant, shop, provider)
    extra = {"payment_method": "virtual_account", "bank": "KDB산업은행"} if provider == "paycombat" else {
        "payment_method": "card"}
    answer = flow.submit_form(requests.Session(), checkout["url"], follow=False, **extra)
    assert answer.status_code == 200, answer.text[:500]
    for header in ("Content-Security-Policy", "Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy"):
        assert header in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    name = {"koreacheckout": "KoreaCheckout", "paycombat": "PayCombat"}[provider]
    target = re.search(r'<meta http-equiv="refresh" content="0;url=([^"]+)">', answer.text)
    assert target and target.group(1).startswith(f"{fake.page_base}/checkout/")
    assert f">{name}으로 이동</a>" in answer.text and 'lang="ko"' in answer.text

    preview = f"{live_server.url}/c/{checkout['id']}/preview-of-the-page-that-moves-on"
    still = answer.text.replace(target.group(0), "")
    browsing.page.route(preview, lambda route: route.fulfill(status=200, headers=dict(answer.headers), body=still))
    browsing.open(preview)
    link = browsing.page.get_by_role("link", name=f"{name}으로 이동")
    assert link.get_attribute("href") == target.group(1).replace("&amp;", "&")
    browsing.check_state(f"to-provider-{provider}")
    browsing.assert_clean()


def test_control_a_303_to_the_unconfigured_origin_is_stopped_by_chromium(monkeypatch, db, receiver, browsing,
                                                                         live_server, shop):
    """What the page exists for: answered with a plain redirect, the same submit never leaves our page."""
    fake = start("koreacheckout", monkeypatch)
    try:
        merchant = merchant_on("koreacheckout", fake, db, receiver)
        monkeypatch.setattr(pages, "to_provider", lambda url, *args: Redirect(url))
        checkout = new_checkout(live_server, merchant, shop, "koreacheckout")
        browsing.open(checkout["url"])
        fill_and_pay(browsing.page, "koreacheckout")
        browsing.page.wait_for_timeout(1500)
        assert not browsing.page.url.startswith(fake.page_base)
        assert [v["directive"] for v in browsing.recorder.csp_violations] == ["form-action"]
    finally:
        fake.close()
