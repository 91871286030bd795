"""Our JSON.stringify, and why PayCombat needs it: the fake refuses anything else."""
from __future__ import annotations

import json
import random
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.adapters.providers import base, jsonstringify, paycombat
from chalicelib.adapters.providers.http import ProviderHttp
from tests.adapters.providers.fake_paycombat import FakePayCombat

FIXTURES = Path(__file__).parent / "fixtures" / "paycombat"
RECORDED = json.loads((FIXTURES / "jsonstringify_cases.json").read_text(encoding="utf-8"))["cases"]
NODE = shutil.which("node")


@pytest.fixture
def fake():
    server = FakePayCombat()
    yield server
    server.close()


# --- table: recorded Node output --------------------------------------------------------

@pytest.mark.parametrize("case", RECORDED, ids=[c["name"] for c in RECORDED])
def test_stringify_matches_recorded_node_output(case):
    assert jsonstringify.stringify(json.loads(case["input_json"])) == case["stringify"]


@pytest.mark.parametrize(("value", "expected"), [
    ({"name": "홍길동"}, '{"name":"홍길동"}'),
    ("U+2028 \u2028 and U+2029 \u2029 stay raw", '"U+2028 \u2028 and U+2029 \u2029 stay raw"'),
    ("\ud800", '"\\ud800"'),                       # lone high surrogate: escaped, lower-case hex
    ("\udfff", '"\\udfff"'),                       # lone low surrogate
    ("\ud83d\ude00", '"😀"'),                      # a pair spelled as two code points is one character
    ("\x00\x1f\x7f", '"\\u0000\\u001f\x7f"'),
    ('q"b\\', '"q\\"b\\\\"'),
    ({"b": 1, "10": 2, "2": 3}, '{"2":3,"10":2,"b":1}'),
    ((1, 2), "[1,2]"),
    (2**53 - 1, "9007199254740991"),
])
def test_stringify_table(value, expected):
    assert jsonstringify.stringify(value) == expected


@pytest.mark.parametrize("value", [1.5, Decimal("19.99"), 2**53, -(2**53), {1: "int key"}, {"s": {1, 2}}, b"bytes"])
def test_stringify_refuses_what_does_not_round_trip(value):
    with pytest.raises((TypeError, ValueError)):
        jsonstringify.stringify(value)


# --- properties -------------------------------------------------------------------------

_plain_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_safe_int = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
_plain_key = _plain_text.filter(lambda k: not k.isdigit())
json_values = st.recursive(
    st.none() | st.booleans() | _safe_int | _plain_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_plain_key, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_stringify_is_compact_utf8_json_for_ordinary_values(value):
    # Without array-index keys or lone surrogates, JSON.stringify is exactly compact,
    # non-ASCII-preserving JSON, and it parses back to the same value.
    text = jsonstringify.stringify(value)
    assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert json.loads(text) == value


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(), max_size=20))
def test_stringify_of_any_string_encodes_as_utf8_and_parses_back(text):
    out = jsonstringify.stringify(text)
    out.encode("utf-8")  # lone surrogates were escaped, so this cannot fail
    assert json.loads(out) == text


_ALPHABET = [*"abcXYZ09 ", '"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x01", "\x1f", "\x7f",
             "\u2028", "\u2029", "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d\ude00", "홍", "길", "동",
             "\u00e9", "\ufeff", "😀", "𝄞", "<", ">", "&", "'"]
_KEYS = ["a", "b", "0", "1", "2", "10", "01", "-1", "4294967294", "4294967295", "이름", "\u2028", "\ud800"]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, -1, 7, 22000, 2**31, 2**53 - 1, -(2**53 - 1), rng.randrange(-10**12, 10**12)])
    if kind in (2, 3):
        return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(8)))
    if kind in (4, 5):
        return {rng.choice(_KEYS + [_random_value(rng, 9)]): _random_value(rng, depth + 1)
                for _ in range(rng.randrange(5))}
    return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]


@pytest.mark.skipif(NODE is None, reason="node is not installed; the recorded table still runs")
def test_stringify_matches_node_on_500_generated_values():
    rng = random.Random(20250115)
    values = [_random_value(rng) for _ in range(500)]
    values = [v for v in values if not (isinstance(v, dict) and any(not isinstance(k, str) for k in v))]
    lines = "\n".join(json.dumps(v, ensure_ascii=True) for v in values)
    script = ("const lines=require('fs').readFileSync(0,'utf8').split('\\n');"
              "process.stdout.write(JSON.stringify(lines.map(l=>JSON.stringify(JSON.parse(l)))));")
    done = subprocess.run([NODE, "-e", script], input=lines.encode(), capture_output=True, check=True, timeout=30)
    node_outputs = json.loads(done.stdout)
    assert len(node_outputs) == len(values)
    for value, expected in zip(values, node_outputs, strict=True):
        assert jsonstringify.stringify(json.loads(json.dumps(value))) == expected, value


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_signature_equals_nodes_createhmac_over_json_stringify():
    data = json.loads((FIXTURES / "create_new_checkout_request.json").read_text(encoding="utf-8"))
    script = ("const c=require('crypto');const d=JSON.parse(require('fs').readFileSync(0,'utf8'));"
              "process.stdout.write(c.createHmac('sha256','키-key').update(JSON.stringify(d)).digest('hex'))")
    done = subprocess.run([NODE, "-e", script], input=json.dumps(data).encode(), capture_output=True, check=True, timeout=30)
    headers, body = paycombat.signed_request(data, "snd_token", "키-key")
    assert headers["signature"] == done.stdout.decode()
    assert body == (
        '{"checkout_token":"c70fd805cfade35462a66ef303534b2525fca259a1353ffb6677f9504f067e08",'
        '"payin_method_name":"KDB산업은행"}'
    ).encode()


# --- the signing test against the enforcing fake -------------------------------------------

KOREAN_PAYMENT_REQUEST = {
    "amount": 22000,
    "currency": "KRW",
    "country_code": "KR",
    "description": "chk_3kTMd1ApGRq5hN7bVx2yWc",
    "redirect_url": "https://checkout.example/c/chk_3kTMd1ApGRq5hN7bVx2yWc/return",
    "expire_at": "2999-01-17T07:21:08.000Z",
    "additional_info": {"order_reference": "chk_3kTMd1ApGRq5hN7bVx2yWc", "customer_full_name": "홍길동"},
}

PYTHON_DEFAULTS = {
    "json.dumps()": lambda body: json.dumps(body).encode(),
    "json.dumps(ensure_ascii=False)": lambda body: json.dumps(body, ensure_ascii=False).encode(),
    "json.dumps(separators=compact)": lambda body: json.dumps(body, separators=(",", ":")).encode(),
}


def _send(fake: FakePayCombat, method: str, path: str, body: bytes) -> Any:
    """Sign exactly the bytes sent, as a careful client would, and send them."""
    headers = {"X-token": fake.x_token, "signature": paycombat.sign(body, fake.signature_key),
               "Content-Type": "application/json"}
    return ProviderHttp("paycombat", [fake.x_token, fake.signature_key]).request(
        method, fake.url + path, headers=headers, body=body, retry_safe=False).json()


@pytest.mark.parametrize("serialize", PYTHON_DEFAULTS.values(), ids=PYTHON_DEFAULTS.keys())
def test_korean_body_serialized_by_python_defaults_is_rejected(fake, serialize):
    body = serialize(KOREAN_PAYMENT_REQUEST)
    assert body != jsonstringify.to_bytes(KOREAN_PAYMENT_REQUEST)
    with pytest.raises(base.ProviderRejected) as refused:
        _send(fake, "POST", "/api/v1/checkout", body)
    assert "(401)" in str(refused.value)
    assert fake.rejections[-1] == (401, "signature does not match JSON.stringify(body): send the bytes JSON.stringify writes")
    assert fake.checkouts == {}


def test_korean_body_serialized_by_jsonstringify_is_accepted_for_both_calls(fake):
    created = _send(fake, "POST", "/api/v1/checkout", jsonstringify.to_bytes(KOREAN_PAYMENT_REQUEST))["data"]
    assert created["additional_info"]["customer_full_name"] == "홍길동"

    choose = {"checkout_token": created["checkout_token"], "payin_method_name": "KDB산업은행"}
    with pytest.raises(base.ProviderRejected):
        _send(fake, "PATCH", "/api/v1/checkout", json.dumps(choose).encode())
    chosen = _send(fake, "PATCH", "/api/v1/checkout", jsonstringify.to_bytes(choose))["data"]
    assert chosen["payin_method_name"] == "KDB산업은행"
    sent = fake.requests_to("PATCH", "/api/v1/checkout")[-1]
    assert "KDB산업은행".encode() in sent.body and b"\\u" not in sent.body


def test_fake_refuses_a_signature_over_other_bytes_or_key(fake):
    body = jsonstringify.to_bytes(KOREAN_PAYMENT_REQUEST)
    for headers in (
        {"X-token": fake.x_token, "signature": paycombat.sign(body, "wrong-key"), "Content-Type": "application/json"},
        {"X-token": fake.x_token, "signature": paycombat.sign(body + b" ", fake.signature_key), "Content-Type": "application/json"},
        {"X-token": fake.x_token, "Content-Type": "application/json"},
        {"X-token": "snd_other", "signature": paycombat.sign(body, fake.signature_key), "Content-Type": "application/json"},
    ):
        with pytest.raises(base.ProviderRejected):
            ProviderHttp("paycombat").request("POST", fake.url + "/api/v1/checkout", headers=headers, body=body, retry_safe=False)
    assert [status for status, _ in fake.rejections] == [401, 401, 401, 401]
    assert fake.checkouts == {}
