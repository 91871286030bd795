"""Promotion codes cannot be enumerated from the public page: one answer for a code that does
not exist, is off, or is outside its dates, and a limit on refused tries per checkout."""
from __future__ import annotations

import pytest

from chalicelib.domain import discounts
from chalicelib.usecases import promotions
from tests.usecases.test_promotions_api import code_at, new_checkout, new_code, post_form, read
from tests.web.test_promotions_page import html, text_of

UNUSABLE_KO = "사용할 수 없는 할인 코드입니다. 코드를 다시 확인해 주세요."


@pytest.mark.parametrize("setup", [
    lambda c, m: None,
    lambda c, m: new_code(c, m, active=False),
    lambda c, m: new_code(c, m, valid_from=code_at(-10), valid_until=code_at(-1)),
    lambda c, m: new_code(c, m, valid_from=code_at(1)),
], ids=["unknown", "inactive", "expired", "not yet valid"])
def test_unknown_inactive_and_out_of_window_codes_get_one_answer(client, merchant, setup):
    setup(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    refused = post_form(client, checkout["id"], promo_action="apply", promotion_code="WELCOME10")
    assert refused.status_code == 422
    assert text_of(html(refused), "e-promotion_code") == UNUSABLE_KO


def test_refused_tries_per_checkout_are_limited(client, merchant):
    new_code(client, merchant)
    checkout = new_checkout(client, merchant, allow_promotion_codes=True)
    for n in range(promotions.MAX_REFUSED_TRIES):
        refused = post_form(client, checkout["id"], promo_action="apply", promotion_code=f"GUESS{n:03d}")
        assert refused.status_code == 422 and text_of(html(refused), "e-promotion_code") == UNUSABLE_KO
    # Now even the real code is refused on this checkout, with a message saying why.
    blocked = post_form(client, checkout["id"], promo_action="apply", promotion_code="WELCOME10")
    assert blocked.status_code == 422
    assert text_of(html(blocked), "e-promotion_code") == "할인 코드를 너무 여러 번 입력했습니다. 이 결제에서는 더 입력할 수 없습니다."
    assert read(client, merchant, checkout["id"])["promotion_code"] is None
    # Another checkout is not affected, and the merchant API still names each reason.
    other = new_checkout(client, merchant, allow_promotion_codes=True)
    assert post_form(client, other["id"], promo_action="apply", promotion_code="WELCOME10").status_code == 200
    api = client.http.patch(f"/api/checkouts/{checkout['id']}", headers=merchant.headers,
                            body='{"promotion_code": "NOPE-NOPE"}')
    assert api.status_code == 422 and discounts.NOT_FOUND in api.body.decode()
