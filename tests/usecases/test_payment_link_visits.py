"""A payment link's visit writes nothing: crawlers and link previews cost one read each.

``GET /l/{id}`` still answers 303 to a checkout of the visitor's own; that checkout is drawn
from the link's template and written on the shopper's first POST (paying, or applying a code).
"""
from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

from tests.conftest import api_json, checkout_body, create_merchant
from tests.flow import GOOD_FORM

FORM = {"content-type": "application/x-www-form-urlencoded"}


def checkouts_in(db) -> list[str]:
    items = db.client.scan(TableName=db.table)["Items"]
    return [i["pk"]["S"] for i in items if i["pk"]["S"].startswith("CHECKOUT#") and i["sk"]["S"] == "CHECKOUT"]


def visit(client, link_id: str) -> tuple[str, str]:
    answer = client.http.get(f"/l/{link_id}")
    assert answer.status_code == 303
    target = urlsplit(answer.headers["Location"])
    return target.path.rsplit("/", 1)[1], f"{target.path}?{target.query}"


def new_link(client, merchant, **fields) -> dict:
    body = {k: v for k, v in checkout_body(**fields).items() if k != "client_reference_id"}
    return api_json(client.http.post("/api/payment-links", headers=merchant.headers, body=json.dumps(body)))


def test_a_hundred_visits_write_no_checkout(client, db, receiver):
    merchant = create_merchant(db, receiver.url)
    link = new_link(client, merchant)
    seen = set()
    for _ in range(100):
        checkout_id, page = visit(client, link["id"])
        seen.add(checkout_id)
    assert len(seen) == 100, "every visitor gets a checkout of their own"
    assert client.http.get(page).status_code == 200
    assert checkouts_in(db) == []
    assert api_json(client.http.get("/api/checkouts", headers=merchant.headers))["data"] == []


def test_the_first_post_writes_the_checkout_once_and_it_then_behaves_like_any_other(client, db, receiver):
    merchant = create_merchant(db, receiver.url)
    link = new_link(client, merchant)
    checkout_id, page = visit(client, link["id"])
    html = client.http.get(page).body.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    refused = client.http.post(page, headers=FORM, body=urlencode({"promo_action": "apply", "promotion_code": "NOPE",
                                                                  "csrf_token": token}))
    assert refused.status_code == 422
    assert checkouts_in(db) == [f"CHECKOUT#{checkout_id}"]
    # The same reference again (a second tab) finds the written checkout, and writes nothing new.
    assert client.http.post(page, headers=FORM, body=urlencode({**GOOD_FORM, "csrf_token": token})).status_code == 303
    assert checkouts_in(db) == [f"CHECKOUT#{checkout_id}"]
    assert api_json(client.http.get(f"/api/checkouts/{checkout_id}", headers=merchant.headers))["status"] == "processing"


def test_a_forged_or_foreign_link_reference_is_404_and_writes_nothing(client, db, receiver):
    merchant = create_merchant(db, receiver.url)
    link = new_link(client, merchant)
    checkout_id, page = visit(client, link["id"])
    other_id, _ = visit(client, link["id"])
    query = urlsplit(page).query
    forged = query[:-1] + ("1" if query[-1] == "0" else "0")
    for path in (f"/c/{other_id}?{query}", f"/c/{checkout_id}?{forged}", f"/c/{checkout_id}"):
        assert client.http.get(path).status_code == 404, path
    assert client.http.post(f"/c/{other_id}?{query}", headers=FORM, body=urlencode({**GOOD_FORM, "csrf_token": "1.x"})
                            ).status_code == 404
    # Our own reference with a forged form token: refused, and nothing is written for it.
    assert client.http.post(page, headers=FORM, body=urlencode({**GOOD_FORM, "csrf_token": "1.x"})).status_code == 403
    assert checkouts_in(db) == []
    # A link turned off after the visit: its page is gone, nothing is written.
    client.http.post(f"/api/payment-links/{link['id']}", headers=merchant.headers, body=json.dumps({"active": False}))
    assert client.http.get(page).status_code == 404
