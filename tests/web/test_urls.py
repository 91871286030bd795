"""URLs behind API Gateway's stage prefix and behind a custom domain: every link the
pages print, and every URL handed to a provider, must lead back to a route."""
import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from chalice.local import RouteMatcher

from tests.conftest import checkout_body, create_merchant
from tests.flow import GOOD_FORM, csrf_token

GATEWAY_HOST = "abc123.execute-api.ap-northeast-2.amazonaws.com"


class Gateway:
    """Sends API Gateway (REST, proxy) events to the app, as Lambda receives them."""

    def __init__(self, host, stage_prefix):
        from app import app

        self.app = app
        self.host = host
        self.prefix = stage_prefix
        self.matcher = RouteMatcher(list(app.routes))

    def __call__(self, method, path, headers=None, body=None):
        match = self.matcher.match_route(path)
        query = parse_qs(urlsplit(path).query) or None
        event = {
            "resource": match.route, "path": urlsplit(path).path, "httpMethod": method,
            "headers": {"host": self.host, "x-forwarded-proto": "https", **(headers or {})},
            "multiValueHeaders": {}, "pathParameters": match.captured or None, "stageVariables": None,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
            "multiValueQueryStringParameters": query,
            "body": body, "isBase64Encoded": False,
            "requestContext": {"resourcePath": match.route, "httpMethod": method, "stage": "api",
                               "path": self.prefix + urlsplit(path).path, "identity": {"sourceIp": "203.0.113.9"}},
        }
        return self.app(event, None)

    def route_for(self, url, base):
        """The path of one of our URLs, or None for somebody else's."""
        if not url.startswith(base + "/"):
            return None
        return url[len(base):]


def links(html):
    return [u.replace("&amp;", "&") for _, u in re.findall(r'(href|src|action)="([^"]*)"', html)]


def check_page_links(gateway, base, html):
    ours = []
    for url in links(html):
        if url.startswith(("https://shop.example", "http://127.0.0.1", "data:", "#", "mailto:")) or url == "":
            continue
        assert url.startswith(base + "/"), f"{url} is not under {base}"
        path = gateway.route_for(url, base)
        if path.startswith("/c/") and "?" not in path and path.count("/") == 2:
            continue  # the page itself (form action, language switch handled below)
        response = gateway("GET", path)
        assert response["statusCode"] in (200, 303), f"{url} -> {response['statusCode']}"
        ours.append(url)
    return ours


@pytest.mark.parametrize("setup", ["stage_prefix", "custom_domain"])
def test_every_url_resolves(db, receiver, monkeypatch, setup):
    if setup == "custom_domain":
        monkeypatch.setenv("CHECKOUT_PUBLIC_URL", "https://pay.example.com")
        gateway, base = Gateway("pay.example.com", ""), "https://pay.example.com"
    else:
        gateway, base = Gateway(GATEWAY_HOST, "/api"), f"https://{GATEWAY_HOST}/api"
    merchant = create_merchant(db, receiver.url)
    created = gateway("POST", "/api/checkouts", {"x-api-key": merchant.api_key, "content-type": "application/json"},
                      json.dumps(checkout_body()))
    assert created["statusCode"] == 201, created["body"]
    checkout = json.loads(created["body"])
    assert checkout["url"] == f"{base}/c/{checkout['id']}"

    page = gateway("GET", f"/c/{checkout['id']}")
    assert page["statusCode"] == 200
    html = page["body"]
    assert f'action="{base}/c/{checkout["id"]}"' in html
    assert any("/static/" in u for u in check_page_links(gateway, base, html))
    assert "form-action 'self'" in page["headers"]["Content-Security-Policy"]

    submitted = gateway("POST", f"/c/{checkout['id']}", {"content-type": "application/x-www-form-urlencoded"},
                        urlencode({**GOOD_FORM, "csrf_token": csrf_token(html)}))
    assert submitted["statusCode"] == 303
    sandbox_url = submitted["headers"]["Location"]
    assert sandbox_url.startswith(f"{base}/sandbox/sbx_")
    session = db.get(f"SANDBOX#{sandbox_url.rsplit('/', 1)[1]}", "SANDBOX")
    assert session["return_url"] == f"{base}/c/{checkout['id']}/return"
    assert session["cancel_url"] == f"{base}/c/{checkout['id']}/cancel"
    assert session["notify_url"] == f"{base}/webhooks/sandbox/{merchant.id}"
    for provider_url in (session["return_url"], session["cancel_url"]):
        assert gateway("GET", gateway.route_for(provider_url, base))["statusCode"] in (200, 303)

    sandbox_page = gateway("GET", gateway.route_for(sandbox_url, base))
    assert sandbox_page["statusCode"] == 200
    check_page_links(gateway, base, sandbox_page["body"])
    assert f'action="{sandbox_url}"' in sandbox_page["body"]

    # The webhook route answers at the URL given to the provider (a bad signature, but routed).
    notify = gateway("POST", gateway.route_for(session["notify_url"], base), {"content-type": "application/json"}, "{}")
    assert notify["statusCode"] == 400
