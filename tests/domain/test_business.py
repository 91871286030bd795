"""The seller's business profile (사업자등록번호 check digit, validation naming the key, the
incomplete-profile warning), Korean mobile numbers, and the delivery presets: pure rules."""
from __future__ import annotations

import pytest

from chalicelib.domain import business, shopper_form
from chalicelib.domain.errors import Unprocessable
from chalicelib.domain.validation import is_valid_phone
from chalicelib.entrypoints.admin import DEMO_BUSINESS

COMPLETE = dict(DEMO_BUSINESS)


@pytest.mark.parametrize("number, valid", [
    ("124-81-00998", True), ("1248100998", True), ("220-81-62517", True), ("123-45-67891", True),
    ("124-81-00999", False), ("1234567890", False), ("12345678", False), ("123-45-6789a", False), ("", False),
])
def test_registration_numbers_are_checked_with_the_nts_check_digit(number, valid):
    assert business.is_valid_registration_number(number) is valid


def test_a_profile_change_names_the_key_at_fault_with_a_422():
    with pytest.raises(Unprocessable) as bad:
        business.validate_changes({"registration_number": "124-81-00999"})
    assert bad.value.http_status == 422 and bad.value.param == "registration_number"
    with pytest.raises(Unprocessable) as unknown:
        business.validate_changes({"ceo": "김철수"})
    assert unknown.value.param == "ceo"
    for key, value in (("terms_url", "http://shop.example/terms"), ("email", "not-an-email"),
                       ("return_shipping_fee", "-1"), ("phone", "call us")):
        with pytest.raises(Unprocessable) as e:
            business.validate_changes({key: value})
        assert e.value.param == key
    assert business.validate_changes({"registration_number": "124-81-00998", "return_shipping_fee": "3000"}) == {
        "registration_number": "1248100998", "return_shipping_fee": 3000}


def test_an_incomplete_korean_profile_warns_and_an_english_storefront_does_not():
    assert business.warnings("ko", COMPLETE | {"registration_number": "1234567891", "return_shipping_fee": 3000}) == []
    warned = business.warnings("ko", {"name": "상점"})
    assert warned[0]["code"] == "business_profile_incomplete"
    assert "registration_number" in warned[0]["missing"] and "name" not in warned[0]["missing"]
    assert business.warnings("en", {}) == []


@pytest.mark.parametrize("phone, valid", [
    ("010-1234-5678", True), ("01012345678", True), ("010 1234 5678", True), ("+82 10-1234-5678", True),
    ("+821012345678", True), ("011-123-4567", False), ("010-123-4567", False), ("0101234567", False),
    ("+82 2-123-4567", False), ("+1 415 555 0100", True),
])
def test_mobile_numbers(phone, valid):
    assert is_valid_phone(phone) is valid


def test_delivery_presets_are_the_five_usual_ones():
    assert list(shopper_form.DELIVERY_REQUESTS) == ["door", "security_office", "parcel_box", "call_before", "custom"]
