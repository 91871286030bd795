"""The public page never shows a previous shopper's details.

Anyone holding a checkout's URL can open its page; after an attempt is released (the shopper
came back through the cancel URL, the payment failed) the form starts again from what the
merchant gave (``customer``), never from what the last shopper typed.
"""
from __future__ import annotations

from tests.usecases.test_promotions_api import SHOPPER, new_checkout, post_form

TYPED = {**SHOPPER, "name": "김비밀", "email": "secret.shopper@example.com", "phone": "010-9876-5432",
         "postal_code": "04524", "address1": "서울 중구 세종대로 110", "address2": "비밀의 방 7호"}


def test_a_released_attempt_leaves_no_shopper_details_on_the_page(client, db, merchant):
    checkout = new_checkout(client, merchant)
    assert post_form(client, checkout["id"], **TYPED).status_code == 303
    assert client.http.get(f"/c/{checkout['id']}/cancel").status_code == 303
    page = client.http.get(f"/c/{checkout['id']}").body.decode()
    assert 'name="csrf_token"' in page, "the form is back"
    for field in ("name", "email", "phone", "postal_code", "address1", "address2"):
        assert TYPED[field] not in page, f"the previous shopper's {field} is on the public page"


def test_the_merchants_customer_still_prefills_the_form(client, db, merchant):
    checkout = new_checkout(client, merchant, customer={"email": "known@example.com", "name": "홍길동"})
    assert post_form(client, checkout["id"], **TYPED).status_code == 303
    client.http.get(f"/c/{checkout['id']}/cancel")
    page = client.http.get(f"/c/{checkout['id']}").body.decode()
    assert "known@example.com" in page and "홍길동" in page
    assert TYPED["email"] not in page and TYPED["address2"] not in page
