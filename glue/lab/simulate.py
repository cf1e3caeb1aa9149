"""`leadflow simulate`: the real nightly loop against a simulated market, per controller, compared.

One run = one database and one fake Google Ads with identical seeded content. Each simulated day D:
capacity steps of D take effect (profiles updated) -> the fake turns every campaign's live budget
into spend, clicks and conversions (glue.lab.market) -> D's leads are inserted -> the worker pulls D's
metrics over gRPC -> run_lead_flow_nightly(D) -> the worker pushes the approved changes over gRPC
(the budgets for D + 1). The same seed gives the same market and the same noise for every controller.

The simulated calendar is fixed (FIRST_DAY), not counted back from today: the market's noise and
weekday factors are keyed by calendar date, so the same seed gives the same figures on whatever date
the command runs (docs/demo.md quotes them).
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from zoneinfo import ZoneInfo

import psycopg

from glue import db
from glue.lab import measures, reference
from glue.lab.fake_google_ads import (
    FakeGoogleAds,
    FakeGoogleAdsServer,
    start_fake_google_ads,
    trust_certificate,
)
from glue.lab.market import MICROS, Market, MarketBuilder, build_market
from glue.lab.seed import Marketplace, apply_step, insert_leads, seed_marketplace
from glue.lab.shapes import build_shapes_market
from glue.worker.ads_client import AdsConfig, build_client
from glue.worker.config import WorkerSettings
from glue.worker.gateway import AdsGateway
from glue.worker.metrics import pull_metrics
from glue.worker.push import push

CONTROLLERS = ("spec", "smart", "estimate")
# The simulated markets (`--market`): the standard power-curve one and the shapes one (glue.lab.shapes).
MARKETS: dict[str, MarketBuilder] = {"standard": build_market, "shapes": build_shapes_market}
WITHIN = 0.15  # +-15% of the 7-day target
MIN_TARGET = 5  # segments with a target of at least 5 leads a day count
WARMUP_DAYS = 14
# The first simulated (controlled) day: a Monday, so the scored weeks run Monday to Sunday, with no
# DST switch in its 60 days of history or the 28 nights, and long past, so every simulated day is a
# finished day for the nightly functions (backfill refuses today and later).
FIRST_DAY = datetime.date(2025, 9, 1)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SimConfig:
    seed: int = 1
    days: int = 28
    history_days: int = 60
    branches: int = 16
    regions: int = 12
    partners: int = 500
    first_day: datetime.date = FIRST_DAY
    market: str = "standard"

    @property
    def last_day(self) -> datetime.date:
        return self.first_day + datetime.timedelta(days=self.days - 1)


def amsterdam_today() -> datetime.date:
    return datetime.datetime.now(ZoneInfo("Europe/Amsterdam")).date()


def calendar_problem(cfg: SimConfig, today: datetime.date) -> str | None:
    """Why cfg cannot run on a machine whose date is `today` (None when it can): every simulated day
    must be over, as the nightly steps only process finished days."""
    if cfg.last_day >= today:
        return (
            f"--days {cfg.days} would simulate up to {cfg.last_day}, which is not over yet (today is "
            f"{today}); the simulated calendar starts on {cfg.first_day}"
        )
    return None


@dataclass(frozen=True)
class SegmentDay:
    code: str
    day: datetime.date
    target: int
    leads: int
    spend: float
    budget: float  # live in the fake during the day
    next_budget: float  # live in the fake after the night's push (the budget for day + 1)
    status: str  # the plan's orchestration status
    reason: str
    expected: float = math.nan  # expected leads: the Poisson mean of the day's draws (glue.lab.measures)


@dataclass
class RunResult:
    controller: str
    first_day: datetime.date
    days: int
    rows: list[SegmentDay]
    steps: list
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kinds: dict[str, str] = field(default_factory=dict)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    # (segment, day) -> expected leads at the least and the most budget allowed (glue.lab.reference)
    bounds: dict[tuple[str, datetime.date], tuple[float, float]] = field(default_factory=dict)

    def by_segment(self) -> dict[str, list[SegmentDay]]:
        out: dict[str, list[SegmentDay]] = defaultdict(list)
        for r in sorted(self.rows, key=lambda r: (r.code, r.day)):
            out[r.code].append(r)
        return out


# -- databases ------------------------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + "/" + name


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """(Re)create database `name` on the server of server_url, optionally as a copy of template."""
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"' + (f' template "{template}"' if template else ""))
    return database_url(server_url, name)


def prepare(
    url: str,
    fake: FakeGoogleAds,
    cfg: SimConfig,
    first_day: datetime.date,
    progress: Progress,
    migrate: bool = True,
) -> Marketplace:
    """Migrate, seed the marketplace and backfill the history's stats and plans."""
    if migrate:
        db.migrate(url)
        db.load_default_reference_data(url)
    with psycopg.connect(url, autocommit=True) as conn:
        mp = seed_marketplace(
            conn,
            fake,
            seed=cfg.seed,
            first_day=first_day,
            sim_days=cfg.days,
            history_days=cfg.history_days,
            branches=cfg.branches,
            regions=cfg.regions,
            partners=cfg.partners,
            on_progress=progress,
            build=MARKETS[cfg.market],
        )
        started = time.monotonic()
        conn.execute(
            "select count(*) from lead_flow.backfill_lead_flow(%s, %s)",
            (first_day - datetime.timedelta(days=cfg.history_days), first_day - datetime.timedelta(days=1)),
        )
        progress(f"history stats and plans backfilled in {time.monotonic() - started:.1f}s")
    return mp


def replicate_campaigns(fake: FakeGoogleAds, mp: Marketplace) -> None:
    """The same campaigns, ids and budgets in a fresh fake (creation order fixes the ids)."""
    for code in sorted(mp.start_budgets):
        customer, campaign_id, budget_rn = mp.campaigns[code]
        micros = round(mp.start_budgets[code] * 100) * 10_000
        campaign_rn, new_budget_rn = fake.add_campaign(customer, f"Leads {code}", budget_micros=micros)
        if int(campaign_rn.rsplit("/", 1)[1]) != campaign_id or new_budget_rn != budget_rn:
            raise RuntimeError(f"replicated campaign for {code} got other ids: {campaign_rn}")


def set_controller(conn: psycopg.Connection, controller: str) -> None:
    conn.execute(
        "update public.lead_flow_settings set value = to_jsonb(%s::text) "
        "where key = 'controller' and segment_id is null",
        (controller,),
    )


# -- one run -------------------------------------------------------------------------------------


class Simulation:
    """One controller's run: the nightly loop over the simulated days."""

    def __init__(
        self,
        url: str,
        server: FakeGoogleAdsServer,
        mp: Marketplace,
        controller: str,
        days: int,
        progress: Progress,
    ) -> None:
        self.url = url
        self.server = server
        self.mp = mp
        self.controller = controller
        self.days = days
        self.progress = progress
        self.market = Market(
            mp.market.segments,
            mp.market.seed,
            dict(mp.market.campaign_segment),
            {k: v for k, v in mp.market.outcomes.items() if k[1] < mp.first_day},
        )
        ads = AdsConfig(
            developer_token="simulated-developer-token",
            access_token="simulated-access-token",
            endpoint=server.endpoint,
        )
        self.settings = WorkerSettings(database_url=url, ads=ads, name=f"simulate-{controller}")
        self.gateway = AdsGateway(build_client(ads), self.settings.retry, self.settings.request_timeout)
        self.live: dict[tuple[str, datetime.date], tuple[float, float]] = {}

    def budgets(self) -> dict[str, float]:
        fake = self.server.state
        return {
            code: fake.budget(rn).amount_micros / MICROS for code, (_, _, rn) in self.mp.campaigns.items()
        }

    def run(self) -> RunResult:
        started = time.monotonic()
        with psycopg.connect(self.url, autocommit=True) as conn:
            set_controller(conn, self.controller)
            for n in range(self.days):
                day = self.mp.first_day + datetime.timedelta(days=n)
                self.one_day(conn, day)
                self.progress(f"{self.controller}: day {n + 1}/{self.days} ({day})")
            rows = self.collect(conn)
            alerts = conn.execute(
                "select k.kind, s.code from lead_flow.controller_alerts(lead_flow.day_start(%s)) k "
                "join public.lead_segments s on s.id = k.segment_id order by s.code",
                (self.mp.first_day + datetime.timedelta(days=self.days),),
            ).fetchall()
        result = RunResult(
            self.controller,
            self.mp.first_day,
            self.days,
            rows,
            list(self.mp.steps),
            kinds={c: s.kind for c, s in self.market.segments.items()},
            alerts=alerts,
            bounds=reference.reach_bounds(self.market.segments, ((r.code, r.day) for r in rows)),
        )
        result.violations = limit_violations(self.live)
        result.seconds = time.monotonic() - started
        return result

    def one_day(self, conn: psycopg.Connection, day: datetime.date) -> None:
        for step in self.mp.steps:
            if step.day == day:
                apply_step(conn, step, self.mp.step_sizes)
        before = self.budgets()
        self.server.state.advance_day(day, self.market)
        outcomes = self.market.day_outcomes(day)
        counts = [
            (seg.branch, seg.region, day, outcomes[code].paid_leads, outcomes[code].organic_leads)
            for code, seg in self.market.segments.items()
        ]
        insert_leads(conn, counts, self.mp.market.seed + day.toordinal(), status_mix=False)
        # Leads of three days ago get the platform's outcome (accepted mostly).
        conn.execute(
            """update public.leads set status = case when random() < 0.8 then 'accepted' else 'rejected' end
                where status = 'new' and created_at >= lead_flow.day_start(%s)
                  and created_at < lead_flow.day_start(%s)""",
            (day - datetime.timedelta(days=3), day - datetime.timedelta(days=2)),
        )
        pull_metrics(conn, self.gateway, day, day)
        # The platform refreshes its router's view daily (open and accepted leads per partner, read by
        # capacity and capacity trust); the nightly steps leave that to the platform.
        conn.execute("select public.refresh_partner_performance_stats()")
        failed = [
            r
            for r in conn.execute(
                "select step, status, error from lead_flow.run_lead_flow_nightly(%s)", (day,)
            ).fetchall()
            if r[1] != "success"
        ]
        if failed:
            raise RuntimeError(f"nightly steps for {day} did not succeed: {failed}")
        push(conn, self.gateway, self.settings)
        after = self.budgets()
        for code in before:
            self.live[(code, day)] = (before[code], after[code])

    def collect(self, conn: psycopg.Connection) -> list[SegmentDay]:
        last = self.mp.first_day + datetime.timedelta(days=self.days - 1)
        rows = conn.execute(
            """select s.code, p.date, p.target_leads_per_day, st.leads_generated, st.google_ads_spend,
                      p.orchestration_status, coalesce(p.orchestration_reason, '')
                 from public.lead_segment_plans p
                 join public.lead_segments s on s.id = p.segment_id
                 join public.lead_generation_stats st on st.segment_id = p.segment_id and st.date = p.date
                where p.date between %s and %s
                order by s.code, p.date""",
            (self.mp.first_day, last),
        ).fetchall()
        out = []
        for code, day, target, leads, spend, status, reason in rows:
            if (code, day) not in self.live:
                continue
            before, after = self.live[(code, day)]
            expected = self.market.outcomes[(code, day)].expected_leads
            out.append(
                SegmentDay(code, day, target, leads, float(spend), before, after, status, reason, expected)
            )
        return out


def limit_violations(live: dict[tuple[str, datetime.date], tuple[float, float]]) -> list[str]:
    """Every budget change applied ((segment, day) -> (day-start, next) budget), checked against its
    day-start budget (+-20%) and min/max."""
    bad = []
    for (code, day), (before, after) in sorted(live.items()):
        if abs(after - before) < 0.005:
            continue
        low, high = before * 0.8 - 0.005, before * 1.2 + 0.005
        if not (low <= after <= high) or after < 5 - 0.005 or after > 1000 + 0.005:
            bad.append(f"{code} {day}: {before:.2f} -> {after:.2f}")
    return bad


def reference_run(mp: Marketplace, targets_from: RunResult) -> RunResult:
    """The perfect-knowledge reference (glue.lab.reference) on mp's market and noise, with the targets
    per segment-day of a controller's run (capacity decides them, not the controller)."""
    started = time.monotonic()
    targets = {(r.code, r.day): r.target for r in targets_from.rows}
    runs = reference.run_reference(
        mp.market, mp.start_budgets, targets, targets_from.first_day, targets_from.days
    )
    rows: list[SegmentDay] = []
    live: dict[tuple[str, datetime.date], tuple[float, float]] = {}
    for code, days in runs.items():
        for day, budget, nxt, out in days:
            if (code, day) not in targets:
                continue
            rows.append(
                SegmentDay(
                    code,
                    day,
                    targets[(code, day)],
                    out.paid_leads + out.organic_leads,
                    out.spend,
                    budget,
                    nxt,
                    "",
                    "",
                    out.expected_leads,
                )
            )
            live[(code, day)] = (budget, nxt)
    result = RunResult(
        reference.NAME,
        targets_from.first_day,
        targets_from.days,
        rows,
        list(targets_from.steps),
        kinds=dict(targets_from.kinds),
        bounds=dict(targets_from.bounds),
    )
    result.violations = limit_violations(live)
    result.seconds = time.monotonic() - started
    return result


# -- scores --------------------------------------------------------------------------------------


@dataclass
class Scores:
    controller: str
    weeks_counted: int
    weeks_within: int
    settle_days: list[float]
    overshoots: list[float]
    reversals_per_segment_week: float
    spend_per_lead: float
    violations: int
    seconds: float
    # The raw counts behind the ratios, so that several seeds pool (pool_scores).
    reversals: int = 0
    segment_weeks: float = 0.0
    spend: float = 0.0
    leads: int = 0

    @property
    def within_pct(self) -> float:
        return 100.0 * self.weeks_within / self.weeks_counted if self.weeks_counted else float("nan")


def score(result: RunResult) -> Scores:
    per = result.by_segment()
    weeks_counted = weeks_within = 0
    for rows in per.values():
        usable = [r for r in rows if (r.day - result.first_day).days >= WARMUP_DAYS]
        for w in range(len(usable) // 7):
            week = usable[w * 7 : (w + 1) * 7]
            target = sum(r.target for r in week)
            if target < 7 * MIN_TARGET:
                continue
            weeks_counted += 1
            weeks_within += abs(sum(r.leads for r in week) - target) <= WITHIN * target
    settle, overshoot = step_response(result)
    reversals = 0
    for rows in per.values():
        signs = [
            1 if r.next_budget > r.budget else -1 for r in rows if abs(r.next_budget - r.budget) >= 0.005
        ]
        reversals += sum(1 for a, b in zip(signs, signs[1:], strict=False) if a != b)
    segment_weeks = len(per) * result.days / 7
    spend = sum(r.spend for r in result.rows)
    leads = sum(r.leads for r in result.rows)
    return Scores(
        result.controller,
        weeks_counted,
        weeks_within,
        settle,
        overshoot,
        reversals / segment_weeks if segment_weeks else 0.0,
        spend / leads if leads else float("nan"),
        len(result.violations),
        result.seconds,
        reversals,
        segment_weeks,
        spend,
        leads,
    )


def pool_scores(scores: Sequence[Scores]) -> Scores:
    """Several runs of one controller (other seeds) as one: counts added up, ratios recomputed."""
    weeks = sum(s.segment_weeks for s in scores)
    spend, leads = sum(s.spend for s in scores), sum(s.leads for s in scores)
    reversals = sum(s.reversals for s in scores)
    return Scores(
        scores[0].controller,
        sum(s.weeks_counted for s in scores),
        sum(s.weeks_within for s in scores),
        [d for s in scores for d in s.settle_days],
        [o for s in scores for o in s.overshoots],
        reversals / weeks if weeks else 0.0,
        spend / leads if leads else float("nan"),
        sum(s.violations for s in scores),
        sum(s.seconds for s in scores),
        reversals,
        weeks,
        spend,
        leads,
    )


def expected_score(result: RunResult) -> measures.ExpectedScores:
    """The expected-flow measures of one run (glue.lab.measures)."""
    return measures.expected_scores(
        result.controller, result.rows, result.first_day, result.steps, result.bounds
    )


def step_response(result: RunResult) -> tuple[list[float], list[float]]:
    """Per capacity step: days until the centred 7-day mean of leads is within +-15% of the new target
    and stays there to the end of the run, and the overshoot beyond the new target (in % of it)."""
    per = result.by_segment()
    settle: list[float] = []
    overshoot: list[float] = []
    for step in result.steps:
        rows = per.get(step.code, [])
        by_day = {r.day: r for r in rows}
        if step.day not in by_day:
            continue
        new_target = by_day[step.day].target
        if new_target < MIN_TARGET:
            continue
        centred: list[tuple[int, float]] = []
        for r in rows:
            offset = (r.day - step.day).days
            window = [by_day.get(r.day + datetime.timedelta(days=k)) for k in range(-3, 4)]
            if offset < 0 or any(w is None for w in window):
                continue
            centred.append((offset, mean(w.leads for w in window)))  # type: ignore[union-attr]
        if not centred:
            continue
        inside = [abs(m - new_target) <= WITHIN * new_target for _, m in centred]
        days = float("inf")
        for i in range(len(centred)):
            if all(inside[i:]):
                days = float(centred[i][0])
                break
        settle.append(days)
        sign = 1 if step.joining else -1
        overshoot.append(max(0.0, max(sign * (m - new_target) / new_target * 100 for _, m in centred)))
    return settle, overshoot


def comparison_table(
    scores: Sequence[Scores], expected: Sequence[measures.ExpectedScores] | None = None
) -> str:
    """The side-by-side table (markdown), one column per controller (and the reference); with
    `expected`, the expected-flow measures first (glue.lab.measures), then the realized ones."""

    def fmt_settle(s: Scores) -> str:
        if not s.settle_days:
            return "n/a"
        finite = [d for d in s.settle_days if d != float("inf")]
        worst = "never" if len(finite) < len(s.settle_days) else f"{max(finite):.0f}"
        median = sorted(s.settle_days)[len(s.settle_days) // 2]
        return f"median {median:.0f}, worst {worst} ({len(s.settle_days)} steps)"

    lines = [
        (
            "segment-weeks within +-15% of target (target >= 5/day, after day 14)",
            [f"{s.within_pct:.1f}% ({s.weeks_within}/{s.weeks_counted})" for s in scores],
        ),
        ("days to settle within +-15% after a capacity step", [fmt_settle(s) for s in scores]),
        (
            "overshoot after a capacity step (max, % of new target)",
            [f"{max(s.overshoots):.1f}%" if s.overshoots else "n/a" for s in scores],
        ),
        (
            "budget direction reversals per segment per week",
            [f"{s.reversals_per_segment_week:.2f}" for s in scores],
        ),
        ("spend per lead (EUR)", [f"{s.spend_per_lead:.2f}" for s in scores]),
        ("safety-limit violations", [str(s.violations) for s in scores]),
    ]
    if expected is not None:
        lines = (
            expected_lines(expected)
            + [("**realized leads (the earlier measures)**", [""] * len(scores))]
            + lines
        )
    # Wall-clock time is not a figure of the run: it is printed apart (run_times), so that the table
    # is the same on every machine and every day for the same seed.
    head = "| measure | " + " | ".join(s.controller for s in scores) + " |"
    rule = "|---|" + "---|" * len(scores)
    return "\n".join([head, rule] + [f"| {name} | " + " | ".join(vals) + " |" for name, vals in lines])


def expected_lines(expected: Sequence[measures.ExpectedScores]) -> list[tuple[str, list[str]]]:
    after = measures.WARMUP_DAYS + 1
    return [
        (f"**expected flow** (days {after}.., reachable segment-weeks)", [""] * len(expected)),
        (
            "segment-weeks with expected 7-day leads within +-10% of target",
            [f"{e.within_pct:.1f}% ({e.weeks_within}/{e.weeks_counted})" for e in expected],
        ),
        (
            "... with realized 7-day leads within +-10% (same weeks)",
            [f"{e.within_realized_pct:.1f}% ({e.weeks_within_realized}/{e.weeks_counted})" for e in expected],
        ),
        ("mean absolute error of expected daily leads vs target", [f"{e.mae_pct:.1f}%" for e in expected]),
        ("... of realized daily leads (same days)", [f"{e.mae_realized_pct:.1f}%" for e in expected]),
        (
            "days after a capacity step until expected leads first reach +-10%",
            [measures.step_summary(e.step_days) for e in expected],
        ),
        (
            "budget direction reversals per segment per week",
            [f"{e.reversals_per_segment_week:.2f}" for e in expected],
        ),
        ("spend per expected lead (EUR)", [f"{e.spend_per_expected_lead:.2f}" for e in expected]),
    ]


def run_times(scores: Sequence[Scores]) -> str:
    return "run time: " + ", ".join(f"{s.controller} {s.seconds:.0f} s" for s in scores)


# -- entry point ---------------------------------------------------------------------------------


def compare_on(
    server_url: str,
    controllers: Sequence[str],
    cfg: SimConfig,
    progress: Progress,
    prefix: str = "simulate",
    keep: bool = True,
    with_reference: bool = True,
) -> list[RunResult]:
    """Seed once into database `<prefix>_seed` of the server of server_url, then run each controller
    on a copy of it (`<prefix>_<controller>`); keep=False drops the databases afterwards. The
    perfect-knowledge reference comes last (with_reference), on the first controller's targets."""
    names = [f"{prefix}_seed"] + [f"{prefix}_{c}" for c in controllers]
    results: list[RunResult] = []
    try:
        seed_url = create_database(server_url, names[0])
        mp = prepare(seed_url, FakeGoogleAds(seed=cfg.seed), cfg, cfg.first_day, progress)
        for controller, name in zip(controllers, names[1:], strict=True):
            url = create_database(server_url, name, template=names[0])
            server = start_fake_google_ads(seed=cfg.seed)
            trust_certificate(server.cert_path)
            try:
                replicate_campaigns(server.state, mp)
                results.append(Simulation(url, server, mp, controller, cfg.days, progress).run())
            finally:
                server.stop()
        if results and with_reference:
            results.append(reference_run(mp, results[0]))
    finally:
        if not keep:
            with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
                for name in names:
                    conn.execute(f'drop database if exists "{name}" with (force)')
    return results


def run_controllers(
    controllers: Sequence[str], cfgs: Sequence[SimConfig], progress: Progress
) -> list[list[RunResult]]:
    """Start a throwaway stack; per configuration (seed) seed once, then run each controller on a
    copy of the seeded database, and the reference. One list of results per configuration."""
    from glue.lab import stack as glue_stack

    st = glue_stack.up(Path(tempfile.mkdtemp(prefix="leadflow-simulate-")))
    try:
        return [
            compare_on(st.database_url, controllers, cfg, progress, prefix=f"simulate_{cfg.seed}", keep=False)
            for cfg in cfgs
        ]
    finally:
        st.remove()


def parse_seeds(text: str) -> list[int] | None:
    """'1,2,3' -> [1, 2, 3]; None when it is not a list of distinct integers."""
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return None
    return seeds if seeds and len(set(seeds)) == len(seeds) else None


def pooled_table(runs: Sequence[Sequence[RunResult]]) -> tuple[str, list[Scores]]:
    """One table of every seed's runs, pooled per controller (column order of the first run)."""
    names = [r.controller for r in runs[0]]
    scores = [pool_scores([score(r) for rs in runs for r in rs if r.controller == n]) for n in names]
    expected = [
        measures.pool([expected_score(r) for rs in runs for r in rs if r.controller == n]) for n in names
    ]
    return comparison_table(scores, expected), scores


def main(args: argparse.Namespace) -> int:
    controllers = [c.strip() for c in str(getattr(args, "controller", "spec,smart")).split(",") if c.strip()]
    unknown = [c for c in controllers if c not in CONTROLLERS]
    if not controllers or unknown:
        print(
            f"--controller takes {', '.join(CONTROLLERS)}, several comma-separated, got {args.controller!r}",
            file=sys.stderr,
        )
        return 2
    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    market = str(getattr(args, "market", "standard"))
    if market not in MARKETS:
        print(f"--market takes {' or '.join(MARKETS)}, got {market!r}", file=sys.stderr)
        return 2
    seeds_text = getattr(args, "seeds", None)
    seeds = parse_seeds(seeds_text) if seeds_text else [args.seed]
    if seeds is None:
        print(f"--seeds takes distinct integers comma-separated, got {seeds_text!r}", file=sys.stderr)
        return 2
    cfgs = [SimConfig(seed=seed, days=args.days, market=market) for seed in seeds]
    # The calendar is fixed; the machine's date only decides whether all of it is in the past.
    problem = calendar_problem(cfgs[0], amsterdam_today())
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from glue.lab.progress import Progress as Bar

    with Bar() as bar:
        runs = run_controllers(controllers, cfgs, bar.note)
    table, scores = pooled_table(runs)
    print(
        f"market {market}, seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}"
        f"{' pooled' if len(seeds) > 1 else ''}, {args.days} days from {cfgs[0].first_day}"
    )
    print(table)
    print(run_times(scores))
    for results in runs:
        for r in results:
            for v in r.violations[:10]:
                print(f"VIOLATION {r.controller}: {v}", file=sys.stderr)
    return 1 if any(s.violations for s in scores) else 0
