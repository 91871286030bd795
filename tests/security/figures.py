"""The security suite's figures: each test adds a row; the run ends with one table.

A row says how many cases were tried and what came of them (accepted, server
errors, state transitions, merchant events), so "0 of N" is read at a glance.
Under xdist every worker keeps its own rows and hands them to the controller
through ``workeroutput``; the controller prints the table once. Loaded as a
plugin from ``tests/conftest.py`` so the hooks run whichever tests are selected.
"""
from __future__ import annotations

import threading
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


class Measured:
    """What the app actually did while a test ran, counted where it happens (not told by the test).

    ``requests`` and ``server_errors``: requests sent to our app through ``rigs.Web`` and its
    answers of 500 or more other than the 502/503 our code gives on purpose; ``transitions``
    and ``events``: ``Store.apply`` calls that wrote a state change, and those that wrote a
    merchant event with it. The ``figures`` fixture
    installs the counting; ``Figures.mark`` starts the window a row reports on.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "server_errors": 0, "transitions": 0, "events": 0}

    def count(self, **deltas: int) -> None:
        with self.lock:
            for name, delta in deltas.items():
                self.counts[name] += delta

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


MEASURED = Measured()


class Figures:
    """What a test adds its row to.

    ``tried`` defaults to the requests our app received since ``mark()`` (or since the test
    began); the 5xx, transitions and events columns are always measured over that window.
    ``skip`` names columns that mean nothing for a row (they print as "-").
    """

    def __init__(self) -> None:
        self._since = MEASURED.snapshot()

    def mark(self) -> None:
        """The part of the test the next row is about starts here (setup before it is not counted)."""
        self._since = MEASURED.snapshot()

    def window(self) -> dict[str, int]:
        now = MEASURED.snapshot()
        return {k: now[k] - self._since[k] for k in now}

    def add(
        self,
        area: str,
        case: str,
        tried: int | None = None,
        *,
        accepted: int | None = None,
        expect: str = "0 accepted",
        skip: tuple[str, ...] = (),
    ) -> None:
        seen = self.window()
        row = Row(area, case, seen["requests"] if tried is None else tried, accepted,
                  seen["server_errors"], seen["transitions"], seen["events"], expect)
        values = asdict(row)
        for column in skip:
            values[column] = None
        _rows.append(values)


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> Figures:
    """A fresh window per test, and the counting installed: what a row reports is what the
    app did while the test ran — requests through ``rigs.Web`` and their 5xx (other than the
    502/503 our code gives on purpose), ``Store.apply`` transitions and their events."""
    from chalicelib.adapters import store
    from tests.security.rigs import Web

    real_apply, real_request = store.Store.apply, Web.request

    def apply(self: store.Store, checkout: Any, plan: Any, event: Any = None, *args: Any, **kwargs: Any) -> Any:
        result = real_apply(self, checkout, plan, event, *args, **kwargs)
        MEASURED.count(transitions=1, events=int(event is not None))
        return result

    def request(self: Web, *args: Any, **kwargs: Any) -> Any:
        answer = real_request(self, *args, **kwargs)
        MEASURED.count(requests=1, server_errors=int(answer.status >= 500 and answer.status not in (502, 503)))
        return answer

    monkeypatch.setattr(store.Store, "apply", apply)
    monkeypatch.setattr(Web, "request", request)
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
