"""`leadflow demo` (`make demo`): a Dutch marketplace on a throwaway stack, 28 real nights, a report.

Starts its own Postgres + PostgREST under a temporary folder and the fake Google Ads in-process,
seeds 12 provinces x 16 branches with about 500 partners and 60 days of lead history, runs the
nightly loop (leads -> metrics -> aggregate, plan, orchestrate -> worker push over gRPC) for the
simulated days with the smart controller, prints a per-segment summary and writes an HTML report.
Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
from pathlib import Path
from statistics import mean

import psycopg

from glue.lab import report
from glue.lab.fake_google_ads import start_fake_google_ads, trust_certificate
from glue.lab.progress import Progress
from glue.lab.simulate import (
    RunResult,
    SimConfig,
    Simulation,
    amsterdam_today,
    calendar_problem,
    comparison_table,
    prepare,
    score,
)

DEMO_CONTROLLER = "smart"


def config_from(args: argparse.Namespace) -> SimConfig:
    """The CLI gives days and seed; tests may shrink the marketplace with extra attributes."""
    return SimConfig(
        seed=args.seed,
        days=args.days,
        history_days=getattr(args, "history_days", 60),
        branches=getattr(args, "branches", 16),
        regions=getattr(args, "regions", 12),
        partners=getattr(args, "partners", 500),
    )


def summary_lines(result: RunResult) -> list[str]:
    """The per-segment summary the demo prints: last week's target and leads per day, gap, budgets."""
    rows = report.summary_rows(result)
    lines = [f"{'segment':<34} {'target':>6} {'actual':>6} {'gap %':>7}  {'budget old -> new':>19}  status"]
    for r in rows:
        gap = "" if r["gap"] is None else f"{r['gap']:+.1f}"
        note = ", ".join(
            x
            for x in (str(r["status"]), str(r["kind"]) if r["kind"] != "normal" else "", str(r["alert"]))
            if x
        )
        lines.append(
            f"{r['code']:<34} {r['target']:>6.1f} {r['actual']:>6.1f} {gap:>7}  "
            f"{r['budget_old']:>8.2f} -> {r['budget_new']:>7.2f}  {note}"
        )
    with_target = [r for r in rows if r["gap"] is not None]
    close = sum(1 for r in with_target if abs(float(r["gap"])) <= 15)  # type: ignore[arg-type]
    lines.append(
        f"{len(rows)} segments; last week within +-15% of target: {close}/{len(with_target)}; "
        f"leads/day {mean(float(r['actual']) for r in rows) * len(rows):.0f} "
        f"vs target {mean(float(r['target']) for r in rows) * len(rows):.0f}"
    )
    return lines


def forecast_accuracy(database_url: str, result: RunResult) -> str:
    """How well plan D's expected_leads_per_day predicted D+1's leads over the run (vs a naive forecast)."""
    last = result.first_day + datetime.timedelta(days=result.days - 2)
    with psycopg.connect(database_url) as conn:
        acc = conn.execute(
            "select * from lead_flow.lead_forecast_accuracy(%s, %s)", (result.first_day, last)
        ).fetchone()
    days, segments, pairs, mae, wape, naive = acc
    return (
        f"forecast (28-day weekday-seasonal expected_leads_per_day vs the next day's leads, {pairs} "
        f"segment-days): mean absolute error {mae} leads, weighted error {wape}% "
        f"(naive 'tomorrow = today': {naive}%)"
    )


def main(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    if cfg.days < 7:
        print("--days must be at least 7 (the report compares whole weeks)")
        return 2
    problem = calendar_problem(cfg, amsterdam_today())
    if problem:
        print(problem)
        return 2
    from glue.lab import stack as glue_stack

    started = time.monotonic()
    with Progress() as progress:
        progress.note("starting PostgreSQL + PostgREST and the fake Google Ads")
        st = glue_stack.up(Path(tempfile.mkdtemp(prefix="leadflow-demo-")))
        server = start_fake_google_ads(seed=cfg.seed)
        trust_certificate(server.cert_path)
        try:
            # The fixed simulated calendar (glue.lab.simulate.FIRST_DAY): same seed, same figures, any day.
            mp = prepare(st.database_url, server.state, cfg, cfg.first_day, progress.note, migrate=False)
            progress.note(f"running {cfg.days} nights with the {DEMO_CONTROLLER} controller")
            result = Simulation(st.database_url, server, mp, DEMO_CONTROLLER, cfg.days, progress.note).run()
            accuracy = forecast_accuracy(st.database_url, result)
        finally:
            server.stop()
            st.remove()
        progress.done(f"simulated {cfg.days} days in {time.monotonic() - started:.0f}s")

    scores = score(result)
    print("\n".join(summary_lines(result)))
    print()
    print(comparison_table([scores]))
    print(accuracy)
    facts = [
        (
            "controller",
            f"{DEMO_CONTROLLER} (the setting's default stays 'spec'; `leadflow simulate` compares both)",
        ),
        (
            "simulated days",
            f"{result.first_day} .. {result.first_day + datetime.timedelta(days=cfg.days - 1)}",
        ),
        ("segments", f"{len(mp.layout)} ({cfg.branches} branches x {cfg.regions} provinces)"),
        (
            "partners",
            f"{cfg.partners} (+ {len(mp.step_sizes)} joining or leaving in {len(mp.steps)} capacity steps)",
        ),
        ("leads in the run", f"{sum(r.leads for r in result.rows)}"),
        ("seed", str(cfg.seed)),
    ]
    path = report.write(
        args.report,
        report.render(result, scores, title="Lead Flow demo: a simulated Dutch marketplace", facts=facts),
    )
    print(f"\nreport: {path.resolve()}")
    if result.violations:
        print(f"{len(result.violations)} safety-limit violations: {result.violations[:5]}")
        return 1
    return 0
