"""The whole product over HTTP: API → page → sandbox → return → merchant site, webhook verified.

Runs on moto and on DynamoDB Local.
"""
import pytest
import requests

from tests.conftest import create_merchant
from tests.flow import MerchantSite, create_checkout, sandbox_action, submit_form


@pytest.fixture
def site():
    s = MerchantSite()
    yield s
    s.close()


def test_a_shopper_pays_and_the_merchant_is_told(any_db, receiver, live_server, site):
    merchant = create_merchant(any_db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    assert checkout["url"] == f"{live_server.url}/c/{checkout['id']}"
    shopper = requests.Session()

    submitted = submit_form(shopper, checkout["url"])
    assert submitted.status_code == 303, submitted.text[:500]
    sandbox_url = submitted.headers["location"]
    assert sandbox_url.startswith(f"{live_server.url}/sandbox/sbx_")

    approved = sandbox_action(shopper, sandbox_url, "approve")
    assert approved.status_code == 303
    assert approved.headers["location"] == f"{checkout['url']}/return"

    returned = shopper.get(approved.headers["location"], allow_redirects=False, timeout=10)
    assert returned.status_code == 303
    assert returned.headers["location"] == f"{site.url}/thanks?checkout={checkout['id']}"
    assert shopper.get(returned.headers["location"], timeout=10).status_code == 200
    assert site.visits == [f"/thanks?checkout={checkout['id']}"]

    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert read["status"] == "complete"
    assert read["payment"]["amount"] == 22000 and read["payment"]["currency"] == "KRW"
    assert read["payment"]["provider_session_id"] == sandbox_url.rsplit("/", 1)[1]

    events = receiver.verified(merchant.webhook_secret)
    assert [e["type"] for e in events] == ["checkout.completed"]
    assert events[0]["data"]["id"] == checkout["id"] and events[0]["data"]["status"] == "complete"
    assert events[0]["data"]["payment"]["amount"] == 22000
    headers = {k.lower() for k in receiver.deliveries[0]["headers"]}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers

    # The page now shows the paid state, with the merchant's link.
    page = shopper.get(checkout["url"], timeout=10)
    assert page.status_code == 200 and f"{site.url}/thanks?checkout={checkout['id']}" in page.text


def test_declined_then_paid(any_db, receiver, live_server, site):
    merchant = create_merchant(any_db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    shopper = requests.Session()
    declined = sandbox_action(shopper, submit_form(shopper, checkout["url"]).headers["location"], "decline")
    back = shopper.get(declined.headers["location"], allow_redirects=False, timeout=10)
    assert back.headers["location"] == f"{checkout['url']}?notice=failed"
    assert shopper.get(back.headers["location"], timeout=10).status_code == 200
    status = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert status["status"] == "open"

    paid = sandbox_action(shopper, submit_form(shopper, checkout["url"]).headers["location"], "approve")
    assert shopper.get(paid.headers["location"], allow_redirects=False, timeout=10).headers["location"].startswith(site.url)
    events = [e["type"] for e in receiver.verified(merchant.webhook_secret)]
    assert events == ["checkout.payment_failed", "checkout.completed"]


def test_cancel_at_the_provider_reopens_the_checkout(any_db, receiver, live_server, site):
    merchant = create_merchant(any_db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    shopper = requests.Session()
    cancelled = sandbox_action(shopper, submit_form(shopper, checkout["url"]).headers["location"], "cancel")
    assert cancelled.headers["location"] == f"{checkout['url']}/cancel"
    back = shopper.get(cancelled.headers["location"], allow_redirects=False, timeout=10)
    assert back.headers["location"] == f"{checkout['url']}?notice=cancelled"
    page = shopper.get(back.headers["location"], timeout=10)
    assert page.status_code == 200 and 'name="csrf_token"' in page.text and f"{site.url}/cart" in page.text
    status = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert status["status"] == "open" and receiver.deliveries == []


def test_a_bad_form_comes_back_with_errors_and_every_value_kept(db, receiver, live_server, site):
    merchant = create_merchant(db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    shopper = requests.Session()
    response = submit_form(shopper, checkout["url"], email="not-an-email", phone="12", postal_code="123",
                           agree="", address2="", name="김<b>철수</b>")
    assert response.status_code == 422
    html = response.text
    for name in ("email", "phone", "postal_code", "agree", "address2"):
        assert f'id="e-{name}"' in html, name
    assert 'aria-invalid="true"' in html and 'id="error-summary"' in html
    assert 'value="not-an-email"' in html and 'value="12"' in html and 'value="123"' in html
    assert "서울 강남구 테헤란로 152" in html and "김&lt;b&gt;철수&lt;/b&gt;" in html and "<b>철수" not in html
    status = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert status["status"] == "open"
    # Fixing the form goes through.
    assert submit_form(shopper, checkout["url"]).status_code == 303


def test_a_submit_without_a_valid_csrf_token_is_403_and_changes_nothing(db, live_server, site):
    merchant = create_merchant(db)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    from tests.flow import GOOD_FORM

    for token in ("", "123.abc", "9999999999.0000"):
        response = requests.post(checkout["url"], data={**GOOD_FORM, "csrf_token": token}, allow_redirects=False, timeout=10)
        assert response.status_code == 403 and "text/html" in response.headers["content-type"]
    status = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert status["status"] == "open"


def test_a_token_for_another_checkout_is_refused(db, live_server, site):
    merchant = create_merchant(db)
    first = create_checkout(live_server.url, merchant.api_key, site.url)
    second = create_checkout(live_server.url, merchant.api_key, site.url)
    from tests.flow import GOOD_FORM, csrf_token

    token = csrf_token(requests.get(first["url"], timeout=10).text)
    response = requests.post(second["url"], data={**GOOD_FORM, "csrf_token": token}, allow_redirects=False, timeout=10)
    assert response.status_code == 403


def test_state_pages(db, live_server, site):
    merchant = create_merchant(db)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url)
    requests.post(f"{live_server.url}/api/checkouts/{checkout['id']}/cancel", headers=merchant.headers, timeout=10)
    page = requests.get(checkout["url"], timeout=10)
    assert page.status_code == 200 and 'name="csrf_token"' not in page.text
    missing = requests.get(f"{live_server.url}/c/chk_nosuchcheckout00000000", timeout=10)
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "Traceback" not in missing.text


def test_pay_later_by_virtual_account_waits_then_completes(any_db, receiver, live_server, site):
    merchant = create_merchant(any_db, receiver.url)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url, payment_method_types=["card", "virtual_account"])
    shopper = requests.Session()
    sandbox_url = submit_form(shopper, checkout["url"], payment_method="virtual_account", bank="KDB산업은행").headers["location"]
    later = sandbox_action(shopper, sandbox_url, "pay_later")
    waiting = shopper.get(later.headers["location"], timeout=10)
    assert waiting.url == checkout["url"] and waiting.status_code == 200
    assert "KDB산업은행" in waiting.text and "22,000원" in waiting.text
    account = any_db.get_checkout(checkout["id"]).attempt.pending["account_number"]
    assert account in waiting.text
    assert receiver.deliveries == []

    deposited = sandbox_action(requests.Session(), sandbox_url, "deposit")
    assert deposited.status_code == 200
    back = shopper.get(f"{checkout['url']}/return", allow_redirects=False, timeout=10)
    assert back.headers["location"] == f"{site.url}/thanks?checkout={checkout['id']}"
    read = requests.get(f"{live_server.url}/api/checkouts/{checkout['id']}", headers=merchant.headers, timeout=10).json()
    assert read["status"] == "complete" and read["payment"]["method"] == "virtual_account"
    assert [e["type"] for e in receiver.verified(merchant.webhook_secret)] == ["checkout.completed"]


def test_an_error_page_after_an_english_form_is_in_english(db, live_server, site):
    merchant = create_merchant(db)
    checkout = create_checkout(live_server.url, merchant.api_key, site.url, locale="en")
    from tests.flow import GOOD_FORM

    response = requests.post(checkout["url"], data={**GOOD_FORM, "csrf_token": "bad", "lang": "en"}, timeout=10)
    assert response.status_code == 403 and 'lang="en"' in response.text
