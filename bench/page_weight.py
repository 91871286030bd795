"""Page weight: the first-party bytes and requests of a first visit to the checkout page, in Chromium.

    .venv/bin/python bench/page_weight.py            # starts what it needs: moto, the app, a checkout
    .venv/bin/python bench/page_weight.py --url URL  # or measures a page that is already served

Prints one JSON object. "First party" is everything served from the page's own origin;
bytes are what crossed the wire (response headers + body as sent), with an empty cache.
The goal is at most 30 KB in at most 5 requests; the exit status is 1 when it is missed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
BUDGET_BYTES = 30 * 1024
BUDGET_REQUESTS = 5


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def measure(browser: Any, url: str) -> dict[str, Any]:
    """Load ``url`` once in a fresh phone-sized context and account for every request."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block")
    try:
        page = context.new_page()
        finished: list[Any] = []
        page.on("requestfinished", lambda request: finished.append(request))
        page.goto(url, wait_until="networkidle")
        origin = _origin(url)
        rows = []
        for request in finished:
            sizes = request.sizes()
            rows.append({
                "url": request.url,
                "type": request.resource_type,
                "first_party": _origin(request.url) == origin,
                "bytes": sizes["responseHeadersSize"] + sizes["responseBodySize"],
            })
    finally:
        context.close()
    first = [r for r in rows if r["first_party"]]
    total = sum(r["bytes"] for r in first)
    return {
        "url": url,
        "first_party_bytes": total,
        "first_party_requests": len(first),
        "third_party_requests": len(rows) - len(first),
        "requests": rows,
        "budget": {"bytes": BUDGET_BYTES, "requests": BUDGET_REQUESTS},
        "within_budget": total <= BUDGET_BYTES and len(first) <= BUDGET_REQUESTS,
    }


def _serve_demo_checkout() -> tuple[str, Any]:
    """Moto, a table, a sandbox merchant, a KRW checkout, and the app over HTTP; returns (url, stop)."""
    from cryptography.fernet import Fernet

    os.environ.update({
        "CHECKOUT_STAGE": "dev", "CHECKOUT_SANDBOX": "1", "CHECKOUT_ALLOW_INSECURE_WEBHOOKS": "1",
        "CHECKOUT_SECRET_KEY": os.environ.get("CHECKOUT_SECRET_KEY") or Fernet.generate_key().decode(),
        "AWS_DEFAULT_REGION": "ap-northeast-2", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
    })
    os.environ.pop("CHECKOUT_PUBLIC_URL", None)
    sys.path.insert(0, str(ROOT))
    import boto3
    from chalice.config import Config
    from chalice.local import create_local_server

    from app import app
    from chalicelib.adapters import store
    from chalicelib.entrypoints.admin import DEMO_BUSINESS
    from chalicelib.usecases import checkouts, merchants
    from tools.dynamodb_local import MotoServer, free_port

    moto = MotoServer()
    endpoint = moto.start()
    table = store.Store(boto3.client("dynamodb", endpoint_url=endpoint), f"bench-{uuid.uuid4().hex[:8]}")
    table.create_table(point_in_time_recovery=False)
    store.set_store(table)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    merchant, _, _ = merchants.create(
        table, merchant_id=f"bench-{uuid.uuid4().hex[:8]}", name="데모 상점 Demo Store", provider="sandbox",
        allowed_hosts=["127.0.0.1"], support_email="help@example.com",
        # A complete seller profile: the footer and notices a Korean storefront must carry.
        business_profile=dict(DEMO_BUSINESS),
    )
    checkout = checkouts.create(table, merchant, {
        "line_items": [
            {"name": "유기농 녹차 세트", "unit_amount": 19000, "quantity": 1},
            {"name": "배송비", "unit_amount": 3000, "quantity": 1, "shipping": True},
        ],
        "currency": "KRW",
        "success_url": f"{base}/thanks", "cancel_url": f"{base}/cart",
        "customer": {"name": "홍길동", "email": "gildong@example.com"},
    }, None, base)
    server = create_local_server(app, Config.create(chalice_app=app), "127.0.0.1", port)
    threading.Thread(target=server.server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.server.shutdown()
        server.server.server_close()
        moto.stop()

    return str(checkout["url"]), stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a checkout page that is already served (default: start a demo one)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    url, stop = (args.url, lambda: None) if args.url else _serve_demo_checkout()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                result = measure(browser, url)
            finally:
                browser.close()
    finally:
        stop()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"first-party weight: {result['first_party_bytes']} bytes in {result['first_party_requests']} requests "
          f"(goal: <= {BUDGET_BYTES} bytes, <= {BUDGET_REQUESTS} requests)", file=sys.stderr)
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
