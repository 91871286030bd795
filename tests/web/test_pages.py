"""The shopper's pages on the server (Chalice test client): security headers on every HTML
response, escaping, CSRF, language, amounts, branding, the status the waiting page polls, and
the script inventory kept in step with the code."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.providers import sandbox
from chalicelib.domain import clock, model
from chalicelib.domain.errors import InvalidRequest
from chalicelib.entrypoints import admin
from chalicelib.usecases import merchants
from chalicelib.web import i18n, pages, render
from tests.conftest import api_json, checkout_body, create_merchant

ROOT = Path(__file__).resolve().parents[2]
FORM = {"content-type": "application/x-www-form-urlencoded"}
GOOD = {
    "name": "홍길동", "email": "gildong@example.com", "phone": "010-1234-5678", "postal_code": "06236",
    "address1": "서울 강남구 테헤란로 152", "address_jibun": "서울 강남구 역삼동 737", "address2": "10층",
    "payment_method": "card", "agree": "1",
}


# --- helpers ------------------------------------------------------------------------

def new_checkout(client, handle, **overrides) -> dict:
    response = client.http.post("/api/checkouts", headers=handle.headers, body=json.dumps(checkout_body(**overrides)))
    assert response.status_code == 201, response.body
    return api_json(response)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def html(response) -> str:
    return response.body.decode()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def submit(client, checkout: dict, **fields: str):
    page = client.http.get(f"/c/{checkout['id']}")
    data = {**GOOD, "csrf_token": csrf_of(html(page)), **fields}
    return client.http.post(f"/c/{checkout['id']}", headers=FORM, body=urlencode(data))


def sandbox_act(client, sandbox_url: str, action: str):
    page = client.http.get(path_of(sandbox_url))
    return client.http.post(path_of(sandbox_url), headers=FORM,
                            body=urlencode({"csrf_token": csrf_of(html(page)), "action": action}))


def assert_secure_html(response) -> None:
    """The headers every shopper-facing HTML response carries, and a body that needs no unsafe CSP."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["x-frame-options"] == "DENY"
    directives = dict(d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";"))
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == f"'self' 'nonce-{nonce}' https://t1.daumcdn.net https://t1.kakaocdn.net"
    assert directives["style-src"] == f"'self' 'nonce-{nonce}'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"].startswith("'self'")
    assert "unsafe" not in headers["content-security-policy"]
    body = html(response)
    assert " style=" not in body, "no inline style attributes"
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", body):
        assert f'nonce="{nonce}"' in tag, tag
    inventoried = {s["inline_sha256"] for s in json.loads((ROOT / "docs" / "script-inventory.json").read_text())["scripts"]
                   if s.get("inline_sha256")}
    for tag, text in re.findall(r"(<script\b[^>]*>)(.*?)</script>", body, re.S):
        assert " src=" in tag or hashlib.sha256(text.encode()).hexdigest() in inventoried, \
            f"no inline scripts but the inventoried one: {tag}{text[:80]}"
    assert not re.search(r"\son[a-z]+=", body), "no inline event handlers"


# --- security headers on every page -------------------------------------------------------

def test_the_checkout_page_carries_the_security_headers(client, merchant):
    checkout = new_checkout(client, merchant)
    response = client.http.get(f"/c/{checkout['id']}")
    assert response.status_code == 200
    assert_secure_html(response)
    csp = response.headers["Content-Security-Policy"]
    assert "form-action 'self' https://shop.example" in csp, "the merchant's redirect host, for the redirect after a POST"


@pytest.mark.parametrize("path", ["/c/chk_0000000000000000000000", "/c/nonsense", "/sandbox/sbx_0000000000"])
def test_not_found_is_a_friendly_page_with_the_headers(client, db, path):
    response = client.http.get(path)
    assert response.status_code == 404
    assert_secure_html(response)
    assert "페이지를 찾을 수 없습니다" in html(response)
    assert "Traceback" not in html(response)


def test_a_form_error_is_422_with_the_headers(client, merchant):
    response = submit(client, new_checkout(client, merchant), phone="12")
    assert response.status_code == 422
    assert_secure_html(response)


def test_a_provider_failure_is_502_with_the_headers_and_the_checkout_stays_open(client, merchant, monkeypatch):
    def unavailable(self, request):
        raise pb.ProviderError("timeout")

    monkeypatch.setattr(sandbox.Adapter, "create_session", unavailable)
    checkout = new_checkout(client, merchant, locale="en")
    response = submit(client, checkout)
    assert response.status_code == 502
    assert_secure_html(response)
    assert "The payment provider did not respond. Nothing was charged. Please try again." in html(response)
    assert 'value="10층"' in html(response)
    read = client.http.get(f"/api/checkouts/{checkout['id']}", headers=merchant.headers)
    assert api_json(read)["status"] == "open"


def test_a_post_without_a_valid_csrf_token_is_refused_with_a_403_page(client, merchant):
    checkout = new_checkout(client, merchant)
    other = new_checkout(client, merchant)
    other_token = csrf_of(html(client.http.get(f"/c/{other['id']}")))
    for token in ("", "123.abc", other_token):
        response = client.http.post(f"/c/{checkout['id']}", headers=FORM, body=urlencode({**GOOD, "csrf_token": token}))
        assert response.status_code == 403
        assert_secure_html(response)
        assert "페이지가 만료되었습니다" in html(response)
    read = client.http.get(f"/api/checkouts/{checkout['id']}", headers=merchant.headers)
    assert api_json(read)["status"] == "open"


def test_every_state_page_carries_the_headers(client, merchant, monkeypatch):
    paid = new_checkout(client, merchant)
    approved = sandbox_act(client, submit(client, paid).headers["Location"], "approve")
    assert approved.status_code == 303
    assert client.http.get(path_of(approved.headers["Location"])).headers["Location"].startswith("https://shop.example/thanks")
    waiting = new_checkout(client, merchant, payment_method_types=["virtual_account"])
    sandbox_act(client, submit(client, waiting, payment_method="virtual_account").headers["Location"], "pay_later")
    client.http.get(f"/c/{waiting['id']}/return")
    cancelled = new_checkout(client, merchant)
    client.http.post(f"/api/checkouts/{cancelled['id']}/cancel", headers=merchant.headers)
    confirming = new_checkout(client, merchant)
    sandbox_page = submit(client, confirming).headers["Location"]

    pages_seen = {
        "paid": client.http.get(f"/c/{paid['id']}"),
        "waiting": client.http.get(f"/c/{waiting['id']}"),
        "cancelled": client.http.get(f"/c/{cancelled['id']}"),
        "confirming": client.http.get(f"/c/{confirming['id']}"),
        "sandbox": client.http.get(path_of(sandbox_page)),
    }
    titles = {"paid": "결제가 완료되었습니다", "waiting": "입금을 기다리고 있습니다", "cancelled": "취소된 결제입니다",
              "confirming": "결제를 확인하고 있습니다", "sandbox": "Pay ₩22,000"}
    for state, response in pages_seen.items():
        assert response.status_code == 200, state
        assert_secure_html(response)
        assert f">{titles[state]}</h1>" in html(response), state

    to_expire = new_checkout(client, merchant)
    later = clock.now_s() + 8 * 86400
    monkeypatch.setattr(clock, "now_s", lambda: later)
    expired = client.http.get(f"/c/{to_expire['id']}")
    assert_secure_html(expired)
    assert "결제 시간이 만료되었습니다" in html(expired)


def test_the_sandbox_page_lets_its_post_redirect_on_to_the_merchant(client, db, receiver):
    handle = create_merchant(db, receiver.url, allowed_hosts=["shop.example", "cart.shop.example"])
    checkout = new_checkout(client, handle, success_url="https://shop.example/thanks", cancel_url="https://cart.shop.example/")
    page = client.http.get(path_of(submit(client, checkout).headers["Location"]))
    form_action = re.search(r"form-action ([^;]+)", page.headers["Content-Security-Policy"]).group(1).split()
    assert {"'self'", "https://shop.example", "https://cart.shop.example"} <= set(form_action)


def test_static_files_have_hashed_names_and_immutable_caching(client):
    for name, hashed in render.static_manifest().items():
        assert re.fullmatch(rf"{Path(name).stem}\.[0-9a-f]{{10}}{Path(name).suffix}", hashed)
        response = client.http.get(f"/static/{hashed}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        source = (ROOT / "static" / name).read_text()
        assert response.body.decode() == render.compact(source, Path(name).suffix)
    assert client.http.get("/static/checkout.css").status_code == 404
    assert client.http.get("/static/checkout.0000000000.js").status_code == 404


def test_the_checkout_stylesheet_comes_in_the_page_under_its_nonce(client, merchant):
    # One API Gateway request less per page view than a <link>; the file is still served
    # (above) for anything that links it.
    response = client.http.get(f"/c/{new_checkout(client, merchant)['id']}")
    body = html(response)
    assert "rel=\"stylesheet\"" not in body
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    css = render.compact((ROOT / "static" / "checkout.css").read_text(), ".css")
    assert f'<style nonce="{nonce}">{css}</style>' in body


def test_the_checkout_script_comes_in_the_page_under_its_nonce_as_inventoried(client, merchant):
    response = client.http.get(f"/c/{new_checkout(client, merchant)['id']}")
    body = html(response)
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    js = render.compact((ROOT / "static" / "checkout.js").read_text(), ".js")
    assert f'<script nonce="{nonce}">{js}</script>' in body
    assert "/static/checkout." not in body
    # The inventory's hash is of exactly this text: a change to the file is a change to the inventory.
    [entry] = [s for s in json.loads((ROOT / "docs" / "script-inventory.json").read_text())["scripts"]
               if s["id"] == "checkout-js"]
    assert entry["inline_sha256"] == hashlib.sha256(js.encode()).hexdigest()


def test_a_script_that_would_leave_its_script_element_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "STATIC_DIR", tmp_path)
    for i, text in enumerate(("x = '</SCRIPT><img src=x>'", "x = '<!--'", "x = '<script>'")):
        (tmp_path / f"evil{i}.js").write_text(text)
        with pytest.raises(ValueError, match="cannot be inlined"):
            render.inline_script(f"evil{i}.js")


def test_a_stylesheet_that_would_close_its_style_element_is_refused(tmp_path, monkeypatch):
    (tmp_path / "evil.css").write_text("a{}</style><script>alert(1)</script>")
    monkeypatch.setattr(render, "STATIC_DIR", tmp_path)
    with pytest.raises(ValueError, match="cannot be inlined"):
        render.inline_style("evil.css")


# --- escaping ---------------------------------------------------------------------------

def test_merchant_and_shopper_text_is_escaped(client, db, receiver):
    evil = create_merchant(db, receiver.url, name='<script>alert("m")</script>')
    checkout = new_checkout(client, evil, line_items=[
        {"name": '"><img src=x onerror=alert(1)>', "unit_amount": 1000, "quantity": 1,
         "description": "<b>bold</b>"}])
    page = html(client.http.get(f"/c/{checkout['id']}"))
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;m&#34;)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>bold</b>" not in page

    typed = submit(client, checkout, name='"><script>alert(2)</script>', address2="' onfocus='alert(3)", phone="x")
    body = html(typed)
    assert typed.status_code == 422
    assert "<script>alert(2)" not in body
    assert 'value="&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in body
    assert "value=\"&#39; onfocus=&#39;alert(3)\"" in body


# --- branding -------------------------------------------------------------------------

def test_the_brand_reaches_the_page_as_custom_properties(client, db, receiver):
    handle = create_merchant(db, receiver.url, brand_color="#0f7b6c", button_radius=14,
                             logo_url="https://shop.example/logo.png", support_email="tea@shop.example")
    page = html(client.http.get(f"/c/{new_checkout(client, handle)['id']}"))
    assert ":root{--primary-color:#0F7B6C;--on-primary:#FFFFFF;--button-radius:14px}" in page
    assert '<img class="brand-logo" src="https://shop.example/logo.png"' in page
    assert '<a href="mailto:tea@shop.example">tea@shop.example</a>' in page


def test_button_radius_defaults_to_8_and_is_shown_by_merchant_show(db):
    handle = create_merchant(db)
    assert handle.merchant.button_radius == 8
    assert merchants.get(db, handle.id).public_view()["button_radius"] == 8


@pytest.mark.parametrize(("field", "value"), [
    ("brand_color", "red"), ("brand_color", "#12345"), ("brand_color", "#1234567"), ("brand_color", "#12345g"),
    ("brand_color", "#123456;}</style>"),
    ("logo_url", "http://shop.example/logo.png"), ("logo_url", "javascript:alert(1)"),
    ("button_radius", 25), ("button_radius", -1), ("button_radius", True), ("button_radius", "8"), ("button_radius", 8.5),
])
def test_branding_that_is_not_what_it_claims_is_refused(db, field, value):
    with pytest.raises(InvalidRequest) as raised:
        create_merchant(db, **{field: value})
    assert raised.value.param == field


def test_a_stored_brand_that_went_bad_falls_back_instead_of_reaching_the_style_element(db):
    merchant = create_merchant(db).merchant
    merchant.brand_color = "#000;}body{display:none"
    merchant.button_radius = 99
    merchant.logo_url = "http://insecure.example/logo.png"
    merchant.support_email = "not an email"
    assert pages.brand(merchant) | {"name": ""} == {
        "name": "", "primary_color": "#1A56DB", "on_primary": "#FFFFFF", "button_radius": 8,
        "logo_url": None, "support_email": None}


@pytest.mark.parametrize(("background", "text"), [
    ("#1A56DB", "#FFFFFF"), ("#000000", "#FFFFFF"), ("#FFD400", "#111111"), ("#FFFFFF", "#111111"), ("#0F7B6C", "#FFFFFF"),
])
def test_the_button_text_colour_is_whichever_reads_better_on_the_brand_colour(background, text):
    assert pages.text_color_on(background) == text
    assert pages.contrast_ratio(background, text) >= 4.5


def test_the_admin_cli_takes_a_button_radius(db, monkeypatch):
    monkeypatch.setattr(admin, "load_stage_environment", lambda stage: None)
    created = admin.run(["merchant", "create", "--id", "radius-shop", "--name", "R", "--provider", "sandbox",
                         "--button-radius", "0"])
    assert created["merchant_id"] == "radius-shop"
    assert merchants.get(db, "radius-shop").button_radius == 0
    with pytest.raises(InvalidRequest):
        admin.run(["merchant", "create", "--id", "radius-two", "--name", "R", "--provider", "sandbox",
                   "--button-radius", "30"])


# --- language and amounts --------------------------------------------------------------

def test_the_language_follows_the_checkout_and_lang_switches_it(client, merchant):
    checkout = new_checkout(client, merchant)
    korean = html(client.http.get(f"/c/{checkout['id']}"))
    assert '<html lang="ko">' in korean and ">주문 내역</h2>" in korean
    assert f'href="http://localhost/c/{checkout["id"]}?lang=en" hreflang="en" lang="en">English</a>' in korean
    english = html(client.http.get(f"/c/{checkout['id']}?lang=en"))
    assert '<html lang="en">' in english and ">Order summary</h2>" in english
    assert ">I have checked the order and agree to pay</label>" in english
    unknown = html(client.http.get(f"/c/{checkout['id']}?lang=fr"))
    assert '<html lang="ko">' in unknown
    # A form posted in English is answered in English.
    token = csrf_of(english)
    answer = client.http.post(f"/c/{checkout['id']}", headers=FORM,
                              body=urlencode({**GOOD, "phone": "", "lang": "en", "csrf_token": token}))
    assert answer.status_code == 422
    assert "Mobile phone: This field is required." in html(answer)


def test_the_consent_checkbox_is_on_the_korean_page_and_required(client, merchant):
    checkout = new_checkout(client, merchant)
    page = html(client.http.get(f"/c/{checkout['id']}"))
    assert 'type="checkbox" name="agree" value="1" required' in page
    assert "주문 내용을 확인하였으며, 결제에 동의합니다" in page
    refused = submit(client, checkout, agree="")
    assert refused.status_code == 422
    assert 'id="e-agree">결제에 동의해 주세요.</p>' in html(refused)


@pytest.mark.parametrize(("currency", "items", "locale", "total", "pay"), [
    ("KRW", [29000], "ko", "29,000원", "₩29,000 결제하기"),
    ("KRW", [29000], "en", "₩29,000", "Pay ₩29,000"),
    ("USD", [1999], "en", "$19.99", "Pay $19.99"),
    ("USD", [1999], "ko", "$19.99", "$19.99 결제하기"),
    ("USDT", [2000, 50], "en", "20.50 USDT", "Pay 20.50 USDT"),
])
def test_amounts_are_formatted_for_the_locale_and_currency(client, merchant, currency, items, locale, total, pay):
    line_items = [{"name": f"item {i}", "unit_amount": amount, "quantity": 1} for i, amount in enumerate(items)]
    checkout = new_checkout(client, merchant, currency=currency, line_items=line_items, locale=locale)
    page = html(client.http.get(f"/c/{checkout['id']}"))
    assert f"<strong data-total>{total}</strong>" in page
    assert f"data-pay>{pay}</button>" in page


def test_the_deadline_reads_in_korean_time():
    due = 1794983200  # 2026-11-18T06:26:40Z
    assert pages.format_deadline(due, "ko") == ("2026-11-18T15:26:40+09:00", "2026년 11월 18일 15:26 (한국 시간)")
    assert pages.format_deadline(due, "en") == ("2026-11-18T15:26:40+09:00", "18 Nov 2026, 15:26 KST")


def test_the_waiting_page_shows_the_account_and_refreshes_itself_only_without_javascript(client, merchant):
    checkout = new_checkout(client, merchant, payment_method_types=["virtual_account"])
    sandbox_act(client, submit(client, checkout, payment_method="virtual_account").headers["Location"], "pay_later")
    client.http.get(f"/c/{checkout['id']}/return")
    page = html(client.http.get(f"/c/{checkout['id']}"))
    assert "KDB산업은행" in page and "22,000원" in page and "(한국 시간)" in page
    refresh = f'<noscript><meta http-equiv="refresh" content="15;url=http://localhost/c/{checkout["id"]}/return"></noscript>'
    assert refresh in page
    assert f'data-status-url="http://localhost/c/{checkout["id"]}/status"' in page


# --- the status the waiting page polls ---------------------------------------------------------

def test_the_status_endpoint_says_the_status_and_nothing_else(client, merchant):
    checkout = new_checkout(client, merchant)
    response = client.http.get(f"/c/{checkout['id']}/status")
    assert response.status_code == 200
    assert api_json(response) == {"status": "open"}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    client.http.post(f"/api/checkouts/{checkout['id']}/cancel", headers=merchant.headers)
    assert api_json(client.http.get(f"/c/{checkout['id']}/status")) == {"status": "cancelled"}
    missing = client.http.get("/c/chk_0000000000000000000000/status")
    assert missing.status_code == 404
    assert api_json(missing)["error"]["code"] == "not_found"


# --- the catalogue and the script inventory ------------------------------------------------------

def test_both_languages_have_every_message():
    assert set(i18n.MESSAGES["ko"]) == set(i18n.MESSAGES["en"])
    used = set()
    for template in (ROOT / "templates").glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", template.read_text()))
    used = {key for key in used if not key.endswith("_")}  # prefixes of the keys built below
    used |= set(pages.CLIENT_MESSAGES)
    used |= {f"method_{m}" for m in model.PAYMENT_METHODS} | {f"notice_{n}" for n in pages.NOTICES}
    used |= {f"{kind}_{part}" for kind in ("expired", "cancelled", "not_found", "csrf", "error") for part in ("title", "body")}
    assert used - set(i18n.MESSAGES["ko"]) == set()


def test_the_script_inventory_covers_every_script_the_pages_can_load():
    inventory = json.loads((ROOT / "docs" / "script-inventory.json").read_text())
    first_party = {s["file"] for s in inventory["scripts"] if s["kind"] == "first-party"}
    assert first_party == {f"static/{p.name}" for p in (ROOT / "static").glob("*.js")}
    for script in inventory["scripts"]:
        assert script["purpose"] and script["pages"] and script["loaded"] and script["integrity"]
        if script["kind"] == "first-party":
            hashed = render.static_manifest()[Path(script["file"]).name]
            assert re.fullmatch(script["match"]["same_origin_path_regex"], f"/static/{hashed}")
    third_party = {urlsplit(u).scheme + "://" + urlsplit(u).netloc
                   for s in inventory["scripts"] if s["kind"] == "third-party"
                   for u in [s["match"].get("url")] + s["match"].get("url_prefixes", []) if u}
    from chalicelib.web import views

    assert third_party == set(views.DAUM_SCRIPT_HOSTS)
    js = (ROOT / "static" / "postcode.js").read_text()
    for script in inventory["scripts"]:
        if script["id"] in ("kakao-postcode", "daum-postcode"):
            assert f'"{script["match"]["url"]}"' in js
    for template in (ROOT / "templates").glob("*.html"):
        for src in re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", template.read_text()):
            assert re.fullmatch(r"\{\{ static_url\('[a-z_-]+\.js'\) \}\}", src), f"{template.name}: {src}"
