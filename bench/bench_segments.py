"""Benchmark: what lead assignment costs a lead insert, and segment capacity.

Starts its own throwaway stack (PC4 ranges loaded when ../shared/data has them; the stack's settings:
fsync, synchronous_commit and full_page_writes off, so the figures are CPU, not disk; autovacuum off
and the tables analyzed before the timings, so no vacuum worker competes for the 2 cores and no
autoanalyze re-plans the trigger's lookups half way) and measures, side by side in one run, the same
leads (a province in some spelling, a postcode, or rubbish; most find a segment, some create theirs
on the fly):

- insert, plain / with trigger: one lead per statement and per transaction, as the platform's forms
  send them (pipelined, a sync after each insert, so each commits on its own and per-transaction
  costs count), with `tg_leads__assign_segment` disabled and enabled;
- N in 1 txn, plain / trigger: the same statements in one transaction (an executemany runs them
  so): what the trigger adds per statement when the per-transaction costs are paid once (the
  guardrail's figures quoted before this bench committed each insert were measured this way);
- insert, segment given: the same leads with the segment_id the trigger would give them, set by the
  caller (the trigger does not run): what storing a segment costs (the foreign-key check, the index
  entry), which no way of finding it can save. The trigger's "adds" minus this row's is its lookup;
- COPY 100k, plain / with trigger: 100,000 leads in one COPY.
- the decomposition (issue 14; --no-decomposition skips it): variant triggers, each with the real
  one's trigger declaration (before insert, for each row, when segment_id is null), installed in a
  schema of the bench's own stack only (never sql/) and measured per transaction and in one
  transaction like the real one, in the same rotation: a do-nothing plpgsql trigger bare, with
  security definer, and with set search_path = '' too (the house rule's declaration); that one
  assigning a constant segment_id (the FK check); one calling only lead_flow.region_for; and the real
  body calling a copy of region_for without its SET search_path, and with no definer or SET
  anywhere (region_for as one SQL function was measured once and dropped: ~280 vs ~59 us per
  transaction, a second spelling of the rule to keep in step). Steps between them attribute the
  cost: calling a trigger, security definer, the search_path GUC save/restore, the FK check,
  region_for, the segment lookup; each
  row's "per-txn part" (per transaction minus in one) is what it pays once per transaction (locks on
  the relations it touches, plan revalidation, PL/pgSQL's per-transaction expression state, the
  FK check's row lock).

Modes take turns within each round (which goes first rotates); a mode's "adds" is the median over the
rounds of its CPU per lead minus plain's in the same round. Many short rounds (40 of 500 leads) rather
than a few long ones, so plain and trigger are measured seconds apart and a change in the machine's
load moves both.

Guardrails (issue 14): the server CPU per lead that the trigger adds to a plain insert at most 30 us,
and COPY of 100,000 leads with the trigger at least 20,000 leads/s on 2 cores. The CPU figure is the
server process's own CPU time (/proc/PID/schedstat): time spent waiting for a busy core does not
count, but the same work does take more CPU time when other processes share the cores (caches,
memory bandwidth; measured up to 1.5x on this machine's 2 virtual cores), so runs on a busy machine
read higher, plain and trigger alike. The "reference" line is a fixed piece of CPU work timed in the
same backend each round: when it reads slower than usual, so do the rows above it; it does not catch
every slowdown (small loop, small footprint: four runs in a row read 33 ms while the trigger's
per-transaction figure read 61 to 88 us). leads/s is wall-clock and drops under load.

Then `segment_capacity` (the view, read as a partner under RLS), `lead_flow.segment_capacities()` and
`get_segment_capacity(id)` for 10,000 segments x 5,000 partners (goal: the view under 1 s).

Usage: .venv/bin/python bench/bench_segments.py [--leads 500] [--rounds 40] [--copy-leads 100000]
       [--copy-rounds 3] [--segments 10000] [--partners 5000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from glue.lab import stack as glue_stack

# How forms and profiles spell the provinces: a slug, a display name, a sloppy variant.
SPELLINGS = {
    "groningen": ["Groningen", "groningen", "GR"],
    "friesland": ["Friesland", "Fryslân", "FR"],
    "drenthe": ["Drenthe", "drenthe", "DR"],
    "overijssel": ["Overijssel", "overijssel", "OV"],
    "flevoland": ["Flevoland", "flevoland", "FL"],
    "gelderland": ["Gelderland", "gelderland", "GLD"],
    "utrecht": ["Utrecht", "utrecht", "UT"],
    "noord-holland": ["Noord-Holland", "noord holland", "NH"],
    "zuid-holland": ["Zuid-Holland", " ZUID-HOLLAND ", "ZH"],
    "zeeland": ["Zeeland", "zeeland", "ZE"],
    "noord-brabant": ["Noord-Brabant", "noord brabant", "N-Brabant"],
    "limburg": ["Limburg", "limburg", "LB"],
}
REGIONS = list(SPELLINGS)
POSTCODES = ["1012 AB", "3011ab", "5611", "9711 XA", "6211", "8911 BC", "1316", "4331 AA", "3511", "7511 KL"]
TRIGGER = "tg_leads__assign_segment"
COLUMNS = "industry_id, province, postcode"
GOAL_ADDED_US = 30.0
GOAL_COPY_RATE = 20_000.0
REFERENCE_ROWS = 300_000  # generate_series rows counted as the reference work (~50 ms of CPU)

# Issue 14's decomposition: variant trigger functions, installed on the bench's own throwaway stack
# only (schema bench_variants, never sql/), each a trigger of its own on leads with the real one's
# declaration (before insert, for each row, when (new.segment_id is null)), enabled one at a time.
VARIANT_SCHEMA = "bench_variants"
DECLARATION = "language plpgsql security definer set search_path = ''"  # the house rule's
NOOP_VARIANTS = {  # mode -> (declaration, body)
    "noop, bare": ("language plpgsql", "begin return new; end"),
    "noop, definer": ("language plpgsql security definer", "begin return new; end"),
    "noop, definer+path": (DECLARATION, "begin return new; end"),
    "const segment": (DECLARATION, "begin new.segment_id := '{segment}'::uuid; return new; end"),
    "region_for only": (
        DECLARATION,
        "declare v text; begin v := lead_flow.region_for(new.province, new.postcode); return new; end",
    ),
}
# The real trigger's body (read from the stack) with region_for replaced by copies of it: without
# its SET search_path (its references are all qualified; the trigger calls it under search_path '').
REAL_VARIANTS = {  # mode -> (region_for copy, trigger keeps security definer + SET search_path)
    "real, region_for no path": ("region_for_nopath", True),
    "real, all bare": ("region_for_nopath", False),
}


class BackendCpu:
    """CPU seconds the connection's server process has run (Linux /proc/PID/schedstat, nanoseconds),
    so time spent waiting for a busy machine does not count; None where /proc cannot be read."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.schedstat = Path(f"/proc/{conn.info.backend_pid}/schedstat")

    def seconds(self) -> float | None:
        try:
            return int(self.schedstat.read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None


def one_per_transaction(conn: psycopg.Connection, sql: str, rows: list[tuple]) -> None:
    """Each row in its own statement and transaction, as a form's insert arrives: pipelined, with a
    sync after each statement (an executemany would run them all in one implicit transaction, which
    pays the per-transaction costs, locks and PL/pgSQL's per-transaction expression setup, once)."""
    with conn.pipeline() as pipeline, conn.cursor() as cur:
        for row in rows:
            cur.execute(sql, row)
            pipeline.sync()


def lead_rows(industries: list[uuid.UUID], n: int, rng: random.Random) -> list[tuple]:
    """Leads as forms send them: a province in some spelling (half), a postcode, or rubbish."""
    rows = []
    for _ in range(n):
        kind = rng.random()
        province = rng.choice(SPELLINGS[rng.choice(REGIONS)]) if kind < 0.5 else None
        postcode = rng.choice(POSTCODES) if 0.3 < kind < 0.9 else ("abcd" if kind >= 0.95 else None)
        rows.append((rng.choice(industries), province, postcode))
    return rows


def seed_leads(conn: psycopg.Connection) -> list[uuid.UUID]:
    """43 industries; segments for all but 10 of them (whose leads create theirs on the fly)."""
    names = [f"branche {i:02d}" for i in range(40)] + ["Schilder", "Dakdekker", "Loodgieter"]
    industries = [
        conn.execute("insert into public.industries (name) values (%s) returning id", (name,)).fetchone()[0]
        for name in names
    ]
    conn.execute("""insert into public.lead_segments (branch, region)
                    select lower(i.name), r.slug from public.industries i, public.regions r
                     where i.name not like 'branche 3%'""")
    conn.execute(
        "update public.lead_flow_settings set value = 'true'"
        " where key = 'auto_create_segments' and segment_id is null"
    )
    return industries


class Measure:
    """Runs of one mode: leads per second (wall clock) and server CPU microseconds per lead."""

    def __init__(self) -> None:
        self.rate: list[float] = []
        self.cpu_us: list[float] = []

    def run(self, cpu: BackendCpu, fn: Callable[[], None], count: int) -> None:
        before_cpu, start = cpu.seconds(), time.perf_counter()
        fn()
        elapsed, after_cpu = time.perf_counter() - start, cpu.seconds()
        self.rate.append(count / elapsed)
        if before_cpu is not None and after_cpu is not None:
            self.cpu_us.append((after_cpu - before_cpu) / count * 1e6)


def added_cpu_us(modes: dict[str, Measure], mode: str = "trigger") -> float:
    """Median over the rounds of (server CPU per lead in `mode`) - (the same, plain)."""
    pairs = zip(modes[mode].cpu_us, modes["plain"].cpu_us, strict=True)
    return statistics.median(t - p for t, p in pairs) if modes[mode].cpu_us else float("nan")


def given_segments(conn: psycopg.Connection, rows: list[tuple]) -> list[tuple]:
    """The rows with the segment each lead gets from the trigger (the active segment whose code is
    segment_code(industry name, region)), computed in one statement."""
    industry, province, postcode = (list(column) for column in zip(*rows, strict=True))
    segments = conn.execute(
        """select s.id
             from unnest(%s::uuid[], %s::text[], %s::text[])
                  with ordinality l(industry_id, province, postcode, n)
             left join public.industries i on i.id = l.industry_id
             left join public.lead_segments s
               on s.code = lead_flow.segment_code(i.name, lead_flow.region_for(l.province, l.postcode))
              and s.is_active
            order by l.n""",
        (industry, province, postcode),
    ).fetchall()
    return [(*row, segment) for row, (segment,) in zip(rows, segments, strict=True)]


def install_variants(conn: psycopg.Connection, segment: uuid.UUID) -> dict[str, str]:
    """The decomposition's variant triggers on leads (disabled), on the bench's own stack only;
    returns mode -> trigger name."""
    conn.execute(f"create schema {VARIANT_SCHEMA}")
    triggers = {}

    def add_trigger(mode: str, function: str) -> None:
        name = f"tg_bench_{len(triggers):02d}"
        conn.execute(
            f"create trigger {name} before insert on public.leads for each row"
            f" when (new.segment_id is null) execute function {function}()"
        )
        conn.execute(f"alter table public.leads disable trigger {name}")
        triggers[mode] = name

    for i, (mode, (declaration, body)) in enumerate(NOOP_VARIANTS.items()):
        function = f"{VARIANT_SCHEMA}.tg_variant_{i:02d}"
        body = body.replace("{segment}", str(segment))
        conn.execute(f"create function {function}() returns trigger {declaration} as $${body}$$")
        add_trigger(mode, function)
    region_def = conn.execute(
        "select pg_get_functiondef('lead_flow.region_for(text, text)'::regprocedure)"
    ).fetchone()[0]
    nopath = region_def.replace("lead_flow.region_for(", f"{VARIANT_SCHEMA}.region_for_nopath(", 1)
    assert " SET search_path TO ''\n" in nopath, nopath[:400]
    conn.execute(nopath.replace(" SET search_path TO ''\n", ""))
    real_def = conn.execute(
        "select pg_get_functiondef('lead_flow.tg_leads__assign_segment()'::regprocedure)"
    ).fetchone()[0]
    for i, (mode, (region_copy, declared)) in enumerate(REAL_VARIANTS.items()):
        function = f"{VARIANT_SCHEMA}.tg_real_{i:02d}"
        definition = real_def.replace("lead_flow.tg_leads__assign_segment()", f"{function}()", 1)
        assert definition.count("lead_flow.region_for(") == 1, "the real trigger calls region_for once"
        definition = definition.replace("lead_flow.region_for(", f"{VARIANT_SCHEMA}.{region_copy}(")
        if not declared:
            for clause in (" SECURITY DEFINER\n", " SET search_path TO ''\n"):
                assert clause in definition, definition[:400]
                definition = definition.replace(clause, "")
        conn.execute(definition)
        add_trigger(mode, function)
    return triggers


def met(goal: str, ok: bool) -> str:
    return f"{goal}: {'met' if ok else 'NOT MET'}"


def bench_inserts(
    conn: psycopg.Connection, n: int, rounds: int, copy_n: int, copy_rounds: int, with_variants: bool = True
) -> None:
    industries = seed_leads(conn)
    rng = random.Random(1)
    rows, copy_rows = lead_rows(industries, n, rng), lead_rows(industries, copy_n, rng)

    def insert_each() -> None:
        one_per_transaction(conn, f"insert into public.leads ({COLUMNS}) values (%s, %s, %s)", rows)

    def insert_batch() -> None:  # the same statements, all in one transaction (an executemany's)
        with conn.cursor() as cur:
            cur.executemany(f"insert into public.leads ({COLUMNS}) values (%s, %s, %s)", rows)

    def insert_given() -> None:  # the same, segment_id set by the caller: the trigger's WHEN skips it
        sql = f"insert into public.leads ({COLUMNS}, segment_id) values (%s, %s, %s, %s)"
        one_per_transaction(conn, sql, given)

    def reference_work() -> None:  # CPU only, the same every round: how fast the machine runs now
        conn.execute("select count(*) from generate_series(1, %s)", (REFERENCE_ROWS,)).fetchone()

    def copy_all() -> None:
        with conn.cursor() as cur, cur.copy(f"copy public.leads ({COLUMNS}) from stdin") as cp:
            for row in copy_rows:
                cp.write_row(row)

    cpu = BackendCpu(conn)
    insert_each()  # warm-up: plans cached, the on-the-fly segments created, pages in memory
    given = given_segments(conn, rows)
    insert_given()
    segment = next(g[-1] for g in given if g[-1] is not None)
    variants = install_variants(conn, segment) if with_variants else {}
    modes = ["plain", "trigger", "given", *variants]
    insert = {mode: Measure() for mode in modes}
    batch = {mode: Measure() for mode in modes if mode != "given"}
    copy = {"plain": Measure(), "trigger": Measure()}
    reference = Measure()
    enabled = {TRIGGER: True, **dict.fromkeys(variants.values(), False)}

    def set_mode(mode: str) -> None:  # exactly the mode's trigger enabled (none for plain, given)
        want = variants.get(mode, TRIGGER if mode == "trigger" else None)
        for name, on in enabled.items():
            if on != (name == want):
                conn.execute(f"alter table public.leads {'disable' if on else 'enable'} trigger {name}")
                enabled[name] = not on

    # Statistics as a live database has them, taken now: an autoanalyze half way would re-plan the
    # trigger's lookups between the rounds (the alias and industry lookups probe the primary keys of
    # never-analyzed tables and scan their one page once analyzed).
    conn.execute("analyze")
    for round_no in range(max(rounds, copy_rounds)):
        # Rotate which mode goes first, so none always meets the larger table or warmer caches.
        shift = round_no % len(modes)
        order = modes[shift:] + modes[:shift]
        for mode in order:
            set_mode(mode)
            if round_no < rounds:
                insert[mode].run(cpu, insert_given if mode == "given" else insert_each, n)
                if mode in batch:
                    batch[mode].run(cpu, insert_batch, n)
            if round_no < copy_rounds and mode in copy:
                copy[mode].run(cpu, copy_all, copy_n)
        reference.run(cpu, reference_work, REFERENCE_ROWS)
    set_mode("trigger")
    for name in variants.values():
        conn.execute(f"drop trigger {name} on public.leads")

    assigned, total = conn.execute("select count(segment_id), count(*) from public.leads").fetchone()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"lead inserts: {rounds} rounds of {n:,} single-lead inserts (one transaction each) and {copy_rounds}"
        f" rounds of one COPY of {copy_n:,} leads per mode, modes taking turns; medians over the rounds."
        f" Measured on {os.cpu_count()} cores shared with other work (load average {load:.1f}): leads/s is"
        f" wall clock and drops under load, server CPU is the backend's own and rises under load."
        f" {assigned:,} of {total:,} leads carry a segment."
    )
    ref_ms = [us * REFERENCE_ROWS / 1000 for us in reference.cpu_us]
    if ref_ms:
        print(
            f"  reference work (the same CPU-only statement each round): {statistics.median(ref_ms):.0f} ms"
            f" server CPU, {min(ref_ms):.0f}-{max(ref_ms):.0f} over the rounds (higher = a busier machine)"
        )
    added_us, given_us = added_cpu_us(insert), added_cpu_us(insert, "given")
    batch_added_us = added_cpu_us(batch)
    copy_added_us = added_cpu_us(copy)
    copy_rate = statistics.median(copy["trigger"].rate)
    table = [
        ("insert, plain", insert["plain"], "", ""),
        (
            "insert, with trigger",
            insert["trigger"],
            f"{added_us:.1f}",
            met(f"<= {GOAL_ADDED_US:.0f} us added", added_us <= GOAL_ADDED_US),
        ),
        ("insert, segment given", insert["given"], f"{given_us:.1f}", "(storing a segment: FK check, index)"),
        (f"{n:,} in 1 txn, plain", batch["plain"], "", ""),
        (
            f"{n:,} in 1 txn, trigger",
            batch["trigger"],
            f"{batch_added_us:.1f}",
            met(f"<= {GOAL_ADDED_US:.0f} us added", batch_added_us <= GOAL_ADDED_US)
            + " (per-transaction costs paid once)",
        ),
        (f"COPY {copy_n // 1000}k, plain", copy["plain"], "", ""),
        (
            f"COPY {copy_n // 1000}k, with trigger",
            copy["trigger"],
            f"{copy_added_us:.1f}",
            met(f">= {GOAL_COPY_RATE:,.0f} leads/s", copy_rate >= GOAL_COPY_RATE),
        ),
    ]
    print(f"  {'mode':<24} {'leads/s':>9} {'server CPU us/lead':>19} {'trigger adds us':>16}  guardrail")
    for name, m, added, goal in table:
        cpu_us = f"{statistics.median(m.cpu_us):.1f}" if m.cpu_us else "n/a"
        print(f"  {name:<24} {statistics.median(m.rate):>9,.0f} {cpu_us:>19} {added:>16}  {goal}")
    if variants:
        print_decomposition(insert, batch, [*variants])


VARIANT_NOTES = {
    "trigger": "the real one (lead_flow.tg_leads__assign_segment)",
    "noop, bare": "plpgsql, returns new: calling any trigger",
    "noop, definer": "+ security definer",
    "noop, definer+path": "+ set search_path = '': the required declaration",
    "const segment": "+ new.segment_id := a constant (the FK check, index)",
    "region_for only": "+ v := lead_flow.region_for(...) only",
    "real, region_for no path": "the real body, region_for without its SET",
    "real, all bare": "the real body, no definer/SET on trigger or region_for",
}


def print_decomposition(insert: dict[str, Measure], batch: dict[str, Measure], variants: list[str]) -> None:
    """Issue 14's decomposition: each variant trigger's median added CPU per lead over plain, one lead
    per transaction and all in one transaction (the difference: what it pays once per transaction)."""
    print("  decomposition (variant triggers on this stack only; adds = median over rounds of minus plain):")
    print(f"  {'trigger':<26} {'adds/txn us':>11} {'adds in 1 txn':>13} {'per-txn part':>12}  what")
    adds = {}
    for mode in ["trigger", *variants]:
        each, once = added_cpu_us(insert, mode), added_cpu_us(batch, mode)
        adds[mode] = (each, once)
        print(f"  {mode:<26} {each:>11.1f} {once:>13.1f} {each - once:>12.1f}  {VARIANT_NOTES.get(mode, '')}")

    def step(label: str, mode: str, base: str | None) -> None:
        each, once = adds[mode]
        if base is not None:
            each, once = each - adds[base][0], once - adds[base][1]
        print(f"    {label:<52} {each:>6.1f} per txn {once:>6.1f} in 1 txn")

    print("  steps (differences of the medians above; each carries the noise of two rows):")
    step("calling a plpgsql trigger (noop, bare)", "noop, bare", None)
    step("security definer (user id switch)", "noop, definer", "noop, bare")
    step("set search_path = '' (GUC save/restore)", "noop, definer+path", "noop, definer")
    step("assigning a constant segment (FK check, index)", "const segment", "noop, definer+path")
    step("region_for's call and lookups", "region_for only", "noop, definer+path")
    step("segment lookup and industry (real - region_for only)", "trigger", "region_for only")
    step("region_for's own SET search_path (real - no path)", "trigger", "real, region_for no path")
    step("both declarations (real - all bare)", "trigger", "real, all bare")


def seed_capacity(conn: psycopg.Connection, n_segments: int, n_partners: int) -> uuid.UUID:
    """n_segments segments over branches x 12 regions, n_partners partners with messy profiles."""
    rng = random.Random(2)
    n_branches = -(-n_segments // len(REGIONS))
    branches = [f"vak {i:04d}" for i in range(n_branches)]
    conn.execute(
        """insert into public.lead_segments (branch, region)
           select b, r from unnest(%s::text[]) b, unnest(%s::text[]) r limit %s""",
        (branches, REGIONS, n_segments),
    )
    partner_rows = []
    for i in range(n_partners):
        own = rng.sample(branches, rng.randint(1, 3))
        spell = [b.upper() if rng.random() < 0.3 else f" {b} " if rng.random() < 0.3 else b for b in own]
        regions = [rng.choice(SPELLINGS[r]) for r in rng.sample(REGIONS, rng.randint(1, 3))]
        locations = [rng.choice(SPELLINGS[r]) for r in rng.sample(REGIONS, rng.randint(0, 2))]
        partner_rows.append(
            (
                uuid.uuid4(),
                spell[0],
                spell[1:] + spell[:1],
                regions,
                locations,
                rng.randint(0, 30),
                rng.random() < 0.9,
                i % 50 == 0,
            )
        )
    with conn.cursor() as cur:
        cur.executemany("insert into auth.users (id) values (%s)", [(r[0],) for r in partner_rows])
        cur.executemany(
            """insert into public.profiles (id, primary_branch, lead_industries, regions, lead_locations,
                                            max_open_leads, is_active_for_routing, is_admin)
               values (%s, %s, %s, %s, %s, %s, %s, %s)""",
            partner_rows,
        )
    conn.execute("refresh materialized view public.partner_performance_stats")
    conn.execute("analyze")
    return partner_rows[1][0]


def bench_capacity(conn: psycopg.Connection, n_segments: int, n_partners: int) -> None:
    partner = seed_capacity(conn, n_segments, n_partners)
    segments, pairs = conn.execute(
        "select (select count(*) from public.lead_segments where is_active),"
        " (select count(*) from lead_flow.partner_segment_matches)"
    ).fetchone()
    one = conn.execute(
        "select id from public.lead_segments where branch = 'vak 0001' and region = 'utrecht'"
    ).fetchone()[0]

    def best_ms(sql: str, *params: object, as_partner: bool = False, runs: int = 3) -> float:
        times = []
        for _ in range(runs):
            with conn.transaction():
                if as_partner:
                    conn.execute("set local role authenticated")
                    conn.execute(
                        "select set_config('request.jwt.claims', %s, true)",
                        (json.dumps({"role": "authenticated", "sub": str(partner)}),),
                    )
                start = time.perf_counter()
                conn.execute(sql, params).fetchall()
                times.append(time.perf_counter() - start)
        return min(times) * 1000

    view = best_ms("select * from public.segment_capacity", as_partner=True)
    every = best_ms("select * from lead_flow.segment_capacities()")
    single = best_ms("select * from public.get_segment_capacity(%s)", one, as_partner=True)
    print(f"segment capacity: {segments:,} active segments x {n_partners:,} partners ({pairs:,} matches)")
    verdict = "met" if view < 1000 else "NOT MET"
    print(f"  segment_capacity view (as a partner)  {view:8.1f} ms   goal < 1000 ms: {verdict}")
    print(f"  lead_flow.segment_capacities()        {every:8.1f} ms")
    print(f"  get_segment_capacity(one segment)     {single:8.1f} ms   (best of 3 each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=500, help="single-lead inserts per round and mode")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--copy-leads", type=int, default=100_000, help="leads per COPY")
    parser.add_argument("--copy-rounds", type=int, default=3)
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=5_000)
    parser.add_argument(
        "--no-decomposition", action="store_true", help="skip issue 14's variant-trigger rows (faster)"
    )
    parser.add_argument("--database-url", help="use this database, not a new stack (adds data to it!)")
    args = parser.parse_args()

    url = args.database_url
    base = None if url else Path(tempfile.mkdtemp(prefix="leadflow-bench-"))
    try:
        if base is not None:  # a stack of our own, stopped below even when starting it fails half way
            url = glue_stack.up(base).database_url
        with psycopg.connect(url, autocommit=True) as conn:
            if (
                base is not None
            ):  # our own stack: pg_cron's hourly catch-up and autovacuum stay out of the timings
                conn.execute("update cron.job set active = false")
                conn.execute("alter system set autovacuum = off")
                conn.execute("select pg_reload_conf()")
            bench_inserts(
                conn, args.leads, args.rounds, args.copy_leads, args.copy_rounds, not args.no_decomposition
            )
            bench_capacity(conn, args.segments, args.partners)
    finally:
        if base is not None:
            glue_stack.down(base)
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
