"""`make run` as a newcomer uses it: start it, open the printed URL, pay in the sandbox."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.flow import sandbox_action, submit_form
from tools.dynamodb_local import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def running_product():
    port, store_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHECKOUT_", "AWS_ENDPOINT"))}
    env["CHECKOUT_SECRET_KEY"] = os.environ["CHECKOUT_SECRET_KEY"]
    process = subprocess.Popen(
        [sys.executable, "tools/run_local.py", "--port", str(port), "--store-port", str(store_port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines = []
    url = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and url is None:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        found = re.search(r"Open the checkout:\s+(\S+)", line)
        url = found.group(1) if found else None
    assert url, "the run command printed no checkout URL:\n" + "".join(lines)
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.3)
    output = []

    def rest_of_output():
        os.killpg(process.pid, signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate()
        return "".join(lines) + out

    yield url, "".join(lines), output, rest_of_output
    if process.poll() is None:
        rest_of_output()


def test_the_run_command_serves_a_payable_checkout(running_product):
    url, banner, _, finish = running_product
    api_key = re.search(r"API key (sk_test_\w+)", banner).group(1)
    shopper = requests.Session()
    submitted = submit_form(shopper, url)
    assert submitted.status_code == 303
    approved = sandbox_action(shopper, submitted.headers["location"], "approve")
    success = shopper.get(approved.headers["location"], timeout=10)
    assert success.status_code == 200 and "Thank you" in success.text
    checkout_id = url.rsplit("/", 1)[1]
    assert success.url.endswith(f"/success?checkout_id={checkout_id}")
    base = url.split("/c/")[0]
    read = requests.get(f"{base}/api/checkouts/{checkout_id}", headers={"x-api-key": api_key}, timeout=10).json()
    assert read["status"] == "complete"
    output = finish()
    assert f"[demo store] verified webhook checkout.completed for {checkout_id}" in output
