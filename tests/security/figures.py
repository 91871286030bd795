"""The security suite's figures: each test adds a row; the run ends with one table.

A row says how many cases were tried and what came of them (accepted, server
errors, state transitions, merchant events), so "0 of N" is read at a glance.
Under xdist every worker keeps its own rows and hands them to the controller
through ``workeroutput``; the controller prints the table once. Loaded as a
plugin from ``tests/conftest.py`` so the hooks run whichever tests are selected.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pytest

ROWS_KEY = "security_figures"
_rows: list[dict[str, Any]] = []


@dataclass
class Row:
    area: str
    case: str
    tried: int
    accepted: int | None = None
    server_errors: int | None = None
    transitions: int | None = None
    events: int | None = None
    # What the test asserts, in words ("0 accepted", "1 transition, 1 event").
    expect: str = ""


class Figures:
    """What a test adds its row to. ``None`` prints as "-" (the column means nothing there)."""

    def add(
        self,
        area: str,
        case: str,
        tried: int,
        *,
        accepted: int | None = None,
        server_errors: int | None = None,
        transitions: int | None = None,
        events: int | None = None,
        expect: str = "0 accepted",
    ) -> None:
        _rows.append(asdict(Row(area, case, tried, accepted, server_errors, transitions, events, expect)))


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[ROWS_KEY] = list(_rows)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    _rows.extend(getattr(node, "workeroutput", {}).get(ROWS_KEY, []))


COLUMNS = (("tried", "tried"), ("accepted", "accepted"), ("server_errors", "5xx"),
           ("transitions", "transitions"), ("events", "events"))


def table(rows: list[dict[str, Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return "-" if value is None else str(value)

    ordered = sorted(rows, key=lambda r: (r["area"], r["case"]))
    lines = [[r["area"], r["case"], *(cell(r[key]) for key, _ in COLUMNS), r["expect"]] for r in ordered]
    header = ["area", "case", *(title for _, title in COLUMNS), "asserted"]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        left = [row[i].ljust(widths[i]) for i in (0, 1)]
        right = [row[i].rjust(widths[i]) for i in range(2, len(row) - 1)]
        return "  ".join([*left, *right, row[-1]]).rstrip()

    total = sum(r["tried"] for r in rows)
    hostile = [r for r in rows if r["expect"].startswith("0 accepted")]
    accepted = sum(r["accepted"] or 0 for r in hostile)
    errors = sum(r["server_errors"] or 0 for r in rows)
    return [fmt(header), fmt(["-" * w for w in widths]), *(fmt(line) for line in lines), "",
            f"{total} cases in all; {accepted} of {sum(r['tried'] for r in hostile)} hostile cases accepted; "
            f"{errors} server errors."]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _rows:
        return
    terminalreporter.write_sep("=", "security figures (tests/security)")
    for line in table(_rows):
        terminalreporter.write_line(line)
