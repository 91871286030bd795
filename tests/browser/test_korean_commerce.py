"""What a Korean shop legally needs, in Chromium at 390×844 and desktop, in Korean and English:
the seller footer with every field of a complete profile, the withdrawal and privacy notices
before the pay button, ``agree`` unticked, axe clean on the form, the error page and the
waiting page (screenshots under artifacts/screenshots/), and the waiting page moving on by
itself when the deposit lands."""
from __future__ import annotations

import pytest
import requests

from chalicelib.entrypoints.admin import DEMO_BUSINESS
from tests.browser.test_page_states import http_status
from tests.conftest import create_merchant

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SHOWN = {
    "name": "데모 상점 주식회사", "representative": "홍길동", "address": "서울특별시 강남구 테헤란로 152, 10층",
    "phone": "02-1234-5678", "email": "help@example.com", "registration_number": "123-45-67891",
    "mail_order_number": "제2026-서울강남-0001호", "mail_order_office": "서울특별시 강남구청",
    "hosting_provider": "Amazon Web Services, Inc.", "refund_policy": "상품 수령 후 7일 이내 교환·반품 가능",
}
TEXT = {
    "ko": {"withdrawal": "청약철회·교환·반품 안내", "privacy": "개인정보 수집·이용 안내", "fee": "3,000원",
           "agree": "주문 내용을 확인하였으며, 결제에 동의합니다", "seller": "사업자 정보"},
    "en": {"withdrawal": "Withdrawal, exchanges and returns", "privacy": "How we use your personal data",
           "fee": "₩3,000", "agree": "I have checked the order and agree to pay", "seller": "Seller information"},
}


@pytest.fixture
def seller(db, receiver):
    return create_merchant(db, receiver.url, business_profile=dict(DEMO_BUSINESS))


def before(page, first: str, second: str) -> bool:
    """``first`` comes before ``second`` in the document."""
    return page.evaluate(
        "([a, b]) => !!(document.querySelector(a).compareDocumentPosition(document.querySelector(b))"
        " & Node.DOCUMENT_POSITION_FOLLOWING)", [first, second])


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_form_shows_the_seller_the_notices_and_an_unticked_confirmation(
    browsing_factory, live_server, new_checkout, seller, viewport, locale
):
    b = browsing_factory(viewport, origin=live_server.url)
    checkout = new_checkout(seller, locale=locale)
    b.open(checkout["url"])
    page, text = b.page, TEXT[locale]

    assert not page.locator("#f-agree").is_checked(), "the order confirmation is never pre-ticked"
    assert not page.locator("#f-marketing_opt_in").is_checked()
    assert page.locator("label[for=f-agree]").inner_text() == text["agree"]
    for notice, title in (("[data-withdrawal]", text["withdrawal"]), ("[data-privacy]", text["privacy"])):
        assert page.locator(f"{notice} h2").inner_text() == title
        assert page.locator(notice).is_visible()
        assert before(page, notice, "[data-pay]"), f"{notice} must come before the pay button"
    assert ("7일" if locale == "ko" else "7 days") in page.locator("[data-withdrawal] > p").inner_text()

    footer = page.locator("footer.seller")
    if viewport == "phone":
        # A disclosure on phones: closed until the shopper opens it.
        assert not footer.locator("[data-seller=name]").is_visible()
        footer.locator("summary").click()
    else:
        assert not footer.locator("summary").is_visible()
    assert footer.locator("summary").inner_text().startswith(text["seller"]) or viewport == "desktop"
    for key, value in SHOWN.items():
        cell = footer.locator(f"dd[data-seller={key}]")
        assert cell.is_visible(), key
        assert value in cell.inner_text(), key
    assert footer.locator("[data-seller=return_shipping_fee]").inner_text() == text["fee"]
    assert footer.locator("[data-seller=ftc]").get_attribute("href") == \
        "https://www.ftc.go.kr/bizCommPop.do?wrkr_no=1234567891"
    assert footer.locator("[data-seller=terms_url]").is_visible()

    b.assert_accessible(f"korean-form-{locale}")
    b.screenshot(f"korean-form-{locale}")
    b.assert_clean()


def test_recipient_fields_open_when_the_same_as_orderer_box_is_unticked(browsing, new_checkout, seller):
    browsing.open(new_checkout(seller)["url"])
    page = browsing.page
    assert page.locator("#f-recipient_same").is_checked()
    assert page.locator("#f-recipient_name").is_hidden()
    page.uncheck("#f-recipient_same")
    assert page.locator("#f-recipient_name").is_visible() and page.locator("#f-recipient_phone").is_visible()
    assert page.locator("[data-cash-only]").count() == 1 and page.locator("[data-cash-only]").is_hidden()
    page.check("text=계좌이체")
    assert page.locator("#f-cash_receipt").is_visible()
    browsing.check_state("korean-recipient")
    browsing.assert_clean()


def test_the_error_page_keeps_the_seller_and_is_accessible(browsing, new_checkout, seller):
    browsing.open(new_checkout(seller)["url"])
    page = browsing.page
    # A stale form (its CSRF token no longer valid), sent without the script's checks.
    page.evaluate("""() => { const f = document.querySelector('[data-checkout-form]');
        f.querySelector('[name=csrf_token]').value = 'stale'; f.submit(); }""")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "페이지가 만료되었습니다"
    assert page.locator("footer.seller [data-seller=ftc]").count() == 1
    browsing.check_state("korean-error")
    browsing.assert_clean(allow_console=http_status(403))


def test_the_waiting_page_shows_every_field_and_completes_by_itself(browsing, live_server, shop, new_checkout, seller):
    checkout = new_checkout(seller, payment_method_types=["virtual_account"], collect_shipping_address=False)
    page = browsing.page
    browsing.open(checkout["url"])
    page.fill("#f-phone", "010-1234-5678")
    page.select_option("#f-cash_receipt", "income_deduction")
    page.fill("#f-cash_receipt_id", "010-1234-5678")
    page.check("#f-agree")
    page.click("[data-pay]")
    page.wait_for_url(f"{live_server.url}/sandbox/**")
    sandbox_url = page.url
    assert "income_deduction for 01012345678" in page.locator("[data-sandbox-cash-receipt]").inner_text()
    page.click("text=Pay later by virtual account")
    page.wait_for_url(checkout["url"])

    assert page.locator("[data-account-bank]").inner_text() == "KDB산업은행"
    number = page.locator("[data-account-number]").inner_text()
    assert number.isdigit() and len(number) == 14
    assert page.locator("[data-account-holder]").inner_text() == "샌드박스페이"
    assert page.locator("[data-account-amount]").inner_text() == "22,000원"
    assert "(한국 시간)" in page.locator("[data-account-deadline] time").inner_text()
    assert page.locator("[data-time-left]").inner_text().startswith("남은 시간:")
    assert "입금자명이 주문자와 달라도 됩니다" in page.locator("[data-depositor-note]").inner_text()
    # The number is selectable text; with the Clipboard API the script adds a copy button.
    assert page.evaluate("getComputedStyle(document.querySelector('.account-number')).userSelect") == "all"
    assert page.locator("[data-copy]").is_visible()
    browsing.check_state("korean-waiting")
    browsing.set_viewport("phone")

    bank = browsing.context.new_page()
    bank.goto(sandbox_url)
    bank.click("text=Simulate the deposit")
    bank.wait_for_selector("text=Deposit received")
    bank.close()
    page.wait_for_url(f"{shop.url}/thanks?c={checkout['id']}", timeout=15_000)
    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=seller.headers, timeout=10).json()
    assert read["status"] == "complete"
    assert read["cash_receipt"] == {"type": "income_deduction", "id": "01012345678", "sent_to_provider": True,
                                    "issue_required": False}
    browsing.assert_clean()


def test_the_first_load_with_a_complete_profile_fits_the_budget(browser, new_checkout, seller):
    from bench import page_weight

    result = page_weight.measure(browser, new_checkout(seller)["url"])
    assert result["third_party_requests"] == 0
    assert result["first_party_requests"] <= 5
    assert result["first_party_bytes"] <= 30 * 1024, result
