"""The checkout page rendered once per container (``render.render_shared``): every response
still has a nonce of its own in the CSP and the page, and a CSRF token of its own bound to
the checkout; anything the page is made from changing makes a new page."""
from __future__ import annotations

import json
import re

from chalicelib.web import csrf, render
from tests.conftest import api_json, checkout_body, create_merchant

NONCE = re.compile(r"'nonce-([^']+)'")


def _get(client, checkout_id: str):
    response = client.http.get(f"/c/{checkout_id}")
    assert response.status_code == 200
    page = response.body.decode()
    nonce = NONCE.search(response.headers["Content-Security-Policy"]).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return page, nonce, token


def test_each_response_has_its_own_nonce_and_csrf_token(client, db, receiver, monkeypatch):
    handle = create_merchant(db, receiver.url)
    checkout = api_json(client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body())))
    first_page, first_nonce, first_token = _get(client, checkout["id"])
    from chalicelib.domain import clock

    later = clock.now_s() + 5
    monkeypatch.setattr(clock, "now_s", lambda: later)  # a later issue time
    second_page, second_nonce, second_token = _get(client, checkout["id"])
    assert first_nonce != second_nonce and first_token != second_token
    assert f'nonce="{second_nonce}"' in second_page and first_nonce not in second_page
    assert first_token not in second_page and second_page.count(second_token) == first_page.count(first_token) >= 1
    assert second_page.replace(second_nonce, "N").replace(second_token, "T") == \
        first_page.replace(first_nonce, "N").replace(first_token, "T")
    assert csrf.verify(checkout["id"], second_token) and not csrf.verify("chk_other", second_token)
    assert render._MARK not in first_page + second_page


def test_a_change_to_the_checkout_or_the_merchant_makes_a_new_page(client, db, receiver):
    handle = create_merchant(db, receiver.url)
    checkout = api_json(client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body())))
    before, _, _ = _get(client, checkout["id"])
    patched = client.http.patch(f"/api/checkouts/{checkout['id']}", headers=handle.headers,
                                body=json.dumps({"line_items": [{"name": "새 상품 세트", "unit_amount": 41000, "quantity": 1}]}))
    assert patched.status_code == 200, patched.body
    after, _, _ = _get(client, checkout["id"])
    assert "새 상품 세트" in after and "41,000" in after and "새 상품 세트" not in before
    from chalicelib.usecases import merchants

    merchants._merchants.clear()
    db.update(f"MERCHANT#{handle.id}", "MERCHANT", {"name": "이름을 바꾼 상점"})
    renamed, _, _ = _get(client, checkout["id"])
    assert "이름을 바꾼 상점" in renamed
