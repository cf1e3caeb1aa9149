"""`leadflow demo` (`make demo`): a Dutch marketplace on a throwaway stack, 28 real nights, a report.

Starts its own Postgres + PostgREST under a temporary folder and the fake Google Ads in-process,
seeds 12 provinces x 16 branches with about 500 partners and 60 days of lead history, runs the
nightly loop (leads -> metrics -> aggregate, plan, orchestrate -> worker push over gRPC) for the
simulated days with the smart controller, prints a per-segment summary and writes an HTML report.
Everything it started is stopped at the end.

`leadflow demo --into-stack` fills the `make up` stack instead, for the README's walkthrough and the
dashboard: the same marketplace (glue.lab.seed) with its history up to yesterday, last night run
(plans, pending budget changes), an admin and one partner doing its own marketing (campaigns,
recommendations). It prints the ids a newcomer needs as KEY=value lines (ADMIN_ID, PARTNER_ID,
SEGMENT_ID), and prints them again without seeding when the stack holds the demo already.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from zoneinfo import ZoneInfo

import psycopg

from glue.lab import report
from glue.lab.fake_google_ads import FakeGoogleAds, start_fake_google_ads, trust_certificate
from glue.lab.progress import Progress
from glue.lab.seed import CUSTOMERS, record_metrics, seed_marketplace
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


DEMO_ADMIN_EMAIL = "admin@demo.example.nl"
STACK_HISTORY_DAYS = 28  # a four-week history: the forecast's window


def fill_stack(database_url: str, cfg: SimConfig, note: Callable[[str], None]) -> dict[str, str]:
    """Seed the demo marketplace into the (migrated) database at database_url, with its history up to
    yesterday (Amsterdam) and last night run; returns ADMIN_ID, PARTNER_ID, SEGMENT_ID. A database
    that holds the demo already (its admin) is left as it is: the same ids come back."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if _demo_admin(conn) is None:
            today = amsterdam_today()
            yesterday = today - datetime.timedelta(days=1)
            history = today - datetime.timedelta(days=cfg.history_days)
            # In memory only: the campaigns' ids and budgets; nothing here talks to Google Ads.
            seed_marketplace(conn, FakeGoogleAds(seed=cfg.seed), seed=cfg.seed, first_day=today,
                             sim_days=cfg.days, history_days=cfg.history_days, branches=cfg.branches,
                             regions=cfg.regions, partners=cfg.partners, on_progress=note)
            _add_marketing_partner(conn, yesterday)
            conn.execute("insert into auth.users (id, email) values (gen_random_uuid(), %s)",
                         (DEMO_ADMIN_EMAIL,))
            conn.execute("insert into public.profiles (id, email, company_name, is_admin) "
                         "select id, email, 'Leadstroom beheer', true from auth.users where email = %s",
                         (DEMO_ADMIN_EMAIL,))
            # The platform's daily refresh of its router's view (open and accepted leads per partner).
            conn.execute("select public.refresh_partner_performance_stats()")
            note(f"stats and plans {history} .. {yesterday - datetime.timedelta(days=1)}")
            conn.execute("select count(*) from lead_flow.backfill_lead_flow(%s, %s)",
                         (history, yesterday - datetime.timedelta(days=1)))
            note(f"last night ({yesterday}): every step")
            steps = conn.execute("select step, status, error from lead_flow.run_lead_flow_nightly(%s)",
                                 (yesterday,)).fetchall()
            failed = [r for r in steps if r[1] != "success"]
            if failed:
                raise RuntimeError(f"the nightly steps for {yesterday} did not succeed: {failed}")
        admin = _demo_admin(conn)
        partner, segment = conn.execute(
            "select c.partner_id, c.segment_id from public.partner_marketing_campaigns c "
            "join public.profiles p on p.id = c.partner_id where p.company_name = %s order by c.name limit 1",
            (MARKETING_PARTNER,)).fetchone()
    return {"ADMIN_ID": str(admin), "PARTNER_ID": str(partner), "SEGMENT_ID": str(segment)}


MARKETING_PARTNER = "Schildersbedrijf De Kwast (demo)"


def _demo_admin(conn: psycopg.Connection) -> object | None:
    row = conn.execute("select p.id from public.profiles p join auth.users u on u.id = p.id "
                       "where u.email = %s and p.is_admin", (DEMO_ADMIN_EMAIL,)).fetchone()
    return row[0] if row else None


def _add_marketing_partner(conn: psycopg.Connection, yesterday: datetime.date) -> None:
    """One partner of the demo's largest schilder segment runs its own marketing: a search campaign that
    brings leads and a display campaign that has spent for three weeks without one, so last night
    proposes a budget change, a landing page and a pause for it to decide on."""
    (segment, branch, region) = conn.execute(
        "select s.id, s.branch, s.region from public.lead_segments s "
        "where s.branch = 'schilder' order by s.region = 'noord-brabant' desc, s.code limit 1").fetchone()
    conn.execute(
        """with u as (insert into auth.users (id, email) values (gen_random_uuid(), 'dekwast@demo.example.nl')
                      returning id, email)
           insert into public.profiles (id, email, company_name, primary_branch, regions, lead_industries,
                                        lead_locations, max_open_leads, is_active_for_routing, marketing_mode,
                                        auto_marketing_enabled, monthly_marketing_budget, preferred_channels)
           select u.id, u.email, %s, %s, array[%s], array[initcap(%s)], array[%s], 12, true, 'hybrid', true,
                  4000, array['google_ads']
             from u""",
        (MARKETING_PARTNER, branch, region, branch, region))
    started = yesterday - datetime.timedelta(days=21)
    customer = CUSTOMERS[0]
    rows = []
    for name, ext, daily, leads_every in (("Zoekcampagne schilder", "7000000001", 40, 2),
                                          ("Display schilder", "7000000002", 15, 0)):
        conn.execute(
            """insert into public.partner_marketing_campaigns
                 (partner_id, segment_id, channel, name, status, external_campaign_id, customer_id,
                  budget_resource_name, daily_budget, cpl_target, ai_managed, created_at)
               select p.id, %s, 'google_ads', %s, 'active', %s, %s, %s, %s, 25, true, %s
                 from public.profiles p where p.company_name = %s""",
            (segment, name, ext, customer, f"customers/{customer}/campaignBudgets/{ext}", daily,
             lead_flow_day_start(started), MARKETING_PARTNER))
        for n in range(21):
            day = started + datetime.timedelta(days=n + 1)
            rows.append((customer, ext, day, daily * 1_000_000, 40, 900, 1.0 if leads_every else 0.0))
            if leads_every and n % leads_every == 0:
                conn.execute(
                    """insert into public.leads (industry_id, province, status, created_at, source_channel,
                                                 source_campaign_id, user_id)
                       select i.id, r.name, 'accepted', %s, 'google_ads', %s, p.id
                         from public.industries i, public.regions r, public.profiles p
                        where lower(i.name) = %s and r.slug = %s and p.company_name = %s""",
                    (lead_flow_day_start(day) + datetime.timedelta(hours=11), ext, branch, region,
                     MARKETING_PARTNER))
    record_metrics(conn, rows)
    conn.execute(
        "insert into public.partner_segments (partner_id, segment_id, is_primary) "
        "select p.id, %s, true from public.profiles p where p.company_name = %s",
        (segment, MARKETING_PARTNER))


def lead_flow_day_start(day: datetime.date) -> datetime.datetime:
    """The start of Amsterdam day `day` (as lead_flow.day_start)."""
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=ZoneInfo("Europe/Amsterdam"))


def into_stack(args: argparse.Namespace) -> int:
    """`leadflow demo --into-stack`: start (or reuse) the make-up stack, fill it, print the ids."""
    from glue.lab import stack as glue_stack

    history_days = getattr(args, "history_days", STACK_HISTORY_DAYS)
    cfg = dataclasses.replace(config_from(args), history_days=history_days)
    with Progress() as progress:
        progress.note("starting (or reusing) the local stack of make up")
        st = glue_stack.up()
        ids = fill_stack(st.database_url, cfg, progress.note)
        progress.done("the demo marketplace is in the local stack")
    print("\n".join(f"{key}={value}" for key, value in ids.items()))
    return 0


def main(args: argparse.Namespace) -> int:
    if getattr(args, "into_stack", False):
        return into_stack(args)
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
    print("the same marketplace in the dashboard: make dashboard")
    if result.violations:
        print(f"{len(result.violations)} safety-limit violations: {result.violations[:5]}")
        return 1
    return 0
