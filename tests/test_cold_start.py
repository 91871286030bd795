"""What a fresh container loads to serve its first checkout page: the routes are all there
at import, but the modules of the other routes (the dashboard, the merchant API's use
cases, the jobs, the sandbox's pages) wait for their first request, and cryptography
(tens of milliseconds to import) is not needed at all. Timings are bench figures
(``bench/run.py``); this checks what they rest on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import checkout_body, create_merchant

ROOT = Path(__file__).resolve().parent.parent
KC_CREDENTIALS = {"api_key": "sk_test_" + "c" * 24, "webhook_secret": "kc_whsec_" + "w" * 24}

FIRST_PAGE = r"""
import gc, json, sys
import app
frozen, collecting = gc.get_freeze_count(), gc.isenabled()
routes = sorted((path, method) for path, entries in app.app.routes.items() for method in entries)
at_import = sorted(sys.modules)
event = {"resource": "/c/{checkout_id}", "path": "/c/%(id)s", "httpMethod": "GET",
         "headers": {"host": "abc.execute-api.ap-northeast-2.amazonaws.com", "x-forwarded-proto": "https"},
         "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
         "pathParameters": {"checkout_id": "%(id)s"}, "stageVariables": None, "body": None, "isBase64Encoded": False,
         "requestContext": {"resourcePath": "/c/{checkout_id}", "httpMethod": "GET", "stage": "api", "path": "/api/c/%(id)s"}}
page = app.app(event, None)
print(json.dumps({"status": page["statusCode"], "csp": page["headers"].get("Content-Security-Policy", ""),
                  "routes": routes, "at_import": at_import, "after_page": sorted(sys.modules),
                  "frozen": frozen, "collecting": collecting, "frozen_after_page": gc.get_freeze_count(),
                  "collecting_after_page": gc.isenabled()}))
"""

# Modules only other routes need (the first request of one of those imports them).
OTHER_ROUTES = (
    "chalicelib.web.dashboard_pages", "chalicelib.usecases.dashboard", "chalicelib.usecases.dashboard_sessions",
    "chalicelib.web.dashboard_text", "chalicelib.usecases.refunds", "chalicelib.usecases.reconcile",
    "chalicelib.usecases.expiry", "chalicelib.web.sandbox_site", "chalicelib.adapters.providers.sandbox",
)


@pytest.fixture
def first_page(db, moto_endpoint):
    """A KoreaCheckout merchant's checkout (credentials encrypted at rest), served by a fresh interpreter."""
    handle = create_merchant(db, provider="koreacheckout", credentials=KC_CREDENTIALS)
    from chalicelib.usecases import checkouts

    checkout = checkouts.create(db, handle.merchant, checkout_body(), None, "https://pay.example")
    env = {
        "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT),
        "AWS_DEFAULT_REGION": "ap-northeast-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
        "CHECKOUT_TABLE": db.table, "CHECKOUT_STAGE": "dev", "CHECKOUT_SANDBOX": "1",
        "CHECKOUT_SECRET_KEY": os.environ["CHECKOUT_SECRET_KEY"],
    }
    result = subprocess.run([sys.executable, "-c", FIRST_PAGE % {"id": checkout["id"]}], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["status"] == 200
    return out


def test_the_first_checkout_page_needs_no_cryptography(first_page):
    assert not [m for m in first_page["after_page"] if m == "cryptography" or m.startswith("cryptography.")]
    # ...and it still names the provider's hosts its form may land on (from the credentials' mode).
    assert "https://sandbox-api.koreacheckout.com" in first_page["csp"]
    assert "https://checkout.koreacheckout.com" in first_page["csp"]


def test_other_routes_modules_wait_for_their_first_request(first_page):
    assert not [m for m in first_page["after_page"] if m in OTHER_ROUTES]
    assert "chalicelib.web.pages" not in first_page["at_import"], "even the shopper's page module waits for its route"


def test_every_route_is_registered_at_import(first_page):
    import app

    expected = sorted([path, method] for path, entries in app.app.routes.items() for method in entries)
    assert first_page["routes"] == expected
    assert ["/dashboard/settings", "POST"] in expected and ["/api/checkouts", "POST"] in expected
    assert len(expected) >= 50


def test_start_up_objects_are_kept_out_of_the_collectors_way(first_page):
    # Frozen once the app is imported (they live as long as the container), and collecting again;
    # the DynamoDB client and the template environment the first page makes join them.
    assert first_page["frozen"] > 10_000
    assert first_page["frozen_after_page"] > first_page["frozen"] + 10_000
    assert first_page["collecting"] is True and first_page["collecting_after_page"] is True
