"""What a Korean shop legally needs on the page, and what Korean shoppers expect (issue 17):
the business profile and its checks, the seller footer, the notices before paying, recipient
and delivery request (plain HTTP POSTs, no JavaScript), cash receipts, instalments, the
virtual-account waiting page, and none of the shipping details in the logs."""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

import pytest

from chalicelib.domain.errors import Unprocessable
from chalicelib.entrypoints.admin import DEMO_BUSINESS
from chalicelib.usecases import merchants
from tests.conftest import api_json, create_merchant
from tests.web.test_pages import FORM, GOOD, csrf_of, html, new_checkout, path_of, sandbox_act, submit

COMPLETE = dict(DEMO_BUSINESS)


@pytest.fixture
def seller(db, receiver):
    """A Korean merchant with a complete seller profile."""
    return create_merchant(db, receiver.url, business_profile=COMPLETE)


def pay(client, checkout, **fields):
    """Submit the form with ``fields`` and approve at the sandbox; the checkout as the API reads it."""
    sent = submit(client, checkout, **fields)
    assert sent.status_code == 303, html(sent)[:2000]
    sandbox_act(client, sent.headers["Location"], "approve")
    client.http.get(f"/c/{checkout['id']}/return")
    return sent


def read(client, handle, checkout):
    return api_json(client.http.get(f"/api/checkouts/{checkout['id']}", headers=handle.headers))


# --- the business profile ------------------------------------------------------------------

def test_checkout_create_carries_the_warning_for_an_incomplete_korean_profile(client, db, receiver, seller):
    bare = create_merchant(db, receiver.url)
    created = new_checkout(client, bare)
    assert created["warnings"][0]["code"] == "business_profile_incomplete"
    assert "mail_order_number" in created["warnings"][0]["missing"]
    assert "warnings" not in new_checkout(client, seller)
    # The page itself still works, with what there is.
    assert client.http.get(f"/c/{created['id']}").status_code == 200


def test_merchant_update_changes_the_profile_and_settings_and_returns_no_secrets(db, seller):
    updated = merchants.update(db, seller.id, {"brand_color": "#0f7b6c", "locale": None},
                               {"phone": "1588-0000", "refund_policy": ""})
    assert updated.brand_color == "#0F7B6C" and updated.business["phone"] == "1588-0000"
    assert "refund_policy" not in updated.business
    stored = merchants.get(db, seller.id, fresh=True)
    assert stored.business == updated.business and stored.api_key_hash == seller.merchant.api_key_hash
    view = stored.public_view()
    assert "api_key_hash" not in view and "webhook_secret_enc" not in view
    assert view["warnings"][0]["missing"] == ["refund_policy"]
    with pytest.raises(Unprocessable) as bad:
        merchants.update(db, seller.id, {}, {"registration_number": "111-11-11111"})
    assert bad.value.param == "registration_number"
    assert merchants.get(db, seller.id, fresh=True).business["registration_number"] == "1234567891"


# --- the page before paying -----------------------------------------------------------------

@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_footer_shows_every_business_field_and_the_ftc_link(client, seller, locale):
    page = html(client.http.get(f"/c/{new_checkout(client, seller, locale=locale)['id']}"))
    footer = page[page.index("<footer"):page.index("</footer>")]
    for key in ("name", "representative", "address", "phone", "email", "mail_order_number", "mail_order_office",
                "hosting_provider", "refund_policy"):
        assert f'data-seller="{key}">' in footer and COMPLETE[key] in footer, key
    assert "123-45-67891" in footer
    assert 'href="https://www.ftc.go.kr/bizCommPop.do?wrkr_no=1234567891"' in footer
    assert 'href="https://shop.example/terms"' in footer
    assert ("3,000원" if locale == "ko" else "₩3,000") in footer
    assert "<details>" in footer and "<summary>" in footer


def test_the_state_pages_carry_the_footer_too(client, seller):
    checkout = new_checkout(client, seller)
    client.http.post(f"/api/checkouts/{checkout['id']}/cancel", headers=seller.headers)
    assert "wrkr_no=1234567891" in html(client.http.get(f"/c/{checkout['id']}"))
    refused = client.http.post(f"/c/{new_checkout(client, seller)['id']}", headers=FORM, body="csrf_token=forged")
    assert refused.status_code == 403 and "wrkr_no=1234567891" in html(refused)


@pytest.mark.parametrize("locale, withdrawal, privacy, agree", [
    ("ko", "7일 이내에 청약철회", "개인정보 수집·이용 안내", "주문 내용을 확인하였으며, 결제에 동의합니다"),
    ("en", "within 7 days", "How we use your personal data", "I have checked the order and agree to pay"),
])
def test_withdrawal_and_privacy_notices_come_before_the_pay_button(client, seller, locale, withdrawal, privacy, agree):
    page = html(client.http.get(f"/c/{new_checkout(client, seller, locale=locale)['id']}"))
    pay = page.index("data-pay")
    assert page.index(withdrawal) < pay and page.index(privacy) < pay and page.index(agree) < pay
    assert page.index("data-return-fee") < pay
    assert "Sandbox" in page[page.index("data-privacy"):pay]
    assert re.search(r'<input id="f-agree" type="checkbox" name="agree" value="1" required>', page)
    assert re.search(r'<input id="f-marketing_opt_in" type="checkbox" name="marketing_opt_in" value="1">', page)
    # No 필수 consent boxes for contract data: agree (the order confirmation) is the only required box.
    assert len(re.findall(r'type="checkbox"[^>]*required', page)) == 1


def test_providers_abroad_are_named_with_their_country():
    from chalicelib.web import pages

    assert set(pages.TRANSFER_COUNTRIES) == {"clink", "payfect"}


def test_the_summary_shows_items_shipping_and_non_returnable_lines(client, seller):
    lines = [
        {"name": "녹차 세트", "unit_amount": 19000, "quantity": 2},
        {"name": "맞춤 각인 텀블러", "unit_amount": 12000, "quantity": 1, "non_returnable": True},
        {"name": "배송비", "unit_amount": 3000, "quantity": 1, "shipping": True},
    ]
    created = new_checkout(client, seller, line_items=lines)
    assert created["line_items"][1]["non_returnable"] is True and "non_returnable" not in created["line_items"][0]
    page = html(client.http.get(f"/c/{created['id']}"))
    summary = page[page.index('class="card summary"'):page.index("</section>")]
    assert summary.count("data-non-returnable") == 1 and "청약철회 불가 상품" in summary
    assert "수량 2" in summary and "data-shipping-fee>3,000원" in summary and "53,000원" in summary
    bad = client.http.post("/api/checkouts", headers=seller.headers, body=json.dumps(
        {"line_items": [{"name": "x", "unit_amount": 1000, "quantity": 1, "non_returnable": "yes"}],
         "currency": "KRW", "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no"}))
    assert bad.status_code == 400 and api_json(bad)["error"]["param"] == "line_items[0].non_returnable"


# --- recipient and delivery, without JavaScript -----------------------------------------------

def test_same_as_orderer_copies_the_orderer_and_the_preset_reaches_the_event(client, seller, receiver):
    checkout = new_checkout(client, seller)
    page = html(client.http.get(f"/c/{checkout['id']}"))
    assert 'name="recipient_same" value="1" aria-describedby="h-recipient_same" checked' in page
    pay(client, checkout, recipient_block="1", recipient_same="1", recipient_name="무시됨", delivery_request="door",
        entrance_code="#1234*", marketing_opt_in="1")
    shipped = read(client, seller, checkout)
    assert shipped["shipping"] == {
        "name": GOOD["name"], "phone": GOOD["phone"], "phone2": None, "postal_code": GOOD["postal_code"],
        "address1": GOOD["address1"], "address_jibun": GOOD["address_jibun"], "address2": GOOD["address2"],
        "request": "문 앞에 놓아주세요", "request_type": "door", "entrance_code": "#1234*",
    }
    assert shipped["marketing_opt_in"] is True
    events = receiver.verified(seller.webhook_secret)
    completed = [e for e in events if e["type"] == "checkout.completed"]
    assert completed[0]["data"]["shipping"] == shipped["shipping"]


def test_another_recipient_and_a_typed_request_round_trip_to_the_event(client, seller, receiver):
    checkout = new_checkout(client, seller)
    pay(client, checkout, recipient_block="1", recipient_name="김영희", recipient_phone="010-9876-5432",
        recipient_phone2="02-123-4567", delivery_request="custom", delivery_request_text="1층 무인택배함 옆에 놓아주세요")
    completed = [e for e in receiver.verified(seller.webhook_secret) if e["type"] == "checkout.completed"][0]
    shipping = completed["data"]["shipping"]
    assert (shipping["name"], shipping["phone"], shipping["phone2"]) == ("김영희", "010-9876-5432", "02-123-4567")
    assert shipping["request"] == "1층 무인택배함 옆에 놓아주세요" and shipping["request_type"] == "custom"
    assert completed["data"]["marketing_opt_in"] is False


@pytest.mark.parametrize("fields, field, message", [
    ({"recipient_block": "1"}, "recipient_name", "필수 입력 항목입니다."),
    ({"recipient_block": "1", "recipient_name": "김영희", "recipient_phone": "011-123-4567"}, "recipient_phone",
     "휴대폰 번호를"),
    ({"recipient_same": "1", "delivery_request": "custom"}, "delivery_request_text", "필수 입력 항목입니다."),
    ({"recipient_same": "1", "delivery_request": "custom", "delivery_request_text": "가" * 51}, "delivery_request_text",
     "입력이 너무 깁니다."),
    ({"recipient_same": "1", "delivery_request": "roof"}, "delivery_request", "목록에서 선택"),
])
def test_a_bad_recipient_or_request_is_refused_next_to_its_field(client, seller, fields, field, message):
    checkout = new_checkout(client, seller)
    refused = submit(client, checkout, **fields)
    assert refused.status_code == 422
    page = html(refused)
    assert re.search(rf'id="e-{field}">[^<]*{message}', page), page[page.find("error-summary"):][:600]
    assert read(client, seller, checkout)["status"] == "open"


def test_shipping_details_never_reach_the_logs(client, seller, caplog):
    secret_text = "비밀현관 4321#"
    with caplog.at_level(logging.DEBUG):
        pay(client, new_checkout(client, seller), recipient_block="1", recipient_name="로그에없음",
            recipient_phone="010-5555-4444", delivery_request="custom", delivery_request_text=secret_text,
            entrance_code="*7788#")
    from chalicelib.logs import JsonFormatter

    formatter = JsonFormatter()
    written = "\n".join(formatter.format(r) for r in caplog.records)
    for value in ("로그에없음", "010-5555-4444", "5555", secret_text, "*7788#", GOOD["address1"], GOOD["address2"]):
        assert value not in written, value


# --- cash receipts and instalments ------------------------------------------------------------

def test_a_cash_receipt_reaches_the_sandbox_in_its_documented_field(client, db, seller):
    checkout = new_checkout(client, seller, payment_method_types=["bank_transfer", "card"],
                            line_items=[{"name": "가전", "unit_amount": 120000, "quantity": 1}])
    sent = pay(client, checkout, payment_method="bank_transfer", cash_receipt="expense_proof",
               cash_receipt_id="124-81-00998", recipient_same="1")
    session = db.get(f"SANDBOX#{path_of(sent.headers['Location']).rsplit('/', 1)[1]}", "SANDBOX")
    assert session["cash_receipt"] == {"type": "expense_proof", "id": "1248100998"}
    assert read(client, seller, checkout)["cash_receipt"] == {
        "type": "expense_proof", "id": "1248100998", "sent_to_provider": True, "issue_required": True}


def test_a_large_cash_payment_without_a_request_tells_the_merchant_to_issue_one(client, seller):
    checkout = new_checkout(client, seller, payment_method_types=["bank_transfer"],
                            line_items=[{"name": "가전", "unit_amount": 100000, "quantity": 1}])
    pay(client, checkout, payment_method="bank_transfer", recipient_same="1")
    assert read(client, seller, checkout)["cash_receipt"] == {
        "type": "none", "id": None, "sent_to_provider": False, "issue_required": True}


def test_a_bad_cash_receipt_number_is_refused(client, seller):
    checkout = new_checkout(client, seller, payment_method_types=["bank_transfer"])
    for kind, number, key in (("income_deduction", "02-123-4567", "invalid_phone"),
                              ("expense_proof", "124-81-00999", "invalid_registration_number"),
                              ("income_deduction", "", "required")):
        refused = submit(client, checkout, payment_method="bank_transfer", cash_receipt=kind, cash_receipt_id=number)
        assert refused.status_code == 422 and 'id="e-cash_receipt_id"' in html(refused), kind


def test_instalments_from_50000_won_reach_the_sandbox_and_are_hidden_below(client, db, seller):
    small = new_checkout(client, seller, payment_method_types=["card"])
    assert 'name="installment_months"' not in html(client.http.get(f"/c/{small['id']}"))
    refused = submit(client, small, installment_months="3")
    assert refused.status_code == 422 and "할부를 선택할 수 없습니다" in html(refused)

    big = new_checkout(client, seller, payment_method_types=["card"],
                       line_items=[{"name": "노트북", "unit_amount": 50000, "quantity": 1}])
    page = html(client.http.get(f"/c/{big['id']}"))
    assert '<option value="0">일시불</option>' in page and '<option value="12">12개월</option>' in page
    assert submit(client, big, installment_months="13").status_code == 422
    sent = pay(client, big, installment_months="6")
    session = db.get(f"SANDBOX#{path_of(sent.headers['Location']).rsplit('/', 1)[1]}", "SANDBOX")
    assert session["installment_months"] == 6
    assert read(client, seller, big)["installment_months"] == 6


def test_koreacheckout_documents_neither_field(client, kc_fake, kc_merchant):
    """The seed lists 할부 but documents no field for it, nor for cash receipts: the select is not
    offered, a posted choice is refused, and a cash receipt stays on the checkout for the merchant."""
    from chalicelib.adapters.providers import koreacheckout

    assert not koreacheckout.Adapter.takes_installments and not koreacheckout.Adapter.takes_cash_receipts
    big = new_checkout(client, kc_merchant, line_items=[{"name": "노트북", "unit_amount": 80000, "quantity": 1}])
    assert 'name="installment_months"' not in html(client.http.get(f"/c/{big['id']}"))
    refused = submit(client, big, installment_months="3")
    assert refused.status_code == 422 and "할부를 선택할 수 없습니다" in html(refused)
    assert not [r for r in kc_fake.requests if r.method == "POST"]

    cash = new_checkout(client, kc_merchant, payment_method_types=["virtual_account"],
                        line_items=[{"name": "노트북", "unit_amount": 80000, "quantity": 1}])
    sent = submit(client, cash, payment_method="virtual_account", cash_receipt="income_deduction",
                  cash_receipt_id="010-2222-3333")
    assert sent.status_code == 303, html(sent)[:1500]
    created = [r for r in kc_fake.requests if r.method == "POST"][-1].json()
    assert "2222" not in json.dumps(created, ensure_ascii=False)
    assert read(client, kc_merchant, cash)["cash_receipt"] == {
        "type": "income_deduction", "id": "01022223333", "sent_to_provider": False, "issue_required": False}


# --- the virtual-account waiting page ----------------------------------------------------------

@pytest.mark.parametrize("locale, note, left", [("ko", "입금자명이 주문자와 달라도 됩니다", r"남은 시간: (2일 23|3일 0)시간"),
                                                ("en", "name may differ from yours", r"Time left: (2 days 23|3 days 0) h")])
def test_the_waiting_page_shows_every_field(client, seller, locale, note, left):
    checkout = new_checkout(client, seller, payment_method_types=["virtual_account"], locale=locale)
    sandbox_act(client, submit(client, checkout, payment_method="virtual_account").headers["Location"], "pay_later")
    client.http.get(f"/c/{checkout['id']}/return")
    page = html(client.http.get(f"/c/{checkout['id']}"))
    assert "KDB산업은행" in page and "샌드박스페이" in page and note in page and re.search(left, page)
    assert re.search(r'<span class="account-number" id="account-number" data-account-number>9\d{13}</span>', page)
    assert 'data-copy="account-number"' in page and "hidden>" in page[page.index("data-copy"):][:200]
    assert ("22,000원" if locale == "ko" else "₩22,000") in page[page.index("data-account-amount"):][:80]
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00">', page)
    assert 'http-equiv="refresh"' in page and "status.js" not in page.split("<noscript>")[0]
    assert "wrkr_no=1234567891" in page


def test_the_form_still_renders_every_value_after_an_error(client, seller):
    checkout = new_checkout(client, seller)
    data = {**GOOD, "csrf_token": csrf_of(html(client.http.get(f"/c/{checkout['id']}"))), "recipient_block": "1",
            "recipient_name": "김영희", "delivery_request": "parcel_box", "entrance_code": "0000", "phone": "bad"}
    page = html(client.http.post(f"/c/{checkout['id']}", headers=FORM, body=urlencode(data)))
    assert 'value="김영희"' in page and '<option value="parcel_box" selected>' in page and 'value="0000"' in page
    assert 'name="recipient_same" value="1" aria-describedby="h-recipient_same">' in page  # stays unticked


def test_served_pages_and_files_lose_only_indentation_and_comments():
    from chalicelib.web import render

    css = "/* a */\n.a { color: red; }\n.b > .c , .d { margin: 0 }\n"
    assert render.compact(css, ".css") == ".a{color: red;}.b>.c,.d{margin: 0}\n"
    assert render.compact("/* head */\n(function () {\n  // why\n  var a = \"//x\";\n})();\n", ".js") == \
        "(function () {\nvar a = \"//x\";\n})();\n"
    page = render.render("message.html", {"t": lambda key, **_: key, "locale": "ko", "base": "", "kind": "error",
                                           "title": "T", "body": "B"})
    assert "\n " not in page.body and "<h1 id=\"page-title\">T</h1>" in page.body


@pytest.mark.parametrize("provider, country", [("clink", "싱가포르"), ("payfect", "미국"), ("koreacheckout", None)])
def test_the_privacy_notice_names_the_processor_and_a_transfer_abroad(provider, country):
    from chalicelib.domain.model import Checkout, LineItem
    from chalicelib.web import pages

    merchant = merchants.Merchant(id="m-abroad", name="상점", provider=provider, api_key_hash="-", webhook_secret_enc="-",
                                  created_at_s=0, business=dict(COMPLETE))
    checkout = Checkout(id="chk_" + "a" * 27, merchant_id="m-abroad", status="open", version=0, currency="KRW",
                        line_items=[LineItem("차", 10000, 1)], success_url="https://shop.example/ok",
                        cancel_url="https://shop.example/no", provider=provider, created_at_s=0, expires_at_s=2**40,
                        locale="ko", payment_method_types=["card"], collect_shipping_address=True)
    page = pages._form_page(checkout, merchant, "https://pay.example", "ko").body
    notice = page[page.index("data-privacy"):page.index("data-pay")]
    name = {"clink": "Clink", "payfect": "Payfect", "koreacheckout": "KoreaCheckout"}[provider]
    assert f"결제 처리 위탁: {name}." in notice and "배송 위탁" in notice
    if country:
        assert f"국외 이전: {name}({country})" in notice
    else:
        assert "국외 이전" not in notice
