"""Deployment configuration: stages, the IAM policy against what the code calls, the
CloudFormation table against what the store creates, and cfn-lint on the merged template."""
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.conftest import api_json, checkout_body, create_merchant
from tests.flow import GOOD_FORM, csrf_token

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
pytestmark = pytest.mark.xdist_group("packaging")


def policy(stage):
    return json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())


def test_stages_dev_and_prod_with_hand_written_policies():
    stages = CONFIG["stages"]
    assert set(stages) == {"dev", "prod"}
    assert stages["dev"]["environment_variables"]["CHECKOUT_SANDBOX"] == "1"
    assert stages["prod"]["environment_variables"]["CHECKOUT_SANDBOX"] == "0"
    assert stages["prod"]["environment_variables"]["CHECKOUT_ALLOW_INSECURE_WEBHOOKS"] == "0"
    for name, stage in stages.items():
        assert stage["autogen_policy"] is False and stage["iam_policy_file"] == f"policy-{name}.json"
        assert "CHECKOUT_SECRET_KEY" not in stage["environment_variables"]  # never in the repo
        assert stage["environment_variables"]["CHECKOUT_SECRET_KEY_PARAM"].startswith("/")
    assert CONFIG.get("automatic_layer") is False  # templates/static ride in vendor/, which a layer would move


class Recorder:
    """Every DynamoDB operation the app makes, through botocore's event hooks."""

    def __init__(self, client):
        self.operations = []
        client.meta.events.register("provide-client-params.dynamodb.*", self.record)

    def record(self, params, model, **kwargs):
        self.operations.append((model.name, params))

    def iam_actions(self):
        actions = set()
        for name, params in self.operations:
            if name == "TransactWriteItems":
                kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
                actions |= {f"dynamodb:{kinds[k]}" for item in params["TransactItems"] for k in item}
            else:
                actions.add(f"dynamodb:{name}")
        return actions


def test_the_policy_grants_exactly_the_dynamodb_actions_the_app_uses(client, db, receiver):
    merchant = create_merchant(db, receiver.url)  # onboarding is the operator's (admin CLI), not the Lambda's
    recorder = Recorder(db.client)
    created = api_json(client.http.post("/api/checkouts", headers={**merchant.headers, "idempotency-key": "k"},
                                        body=json.dumps(checkout_body())))
    page = client.http.get(f"/c/{created['id']}").body.decode()
    submitted = client.http.post(f"/c/{created['id']}", body=urlencode({**GOOD_FORM, "csrf_token": csrf_token(page)}),
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    session_id = submitted.headers["Location"].rsplit("/", 1)[1]
    sandbox_page = client.http.get(f"/sandbox/{session_id}").body.decode()
    client.http.post(f"/sandbox/{session_id}", body=urlencode({"action": "approve", "csrf_token": csrf_token(sandbox_page)}),
                     headers={"content-type": "application/x-www-form-urlencoded"})
    client.http.get(f"/c/{created['id']}/return")
    client.http.get(f"/api/checkouts/{created['id']}", headers=merchant.headers)
    client.http.get("/api/checkouts?status=complete", headers=merchant.headers)
    other = api_json(client.http.post("/api/checkouts", headers=merchant.headers, body=json.dumps(checkout_body())))
    client.http.post(f"/api/checkouts/{other['id']}/cancel", headers=merchant.headers)
    events = api_json(client.http.get(f"/api/events?checkout_id={created['id']}", headers=merchant.headers))["data"]
    client.http.post(f"/api/events/{events[0]['id']}/resend", headers=merchant.headers)
    link = api_json(client.http.post("/api/payment-links", headers=merchant.headers,
                                     body=json.dumps({k: v for k, v in checkout_body().items() if k != "client_reference_id"})))
    client.http.get(f"/l/{link['id']}")
    client.http.post(f"/api/payment-links/{link['id']}", headers=merchant.headers, body=json.dumps({"active": False}))
    cw = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    client.lambda_.invoke("deliver_webhooks", cw)
    client.lambda_.invoke("expire_checkouts", cw)
    client.lambda_.invoke("reconcile_payments", cw)
    client.http.get("/health")

    used = recorder.iam_actions()
    for stage in ("dev", "prod"):
        [table_statement] = [s for s in policy(stage)["Statement"] if any(a.startswith("dynamodb:") for a in s["Action"])]
        assert set(table_statement["Action"]) == used, f"policy-{stage}.json"
        table = CONFIG["stages"][stage]["environment_variables"]["CHECKOUT_TABLE"]
        assert set(table_statement["Resource"]) == {f"arn:aws:dynamodb:*:*:table/{table}", f"arn:aws:dynamodb:*:*:table/{table}/index/*"}


def test_the_policy_reads_only_the_stages_secret_parameter():
    for stage in ("dev", "prod"):
        [ssm] = [s for s in policy(stage)["Statement"] if any(a.startswith("ssm:") for a in s["Action"])]
        param = CONFIG["stages"][stage]["environment_variables"]["CHECKOUT_SECRET_KEY_PARAM"]
        assert ssm["Action"] == ["ssm:GetParameter"] and ssm["Resource"] == f"arn:aws:ssm:*:*:parameter{param}"


def test_the_cloudformation_table_matches_what_the_store_creates(db):
    fragment = json.loads((ROOT / ".chalice" / "table-prod.json").read_text())["Resources"]["CheckoutTable"]["Properties"]
    live = db.client.describe_table(TableName=db.table)["Table"]
    assert sorted(fragment["AttributeDefinitions"], key=str) == sorted(live["AttributeDefinitions"], key=str)
    assert fragment["KeySchema"] == live["KeySchema"]
    assert {g["IndexName"]: g["KeySchema"] for g in fragment["GlobalSecondaryIndexes"]} == \
        {g["IndexName"]: g["KeySchema"] for g in live["GlobalSecondaryIndexes"]}
    assert fragment["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert fragment["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert fragment["TableName"] == CONFIG["stages"]["prod"]["environment_variables"]["CHECKOUT_TABLE"]


def test_cfn_lint_passes_on_the_merged_template(tmp_path):
    build = subprocess.run(
        [str(Path(sys.executable).parent / "chalice"), "package", "--stage", "prod",
         "--merge-template", ".chalice/table-prod.json", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "AWS_DEFAULT_REGION": "ap-northeast-2"},
    )
    assert build.returncode == 0, build.stdout + build.stderr
    template = json.loads((tmp_path / "out" / "sam.json").read_text())
    assert "CheckoutTable" in template["Resources"]
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert "AWS::Events::Rule" in kinds or any("Schedule" in json.dumps(r) for r in template["Resources"].values())
    lint = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(tmp_path / "out" / "sam.json")],
                          capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
