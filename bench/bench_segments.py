"""Benchmark: lead inserts with the segment-assignment trigger vs without, and segment capacity.

Starts its own throwaway stack (PC4 ranges loaded when ../shared/data has them), and measures side by
side in one run:
1. lead insert throughput with `tg_leads__assign_segment` enabled and disabled, the same rows each way,
   rounds interleaved so both see the same table growth, first CPU-bound (the throwaway stack's
   settings: no commit waits for the disk): psycopg executemany (one lead per transaction), COPY
   (one transaction), one lead per PostgREST request (as the platform's forms send them), and
   pgbench (`-M prepared`, one lead per transaction with a random industry, province spelling and
   postcode). Besides wall-clock throughput it prints the server process's CPU time per lead, which
   a machine busy with other work does not distort. Two more modes show where the cost lies: the
   trigger without the segment_id foreign-key check, and the same leads inserted with their segment
   given (no assignment: what storing a segment_id costs whoever fills it in);
   then with durable commits (PostgreSQL's defaults, as Supabase runs): pgbench and PostgREST, one
   lead per transaction;
2. `segment_capacity` (the PostgREST view, read as a partner under RLS), `lead_flow.segment_capacities()`
   and `get_segment_capacity(id)` for 10,000 segments x 5,000 partners.

Goals: trigger inserts >= 70 % of plain throughput; the capacity view in under 1 s.
Usage: .venv/bin/python bench/bench_segments.py [--leads 5000] [--rounds 12] [--rest-leads 500]
       [--durable-leads 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import jwt
import psycopg

from glue import stack as glue_stack

REGIONS = [
    "groningen",
    "friesland",
    "drenthe",
    "overijssel",
    "flevoland",
    "gelderland",
    "utrecht",
    "noord-holland",
    "zuid-holland",
    "zeeland",
    "noord-brabant",
    "limburg",
]
# How forms and profiles spell them: a slug, a display name, a sloppy variant.
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
POSTCODES = [
    "1012 AB",
    "3011ab",
    "5611",
    "9711 XA",
    "6211",
    "8911 BC",
    "1316",
    "4331 AA",
    "3511",
    "7511 KL",
    "9401",
    "6811 ZZ",
]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def lead_rows(industries: list[uuid.UUID], n: int, rng: random.Random) -> list[tuple]:
    """Leads as forms send them: a province in some spelling, a postcode, or rubbish."""
    rows = []
    for _ in range(n):
        kind = rng.random()
        region = rng.choice(REGIONS)
        province = rng.choice(SPELLINGS[region]) if kind < 0.5 else None
        postcode = rng.choice(POSTCODES) if 0.3 < kind < 0.9 else ("abcd" if kind >= 0.95 else None)
        rows.append((rng.choice(industries), province, postcode))
    return rows


class BackendCpu:
    """CPU seconds the connection's server process has run (Linux /proc/PID/schedstat, nanoseconds),
    so a busy machine's waiting time does not count; None where /proc cannot be read."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.schedstat = Path(f"/proc/{conn.info.backend_pid}/schedstat")

    def seconds(self) -> float | None:
        try:
            return int(self.schedstat.read_text().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            return None


def paired(values: dict[str, list[float]], mode: str, base: str) -> tuple[float, float, float]:
    """Median and quartiles of mode / base over the rounds, each round's runs taken back to back:
    a machine whose speed drifts (other work, a neighbour on the host) moves both alike."""
    ratios = sorted(a / b for a, b in zip(values[mode], values[base], strict=True))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return statistics.median(ratios), quartiles[0], quartiles[2]


def ratio_line(method: str, rates: dict[str, list[float]]) -> str:
    """The goal's figure for one insert method: trigger / plain, with the throughputs behind it."""
    ratio, low, high = paired(rates, "trigger", "plain")
    return (
        f"  {method:<11}  trigger / plain {ratio:6.1%} ({low:.1%}-{high:.1%})  (goal >= 70%)"
        f"   with trigger {statistics.median(rates['trigger']):>8,.0f} leads/s,"
        f" disabled {statistics.median(rates['plain']):>8,.0f} leads/s"
    )


def median_difference(values: dict[str, list[float]], mode: str, base: str) -> float:
    return statistics.median(a - b for a, b in zip(values[mode], values[base], strict=True))


def pgbench_script(industries: list[uuid.UUID], path: Path) -> Path:
    """A pgbench script inserting one lead: random industry, a province in some spelling (NULL half the
    time), a postcode (some garbage, some NULL)."""

    def array(values: list[str], sql_type: str) -> str:
        return "(array[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + f"]::{sql_type}[])"

    spellings = [s for region in REGIONS for s in SPELLINGS[region]]
    postcodes = [*POSTCODES, "abcd"]
    path.write_text(
        f"\\set i random(1, {len(industries)})\n"
        f"\\set p random(1, {2 * len(spellings)})\n"
        f"\\set c random(1, {len(postcodes) + 3})\n"
        "insert into public.leads (industry_id, province, postcode) values ("
        f"{array([str(i) for i in industries], 'uuid')}[:i], {array(spellings, 'text')}[:p], "
        f"{array(postcodes, 'text')}[:c]);\n",
        encoding="utf-8",
    )
    return path


def run_pgbench(url: str, script: Path, transactions: int) -> float:
    """Transactions per second of one pgbench client running `script` `transactions` times."""
    done = subprocess.run(
        [str(glue_stack.PG_BIN / "pgbench"), "-n", "-M", "prepared", "-t", str(transactions)]
        + ["-f", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"tps = ([0-9.]+)", done.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps: {done.stdout} {done.stderr}")
    return float(match.group(1))


def set_durable(conn: psycopg.Connection, on: bool) -> None:
    """Switch the cluster between the throwaway stack's settings (fsync, synchronous_commit and
    full_page_writes off) and PostgreSQL's defaults, which are how Supabase runs: every commit waits
    for its WAL to reach the disk. A reload reaches every backend (PostgREST's pool too)."""
    for name in ("fsync", "synchronous_commit", "full_page_writes"):
        conn.execute(f"alter system {'set ' + name + ' = on' if on else 'reset ' + name}")
    conn.execute("select pg_reload_conf()")
    deadline = time.monotonic() + 10
    while conn.execute("show fsync").fetchone()[0] != ("on" if on else "off"):
        if time.monotonic() > deadline:
            raise RuntimeError("the configuration reload did not take effect")
        time.sleep(0.05)


def bench_inserts(
    conn: psycopg.Connection,
    n: int,
    rounds: int,
    rest: tuple[str, str] | None,
    db_url: str,
    workdir: Path,
    durable_n: int,
    rest_n: int,
) -> None:
    rng = random.Random(1)
    names = [f"branche {i:02d}" for i in range(40)] + ["Schilder", "Dakdekker", "Loodgieter"]
    industries = [
        conn.execute("insert into public.industries (name) values (%s) returning id", (name,)).fetchone()[0]
        for name in names
    ]
    # Most leads find an existing segment; the rest create theirs on the fly (auto_create_segments).
    conn.execute("""insert into public.lead_segments (branch, region)
                    select lower(i.name), r.slug from public.industries i, public.regions r
                     where i.name not like 'branche 3%'""")
    rows = lead_rows(industries, n, rng)
    insert = "insert into public.leads (industry_id, province, postcode) values (%s, %s, %s)"
    # The same leads with their segment already known (what the trigger gives them; the segments it
    # would create on the fly are created here): inserting these costs what storing a segment_id
    # costs at all (its foreign-key check and its place in the segment index), with no assignment.
    segment_of = dict(
        conn.execute(
            """select r.ord, lead_flow.segment_for_lead(null, r.industry_id, r.province, r.postcode)
                 from unnest(%s::uuid[], %s::text[], %s::text[]) with ordinality
                      r (industry_id, province, postcode, ord)""",
            ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
        ).fetchall()
    )
    given_rows = [(*row, segment_of[i + 1]) for i, row in enumerate(rows)]
    insert_given = (
        "insert into public.leads (industry_id, province, postcode, segment_id) values (%s, %s, %s, %s)"
    )

    def executemany(given: bool) -> None:
        with conn.cursor() as cur:
            cur.executemany(insert_given if given else insert, given_rows if given else rows)

    def copy(given: bool) -> None:
        columns = "industry_id, province, postcode" + (", segment_id" if given else "")
        with conn.cursor() as cur, cur.copy(f"copy public.leads ({columns}) from stdin") as cp:
            for row in given_rows if given else rows:
                cp.write_row(row)

    # method: (run(given), leads per run, whether it can insert given segments)
    methods: dict[str, tuple[Callable[[bool], None], int, bool]] = {
        "executemany": (executemany, n, True),
        "copy": (copy, n, True),
    }
    client = None
    if rest is not None:
        url, secret = rest
        token = jwt.encode(
            {"role": "service_role", "exp": int(time.time()) + 3600}, secret, algorithm="HS256"
        )
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        bodies = [{"industry_id": str(i), "province": p, "postcode": c} for i, p, c in rows[:rest_n]]

        def postgrest(count: int) -> None:
            for body in bodies[:count]:  # one lead per request, as the platform's lead form sends them
                client.post("/leads", json=body).raise_for_status()

        methods["postgrest"] = (lambda _given: postgrest(len(bodies)), len(bodies), False)

    script = pgbench_script(industries, workdir / "insert_lead.sql")
    pgbench_tps: list[float] = []

    def pgbench(transactions: int) -> None:
        pgbench_tps.append(run_pgbench(db_url, script, transactions))

    methods["pgbench"] = (lambda _given: pgbench(n), n, False)

    # Four modes: the assignment trigger with the foreign-key check its segment_id triggers (what a
    # lead insert costs); the same without that check; the leads with their segment given (no
    # assignment, the trigger's WHEN clause skips them: the floor of any way to fill segment_id);
    # and plain (no segment, no trigger).
    fk_triggers = [
        row[0]
        for row in conn.execute(
            """select t.tgname from pg_trigger t join pg_constraint c on c.oid = t.tgconstraint
                where t.tgrelid = 'public.leads'::regclass and c.contype = 'f'
                  and c.conkey = array[(select a.attnum from pg_attribute a
                                         where a.attrelid = t.tgrelid and a.attname = 'segment_id')]"""
        ).fetchall()
    ]
    # mode: (assignment trigger, foreign-key check, segment given)
    modes = {
        "trigger": (True, True, False),
        "no_fk": (True, False, False),
        "given": (True, True, True),
        "plain": (False, True, False),
    }

    def set_mode(mode: str) -> None:
        assign, fk, _given = modes[mode]
        for name, enabled in [("tg_leads__assign_segment", assign)] + [(name, fk) for name in fk_triggers]:
            conn.execute(f'alter table public.leads {"enable" if enabled else "disable"} trigger "{name}"')

    def rotations(mode_names: list[str]) -> list[list[str]]:
        """Each round in another order: no mode always runs first (table one run larger, caches warmer)."""
        orders = []
        for round_no in range(rounds):
            k = round_no % len(mode_names)
            order = mode_names[k:] + mode_names[:k]
            orders.append(order if round_no % 2 == 0 else order[::-1])
        return orders

    def leads_per_second(method: str, run: Callable[[], None], count: int) -> float:
        """One run's throughput; pgbench's own figure, which leaves out its connection set-up."""
        elapsed = timed(run)
        return pgbench_tps[-1] if method == "pgbench" else count / elapsed

    cpu = BackendCpu(conn)
    rate: dict[str, dict[str, list[float]]] = {m: {mode: [] for mode in modes} for m in methods}
    cpu_us: dict[str, dict[str, list[float]]] = {m: {mode: [] for mode in modes} for m in methods}
    for method, (fn, count, can_give) in methods.items():
        fn(False)  # warm-up: plans cached, segments auto-created, pages in memory
        set_mode("plain")
        fn(False)
        method_modes = [mode for mode in modes if can_give or not modes[mode][2]]
        for order in rotations(method_modes):
            for mode in order:
                set_mode(mode)
                before = cpu.seconds()
                rate[method][mode].append(leads_per_second(method, partial(fn, modes[mode][2]), count))
                after = cpu.seconds()
                # pgbench's server process is not ours.
                if before is not None and after is not None and method not in ("postgrest", "pgbench"):
                    cpu_us[method][mode].append((after - before) / count * 1e6)
        set_mode("trigger")

    assigned, total = conn.execute("select count(segment_id), count(*) from public.leads").fetchone()
    print(
        f"lead inserts, CPU-bound (the throwaway stack: fsync, synchronous_commit, full_page_writes off):"
        f" {n:,} leads per run (PostgREST: {len(bodies) if client else 0:,} requests), {rounds} rounds of"
        f" every mode back to back; ratios are medians (quartiles) of each round's ratio"
        f" ({assigned:,} of {total:,} leads in the table carry a segment)"
    )
    for method, by_mode in rate.items():
        print(ratio_line(method, by_mode))
        detail = f"without the segment_id foreign-key check {paired(by_mode, 'no_fk', 'plain')[0]:.1%}"
        if by_mode["given"]:
            detail += (
                f"; segment given, no assignment {paired(by_mode, 'given', 'plain')[0]:.1%};"
                f" the assignment itself, trigger / given {paired(by_mode, 'trigger', 'given')[0]:.1%}"
            )
        print(f"{'':<15}{detail}")
        cpu = cpu_us[method]
        if cpu["trigger"]:
            print(
                f"{'':<15}server CPU per lead: plain {statistics.median(cpu['plain']):.1f} us, trigger adds"
                f" {median_difference(cpu, 'trigger', 'plain'):.1f} us (plain / trigger"
                f" {paired(cpu, 'plain', 'trigger')[0]:.1%}): storing a segment at all"
                f" {median_difference(cpu, 'given', 'plain'):.1f} us (its foreign-key check"
                f" {median_difference(cpu, 'trigger', 'no_fk'):.1f}), assigning it"
                f" {median_difference(cpu, 'trigger', 'given'):.1f} us"
            )

    # Durable commits, as on Supabase: one lead per transaction, each commit flushed to disk. Only on
    # our own stack (it changes the server's configuration for a while).
    if durable_n <= 0:
        return
    set_durable(conn, True)
    try:
        durable: dict[str, dict[str, list[float]]] = {}
        durable_methods: dict[str, Callable[[], None]] = {"pgbench": lambda: pgbench(durable_n)}
        if client is not None:
            durable_methods["postgrest"] = lambda: postgrest(min(durable_n, len(bodies)))
        for method, fn in durable_methods.items():
            durable[method] = {"trigger": [], "plain": []}
            count = durable_n if method == "pgbench" else min(durable_n, len(bodies))
            for order in rotations(["trigger", "plain"]):
                for mode in order:
                    set_mode(mode)
                    durable[method][mode].append(leads_per_second(method, fn, count))
        set_mode("trigger")
    finally:
        set_durable(conn, False)
    print(
        f"lead inserts, durable commits (PostgreSQL's defaults, as on Supabase): {durable_n:,} leads per run,"
        f" one per transaction, {rounds} rounds back to back"
    )
    for method, by_mode in durable.items():
        print(ratio_line(method, by_mode))


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
        "select (select count(*) from public.lead_segments where is_active), "
        "(select count(*) from lead_flow.partner_segment_matches)"
    ).fetchone()
    one = conn.execute(
        "select id from public.lead_segments where branch = 'vak 0001' and region = 'utrecht'"
    ).fetchone()[0]

    def as_partner(sql: str, *params: object) -> Callable[[], object]:
        def run() -> object:
            with conn.transaction():
                conn.execute("set local role authenticated")
                conn.execute(
                    "select set_config('request.jwt.claims', %s, true)",
                    (json.dumps({"role": "authenticated", "sub": str(partner)}),),
                )
                return conn.execute(sql, params).fetchall()

        return run

    view = [timed(as_partner("select * from public.segment_capacity")) for _ in range(3)]
    definer = [
        timed(lambda: conn.execute("select * from lead_flow.segment_capacities()").fetchall())
        for _ in range(3)
    ]
    single = [timed(as_partner("select * from public.get_segment_capacity(%s)", one)) for _ in range(5)]
    print(
        f"segment capacity, {segments:,} active segments x {n_partners:,} partners "
        f"({pairs:,} partner-segment matches)"
    )
    print(
        f"  segment_capacity view (as a partner)  {min(view) * 1000:8.1f} ms best, "
        f"{statistics.median(view) * 1000:8.1f} ms median  (goal < 1000 ms)"
    )
    print(f"  lead_flow.segment_capacities()        {min(definer) * 1000:8.1f} ms best")
    print(f"  get_segment_capacity(one segment)     {min(single) * 1000:8.1f} ms best")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5_000, help="leads per run")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--rest-leads", type=int, default=500, help="leads per PostgREST run")
    parser.add_argument(
        "--durable-leads", type=int, default=1_000, help="leads per durable-commit run (own stack only)"
    )
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--partners", type=int, default=5_000)
    parser.add_argument(
        "--database-url", help="use this database instead of starting a stack (data is added!)"
    )
    args = parser.parse_args()

    base = None
    stack = None
    workdir = Path(tempfile.mkdtemp(prefix="leadflow-bench-pgbench-"))
    if args.database_url:
        url = args.database_url
    else:
        base = Path(tempfile.mkdtemp(prefix="leadflow-bench-"))
        stack = glue_stack.up(base)
        url = stack.database_url
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            if stack is not None:  # our own stack: keep the hourly pg_cron catch-up out of the timings
                conn.execute("update cron.job set active = false")
            rest = (stack.rest.url, stack.rest.jwt_secret) if stack is not None else None
            durable_n = args.durable_leads if stack is not None else 0
            bench_inserts(conn, args.leads, args.rounds, rest, url, workdir, durable_n, args.rest_leads)
            bench_capacity(conn, args.segments, args.partners)
    finally:
        if stack is not None:
            stack.stop()
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
