"""Benchmark: the three nightly steps, set-based SQL against the spec's one-query-per-segment loop.

Data (generated set-based with generate_series on a throwaway stack): 10,000 active segments, 20,000
partners, 1,000,000 leads over 60 days, a campaign per segment, 59 days of stats history and day D's
ad metrics. Then, in the same run:
  * set-based: aggregate_lead_stats(D), plan_lead_segments(D), orchestrate_budgets(D) -- one
    statement family each for all segments;
  * the spec's way: a Python loop doing, per segment, the queries of the design notes' pseudo-code
    (count the day's leads, capacity, ad metrics, upsert stats; read stats, upsert plan; read plan and
    budget, compute the clamped budget, write the log row and the plan). The loop is generous to
    itself: constants instead of settings lookups, one local autocommit connection instead of HTTP.
    It runs on a sample of segments and is extrapolated linearly to all of them (said in the output).

Usage: .venv/bin/python bench/bench_nightly.py [--segments 10000] [--leads 1000000] [--sample 1000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glue import stack as glue_stack  # noqa: E402

D = date(2025, 6, 30)


def generate(conn: psycopg.Connection, segments: int, leads: int, days: int = 60) -> None:
    branches = -(-segments // 12)
    steps = [
        ("segments", """insert into public.lead_segments (branch, region)
                        select 'branche' || lpad(b::text, 5, '0'), r.slug
                          from generate_series(1, %(branches)s) b cross join public.regions r
                         order by b, r.slug limit %(segments)s"""),
        ("partners", """with u as (insert into auth.users (id) select gen_random_uuid()
                                     from generate_series(1, %(partners)s) returning id),
                             n as (select id, row_number() over () as n from u),
                             regions as (select array_agg(slug order by slug) as slugs from public.regions)
                        insert into public.profiles (id, primary_branch, regions, max_open_leads,
                                                     is_active_for_routing)
                        select n.id, 'branche' || lpad((1 + n.n %% %(branches)s)::text, 5, '0'),
                               array[regions.slugs[1 + (n.n / %(branches)s) %% 12]], 5 + n.n %% 20, true
                          from n, regions"""),
        ("campaigns", """insert into public.lead_segment_campaigns (segment_id, customer_id, campaign_id,
                                                                   budget_resource_name, daily_budget)
                         select s.id, '1234567890', (1000 + s.n)::text,
                                'customers/1234567890/campaignBudgets/' || (1000 + s.n), 20 + s.n %% 200
                           from (select id, row_number() over (order by code) as n
                                   from public.lead_segments) s"""),
        ("leads", """with ids as (select array_agg(id order by code) as a from public.lead_segments)
                     insert into public.leads (segment_id, status, created_at)
                     select ids.a[1 + (g::bigint * 7919) %% cardinality(ids.a)],
                            (array['new', 'accepted', 'rejected', 'pending'])[1 + g %% 4],
                            (%(end)s::timestamp at time zone 'Europe/Amsterdam')
                              - random() * make_interval(days => %(days)s)
                       from ids, generate_series(1, %(leads)s) g"""),
        ("stats history", """insert into public.lead_generation_stats (segment_id, date, leads_generated,
                                                                       google_ads_spend, capacity_total_leads)
                             select l.segment_id, (l.created_at at time zone 'Europe/Amsterdam')::date,
                                    count(*), round((count(*) * (15 + random() * 20))::numeric, 2), 20
                               from public.leads l
                              where l.created_at < %(d)s::timestamp at time zone 'Europe/Amsterdam'
                              group by 1, 2"""),
        ("metrics for D", """insert into public.campaign_daily_metrics (customer_id, campaign_id, date, cost,
                                                                        clicks, impressions)
                             select customer_id, campaign_id, %(d)s, round((random() * 150)::numeric, 2),
                                    (random() * 80)::int, (random() * 2000)::int
                               from public.lead_segment_campaigns"""),
        ("analyze", "analyze"),
    ]
    params = {"segments": segments, "branches": branches, "partners": 2 * segments, "leads": leads,
              "days": days, "end": D + timedelta(days=1), "d": D}
    for name, sql in steps:
        started = time.perf_counter()
        conn.execute(sql, params)
        print(f"  generated {name:<14} {time.perf_counter() - started:7.1f} s", flush=True)


def set_based(conn: psycopg.Connection) -> dict[str, float]:
    times = {}
    for step, fn in [("aggregate", "aggregate_lead_stats"), ("plan", "plan_lead_segments"),
                     ("orchestrate", "orchestrate_budgets")]:
        started = time.perf_counter()
        rows = conn.execute(f"select public.{fn}(%s)", (D,)).fetchone()[0]
        times[step] = time.perf_counter() - started
        print(f"  set-based {step:<12} {times[step]:8.2f} s  ({rows} rows written)", flush=True)
    return times


def spec_loop(conn: psycopg.Connection, segment_ids: list) -> dict[str, float]:
    """The design notes' way: per segment, one query after another (constants as in the notes)."""
    lo = f"{D} 00:00"
    hi = f"{D + timedelta(days=1)} 00:00"
    times = {}
    started = time.perf_counter()
    for seg in segment_ids:
        counts = conn.execute(
            """select count(*), count(*) filter (where status = 'accepted'),
                      count(*) filter (where status = 'rejected'),
                      count(*) filter (where status in ('new', 'pending'))
                 from public.leads
                where segment_id = %s and created_at >= %s::timestamp at time zone 'Europe/Amsterdam'
                  and created_at < %s::timestamp at time zone 'Europe/Amsterdam'""", (seg, lo, hi)).fetchone()
        # getSegmentCapacity the notes' way: the segment's partners by branch and region.
        cap = conn.execute(
            """select count(p.id), coalesce(sum(p.max_open_leads), 0)
                 from public.lead_segments s
                 join public.profiles p on p.is_active_for_routing and not p.is_admin
                                       and p.primary_branch = s.branch and s.region = any (p.regions)
                where s.id = %s""", (seg,)).fetchone()
        ads = conn.execute(
            """select coalesce(sum(m.cost), 0), coalesce(sum(m.clicks), 0), coalesce(sum(m.impressions), 0)
                 from public.campaign_daily_metrics m
                 join public.lead_segment_campaigns c using (customer_id, campaign_id)
                where c.segment_id = %s and m.date = %s""", (seg, D)).fetchone()
        conn.execute(
            """insert into public.lead_generation_stats (segment_id, date, leads_generated, leads_accepted,
                        leads_rejected, leads_pending, avg_cpl, google_ads_spend, google_ads_clicks,
                        google_ads_impressions, capacity_partners, capacity_total_leads)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (segment_id, date) do update set leads_generated = excluded.leads_generated,
                 leads_accepted = excluded.leads_accepted, leads_rejected = excluded.leads_rejected,
                 leads_pending = excluded.leads_pending, avg_cpl = excluded.avg_cpl,
                 google_ads_spend = excluded.google_ads_spend, google_ads_clicks = excluded.google_ads_clicks,
                 google_ads_impressions = excluded.google_ads_impressions,
                 capacity_partners = excluded.capacity_partners,
                 capacity_total_leads = excluded.capacity_total_leads""",
            (seg, D, *counts, round(ads[0] / counts[0], 2) if counts[0] else None, *ads, *cap))
    times["aggregate"] = time.perf_counter() - started

    started = time.perf_counter()
    for seg in segment_ids:
        actual, capacity = conn.execute(
            "select leads_generated, capacity_total_leads from public.lead_generation_stats "
            "where segment_id = %s and date = %s", (seg, D)).fetchone()
        target = 0 if capacity == 0 else max(5, int(capacity * 0.8))
        gap = target - actual
        conn.execute(
            """insert into public.lead_segment_plans (segment_id, date, target_leads_per_day, actual_leads,
                                                     lead_gap, lead_gap_percentage)
               values (%s, %s, %s, %s, %s, %s)
               on conflict (segment_id, date) do update
                 set target_leads_per_day = excluded.target_leads_per_day,
                     actual_leads = excluded.actual_leads, lead_gap = excluded.lead_gap,
                 lead_gap_percentage = excluded.lead_gap_percentage""",
            (seg, D, target, actual, gap, round(gap * 100 / target, 2) if target else None))
    times["plan"] = time.perf_counter() - started

    started = time.perf_counter()
    for seg in segment_ids:
        plan_id, gap = conn.execute("select id, lead_gap from public.lead_segment_plans "
                                    "where segment_id = %s and date = %s", (seg, D)).fetchone()
        budget_row = conn.execute(
            "select daily_budget from public.lead_segment_campaigns where segment_id = %s", (seg,)).fetchone()
        if not gap or budget_row is None:
            continue
        current = float(budget_row[0] or 0)
        change = max(-0.2 * current, min(0.2 * current, gap * 25.0))
        new = round(max(5.0, min(1000.0, current + change)), 2)
        conn.execute(
            """insert into public.channel_orchestration_log (date, segment_id, plan_id, action_type,
                                                             old_value, new_value, reason)
               values (%s, %s, %s, %s, %s, %s, 'spec loop')
               on conflict (segment_id, channel, date) where segment_id is not null
               do update set new_value = excluded.new_value""",
            (D, seg, plan_id, "budget_increase" if new >= current else "budget_decrease", current, new))
        conn.execute("update public.lead_segment_plans set target_daily_budget_google_ads = %s, "
                     "orchestration_status = 'pending' where id = %s", (new, plan_id))
    times["orchestrate"] = time.perf_counter() - started
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=1_000, help="segments the loop runs for (extrapolated)")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="leadflow-bench-nightly-"))
    stack = glue_stack.up(base)
    try:
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            conn.execute("select cron.unschedule(jobid) from cron.job where jobname like 'lead-flow-%'")
            print(f"generating {args.segments} segments, {args.leads} leads over 60 days ...", flush=True)
            generate(conn, args.segments, args.leads)
            active = conn.execute("select count(*) from public.lead_segments where is_active").fetchone()[0]
            n_leads = conn.execute("select count(*) from public.leads").fetchone()[0]
            print(f"data: {active} active segments, {n_leads} leads; day D = {D}", flush=True)

            print("set-based (all segments):", flush=True)
            fast = set_based(conn)

            sample = [r[0] for r in conn.execute(
                "select id from public.lead_segments where is_active order by code limit %s",
                (args.sample,)).fetchall()]
            print(f"spec loop (sample of {len(sample)} segments, then x {active / len(sample):.1f}):",
                  flush=True)
            slow_sample = spec_loop(conn, sample)
            scale = active / len(sample)
            slow = {k: v * scale for k, v in slow_sample.items()}
            for step in slow:
                print(f"  loop      {step:<12} {slow_sample[step]:8.2f} s on the sample "
                      f"-> {slow[step]:8.2f} s extrapolated to {active}", flush=True)

        total_fast, total_slow = sum(fast.values()), sum(slow.values())
        print()
        print(f"{'step':<12} {'set-based s':>12} {'loop s (extrap.)':>17} {'ratio':>8}")
        for step in fast:
            print(f"{step:<12} {fast[step]:12.2f} {slow[step]:17.2f} {slow[step] / fast[step]:7.1f}x")
        print(f"{'total':<12} {total_fast:12.2f} {total_slow:17.2f} {total_slow / total_fast:7.1f}x")
        print(f"(loop measured on {len(sample)} of {active} segments and extrapolated linearly; goal >= 50x)")
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
