"""The shopper's whole journey in Chromium: the branded page, the address search, the sandbox,
and the merchant's success page; and the virtual account that completes by itself."""
from __future__ import annotations

import pytest
import requests

from tests.browser.conftest import serve_postcode
from tests.conftest import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LOGO_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">'
            '<rect width="32" height="32" rx="6" fill="#0F7B6C"/></svg>')


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_shopper_pays_through_the_sandbox_and_lands_on_the_merchant_success_page(
    viewport, browsing_factory, live_server, db, receiver, shop, new_checkout
):
    brand = create_merchant(db, receiver.url, name="초록 찻집 <Green Tea>", brand_color="#0f7b6c",
                            button_radius=14, logo_url="https://shop.example/logo.svg")
    checkout = new_checkout(brand)
    b = browsing_factory(viewport, origin=live_server.url)
    b.page.route("https://shop.example/logo.svg",
                 lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=LOGO_SVG))
    asked = serve_postcode(b.page)

    response = b.open(checkout["url"])
    page = b.page
    assert response.status == 200
    assert page.locator(".brand-name").inner_text() == "초록 찻집 <Green Tea>"
    assert page.locator(".brand-logo").evaluate("img => img.complete && img.naturalWidth") == 32
    pay = page.locator("[data-pay]")
    assert pay.inner_text() == "₩22,000 결제하기"
    assert page.locator("[data-total]").inner_text() == "22,000원"
    style = pay.evaluate("el => { const s = getComputedStyle(el); return [s.backgroundColor, s.borderTopLeftRadius, s.color]; }")
    assert style == ["rgb(15, 123, 108)", "14px", "rgb(255, 255, 255)"]
    assert asked == [], "the Postcode script must load only when the shopper asks for it"
    b.screenshot("branded-form")

    # Prefilled from the checkout's customer; the rest typed, the address found by search.
    assert page.locator("#f-name").input_value() == "홍길동"
    page.fill("#f-phone", "010-1234-5678")
    page.click("[data-postcode-search]")
    page.click("[data-standin-result]")
    assert page.locator("#f-postal_code").input_value() == "06236"
    assert page.locator("#f-address1").input_value() == "서울 강남구 테헤란로 152"
    assert page.evaluate("document.activeElement.id") == "f-address2"
    page.keyboard.type("10층 1001호")
    page.check("#f-agree")
    page.click("[data-pay]")

    page.wait_for_url(f"{live_server.url}/sandbox/**")
    assert page.locator("h1").inner_text() == "Pay ₩22,000"
    page.click("button[value=approve]")

    page.wait_for_url(f"{shop.url}/thanks?c={checkout['id']}")
    assert shop.visits == [f"/thanks?c={checkout['id']}"]
    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=brand.headers, timeout=10).json()
    assert read["status"] == "complete"
    assert read["payment"]["amount"] == 22000
    b.assert_clean()


def test_a_virtual_account_waiting_page_moves_on_by_itself_when_the_deposit_arrives(
    browsing, live_server, shop, new_checkout, merchant
):
    checkout = new_checkout(payment_method_types=["card", "virtual_account"], collect_shipping_address=False)
    page = browsing.page
    browsing.open(checkout["url"])
    page.fill("#f-phone", "010-1234-5678")
    assert page.locator("[data-bank-field]").is_hidden(), "the bank is asked only for a virtual account"
    page.check("text=가상계좌")
    page.select_option("#f-bank", "KB국민은행")
    page.check("#f-agree")
    page.click("[data-pay]")

    page.wait_for_url(f"{live_server.url}/sandbox/**")
    sandbox_url = page.url
    page.click("text=Pay later by virtual account")
    page.wait_for_url(checkout["url"])
    assert page.locator("h1").inner_text() == "입금을 기다리고 있습니다"
    assert page.locator("[data-account-bank]").inner_text() == "KDB산업은행"
    assert page.locator("[data-account-number]").inner_text().isdigit()
    assert page.locator("[data-account-amount]").inner_text() == "22,000원"
    assert "(한국 시간)" in page.locator("time").inner_text()

    # The bank's side, in another tab: the deposit arrives.
    bank = browsing.context.new_page()
    bank.goto(sandbox_url)
    bank.click("text=Simulate the deposit")
    bank.wait_for_selector("text=Deposit received")
    bank.close()

    # Nobody touches the waiting page: its script notices and goes on through the return route.
    page.wait_for_url(f"{shop.url}/thanks?c={checkout['id']}", timeout=15_000)
    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert read["status"] == "complete"
    browsing.assert_clean()
