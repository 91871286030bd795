"""The admin CLI, run as operators run it: `python -m chalicelib.admin …` in a subprocess."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(engine):
    table = f"admin-test-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": engine, "CHECKOUT_TABLE": table}

    def run(*args, expect=0):
        result = subprocess.run([sys.executable, "-m", "chalicelib.admin", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == expect, result.stderr
        return result

    run.table = table
    run.endpoint = engine
    return run


def test_create_table_is_safe_to_repeat(cli):
    first = json.loads(cli("create-table").stdout)
    second = json.loads(cli("create-table").stdout)
    assert first == {"table": cli.table, "created": True}
    assert second == {"table": cli.table, "created": False}


def test_create_table_on_an_older_table_adds_the_index_and_names_the_unused_one(moto_endpoint):
    # On moto: DynamoDB Local's own run of this is tests/adapters/test_store.py (on an engine of its own).
    import boto3

    table = f"admin-old-{uuid.uuid4().hex[:10]}"
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    client.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {"IndexName": i, "KeySchema": [{"AttributeName": f"{i}pk", "KeyType": "HASH"}, {"AttributeName": f"{i}sk", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": p}} for i, p in (("gsi1", "ALL"), ("gsi2", "KEYS_ONLY"))])
    env = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint, "CHECKOUT_TABLE": table}
    result = subprocess.run([sys.executable, "-m", "chalicelib.admin", "create-table"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["created"] is False and out["unused_indexes"] == ["gsi1"]
    assert "delete it" in out["note"] and f"--table-name {table}" in out["note"]
    indexes = {i["IndexName"] for i in client.describe_table(TableName=table)["Table"]["GlobalSecondaryIndexes"]}
    assert indexes == {"gsi1", "gsi1keys", "gsi2"}


def test_merchant_lifecycle(cli):
    cli("create-table")
    created = json.loads(cli(
        "merchant", "create", "--id", "shop-1", "--name", "한국 상점", "--provider", "sandbox",
        "--allowed-host", "shop.example", "--webhook-url", "https://93.184.216.34/hooks",
        "--locale", "ko", "--brand-color", "#ff5500", "--support-email", "cs@shop.example",
    ).stdout)
    assert set(created) == {"merchant_id", "api_key", "webhook_secret"}
    assert created["api_key"].startswith("sk_test_") and created["webhook_secret"].startswith("whsec_")

    shown = cli("merchant", "show", "--id", "shop-1").stdout
    assert created["api_key"] not in shown and created["webhook_secret"] not in shown
    view = json.loads(shown)
    assert view["name"] == "한국 상점" and view["brand_color"] == "#FF5500" and view["allowed_hosts"] == ["shop.example"]

    rotated = json.loads(cli("merchant", "rotate-key", "--id", "shop-1").stdout)
    assert rotated["api_key"] != created["api_key"]

    from chalicelib.adapters.store import Store
    from chalicelib.domain.errors import AuthenticationFailed
    from chalicelib.usecases import merchants
    from tests.conftest import make_client

    s = Store(make_client(cli.endpoint), cli.table)
    assert merchants.authenticate(s, {"x-api-key": rotated["api_key"]}).id == "shop-1"
    with pytest.raises(AuthenticationFailed):
        merchants.authenticate(s, {"x-api-key": created["api_key"]})
    dump = json.dumps(s.client.scan(TableName=cli.table)["Items"])
    assert created["webhook_secret"] not in dump and rotated["api_key"] not in dump


@pytest.mark.parametrize("args,param", [
    (["--id", "X!", "--name", "n", "--provider", "sandbox"], "id"),
    (["--id", "ok-id", "--name", "n", "--provider", "paypal"], "provider"),
    (["--id", "ok-id", "--name", "n", "--provider", "sandbox", "--credential", "api_key=x"], "credential"),
    (["--id", "ok-id", "--name", "n", "--provider", "sandbox", "--brand-color", "red"], "brand_color"),
    (["--id", "ok-id", "--name", "n", "--provider", "sandbox", "--logo-url", "http://x.example/l.png"], "logo_url"),
    (["--id", "ok-id", "--name", "n", "--provider", "sandbox", "--webhook-url", "ftp://x.example/"], "webhook_url"),
    (["--id", "ok-id", "--name", "n", "--provider", "sandbox", "--allowed-host", "https://x.example/"], "allowed_host"),
])
def test_bad_merchant_input_is_a_clear_error(cli, args, param):
    cli("create-table")
    result = cli("merchant", "create", *args, expect=2)
    error = json.loads(result.stderr)["error"]
    assert error["param"] == param and "Traceback" not in result.stderr


def test_a_merchant_id_is_created_once(cli):
    cli("create-table")
    cli("merchant", "create", "--id", "dup", "--name", "A", "--provider", "sandbox")
    result = cli("merchant", "create", "--id", "dup", "--name", "B", "--provider", "sandbox", expect=2)
    assert json.loads(result.stderr)["error"]["code"] == "merchant_exists"


def test_plain_http_webhooks_are_refused_in_prod(cli):
    cli("create-table")
    # The prod stage's own settings, not the dev ones the test session exports.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_") or k == "CHECKOUT_SECRET_KEY"}
    env.update(AWS_ENDPOINT_URL_DYNAMODB=cli.endpoint, CHECKOUT_TABLE=cli.table)
    base = [sys.executable, "-m", "chalicelib.admin", "--stage", "prod", "merchant", "create", "--name", "P",
            "--provider", "clink", "--credential", "api_key=sk_prod_5ec0f1d2a3b4c5d6",
            "--credential", "webhook_secret=whsec_live_signing_secret_0001"]
    refused = subprocess.run([*base, "--id", "prod-1", "--webhook-url", "http://127.0.0.1:9000/hooks"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert refused.returncode == 2 and json.loads(refused.stderr)["error"]["param"] == "webhook_url"
    sandbox = subprocess.run([*base[:-4], "--provider", "sandbox", "--id", "prod-3"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert sandbox.returncode == 2 and json.loads(sandbox.stderr)["error"]["param"] == "provider"
    live = subprocess.run([*base, "--id", "prod-2", "--webhook-url", "https://93.184.216.34/hooks"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert live.returncode == 0, live.stderr
    assert json.loads(live.stdout)["api_key"].startswith("sk_live_")


def test_demo_prints_a_checkout_url_and_key(cli):
    demo = json.loads(cli("demo", "--base-url", "http://127.0.0.1:8000").stdout)
    assert demo["checkout_url"].startswith("http://127.0.0.1:8000/c/chk_")
    assert demo["api_key"].startswith("sk_test_")
    again = json.loads(cli("demo").stdout)
    assert again["api_key"] != demo["api_key"] and again["checkout_id"] != demo["checkout_id"]


def test_unknown_stage_is_refused(cli):
    result = cli("--stage", "staging", "create-table", expect=1)
    assert "unknown stage" in result.stderr


# --- the business profile (issue 17) -----------------------------------------------------

PROFILE = [
    "name=한국 상점 주식회사", "representative=김대표", "address=서울특별시 중구 세종대로 110",
    "phone=1588-1234", "email=cs@shop.example", "registration_number=124-81-00998",
    "mail_order_number=제2026-서울중구-0123호", "mail_order_office=서울특별시 중구청",
    "hosting_provider=Amazon Web Services, Inc.", "terms_url=https://shop.example/terms",
    "refund_policy=https://shop.example/refunds", "return_shipping_fee=3000",
]


def business_args(pairs):
    return [arg for pair in pairs for arg in ("--business", pair)]


def test_a_bad_registration_number_is_refused_by_name(cli):
    cli("create-table")
    refused = cli("merchant", "create", "--id", "shop-biz", "--name", "n", "--provider", "sandbox",
                  "--business", "registration_number=124-81-00999", expect=2)
    error = json.loads(refused.stderr.strip().splitlines()[-1])["error"]
    assert error["param"] == "registration_number" and "registration_number" in error["message"]
    unknown = cli("merchant", "create", "--id", "shop-biz", "--name", "n", "--provider", "sandbox",
                  "--business", "ceo_name=김철수", expect=2)
    assert json.loads(unknown.stderr.strip().splitlines()[-1])["error"]["param"] == "ceo_name"
    cli("merchant", "show", "--id", "shop-biz", expect=1)  # nothing was created


def test_an_incomplete_korean_profile_is_warned_about_and_update_completes_it(cli):
    cli("create-table")
    created = cli("merchant", "create", "--id", "shop-biz", "--name", "n", "--provider", "sandbox",
                  "--locale", "ko", *business_args(PROFILE[:3]))
    assert set(json.loads(created.stdout)) == {"merchant_id", "api_key", "webhook_secret"}
    assert "warning:" in created.stderr and "registration_number" in created.stderr

    shown = cli("merchant", "show", "--id", "shop-biz")
    assert "warning:" in shown.stderr
    warnings = json.loads(shown.stdout)["warnings"]
    assert warnings[0]["code"] == "business_profile_incomplete" and "phone" in warnings[0]["missing"]

    bad = cli("merchant", "update", "--id", "shop-biz", "--business", "registration_number=1234567890", expect=2)
    assert json.loads(bad.stderr.strip().splitlines()[-1])["error"]["param"] == "registration_number"

    updated = cli("merchant", "update", "--id", "shop-biz", "--brand-color", "#0f7b6c", *business_args(PROFILE[3:]))
    view = json.loads(updated.stdout)
    assert view["warnings"] == [] and "warning:" not in updated.stderr
    assert view["business"]["registration_number"] == "1248100998" and view["business"]["return_shipping_fee"] == 3000
    assert view["brand_color"] == "#0F7B6C" and view["name"] == "n"
    assert "api_key" not in updated.stdout and "whsec_" not in updated.stdout and "webhook_secret" not in updated.stdout
    cleared = json.loads(cli("merchant", "update", "--id", "shop-biz", "--business", "phone=").stdout)
    assert "phone" not in cleared["business"] and cleared["warnings"][0]["missing"] == ["phone"]


def test_update_says_plainly_that_it_does_not_change_the_provider(cli):
    cli("create-table")
    cli("merchant", "create", "--id", "shop-p", "--name", "n", "--provider", "sandbox")
    refused = cli("merchant", "update", "--id", "shop-p", "--provider", "koreacheckout", expect=1)
    assert "does not change the provider" in refused.stderr and "Traceback" not in refused.stderr
