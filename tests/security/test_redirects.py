"""Open redirects: ``success_url`` and ``cancel_url`` are where we send a shopper who just
paid, so only the merchant's own hosts may be there (OWASP ASVS 5, redirect allow-lists).

Every hostile URL below is refused by ``POST /api/checkouts`` and ``POST /api/payment-links``
(400/422 in the JSON error shape, naming the field) and leaves nothing behind; every
legitimate variant is accepted as written.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.conftest import checkout_body, create_merchant

pytestmark = pytest.mark.xdist_group("security")

ALLOWED = ["shop.example", "*.pay.shop.example", "localhost", "127.0.0.1"]
ENDPOINTS = ("/api/checkouts", "/api/payment-links")
FIELDS = ("success_url", "cancel_url")

# --- hostile URLs -----------------------------------------------------------------

SCHEME_RELATIVE = [
    "//evil.example/", "///evil.example/", "////evil.example", "\\\\evil.example", "/\\evil.example", "\\/evil.example",
    "/%5Cevil.example", "/%2F%2Fevil.example", "%2F%2Fevil.example", "%252F%252Fevil.example", "evil.example",
    "/thanks", "thanks", "?next=https://evil.example", "#https://evil.example", "//shop.example@evil.example",
    "/\\/evil.example/", "/.evil.example", "//%09/evil.example", "\\\\shop.example\\@evil.example",
]
OTHER_HOSTS = [
    "https://evil.example/", "https://evil.example/https://shop.example/", "https://evil.example?https://shop.example",
    "https://evil.example#shop.example", "https://evil.example/.pay.shop.example", "https://evil.example?.pay.shop.example",
    "https://shop.example.evil.example/", "https://shop.exampleevil.example/", "https://evilshop.example/",
    "https://shop.example-evil.example/", "https://xshop.example/", "https://shop.examp1e/", "https://www.shop.example/",
    "https://pay.shop.example/", "https://evilpay.shop.example/", "https://a.pay.shop.example.evil.example/",
    "https://shop.example./", "https://.shop.example/", "https://shop..example/", "https://shop/", "https://example/",
    "https://2130706433/", "https://0x7f000001/", "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://93.184.216.34/",
]
USERINFO = [
    "https://user@evil.example/", "https://shop.example@evil.example/", "https://shop.example:443@evil.example/",
    "https://shop.example:pass@evil.example/", "https://evil.example@shop.example/", "https://@evil.example/",
    "https://:@evil.example/", "https://shop.example%40evil.example/", "https://shop.example%2540evil.example/",
    "https://shop.example\\@evil.example/", "https://shop.example%5C@evil.example/", "https://a.pay.shop.example@evil.example/",
    "https://shop.example:@evil.example/", "https://shop.example%2F@evil.example/", "http://localhost@evil.example/",
    "http://127.0.0.1:80@evil.example/", "http://[::1]@evil.example/", "https://shop.example\\\\@@evil.example/",
]
LOOK_ALIKES = [
    "https://sh\u043ep.example/", "https://\u0455hop.example/", "https://\uff53\uff48\uff4f\uff50.example/",
    "https://shop\u3002example/", "https://shop\uff0eexample/", "https://shop\uff61example/", "https://xn--shp-ted.example/",
    "https://shop.example\u200b/", "https://shop.exampl\u0435/", "https://evil.example\u2044shop.example/",
    "https://evil.example\uff0fshop.example/", "https://evil.example\u2215shop.example/", "https://\u24e2\u24d7\u24de\u24df.example/",
    "https://shop.\uff45xample/", "https://shop.example\u3002evil.example/", "https://evil.example%E3%80%82shop.example/",
    "https://shop%E3%80%82example/", "https://%73hop.example/", "https://sh%6Fp.example/", "https://shop%2Eexample/",
    "https://shop.example%00.evil.example/", "https://shop.example%0d%0aLocation:%20https://evil.example/",
    "https://shop.example\u0000/", "https://shop.e\u0301xample/", "https://sho\u0070\u0307.example/", "https://SHOP.EXAMPLE\u212a/",
    "http://localhos\u0442/", "https://shop.example\ufeff/", "https://\u0261oogle.example/",
]
SCHEMES = [
    "javascript:alert(1)", "JavaScript:alert(1)", "JAVASCRIPT:alert(document.domain)", "javascript://shop.example/%0Aalert(1)",
    "javascript://%0Aalert(1)//https://shop.example", "java\tscript:alert(1)", "java\nscript:alert(1)", "java\rscript:alert(1)",
    "\x01javascript:alert(1)", " javascript:alert(1)", "javascript&colon;alert(1)", "jav&#x09;ascript:alert(1)",
    "&#106;avascript:alert(1)", "javascript%3Aalert(1)", "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "DATA:text/html,x", "data://shop.example/",
    "vbscript:msgbox(1)", "file:///etc/passwd", "file://shop.example/etc/passwd", "ftp://shop.example/", "ws://shop.example/",
    "wss://shop.example/", "blob:https://shop.example/0b3e", "filesystem:https://shop.example/temporary/", "about:blank",
    "chrome://settings", "intent://shop.example#Intent;scheme=https;end", "mailto:a@shop.example", "tel:+821012345678",
    "shop.example://thanks", "hxxps://shop.example/", "https//shop.example/", "https:shop.example", "http://shop.example/",
    "HTTP://shop.example/", "http://evil.example/", "http://localhost.evil.example/", "http://127.0.0.1.evil.example/",
    "http://127.0.0.1.nip.io/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/",
]
MALFORMED = [
    "https:evil.example", "https:/evil.example", "https:\\\\evil.example", "https:/\\evil.example", "https:///evil.example",
    "https:////evil.example", "https://", "https:///", "https://?", "https://#", "https:", ":", "//", "/", " ", "",
    "https ://evil.example", "https: //shop.example", "ht\ttps://evil.example", "https\n://evil.example",
    "https:/\t/evil.example", "h\rttps://shop.example", "https://shop.example\t.evil.example", "https://shop.example\n.evil.example",
    "https://evil.example\t/", "https://shop.example /x", "\thttps://shop.example/", "https://shop.example/\n",
    "https://shop.example:99999/", "https://shop.example:-1/", "https://shop.example:0x1bb/", "https://shop.example:443:443/",
    "https://shop.example:abc/", "https://evil.example:443/", "https://evil.example:8443/shop.example:443",
    "https://shop.example:443.evil.example/", "https://shop.example/" + "a" * 2100,
]


def hostile_urls() -> list[str]:
    base = SCHEME_RELATIVE + OTHER_HOSTS + USERINFO + LOOK_ALIKES + SCHEMES + MALFORMED
    variants = list(base)
    absolute = [u for u in base if u.lower().startswith(("https://", "http://"))]
    for url in absolute:
        scheme, rest = url.split("://", 1)
        variants += [
            f"{scheme.upper()}://{rest}",                     # uppercase scheme
            f"{url}thanks?c={{CHECKOUT_ID}}",                 # a believable path after the trick
            quote(url, safe=""),                              # percent-encoded whole
            quote(quote(url, safe=""), safe=""),              # double-encoded
            f"{scheme[:2]}\t{scheme[2:]}://{rest}",           # a tab inside the scheme
        ]
    return list(dict.fromkeys(variants))


HOSTILE = hostile_urls()

LEGITIMATE = [
    "https://shop.example/thanks", "https://shop.example/thanks?c={CHECKOUT_ID}", "https://SHOP.EXAMPLE/thanks",
    "HTTPS://shop.example/thanks", "https://shop.example:8443/thanks", "https://shop.example:443/", "https://shop.example/",
    "https://shop.example", "https://shop.example/a/b/../c", "https://shop.example/path@with-at",
    "https://shop.example/?next=%2Fcart", "https://shop.example/#/route", "https://shop.example/%E3%81%82%E3%82%8A",
    "https://a.pay.shop.example/", "https://a-b.c.pay.shop.example/x", "http://localhost:8001/thanks",
    "http://127.0.0.1:8001/cart", "HTTP://LOCALHOST/thanks", "https://localhost/thanks",
    "https://shop.example/thanks?c={CHECKOUT_ID}&ref=a%20b", "https://shop.example/thanks;jsessionid=1",
]


def body_with(field: str, url: str) -> dict:
    return checkout_body(**{field: url})


def items_in(db) -> int:
    return int(db.client.scan(TableName=db.table, Select="COUNT")["Count"])


def test_there_are_enough_hostile_urls_and_they_are_all_distinct():
    assert len(HOSTILE) >= 200 and len(set(HOSTILE)) == len(HOSTILE)
    assert not set(HOSTILE) & set(LEGITIMATE)


def test_no_hostile_redirect_url_is_accepted(client, db, figures):
    merchant = create_merchant(db, allowed_hosts=ALLOWED)
    before = items_in(db)
    tried = accepted = server_errors = 0
    refused_as: set[tuple[int, str]] = set()
    for endpoint in ENDPOINTS:
        for field in FIELDS:
            for url in HOSTILE:
                response = client.http.post(endpoint, headers=merchant.headers, body=json.dumps(body_with(field, url)))
                tried += 1
                server_errors += response.status_code >= 500
                accepted += response.status_code < 300
                assert response.status_code in (400, 422), (endpoint, field, url, response.status_code, response.body)
                assert response.headers["Content-Type"].startswith("application/json")
                error = json.loads(response.body)["error"]
                assert set(error) == {"code", "message", "param"} and error["param"] == field, (url, error)
                assert "Traceback" not in error["message"]
                refused_as.add((response.status_code, error["code"]))
    assert items_in(db) == before, "a refused request left an item behind"
    assert (422, "redirect_host_not_allowed") in refused_as and (400, "invalid_request") in refused_as
    figures.add("redirects", f"hostile success_url/cancel_url ({len(HOSTILE)} URLs x 2 fields x 2 endpoints)", tried, accepted=accepted)


def test_legitimate_redirect_urls_are_accepted_as_written(client, db, figures):
    merchant = create_merchant(db, allowed_hosts=ALLOWED)
    tried = 0
    for endpoint in ENDPOINTS:
        for field in FIELDS:
            for url in LEGITIMATE:
                response = client.http.post(endpoint, headers=merchant.headers, body=json.dumps(body_with(field, url)))
                tried += 1
                assert response.status_code == 201, (endpoint, field, url, response.body)
                created = json.loads(response.body)
                stored = created[field] if endpoint == "/api/checkouts" else created["template"][field]
                assert stored == url
    figures.add("redirects", f"legitimate variants ({len(LEGITIMATE)} URLs x 2 fields x 2 endpoints)", tried, accepted=tried,
                expect="all accepted, as written")


def test_a_payment_link_visit_sends_the_shopper_only_to_our_checkout(client, db):
    merchant = create_merchant(db, allowed_hosts=ALLOWED)
    link = json.loads(client.http.post("/api/payment-links", headers=merchant.headers,
                                       body=json.dumps(checkout_body())).body)
    visit = client.http.get(f"/l/{link['id']}")
    assert visit.status_code == 303 and visit.headers["Location"].startswith("http://localhost/c/chk_")
