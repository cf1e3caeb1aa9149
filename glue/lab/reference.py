"""The perfect-knowledge reference: the physical limit a controller is measured against.

It lives in the simulator, never in the product. It knows each segment's true response curve (any
shape: glue.lab.market, glue.lab.shapes), its organic flow, weekday factor, mean pacing and mean
search demand, but not the day's noise. Each night it sets the budget for tomorrow whose expected
leads (weekday factor included) meet the target known that night, within the product's hard limits:
+-20% of the day-start budget (bounds rounded inward to cents) and [5, 1000] EUR. It runs on the same
market and the same noise streams as the controllers, in pure Python (no database, no fake).

"The target known that night" is the target of the plan made that night (the controllers' too), so
it reacts to a capacity step on the same night the controllers can: what it has over them is the
curve, not foresight.

Reachability (`reach_bounds`): per segment-day the expected leads at the minimum budget (5 EUR) and
at the most the day allows (1000 EUR or all the search demand, at mean pacing and demand), on the
true curve, a lagged response in its steady state. glue.lab.measures counts a segment-week as
reachable when its 7-day target lies between the two 7-day sums: organic surplus, budget-bound,
demand-limited and saturated weeks are left out, decided by the curve rather than by the label the
market gave the segment. (Per day would leave out most Saturdays: the flat daily target needs about
1.5x the average spend on a Saturday, weekday factor 0.78.)
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterable, Mapping, Sequence

from glue.lab.market import (
    DEMAND_NOISE,
    PACING,
    WEEKDAY_FACTORS,
    DayOutcome,
    Market,
    SegmentMarket,
    simulate_day,
)

MIN_BUDGET = 5.0
MAX_BUDGET = 1000.0
MAX_CHANGE = 0.20
MEAN_PACING = sum(PACING) / 2
NAME = "perfect knowledge"


def expected_leads(seg: SegmentMarket, spend: float, day: datetime.date, past: Sequence[float] = ()) -> float:
    return WEEKDAY_FACTORS[day.weekday()] * seg.organic + seg.paid_mean(spend, day, past)


def mean_demand(seg: SegmentMarket, day: datetime.date) -> float:
    return seg.demand_cap * WEEKDAY_FACTORS[day.weekday()] * sum(DEMAND_NOISE) / 2


def spend_for(
    seg: SegmentMarket, target: float, day: datetime.date, past: Sequence[float], most: float
) -> float:
    """The spend in [0, most] whose expected leads on `day` are `target` (every shape's response rises
    with spend, so bisection finds it; `most` when even that falls short, 0 when organic leads alone
    reach it)."""
    if expected_leads(seg, 0.0, day, past) >= target:
        return 0.0
    if expected_leads(seg, most, day, past) <= target:
        return most
    low, high = 0.0, most
    for _ in range(60):
        mid = (low + high) / 2
        if expected_leads(seg, mid, day, past) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def desired_budget(seg: SegmentMarket, target: float, day: datetime.date, past: Sequence[float]) -> float:
    """The budget whose expected leads on `day` meet `target`, before the hard limits. Where the
    search demand cannot deliver the target it asks for a budget that buys every click there is."""
    demand = mean_demand(seg, day)
    spend = spend_for(seg, target, day, past, demand)
    if spend >= demand:
        return seg.demand_cap * WEEKDAY_FACTORS[day.weekday()] * DEMAND_NOISE[1] / PACING[0]
    return spend / MEAN_PACING


def limit_budget(base: float, desired: float) -> float:
    """The product's hard limits (sql/60_budget_maths.sql, hard_budget_limits): within +-20% of the
    day-start budget, bounds rounded inward to cents, then [5, 1000]; less than a cent is no change."""
    base = round(base, 2)
    low = math.ceil(round(base * (1 - MAX_CHANGE) * 100, 6)) / 100
    high = math.floor(round(base * (1 + MAX_CHANGE) * 100, 6)) / 100
    new = min(max(round(desired, 2), low), high)
    new = min(max(new, MIN_BUDGET), MAX_BUDGET)
    return base if abs(new - base) < 0.01 else round(new, 2)


def reach_bounds(
    segments: Mapping[str, SegmentMarket], days: Iterable[tuple[str, datetime.date]]
) -> dict[tuple[str, datetime.date], tuple[float, float]]:
    """Per (segment, day): the expected leads at the least and the most budget allowed (module doc)."""
    out: dict[tuple[str, datetime.date], tuple[float, float]] = {}
    for code, day in days:
        seg = segments.get(code)
        if seg is None:
            continue
        least = expected_leads(seg, MIN_BUDGET * MEAN_PACING, day)
        most = expected_leads(seg, min(MAX_BUDGET * MEAN_PACING, mean_demand(seg, day)), day)
        out[(code, day)] = (least, most)
    return out


def run_reference(
    market: Market,
    start_budgets: Mapping[str, float],
    targets: Mapping[tuple[str, datetime.date], float],
    first_day: datetime.date,
    days: int,
) -> dict[str, list[tuple[datetime.date, float, float, DayOutcome]]]:
    """Each segment's run under perfect knowledge: per day (day, day-start budget, next budget, the
    day's outcome). Draws come from the market's own noise streams (same seed: same noise as the
    controllers had); spends before first_day come from the market's recorded history."""
    runs: dict[str, list[tuple[datetime.date, float, float, DayOutcome]]] = {}
    for code, seg in market.segments.items():
        budget = round(start_budgets[code], 2)
        spends = [out.spend for out in _history(market, code, first_day, seg.lag_days)]
        rows: list[tuple[datetime.date, float, float, DayOutcome]] = []
        for n in range(days):
            day = first_day + datetime.timedelta(days=n)
            past = tuple(reversed(spends[-seg.lag_days :])) if seg.lag_days else ()
            out = simulate_day(seg, budget, day, market.seed, past)
            spends.append(out.spend)
            tomorrow = day + datetime.timedelta(days=1)
            target = targets.get((code, day))
            if target is None or target <= 0:
                desired = MIN_BUDGET  # no capacity: nothing to buy
            else:
                nxt_past = tuple(reversed(spends[-seg.lag_days :])) if seg.lag_days else ()
                desired = desired_budget(seg, float(target), tomorrow, nxt_past)
            nxt = limit_budget(budget, desired)
            rows.append((day, budget, nxt, out))
            budget = nxt
        runs[code] = rows
    return runs


def _history(market: Market, code: str, first_day: datetime.date, days: int) -> list[DayOutcome]:
    """The recorded outcomes of up to `days` days before first_day, oldest first."""
    found = []
    for back in range(days, 0, -1):
        out = market.outcomes.get((code, first_day - datetime.timedelta(days=back)))
        if out is not None:
            found.append(out)
    return found
