"""Injection: hostile text in every merchant- and shopper-supplied field is rendered as text
on every page a shopper can reach, never as markup.

Each payload goes into the merchant (name, logo URL, support email), the checkout (line
item name and description, customer name and email, metadata, client_reference_id) and
the shopper's form, then the shopper walks through every page: the form, its 422, the
sandbox page, confirming, the form again after a cancel at the provider, paid, waiting
for a deposit, cancelled, and the 403/404 pages. A page passes when its element
structure is exactly that of the same page rendered from harmless text (no element or
attribute was added), no element or attribute can run script, and the payload is there
as text where the page shows that field.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests import flow
from tests.conftest import checkout_body, create_merchant
from tests.security.rigs import FORM_TYPE, Web, csrf_of

pytestmark = pytest.mark.xdist_group("security")

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "</title><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    '<iframe srcdoc="<script>alert(1)</script>">',
    '<a href="javascript:alert(1)">x</a>',
    '" autofocus onfocus="alert(1)',
    "' onmouseover='alert(1)",
    '<base href="//evil.example/">',
    '<meta http-equiv="refresh" content="0;url=//evil.example">',
    '<form action="//evil.example"><button>x</button></form>',
    "<!--",
    "--><script>alert(1)</script>",
    "{{7*7}}{% raw %}${7*7}#{7*7}",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "\u2028\u2029<script>alert(1)</script>",
    "javascript:alert(document.cookie)",
    "<img src=x:alert(1) onerror=eval(src)>",
    '"><svg><animate onbegin=alert(1) attributeName=x dur=1s>',
    "<details open ontoggle=alert(1)>",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "<<script>script>alert(1)<</script>/script>",
]
HARMLESS = "plain words"
HOSTILE_EMAIL = "javascript:alert(1)//@shop.example"
SHOPPER_FIELDS = ("name", "email", "phone", "postal_code", "address1", "address_jibun", "address2", "bank")
RUNNABLE_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "base", "template"}


# The one inline script a page may carry: checkout.js's text, by the SHA-256 the script inventory records.
INVENTORIED_INLINE = {s["inline_sha256"] for s in json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "script-inventory.json").read_text())["scripts"] if s.get("inline_sha256")}


class Dom(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._script: tuple[dict[str, str | None], list[str]] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self.text.extend(v for _, v in attrs if v)
        if tag == "script":
            self._script = (self.elements[-1][1], [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            attrs, text = self._script
            attrs["(sha256)"] = hashlib.sha256("".join(text).encode()).hexdigest()
            self._script = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._script is not None:
            self._script[1].append(data)

    def shape(self) -> Counter[tuple[str, tuple[str, ...]]]:
        return Counter((tag, tuple(sorted(attrs))) for tag, attrs in self.elements)

    def runnable(self) -> list[str]:
        """Elements and attributes that could run script or send the page elsewhere."""
        found = []
        for tag, attrs in self.elements:
            if tag in RUNNABLE_TAGS:
                found.append(f"<{tag}>")
            inventoried = "src" in attrs or attrs.get("(sha256)") in INVENTORIED_INLINE
            if tag == "script" and not (inventoried and "nonce" in attrs):
                found.append("<script> without src and nonce")
            if tag == "meta" and "http-equiv" in attrs and not str(attrs.get("content", "")).startswith("15;url="):
                found.append("<meta http-equiv>")
            for name, value in attrs.items():
                if name.startswith("on") or name in ("srcdoc", "formaction", "style", "xlink:href"):
                    found.append(f"<{tag} {name}=>")
                if name in ("href", "src", "action") and str(value or "").strip().lower().startswith(
                        ("javascript:", "vbscript:", "data:text")):
                    found.append(f"<{tag} {name}={value}>")
        return found

    def shows(self, text: str) -> bool:
        return any(text in piece for piece in self.text) or text in "".join(self.text)


def walk(web: Web, db: Any, text: str) -> dict[str, tuple[str, str | None]]:
    """Every page the shopper sees with ``text`` in every field: page name -> (html, the text it must show)."""
    # A logo URL with white space in it is dropped by the page (on purpose): keep the rest of the text.
    logo = "https://shop.example/logo.png?v=" + "".join(c for c in text if not c.isspace())
    merchant = create_merchant(db, name=text.strip() or "x", logo_url=logo, support_email=HOSTILE_EMAIL)
    body = checkout_body(
        line_items=[{"name": text, "description": text, "unit_amount": 22000, "quantity": 1}],
        customer={"name": text, "email": HOSTILE_EMAIL}, metadata={"note": text}, client_reference_id=text,
        payment_method_types=["card", "virtual_account"], locale="en",
    )
    pages: dict[str, tuple[str, str | None]] = {}

    def create() -> str:
        answer = web.post("/api/checkouts", json.dumps(body), merchant.headers)
        assert answer.status == 201, answer.text
        return str(answer.json()["id"])

    def post_form(checkout_id: str, token: str, **fields: str) -> Any:
        return web.post(f"/c/{checkout_id}", urlencode({**fields, "csrf_token": token}), FORM_TYPE)

    def sandbox_act(location: str, action: str) -> Any:
        path = web.path(location)
        page = web.get(path)
        return web.post(path, urlencode({"csrf_token": csrf_of(page.text), "action": action}), FORM_TYPE)

    good = {**flow.GOOD_FORM, "name": text, "address1": text, "address2": text, "address_jibun": text}
    checkout_id = create()
    page = web.get(f"/c/{checkout_id}")
    pages["checkout"] = (page.text, text)
    pages["checkout ?lang=&notice="] = (web.get(f"/c/{checkout_id}?lang={quote(text)}&notice={quote(text)}").text, text)
    token = csrf_of(page.text)
    invalid = post_form(checkout_id, token, **{name: text for name in SHOPPER_FIELDS}, payment_method=text,
                        agree=text, promotion_code=text)
    assert invalid.status == 422, invalid.text[:300]
    pages["422"] = (invalid.text, text)
    pages["403"] = (post_form(checkout_id, text, **good).text, None)
    submitted = post_form(checkout_id, token, **good)
    assert submitted.status == 303, submitted.text[:300]
    sandbox_url = submitted.headers["location"]
    pages["sandbox"] = (web.get(web.path(sandbox_url)).text, None)
    pages["confirming"] = (web.get(f"/c/{checkout_id}").text, text.strip() or None)
    sandbox_act(sandbox_url, "cancel")
    web.get(f"/c/{checkout_id}/cancel")
    pages["form after cancel"] = (web.get(f"/c/{checkout_id}?notice=cancelled").text, text)
    approved = sandbox_act(post_form(checkout_id, csrf_of(web.get(f"/c/{checkout_id}").text), **good).headers["location"],
                           "approve")
    assert approved.status == 303
    assert web.get(f"/c/{checkout_id}/return").status == 303
    pages["paid"] = (web.get(f"/c/{checkout_id}").text, text.strip() or None)

    waiting_id = create()
    later = post_form(waiting_id, csrf_of(web.get(f"/c/{waiting_id}").text), **{**good, "payment_method": "virtual_account"})
    sandbox_act(later.headers["location"], "pay_later")
    web.get(f"/c/{waiting_id}/return")
    pages["waiting"] = (web.get(f"/c/{waiting_id}").text, text.strip() or None)

    cancelled_id = create()
    web.post(f"/api/checkouts/{cancelled_id}/cancel", b"", merchant.headers)
    pages["cancelled"] = (web.get(f"/c/{cancelled_id}").text, text.strip() or None)
    pages["404"] = (web.get(f"/c/{quote(text, safe='')}").text, None)
    return pages


def length_class(text: str) -> tuple[bool, ...]:
    """Which of the form's length limits the text is over: harmless text of the same class gets the same errors."""
    return tuple(len(text) > limit for limit in (5, 20, 40, 100))


def test_hostile_text_is_only_ever_text(web, db, figures):
    baselines: dict[tuple[bool, ...], dict[str, Dom]] = {}
    tried = accepted = 0
    for payload in PAYLOADS:
        key = length_class(payload)
        if key not in baselines:
            harmless = (HARMLESS * 20)[:len(payload)]
            baselines[key] = {name: Dom(html) for name, (html, _) in walk(web, db, harmless).items()}
            for name, dom in baselines[key].items():
                assert dom.runnable() == [], (name, dom.runnable())
        for name, (html, must_show) in walk(web, db, payload).items():
            tried += 1
            dom, baseline = Dom(html), baselines[key][name]
            problems = dom.runnable()
            if dom.shape() != baseline.shape():
                problems.append(f"element structure changed: +{dom.shape() - baseline.shape()} -{baseline.shape() - dom.shape()}")
            if must_show is not None and not dom.shows(must_show.strip()):
                problems.append("the text is not on the page as text")
            accepted += bool(problems)
            assert not problems, (payload, name, problems)
    figures.add("injection", f"XSS payloads x pages ({len(PAYLOADS)} x {tried // len(PAYLOADS)})", tried, accepted=accepted,
                    skip=("transitions",))


def test_metadata_and_client_reference_id_come_back_as_json_not_html(client, db):
    merchant = create_merchant(db)
    body = checkout_body(metadata={"note": PAYLOADS[0]}, client_reference_id=PAYLOADS[1])
    created = client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(body))
    read = client.http.get(f"/api/checkouts/{json.loads(created.body)['id']}", headers=merchant.headers)
    for response in (created, read):
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert json.loads(response.body)["metadata"] == {"note": PAYLOADS[0]}


def test_the_sandbox_page_takes_any_lang_without_a_server_error(web, db):
    merchant = create_merchant(db)
    created = web.post("/api/checkouts", json.dumps(checkout_body()), merchant.headers).json()
    page = web.get(f"/c/{created['id']}")
    form = {**flow.GOOD_FORM, "csrf_token": csrf_of(page.text)}
    sandbox_url = web.post(f"/c/{created['id']}", urlencode(form), FORM_TYPE).headers["location"]
    answer = web.get(web.path(sandbox_url) + "?lang=" + quote(PAYLOADS[0]))
    assert answer.status == 200
