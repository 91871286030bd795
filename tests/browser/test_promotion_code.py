"""A promotion code on the hosted page, in Chromium: refused with its own message, applied on the
server, shown as its own line, paid at the discounted total through the sandbox — and the merchant's
webhook carries the discount. Without JavaScript the code form works as a plain POST; with it, what
the shopper typed in the main form goes along. The page stays accessible and within its weight."""
from __future__ import annotations

import json

import pytest
import requests

from bench import page_weight

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADDRESS = {"#f-postal_code": "06236", "#f-address1": "서울 강남구 테헤란로 152", "#f-address2": "10층 1001호"}


def unprocessable(text: str) -> bool:
    return "the server responded with a status of 422" in text


def create_code(live_server, merchant, **fields) -> None:
    body = {"code": "WELCOME10", "type": "percentage", "value": 10, **fields}
    response = requests.post(f"{live_server.url}/api/promotion-codes", data=json.dumps(body), headers=merchant.headers, timeout=10)
    assert response.status_code == 201, response.text


def apply(page, code: str) -> int:
    page.fill("#f-promotion_code", code)
    with page.expect_navigation() as navigation:
        page.click("button[value=apply]")
    status: int = navigation.value.status
    return status


def test_a_shopper_applies_a_code_and_pays_the_discounted_total(browsing, live_server, merchant, receiver, shop, new_checkout):
    create_code(live_server, merchant, usage_limit=100)
    checkout = new_checkout(allow_promotion_codes=True)
    page = browsing.page
    browsing.open(checkout["url"])
    assert page.locator("[data-pay]").inner_text() == "₩22,000 결제하기"
    page.fill("#f-phone", "010-1234-5678")
    for selector, text in ADDRESS.items():
        page.fill(selector, text)

    # A code that does not exist: its own message, on the field and in the summary; nothing typed is lost.
    assert apply(page, "WELCOME1") == 422
    assert page.locator("#e-promotion_code").inner_text() == "사용할 수 없는 할인 코드입니다. 코드를 다시 확인해 주세요."
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#error-summary li").all_inner_texts() == ["할인 코드: 사용할 수 없는 할인 코드입니다. 코드를 다시 확인해 주세요."]
    assert page.locator("#f-promotion_code").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-phone").input_value() == "010-1234-5678"
    browsing.check_state("promotion-code-refused")

    # The right code, in lower case: applied on the server, its own line in the summary.
    assert apply(page, "welcome10") == 200
    assert page.locator("[data-notice]").inner_text() == "할인 코드가 적용되었습니다."
    assert page.locator("[data-subtotal]").inner_text() == "22,000원"
    assert page.locator("[data-discount]").inner_text() == "−2,200원"
    assert page.locator(".sums dt").all_inner_texts() == ["상품 금액", "할인 (WELCOME10)"]
    assert page.locator("[data-total]").inner_text() == "19,800원"
    assert page.locator("[data-pay]").inner_text() == "₩19,800 결제하기"
    assert page.locator(".applied").inner_text() == "할인 코드 WELCOME10 적용됨"
    for selector, text in {"#f-phone": "010-1234-5678", "#f-name": "홍길동", **ADDRESS}.items():
        assert page.locator(selector).input_value() == text, selector
    browsing.check_state("promotion-code-applied")

    page.check("#f-agree")
    page.click("[data-pay]")
    page.wait_for_url(f"{live_server.url}/sandbox/**")
    assert page.locator("h1").inner_text() == "Pay ₩19,800"
    page.click("button[value=approve]")
    page.wait_for_url(f"{shop.url}/thanks?c={checkout['id']}")

    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert (read["status"], read["payment"]["amount"], read["amount_total"]) == ("complete", 19800, 19800)
    [event] = [e for e in receiver.verified(merchant.webhook_secret) if e["type"] == "checkout.completed"]
    assert {k: event["data"][k] for k in ("amount_subtotal", "amount_discount", "amount_total", "promotion_code")} == {
        "amount_subtotal": 22000, "amount_discount": 2200, "amount_total": 19800, "promotion_code": "WELCOME10"}
    code = requests.get(f"{live_server.url}/api/promotion-codes/WELCOME10", headers=merchant.headers, timeout=10).json()
    assert code["times_redeemed"] == 1
    browsing.assert_clean(allow_console=unprocessable)


def test_without_javascript_the_code_is_applied_removed_and_the_order_paid(
    browsing_factory, live_server, merchant, shop, new_checkout
):
    create_code(live_server, merchant, type="free_shipping", code="SHIPFREE", value=None)
    lines = [{"name": "유기농 녹차", "unit_amount": 19000, "quantity": 1},
             {"name": "배송비", "unit_amount": 3000, "quantity": 1, "shipping": True}]
    checkout = new_checkout(allow_promotion_codes=True, line_items=lines, locale="en")
    browsing = browsing_factory("phone", javascript=False, origin=live_server.url)
    page = browsing.page
    browsing.open(checkout["url"])

    assert apply(page, "shipfree") == 200
    assert page.locator("[data-discount]").inner_text() == "−₩3,000"
    # The line the merchant marks as shipping is its own line of the sums too (issue 17).
    assert page.locator(".sums dt").all_inner_texts() == ["Subtotal", "Discount (SHIPFREE)", "Shipping"]
    assert page.locator("[data-pay]").inner_text() == "Pay ₩19,000"
    assert page.locator("#f-email").input_value() == "gildong@example.com", "the prefilled details come back"
    with page.expect_navigation():
        page.click("#f-promotion_code")  # the applied code's Remove button
    assert page.locator("[data-pay]").inner_text() == "Pay ₩22,000"
    assert apply(page, "SHIPFREE") == 200

    page.fill("#f-phone", "010-1234-5678")
    for selector, text in ADDRESS.items():
        page.fill(selector, text)
    page.check("#f-agree")
    page.click("[data-pay]")
    page.wait_for_url(f"{live_server.url}/sandbox/**")
    assert page.locator("h1").inner_text() == "Pay ₩19,000"
    browsing.assert_clean()


def test_the_page_with_a_code_applied_stays_within_its_weight(browser, live_server, merchant, new_checkout):
    create_code(live_server, merchant)
    checkout = new_checkout(allow_promotion_codes=True, promotion_code="WELCOME10")
    result = page_weight.measure(browser, checkout["url"])
    assert result["third_party_requests"] == 0
    assert result["first_party_requests"] <= 5
    assert result["first_party_bytes"] <= 30 * 1024, result
