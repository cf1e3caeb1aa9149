"""A short simulation through the real nightly loop and the worker: no change ever breaks the limits,
and the same seed gives the same figures whatever the machine's date."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from glue.lab import simulate as sm
from glue.lab.fake_google_ads import FakeGoogleAds, start_fake_google_ads, trust_certificate
from glue.lab.stack import Stack
from glue.paths import ROOT

CFG = sm.SimConfig(seed=5, days=8, history_days=21, branches=3, regions=4, partners=50)


@pytest.fixture(scope="module")
def runs(stack: Stack) -> dict[str, sm.RunResult]:
    """Both controllers on copies of one small seeded marketplace (databases dropped afterwards)."""
    seed_url = sm.create_database(stack.database_url, "simulate_test_seed")
    mp = sm.prepare(seed_url, FakeGoogleAds(seed=CFG.seed), CFG, CFG.first_day, lambda _: None)
    results = {}
    try:
        for controller in sm.CONTROLLERS:
            url = sm.create_database(
                stack.database_url, f"simulate_test_{controller}", template="simulate_test_seed"
            )
            server = start_fake_google_ads(seed=CFG.seed)
            trust_certificate(server.cert_path)
            try:
                sm.replicate_campaigns(server.state, mp)
                results[controller] = sm.Simulation(
                    url, server, mp, controller, CFG.days, lambda _: None
                ).run()
                with psycopg.connect(url) as conn:
                    results[controller].log = conn.execute(  # type: ignore[attr-defined]
                        "select controller, status, count(*) from public.channel_orchestration_log "
                        "group by 1, 2"
                    ).fetchall()
            finally:
                server.stop()
    finally:
        with psycopg.connect(sm.database_url(stack.database_url, "postgres"), autocommit=True) as conn:
            for name in ("simulate_test_seed", "simulate_test_spec", "simulate_test_smart"):
                conn.execute(f'drop database if exists "{name}" with (force)')
    return results


@pytest.mark.parametrize("controller", sm.CONTROLLERS)
def test_no_applied_change_breaks_the_safety_limits(runs: dict[str, sm.RunResult], controller: str) -> None:
    result = runs[controller]
    assert result.violations == []
    assert len({r.code for r in result.rows}) == CFG.branches * CFG.regions
    assert {r.day for r in result.rows} == {
        result.first_day + datetime.timedelta(days=n) for n in range(CFG.days)
    }
    changed = [r for r in result.rows if abs(r.next_budget - r.budget) >= 0.005]
    assert changed, "the controller changed no budget at all"
    for r in changed:
        assert r.budget * 0.8 - 0.005 <= r.next_budget <= r.budget * 1.2 + 0.005
        assert 5 <= r.next_budget <= 1000
    assert sm.score(result).violations == 0


@pytest.mark.parametrize("controller", sm.CONTROLLERS)
def test_changes_went_through_the_worker_with_the_chosen_controller(
    runs: dict[str, sm.RunResult], controller: str
) -> None:
    log = runs[controller].log  # type: ignore[attr-defined]
    assert {c for c, _, _ in log} == {controller}
    assert {s for _, s, _ in log} == {"success"}


def test_the_market_is_the_same_for_both_controllers(runs: dict[str, sm.RunResult]) -> None:
    spec, smart = runs["spec"], runs["smart"]
    first = {(r.code, r.day): r for r in spec.rows if r.day == spec.first_day}
    for r in smart.rows:
        if r.day == smart.first_day:
            # Same start budgets and same first day (before either controller acted).
            assert (r.budget, r.leads, r.target) == (
                first[(r.code, r.day)].budget,
                first[(r.code, r.day)].leads,
                first[(r.code, r.day)].target,
            )
    assert smart.kinds == spec.kinds


# One comparison run, printed as JSON: the machine's date as the process sees it, every score but the
# wall-clock time, and every segment-day (leads, spend, budgets, plan status).
_COMPARE = """
import dataclasses, json, sys
from glue.lab import simulate as sm
cfg = sm.SimConfig(seed=5, days=8, history_days=21, branches=3, regions=4, partners=50)
results = sm.compare_on(sys.argv[1], list(sm.CONTROLLERS), cfg, lambda _: None, prefix=sys.argv[2],
                        keep=False)
scores = [sm.score(r) for r in results]
print(json.dumps({
    "today": str(sm.amsterdam_today()),
    "scores": [{k: v for k, v in dataclasses.asdict(s).items() if k != "seconds"} for s in scores],
    "table": sm.comparison_table(scores),
    "rows": sorted([r.controller, *map(str, dataclasses.astuple(row))] for r in results for row in r.rows),
}, default=str))
"""


@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs faketime (make test installs it)")
def test_the_same_seed_gives_the_same_figures_on_any_date(stack: Stack, tmp_path: Path) -> None:
    """The comparison run under two machine dates (libfaketime; the database server keeps its own
    clock): the simulated calendar is fixed, so every figure and every segment-day is the same. Before,
    runs started at today minus N days and the noise followed the calendar, so they differed."""
    runs = []
    # 00:30 on the day summer time starts (Amsterdam), and an afternoon a year and a half later.
    for n, when in enumerate(["2026-03-28 23:30:00 UTC", "2027-08-17 11:00:00 UTC"]):
        # A TMPDIR of its own: the fake Google Ads makes its TLS certificate there, valid from the
        # pinned date (the shared one in /tmp may be "not yet valid" at an earlier date).
        (tmp_path / str(n)).mkdir()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path / str(n))}
        done = subprocess.run(
            ["faketime", when, sys.executable, "-c", _COMPARE, stack.database_url, f"simulate_date_{n}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert [r["today"] for r in runs] == ["2026-03-29", "2027-08-17"]  # the clocks really were pinned
    first, second = runs
    assert first["scores"] == second["scores"]
    assert first["rows"] == second["rows"]
    assert first["table"] == second["table"]
    # ... and it is the fixed calendar: 8 days from FIRST_DAY, whatever the date.
    assert {row[2] for row in first["rows"]} == {
        str(sm.FIRST_DAY + datetime.timedelta(days=n)) for n in range(8)
    }
