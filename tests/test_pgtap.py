"""The pgTAP specifications under tests/pgtap/, each run by psql against the test stack (pgTAP is
installed in `extensions` by tests/conftest.py). A spec passes when psql ends without an error, it
planned its tests, ran every one, and none failed; otherwise the failure names the tests and pgTAP's
diagnostics (have / want)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SPECS = sorted((Path(__file__).parent / "pgtap").glob("*.sql"))

_PLAN = re.compile(r"^1\.\.(\d+)$")
_RESULT = re.compile(r"^(not ok|ok) (\d+)(?: - (.*))?$")


@dataclass
class TapRun:
    """What one psql run of a spec printed, read as TAP."""

    returncode: int
    stderr: str
    planned: int | None = None
    passed: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Why the spec does not pass; empty when it does."""
        found = []
        if self.returncode != 0:
            found.append(f"psql ended with {self.returncode}: {self.stderr.strip()}")
        if self.planned is None:
            found.append("no plan: the spec printed no 1..N line")
        elif len(self.passed) + len(self.failed) != self.planned:
            found.append(f"planned {self.planned} tests, ran {len(self.passed) + len(self.failed)}")
        found += [f"not ok {name}" for name in self.failed]
        return found + (self.diagnostics if found else [])


def run_spec(db_url: str, spec: Path) -> TapRun:
    done = subprocess.run(
        ["psql", db_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(spec)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    run = TapRun(done.returncode, done.stderr)
    for line in done.stdout.splitlines():
        if plan := _PLAN.match(line):
            run.planned = int(plan[1])
        elif result := _RESULT.match(line):
            if result[1] == "ok":
                run.passed.append(int(result[2]))
            else:
                run.failed.append(f"{result[2]} - {result[3]}")
        elif line.startswith("#"):
            run.diagnostics.append(line)
    return run


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_pgtap_spec_passes(db_url: str, spec: Path) -> None:
    run = run_spec(db_url, spec)
    assert run.problems() == [], f"{spec.name}:\n" + "\n".join(run.problems())


def test_a_failing_or_broken_spec_is_reported(db_url: str, tmp_path: Path) -> None:
    """The runner reads failures, a spec that stops before its plan, and one that never plans."""
    header = (
        "\\set QUIET 1\n\\pset format unaligned\n\\pset tuples_only true\n"
        "begin;\nset local search_path = extensions;\n"
    )
    failing = tmp_path / "failing.sql"
    failing.write_text(
        header + "select plan(2);\nselect ok(true, 'fine');\nselect is(1, 2, 'wrong');\n"
        "select * from finish();\nrollback;\n"
    )
    run = run_spec(db_url, failing)
    assert run.passed == [1] and run.failed == ["2 - wrong"], run
    assert any("want: 2" in d for d in run.problems()), run.problems()

    stopped = tmp_path / "stopped.sql"
    stopped.write_text(header + "select plan(3);\nselect ok(true, 'fine');\nselect 1 / 0;\nrollback;\n")
    problems = run_spec(db_url, stopped).problems()
    assert any("psql ended with" in p and "division by zero" in p for p in problems), problems
    assert "planned 3 tests, ran 1" in problems, problems

    unplanned = tmp_path / "unplanned.sql"
    unplanned.write_text(header + "select ok(true, 'fine');\nrollback;\n")
    assert "no plan: the spec printed no 1..N line" in run_spec(db_url, unplanned).problems()
