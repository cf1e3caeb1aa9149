"""A simulated Dutch home-services market: how each segment's leads respond to its ad spend.

Per segment (branch x province) and simulated day:
- paid leads ~ Poisson(weekday x k x spend^beta): diminishing returns, so every extra euro buys fewer
  leads (marginal cost per lead = average / beta, rising with spend);
- spend = min(budget x pacing, search demand x weekday): a campaign whose search demand is small
  cannot spend its whole budget, and more budget buys nothing there;
- organic leads ~ Poisson(weekday x organic): SEO and direct traffic, independent of spend;
- weekday seasonality (people look for a painter on Monday more than on Saturday).

Every draw comes from a random stream keyed by (seed, segment, day, what), so two runs with the same
seed see the same market and the same noise whatever the controller does.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple

from glue.lab.fake_google_ads import CampaignInfo, DailyMetrics

MICROS = 1_000_000
CENT_MICROS = 10_000

# Monday .. Sunday; mean 1.0.
WEEKDAY_FACTORS: tuple[float, ...] = (1.16, 1.10, 1.05, 1.00, 0.92, 0.78, 0.99)

# Province populations (millions, CBS 2024, rounded): drive demand and partner density.
PROVINCES: dict[str, float] = {
    "zuid-holland": 3.86,
    "noord-holland": 2.98,
    "noord-brabant": 2.65,
    "gelderland": 2.17,
    "utrecht": 1.39,
    "overijssel": 1.18,
    "limburg": 1.12,
    "friesland": 0.66,
    "groningen": 0.59,
    "drenthe": 0.50,
    "flevoland": 0.45,
    "zeeland": 0.39,
}


@dataclass(frozen=True)
class Branch:
    """A trade: how much it is searched for (relative) and what a paid lead costs at a 200 EUR day."""

    name: str
    popularity: float
    cpl: float
    cpc: float


BRANCHES: tuple[Branch, ...] = (
    Branch("schilder", 1.30, 24.0, 1.30),
    Branch("dakdekker", 1.00, 34.0, 2.40),
    Branch("loodgieter", 1.35, 22.0, 1.90),
    Branch("elektricien", 1.10, 26.0, 1.70),
    Branch("hovenier", 1.05, 21.0, 1.10),
    Branch("stukadoor", 0.85, 23.0, 1.20),
    Branch("timmerman", 0.90, 25.0, 1.30),
    Branch("tegelzetter", 0.80, 24.0, 1.20),
    Branch("installateur", 1.15, 38.0, 2.60),
    Branch("glaszetter", 0.60, 27.0, 1.50),
    Branch("klusjesman", 1.20, 16.0, 0.80),
    Branch("schoonmaker", 0.95, 14.0, 0.70),
    Branch("verhuizer", 0.75, 29.0, 1.60),
    Branch("aannemer", 0.90, 45.0, 2.90),
    Branch("vloerenlegger", 0.70, 23.0, 1.20),
    Branch("kozijnspecialist", 0.55, 40.0, 2.30),
)


@dataclass(frozen=True)
class SegmentMarket:
    """The demand side of one segment. Expected leads per day at spend s: w x (organic + k x s^beta)."""

    code: str
    branch: str
    region: str
    organic: float  # expected organic leads per (average) day
    k: float  # paid-lead scale
    beta: float  # diminishing-returns exponent, 0 < beta < 1
    demand_cap: float  # EUR per (average) day the search demand lets the campaign spend
    cpc: float  # EUR per click
    kind: str = "normal"  # normal | demand_limited | capacity_bound | budget_bound (for the report)

    # How many earlier days' spends a day's paid leads depend on (the shapes market has lagged ones).
    lag_days: ClassVar[int] = 0

    def expected_paid(self, spend: float, weekday: int = 3) -> float:
        return WEEKDAY_FACTORS[weekday] * self.k * max(spend, 0.0) ** self.beta

    def paid_mean(self, spend: float, day: datetime.date, past: Sequence[float] = ()) -> float:
        """Expected paid leads on `day` at `spend`: the Poisson mean of the day's draw. `past` holds the
        spends of the days before (newest first) for shapes that lag; shorter than lag_days means
        "as today" (a steady state). Other shapes (glue.lab.shapes) override this."""
        return self.expected_paid(spend, day.weekday())

    def expected_leads(self, spend: float, weekday: int = 3) -> float:
        return WEEKDAY_FACTORS[weekday] * self.organic + self.expected_paid(spend, weekday)

    def spend_for(self, leads_per_day: float) -> float:
        """Average-day spend that makes leads_per_day expected (inf when demand cannot deliver)."""
        paid = leads_per_day - self.organic
        if paid <= 0:
            return 0.0
        spend = (paid / self.k) ** (1.0 / self.beta)
        return spend if spend <= self.demand_cap else math.inf

    def max_leads(self) -> float:
        return self.organic + self.k * self.demand_cap**self.beta


@dataclass(frozen=True)
class DayOutcome:
    """What one segment got on one day."""

    spend: float
    clicks: int
    impressions: int
    paid_leads: int
    organic_leads: int
    # The Poisson means the two draws were made from (what a controller's budget bought, without noise).
    expected_paid: float = 0.0
    expected_organic: float = 0.0

    @property
    def expected_leads(self) -> float:
        return self.expected_paid + self.expected_organic


def stream(seed: int, *key: object) -> random.Random:
    """A random stream that depends only on the seed and the key (not on call order)."""
    digest = hashlib.sha256(repr((seed, *key)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: inversion for small means, a rounded normal beyond 60 (error well under 1%)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


PACING = (0.94, 1.0)  # the share of its budget a campaign spends (Google rarely spends exactly it)
DEMAND_NOISE = (0.9, 1.1)  # the day's search demand around the segment's cap x weekday


def simulate_day(
    seg: SegmentMarket, budget: float, day: datetime.date, seed: int, past: Sequence[float] = ()
) -> DayOutcome:
    """One segment's day at a daily budget (EUR): spend, clicks, impressions, paid and organic leads,
    and the expected (Poisson mean) paid and organic leads. `past`: earlier spends, newest first
    (only lagged shapes read them). The draws keep their order, so adding the expected values
    changed no figure of the standard market."""
    rng = stream(seed, seg.code, day.toordinal())
    w = WEEKDAY_FACTORS[day.weekday()]
    pacing = rng.uniform(*PACING)
    demand = seg.demand_cap * w * rng.uniform(*DEMAND_NOISE)
    spend = round(min(budget * pacing, demand), 2)
    paid_mean = seg.paid_mean(spend, day, past)
    paid = poisson(rng, paid_mean)  # a mean of 0 draws nothing from the stream
    organic_mean = w * seg.organic
    organic = poisson(rng, organic_mean)
    cpc = seg.cpc * rng.uniform(0.9, 1.1)
    clicks = max(paid, int(spend / cpc))
    impressions = int(clicks / rng.uniform(0.04, 0.07))
    return DayOutcome(spend, clicks, impressions, paid, organic, paid_mean, organic_mean)


@dataclass
class Market:
    """All segments' markets plus the record of what happened, usable as the fake's metrics model."""

    segments: dict[str, SegmentMarket]
    seed: int
    # campaign id -> segment code, filled when campaigns are created in the fake
    campaign_segment: dict[int, str] = field(default_factory=dict)
    # (segment code, day) -> outcome, filled by advance_day through __call__
    outcomes: dict[tuple[str, datetime.date], DayOutcome] = field(default_factory=dict)

    def __call__(self, info: CampaignInfo, day: datetime.date) -> DailyMetrics:
        """The fake Google Ads' metrics model: a campaign's day at its live budget."""
        code = self.campaign_segment.get(info.campaign.campaign_id)
        if code is None:
            return DailyMetrics()
        budget = info.budget_micros / max(info.budget_reference_count, 1) / MICROS
        seg = self.segments[code]
        out = simulate_day(seg, budget, day, self.seed, self.past_spends(code, day, seg.lag_days))
        self.outcomes[(code, day)] = out
        return DailyMetrics(
            cost_micros=round(out.spend * 100) * CENT_MICROS,
            clicks=out.clicks,
            impressions=out.impressions,
            conversions=float(out.paid_leads),
        )

    def past_spends(self, code: str, day: datetime.date, days: int) -> tuple[float, ...]:
        """The recorded spends of up to `days` days before `day`, newest first (stops at a gap)."""
        spends: list[float] = []
        for back in range(1, days + 1):
            out = self.outcomes.get((code, day - datetime.timedelta(days=back)))
            if out is None:
                break
            spends.append(out.spend)
        return tuple(spends)

    def day_outcomes(self, day: datetime.date) -> dict[str, DayOutcome]:
        """Every segment's outcome for a day; segments without a live campaign get organic leads only."""
        result: dict[str, DayOutcome] = {}
        for code, seg in self.segments.items():
            out = self.outcomes.get((code, day))
            if out is None:
                out = simulate_day(seg, 0.0, day, self.seed, self.past_spends(code, day, seg.lag_days))
                self.outcomes[(code, day)] = out
            result[code] = out
        return result


def segment_code(branch: str, region: str) -> str:
    """The code lead_segments generates for branch x region."""
    return f"{branch}_{region}".replace("-", "_")


class SegmentDraw(NamedTuple):
    """One segment of a layout as a market calibrates it: its code, its branch (an unknown one gets
    default figures), its lead target (at least 1) and its own random stream."""

    code: str
    branch: Branch
    region: str
    target: float
    rng: random.Random


# How a market calibrates one segment: (the segment, always reachable?, the first simulated day) ->
# (its market, the daily spend its target needs, from which its start budget is drawn).
Calibration = Callable[[SegmentDraw, bool, datetime.date | None], tuple[SegmentMarket, float]]


@dataclass(frozen=True)
class MarketBuilder:
    """A market: how it calibrates each segment against its lead target, with a random stream per
    segment keyed by (seed, name, code), so every market draws its own numbers and a segment's do
    not depend on the others'. Called as (targets, layout, seed, normal=..., first_day=...), it
    returns the market and a starting daily budget per segment code, 0.55-1.6x the needed spend
    within 10..900 EUR: off on purpose, so a controller has work to do. Segments in `normal` are
    always reachable."""

    name: str
    calibrate: Calibration

    def __call__(
        self,
        targets: Mapping[str, float],
        layout: Sequence[tuple[str, str]],
        seed: int,
        normal: Iterable[str] = (),
        first_day: datetime.date | None = None,
    ) -> tuple[Market, dict[str, float]]:
        reachable = set(normal)
        branches = {b.name: b for b in BRANCHES}
        segments: dict[str, SegmentMarket] = {}
        start_budgets: dict[str, float] = {}
        for branch_name, region in layout:
            code = segment_code(branch_name, region)
            rng = stream(seed, self.name, code)
            draw = SegmentDraw(
                code,
                branches.get(branch_name, Branch(branch_name, 1.0, 25.0, 1.5)),
                region,
                max(float(targets.get(code, 0.0)), 1.0),
                rng,
            )
            segments[code], needed = self.calibrate(draw, code in reachable, first_day)
            start_budgets[code] = round(min(900.0, max(10.0, needed * rng.uniform(0.55, 1.6))), 2)
        return Market(segments, seed), start_budgets


def _calibrate_standard(
    segment: SegmentDraw, reachable: bool, first_day: datetime.date | None
) -> tuple[SegmentMarket, float]:
    """The standard market: the power curve k x spend^beta. Most segments reach their target with a
    daily spend between about 60 and 750 EUR; a few are demand-limited (search demand caps spend
    below what the target needs), capacity-bound (organic leads alone exceed the target) or
    budget-bound (the target needs more than the 1000 EUR maximum). first_day is unused: this
    market does not change over time (the shapes market's drifting costs start from it)."""
    code, branch, region, target, rng = segment
    beta = rng.uniform(0.62, 0.82)
    # Paid cost per lead at a 200 EUR day: the branch's, +-25% for local competition.
    cpl200 = branch.cpl * rng.uniform(0.75, 1.25)
    k = (200.0 / cpl200) / 200.0**beta
    draw = rng.random()
    kind = (
        "capacity_bound"
        if draw < 0.025
        else "budget_bound"
        if draw < 0.04
        else "demand_limited"
        if draw >= 0.96
        else "normal"
    )
    if reachable:
        kind = "normal"
    if kind == "capacity_bound":
        organic = target * rng.uniform(1.2, 1.5)
        needed = 0.0
    else:
        organic = target * rng.uniform(0.12, 0.35)
        # Daily spend the target needs at the branch's cost per lead; where local competition
        # would put it outside 40..850 EUR the segment's cost is re-scaled into that range, and
        # budget-bound segments need 1.3-1.8x the maximum budget.
        needed = ((target - organic) / k) ** (1 / beta)
        if kind == "budget_bound":
            needed = 1000.0 * rng.uniform(1.3, 1.8)
        elif not 40.0 <= needed <= 850.0:
            needed = min(850.0, max(40.0, needed)) * rng.uniform(0.85, 1.0)
        k = (target - organic) / needed**beta
    if kind == "demand_limited":
        demand_cap = needed * rng.uniform(0.45, 0.7)
    else:
        demand_cap = max(needed, 100.0) * rng.uniform(1.6, 3.0)
    market = SegmentMarket(
        code,
        branch.name,
        region,
        round(organic, 3),
        k,
        round(beta, 3),
        round(demand_cap, 2),
        branch.cpc * rng.uniform(0.8, 1.2),
        kind,
    )
    return market, needed if 0 < needed < math.inf else 50.0


# Demand for each (branch, region) segment, calibrated against its lead target.
build_market = MarketBuilder("market", _calibrate_standard)
