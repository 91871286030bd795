"""When the master key cannot be read (no CHECKOUT_SECRET_KEY, SSM unreachable), every command
and route says so in one line naming the variable and the parameter, never a botocore trace."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from chalicelib.adapters import secretbox
from chalicelib.domain import clock
from tests.conftest import api_json, checkout_body, create_merchant

ROOT = Path(__file__).resolve().parents[2]
PARAM = "/hosted-checkout/dev/secret-key"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers


def environment(moto_endpoint: str, ssm: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CHECKOUT_SECRET_KEY"}
    env.update(AWS_ENDPOINT_URL_DYNAMODB=moto_endpoint, CHECKOUT_TABLE=f"key-test-{uuid.uuid4().hex[:10]}",
               AWS_DEFAULT_REGION="ap-northeast-2", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    if ssm is None:
        env["CHECKOUT_SECRET_KEY_PARAM"] = ""
    else:
        env.update(CHECKOUT_SECRET_KEY_PARAM=PARAM, AWS_ENDPOINT_URL_SSM=ssm)
    return env


COMMANDS = [
    ["merchant", "create", "--id", "key-shop", "--name", "Shop", "--provider", "sandbox"],
    ["demo"],
]


@pytest.mark.parametrize("ssm", [None, UNREACHABLE], ids=["nothing configured", "SSM unreachable"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_command_says_in_one_line_which_variable_and_parameter(moto_endpoint, ssm, command):
    env = environment(moto_endpoint, ssm)
    subprocess.run([sys.executable, "-m", "chalicelib.admin", "create-table"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)
    result = subprocess.run([sys.executable, "-m", "chalicelib.admin", *command], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "botocore" not in result.stderr
    line, = result.stderr.strip().splitlines()
    error = json.loads(line)["error"]
    assert error["code"] == "secret_key_unavailable"
    assert "CHECKOUT_SECRET_KEY" in error["message"] and "CHECKOUT_SECRET_KEY_PARAM" in error["message"]
    if ssm is not None:
        assert PARAM in error["message"]


@pytest.fixture
def key_lost(monkeypatch):
    """The master key was there when the merchant was made, and cannot be read from now on."""

    def lose() -> None:
        monkeypatch.delenv("CHECKOUT_SECRET_KEY")
        monkeypatch.setenv("CHECKOUT_SECRET_KEY_PARAM", PARAM)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", UNREACHABLE)
        secretbox.reset_cache()

    yield lose
    monkeypatch.undo()
    secretbox.reset_cache()


def test_routes_answer_503_with_the_line_never_a_trace(client, db, receiver, key_lost, caplog):
    merchant = create_merchant(db, receiver.url)
    created = api_json(client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body())))
    key_lost()

    page = client.http.get(f"/c/{created['id']}")
    assert page.status_code == 503
    text = page.body.decode()
    assert page.headers["Content-Type"].startswith("text/html") and "Content-Security-Policy" in page.headers
    assert "Traceback" not in text and "botocore" not in text and PARAM not in text  # shoppers see a friendly page

    hook = client.http.post(f"/webhooks/sandbox/{merchant.id}", body=b'{"type":"session.updated"}',
                            headers={"content-type": "application/json", "sandbox-signature": f"t={clock.now_s()},v1={'0' * 64}"})
    assert hook.status_code == 503
    error = api_json(hook)["error"]
    assert error["code"] == "secret_key_unavailable"
    assert "CHECKOUT_SECRET_KEY" in error["message"] and PARAM in error["message"]
    logged = [r.getMessage() for r in caplog.records if "master key" in r.getMessage()]
    assert logged and all("\n" not in line for line in logged)
