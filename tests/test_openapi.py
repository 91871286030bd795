"""The merchant API's OpenAPI 3.1 document, and schemathesis against the running app
(the app over HTTP on DynamoDB Local): 0 server errors, 0 schema violations."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import create_merchant
from tests.flow import MerchantSite, create_checkout

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
pytestmark = pytest.mark.xdist_group("schemathesis")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_the_served_document_is_the_generated_one(client):
    from tools import make_openapi

    served = client.http.get("/api/openapi.json")
    assert served.status_code == 200
    assert json.loads(served.body) == json.loads(make_openapi.render()), "run tools/make_openapi.py"
    assert json.loads(served.body)["openapi"].startswith("3.1")


def test_schemathesis_finds_no_server_errors_and_no_schema_violations(local_db, receiver, live_server, tmp_path):
    merchant = create_merchant(local_db, receiver.url)
    site = MerchantSite()
    try:
        for _ in range(3):
            create_checkout(live_server.url, merchant.api_key, site.url)
    finally:
        site.close()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "st"), "run", f"{live_server.url}/api/openapi.json",
         "--url", live_server.url, "--header", f"x-api-key: {merchant.api_key}",
         "--checks", CHECKS, "--max-examples", "40", "--seed", "20261122", "--workers", "1",
         "--request-timeout", "20", "--no-color", "--report", "junit", "--report-dir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )
    output = result.stdout + result.stderr
    summary = "\n".join(line for line in output.splitlines() if re.search(r"passed|failed|error|Summary|checks", line, re.I))
    print(summary)
    assert result.returncode == 0, output[-6000:]
    assert requests.get(f"{live_server.url}/health", timeout=5).status_code == 200
