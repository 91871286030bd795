"""The HTTP surface: CSRF on the sandbox's action form, GET routes that change nothing, and
the security headers on every response our code makes, errors included (OWASP ASVS 5).

(The checkout form's CSRF refusals are in tests/test_e2e_flow.py and tests/test_pages.py.)
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.providers import base as pb
from chalicelib.adapters.providers import sandbox
from chalicelib.domain import clock
from chalicelib.domain.errors import ProviderFailed
from chalicelib.usecases import checkouts, payments
from chalicelib.web import csrf, pages
from tests.conftest import checkout_body, create_merchant
from tests.security.rigs import FORM_TYPE, Web, csrf_of

# --- CSRF on the sandbox's buttons ------------------------------------------------------

def test_a_sandbox_action_without_a_valid_token_is_403_and_changes_nothing(local_db, receiver, web, make_rig, freeze,
                                                                         figures):
    rig = make_rig("sandbox", local_db, receiver.url)
    checkout_id, session_id = rig.start(web)
    _, other_session = rig.start(web)
    # What the checkout's own form would carry: a valid token, for another subject.
    checkout_token = csrf.issue(checkout_id)
    tokens = {
        "none": None,
        "empty": "",
        "garbage": "123.abc",
        "far future": "9999999999.0000",
        "another session's": csrf_of(web.get(f"/sandbox/{other_session}").text),
        "the checkout's own (another subject)": checkout_token,
        "nine days old": None,
    }
    now = clock.now_s()
    freeze(now - 9 * 86400)
    tokens["nine days old"] = csrf.issue(session_id)
    freeze(now)
    before = (local_db.get(f"SANDBOX#{session_id}", "SANDBOX"), local_db.get_checkout(checkout_id))
    figures.mark()
    for action in ("approve", "decline", "cancel", "pay_later"):
        for name, token in tokens.items():
            form = {"action": action} if token is None else {"action": action, "csrf_token": token}
            answer = web.post(f"/sandbox/{session_id}", urlencode(form), FORM_TYPE)
            assert answer.status == 403, (action, name, answer.status)
            assert answer.headers["content-type"] == "text/html; charset=utf-8"
            assert "content-security-policy" in answer.headers and "Traceback" not in answer.text
    after = (local_db.get(f"SANDBOX#{session_id}", "SANDBOX"), local_db.get_checkout(checkout_id))
    assert after == before and receiver.deliveries == []
    figures.add("csrf", "sandbox actions with a missing/forged/foreign/expired token", 4 * len(tokens), accepted=0,
                expect="0 accepted (403)")
    # The page's own token works: the refusals were about the token.
    assert web.post(f"/sandbox/{session_id}", urlencode({"action": "decline", "csrf_token": csrf_of(
        web.get(f"/sandbox/{session_id}").text)}), FORM_TYPE).status == 303


def test_a_sandbox_token_does_not_open_the_checkout_form(web, db):
    merchant = create_merchant(db)
    created = web.post("/api/checkouts", json.dumps(checkout_body()), merchant.headers).json()
    answer = web.post(f"/c/{created['id']}", urlencode({"csrf_token": csrf.issue("sbx_" + created["id"][4:]),
                                                        "name": "x"}), FORM_TYPE)
    assert answer.status == 403


# --- GET changes nothing -------------------------------------------------------------------

def snapshot(db: Any) -> dict[tuple[str, str], Any]:
    items = db.client.scan(TableName=db.table, ConsistentRead=True)["Items"]
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in items}


@pytest.mark.parametrize("provider", ["sandbox", "clink"])
def test_get_routes_change_nothing(local_db, receiver, web, make_rig, provider, figures):
    rig = make_rig(provider, local_db, receiver.url)
    open_checkout = rig.create_checkout(web)["id"]
    processing, session_id = rig.start(web)
    gets = [
        f"/c/{open_checkout}", f"/c/{open_checkout}?lang=en&notice=cancelled", f"/c/{open_checkout}/status",
        f"/c/{open_checkout}/return",
        f"/c/{processing}", f"/c/{processing}/status", f"/c/{processing}/return", f"/c/{processing}/return",
        "/c/chk_0000000000000000000000", "/l/plink_0000000000000000000000",
    ]
    api = [f"/api/checkouts/{processing}", "/api/checkouts?limit=5", f"/api/events?checkout_id={processing}"]
    if provider == "sandbox":
        gets.append(f"/sandbox/{session_id}")
    # A checkout's first view is the one write a GET makes (issue 14): its opened_at_s and the
    # dashboard's count of it, once; every later GET changes nothing.
    for checkout_id in (open_checkout, processing):
        first = snapshot(local_db)
        assert web.get(f"/c/{checkout_id}").status == 200
        changed = {k for k, item in snapshot(local_db).items() if first.get(k) != item}
        assert {k[0].split("#")[0] for k in changed} <= {"CHECKOUT", "STATS"}
        assert "opened_at_s" in snapshot(local_db)[(f"CHECKOUT#{checkout_id}", "CHECKOUT")]
    figures.mark()
    before = snapshot(local_db)
    for path in gets:
        assert web.get(path).status < 500, path
    for path in api:
        assert web.get(path, rig.merchant.headers).status == 200, path
    assert snapshot(local_db) == before
    assert rig.sessions_created() == 1 and receiver.deliveries == []

    # A payment link's visit, and the page it leads to, write nothing (the checkout is written on a POST).
    link = web.post("/api/payment-links", json.dumps(checkout_body(**rig.checkout_overrides())), rig.merchant.headers).json()
    before = snapshot(local_db)
    visit = web.get(f"/l/{link['id']}")
    assert visit.status == 303
    assert web.get(web.path(visit.headers["location"])).status == 200
    assert snapshot(local_db) == before
    figures.add("GET is safe", f"{provider}: checkout, status, return (no provider change), sandbox, API, /l/", len(gets) + len(api) + 2,
                expect="no write (but a first view's mark)")


# --- security headers on every response ------------------------------------------------------

BASE = {"strict-transport-security", "x-content-type-options", "referrer-policy", "x-frame-options"}
CSP_DIRECTIVES = {"default-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"}


def check_headers(answer: Any, kind: str) -> None:
    headers = answer.headers
    assert BASE <= set(headers), (answer.status, sorted(headers))
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["referrer-policy"] in ("strict-origin-when-cross-origin", "no-referrer", "same-origin", "strict-origin")
    if kind == "html":
        assert headers["content-type"] == "text/html; charset=utf-8" and headers["cache-control"] == "no-store"
        directives = {d.strip() for d in headers["content-security-policy"].split(";")}
        assert CSP_DIRECTIVES <= directives, directives
        assert "unsafe" not in headers["content-security-policy"]
    elif kind == "json":
        assert headers["content-type"] == "application/json; charset=utf-8" and headers["cache-control"] == "no-store"
        if answer.status >= 400:
            error = answer.json()["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str)
    assert "Traceback" not in answer.text and 'File "' not in answer.text


def throttled(*args: Any, **kwargs: Any) -> Any:
    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                       "ResponseMetadata": {"HTTPStatusCode": 400}}, "GetItem")


def broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("a bug")


def provider_failed(*args: Any, **kwargs: Any) -> Any:
    raise ProviderFailed("The payment provider did not respond. Nothing was charged. Please try again.")


def provider_down(self: Any, request: Any) -> Any:
    raise pb.ProviderError("timeout")


def test_every_response_carries_the_security_headers(web, db, monkeypatch, figures):
    merchant = create_merchant(db)
    key = merchant.headers
    created = web.post("/api/checkouts", json.dumps(checkout_body()), key)
    checkout_id = created.json()["id"]
    token = csrf_of(web.get(f"/c/{checkout_id}").text)
    link = web.post("/api/payment-links", json.dumps(checkout_body()), key).json()
    web.post(f"/api/payment-links/{link['id']}", json.dumps({"active": False}), key)
    live_link = web.post("/api/payment-links", json.dumps(checkout_body()), key).json()
    cancelled = web.post("/api/checkouts", json.dumps(checkout_body()), key).json()["id"]
    web.post(f"/api/checkouts/{cancelled}/cancel", b"", key)
    form = {"csrf_token": token, "name": "x"}

    cases: list[tuple[str, int, str, Any]] = [
        ("html", 200, "checkout page", lambda: web.get(f"/c/{checkout_id}")),
        ("html", 404, "unknown checkout", lambda: web.get("/c/chk_0000000000000000000000")),
        ("html", 404, "unknown sandbox session", lambda: web.get("/sandbox/sbx_0000000000")),
        ("html", 403, "CSRF refused", lambda: web.post(f"/c/{checkout_id}", urlencode({"csrf_token": "1.x"}), FORM_TYPE)),
        ("html", 422, "form errors", lambda: web.post(f"/c/{checkout_id}", urlencode(form), FORM_TYPE)),
        ("html", 410, "inactive payment link", lambda: web.get(f"/l/{link['id']}")),
        ("html", 200, "cancelled state page", lambda: web.get(f"/c/{cancelled}")),
        ("redirect", 303, "payment link visit", lambda: web.get(f"/l/{live_link['id']}")),
        ("static", 200, "static file", lambda: web.get(web.path(_static_url(web, checkout_id)))),
        ("json", 201, "checkout created", lambda: created),
        ("json", 200, "checkout read", lambda: web.get(f"/api/checkouts/{checkout_id}", key)),
        ("json", 400, "bad JSON", lambda: web.post("/api/checkouts", "{", key)),
        ("json", 401, "no API key", lambda: web.get(f"/api/checkouts/{checkout_id}")),
        ("json", 404, "unknown checkout (API)", lambda: web.get("/api/checkouts/chk_0000000000000000000000", key)),
        ("json", 409, "cancel twice", lambda: web.post(f"/api/checkouts/{cancelled}/cancel", b"", key)),
        ("json", 422, "redirect host refused", lambda: web.post(
            "/api/checkouts", json.dumps(checkout_body(success_url="https://evil.example/")), key)),
        ("json", 400, "notification refused", lambda: web.post(f"/webhooks/sandbox/{merchant.id}", b"{}",
                                                                 {"content-type": "application/json"})),
        ("json", 404, "notification endpoint unknown", lambda: web.post("/webhooks/sandbox/m-nobody", b"{}",
                                                                        {"content-type": "application/json"})),
        ("json", 200, "health", lambda: web.get("/health")),
    ]

    def with_patch(target: Any, name: str, replacement: Any, request: Any) -> Any:
        with monkeypatch.context() as patched:
            patched.setattr(target, name, replacement)
            return request()

    cases += [
        ("html", 500, "page: unexpected error", lambda: with_patch(pages, "checkout_page", broken,
                                                                  lambda: web.get(f"/c/{checkout_id}"))),
        ("html", 503, "page: table throttled", lambda: with_patch(payments, "load_with_merchant", throttled,
                                                                 lambda: web.get(f"/c/{checkout_id}"))),
        ("html", 502, "page: provider down", lambda: with_patch(sandbox.Adapter, "create_session", provider_down,
                                                               lambda: _submit(web, checkout_id))),
        ("json", 500, "API: unexpected error", lambda: with_patch(checkouts, "read", broken,
                                                                  lambda: web.get(f"/api/checkouts/{checkout_id}", key))),
        ("json", 502, "API: provider failed", lambda: with_patch(checkouts, "read", provider_failed,
                                                                 lambda: web.get(f"/api/checkouts/{checkout_id}", key))),
        ("json", 503, "API: table throttled", lambda: with_patch(checkouts, "read", throttled,
                                                                 lambda: web.get(f"/api/checkouts/{checkout_id}", key))),
        ("json", 503, "webhook: table throttled", lambda: with_patch(payments, "handle_notification", throttled,
                                                                    lambda: web.post(f"/webhooks/sandbox/{merchant.id}",
                                                                                     b"{}", {"content-type": "application/json"}))),
    ]
    statuses = set()
    for kind, status, name, request in cases:
        answer = request()
        assert answer.status == status, (name, answer.status, answer.text[:300])
        check_headers(answer, kind)
        statuses.add(answer.status)
    assert {200, 303, 400, 401, 403, 404, 409, 410, 422, 500, 502, 503} <= statuses
    figures.add("headers", "every status our code answers, HTML and JSON (200-503)", len(cases), expect="all headers on all",
                    skip=("server_errors",))


def _submit(web: Web, checkout_id: str) -> Any:
    from tests import flow

    token = csrf_of(web.get(f"/c/{checkout_id}").text)
    return web.post(f"/c/{checkout_id}", urlencode({**flow.GOOD_FORM, "csrf_token": token}), FORM_TYPE)


def _static_url(web: Web, checkout_id: str) -> str:
    import re

    match = re.search(r'src="([^"]+/static/[^"]+\.js)"', web.get(f"/c/{checkout_id}").text)
    assert match
    return match.group(1)
