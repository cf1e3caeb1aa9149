"""A second simulated market with other response shapes, so no controller is tuned to one.

`leadflow simulate --market shapes`. Same segments, capacity, weekday factors, pacing, search demand
and noise streams as the standard market (glue.lab.market); only the response of paid leads to spend
differs. Each segment gets one of four shapes (expected paid leads of an average weekday at spend s):

- ceiling: C x (1 - exp(-s / S)), saturation: the market runs out of people to reach;
- s_curve: logistic in spend, C x (g(s) - g(0)) / (1 - g(0)) with g(s) = 1 / (1 + exp(-(s - m) / d)):
  below the midpoint m a euro buys little, above it returns diminish;
- lagged: the power curve k x s^beta, but a day's paid leads come 60% from its own spend, 30% from
  yesterday's and 10% from the day before's (people fill in the form a day or two after the click);
- drifting: the power curve with k decaying by 0.6-1.2% a day from the first simulated day on
  (competition raises the cost per lead while the run goes on; it was cheaper in the history).

A few segments cannot reach their target, whatever the shape: organic surplus (capacity_bound),
budget_bound (the target needs 1.3-1.8x the 1000 EUR maximum) and saturated (a ceiling below the
target). Steps segments (`normal`) are always reachable when the run starts. All draws are keyed by
(seed, segment), so the market is the same for every controller and on every date.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from glue.lab.market import (
    WEEKDAY_FACTORS,
    MarketBuilder,
    SegmentDraw,
    SegmentMarket,
)

SHAPES = ("ceiling", "s_curve", "lagged", "drifting")
LAG_WEIGHTS = (0.6, 0.3, 0.1)  # today, yesterday, the day before


@dataclass(frozen=True)
class CeilingSegment(SegmentMarket):
    ceiling: float = 1.0  # C: expected paid leads of an average day at unlimited spend
    scale: float = 100.0  # S: EUR at which 63% of the ceiling is reached

    def paid_mean(self, spend: float, day: datetime.date, past: Sequence[float] = ()) -> float:
        return WEEKDAY_FACTORS[day.weekday()] * self.ceiling * -math.expm1(-max(spend, 0.0) / self.scale)


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


@dataclass(frozen=True)
class SCurveSegment(SegmentMarket):
    ceiling: float = 1.0  # C
    midpoint: float = 100.0  # m: EUR where the curve is steepest
    width: float = 20.0  # d: EUR, how sharp the S is

    def paid_mean(self, spend: float, day: datetime.date, past: Sequence[float] = ()) -> float:
        g0 = _logistic(-self.midpoint / self.width)
        g = _logistic((max(spend, 0.0) - self.midpoint) / self.width)
        return WEEKDAY_FACTORS[day.weekday()] * self.ceiling * (g - g0) / (1.0 - g0)


@dataclass(frozen=True)
class LaggedSegment(SegmentMarket):
    lag_days: ClassVar[int] = len(LAG_WEIGHTS) - 1

    def paid_mean(self, spend: float, day: datetime.date, past: Sequence[float] = ()) -> float:
        # Each day's searches carry that day's weekday factor; missing past spends count as today's.
        total = 0.0
        for back, weight in enumerate(LAG_WEIGHTS):
            s = spend if back == 0 or back > len(past) else past[back - 1]
            w = WEEKDAY_FACTORS[(day - datetime.timedelta(days=back)).weekday()]
            total += weight * w * self.k * max(s, 0.0) ** self.beta
        return total


@dataclass(frozen=True)
class DriftingSegment(SegmentMarket):
    drift: float = 0.01  # relative decay of k per day
    origin: datetime.date = datetime.date(2025, 9, 1)  # the day k is the calibrated one

    def k_on(self, day: datetime.date) -> float:
        return self.k * math.exp(-self.drift * (day - self.origin).days)

    def paid_mean(self, spend: float, day: datetime.date, past: Sequence[float] = ()) -> float:
        return WEEKDAY_FACTORS[day.weekday()] * self.k_on(day) * max(spend, 0.0) ** self.beta


def _calibrate_shape(
    segment: SegmentDraw, reachable: bool, first_day: datetime.date | None
) -> tuple[SegmentMarket, float]:
    """The shapes market, calibrated against each segment's lead target like the standard one: the
    target needs what the branch's cost per lead says, within 40-850 EUR a day (drifting ones 40-550,
    so the drift keeps most of them reachable through a 28-day run)."""
    code, branch, region, target, rng = segment
    shape = SHAPES[min(int(rng.random() * len(SHAPES)), len(SHAPES) - 1)]
    draw = rng.random()
    kind = shape
    if not reachable:
        if draw < 0.03:
            kind = "capacity_bound"
        elif draw < 0.05:
            kind = "budget_bound"
        elif draw >= 0.95:
            kind, shape = "saturated", "ceiling"
    organic = target * (rng.uniform(1.2, 1.5) if kind == "capacity_bound" else rng.uniform(0.12, 0.35))
    paid = max(target - organic, 0.1 * target)  # capacity-bound: a small paid response all the same
    beta = round(rng.uniform(0.62, 0.82), 3)
    # The spend the target needs at the branch's cost per lead (+-25% local competition) on the
    # standard market's curve; re-scaled into 40..850 EUR (drifting: 40..550) where it falls out.
    cpl200 = branch.cpl * rng.uniform(0.75, 1.25)
    needed = (paid / ((200.0 / cpl200) / 200.0**beta)) ** (1 / beta)
    top = 550.0 if shape == "drifting" else 850.0
    if kind == "budget_bound":
        needed = 1000.0 * rng.uniform(1.3, 1.8)
    elif not 40.0 <= needed <= top:
        needed = min(top, max(40.0, needed)) * rng.uniform(0.85, 1.0)
    k = paid / needed**beta
    demand_cap = round(max(needed, 100.0) * rng.uniform(1.6, 3.0), 2)
    cpc = branch.cpc * rng.uniform(0.8, 1.2)
    common = (code, branch.name, region, round(organic, 3), k, beta, demand_cap, cpc, kind)
    seg: SegmentMarket
    if shape == "ceiling":
        # At the needed spend the segment is at 45-80% of its ceiling; saturated: the ceiling is
        # 60-85% of what the target needs.
        if kind == "saturated":
            ceiling = paid * rng.uniform(0.6, 0.85)
            scale = needed * rng.uniform(0.3, 0.6)
        else:
            ratio = rng.uniform(0.45, 0.8)
            ceiling = paid / ratio
            scale = -needed / math.log1p(-ratio)
        seg = CeilingSegment(*common, ceiling=ceiling, scale=scale)
    elif shape == "s_curve":
        midpoint = needed * rng.uniform(0.45, 0.8)
        width = midpoint * rng.uniform(0.15, 0.3)
        g0 = _logistic(-midpoint / width)
        ceiling = paid * (1.0 - g0) / (_logistic((needed - midpoint) / width) - g0)
        seg = SCurveSegment(*common, ceiling=ceiling, midpoint=midpoint, width=width)
    elif shape == "lagged":
        seg = LaggedSegment(*common)
    else:
        seg = DriftingSegment(
            *common, drift=rng.uniform(0.006, 0.012), origin=first_day or datetime.date(2025, 9, 1)
        )
    return seg, 50.0 if kind == "capacity_bound" else needed


# A stream of its own ("shapes"), so this market is not a re-shaped copy of the standard one.
build_shapes_market = MarketBuilder("shapes", _calibrate_shape)
