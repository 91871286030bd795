"""The checkout page's first load stays light: at most 30 KB first-party, in at most 5 requests."""
from __future__ import annotations

import pytest

from bench import page_weight

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_first_load_of_the_checkout_page_fits_the_budget(browser, new_checkout):
    checkout = new_checkout()
    result = page_weight.measure(browser, checkout["url"])
    kinds = sorted(r["type"] for r in result["requests"] if r["first_party"])
    # The stylesheet and the script are in the document (two API Gateway requests less).
    assert kinds == ["document"], result["requests"]
    assert result["third_party_requests"] == 0, "nothing third-party loads until the shopper asks for it"
    assert result["first_party_requests"] <= 5
    assert result["first_party_bytes"] <= 30 * 1024, result
