"""The house's rules (pyproject.toml, [tool.importlinter]) hold, and each would catch the
import it forbids: every contract is run on a throwaway copy of the package that breaks it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract id -> (module added or changed in the copy, the line that breaks it, what the report must name)
MUTANTS = {
    "layers": ("domain/_mutant.py", "from chalicelib.adapters import store\n",
               "chalicelib.domain._mutant -> chalicelib.adapters.store"),
    "pure-domain": ("domain/_mutant.py", "import botocore\n", "chalicelib.domain._mutant -> botocore"),
    "providers-without-store": ("adapters/providers/_mutant.py", "from chalicelib.adapters.store import get_store\n",
                                "chalicelib.adapters.providers._mutant -> chalicelib.adapters.store"),
    "one-http-client": ("usecases/_mutant.py", "import requests\n", "chalicelib.usecases._mutant -> requests"),
    "settings-and-logs-below-everything": ("logs.py", "from chalicelib.domain import clock\n",
                                           "chalicelib.logs -> chalicelib.domain.clock"),
    "no-cycles": ("usecases/events.py", "from chalicelib.usecases import checkouts\n",
                  "- .events -> .checkouts"),
}


def lint(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo", *[f"--contract={c}" for c in contracts], "pyproject.toml"]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(cwd)})


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_contract_is_tried_here():
    import tomllib

    ids = {c["id"] for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}
    assert ids == set(MUTANTS)


@pytest.mark.parametrize("contract", sorted(MUTANTS))
def test_a_forbidden_import_breaks_its_contract_and_is_named(contract, tmp_path):
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    relative, line, named = MUTANTS[contract]
    target = tmp_path / "chalicelib" / relative
    target.write_text((target.read_text() if target.exists() else "") + line)

    result = lint(tmp_path, contract)

    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert named in result.stdout, result.stdout
