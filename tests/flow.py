"""Helpers that walk the shopper's flow over real HTTP, as a browser without JavaScript would."""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from tools.dynamodb_local import free_port

GOOD_FORM = {
    "name": "홍길동",
    "email": "gildong@example.com",
    "phone": "010-1234-5678",
    "postal_code": "06236",
    "address1": "서울 강남구 테헤란로 152",
    "address_jibun": "서울 강남구 역삼동 737",
    "address2": "강남파이낸스센터 1층",
    "payment_method": "card",
    "agree": "1",
}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no csrf_token field"
    return match.group(1)


class MerchantSite:
    """The merchant's own site: its success and cancel pages."""

    def __init__(self) -> None:
        self.visits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.visits.append(self.path)
                # A small but accessible page: the browser tests run axe on where the shopper lands.
                body = ("<!doctype html><html lang=ko><meta charset=utf-8><link rel=icon href='data:,'>"
                        "<title>Shop</title><main><h1>주문해 주셔서 감사합니다</h1></main></html>").encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def create_checkout(base: str, api_key: str, site_url: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "line_items": [{"name": "유기농 녹차 세트", "unit_amount": 19000, "quantity": 1},
                       {"name": "배송비", "unit_amount": 3000, "quantity": 1}],
        "currency": "KRW",
        "success_url": f"{site_url}/thanks?checkout={{CHECKOUT_ID}}",
        "cancel_url": f"{site_url}/cart",
        "client_reference_id": "order-42",
    }
    body.update(overrides)
    response = requests.post(f"{base}/api/checkouts", headers={"x-api-key": api_key, "content-type": "application/json"},
                             data=json.dumps(body), timeout=10)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def submit_form(session: requests.Session, checkout_url: str, follow: bool = False, **fields: str) -> requests.Response:
    """Fill the checkout form like a browser without JavaScript (``follow``: go where it leads)."""
    page = session.get(checkout_url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    form = {**GOOD_FORM, **fields, "csrf_token": csrf_token(page.text)}
    return session.post(checkout_url, data=form, allow_redirects=follow, timeout=30)


def sandbox_action(session: requests.Session, sandbox_url: str, action: str, follow: bool = False) -> requests.Response:
    page = session.get(sandbox_url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    return session.post(sandbox_url, data={"csrf_token": csrf_token(page.text), "action": action},
                        allow_redirects=follow, timeout=30)


def at_once(n: int, task: Any) -> list[Any]:
    """``task(i)`` for i in 0..n-1 on n threads released together by a barrier: a race, for real."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return task(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))
