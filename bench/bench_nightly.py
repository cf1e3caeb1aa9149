"""Benchmark: each nightly step against the floor of the same work (issues 14 and 17), in one run.

Data (generated set-based on a throwaway stack): 10,000 active segments, 20,000 partners, 1,000,000
leads per 60 days over --history-days days (60; 365 shows that history does not cost the night: the
same daily volume, six times the rows behind it), inserted in arrival order, as a live table holds
them (a quarter accepted and assigned to a partner of the segment, one in twenty from a partner's own
campaign), a campaign for most segments (some without one, some at budget 0 or unknown), per-segment
overrides (paused, a smaller max change, manual targets), the stats history of every day before D and
day D's ad metrics. Partner marketing: every 10th partner has a marketing profile (hybrid or full,
most on auto, monthly budgets from tight to ample), explicit partner segments (its own and a second
one), half of them a landing page, and a Google Ads campaign with metrics for every day of the
history (some paused, some not ai-managed). The partners' trusted capacity for D - 1, as yesterday's
plan step stored it; since then one partner in 50 raised its declared capacity tenfold (D's plan
trusts it in part: the ramp).

Then every step registered in lead_flow.pipeline_steps, in its order, through lead_flow.run_step(step,
D) as pg_cron runs it (its lead_flow_logs lines and nightly_runs row included), and beside it the
floor of the same work: the bare write of the rows the step writes into tables shaped like its targets
(`create table ... (like <target> including all)`: columns, defaults, checks and indexes, plus the
target's foreign keys; none of its triggers; logged like the targets, which are logged tables):
  * aggregate: one `insert ... select ... group by` of D's leads (the Amsterdam day), with the capacity
    join (partner_segment_matches x profiles) and D's ad metrics, into a lead_generation_stats copy;
    its rows are checked equal to the step's;
  * plan, orchestrate, partner_lead_gaps, partner_recommendations: the step's computed values (plan: its
    plans and the partners' trusted capacity it stores for D), copied
    from its real output into a prepared table, written again with `insert ... select` (and, where the
    step updates rows -- orchestrate's plan columns, the campaign totals partner_recommendations
    refreshes -- the same `update ... from` on a copy of those rows as they were before the step; the
    day's attributed-lead counts partner_recommendations records, the same upsert).
A registered step without a floor here stops the bench: add its floor.

Each step and each floor runs --repeat times (3), each run in a new backend and a transaction of its
own, all but the last rolled back; the median counts: on this machine one run of the same work can
take 30% more or less than the next, and a single run decided a verdict near its line.

Printed per step: rows, wall seconds of the step and of its floor and their ratio (goal: at most 3x
for each step, issue 17, and for the total, issue 14); the backend's own CPU seconds of both
(/proc/PID/schedstat: time the step waited for a busy machine does not count, parallel workers are
not in it); and the backend's peak private memory during the step (RssAnon of /proc/PID/status,
sampled every 5 ms: what work_mem and hash tables take; shared buffers not counted); and the MB each
read into shared buffers (pg_statio's blocks read: pages that were not cached there, from the OS cache
or disk -- where a night with a longer history pays, see issue 17).

With --compare-history-days 365 it generates a second database, the same but for 365 days of history,
and runs the two nights step by step side by side (each step on the one, then on the other), then
prints, besides each night's table, the two nights' seconds per step and their ratio (goal: the night
with 365 days at most 1.2x the 60-day night, issue 17).

Usage: .venv/bin/python bench/bench_nightly.py [--segments 10000] [--leads 1000000] [--history-days 60]
       [--compare-history-days 365]
(the defaults take several minutes, most of it generating data; issue 17 runs 100000 / 10000000, and
--compare-history-days 365 at the defaults)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from statistics import median
from typing import ClassVar, TypeVar

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glue.lab import stack as glue_stack  # noqa: E402

D = date(2025, 6, 30)
GOAL_RATIO = 3.0  # issue 17: each step at most 3x its floor
HISTORY_GOAL = 1.2  # issue 17: the night with a long history at most 1.2x the 60-day night
FLOOR = "bench_floor"  # schema of the floor's tables
T = TypeVar("T")
PARTNER_CUSTOMER = "2345678901"  # partners' own Google Ads account, never a segment campaign's


def generate(conn: psycopg.Connection, segments: int, leads: int, days: int = 60) -> None:
    branches = -(-segments // 12)
    steps = [
        (
            "segments",
            """insert into public.lead_segments (branch, region)
                        select 'branche' || lpad(b::text, 5, '0'), r.slug
                          from generate_series(1, %(branches)s) b cross join public.regions r
                         order by b, r.slug limit %(segments)s""",
        ),
        # Every 10th partner markets itself: hybrid or full, mostly on auto, a monthly budget that is
        # tight (300: its month's spend leaves no headroom), middling or ample.
        (
            "partners",
            """with u as (insert into auth.users (id) select gen_random_uuid()
                                     from generate_series(1, %(partners)s) returning id),
                             n as (select id, row_number() over () as n from u),
                             regions as (select array_agg(slug order by slug) as slugs from public.regions)
                        insert into public.profiles (id, primary_branch, regions, max_open_leads,
                                                     is_active_for_routing, marketing_mode,
                                                     auto_marketing_enabled, monthly_marketing_budget)
                        select n.id, 'branche' || lpad((1 + n.n %% %(branches)s)::text, 5, '0'),
                               array[regions.slugs[1 + (n.n / %(branches)s) %% 12]], 5 + n.n %% 20, true,
                               case when n.n %% 20 = 0 then 'hybrid' when n.n %% 10 = 0 then 'full_marketing'
                                    else 'leads_only' end,
                               n.n %% 10 = 0 and n.n %% 30 <> 0,
                               case when n.n %% 10 <> 0 then 0
                                    else (array[300, 3000, 30000])[1 + (n.n / 10) %% 3] end
                          from n, regions""",
        ),
        # Every 20th segment has no campaign; every 50th starts at budget 0, every 97th at an unknown one.
        (
            "campaigns",
            """insert into public.lead_segment_campaigns (segment_id, customer_id, campaign_id,
                                                                   budget_resource_name, daily_budget)
                         select s.id, '1234567890', (1000 + s.n)::text,
                                'customers/1234567890/campaignBudgets/' || (1000 + s.n),
                                case when s.n %% 97 = 0 then null when s.n %% 50 = 7 then 0
                                     else 20 + s.n %% 200 end
                           from (select id, row_number() over (order by code) as n
                                   from public.lead_segments) s
                          where s.n %% 20 <> 3""",
        ),
        (
            "overrides",
            """with s as (select id, row_number() over (order by code) as n from public.lead_segments)
                         insert into public.lead_flow_settings (key, segment_id, value)
                         select 'paused', s.id, 'true'::jsonb from s where s.n %% 100 = 5
                         union all
                         select 'max_daily_budget_change', s.id, '0.1'::jsonb from s where s.n %% 100 = 11
                         union all
                         select 'min_target_leads', s.id, '2'::jsonb from s where s.n %% 100 = 13""",
        ),
        (
            "manual targets",
            """insert into public.lead_segment_target_overrides (segment_id, valid_from, valid_to,
                                                                              target_leads_per_day, reason)
                              select s.id, %(d)s::date - 3, %(d)s::date + 3, 1 + s.n %% 7, 'bench'
                                from (select id, row_number() over (order by code) as n
                                        from public.lead_segments) s
                               where s.n %% 100 = 17""",
        ),
        # A marketing partner's explicit links: the segment its profile names (primary, weight 3) and
        # the next region of the same branch (weight 1); capacity then reads these instead.
        (
            "partner segments",
            """with m as (select m.partner_id, m.segment_id, s.branch, s.code
                                        from lead_flow.partner_segment_matches m
                                        join public.profiles p on p.id = m.partner_id
                                         and p.marketing_mode <> 'leads_only'
                                        join public.lead_segments s on s.id = m.segment_id)
                                insert into public.partner_segments
                                       (partner_id, segment_id, is_primary, priority)
                                select m.partner_id, m.segment_id, true, 3 from m
                                union all
                                select m.partner_id, n.id, false, 1
                                  from m cross join lateral (
                                         select s.id from public.lead_segments s
                                          where s.branch = m.branch and s.code > m.code
                                          order by s.code limit 1) n""",
        ),
        (
            "landing pages",
            """insert into public.partner_landing_pages (partner_id, segment_id, path, status, title)
                             select x.partner_id, x.segment_id, '/bench/' || x.k, 'published', 'Bench page'
                               from (select ps.partner_id, ps.segment_id,
                                            row_number() over (order by ps.partner_id) as k
                                       from public.partner_segments ps where ps.is_primary) x
                              where x.k %% 2 = 0""",
        ),
        # One Google Ads campaign per marketing partner in its primary segment, running since long
        # before D; every 7th paused, every 9th not ai-managed, every 4th without a CPL target.
        (
            "partner campaigns",
            """insert into public.partner_marketing_campaigns
                                   (partner_id, segment_id, channel, name, status, external_campaign_id,
                                    customer_id, budget_resource_name, daily_budget, cpl_target, ai_managed,
                                    created_at)
                                 select x.partner_id, x.segment_id, 'google_ads', 'bench campaign ' || x.k,
                                        case when x.k %% 7 = 0 then 'paused' else 'active' end,
                                        (500000 + x.k)::text, %(customer)s,
                                        'customers/' || %(customer)s || '/campaignBudgets/' || (500000 + x.k),
                                        10 + x.k %% 50, case when x.k %% 4 <> 0 then 15 + x.k %% 25 end,
                                        x.k %% 9 <> 0, %(d)s::date - 90
                                   from (select ps.partner_id, ps.segment_id,
                                                row_number() over (order by ps.partner_id) as k
                                           from public.partner_segments ps where ps.is_primary) x""",
        ),
        # Their metrics for the history's days up to D (the statement trigger syncs the campaign totals once;
        # the leads below arrive after, so the night's sync has attributed leads to count).
        (
            "partner metrics",
            """insert into public.campaign_daily_metrics (customer_id, campaign_id, date, cost,
                                                                          clicks, impressions)
                               select c.customer_id, c.external_campaign_id, d::date,
                                      round((5 + random() * 55)::numeric, 2), (random() * 40)::int,
                                      (random() * 900)::int
                                 from public.partner_marketing_campaigns c
                                cross join generate_series(%(d)s::date - %(days)s + 1, %(d)s::date,
                                                           interval '1 day') d""",
        ),
        # Leads in arrival order. A lead's segment is a fixed pseudo-random spread; an accepted lead is
        # assigned to a partner serving its segment (the platform's leads), and every 20th came from a
        # partner's own campaign in its segment, where there is one.
        (
            "leads",
            """with segs as (
                       select s.id, s.code,
                              (select m.partner_id from lead_flow.partner_segment_matches m
                                where m.segment_id = s.id order by m.partner_id limit 1) as partner,
                              (select c.external_campaign_id from public.partner_marketing_campaigns c
                                where c.segment_id = s.id order by c.external_campaign_id limit 1) as campaign
                         from public.lead_segments s
                     ), a as (
                       select array_agg(id order by code) as ids,
                              array_agg(partner order by code) as partners,
                              array_agg(campaign order by code) as campaigns
                         from segs
                     )
                     insert into public.leads (segment_id, status, user_id, source_campaign_id, created_at)
                     select * from (
                       select a.ids[x.i], x.status, case when x.status = 'accepted' then a.partners[x.i] end,
                              case when g %% 20 = 0 then a.campaigns[x.i] end,
                              (%(end)s::timestamp at time zone 'Europe/Amsterdam')
                                - random() * make_interval(days => %(days)s) as created_at
                         from a, generate_series(1, %(leads)s) g
                        cross join lateral (
                          select 1 + (g::bigint * 7919) %% cardinality(a.ids) as i,
                                 (array['new', 'accepted', 'rejected', 'pending'])[1 + g %% 4] as status) x
                     ) y
                      order by created_at""",
        ),
        (
            "stats history",
            """insert into public.lead_generation_stats (segment_id, date, leads_generated,
                                                                       google_ads_spend, capacity_total_leads)
                             select l.segment_id, (l.created_at at time zone 'Europe/Amsterdam')::date,
                                    count(*), round((count(*) * (15 + random() * 20))::numeric, 2), 20
                               from public.leads l
                              where l.created_at < %(d)s::timestamp at time zone 'Europe/Amsterdam'
                              group by 1, 2
                              order by 2, 1""",
        ),
        # The platform keeps its partner performance view refreshed (one row per partner): the night's
        # capacity and trust read it, and an empty one would make their joins over it free.
        ("partner performance", "refresh materialized view public.partner_performance_stats"),
        # What the partner night before D leaves behind (as the stats history stands in for earlier
        # aggregate nights): the days it counted, so D's night counts its own day, as a live one does.
        ("partner night before D", "select lead_flow.count_partner_campaign_leads(%(d)s::date - 1)"),
        (
            "metrics for D",
            """insert into public.campaign_daily_metrics (customer_id, campaign_id, date, cost,
                                                                        clicks, impressions)
                             select customer_id, campaign_id, %(d)s, round((random() * 150)::numeric, 2),
                                    (random() * 80)::int, (random() * 2000)::int
                               from public.lead_segment_campaigns""",
        ),
        # Yesterday's plan step recorded the partners' trusted capacity for D - 1 (every night after a
        # live install's first has the night before's figures; D's plan ramps from them).
        ("trust for D - 1", "select lead_flow.record_capacity_trust(%(d)s::date - 1)"),
        # Since then one partner in 50 raised its declared capacity tenfold: D's plan trusts it only in
        # part (the ramp), so the night has untrusted capacity to store and subtract, as a live one has.
        (
            "capacity raises",
            """update public.profiles set max_open_leads = max_open_leads * 10
                where not is_admin and max_open_leads > 0 and abs(hashtext(id::text)) %% 50 = 0""",
        ),
        # The stats history as a live table's is by night D: vacuumed after each night by the table's
        # own autovacuum insert trigger (migration 0097), its pages all-visible, so the night's windows
        # read the covering index and not the heap. D's own rows, written by the timed aggregate step,
        # are not (live, autovacuum has an hour before the next step).
        ("vacuum stats history", "vacuum public.lead_generation_stats"),
        ("analyze", "analyze"),
        # Rows as old as a live table's: their commit status already known (a first read of a fresh
        # row sets its hint bits and writes the page, which would charge the first timed step for the
        # generator's work), and nothing left to write out. (Other tables not vacuumed: see main.)
        (
            "settle",
            """select (select count(*) from public.leads),
                      (select count(*) from public.lead_generation_stats),
                      (select count(*) from public.profiles), (select count(*) from public.lead_segments),
                      (select count(*) from public.lead_segment_campaigns),
                      (select count(*) from public.campaign_daily_metrics),
                      (select count(*) from public.partner_segments),
                      (select count(*) from public.partner_landing_pages),
                      (select count(*) from public.partner_marketing_campaigns),
                      (select count(*) from lead_flow.partner_segment_codes),
                      (select count(*) from lead_flow.partner_capacity_trust)""",
        ),
        ("checkpoint", "checkpoint"),
    ]
    params = {
        "segments": segments,
        "branches": branches,
        "partners": 2 * segments,
        "leads": leads,
        "days": days,
        "end": D + timedelta(days=1),
        "d": D,
        "customer": PARTNER_CUSTOMER,
    }
    for name, sql in steps:
        started = time.perf_counter()
        conn.execute(sql, params)
        print(f"  generated {name:<17} {time.perf_counter() - started:7.1f} s", flush=True)


# --- measuring one timed part: wall clock, the backend's CPU, its peak private memory ---------------


@dataclass
class Measure:
    wall: float = 0.0
    cpu: float | None = None  # seconds the backend process ran
    peak_mb: float | None = None  # highest RssAnon seen while it ran
    read_mb: float | None = None  # blocks it read into shared buffers (misses), pg_statio, in MB
    runs: tuple[float, ...] = ()  # wall seconds of each run, where wall is their median


class Backend:
    """The server process behind a connection, read from /proc (the bench starts its own local stack,
    so the backend runs on this machine); None where /proc cannot be read."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.proc = Path(f"/proc/{conn.info.backend_pid}")

    def cpu(self) -> float | None:
        try:
            return int((self.proc / "schedstat").read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None

    def rss_anon_mb(self) -> float | None:
        try:
            for line in (self.proc / "status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
        return None

    @contextmanager
    def measure(self) -> Iterator[Measure]:
        """Times the block; a thread samples the backend's private memory every 5 ms meanwhile (the
        kernel's figure: PostgreSQL 15 keeps no peak of its own, and its memory contexts are freed by
        the time the step returns)."""
        m = Measure()
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                mb = self.rss_anon_mb()
                if mb is not None and (m.peak_mb is None or mb > m.peak_mb):
                    m.peak_mb = mb
                done.wait(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu0, t0 = self.cpu(), time.perf_counter()
        try:
            yield m
        finally:
            m.wall = time.perf_counter() - t0
            cpu1 = self.cpu()
            done.set()
            sampler.join()
            m.cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None


def blocks_read(conn: psycopg.Connection) -> int:
    """Blocks read into shared buffers so far (misses: from the OS cache or disk), every table and
    index of the database (pg_statio)."""
    return conn.execute(
        """select coalesce(sum(coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0)
                               + coalesce(toast_blks_read, 0) + coalesce(tidx_blks_read, 0)), 0)::bigint
             from pg_statio_all_tables"""
    ).fetchone()[0]


@contextmanager
def counting_reads(conn: psycopg.Connection, job: psycopg.Connection, m: Measure) -> Iterator[None]:
    """Sets m.read_mb to what the job's backend read into shared buffers: the counters before, and
    after the job's backend has exited (a backend sends its statistics on exit). This connection's own
    reads (generating, preparing the floors) are sent first: a backend sends its counters when idle,
    at most once a second, so they would otherwise land in the job's window."""
    conn.execute("select pg_stat_force_next_flush()")
    before, pid = blocks_read(conn), job.info.backend_pid
    yield
    job.close()
    for _ in range(200):
        if not conn.execute("select 1 from pg_stat_activity where pid = %s", (pid,)).fetchone():
            break
        time.sleep(0.01)
    conn.execute("select pg_stat_clear_snapshot()")
    m.read_mb = (blocks_read(conn) - before) * 8192 / 2**20


# --- the floors: the bare write of the rows each step writes -----------------------------------------


def like(conn: psycopg.Connection, target: str, name: str) -> str:
    """A table in the floor schema shaped like `target`: columns, defaults, checks, indexes
    (including all) and the target's foreign keys, no triggers; unlogged only if the target is."""
    persistence = conn.execute(
        "select relpersistence from pg_class where oid = %s::regclass", (target,)
    ).fetchone()[0]
    table = f"{FLOOR}.{name}"
    conn.execute(
        f"create {'unlogged ' if persistence == 'u' else ''}table {table} (like {target} including all)"
    )
    for (definition,) in conn.execute(
        "select pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass and contype = 'f'",
        (target,),
    ).fetchall():
        conn.execute(f"alter table {table} add {definition}")
    return table


def prepared(conn: psycopg.Connection, name: str, select: str) -> None:
    """A prepared table of a step's computed values (from its real output), settled and analyzed so
    the floor's read of it costs what a read of old rows costs."""
    conn.execute(f"create table {FLOOR}.{name} as {select}", {"d": D})
    conn.execute(f"select count(*) from {FLOOR}.{name}")
    conn.execute(f"analyze {FLOOR}.{name}")


class Floor:
    """before: untimed, ahead of the real step; after: untimed, copies the step's output;
    write: the timed floor, returns rows written; check: fails loudly when the floor is not the same rows."""

    def before(self, conn: psycopg.Connection) -> None:
        pass

    def after(self, conn: psycopg.Connection) -> None:
        pass

    def write(self, conn: psycopg.Connection) -> int:
        raise NotImplementedError

    def check(self, conn: psycopg.Connection, rows: int) -> None:
        pass


STATS_COLUMNS = (
    "segment_id, date, leads_generated, leads_accepted, leads_rejected, leads_pending, avg_cpl, "
    "google_ads_spend, google_ads_clicks, google_ads_impressions, google_ads_conversions, capacity_partners, "
    "capacity_total_leads"
)


class AggregateFloor(Floor):
    """One grouped insert from the sources: D's leads (Amsterdam day), D's ad metrics and capacity."""

    def before(self, conn: psycopg.Connection) -> None:
        like(conn, "public.lead_generation_stats", "lead_generation_stats")

    def write(self, conn: psycopg.Connection) -> int:
        return conn.execute(
            f"""insert into {FLOOR}.lead_generation_stats ({STATS_COLUMNS})
                select s.id, %(d)s, coalesce(l.n, 0), coalesce(l.accepted, 0), coalesce(l.rejected, 0),
                       coalesce(l.pending, 0), round(coalesce(a.spend, 0) / nullif(l.n, 0), 2),
                       coalesce(a.spend, 0), coalesce(a.clicks, 0), coalesce(a.impressions, 0),
                       coalesce(a.conversions, 0), coalesce(c.partners, 0), coalesce(c.total, 0)
                  from public.lead_segments s
                  left join (select segment_id, count(*)::integer as n,
                                    (count(*) filter (where status = 'accepted'))::integer as accepted,
                                    (count(*) filter (where status = 'rejected'))::integer as rejected,
                                    (count(*) filter (where status in ('new', 'pending')))::integer as pending
                               from public.leads
                              where created_at >= %(d)s::timestamp at time zone 'Europe/Amsterdam'
                                and created_at < (%(d)s::date + 1)::timestamp at time zone 'Europe/Amsterdam'
                              group by segment_id) l on l.segment_id = s.id
                  left join (select c.segment_id, sum(m.cost) as spend, sum(m.clicks) as clicks,
                                    sum(m.impressions) as impressions, sum(m.conversions) as conversions
                               from public.campaign_daily_metrics m
                               join public.lead_segment_campaigns c
                                 on c.customer_id = m.customer_id and c.campaign_id = m.campaign_id
                              where m.date = %(d)s
                              group by c.segment_id) a on a.segment_id = s.id
                  left join (select m.segment_id, count(*) as partners, sum(p.max_open_leads) as total
                               from lead_flow.partner_segment_matches m
                               join public.profiles p on p.id = m.partner_id
                              group by m.segment_id) c on c.segment_id = s.id
                 where s.is_active""",
            {"d": D},
        ).rowcount

    def check(self, conn: psycopg.Connection, rows: int) -> None:
        differ = conn.execute(
            f"""with real as (select {STATS_COLUMNS} from public.lead_generation_stats where date = %(d)s),
                     bare as (select {STATS_COLUMNS} from {FLOOR}.lead_generation_stats)
                select (select count(*) from (select * from real except select * from bare) x),
                       (select count(*) from (select * from bare except select * from real) y)""",
            {"d": D},
        ).fetchone()
        if differ != (0, 0):
            raise SystemExit(
                f"the aggregate floor's rows differ from the step's: {differ[0]} / {differ[1]} rows"
            )


PLAN_COLUMNS = (
    "segment_id, date, target_leads_per_day, target_source, expected_leads_per_day, actual_leads, lead_gap, "
    "lead_gap_percentage"
)
PLAN_ORCHESTRATION = (
    "orchestration_status, orchestration_reason, target_daily_budget_google_ads, "
    "actual_daily_budget_google_ads, cost_per_lead, cost_per_lead_source, controller"
)
LOG_COLUMNS = (
    "date, segment_id, plan_id, channel, action_type, old_value, new_value, reason, customer_id, "
    "campaign_id, budget_resource_name, controller, limited_by"
)
GAP_COLUMNS = "partner_id, segment_id, date, target_leads, platform_leads, own_campaign_leads, lead_gap"
REC_COLUMNS = "partner_id, segment_id, campaign_id, type, for_date, payload, reason, expires_at"
TOTALS = "total_spend, total_clicks, total_leads, avg_cpl, metrics_synced_at"


def assignments(columns: str, source: str = "o") -> str:
    return ", ".join(f"{c} = {source}.{c}" for c in columns.split(", "))


def insert_again(conn: psycopg.Connection, table: str, columns: str, rows: str) -> int:
    """The bare insert of a step's rows: the prepared copy `rows` into the floor's `table`."""
    return conn.execute(
        f"insert into {FLOOR}.{table} ({columns}) select {columns} from {FLOOR}.{rows}"
    ).rowcount


def upsert_again(conn: psycopg.Connection, table: str, key: str, column: str) -> int:
    """The bare upsert of a step's rows of `table` (prepared in `<table>_rows`) into the floor's copy."""
    return conn.execute(
        f"insert into {FLOOR}.{table} select * from {FLOOR}.{table}_rows"
        f" on conflict ({key}) do update set {column} = excluded.{column}"
    ).rowcount


class InsertFloor(Floor):
    """A step that writes D's rows of one table: they are inserted again into a copy of it."""

    table: ClassVar[str]
    columns: ClassVar[str]

    def before(self, conn: psycopg.Connection) -> None:
        like(conn, f"public.{self.table}", self.table)

    def after(self, conn: psycopg.Connection) -> None:
        prepared(
            conn, f"{self.table}_rows", f"select {self.columns} from public.{self.table} where date = %(d)s"
        )

    def write(self, conn: psycopg.Connection) -> int:
        return insert_again(conn, self.table, self.columns, f"{self.table}_rows")


TRUST_COLUMNS = (
    "partner_id, date, declared_leads, trusted_leads, previous_leads, accepted_leads_30d, confirmed_leads, "
    "counted"
)


class PlanFloor(InsertFloor):
    """D's plan rows (the step's columns) inserted again, and the partners' trusted capacity for D the
    step stores first (sql/35: the figures that changed since D - 1). The plan table stays for
    orchestrate's floor: it holds the plans as they are before orchestrate, as the real table does."""

    table = "lead_segment_plans"
    columns = PLAN_COLUMNS

    def before(self, conn: psycopg.Connection) -> None:
        super().before(conn)
        like(conn, "lead_flow.partner_capacity_trust", "partner_capacity_trust")

    def after(self, conn: psycopg.Connection) -> None:
        super().after(conn)
        prepared(
            conn,
            "partner_capacity_trust_rows",
            f"select {TRUST_COLUMNS} from lead_flow.partner_capacity_trust where date = %(d)s",
        )

    def write(self, conn: psycopg.Connection) -> int:
        trust = insert_again(conn, "partner_capacity_trust", TRUST_COLUMNS, "partner_capacity_trust_rows")
        return trust + super().write(conn)


class OrchestrateFloor(Floor):
    """D's change rows inserted again, and the plans' orchestration columns set with one update."""

    def before(self, conn: psycopg.Connection) -> None:
        if conn.execute("select to_regclass(%s)", (f"{FLOOR}.lead_segment_plans",)).fetchone()[0] is None:
            raise SystemExit(
                "orchestrate's floor updates the plan floor's rows: plan must run before orchestrate"
            )
        like(conn, "public.channel_orchestration_log", "channel_orchestration_log")

    def after(self, conn: psycopg.Connection) -> None:
        prepared(
            conn,
            "orchestrate_log_rows",
            f"select {LOG_COLUMNS} from public.channel_orchestration_log"
            " where date = %(d)s and segment_id is not null and channel = 'google_ads'",
        )
        prepared(
            conn,
            "orchestrate_plan_rows",
            f"select segment_id, date, {PLAN_ORCHESTRATION} from public.lead_segment_plans"
            " where date = %(d)s and orchestration_status <> 'planned'",
        )

    def write(self, conn: psycopg.Connection) -> int:
        rows = insert_again(conn, "channel_orchestration_log", LOG_COLUMNS, "orchestrate_log_rows")
        updated = conn.execute(
            f"""update {FLOOR}.lead_segment_plans p set {assignments(PLAN_ORCHESTRATION)}
                  from {FLOOR}.orchestrate_plan_rows o
                 where p.segment_id = o.segment_id and p.date = o.date"""
        ).rowcount
        return rows + updated


class PartnerLeadGapsFloor(InsertFloor):
    table = "partner_lead_gaps"
    columns = GAP_COLUMNS


class PartnerRecommendationsFloor(Floor):
    """The night's recommendations inserted again; the campaign totals the step refreshed set with one
    update on a copy of the campaigns as they were before the step; the day's attributed-lead counts
    and the counted day it records (sql/92_partner_marketing_campaigns) upserted into copies of theirs."""

    def before(self, conn: psycopg.Connection) -> None:
        like(conn, "public.ai_marketing_recommendations", "ai_marketing_recommendations")
        for target, name in COUNTED:
            table = like(conn, target, name)
            conn.execute(f"insert into {table} select * from {target}")
            conn.execute(f"select count(*) from {table}")
            conn.execute(f"analyze {table}")

    def after(self, conn: psycopg.Connection) -> None:
        prepared(
            conn,
            "recommendation_rows",
            f"select {REC_COLUMNS} from public.ai_marketing_recommendations where for_date = %(d)s",
        )
        prepared(
            conn,
            "campaign_totals",
            f"""select c.id, {", ".join("c." + t for t in TOTALS.split(", "))}
                  from public.partner_marketing_campaigns c
                  join {FLOOR}.partner_marketing_campaigns b on b.id = c.id
                 where (c.total_spend, c.total_clicks, c.total_leads, c.avg_cpl, c.metrics_synced_at)
                       is distinct from
                       (b.total_spend, b.total_clicks, b.total_leads, b.avg_cpl, b.metrics_synced_at)""",
        )
        for target, name in COUNTED[1:]:
            prepared(conn, f"{name}_rows", f"select * from {target} except select * from {FLOOR}.{name}")

    def write(self, conn: psycopg.Connection) -> int:
        rows = insert_again(conn, "ai_marketing_recommendations", REC_COLUMNS, "recommendation_rows")
        rows += conn.execute(
            f"update {FLOOR}.partner_marketing_campaigns c set {assignments(TOTALS)}"
            f" from {FLOOR}.campaign_totals o where c.id = o.id"
        ).rowcount
        rows += upsert_again(conn, "partner_campaign_lead_days", "campaign_id, date", "leads")
        rows += upsert_again(conn, "partner_campaign_lead_nights", "date", "counted_at")
        return rows


# The tables the step updates in place, copied before it runs (the campaigns first: their totals).
COUNTED = [
    ("public.partner_marketing_campaigns", "partner_marketing_campaigns"),
    ("lead_flow.partner_campaign_lead_days", "partner_campaign_lead_days"),
    ("lead_flow.partner_campaign_lead_nights", "partner_campaign_lead_nights"),
]


FLOORS: dict[str, type[Floor]] = {
    "aggregate": AggregateFloor,
    "plan": PlanFloor,
    "orchestrate": OrchestrateFloor,
    "partner_lead_gaps": PartnerLeadGapsFloor,
    "partner_recommendations": PartnerRecommendationsFloor,
}


@dataclass
class Result:
    step: str
    rows: int
    floor_rows: int
    step_m: Measure
    floor_m: Measure


def registered_steps(conn: psycopg.Connection) -> list[str]:
    """The registered steps in their order; fails loudly when one has no floor here."""
    steps = [r[0] for r in conn.execute("select step from lead_flow.pipeline_steps order by sort_order")]
    missing = [s for s in steps if s not in FLOORS]
    if missing:
        raise SystemExit(f"registered steps without a floor in this bench: {', '.join(missing)}")
    return steps


def timed_runs(
    conn: psycopg.Connection, url: str, repeat: int, run: Callable[[psycopg.Connection], T]
) -> tuple[Measure, T]:
    """`repeat` runs of `run`, each in a backend of its own (as pg_cron runs each job in a new
    connection: its caches start cold, as the job's do, and its memory is its own) and in a transaction
    of its own: all but the last rolled back, the last committed. Returns the median run's wall and CPU
    seconds (one run on this machine may be 30% off the next), the highest peak memory, the first run's
    reads (later runs find its pages in shared buffers), and the last run's result."""
    measures = []
    for i in range(repeat):
        # No run pays for the dirty pages of what ran before it (the checkpoint writes them out).
        conn.execute("checkpoint")
        m = Measure()
        with psycopg.connect(url, autocommit=True) as job, counting_reads(conn, job, m):
            with Backend(job).measure() as timed, job.transaction(force_rollback=i < repeat - 1):
                result = run(job)
            m.wall, m.cpu, m.peak_mb = timed.wall, timed.cpu, timed.peak_mb
        measures.append(m)
    cpus = [m.cpu for m in measures]
    peaks = [m.peak_mb for m in measures if m.peak_mb is not None]
    summary = Measure(
        median(m.wall for m in measures),
        None if any(c is None for c in cpus) else median(c for c in cpus if c is not None),
        max(peaks, default=None),
        measures[0].read_mb,
        tuple(m.wall for m in measures),
    )
    return summary, result


def run_step_and_floor(conn: psycopg.Connection, url: str, step: str, repeat: int) -> Result:
    """One registered step for D through run_step, then its floor, each timed over `repeat` runs
    (timed_runs); fails loudly when the step fails, writes nothing, or its floor writes other rows."""
    conn.execute(f"create schema if not exists {FLOOR}")
    floor = FLOORS[step]()
    floor.before(conn)
    # The hour between two steps, as far as the night's reads go: the stats table's own autovacuum
    # setting (migration 0097: after 1,000 new rows) has vacuumed the aggregate step's new rows, so
    # the windows over it stay index-only (this cluster's autovacuum is off: see main).
    conn.execute("vacuum public.lead_generation_stats")

    def run(job: psycopg.Connection) -> int:
        status, rows, error = job.execute(
            "select status, rows, error from lead_flow.run_step(%s, %s)", (step, D)
        ).fetchone()
        if status != "success":
            raise SystemExit(f"step {step} for {D} did not succeed ({status}): {error}")
        if not rows:
            raise SystemExit(f"step {step} for {D} wrote no rows: the generated data gives it no work")
        return rows

    step_m, rows = timed_runs(conn, url, repeat, run)
    floor.after(conn)
    floor_m, floor_rows = timed_runs(conn, url, repeat, floor.write)
    floor.check(conn, floor_rows)
    if not floor_rows:
        raise SystemExit(f"the floor of {step} wrote no rows")
    return Result(step, rows, floor_rows, step_m, floor_m)


@dataclass
class Night:
    """One generated database and its night's results."""

    days: int
    conn: psycopg.Connection
    url: str
    results: list[Result]


def runs(m: Measure) -> str:
    """The runs' seconds behind a median, in the order they ran."""
    return "[" + " ".join(f"{w:.2f}" for w in m.runs) + "]"


def run_nights(nights: list[Night], repeat: int) -> None:
    """Every registered step for D on each database, step by step: each step (and its floor) on one
    database, then the same step on the next, so that nights compared with each other are measured
    minutes apart, not a whole night apart (this machine's speed drifts)."""
    for step in registered_steps(nights[0].conn):
        for night in nights:
            r = run_step_and_floor(night.conn, night.url, step, repeat)
            night.results.append(r)
            print(
                f"  {night.days:>3} days  {step:<24} {r.step_m.wall:6.2f} s {runs(r.step_m)} "
                f"({r.rows} rows)  floor {r.floor_m.wall:6.2f} s {runs(r.floor_m)} ({r.floor_rows} rows)",
                flush=True,
            )


def fmt(x: float | None, spec: str) -> str:
    return format(x, spec) if x is not None else "n/a".rjust(int(spec.split(".")[0]))


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def total_cpu(measures: list[Measure]) -> float | None:
    cpus = [m.cpu for m in measures]
    return None if any(c is None for c in cpus) else sum(c for c in cpus if c is not None)


def night_total(measures: list[Measure]) -> Measure:
    """A night's total of its steps' measures: seconds add up, memory is the highest of any step."""
    return Measure(
        sum(m.wall for m in measures),
        total_cpu(measures),
        max((m.peak_mb for m in measures if m.peak_mb is not None), default=None),
        None if any(m.read_mb is None for m in measures) else sum(m.read_mb or 0 for m in measures),
    )


def row(name: str, rows: str, floor_rows: str, step: Measure, floor: Measure) -> str:
    wall = ratio(step.wall, floor.wall)
    verdict = "met" if wall is not None and wall <= GOAL_RATIO else "NOT MET"
    return (
        f"{name:<24} {rows:>7} {floor_rows:>7} {step.wall:7.2f} {floor.wall:7.2f} {fmt(wall, '5.1f')}x "
        f"{fmt(step.cpu, '8.2f')} {fmt(floor.cpu, '9.2f')} {fmt(ratio(step.cpu, floor.cpu), '8.1f')}x "
        f"{fmt(step.peak_mb, '7.0f')} {fmt(floor.peak_mb, '8.0f')} "
        f"{fmt(step.read_mb, '7.0f')} {fmt(floor.read_mb, '8.0f')}  {verdict}"
    )


def report(results: list[Result], segments: int, leads: int, days: int, repeat: int) -> None:
    """The table, with the goal's verdict per step and for the total."""
    print()
    how = "once" if repeat == 1 else f"as the median of {repeat} runs each (all but the last rolled back)"
    print(
        f"nightly run for D = {D}: {segments:,} segments, {leads:,} leads over {days} days; each step "
        f"through lead_flow.run_step as pg_cron runs it, beside the bare write of the same rows. Measured "
        f"{how} on {os.cpu_count()} cores shared with other work (load average now "
        f"{os.getloadavg()[0]:.1f}): wall seconds slow down under load, CPU is the backend's own."
    )
    header = (
        f"{'step':<24} {'rows':>7} {'floor':>7} {'step s':>7} {'floor s':>7} {'ratio':>6} "
        f"{'step cpu':>8} {'floor cpu':>9} {'cpu ratio':>9} {'step MB':>7} {'floor MB':>8} "
        f"{'step rd':>7} {'floor rd':>8}  "
        f"goal <= {GOAL_RATIO:.0f}x"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(row(r.step, str(r.rows), str(r.floor_rows), r.step_m, r.floor_m))
    print("-" * len(header))
    total = [night_total([r.step_m for r in results]), night_total([r.floor_m for r in results])]
    rows, floor_rows = sum(r.rows for r in results), sum(r.floor_rows for r in results)
    print(row("total", str(rows), str(floor_rows), *total))
    print(
        "(rows: what run_step reports; floor: rows the floor wrote, updates included, into copies of the "
        "targets with their indexes and foreign keys, logged like them; ratio: wall seconds, step / floor; "
        "MB: the backend's peak private memory (the highest of the runs); rd: MB it read into shared "
        "buffers, i.e. pages that were not cached there (pg_statio; the first run's))"
    )


def compare(base: Night, longer: Night) -> None:
    """The same night on two histories, step by step: seconds, CPU seconds and MB read of each, and the
    ratios."""
    print()
    print(
        f"history: the night for D with {longer.days} days of leads, metrics and stats behind it against "
        f"{base.days} days (the same daily volume), each step measured right after the other's"
    )
    header = (
        f"{'step':<24} {f'{base.days}d s':>7} {f'{longer.days}d s':>7} {'ratio':>6} "
        f"{f'{base.days}d cpu':>8} {f'{longer.days}d cpu':>8} {'cpu ratio':>9} "
        f"{f'{base.days}d rd':>7} {f'{longer.days}d rd':>7}"
    )
    print(header)
    print("-" * len(header))
    pairs = [(a.step, a.step_m, b.step_m) for a, b in zip(base.results, longer.results, strict=True)]
    totals = [night_total([r.step_m for r in n.results]) for n in (base, longer)]
    pairs.append(("total", totals[0], totals[1]))
    for name, a, b in pairs:
        r = ratio(b.wall, a.wall)
        verdict = ""
        if name == "total":
            met = r is not None and r <= HISTORY_GOAL
            verdict = f"  goal <= {HISTORY_GOAL}x: {'met' if met else 'NOT MET'}"
        print(
            f"{name:<24} {a.wall:7.2f} {b.wall:7.2f} {fmt(r, '5.2f')}x "
            f"{fmt(a.cpu, '8.2f')} {fmt(b.cpu, '8.2f')} {fmt(ratio(b.cpu, a.cpu), '8.2f')}x "
            f"{fmt(a.read_mb, '7.0f')} {fmt(b.read_mb, '7.0f')}{verdict}"
        )
    print(
        "(s: wall seconds; cpu: the backend's own CPU seconds; rd: MB read into shared buffers; the goal is "
        "on wall seconds)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads per 60 days (the daily volume)")
    parser.add_argument(
        "--history-days", type=int, default=60, help="days of leads, metrics and stats up to D (60; try 365)"
    )
    parser.add_argument(
        "--compare-history-days",
        type=int,
        help="also generate a second database with this many days of history (e.g. 365) and run its night "
        "step by step beside the first; prints both and their ratio (goal: at most 1.2x)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each step and of each floor, the median counts (all but the last rolled back)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    histories = [args.history_days] + ([args.compare_history_days] if args.compare_history_days else [])

    stacks = []
    nights = []
    try:
        for days in histories:
            base = Path(tempfile.mkdtemp(prefix="leadflow-bench-nightly-"))
            stack = glue_stack.up(base)
            stacks.append((stack, base))
            conn = psycopg.connect(stack.database_url, autocommit=True)
            nights.append(Night(days, conn, stack.database_url, []))
            conn.execute("select cron.unschedule(jobid) from cron.job where jobname like 'lead-flow-%'")
            # No background vacuum on this throwaway cluster: nothing competes with the timed runs for
            # the CPU, and no table is vacuumed behind the bench's back (index-only scans stay as rare as
            # on tables that autovacuum has not reached yet, but for the stats history, vacuumed once as
            # its autovacuum setting keeps it; statistics come from the explicit analyze).
            conn.execute("alter system set autovacuum = off")
            conn.execute("select pg_reload_conf()")
            leads = args.leads * days // 60
            print(f"generating {args.segments} segments, {leads} leads over {days} days ...", flush=True)
            generate(conn, args.segments, leads, days)
        print(f"day D = {D}; the night, step by step, each with its floor:", flush=True)
        run_nights(nights, args.repeat)
        for night in nights:
            active = night.conn.execute(
                "select count(*) from public.lead_segments where is_active"
            ).fetchone()[0]
            n_leads = night.conn.execute("select count(*) from public.leads").fetchone()[0]
            report(night.results, active, n_leads, night.days, args.repeat)
        if len(nights) == 2:
            compare(nights[0], nights[1])
    finally:
        for night in nights:
            night.conn.close()
        for stack, base in stacks:
            stack.stop()
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
