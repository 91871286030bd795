"""Every page state a shopper can meet, in Chromium at phone and desktop size: what it says,
zero axe-core WCAG 2.1 A/AA violations, no console errors or CSP violations, only inventoried
scripts, and a screenshot of each under artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest
import requests

from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.providers import sandbox
from chalicelib.domain import clock
from tests.browser.conftest import sandbox_over_http, submit_over_http

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def http_status(*codes: int):
    """Chromium logs a document's error status as a console error; for an error page that is the point."""
    pattern = re.compile(r"the server responded with a status of (" + "|".join(map(str, codes)) + ")")
    return lambda text: bool(pattern.search(text))


def test_the_checkout_form_in_korean(browsing, new_checkout):
    checkout = new_checkout()
    response = browsing.open(checkout["url"])
    page = browsing.page
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "결제하기"
    assert page.locator("[data-pay]").inner_text() == "₩22,000 결제하기"
    assert page.locator("text=주문 내용을 확인하였으며, 결제에 동의합니다").is_visible()
    assert page.locator("[data-postcode-search]").inner_text() == "주소 검색"
    assert page.locator("input[name=payment_method]").count() >= 2
    browsing.check_state("form")
    browsing.assert_clean()


def test_the_checkout_form_in_english_with_dollars(browsing, new_checkout):
    checkout = new_checkout(line_items=[{"name": "Tea sampler", "unit_amount": 1999, "quantity": 1}],
                            currency="USD", locale="en", collect_shipping_address=False,
                            payment_method_types=["card", "cash_app"])
    browsing.open(checkout["url"])
    page = browsing.page
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("[data-pay]").inner_text() == "Pay $19.99"
    assert page.locator("[data-total]").inner_text() == "$19.99"
    assert page.locator("[data-address]").count() == 0
    browsing.check_state("form-en")
    # The language switch keeps the shopper on the same checkout.
    page.click("a.lang")
    assert page.url == f"{checkout['url']}?lang=ko"
    assert page.locator("[data-pay]").inner_text() == "$19.99 결제하기"
    browsing.assert_clean()


def test_the_form_with_errors_from_the_server(browsing, new_checkout):
    checkout = new_checkout()
    page = browsing.page
    browsing.open(checkout["url"])
    page.fill("#f-phone", "12-34")
    page.fill("#f-postal_code", "06236")
    page.fill("#f-address1", "서울 강남구 테헤란로 152")
    page.fill("#f-address2", "10층")
    page.check("#f-agree")
    with page.expect_navigation() as navigation:
        page.click("[data-pay]")
    assert navigation.value.status == 422
    assert page.evaluate("document.activeElement.id") == "error-summary"
    browsing.check_state("form-errors")
    browsing.assert_clean(allow_console=http_status(422))


def test_the_provider_did_not_respond(browsing, new_checkout, monkeypatch):
    def unavailable(self, request):
        raise pb.ProviderError("timeout")

    monkeypatch.setattr(sandbox.Adapter, "create_session", unavailable)
    checkout = new_checkout(locale="en")
    page = browsing.page
    browsing.open(checkout["url"])
    page.fill("#f-phone", "010-1234-5678")
    page.fill("#f-postal_code", "06236")
    page.fill("#f-address1", "서울 강남구 테헤란로 152")
    page.fill("#f-address2", "10층")
    page.check("#f-agree")
    with page.expect_navigation() as navigation:
        page.click("[data-pay]")
    assert navigation.value.status == 502
    assert page.locator("[data-notice=provider_error]").inner_text() == (
        "The payment provider did not respond. Nothing was charged. Please try again.")
    assert page.locator("#f-address2").input_value() == "10층"
    browsing.check_state("provider-error")
    browsing.assert_clean(allow_console=http_status(502))


def test_paid(browsing, new_checkout, shop):
    checkout = new_checkout()
    at_sandbox = submit_over_http(checkout["url"])
    assert sandbox_over_http(at_sandbox.url, "approve").url.startswith(shop.url)
    browsing.open(checkout["url"])
    page = browsing.page
    assert page.locator("h1").inner_text() == "결제가 완료되었습니다"
    assert page.locator("[data-continue]").get_attribute("href") == f"{shop.url}/thanks?c={checkout['id']}"
    browsing.check_state("paid")
    browsing.assert_clean()


def test_expired(browsing, new_checkout, monkeypatch):
    checkout = new_checkout()
    later = clock.now_s() + 8 * 86400
    monkeypatch.setattr(clock, "now_s", lambda: later)
    browsing.open(checkout["url"])
    assert browsing.page.locator("h1").inner_text() == "결제 시간이 만료되었습니다"
    browsing.check_state("expired")
    browsing.assert_clean()


def test_cancelled(browsing, new_checkout, live_server, merchant, shop):
    checkout = new_checkout()
    cancelled = requests.post(f"{live_server.url}/api/checkouts/{checkout['id']}/cancel", headers=merchant.headers, timeout=10)
    assert cancelled.status_code == 200, cancelled.text
    browsing.open(checkout["url"])
    page = browsing.page
    assert page.locator("h1").inner_text() == "취소된 결제입니다"
    assert page.locator("a.button").get_attribute("href") == f"{shop.url}/cart"
    browsing.check_state("cancelled")
    browsing.assert_clean()


def test_not_found(browsing, live_server, db):
    response = browsing.open(f"{live_server.url}/c/chk_0000000000000000000000")
    assert response.status == 404
    assert browsing.page.locator("h1").inner_text() == "페이지를 찾을 수 없습니다"
    browsing.check_state("not-found")
    browsing.assert_clean(allow_console=http_status(404))


def test_waiting_for_a_deposit(browsing, new_checkout):
    checkout = new_checkout(payment_method_types=["virtual_account"])
    at_sandbox = submit_over_http(checkout["url"], payment_method="virtual_account", bank="신한은행")
    waiting = sandbox_over_http(at_sandbox.url, "pay_later")
    assert waiting.url == checkout["url"]
    browsing.open(checkout["url"])
    page = browsing.page
    assert page.locator("h1").inner_text() == "입금을 기다리고 있습니다"
    assert page.locator("[data-account-amount]").inner_text() == "22,000원"
    browsing.check_state("waiting")
    browsing.assert_clean()


def test_confirming_with_the_provider(browsing, new_checkout):
    checkout = new_checkout()
    submit_over_http(checkout["url"])
    browsing.open(checkout["url"])
    assert browsing.page.locator("h1").inner_text() == "결제를 확인하고 있습니다"
    browsing.check_state("confirming")
    browsing.assert_clean()


def test_the_sandbox_page(browsing, new_checkout):
    checkout = new_checkout()
    at_sandbox = submit_over_http(checkout["url"])
    browsing.open(at_sandbox.url)
    assert browsing.page.locator("h1").inner_text() == "Pay ₩22,000"
    browsing.check_state("sandbox")
    browsing.assert_clean()
