"""The merchant dashboard over real HTTP against DynamoDB Local: the checks of
dashboard.md "What tests must show" (the page checks in Chromium are in
tests/browser/test_dashboard_pages.py), and a merchant doing from the dashboard
what the README's curl examples do."""
from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chalicelib.domain import clock
from chalicelib.entrypoints.admin import run as admin
from chalicelib.usecases import dashboard_sessions, merchants
from tests import flow
from tests.adapters.providers.fake_koreacheckout import complete_payment, credentials, notify
from tests.conftest import create_merchant, table_text
from tests.dashboard_client import Dashboard, set_cookie_headers

pytestmark = pytest.mark.ddb_local


class Refusals:
    """Hostile requests counted as each is answered, so a figures row says what was tried."""

    def __init__(self) -> None:
        self.count = 0

    def expect(self, response: requests.Response, status: int) -> requests.Response:
        assert response.status_code == status, (response.url, response.status_code)
        self.count += 1
        return response


@pytest.fixture
def app(local_db: Any, live_server: Any) -> str:
    return str(live_server.url)


@pytest.fixture
def shop(local_db: Any, receiver: Any, kc_fake: Any) -> Any:
    return create_merchant(local_db, receiver.url, provider="koreacheckout", credentials=credentials(kc_fake))


@pytest.fixture
def other_shop(local_db: Any, receiver: Any) -> Any:
    return create_merchant(local_db, receiver.url)


def api(app: str, handle: Any, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{app}{path}", headers=handle.headers, timeout=20,
                                data=json.dumps(body) if body is not None else None)
    assert response.status_code < 300, response.text
    return response.json()


def events_of(app: str, handle: Any, checkout_id: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = api(app, handle, "GET", f"/api/events?checkout_id={checkout_id}")["data"]
    return result


def signed_in(app: str, handle: Any) -> Dashboard:
    dash = Dashboard(app)
    dash.sign_in(handle.api_key)
    return dash


# --- 1. signed out; a wrong key --------------------------------------------------------------------

def test_signed_out_the_dashboard_sends_you_to_sign_in_and_a_wrong_key_is_401_without_a_cookie(app, shop):
    dash = Dashboard(app)
    for path in ("/dashboard", "/dashboard/checkouts?status=complete", "/dashboard/settings"):
        response = dash.get(path)
        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.path == "/dashboard/login"
        assert parse_qs(location.query)["next"] == [path]
    dash.get("/dashboard/login")
    wrong = dash.post("/dashboard/login", {"api_key": shop.api_key[:-1] + ("A" if shop.api_key[-1] != "A" else "B")})
    assert wrong.status_code == 401
    assert "dashboard_session" not in " ".join(set_cookie_headers(wrong)) and dash.session_cookie is None
    assert "That key or link did not work" in wrong.text or "키나 링크가 올바르지 않습니다" in wrong.text


def test_next_leads_back_only_within_the_dashboard(app, shop):
    for asked, lands in [("/dashboard/checkouts?status=open", "/dashboard/checkouts?status=open"),
                         ("//evil.example/dashboard", "/dashboard"), ("https://evil.example/", "/dashboard"),
                         ("/c/chk_x", "/dashboard")]:
        dash = Dashboard(app)
        dash.get("/dashboard/login", next=asked)
        response = dash.post("/dashboard/login", {"api_key": shop.api_key, "next": asked})
        assert response.status_code == 303
        assert response.headers["location"] == app + lands


# --- 2. the cookie ------------------------------------------------------------------------------------

def test_a_right_key_sets_an_opaque_httponly_strict_cookie_that_dies_at_logout(app, shop, local_db, figures):
    dash = Dashboard(app)
    dash.get("/dashboard/login")
    pre_session = dash.http.cookies.get("dashboard_presession")
    response = dash.post("/dashboard/login", {"api_key": shop.api_key})
    assert response.status_code == 303 and response.headers["location"] == f"{app}/dashboard"
    [cookie] = [c for c in set_cookie_headers(response) if c.startswith("dashboard_session=")]
    attributes = [a.strip() for a in cookie.split(";")]
    value = attributes[0].split("=", 1)[1]
    assert {"HttpOnly", "SameSite=Strict", "Path=/dashboard"} <= set(attributes)
    assert "Secure" not in attributes  # plain-http loopback only
    assert len(value) >= 43 and value != pre_session and shop.api_key not in cookie
    assert local_db.get(f"DSESSION#{value}", "SESSION") is None, "the table keeps only the cookie's hash"
    assert dash.get("/dashboard").status_code == 200

    dash.get("/dashboard")
    assert dash.post("/dashboard/logout").status_code == 303
    replay = Dashboard(app)
    replay.http.cookies.set("dashboard_session", value, path="/dashboard")
    assert replay.get("/dashboard").status_code == 303
    figures.add("dashboard", "session cookie: HttpOnly, SameSite=Strict, Path, opaque; replayed after logout", 1,
                accepted=0, expect="0 accepted (flags set; replay 303 to sign-in)")


def test_over_https_the_cookie_is_secure(app, shop):
    origin = "https://" + urlsplit(app).netloc
    page = requests.get(f"{app}/dashboard/login", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    [pre] = set_cookie_headers(page)
    assert "Secure" in [a.strip() for a in pre.split(";")]
    token = flow.csrf_token(page.text)
    response = requests.post(f"{app}/dashboard/login", data={"api_key": shop.api_key, "csrf_token": token},
                             headers={"X-Forwarded-Proto": "https", "Origin": origin, "Cookie": pre.split(";")[0]},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 303, response.text[:300]
    [cookie] = [c for c in set_cookie_headers(response) if c.startswith("dashboard_session=")]
    assert {"Secure", "HttpOnly", "SameSite=Strict"} <= {a.strip() for a in cookie.split(";")}


def test_a_session_ends_after_an_hour_idle_or_eight_hours_in_all(app, shop, monkeypatch):
    start = clock.now_s()
    dash = signed_in(app, shop)
    for offset in (59 * 60, 118 * 60):
        monkeypatch.setattr(clock, "now_s", lambda o=offset: start + o)
        assert dash.get("/dashboard/settings").status_code == 200  # touched within the hour each time
    monkeypatch.setattr(clock, "now_s", lambda: start + 118 * 60 + 3600)
    assert dash.get("/dashboard/settings").status_code == 303

    fresh = signed_in(app, shop)
    started = clock.now_s()
    for minutes, expected in [*((50 * k, 200) for k in range(1, 10)), (479, 200), (481, 303)]:
        monkeypatch.setattr(clock, "now_s", lambda m=minutes: started + m * 60)
        assert fresh.get("/dashboard/settings").status_code == expected, minutes


def test_a_cookie_planted_before_sign_in_is_never_the_session(app, shop, local_db, figures):
    attacker = "planted-session-value-0123456789abcdefghijklmnop"
    dash = Dashboard(app)
    dash.http.cookies.set("dashboard_session", attacker, path="/dashboard")
    dash.http.cookies.set("dashboard_presession", attacker, path="/dashboard")
    dash.get("/dashboard/login")
    signed = dash.post("/dashboard/login", {"api_key": shop.api_key})
    [cookie] = [c for c in set_cookie_headers(signed) if c.startswith("dashboard_session=")]
    issued = cookie.split(";")[0].split("=", 1)[1]
    assert issued and issued != attacker
    thief = Dashboard(app)
    thief.http.cookies.set("dashboard_session", attacker, path="/dashboard")
    assert thief.get("/dashboard").status_code == 303
    figures.add("dashboard", "session fixation: a cookie planted before sign-in", 1, accepted=0)


# --- 3. another merchant's objects ------------------------------------------------------------------------

def test_another_merchants_checkout_event_and_link_are_404_as_unknown_ids(app, shop, other_shop, kc_fake, figures):
    paid = complete_payment(app, kc_fake, shop.id, shop.api_key)
    [event] = events_of(app, shop, paid["id"])
    link = api(app, shop, "POST", "/api/payment-links", {
        "line_items": [{"name": "차", "unit_amount": 1000, "quantity": 1}], "currency": "KRW",
        "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no"})
    api(app, shop, "POST", "/api/promotion-codes", {"code": "MINE10", "type": "percentage", "value": 10})
    intruder = signed_in(app, other_shop)
    tries = Refusals()
    assert intruder.get("/dashboard/checkouts/chk_0000000000000000000000000").status_code == 404
    tries.expect(intruder.get(f"/dashboard/checkouts/{paid['id']}"), 404)
    intruder.get("/dashboard")
    tries.expect(intruder.post(f"/dashboard/events/{event['id']}/resend"), 404)
    intruder.get("/dashboard")
    tries.expect(intruder.post(f"/dashboard/payment-links/{link['id']}/deactivate"), 404)
    intruder.get("/dashboard")
    tries.expect(intruder.post("/dashboard/promotion-codes/MINE10/deactivate"), 404)
    intruder.get("/dashboard")
    tries.expect(intruder.post(f"/dashboard/checkouts/{paid['id']}/refund", {"amount": "1", "idempotency_key": "k" * 16}), 404)
    tries.expect(intruder.post(f"/dashboard/checkouts/{paid['id']}/cancel"), 404)
    search = tries.expect(intruder.get("/dashboard/checkouts", q=paid["id"]), 200)
    assert f"data-checkout=\"{paid['id']}\"" not in search.text
    assert api(app, shop, "GET", f"/api/payment-links/{link['id']}")["active"] is True
    assert api(app, shop, "GET", "/api/promotion-codes/MINE10")["active"] is True
    assert events_of(app, shop, paid["id"])[0]["attempts"] == 1 and kc_fake.refund_requests == []
    figures.add("dashboard", "another merchant's checkout, event, code, link, refund, cancel, search", tries.count, accepted=0,
                expect="0 accepted (404 as unknown)")


# --- 4. CSRF and Origin -------------------------------------------------------------------------------------

def test_a_post_without_our_csrf_token_or_origin_is_403_and_changes_nothing(app, shop, other_shop, figures):
    checkout = flow.create_checkout(app, shop.api_key, "https://shop.example")
    dash = signed_in(app, shop)
    other = signed_in(app, other_shop)
    other.get("/dashboard")
    foreign_token = other.field("csrf_token")
    dash.get(f"/dashboard/checkouts/{checkout['id']}")
    own_token = dash.field("csrf_token")
    cases = {
        "no token": {"csrf": ""},
        "another session's token": {"csrf": foreign_token},
        "a made-up token": {"csrf": "0" * 48},
        "foreign Origin": {"csrf": own_token, "origin": "https://evil.example"},
        "no Origin": {"csrf": own_token, "origin": None},
        "null Origin": {"csrf": own_token, "origin": "null"},
    }
    refused = 0
    for case in cases.values():
        for path in (f"/dashboard/checkouts/{checkout['id']}/cancel", "/dashboard/developers/rotate-key", "/dashboard/logout"):
            response = dash.post(path, **case)
            assert response.status_code == 403, (case, path, response.status_code)
            assert "Traceback" not in response.text
            refused += 1
    assert api(app, shop, "GET", f"/api/checkouts/{checkout['id']}")["status"] == "open"
    assert requests.get(f"{app}/api/checkouts/{checkout['id']}", headers=shop.headers, timeout=10).status_code == 200
    assert dash.get("/dashboard").status_code == 200, "still signed in: the logout POSTs were refused"
    dash.get("/dashboard")
    assert dash.post(f"/dashboard/checkouts/{checkout['id']}/cancel").status_code == 303
    assert api(app, shop, "GET", f"/api/checkouts/{checkout['id']}")["status"] == "cancelled"
    figures.add("dashboard", "POST without our CSRF token or Origin", refused, accepted=0)


def test_the_sign_in_form_needs_the_pre_session_token_and_our_origin(app, shop, figures):
    dash = Dashboard(app)
    dash.get("/dashboard/login")
    token = dash.field("csrf_token")
    stranger = Dashboard(app)
    tries = Refusals()
    tries.expect(stranger.post("/dashboard/login", {"api_key": shop.api_key}, csrf=token), 403)
    tries.expect(dash.post("/dashboard/login", {"api_key": shop.api_key}, origin="https://evil.example"), 403)
    tries.expect(dash.post("/dashboard/login", {"api_key": shop.api_key}, csrf=""), 403)
    assert dash.session_cookie is None and stranger.session_cookie is None
    assert dash.post("/dashboard/login", {"api_key": shop.api_key}, csrf=token).status_code == 303
    figures.add("dashboard", "sign-in POST with a borrowed, missing token or foreign Origin", tries.count, accepted=0)


# --- 5. lockout ------------------------------------------------------------------------------------------------

def test_the_eleventh_failed_sign_in_from_one_address_is_429_even_with_the_right_key(app, shop, monkeypatch, figures):
    dash = Dashboard(app)
    dash.get("/dashboard/login")
    for _ in range(dashboard_sessions.LOCKOUT_FAILURES):
        assert dash.post("/dashboard/login", {"api_key": "sk_test_wrong" + "x" * 20}).status_code == 401
    tries = Refusals()
    locked = tries.expect(dash.post("/dashboard/login", {"api_key": shop.api_key}), 429)
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    assert dash.session_cookie is None and "Traceback" not in locked.text
    link = admin(["merchant", "login-link", "--id", shop.id, "--base-url", app])
    path = urlsplit(link["url"]).path
    dash.get(path)
    tries.expect(dash.post(path), 429)  # a login link is no way around the lockout
    # An X-Forwarded-For header chosen by the client does not pick the address that is counted.
    spoofed = Dashboard(app)
    spoofed.headers = {"X-Forwarded-For": "203.0.113.9"}
    spoofed.get("/dashboard/login")
    tries.expect(spoofed.post("/dashboard/login", {"api_key": shop.api_key}), 429)
    later = clock.now_s() + 15 * 60 + 1
    monkeypatch.setattr(clock, "now_s", lambda: later)
    dash.get("/dashboard/login")
    assert dash.post("/dashboard/login", {"api_key": shop.api_key}).status_code == 303
    figures.add("dashboard", "sign-in after 10 failures from one IP (right key, link, spoofed XFF)", tries.count, accepted=0,
                expect="0 accepted (429)")


# --- 6. login links --------------------------------------------------------------------------------------------

def test_a_login_link_signs_in_once_and_not_after_15_minutes(app, shop, monkeypatch, local_db):
    link = admin(["merchant", "login-link", "--id", shop.id, "--base-url", app])
    assert set(link) == {"url", "expires_at"} and link["url"].startswith(f"{app}/dashboard/login/")
    token = link["url"].rsplit("/", 1)[1]
    assert len(token) >= 22 and local_db.get(f"DLOGIN#{token}", "LOGIN") is None, "stored hashed"
    dash = Dashboard(app)
    assert dash.get(urlsplit(link["url"]).path).status_code == 200
    assert dash.get(urlsplit(link["url"]).path).status_code == 200, "looking (a prefetch) spends nothing"
    assert dash.session_cookie is None
    used = dash.post(urlsplit(link["url"]).path)
    assert used.status_code == 303 and dash.session_cookie
    assert dash.get("/dashboard").status_code == 200

    again = Dashboard(app)
    again.get(urlsplit(link["url"]).path)
    assert 'action="' + link["url"] not in again.last, "a spent link shows no button"
    again.get("/dashboard/login")  # a tab left open on the link's page still holds a form token
    spent = again.post(urlsplit(link["url"]).path)
    assert spent.status_code == 401 and again.session_cookie is None
    wrong_key = Dashboard(app)
    wrong_key.get("/dashboard/login")
    refused = wrong_key.post("/dashboard/login", {"api_key": "sk_test_nope" + "x" * 20})
    message = re.search(r'role="alert"[^>]*><p>([^<]+)</p>', refused.text)
    assert message and message.group(1) in spent.text, "one message for a wrong key and a spent link"

    late = admin(["merchant", "login-link", "--id", shop.id, "--base-url", app])
    issued = clock.now_s()
    monkeypatch.setattr(clock, "now_s", lambda: issued + 15 * 60)
    stale = Dashboard(app)
    stale.get("/dashboard/login")
    assert stale.post(urlsplit(late["url"]).path).status_code == 401 and stale.session_cookie is None


# --- 7. counters -------------------------------------------------------------------------------------------------

def overview_numbers(dash: Dashboard, period: str = "today") -> dict[str, Any]:
    page = dash.get("/dashboard", period=period)
    assert page.status_code == 200, page.text[:500]
    html = page.text
    funnel = {step: int(count) for step, count in re.findall(
        r'<tr data-step="(\w+)">.*?data-count>(\d+)</td>', html)}
    revenue = {cur: (int(total), int(refunded)) for cur, total, refunded in re.findall(
        r'<table id="revenue-(\w+)".*?data-total="(\d+)".*?data-refunded="(\d+)"', html, re.S)}
    hooks = [(int(ok), int(tried)) for ok, tried in re.findall(
        r'<tr><th scope="row">[\d-]+</th><td>(\d+)</td><td>(\d+)</td>', html.split('<table id="webhooks"', 1)[1])]
    return {"funnel": funnel, "revenue": revenue, "hooks": (sum(h[0] for h in hooks), sum(h[1] for h in hooks))}


def test_the_funnel_counts_each_open_submit_and_payment_exactly_once(app, shop, kc_fake, receiver):
    created = [flow.create_checkout(app, shop.api_key, "https://shop.example",
                                    line_items=[{"name": "차", "unit_amount": 10000 + 1000 * i, "quantity": 1}])
               for i in range(6)]
    browsers = [requests.Session() for _ in created]
    # Opens: five of the six, one of them three times over in two tabs.
    for checkout, browser in list(zip(created, browsers, strict=True))[:5]:
        browser.get(checkout["url"], timeout=10)
    for _ in range(2):
        requests.get(created[0]["url"], timeout=10)
    # Submits: four; one double-clicked, one from two tabs at once.
    for checkout, browser in list(zip(created, browsers, strict=True))[:4]:
        token = flow.csrf_token(browser.get(checkout["url"], timeout=10).text)
        clicks = 2 if checkout is created[0] else 1
        for _ in range(clicks):
            submitted = browser.post(checkout["url"], data={**flow.GOOD_FORM, "csrf_token": token},
                                     allow_redirects=False, timeout=30)
            assert submitted.status_code == 303
    barrier = threading.Barrier(2)

    tab = requests.Session()
    page = tab.get(created[4]["url"], timeout=10)  # opened already: counted once

    def second_tab() -> None:
        barrier.wait()
        tab.post(created[4]["url"], data={**flow.GOOD_FORM, "csrf_token": flow.csrf_token(page.text)},
                 allow_redirects=False, timeout=30)

    first_tab = requests.Session()
    first_page = first_tab.get(created[4]["url"], timeout=10)
    thread = threading.Thread(target=second_tab)
    thread.start()
    barrier.wait()
    first_tab.post(created[4]["url"], data={**flow.GOOD_FORM, "csrf_token": flow.csrf_token(first_page.text)},
                   allow_redirects=False, timeout=30)
    thread.join()
    # Payments: three; every notification sent twice, and one also confirmed on the return route.
    paid_total = 0
    for checkout in created[:3]:
        session_id = kc_fake.session_for(checkout["id"])["sessionId"]
        kc_fake.pay(session_id)
        body, headers = kc_fake.notification("payment.completed", session_id)
        assert notify(app, shop.id, body, headers).status_code == 200
        # The provider's retry of the same notification (KoreaCheckout's replay guard may refuse it).
        assert notify(app, shop.id, body, headers).status_code in (200, 400)
        paid_total += checkout["amount_total"]
    requests.get(f"{app}/c/{created[0]['id']}/return", allow_redirects=False, timeout=20)
    # A partial refund: money apart from revenue.
    refund = requests.post(f"{app}/api/checkouts/{created[2]['id']}/refunds", headers=shop.headers,
                           data=json.dumps({"amount": 2500}), timeout=20)
    assert refund.status_code == 201, refund.text

    numbers = overview_numbers(signed_in(app, shop))
    assert numbers["funnel"] == {"opened": 5, "submitted": 5, "paid": 3}
    assert numbers["revenue"] == {"KRW": (paid_total, 2500)}
    assert numbers["hooks"] == (len(receiver.deliveries), len(receiver.deliveries)) == (4, 4)


def test_an_event_resent_by_hand_is_one_more_delivery_attempt(app, shop, kc_fake, receiver):
    paid = complete_payment(app, kc_fake, shop.id, shop.api_key)
    dash = signed_in(app, shop)
    [event] = events_of(app, shop, paid["id"])
    dash.get(f"/dashboard/checkouts/{paid['id']}")
    receiver.responses = [500]
    assert dash.post(f"/dashboard/events/{event['id']}/resend").status_code == 303
    detail = dash.get(f"/dashboard/checkouts/{paid['id']}").text
    assert re.findall(r'data-delivery-status="(\w+)"', detail) == ["204", "500"]
    assert overview_numbers(dash)["hooks"] == (1, 2)
    developers = dash.get("/dashboard/developers").text
    assert re.search(r"data-delivered>1<", developers) and re.search(r"data-failed>1<", developers)
    assert event["id"] in developers.split('id="failures"', 1)[1]


# --- 8. refunds from the dashboard ----------------------------------------------------------------------------------

def test_one_idempotency_key_sent_twice_refunds_once(app, shop, kc_fake):
    paid = complete_payment(app, kc_fake, shop.id, shop.api_key)
    dash = signed_in(app, shop)
    dash.get(f"/dashboard/checkouts/{paid['id']}")
    key, token = dash.field("idempotency_key"), dash.field("csrf_token")
    form = {"amount": "5000", "reason": "고객 요청", "idempotency_key": key}
    first = dash.post(f"/dashboard/checkouts/{paid['id']}/refund", form, csrf=token)
    second = dash.post(f"/dashboard/checkouts/{paid['id']}/refund", form, csrf=token)
    assert first.status_code == second.status_code == 303
    assert len(kc_fake.refund_requests) == 1 and kc_fake.refund_requests[0]["amount"] == 5000
    now = api(app, shop, "GET", f"/api/checkouts/{paid['id']}")
    assert (now["status"], now["amount_refunded"]) == ("partially_refunded", 5000)
    # Empty amount: what remains, on a fresh form.
    dash.get(f"/dashboard/checkouts/{paid['id']}")
    assert dash.post(f"/dashboard/checkouts/{paid['id']}/refund",
                     {"amount": "", "reason": "", "idempotency_key": dash.field("idempotency_key")}).status_code == 303
    assert api(app, shop, "GET", f"/api/checkouts/{paid['id']}")["status"] == "refunded"
    assert [r["amount"] for r in kc_fake.refund_requests] == [5000, paid["amount_total"] - 5000]


@pytest.mark.parametrize(("fault", "status", "code"), [
    ("refused", 422, "refund_rejected"), ("unconfirmed", 502, "provider_error"),
    ("too_much", 422, "refund_exceeds_remaining"), ("not_a_number", 422, "invalid_refund_amount"),
    ("too_many_digits", 422, "invalid_refund_amount")])
def test_a_refused_or_unconfirmed_refund_shows_its_status_and_changes_nothing(app, shop, kc_fake, fault, status, code, figures):
    paid = complete_payment(app, kc_fake, shop.id, shop.api_key)
    session_id = kc_fake.session_for(paid["id"])["sessionId"]
    amount = {"too_much": "22001", "not_a_number": "12,3a", "too_many_digits": "1.5"}.get(fault, "1000")
    if fault == "refused":
        kc_fake.sessions[session_id]["refunded"] = paid["amount_total"]
    if fault == "unconfirmed":
        kc_fake.faults = ["500"]
    dash = signed_in(app, shop)
    before = (api(app, shop, "GET", f"/api/checkouts/{paid['id']}"), events_of(app, shop, paid["id"]))
    dash.get(f"/dashboard/checkouts/{paid['id']}")
    response = dash.post(f"/dashboard/checkouts/{paid['id']}/refund",
                         {"amount": amount, "reason": "", "idempotency_key": dash.field("idempotency_key")})
    assert response.status_code == status, response.text[:500]
    assert f"<code>{code}</code>" in response.text and f"value=\"{amount}\"" in response.text
    after = (api(app, shop, "GET", f"/api/checkouts/{paid['id']}"), events_of(app, shop, paid["id"]))
    assert after == before
    figures.add("dashboard", f"refund {fault}", 1, accepted=0,
                expect=f"0 accepted ({status} {code})")


def test_a_sandbox_checkout_says_where_to_refund(app, other_shop):
    checkout = flow.create_checkout(app, other_shop.api_key, "https://shop.example")
    with requests.Session() as browser:
        submitted = flow.submit_form(browser, checkout["url"])
        approved = flow.sandbox_action(browser, submitted.headers["location"], "approve")
        browser.get(approved.headers["location"], allow_redirects=False, timeout=20)
    page = signed_in(app, other_shop).get(f"/dashboard/checkouts/{checkout['id']}").text
    assert "/refund\"" not in page and "sandbox" in page


# --- 9. rotating the key ----------------------------------------------------------------------------------------------

def test_rotate_shows_the_new_key_once_and_the_old_one_is_refused(app, shop):
    dash = signed_in(app, shop)
    elsewhere = signed_in(app, shop)
    dash.get("/dashboard/developers")
    rotated = dash.post("/dashboard/developers/rotate-key")
    assert rotated.status_code == 200
    new_key = re.search(r'id="new-key">(sk_test_[0-9A-Za-z]+)<', rotated.text).group(1)
    assert new_key != shop.api_key and rotated.headers["cache-control"] == "no-store"
    shown = dash.get("/dashboard/developers").text
    assert new_key not in shown and f"sk_test_…{new_key[-4:]}" in shown
    assert requests.get(f"{app}/api/checkouts", headers=shop.headers, timeout=10).status_code == 401
    assert requests.get(f"{app}/api/checkouts", headers={"x-api-key": new_key}, timeout=10).status_code == 200
    assert elsewhere.get("/dashboard").status_code == 303, "the merchant's other sessions end with the old key"
    assert dash.get("/dashboard").status_code == 200, "this one goes on"


def test_webhook_test_sends_one_signed_uncounted_delivery_and_shows_its_status(app, shop, receiver):
    dash = signed_in(app, shop)
    before = overview_numbers(dash)["hooks"]
    dash.get("/dashboard/developers")
    receiver.responses = [418]
    answer = dash.post("/dashboard/developers/test-event")
    assert answer.status_code == 200 and 'data-test-status="418"' in answer.text
    [delivery] = receiver.verified(shop.webhook_secret)
    assert delivery["type"] == "webhook.test"
    assert overview_numbers(dash)["hooks"] == before, "not counted"
    assert re.search(r"data-failed>0<", dash.get("/dashboard/developers").text)


# --- 10. secrets never shown or logged -----------------------------------------------------------------------------------

def test_no_page_or_log_holds_a_webhook_secret_credential_or_full_key(app, shop, kc_fake, caplog, figures, local_db):
    caplog.set_level(logging.INFO)
    paid = complete_payment(app, kc_fake, shop.id, shop.api_key)
    dash = Dashboard(app)
    dash.get("/dashboard/login")
    dash.post("/dashboard/login", {"api_key": shop.api_key + "x"})
    dash.sign_in(shop.api_key)
    link = api(app, shop, "POST", "/api/payment-links", {
        "line_items": [{"name": "차", "unit_amount": 1000, "quantity": 1}], "currency": "KRW",
        "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no"})
    pages = [dash.get(p) for p in ("/dashboard", "/dashboard?period=90d", "/dashboard/checkouts",
                                   f"/dashboard/checkouts/{paid['id']}", "/dashboard/promotion-codes",
                                   "/dashboard/payment-links", "/dashboard/developers", "/dashboard/settings",
                                   "/dashboard/settings/preview", f"/dashboard/checkouts?q={paid['id']}")]
    dash.get("/dashboard/developers")
    pages.append(dash.post("/dashboard/developers/test-event"))
    dash.get("/dashboard/developers")
    rotated = dash.post("/dashboard/developers/rotate-key")
    new_key = re.search(r'id="new-key">([^<]+)<', rotated.text).group(1)
    pages += [dash.get("/dashboard/developers"), dash.get("/dashboard/settings")]
    secrets = [shop.api_key, shop.webhook_secret, shop.webhook_secret.removeprefix("whsec_"), *credentials(kc_fake).values()]
    logged = "\n".join(logging.getLogger().handlers[0].formatter.format(r) if logging.getLogger().handlers else r.getMessage()
                       for r in caplog.records)
    for response in pages:
        assert response.status_code == 200, response.url
        for secret in [*secrets, new_key]:
            assert secret not in response.text, (response.url, secret[:8])
        assert dash.session_cookie not in response.text
    assert "api_key" in dash.get("/dashboard/developers").text or "sk_test_…" in pages[-2].text
    for secret in [*secrets, new_key, dash.session_cookie]:
        assert secret not in logged
    text = table_text(local_db)
    assert shop.api_key not in text and new_key not in text and dash.session_cookie not in text
    assert link["id"] in pages[5].text
    figures.add("dashboard", "pages, logs and table items searched for keys, secrets, credentials, cookies",
                len(pages), accepted=0, expect="0 accepted (no secret found)")


# --- 12. a DynamoDB fault ------------------------------------------------------------------------------------------------

def test_a_dynamodb_fault_is_a_friendly_503_page(app, shop, local_db, monkeypatch, figures):
    dash = signed_in(app, shop)
    from botocore.exceptions import ClientError

    real_query = local_db.client.query

    def throttled(**kwargs: Any) -> Any:
        if kwargs.get("KeyConditionExpression", "").find("BETWEEN") >= 0:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                               "ResponseMetadata": {"HTTPStatusCode": 400}}, "Query")
        return real_query(**kwargs)

    monkeypatch.setattr(local_db.client, "query", throttled)
    response = dash.get("/dashboard")
    assert response.status_code == 503
    assert response.headers["content-type"] == "text/html; charset=utf-8" and response.headers["cache-control"] == "no-store"
    assert "Traceback" not in response.text and "botocore" not in response.text and "Throughput" not in response.text
    assert "503" in response.text
    figures.add("dashboard", "DynamoDB throttling under the overview", 1, expect="friendly 503 page")


# --- the README's curl examples, from the dashboard only ---------------------------------------------------------------------

def test_a_merchant_does_what_the_readmes_curl_examples_do_from_the_dashboard_alone(app, shop, kc_fake, receiver):
    paid = complete_payment(app, kc_fake, shop.id, shop.api_key, client_reference_id="order-123")
    dash = signed_in(app, shop)
    # See the paid checkout: listed, found by its reference, read in full.
    listing = dash.get("/dashboard/checkouts", status="complete").text
    assert paid["id"] in listing
    assert paid["id"] in dash.get("/dashboard/checkouts", q="order-123").text
    assert paid["id"] in dash.get("/dashboard/checkouts", q="gildong@example.com").text
    detail = dash.get(f"/dashboard/checkouts/{paid['id']}").text
    assert 'data-status="complete"' in detail and "₩22,000" in detail.replace("22,000원", "₩22,000")
    # Refund part of it.
    assert dash.post(f"/dashboard/checkouts/{paid['id']}/refund",
                     {"amount": "5000", "reason": "", "idempotency_key": dash.field("idempotency_key")}).status_code == 303
    detail = dash.get(f"/dashboard/checkouts/{paid['id']}").text
    assert 'data-status="partially_refunded"' in detail
    # Resend its event.
    completed = re.search(r'<li data-kind="checkout.completed">.*?action="[^"]*/dashboard/events/(evt_\w+)/resend"', detail, re.S)
    before = len(receiver.deliveries)
    assert dash.post(f"/dashboard/events/{completed.group(1)}/resend").status_code == 303
    assert len(receiver.deliveries) == before + 1
    # Create a promotion code, then turn it off.
    dash.get("/dashboard/promotion-codes")
    made = dash.post("/dashboard/promotion-codes", {"code": "WELCOME10", "type": "percentage", "value": "10",
                                                    "usage_limit": "100", "usage_limit_per_customer": "1"})
    assert made.status_code == 303, made.text[:800]
    assert 'data-code="WELCOME10"' in dash.get("/dashboard/promotion-codes").text
    assert dash.post("/dashboard/promotion-codes/WELCOME10/deactivate").status_code == 303
    code = api(app, shop, "GET", "/api/promotion-codes/WELCOME10")
    assert (code["active"], code["value"], code["usage_limit"], code["usage_limit_per_customer"]) == (False, 10, 100, 1)
    # A bad code re-renders with the values kept.
    dash.get("/dashboard/promotion-codes")
    bad = dash.post("/dashboard/promotion-codes", {"code": "X", "type": "percentage", "value": "10"})
    assert bad.status_code == 422 and 'value="X"' in bad.text
    # Create a payment link, then turn it off.
    dash.get("/dashboard/payment-links")
    made = dash.post("/dashboard/payment-links", {"name": "녹차", "unit_amount": "29000", "quantity": "1", "currency": "KRW",
                                                  "success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart"})
    assert made.status_code == 303, made.text[:800]
    links = dash.get("/dashboard/payment-links").text
    link_id = re.search(r'data-link="(plink_\w+)"', links).group(1)
    assert f"{app}/l/{link_id}" in links
    assert requests.get(f"{app}/l/{link_id}", allow_redirects=False, timeout=10).status_code == 303
    assert dash.post(f"/dashboard/payment-links/{link_id}/deactivate").status_code == 303
    assert requests.get(f"{app}/l/{link_id}", allow_redirects=False, timeout=10).status_code == 410
    # Cancel an open one.
    open_one = flow.create_checkout(app, shop.api_key, "https://shop.example")
    dash.get(f"/dashboard/checkouts/{open_one['id']}")
    assert dash.post(f"/dashboard/checkouts/{open_one['id']}/cancel").status_code == 303
    assert api(app, shop, "GET", f"/api/checkouts/{open_one['id']}")["status"] == "cancelled"


def test_settings_are_checked_as_merchant_create_and_kept_on_error(app, shop, local_db):
    dash = signed_in(app, shop)
    dash.get("/dashboard/settings")
    form = {"name": "새 이름", "brand_color": "#12ab34", "button_radius": "12", "logo_url": "https://cdn.shop.example/logo.png",
            "allowed_hosts": "shop.example\n*.shop.example", "locale": "en", "support_email": "cs@shop.example"}
    assert dash.post("/dashboard/settings", form).status_code == 303
    saved = merchants.get(local_db, shop.id, fresh=True)
    assert (saved.name, saved.brand_color, saved.button_radius, saved.locale, saved.allowed_hosts) == (
        "새 이름", "#12AB34", 12, "en", ["shop.example", "*.shop.example"])
    for field, bad in [("brand_color", "red"), ("button_radius", "99"), ("logo_url", "http://x.example/l.png"),
                       ("support_email", "nope"), ("allowed_hosts", "not a host"), ("name", " ")]:
        dash.get("/dashboard/settings")
        response = dash.post("/dashboard/settings", {**form, field: bad})
        assert response.status_code == 422, field
        assert "Nothing was changed" in response.text
        if field != "allowed_hosts":
            assert f'value="{bad}"' in response.text, field
    assert merchants.get(local_db, shop.id, fresh=True).brand_color == "#12AB34"
    preview = dash.get("/dashboard/settings/preview", brand_color="#FF0000", name="미리보기", button_radius="3")
    assert preview.status_code == 200 and "--primary-color:#FF0000" in preview.text and "미리보기" in preview.text
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    assert preview.headers["x-frame-options"] == "SAMEORIGIN"
    assert "form-action 'none'" in preview.headers["content-security-policy"]
    other = dash.get("/dashboard/settings")
    assert "frame-ancestors 'none'" in other.headers["content-security-policy"] and other.headers["x-frame-options"] == "DENY"
    assert "daum" not in other.headers["content-security-policy"] and "kakao" not in other.headers["content-security-policy"]


def test_checkouts_filter_by_status_provider_and_kst_dates_and_page_by_50(app, other_shop, local_db, monkeypatch):
    start = clock.now_s()
    ids = []
    for i in range(53):
        monkeypatch.setattr(clock, "now_s", lambda i=i: start - 86400 * (i // 20))  # 20 a day, three days
        ids.append(flow.create_checkout(app, other_shop.api_key, "https://shop.example", client_reference_id=f"r-{i}")["id"])
    monkeypatch.setattr(clock, "now_s", lambda: start)
    dash = signed_in(app, other_shop)
    first = dash.get("/dashboard/checkouts").text
    shown = re.findall(r'<tr data-checkout="(chk_\w+)"', first)
    assert len(shown) == 50 and set(shown) <= set(ids)
    after = re.search(r'href="\?after=(chk_\w+)"', first.replace("&amp;", "&")).group(1)
    rest = re.findall(r'<tr data-checkout="(chk_\w+)"', dash.get("/dashboard/checkouts", after=after).text)
    assert len(rest) == 3 and not set(rest) & set(shown)
    from chalicelib.domain.counters import kst_day

    today = kst_day(start)
    only_today = re.findall(r'<tr data-checkout="(chk_\w+)"', dash.get("/dashboard/checkouts", **{"from": today, "to": today}).text)
    assert sorted(only_today) == sorted(ids[:20])
    assert re.findall(r'<tr data-checkout="(chk_\w+)"', dash.get("/dashboard/checkouts", status="complete").text) == []
    # The default expiry is a day: today's are open, the older ones read as expired.
    assert len(re.findall(r'<tr data-checkout', dash.get("/dashboard/checkouts", status="open", provider="sandbox").text)) == 20
    assert len(re.findall(r'<tr data-checkout', dash.get("/dashboard/checkouts", status="expired").text)) == 33
    assert len(re.findall(r'<tr data-checkout', dash.get("/dashboard/checkouts", provider="koreacheckout").text)) == 0
    assert re.findall(r'<tr data-checkout="(chk_\w+)"', dash.get("/dashboard/checkouts", q="r-7").text) == [ids[7]]
    assert dash.get("/dashboard/checkouts", status="paid-ish").status_code == 400


def test_search_finds_a_checkout_by_the_customer_email_it_was_created_with_in_one_query(app, other_shop, local_db):
    made = flow.create_checkout(app, other_shop.api_key, "https://shop.example", customer={"email": "Kim@Shop.example"})
    flow.create_checkout(app, other_shop.api_key, "https://shop.example", customer={"email": "lee@shop.example"})
    dash = signed_in(app, other_shop)
    calls: list[str] = []
    local_db.client.meta.events.register("before-call.dynamodb.Query", lambda model, **kw: calls.append(model.name))
    found = re.findall(r'<tr data-checkout="(chk_\w+)"', dash.get("/dashboard/checkouts", q="kim@shop.example").text)
    assert found == [made["id"]] and calls == ["Query"]
    assert re.findall(r'<tr data-checkout="(chk_\w+)"', dash.get("/dashboard/checkouts", q=made["id"]).text) == [made["id"]]
    assert re.findall(r'<tr data-checkout', dash.get("/dashboard/checkouts", q="kim@shop").text) == []


def test_the_language_is_the_merchants_until_lang_picks_another_which_is_kept(app, other_shop):
    dash = signed_in(app, other_shop)
    assert '<html lang="ko">' in dash.get("/dashboard/checkouts").text
    assert '<html lang="en">' in dash.get("/dashboard", lang="en").text
    following = dash.get("/dashboard/checkouts").text
    assert '<html lang="en">' in following and "<h1>Checkouts</h1>" in following
    assert '<html lang="ko">' in dash.get("/dashboard/settings", lang="ko").text
    assert '<html lang="ko">' in dash.get("/dashboard/developers").text


def test_the_list_shows_checkouts_indexed_before_microseconds_once_each_with_or_without_dates(app, other_shop, local_db):
    import dataclasses

    from chalicelib.domain import ids
    from chalicelib.domain.counters import kst_day

    new = flow.create_checkout(app, other_shop.api_key, "https://shop.example")
    older = dataclasses.replace(local_db.get_checkout(new["id"]), id=ids.new_id("chk"), created_at_us=None)
    local_db.create_checkout(older)
    dash = signed_in(app, other_shop)
    today = kst_day(clock.now_s())
    for query in ({}, {"from": today}, {"from": today, "to": today}, {"to": today}):
        rows = re.findall(r'<tr data-checkout="(chk_\w+)"', dash.get("/dashboard/checkouts", **query).text)
        assert rows == [new["id"], older.id], query


def test_settings_carry_the_business_profile_checked_as_the_cli_checks_it(app, shop, local_db):
    from chalicelib.domain import business

    digits = next(f"{n}{d}" for n in range(123456789, 123456889) for d in range(10)
                  if business.is_valid_registration_number(f"{n}{d}"))
    wrong = digits[:9] + str((int(digits[9]) + 1) % 10)
    dash = signed_in(app, shop)
    dash.get("/dashboard/settings")
    form = {"name": "테스트 상점", "brand_color": "#1A56DB", "button_radius": "8", "logo_url": "",
            "allowed_hosts": "shop.example", "locale": "ko", "support_email": "help@shop.example",
            "business_name": "차 상회", "business_registration_number": f"{digits[:3]}-{digits[3:5]}-{digits[5:]}",
            "business_return_shipping_fee": "3000"}
    assert dash.post("/dashboard/settings", form).status_code == 303
    saved = merchants.get(local_db, shop.id, fresh=True).business
    assert saved == {"name": "차 상회", "registration_number": digits, "return_shipping_fee": 3000}
    page = dash.get("/dashboard/settings").text
    assert 'value="차 상회"' in page and f'value="{digits}"' in page
    refused = dash.post("/dashboard/settings", {**form, "business_registration_number": wrong})
    assert refused.status_code == 422 and "<code>invalid_registration_number</code>" in refused.text
    assert f'value="{wrong}"' in refused.text
    assert merchants.get(local_db, shop.id, fresh=True).business["registration_number"] == digits
