"""Mistakes in the form, in Chromium: the page's own checks first, the server's always, and
with or without JavaScript the shopper is told where, focus goes to the summary, and nothing
typed is lost."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def unprocessable(text: str) -> bool:
    return "the server responded with a status of 422" in text


def test_the_page_stops_an_incomplete_form_before_it_reaches_the_server(browsing, new_checkout):
    checkout = new_checkout()
    page = browsing.page
    browsing.open(checkout["url"])
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.fill("#f-name", "")
    page.fill("#f-email", "gildong@")
    page.fill("#f-postal_code", "0623")
    page.click("[data-pay]")

    summary = page.locator("#error-summary")
    summary.wait_for()
    assert posts == []
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert summary.locator("li").all_inner_texts() == [
        "이름: 필수 입력 항목입니다.",
        "이메일: 올바른 이메일 주소를 입력해 주세요.",
        "휴대폰 번호: 필수 입력 항목입니다.",
        "우편번호: 우편번호는 숫자 5자리입니다.",
        "도로명주소: 필수 입력 항목입니다.",
        "상세주소: 필수 입력 항목입니다.",
        "결제에 동의해 주세요.",
    ]
    name = page.locator("#f-name")
    assert name.get_attribute("aria-invalid") == "true"
    assert "e-name" in name.get_attribute("aria-describedby").split()
    assert page.locator("#e-name").inner_text() == "필수 입력 항목입니다."
    assert page.locator("#f-email").input_value() == "gildong@"
    browsing.set_viewport("phone")
    browsing.assert_accessible("client-side errors")
    browsing.screenshot("form-client-errors")

    # A link in the summary takes the shopper to the field; fixing it clears its message.
    summary.locator("a[href='#f-name']").click()
    assert page.evaluate("document.activeElement.id") == "f-name"
    page.fill("#f-name", "홍길동")
    page.locator("#f-name").dispatch_event("change")
    assert page.locator("#e-name").count() == 0
    assert page.locator("#f-name").get_attribute("aria-invalid") is None
    assert page.locator("#f-phone").get_attribute("aria-invalid") == "true"
    browsing.assert_clean()


def test_the_server_refuses_what_the_page_let_through_and_keeps_every_value(browsing, new_checkout):
    checkout = new_checkout(payment_method_types=["card", "virtual_account"])
    page = browsing.page
    browsing.open(checkout["url"])
    typed = {
        "#f-name": "김철수 <b>",
        "#f-email": "cheolsu@example.com",
        "#f-phone": "02-123",
        "#f-postal_code": "06236",
        "#f-address1": "서울 강남구 테헤란로 152",
        "#f-address_jibun": "서울 강남구 역삼동 737",
        "#f-address2": "\"10층\" & 1001호",
    }
    for selector, text in typed.items():
        page.fill(selector, text)
    page.check("text=가상계좌")
    page.select_option("#f-bank", "토스뱅크")
    page.check("#f-agree")
    with page.expect_navigation() as navigation:
        page.click("[data-pay]")

    assert navigation.value.status == 422
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#error-summary li").all_inner_texts() == [
        "휴대폰 번호: 휴대폰 번호를 010-1234-5678 또는 +82 형식으로 입력해 주세요."]
    phone = page.locator("#f-phone")
    assert phone.get_attribute("aria-invalid") == "true"
    assert phone.get_attribute("aria-describedby") == "e-phone h-phone"
    for selector, text in typed.items():
        assert page.locator(selector).input_value() == text
    assert page.locator("input[value=virtual_account]").is_checked()
    assert page.locator("#f-bank").input_value() == "토스뱅크"
    assert page.locator("[data-bank-field]").is_visible()
    assert page.locator("#f-agree").is_checked()
    browsing.assert_clean(allow_console=unprocessable)


def test_without_javascript_the_server_checks_the_form_alone(browsing_factory, live_server, new_checkout):
    checkout = new_checkout()
    browsing = browsing_factory("phone", javascript=False, origin=live_server.url)
    page = browsing.page
    browsing.open(checkout["url"])
    assert page.locator("[data-postcode-search]").is_hidden(), "the search needs the script; typing does not"
    page.fill("#f-name", "")
    page.fill("#f-address2", "10층")
    with page.expect_navigation() as navigation:
        page.click("[data-pay]")
    assert navigation.value.status == 422
    errors = page.locator("#error-summary li").all_inner_texts()
    assert errors == [
        "이름: 필수 입력 항목입니다.",
        "휴대폰 번호: 필수 입력 항목입니다.",
        "우편번호: 필수 입력 항목입니다.",
        "도로명주소: 필수 입력 항목입니다.",
        "결제에 동의해 주세요.",
    ]
    assert page.locator("#f-address2").input_value() == "10층"
    assert page.locator("#f-email").input_value() == "gildong@example.com"
    assert page.locator("[aria-invalid=true]").count() == 5
    browsing.assert_clean(allow_console=unprocessable)
