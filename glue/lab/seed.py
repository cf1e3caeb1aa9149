"""Seeding a realistic Dutch marketplace: branches, segments, partners, lead history, campaigns.

Python decides *how many* of everything (seeded, reproducible); the database inserts them set-based:
one statement per table from arrays or a staging table, never a statement per row. Leads get real
postcodes from the PC4 reference and no segment, so the assignment trigger sets it as in production.
"""

from __future__ import annotations

import datetime
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psycopg

from glue.lab.fake_google_ads import FakeGoogleAds
from glue.lab.market import (
    BRANCHES,
    MICROS,
    PROVINCES,
    DayOutcome,
    Market,
    MarketBuilder,
    build_market,
    segment_code,
    simulate_day,
    stream,
)

# Spellings a partner or a lead form uses for each province (all fold to the slug in region_aliases).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "groningen": ("Groningen", "groningen", "GR"),
    "friesland": ("Friesland", "Fryslân", "FRL"),
    "drenthe": ("Drenthe", "drenthe", "Drente"),
    "overijssel": ("Overijssel", "overijssel", "OV"),
    "flevoland": ("Flevoland", "flevoland", "Flevo"),
    "gelderland": ("Gelderland", "gelderland", "Gld"),
    "utrecht": ("Utrecht", "Prov. Utrecht", "UT"),
    "noord-holland": ("Noord-Holland", "Noord Holland", "N-Holland", "NH"),
    "zuid-holland": ("Zuid-Holland", "zuid holland", "Z-Holland", "ZH"),
    "zeeland": ("Zeeland", "zeeland", "ZL"),
    "noord-brabant": ("Noord-Brabant", "Brabant", "N-Brabant", "NB"),
    "limburg": ("Limburg", "limburg", "LB"),
}

NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "groningen": ("friesland", "drenthe"),
    "friesland": ("groningen", "drenthe", "flevoland", "overijssel"),
    "drenthe": ("groningen", "friesland", "overijssel"),
    "overijssel": ("drenthe", "friesland", "flevoland", "gelderland"),
    "flevoland": ("noord-holland", "utrecht", "gelderland", "overijssel", "friesland"),
    "gelderland": ("overijssel", "flevoland", "utrecht", "zuid-holland", "noord-brabant", "limburg"),
    "utrecht": ("noord-holland", "zuid-holland", "gelderland", "flevoland"),
    "noord-holland": ("zuid-holland", "utrecht", "flevoland"),
    "zuid-holland": ("noord-holland", "utrecht", "gelderland", "noord-brabant", "zeeland"),
    "zeeland": ("zuid-holland", "noord-brabant"),
    "noord-brabant": ("zeeland", "zuid-holland", "gelderland", "limburg"),
    "limburg": ("noord-brabant", "gelderland"),
}

# Trades that often take each other's leads.
RELATED: dict[str, tuple[str, ...]] = {
    "schilder": ("stukadoor", "klusjesman"),
    "stukadoor": ("schilder", "tegelzetter"),
    "loodgieter": ("installateur",),
    "installateur": ("loodgieter", "elektricien"),
    "elektricien": ("installateur",),
    "timmerman": ("kozijnspecialist", "klusjesman"),
    "tegelzetter": ("vloerenlegger", "stukadoor"),
    "vloerenlegger": ("tegelzetter",),
    "aannemer": ("timmerman", "dakdekker"),
    "dakdekker": ("aannemer",),
    "klusjesman": ("schilder",),
    "kozijnspecialist": ("glaszetter", "timmerman"),
    "glaszetter": ("kozijnspecialist",),
}

CUSTOMERS = ("4250000001", "4250000002", "4250000003")


@dataclass(frozen=True)
class Partner:
    id: uuid.UUID
    company: str
    primary_branch: str
    lead_industries: tuple[str, ...]
    regions: tuple[str, ...]  # as spelled in the profile
    region_slugs: tuple[str, ...]
    max_open_leads: int
    active: bool = True


@dataclass(frozen=True)
class CapacityStep:
    """Partners joining (positive) or leaving (negative) one segment on a simulated day."""

    day: datetime.date
    code: str
    partner_ids: tuple[uuid.UUID, ...]
    joining: bool
    delta: int  # change of the segment's summed max_open_leads


@dataclass
class Marketplace:
    layout: list[tuple[str, str]]
    segment_ids: dict[str, uuid.UUID]
    market: Market
    targets: dict[str, int]
    campaigns: dict[str, tuple[str, int, str]]  # code -> (customer id, campaign id, budget resource name)
    start_budgets: dict[str, float]
    first_day: datetime.date  # first simulated (controlled) day
    steps: list[CapacityStep] = field(default_factory=list)
    step_sizes: dict[uuid.UUID, int] = field(default_factory=dict)  # max_open_leads of step partners


def layout_for(branches: int, regions: int) -> list[tuple[str, str]]:
    """The first `branches` branches x the `regions` most populous provinces."""
    provinces = sorted(PROVINCES, key=PROVINCES.get, reverse=True)[:regions]  # type: ignore[arg-type]
    return [(b.name, r) for b in BRANCHES[:branches] for r in provinces]


def make_partners(layout: Sequence[tuple[str, str]], count: int, seed: int) -> list[Partner]:
    """`count` partners: a home province weighted by population, a primary branch by popularity,
    some related branches and neighbouring provinces, max_open_leads from a skewed distribution."""
    rng = stream(seed, "partners")
    branches = sorted({b for b, _ in layout}, key=[x.name for x in BRANCHES].index)
    regions = sorted({r for _, r in layout})
    popularity = {b.name: b.popularity for b in BRANCHES}
    b_weights = [popularity.get(b, 1.0) ** 0.5 for b in branches]
    r_weights = [PROVINCES.get(r, 1.0) ** 0.45 for r in regions]
    partners = []
    for n in range(count):
        branch = rng.choices(branches, b_weights)[0]
        home = rng.choices(regions, r_weights)[0]
        extra_b = [b for b in RELATED.get(branch, ()) if b in branches and rng.random() < 0.3]
        slugs = [home] + [r for r in NEIGHBOURS.get(home, ()) if r in regions and rng.random() < 0.3]
        spelled = tuple(rng.choice(SPELLINGS[s]) for s in slugs)
        industries = tuple(rng.choice((b, b.capitalize(), f" {b} ")) for b in [branch, *extra_b])
        size = min(25, max(1, round(math.exp(rng.gauss(math.log(3.4), 0.45)))))
        partners.append(
            Partner(
                uuid.UUID(int=rng.getrandbits(128), version=4),
                f"{branch.capitalize()}bedrijf {n + 1:03d}",
                branch.capitalize(),
                industries,
                spelled,
                tuple(slugs),
                size,
            )
        )
    return partners


def capacity_by_segment(partners: Iterable[Partner]) -> dict[str, int]:
    """Summed max_open_leads per segment code of the active partners (how lead_flow matches them)."""
    cap: dict[str, int] = defaultdict(int)
    for p in partners:
        if not p.active:
            continue
        branches = {p.primary_branch.lower(), *(b.strip().lower() for b in p.lead_industries)}
        for b in branches:
            for r in p.region_slugs:
                cap[segment_code(b, r)] += p.max_open_leads
    return cap


def plan_steps(
    layout: Sequence[tuple[str, str]],
    capacity: dict[str, int],
    first_day: datetime.date,
    days: int,
    seed: int,
) -> tuple[list[CapacityStep], list[Partner]]:
    """About one segment in eight gets a capacity step (partners join or leave) a third or two thirds
    into the run. Joining partners are seeded inactive; leaving ones active. Single-segment partners."""
    rng = stream(seed, "steps")
    steps: list[CapacityStep] = []
    extra: list[Partner] = []
    codes = [segment_code(b, r) for b, r in layout]
    step_days = [
        first_day + datetime.timedelta(days=max(1, days // 3)),
        first_day + datetime.timedelta(days=max(2, (2 * days) // 3)),
    ]
    chosen = [c for c in codes if capacity.get(c, 0) >= 10 and rng.random() < 0.125]
    by_code = dict(zip(codes, layout, strict=True))
    for i, code in enumerate(chosen):
        branch, region = by_code[code]
        joining = i % 2 == 0
        delta = max(3, round(capacity[code] * rng.uniform(0.35, 0.6) / (1 if joining else 1.4)))
        members = []
        left = delta
        while left > 0:
            size = min(left, rng.randint(3, 8))
            left -= size
            members.append(
                Partner(
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    f"{branch.capitalize()} {'nieuw' if joining else 'vertrekt'} {len(extra) + 1}",
                    branch.capitalize(),
                    (branch,),
                    (rng.choice(SPELLINGS[region]),),
                    (region,),
                    size,
                    active=not joining,
                )
            )
            extra.append(members[-1])
        steps.append(CapacityStep(step_days[i % 2], code, tuple(m.id for m in members), joining, delta))
    return steps, extra


def insert_reference(conn: psycopg.Connection, layout: Sequence[tuple[str, str]]) -> dict[str, uuid.UUID]:
    """Industries (display names) and one segment per branch x region; returns segment ids by code."""
    branches = sorted({b for b, _ in layout})
    conn.execute(
        "insert into public.industries (name) select initcap(b) from unnest(%s::text[]) b "
        "on conflict (name) do nothing",
        (branches,),
    )
    conn.execute(
        """insert into public.lead_segments (branch, region, description)
           select l.branch, l.region, 'demo: ' || l.branch || ' in ' || r.name
             from unnest(%s::text[], %s::text[]) as l(branch, region)
             join public.regions r on r.slug = l.region
           on conflict (code) do nothing""",
        ([b for b, _ in layout], [r for _, r in layout]),
    )
    rows = conn.execute("select code, id from public.lead_segments").fetchall()
    return {code: sid for code, sid in rows}


def insert_partners(conn: psycopg.Connection, partners: Sequence[Partner]) -> None:
    """auth.users + profiles for every partner, in two statements."""
    ids = [p.id for p in partners]
    conn.execute(
        """insert into auth.users (id, email)
           select id, 'partner' || row_number() over () || '@demo.example.nl' from unnest(%s::uuid[]) id""",
        (ids,),
    )
    # Arrays of arrays must be rectangular: pass them as text and split.
    conn.execute(
        """insert into public.profiles (id, email, company_name, primary_branch, regions, lead_industries,
                                        lead_locations, max_open_leads, is_active_for_routing)
           select p.id, u.email, p.company, p.branch, string_to_array(p.regions, '|'),
                  string_to_array(p.industries, '|'), string_to_array(p.regions, '|'), p.size, p.active
             from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::bool[])
                  as p(id, company, branch, regions, industries, size, active)
             join auth.users u on u.id = p.id""",
        (
            ids,
            [p.company for p in partners],
            [p.primary_branch for p in partners],
            ["|".join(p.regions) for p in partners],
            ["|".join(p.lead_industries) for p in partners],
            [p.max_open_leads if p.active else 0 for p in partners],
            [p.active for p in partners],
        ),
    )


def apply_step(conn: psycopg.Connection, step: CapacityStep, sizes: dict[uuid.UUID, int]) -> None:
    """Partners join (profile gets its capacity and routing on) or leave (capacity 0, routing off)."""
    conn.execute(
        """update public.profiles p
              set max_open_leads = case when %(join)s then s.size else 0 end,
                  is_active_for_routing = %(join)s, updated_at = now()
             from unnest(%(ids)s::uuid[], %(sizes)s::int[]) as s(id, size)
            where p.id = s.id""",
        {"join": step.joining, "ids": list(step.partner_ids), "sizes": [sizes[i] for i in step.partner_ids]},
    )


def insert_leads(
    conn: psycopg.Connection,
    counts: Sequence[tuple[str, str, datetime.date, int, int]],
    seed: int,
    status_mix: bool,
    via_trigger: bool = False,
) -> int:
    """Leads for (branch, region, day, paid, organic) rows in one statement: a random PC4 of the region
    from the reference plus two letters, a province name now and then, a time inside the Amsterdam day
    (daytime), Google Ads or organic as source. Returns the number inserted.

    via_trigger leaves segment_id NULL so tg_leads__assign_segment derives it from province/postcode
    as in production; otherwise the insert sets it by the same rule (the region is the one the postcode
    was drawn from), because the per-row trigger costs about a millisecond a lead.
    """
    conn.execute("""create temp table if not exists seed_map as
                    select s.branch, s.region, s.id as segment_id, i.id as industry_id, r.name,
                           pc.pcs, cardinality(pc.pcs) as n
                      from public.lead_segments s
                      join public.industries i on lower(i.name) = s.branch
                      join public.regions r on r.slug = s.region
                      join (select pr.region, array_agg(pc order by pc) as pcs
                              from lead_flow.postcode_regions pr,
                                   generate_series(lower(pr.pc4), upper(pr.pc4) - 1) pc
                             group by pr.region) pc on pc.region = s.region
                     where s.is_active""")
    conn.execute(
        "create temp table if not exists seed_counts "
        "(branch text, region text, day date, paid int, organic int)"
    )
    conn.execute("truncate seed_counts")
    with conn.cursor().copy("copy seed_counts from stdin") as copy:
        for row in counts:
            copy.write_row(row)
    conn.execute("select setseed(%s)", ((seed % 1000) / 1000.0,))
    done = conn.execute(
        """insert into public.leads
             (industry_id, province, postcode, status, created_at, source_channel, segment_id)
           select m.industry_id,
                  case when random() < 0.12 then m.name end,
                  m.pcs[1 + floor(random() * m.n)::int]::text || ' '
                    || chr(65 + (random() * 25)::int) || chr(65 + (random() * 25)::int),
                  case when not %(mix)s then 'new'
                       else (array['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'accepted',
                                   'rejected', 'rejected', 'pending', 'new'])[1 + (random() * 9)::int] end,
                  lead_flow.day_start(c.day) + interval '6 hours' + random() * interval '17 hours',
                  g.channel,
                  case when not %(trigger)s then m.segment_id end
             from seed_counts c
             join seed_map m on m.branch = c.branch and m.region = c.region
            cross join lateral (select 'google_ads' as channel from generate_series(1, c.paid)
                                union all
                                select 'organic' from generate_series(1, c.organic)) g""",
        {"mix": status_mix, "trigger": via_trigger},
    )
    return done.rowcount


def insert_campaigns(
    conn: psycopg.Connection,
    fake: FakeGoogleAds,
    market: Market,
    segment_ids: dict[str, uuid.UUID],
    budgets: dict[str, float],
) -> dict[str, tuple[str, int, str]]:
    """A campaign with its own budget per segment in the fake, and the lead_segment_campaigns rows."""
    campaigns: dict[str, tuple[str, int, str]] = {}
    for n, code in enumerate(sorted(budgets)):
        customer = CUSTOMERS[n % len(CUSTOMERS)]
        micros = round(budgets[code] * 100) * 10_000
        campaign_rn, budget_rn = fake.add_campaign(customer, f"Leads {code}", budget_micros=micros)
        campaign_id = int(campaign_rn.rsplit("/", 1)[1])
        campaigns[code] = (customer, campaign_id, budget_rn)
        market.campaign_segment[campaign_id] = code
    codes = sorted(campaigns)
    conn.execute(
        """insert into public.lead_segment_campaigns
             (segment_id, customer_id, campaign_id, budget_resource_name, daily_budget)
           select s, c, k, b, d
             from unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::numeric[])
                  as x(s, c, k, b, d)""",
        (
            [segment_ids[c] for c in codes],
            [campaigns[c][0] for c in codes],
            [str(campaigns[c][1]) for c in codes],
            [campaigns[c][2] for c in codes],
            [budgets[c] for c in codes],
        ),
    )
    return campaigns


def history_budget(start: float, code: str, days_before: int, seed: int) -> float:
    """The budget a segment ran at `days_before` days before the controlled run: a weekly random walk
    (+-15%) ending at the start budget, constant over the last week."""
    weeks = max(0, (days_before - 1) // 7)
    factor = 1.0
    for w in range(weeks):
        factor *= stream(seed, "history", code, w).uniform(0.85, 1.15)
    return round(min(1000.0, max(5.0, start * factor)), 2)


def seed_marketplace(
    conn: psycopg.Connection,
    fake: FakeGoogleAds,
    *,
    seed: int,
    first_day: datetime.date,
    sim_days: int,
    history_days: int = 60,
    branches: int = 16,
    regions: int = 12,
    partners: int = 500,
    on_progress: callable | None = None,  # type: ignore[valid-type]
    build: MarketBuilder = build_market,
) -> Marketplace:
    """Seed everything for a run whose first controlled day is first_day (history before it).

    The connection must be in autocommit mode or the caller commits. Leads, metrics and stats of the
    history days are written; metrics go to campaign_daily_metrics through record_campaign_metrics
    semantics (the fake holds the same numbers, so the worker can pull them again).
    """

    def note(text: str) -> None:
        if on_progress:
            on_progress(text)

    layout = layout_for(branches, regions)
    note(f"{len(layout)} segments: {branches} branches x {regions} provinces")
    segment_ids = insert_reference(conn, layout)
    people = make_partners(layout, partners, seed)
    base_capacity = capacity_by_segment(people)
    steps, step_partners = plan_steps(layout, base_capacity, first_day, sim_days, seed)
    insert_partners(conn, people + step_partners)
    note(f"{len(people) + len(step_partners)} partners, {len(steps)} capacity steps planned")

    targets = dict(
        conn.execute(
            """select s.code, g.target_leads_per_day from lead_flow.lead_gaps(%s) g
             join public.lead_segments s on s.id = g.segment_id""",
            (first_day - datetime.timedelta(days=1),),
        ).fetchall()
    )
    # Calibrate step segments on the larger of their targets before and after the step.
    calibration = {c: float(t) for c, t in targets.items()}
    for st in steps:
        after = targets.get(st.code, 0) + math.floor(0.8 * st.delta) * (1 if st.joining else -1)
        calibration[st.code] = max(calibration.get(st.code, 0.0), float(after))
    # `build`: the market model (glue.lab.market, or the shapes market of `leadflow simulate --market`).
    market, start_budgets = build(
        calibration, layout, seed, normal={s.code for s in steps}, first_day=first_day
    )
    campaigns = insert_campaigns(conn, fake, market, segment_ids, start_budgets)

    counts: list[tuple[str, str, datetime.date, int, int]] = []
    metrics: list[tuple[str, str, datetime.date, int, int, int, float]] = []
    for back in range(history_days, 0, -1):
        day = first_day - datetime.timedelta(days=back)
        for branch, region in layout:
            code = segment_code(branch, region)
            out: DayOutcome = simulate_day(
                market.segments[code], history_budget(start_budgets[code], code, back, seed), day, seed
            )
            market.outcomes[(code, day)] = out
            counts.append((branch, region, day, out.paid_leads, out.organic_leads))
            customer, campaign_id, _ = campaigns[code]
            cost_micros = round(out.spend * 100) * 10_000
            fake.set_daily_metrics(
                customer, campaign_id, day, cost_micros, out.clicks, out.impressions, float(out.paid_leads)
            )
            metrics.append(
                (
                    customer,
                    str(campaign_id),
                    day,
                    cost_micros,
                    out.clicks,
                    out.impressions,
                    float(out.paid_leads),
                )
            )
    inserted = insert_leads(conn, counts, seed, status_mix=True)
    note(f"{inserted} leads over {history_days} days of history")
    record_metrics(conn, metrics)
    return Marketplace(
        layout,
        segment_ids,
        market,
        targets,
        campaigns,
        start_budgets,
        first_day,
        steps,
        {p.id: p.max_open_leads for p in step_partners},
    )


def record_metrics(
    conn: psycopg.Connection, rows: Sequence[tuple[str, str, datetime.date, int, int, int, float]]
) -> None:
    """Many (customer, campaign, day, cost_micros, clicks, impressions, conversions) rows through
    record_campaign_metrics, in one statement."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    conn.execute(
        """select lead_flow.record_campaign_metrics(c, k, d, m, cl, i, cv)
             from unnest(%s::text[], %s::text[], %s::date[], %s::bigint[], %s::bigint[], %s::bigint[],
                         %s::numeric[]) as x(c, k, d, m, cl, i, cv)""",
        [list(c) for c in cols],
    )


__all__ = ["MICROS", "Marketplace", "seed_marketplace", "apply_step", "insert_leads", "record_metrics"]
