"""The code field on the hosted page, over plain form posts (as without JavaScript): applied and
removed on the server, the discount as its own line, a specific message (ko and en) for each
refused code, and a code that ran out between the page and the submit refused at submit while
the checkout stays payable without it."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode

import pytest

from chalicelib.domain import clock
from tests.conftest import api_json
from tests.usecases.test_promotions_api import (
    FORM,
    SHOPPER,
    code_at,
    csrf_of,
    new_checkout,
    new_code,
    pay,
    post_form,
    read,
)


def html(response) -> str:
    return unescape(response.body.decode())


def apply(client, checkout_id: str, code: str, lang: str | None = None, **fields):
    extra = {"lang": lang} if lang else {}
    return post_form(client, checkout_id, promo_action="apply", promotion_code=code, **extra, **fields)


def text_of(page: str, selector_id: str) -> str:
    match = re.search(rf'id="{selector_id}"[^>]*>([^<]*)<', page)
    assert match, f"no #{selector_id}"
    return match.group(1).strip()


def test_the_code_field_is_there_only_when_the_checkout_allows_codes(client, merchant):
    plain = client.http.get(f"/c/{new_checkout(client, merchant)['id']}").body.decode()
    plain = re.sub(r"<script\b[^>]*>.*?</script>", "", plain, flags=re.S)  # the script names the field too
    assert "data-promo-form" not in plain and "promotion_code" not in plain
    allowed = client.http.get(f"/c/{new_checkout(client, merchant, allow_promotion_codes=True)['id']}").body.decode()
    form = re.search(r"<form class=\"promo[^>]*>.*?</form>", allowed, re.S).group(0)
    assert 'name="csrf_token"' in form and 'name="promotion_code"' in form
    assert 'name="promo_action" value="apply"' in form
    # Outside the main form: Enter in a shopper field still pays, Enter in the code field applies it.
    assert allowed.index("data-promo-form") < allowed.index("data-checkout-form")


def test_a_pre_applied_code_shows_without_a_field_but_can_be_removed(client, merchant):
    new_code(client, merchant)
    page = client.http.get(f"/c/{new_checkout(client, merchant, promotion_code='WELCOME10')['id']}").body.decode()
    assert 'name="promotion_code"' not in page
    assert 'value="remove"' in page and "할인 코드 WELCOME10 적용됨" in page


def test_a_code_is_applied_on_the_server_and_shown_as_its_own_line(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    response = apply(client, checkout["id"], " welcome10 ", name="김철수", phone="010-9876-5432")
    page = html(response)
    assert response.status_code == 200
    assert text_of(page, "summary-title") == "주문 내역"
    assert re.search(r"<dt>상품 금액</dt><dd data-subtotal>22,000원</dd>", page)
    assert re.search(r"<dt>할인 \(WELCOME10\)</dt><dd data-discount>−2,200원</dd>", page)
    assert "<strong data-total>19,800원</strong>" in page
    assert "₩19,800 결제하기" in page
    assert "할인 코드가 적용되었습니다." in page
    # What the shopper typed is kept, in the main form and in the code form's carried fields.
    assert 'id="f-name" name="name" type="text" value="김철수"' in page
    assert page.count('value="010-9876-5432"') == 2
    assert read(client, merchant, checkout["id"])["amount_total"] == 19800


def test_the_discount_is_never_taken_from_the_form(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    apply(client, checkout["id"], "WELCOME10", amount_discount="22000", amount_total="1")
    assert read(client, merchant, checkout["id"])["amount_total"] == 19800


def test_a_code_is_removed_and_the_full_price_is_back(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    apply(client, checkout["id"], "WELCOME10")
    response = post_form(client, checkout["id"], promo_action="remove")
    page = html(response)
    assert response.status_code == 200 and "할인 코드를 삭제했습니다." in page
    assert "data-discount" not in page and "<strong data-total>22,000원</strong>" in page
    assert read(client, merchant, checkout["id"])["promotion_code"] is None


def test_the_code_form_needs_the_csrf_token(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    response = client.http.post(f"/c/{checkout['id']}", headers=FORM,
                                body=urlencode({"promo_action": "apply", "promotion_code": "WELCOME10", "csrf_token": "1.x"}))
    assert response.status_code == 403
    assert read(client, merchant, checkout["id"])["promotion_code"] is None


def minimum_code(client, merchant):
    new_code(client, merchant, minimum_order_amount=30000, currency="KRW")


UNUSABLE_KO = "사용할 수 없는 할인 코드입니다. 코드를 다시 확인해 주세요."
UNUSABLE_EN = "This code can't be used. Please check it and try again."

REASONS = [
    # (what the merchant set up, the code typed, the Korean message, the English message)
    # Unknown, expired, not yet valid and inactive codes share one answer: the page must not tell a
    # guesser which codes exist (tests/web/test_promotion_enumeration.py).
    (lambda c, m: new_code(c, m), "NO-SUCH-CODE", UNUSABLE_KO, UNUSABLE_EN),
    (lambda c, m: new_code(c, m, valid_from=code_at(-10), valid_until=code_at(-1)), "WELCOME10", UNUSABLE_KO, UNUSABLE_EN),
    (lambda c, m: new_code(c, m, valid_from=code_at(1)), "WELCOME10", UNUSABLE_KO, UNUSABLE_EN),
    (lambda c, m: new_code(c, m, active=False), "WELCOME10", UNUSABLE_KO, UNUSABLE_EN),
    (minimum_code, "WELCOME10", "주문 금액이 30,000원 이상일 때 사용할 수 있는 할인 코드입니다.",
     "This code needs an order of at least ₩30,000."),
    (lambda c, m: new_code(c, m, type="fixed_amount", value=500, currency="USD"), "WELCOME10",
     "이 주문의 통화로는 사용할 수 없는 할인 코드입니다.", "This code is for orders in another currency."),
    (lambda c, m: new_code(c, m, type="free_shipping", value=None), "WELCOME10",
     "이 주문의 상품에는 적용되지 않는 할인 코드입니다.", "This code doesn't apply to anything in this order."),
    (lambda c, m: new_code(c, m, value=100), "WELCOME10",
     "결제할 금액이 남지 않아 이 할인 코드는 사용할 수 없습니다.", "This code would leave nothing to pay, so it can't be used here."),
    (lambda c, m: None, "", "필수 입력 항목입니다.", "This field is required."),
]


@pytest.mark.parametrize("setup,typed,ko,en", REASONS)
def test_each_refused_code_has_its_message_in_korean_and_english(client, merchant, setup, typed, ko, en):
    setup(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    for lang, message in (("ko", ko), ("en", en)):
        response = apply(client, checkout["id"], typed, lang=lang)
        page = html(response)
        assert response.status_code == 422
        assert text_of(page, "e-promotion_code") == message
        label = "할인 코드" if lang == "ko" else "Promotion code"
        assert f'<a href="#f-promotion_code">{label}: {message}</a>' in page, "in the error summary too"
        assert 'aria-invalid="true" aria-describedby="e-promotion_code"' in page
        assert f'value="{typed}"' in page, "the typed code stays in the field"
    assert read(client, merchant, checkout["id"])["amount_discount"] == 0


def test_an_exhausted_code_and_a_customer_over_their_limit_are_told_so(client, merchant):
    new_code(client, merchant, code="ONCE", usage_limit=1)
    new_code(client, merchant, code="MINE", usage_limit_per_customer=1)
    first = new_checkout(client, merchant, promotion_code="ONCE")
    assert pay(client, first["id"]).status_code == 303
    mine = new_checkout(client, merchant, promotion_code="MINE")
    assert pay(client, mine["id"]).status_code == 303
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    page = html(apply(client, checkout["id"], "once"))
    assert text_of(page, "e-promotion_code") == "사용 가능 횟수가 모두 소진된 할인 코드입니다."
    page = html(apply(client, checkout["id"], "once", lang="en"))
    assert text_of(page, "e-promotion_code") == "This code has been used as many times as it allows."
    page = html(apply(client, checkout["id"], "MINE", email=SHOPPER["email"]))
    assert text_of(page, "e-promotion_code") == "이 할인 코드를 사용할 수 있는 횟수를 이미 모두 사용하셨습니다."
    page = html(apply(client, checkout["id"], "MINE", lang="en", email=SHOPPER["email"]))
    assert text_of(page, "e-promotion_code") == "You have already used this code as many times as it allows."
    assert read(client, merchant, checkout["id"])["promotion_code"] is None


def test_a_checkout_that_does_not_take_codes_refuses_one_from_a_crafted_post(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant)
    response = apply(client, checkout["id"], "WELCOME10")
    assert response.status_code == 422
    assert "할인 코드: 이 결제에서는 할인 코드를 사용할 수 없습니다." in html(response)
    assert read(client, merchant, checkout["id"])["promotion_code"] is None


def test_a_code_used_up_between_the_page_and_the_submit_is_refused_at_submit(client, merchant, receiver):
    """Two shoppers hold the last use on their pages; the first pays, the second is told at submit,
    is charged nothing, and can take the code off and pay the full price."""
    new_code(client, merchant, usage_limit=1)
    first = new_checkout(client, merchant, allow_promotion_codes=True)
    second = new_checkout(client, merchant, allow_promotion_codes=True)
    assert apply(client, first["id"], "WELCOME10").status_code == 200
    assert apply(client, second["id"], "WELCOME10").status_code == 200
    assert pay(client, first["id"]).status_code == 303

    refused = pay(client, second["id"])
    page = html(refused)
    assert refused.status_code == 422
    assert text_of(page, "e-promotion_code") == "사용 가능 횟수가 모두 소진된 할인 코드입니다."
    assert "코드를 삭제하면 할인 없이 결제할 수 있습니다." in page
    assert '<a href="#f-promotion_code">할인 코드: 사용 가능 횟수가 모두 소진된 할인 코드입니다.</a>' in page
    assert 'id="f-promotion_code" name="promo_action" value="remove"' in page
    assert 'value="서울 강남구 테헤란로 152"' in page, "the shopper's details are kept"
    after = read(client, merchant, second["id"])
    assert (after["status"], after["promotion_code"], after["payment"]) == ("open", "WELCOME10", None)

    assert post_form(client, second["id"], promo_action="remove").status_code == 200
    assert pay(client, second["id"]).status_code == 303
    done = read(client, merchant, second["id"])
    assert (done["status"], done["amount_total"], done["payment"]["amount"]) == ("complete", 22000, 22000)
    listed = api_json(client.http.get("/api/promotion-codes/WELCOME10", headers=merchant.headers))
    assert (listed["times_redeemed"], listed["reserved"]) == (1, 0)


def test_a_code_turned_off_between_the_page_and_the_submit_is_refused_at_submit(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    apply(client, checkout["id"], "WELCOME10")
    client.http.post("/api/promotion-codes/WELCOME10", headers=merchant.headers, body='{"active": false}')
    refused = pay(client, checkout["id"])
    assert refused.status_code == 422
    assert text_of(html(refused), "e-promotion_code") == "사용이 중지된 할인 코드입니다."


def test_a_code_that_ended_between_the_page_and_the_submit_is_refused_at_submit(client, merchant, monkeypatch):
    new_code(client, merchant, valid_until=code_at(1))
    checkout = new_checkout(client, merchant, allow_promotion_codes=True, expires_in=604800)
    apply(client, checkout["id"], "WELCOME10")
    later = clock.now_s() + 2 * 86400
    monkeypatch.setattr(clock, "now_s", lambda: later)
    refused = pay(client, checkout["id"])
    assert refused.status_code == 422
    assert text_of(html(refused), "e-promotion_code") == "사용 기간이 끝난 할인 코드입니다."


def test_a_code_cannot_be_applied_while_the_shopper_is_at_the_provider(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    page = client.http.get(f"/c/{checkout['id']}").body.decode()
    token = csrf_of(page)
    submitted = client.http.post(f"/c/{checkout['id']}", headers=FORM, body=urlencode({**SHOPPER, "csrf_token": token}))
    assert submitted.status_code == 303
    late = client.http.post(f"/c/{checkout['id']}", headers=FORM,
                            body=urlencode({"csrf_token": token, "promo_action": "apply", "promotion_code": "WELCOME10"}))
    assert late.status_code == 303 and late.headers["Location"].endswith(f"/c/{checkout['id']}")
    assert read(client, merchant, checkout["id"])["promotion_code"] is None
