"""The load test (bench/load.py), small: 60 checkouts from 10 concurrent shoppers and a flash
sale of 20 shoppers on a code with usage_limit 10, on DynamoDB Local, over HTTP.

The script itself asserts the invariants (every paid checkout complete, exactly one
checkout.completed each and delivered, verified with standardwebhooks; no second provider
session, no replay accepted, no 5xx; exactly 10 redemptions) and exits 1 when one fails.
Timings are printed, never asserted."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.ddb_local, pytest.mark.xdist_group("load")]


def test_sixty_checkouts_and_a_flash_sale_lose_and_double_nothing(ddb_local_endpoint):
    env = {**os.environ, "AWS_DEFAULT_REGION": "ap-northeast-2", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--checkouts", "60", "--shoppers", "10",
         "--flash", "20", "--flash-limit", "10", "--fault-checkouts", "0", "--endpoint", ddb_local_endpoint, "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    assert rows["ok"] is True
    assert [r[2] for r in rows["rows"]] == ["all invariants hold"] * 2
    assert "redemptions 10 of limit 10" in rows["rows"][1][1]


def test_the_invariant_check_names_each_kind_of_failure():
    sys.path.insert(0, str(ROOT / "bench"))
    import load

    ids = ["chk_a", "chk_b", "chk_c"]
    good = {"sessions": [("chk_a", "completed"), ("chk_b", "completed"), ("chk_c", "pending")],
            "creates": {"att_a": 1, "att_b": 1, "att_c": 1},
            "deliveries": [{"type": "checkout.completed", "checkout_id": c, "id": f"evt_{c}"} for c in ("chk_a", "chk_b")],
            "invalid": 0, "statuses": {"chk_a": "complete", "chk_b": "complete", "chk_c": "processing"},
            "stored": {"chk_a": 1, "chk_b": 1, "chk_c": 0}}

    def problems(allow_503=False, errors=(), **changes):
        figures = load.Figures("t")
        figures.errors.update(errors)
        case = {**good, **changes}
        return load.invariant_problems(ids, case["sessions"], case["creates"], case["deliveries"], case["invalid"],
                                       case["statuses"], case["stored"], figures, allow_503)

    assert problems() == []
    assert "lost" in " ".join(problems(deliveries=good["deliveries"][:1]))
    assert "not complete" in " ".join(problems(statuses={**good["statuses"], "chk_b": "processing"}))
    assert "more than one checkout.completed" in " ".join(
        problems(deliveries=good["deliveries"] + [{"type": "checkout.completed", "checkout_id": "chk_a", "id": "evt_x"}]))
    assert "without a payment" in " ".join(problems(stored={**good["stored"], "chk_c": 1}))
    assert "exactly one checkout.completed event stored" in " ".join(problems(stored={**good["stored"], "chk_a": 2}))
    assert "more than one provider session" in " ".join(problems(sessions=good["sessions"] + [("chk_a", "pending")]))
    assert "created twice" in " ".join(problems(creates={**good["creates"], "att_a": 2}))
    assert "standardwebhooks" in " ".join(problems(invalid=1))
    assert "server errors" in " ".join(problems(errors={"page: 500": 1}))
    assert "server errors" in " ".join(problems(errors={"page: 503": 1}))
    assert problems(allow_503=True, errors={"page: 503": 2}) == []
    assert "server errors" in " ".join(problems(allow_503=True, errors={"submit: 500": 1}))
