"""Benchmark: lead inserts with the segment-assignment trigger vs without, and segment capacity.

Starts its own throwaway stack (PC4 ranges loaded when ../shared/data has them), and measures side by
side in one run:
1. lead insert throughput with `tg_leads__assign_segment` enabled and disabled, the same rows each way,
   rounds interleaved so both see the same table growth: psycopg executemany (one lead per
   transaction), COPY (one transaction), one lead per PostgREST request (as the platform's forms
   send them), and pgbench (`-M prepared`, one lead per transaction with a random industry, province
   spelling and postcode). Besides wall-clock throughput it prints the server process's CPU time per
   lead, which a machine busy with other work does not distort. Two more modes show where the cost
   lies: the trigger without the segment_id foreign-key check, and the floor of any assignment
   trigger (one that assigns a constant segment, called the same way, foreign key checked);
2. `segment_capacity` (the PostgREST view, read as a partner under RLS), `lead_flow.segment_capacities()`
   and `get_segment_capacity(id)` for 10,000 segments x 5,000 partners.

Goals: trigger inserts >= 70 % of plain throughput; the capacity view in under 1 s.
Usage: .venv/bin/python bench/bench_segments.py [--leads 20000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
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
    """CPU seconds the connection's server process has used (Linux /proc), so a busy machine's
    waiting time does not count; None where /proc cannot be read."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.stat = Path(f"/proc/{conn.info.backend_pid}/stat")

    def seconds(self) -> float | None:
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def bench_inserts(
    conn: psycopg.Connection, n: int, rounds: int, rest: tuple[str, str] | None, db_url: str, workdir: Path
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

    def executemany() -> None:
        with conn.cursor() as cur:
            cur.executemany(insert, rows)

    def copy() -> None:
        with (
            conn.cursor() as cur,
            cur.copy("copy public.leads (industry_id, province, postcode) from stdin") as cp,
        ):
            for row in rows:
                cp.write_row(row)

    methods: dict[str, tuple[Callable[[], None], int]] = {"executemany": (executemany, n), "copy": (copy, n)}
    if rest is not None:
        url, secret = rest
        token = jwt.encode(
            {"role": "service_role", "exp": int(time.time()) + 3600}, secret, algorithm="HS256"
        )
        client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        bodies = [{"industry_id": str(i), "province": p, "postcode": c} for i, p, c in rows[: min(n, 2000)]]

        def postgrest() -> None:
            for body in bodies:  # one lead per request, as the platform's lead form sends them
                client.post("/leads", json=body).raise_for_status()

        methods["postgrest"] = (postgrest, len(bodies))

    script = pgbench_script(industries, workdir / "insert_lead.sql")
    pgbench_tps: list[float] = []

    def pgbench() -> None:
        pgbench_tps.append(run_pgbench(db_url, script, n))

    methods["pgbench"] = (pgbench, n)

    # Four modes: the assignment trigger with the foreign-key check its segment_id triggers (what a
    # lead insert costs); the same without that check; the floor of any assignment trigger (called
    # the same way -- security definer, fixed search_path, as the Supabase linter demands -- but only
    # assigning one constant segment, so the foreign key is checked as well); and plain.
    fk_triggers = [
        row[0]
        for row in conn.execute(
            """select t.tgname from pg_trigger t join pg_constraint c on c.oid = t.tgconstraint
                where t.tgrelid = 'public.leads'::regclass and c.contype = 'f'
                  and c.conkey = array[(select a.attnum from pg_attribute a
                                         where a.attrelid = t.tgrelid and a.attname = 'segment_id')]"""
        ).fetchall()
    ]
    some_segment = conn.execute("select id from public.lead_segments where is_active limit 1").fetchone()[0]
    conn.execute(
        f"""create function public.bench_constant_segment() returns trigger
              language plpgsql security definer set search_path = ''
              as $$ begin new.segment_id := '{some_segment}'; return new; end $$"""
    )
    conn.execute(
        """create trigger bench_constant_segment before insert on public.leads
             for each row when (new.segment_id is null) execute function public.bench_constant_segment()"""
    )
    # Off until its mode: the warm-up runs must go through the real trigger (creating segments on the fly).
    conn.execute("alter table public.leads disable trigger bench_constant_segment")
    # mode: (assignment trigger, foreign-key check, constant-segment trigger)
    modes = {
        "trigger": (True, True, False),
        "no_fk": (True, False, False),
        "floor": (False, True, True),
        "plain": (False, True, False),
    }

    def set_mode(mode: str) -> None:
        assign, fk, constant = modes[mode]
        switches = [("tg_leads__assign_segment", assign), ("bench_constant_segment", constant)]
        for name, enabled in switches + [(name, fk) for name in fk_triggers]:
            conn.execute(f'alter table public.leads {"enable" if enabled else "disable"} trigger "{name}"')

    cpu = BackendCpu(conn)
    rate: dict[str, dict[str, list[float]]] = {m: {mode: [] for mode in modes} for m in methods}
    cpu_us: dict[str, dict[str, list[float]]] = {m: {mode: [] for mode in modes} for m in methods}
    for method, (fn, count) in methods.items():
        fn()  # warm-up: plans cached, segments auto-created, pages in memory
        set_mode("plain")
        fn()
        for round_no in range(rounds):
            # Each round in another order: no mode always runs first (table one run larger, caches warmer).
            order = list(modes)[round_no % len(modes) :] + list(modes)[: round_no % len(modes)]
            for mode in order if round_no % 2 == 0 else order[::-1]:
                set_mode(mode)
                before = cpu.seconds()
                elapsed = timed(fn)
                after = cpu.seconds()
                # pgbench's own figure leaves out its connection set-up; its server process is not ours.
                rate[method][mode].append(pgbench_tps[-1] if method == "pgbench" else count / elapsed)
                if before is not None and after is not None and method not in ("postgrest", "pgbench"):
                    cpu_us[method][mode].append((after - before) / count * 1e6)
        set_mode("trigger")
    conn.execute("drop trigger bench_constant_segment on public.leads")
    conn.execute("drop function public.bench_constant_segment()")

    assigned, total = conn.execute("select count(segment_id), count(*) from public.leads").fetchone()
    print(
        f"lead inserts ({n:,} leads per run, pgbench: {n:,} transactions; PostgREST:"
        f" {min(n, 2000):,} requests), {rounds} interleaved rounds each, medians"
        f" ({assigned:,} of {total:,} leads in the table carry a segment)"
    )
    for method, by_mode in rate.items():
        trig, no_fk, floor, plain = (statistics.median(by_mode[mode]) for mode in modes)
        line = (
            f"  {method:<11}  with trigger {trig:>9,.0f} leads/s   trigger disabled {plain:>9,.0f} leads/s"
            f"   ratio {trig / plain:6.1%}  (goal >= 70%)"
        )
        if cpu_us[method]["trigger"]:
            t_cpu, n_cpu, _, p_cpu = (statistics.median(cpu_us[method][mode]) for mode in modes)
            line += (
                f"   server CPU/lead {t_cpu:5.1f} vs {p_cpu:5.1f} us (ratio {p_cpu / t_cpu:6.1%});"
                f" of the {t_cpu - p_cpu:.1f} us added, the foreign-key check {t_cpu - n_cpu:.1f} us"
            )
        print(line)
        print(
            f"{'':<15}(without the segment_id foreign-key check {no_fk:,.0f} leads/s, {no_fk / plain:.1%};"
            f" floor: a trigger assigning a constant segment {floor:,.0f} leads/s, {floor / plain:.1%})"
        )


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
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
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
            bench_inserts(conn, args.leads, args.rounds, rest, url, workdir)
            bench_capacity(conn, args.segments, args.partners)
    finally:
        if stack is not None:
            stack.stop()
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
