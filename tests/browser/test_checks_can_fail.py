"""The browser suite's own checks, shown to fail on purpose: axe-core, the CSP listener and the
script inventory each catch what they are there to catch (so a green run means something)."""
from __future__ import annotations

import pytest

from tests.browser.conftest import Recorder, assert_scripts_inventoried

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_axe_reports_a_field_without_a_label(browsing, new_checkout):
    browsing.open(new_checkout()["url"])
    browsing.page.evaluate("document.querySelector('form').append(document.createElement('input'))")
    assert "label" in [v["id"] for v in browsing.axe()]


def test_an_inline_script_is_refused_and_reported(browsing, new_checkout):
    browsing.open(new_checkout()["url"])
    browsing.page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.__ran = true';
        document.body.append(s);
    }""")
    browsing.page.wait_for_function("document.readyState === 'complete'")
    browsing.page.wait_for_timeout(100)
    assert browsing.page.evaluate("window.__ran") is None
    assert [v["directive"] for v in browsing.recorder.csp_violations] == ["script-src-elem"]
    with pytest.raises(AssertionError, match="CSP violations"):
        browsing.assert_clean(allow_console=lambda text: "Content Security Policy" in text)


def test_a_script_missing_from_the_inventory_is_caught(browsing, new_checkout, inventory):
    """The CSP allows all of t1.daumcdn.net; the inventory allows only the Postcode scripts."""
    page = browsing.page
    page.route("https://t1.daumcdn.net/other/tracker.js",
               lambda route: route.fulfill(status=200, content_type="text/javascript", body="window.__tracked = 1;"))
    browsing.open(new_checkout()["url"])
    page.evaluate("""() => new Promise(done => {
        const s = document.createElement('script');
        s.src = 'https://t1.daumcdn.net/other/tracker.js';
        s.nonce = document.querySelector('script[nonce]').nonce;
        s.onload = done;
        document.head.append(s);
    })""")
    assert page.evaluate("window.__tracked") == 1
    with pytest.raises(AssertionError, match="not in docs/script-inventory.json"):
        browsing.assert_clean()


def test_the_inventory_check_refuses_unknown_and_inline_scripts(inventory):
    origin = "http://127.0.0.1:8000"
    known = Recorder(script_urls=[f"{origin}/static/checkout.0123456789.js"])
    assert_scripts_inventoried(known, inventory, origin)
    [inlined] = [s["inline_sha256"] for s in inventory["scripts"] if s.get("inline_sha256")]
    assert_scripts_inventoried(Recorder(dom_scripts=[{"src": "", "inline": True, "nonced": True, "sha256": inlined}]),
                               inventory, origin)
    for recorder in (
        Recorder(script_urls=[f"{origin}/static/other.0123456789.js"]),
        Recorder(script_urls=["https://evil.example/checkout.0123456789.js"]),
        Recorder(dom_scripts=[{"src": "", "inline": True, "nonced": True, "sha256": "0" * 64}]),
        Recorder(dom_scripts=[{"src": "", "inline": True, "nonced": False, "sha256": inlined}]),
    ):
        with pytest.raises(AssertionError):
            assert_scripts_inventoried(recorder, inventory, origin)
