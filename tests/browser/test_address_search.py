"""Daum/Kakao Postcode on the checkout page, with a stand-in served at the real script URLs so
the page's own integration code runs: loaded on demand, both namespaces, and a page that
still works when the script cannot be loaded."""
from __future__ import annotations

import pytest

from tests.browser.conftest import DAUM_URL, KAKAO_URL, serve_postcode

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def refused(text: str) -> bool:
    """The console line Chromium writes for a script load the test refused on purpose."""
    return "net::ERR_FAILED" in text


@pytest.mark.parametrize(("served", "expected_requests"), [
    ("kakao", [KAKAO_URL]),
    ("daum", [KAKAO_URL, DAUM_URL]),
])
def test_the_address_search_fills_the_address_and_moves_on_to_the_detail(
    served, expected_requests, browsing, new_checkout
):
    checkout = new_checkout()
    page = browsing.page
    asked = serve_postcode(page, served)
    browsing.open(checkout["url"])
    search = page.locator("[data-postcode-search]")
    assert search.is_visible()
    assert asked == []

    search.click()
    page.wait_for_selector(f"[data-standin={served}]")
    assert asked == expected_requests
    assert search.get_attribute("aria-expanded") == "true"
    calls = page.evaluate("window.__postcodeCalls")
    assert [c["ns"] for c in calls] == [served]
    # The search fills its box, and the box is tall enough that Kakao's logo at its foot shows.
    frame = page.locator("[data-postcode-frame]").bounding_box()
    logo = page.locator("[data-standin-logo]")
    assert logo.is_visible()
    logo_box = logo.bounding_box()
    assert frame["height"] >= 400
    assert frame["y"] <= logo_box["y"] and logo_box["y"] + logo_box["height"] <= frame["y"] + frame["height"]
    browsing.set_viewport("phone")
    browsing.assert_accessible("address search open")
    browsing.screenshot(f"address-search-{served}")

    page.click("[data-standin-result]")
    assert page.locator("#f-postal_code").input_value() == "06236"
    assert page.locator("#f-address1").input_value() == "서울 강남구 테헤란로 152"
    assert page.locator("#f-address_jibun").input_value() == "서울 강남구 역삼동 737"
    assert page.evaluate("document.activeElement.id") == "f-address2"
    assert page.locator("[data-postcode-layer]").is_hidden()
    assert search.get_attribute("aria-expanded") == "false"
    browsing.assert_clean(allow_console=refused if served == "daum" else lambda text: False)


def test_closing_the_search_returns_to_the_button(browsing, new_checkout):
    checkout = new_checkout()
    page = browsing.page
    serve_postcode(page, "kakao")
    browsing.open(checkout["url"])
    page.click("[data-postcode-search]")
    page.wait_for_selector("[data-standin]")
    page.click("[data-postcode-close]")
    assert page.locator("[data-postcode-layer]").is_hidden()
    assert page.locator("[data-standin]").count() == 0
    assert page.evaluate("document.activeElement.hasAttribute('data-postcode-search')")
    browsing.assert_clean()


def test_when_the_script_cannot_load_the_page_says_so_and_the_address_can_be_typed(
    browsing, new_checkout, live_server
):
    checkout = new_checkout()
    page = browsing.page
    asked: list[str] = []

    def refuse(route) -> None:
        asked.append(route.request.url)
        route.abort()

    page.route(KAKAO_URL, refuse)
    page.route(DAUM_URL, refuse)
    browsing.open(checkout["url"])
    page.click("[data-postcode-search]")
    failed = page.locator("[data-postcode-failed]")
    failed.wait_for(state="visible")
    assert failed.inner_text() == "주소 검색을 불러오지 못했습니다. 주소를 직접 입력해 주세요."
    assert asked == [KAKAO_URL, DAUM_URL]
    assert page.evaluate("document.activeElement.id") == "f-postal_code"
    assert page.locator("[data-postcode-layer]").is_hidden()
    browsing.set_viewport("phone")
    browsing.assert_accessible("address search failed")
    browsing.screenshot("address-search-failed")

    page.keyboard.type("06236")
    page.fill("#f-address1", "서울 강남구 테헤란로 152")
    page.fill("#f-address2", "10층")
    page.fill("#f-phone", "+82 10 1234 5678")
    page.check("#f-agree")
    page.click("[data-pay]")
    page.wait_for_url(f"{live_server.url}/sandbox/**")
    browsing.assert_clean(allow_console=refused)
