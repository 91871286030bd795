"""Browser fixtures: one headless Chromium per test session (Debian's /usr/bin/chromium driven
by Playwright), pages that record what went wrong (console errors, page errors, CSP
violations) and which scripts ran, a local merchant site for the success and cancel URLs,
axe-core, the script inventory, and screenshots under artifacts/screenshots/.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests import flow
from tests.conftest import IN_CI, LiveServer, MerchantHandle, checkout_body
from tests.flow import MerchantSite

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
INVENTORY = ROOT / "docs" / "script-inventory.json"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DAUM_URL = "https://t1.daumcdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js"
KAKAO_URL = "https://t1.kakaocdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js"

# Reports every CSP violation of every document the page opens to Python.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__reportCspViolation({directive: e.violatedDirective, blocked: e.blockedURI,
                               source: e.sourceFile, sample: e.sample, page: location.href});
}, true);
"""


def _require(path: Path, what: str, fix: str) -> None:
    if path.exists() and (path.suffix or os.access(path, os.X_OK)):
        return
    message = f"{what} is missing at {path}: {fix}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require(Path(CHROMIUM), "Chromium", "install Debian's chromium package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    _require(AXE_JS, "axe-core", "run `npm ci` (package.json lists axe-core)")
    return AXE_JS.read_text()


@pytest.fixture(scope="session")
def inventory() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(INVENTORY.read_text())
    return data


# --- a page that records what went wrong ------------------------------------------------

@dataclass
class Recorder:
    """What one browser context saw: console errors, page errors, CSP violations, scripts."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[dict[str, Any]] = field(default_factory=list)
    script_urls: list[str] = field(default_factory=list)
    dom_scripts: list[dict[str, Any]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.console_errors.append(f"{m.text} @ {m.location.get('url', '')}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("request", lambda r: self.script_urls.append(r.url) if r.resource_type == "script" else None)

    def note_dom_scripts(self, page: Any) -> None:
        """Every <script> element of the current document (inline ones included)."""
        scripts = page.evaluate(
            "Array.from(document.scripts).map(s => ({src: s.src, inline: !s.src, type: s.type,"
            " nonced: !!s.nonce, page: location.href, text: s.src ? '' : s.text}))")
        for script in scripts:
            script["sha256"] = hashlib.sha256(script.pop("text").encode()).hexdigest() if script["inline"] else None
        self.dom_scripts.extend(scripts)


@dataclass
class Browsing:
    """A page in a fresh context, with its recorder and the checks every test ends with."""

    page: Any
    context: Any
    recorder: Recorder
    viewport: str
    inventory: dict[str, Any]
    axe_source: str
    server_origin: str = ""

    def open(self, url: str) -> Any:
        response = self.page.goto(url, wait_until="load")
        self.recorder.note_dom_scripts(self.page)
        return response

    def set_viewport(self, name: str) -> None:
        self.viewport = name
        self.page.set_viewport_size(VIEWPORTS[name])

    def screenshot(self, state: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{state}-{self.viewport}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's WCAG 2.1 A/AA violations on the current document (run under the page's own CSP)."""
        if not self.page.evaluate("typeof window.axe === 'object'"):
            self.page.evaluate(self.axe_source)
        violations: list[dict[str, Any]] = self.page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
                return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
            }""",
            WCAG_TAGS,
        )
        return violations

    def assert_accessible(self, state: str) -> None:
        violations = self.axe()
        assert violations == [], f"axe found WCAG 2.1 A/AA violations on {state} ({self.viewport}):\n" + json.dumps(
            violations, ensure_ascii=False, indent=2)

    def check_state(self, state: str) -> None:
        """The checks every page state gets: axe clean, then a screenshot, at both viewports."""
        for name in ("phone", "desktop"):
            self.set_viewport(name)
            self.assert_accessible(state)
            self.screenshot(state)

    def assert_clean(self, allow_console: Callable[[str], bool] = lambda text: False) -> None:
        """No console errors, no uncaught exceptions, no CSP violations, only inventoried scripts."""
        self.recorder.note_dom_scripts(self.page)
        errors = [e for e in self.recorder.console_errors if not allow_console(e)]
        assert errors == [], f"console errors: {errors}"
        assert self.recorder.page_errors == [], f"uncaught errors: {self.recorder.page_errors}"
        assert self.recorder.csp_violations == [], f"CSP violations: {self.recorder.csp_violations}"
        assert_scripts_inventoried(self.recorder, self.inventory, self.server_origin)


def inventory_entry(url: str, inventory: dict[str, Any], server_origin: str) -> str | None:
    """The inventory id that allows this script URL, if any."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    for script in inventory["scripts"]:
        match = script["match"]
        if "same_origin_path_regex" in match:
            if origin == server_origin and re.fullmatch(match["same_origin_path_regex"], parts.path):
                return str(script["id"])
        elif "url" in match:
            if url == match["url"]:
                return str(script["id"])
        elif any(url.startswith(prefix) for prefix in match["url_prefixes"]):
            return str(script["id"])
    return None


def assert_scripts_inventoried(recorder: Recorder, inventory: dict[str, Any], server_origin: str) -> None:
    allowed = {s["inline_sha256"] for s in inventory["scripts"] if s.get("inline_sha256")}
    inline = [s for s in recorder.dom_scripts if s["inline"] and s.get("sha256") not in allowed]
    assert inline == [], f"inline scripts are not allowed unless inventoried by their SHA-256: {inline}"
    unnonced = [s for s in recorder.dom_scripts if not s["nonced"]]
    assert unnonced == [], f"scripts without the CSP nonce: {unnonced}"
    urls = set(recorder.script_urls) | {s["src"] for s in recorder.dom_scripts if s["src"]}
    unknown = sorted(u for u in urls if inventory_entry(u, inventory, server_origin) is None)
    assert unknown == [], f"scripts not in docs/script-inventory.json: {unknown}"


@pytest.fixture
def browsing_factory(
    browser: Any, inventory: dict[str, Any], axe_source: str
) -> Iterator[Callable[..., Browsing]]:
    contexts: list[Any] = []

    def make(viewport: str = "phone", javascript: bool = True, origin: str = "") -> Browsing:
        context = browser.new_context(viewport=VIEWPORTS[viewport], java_script_enabled=javascript,
                                      locale="ko-KR", timezone_id="Asia/Seoul", service_workers="block")
        contexts.append(context)
        context.set_default_timeout(10_000)
        recorder = Recorder()
        if javascript:
            context.expose_function("__reportCspViolation", lambda violation: recorder.csp_violations.append(violation))
            context.add_init_script(_CSP_LISTENER)
        # Nothing here may reach the internet: what a test does not serve is refused, and shows.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda route: route.abort())
        page = context.new_page()
        recorder.attach(page)
        return Browsing(page=page, context=context, recorder=recorder, viewport=viewport,
                        inventory=inventory, axe_source=axe_source, server_origin=origin)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def browsing(browsing_factory: Callable[..., Browsing], live_server: LiveServer) -> Browsing:
    return browsing_factory("phone", origin=live_server.url)


# --- the merchant's own site ------------------------------------------------------------

@pytest.fixture
def shop() -> Iterator[MerchantSite]:
    site = MerchantSite()
    yield site
    site.close()


@pytest.fixture
def new_checkout(live_server: LiveServer, merchant: MerchantHandle, shop: MerchantSite) -> Callable[..., dict[str, Any]]:
    """Create a checkout through the merchant API; the success and cancel URLs are the local shop's."""

    def create(handle: MerchantHandle | None = None, **overrides: Any) -> dict[str, Any]:
        body = checkout_body(success_url=f"{shop.url}/thanks?c={{CHECKOUT_ID}}", cancel_url=f"{shop.url}/cart",
                             customer={"name": "홍길동", "email": "gildong@example.com"})
        body.update(overrides)
        owner = handle or merchant
        response = requests.post(f"{live_server.url}/api/checkouts", json=body, headers=owner.headers, timeout=10)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


# --- the shopper's journey over plain HTTP, to reach a state quickly --------------------

def submit_over_http(checkout_url: str, **fields: str) -> requests.Response:
    """Fill the checkout form like a browser without JavaScript; returns the final response."""
    return flow.submit_form(requests.Session(), checkout_url, follow=True, **fields)


def sandbox_over_http(sandbox_url: str, action: str) -> requests.Response:
    return flow.sandbox_action(requests.Session(), sandbox_url, action, follow=True)


# --- Daum/Kakao Postcode, served by the test --------------------------------------------

POSTCODE_STANDIN = (Path(__file__).parent / "postcode_standin.js").read_text()


def serve_postcode(page: Any, served: str = "kakao") -> list[str]:
    """Serve the stand-in at one Postcode URL (``kakao`` or ``daum``) and refuse the other.

    Returns the list of Postcode URLs the page asked for, in order."""
    asked: list[str] = []

    def handle(route: Any, namespace: str) -> None:
        asked.append(route.request.url)
        if namespace == served:
            route.fulfill(status=200, content_type="text/javascript; charset=utf-8",
                          body=POSTCODE_STANDIN.replace("__NAMESPACE__", namespace))
        else:
            route.abort()

    page.route(KAKAO_URL, lambda route: handle(route, "kakao"))
    page.route(DAUM_URL, lambda route: handle(route, "daum"))
    return asked
