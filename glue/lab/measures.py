"""Judging a controller on the expected flow it buys, not on Poisson noise (issue 16).

The simulator knows each segment-day's expected leads: the Poisson mean of the day's draw at the
spend the live budget bought (pacing and search demand included, weekday factor included). These
measures use it, on days WARMUP_DAYS + 1 .. N and on reachable segment-weeks only: a week counts when
its 7-day target lies between the 7-day expected leads at the least and at the most budget the hard
limits and the search demand allow, on the true curve (the bounds: glue.lab.reference.reach_bounds):

- weeks within +-10%: |expected 7-day leads - 7-day target| <= 10% of the 7-day target;
- mean absolute error: the mean over those segment-days of |expected - target| / target, in %; the
  target is the plan's flat leads per day, so a budget held level through the week is off by the
  weekday pattern (about 9% on average);
- step response: per capacity step whose new target is reachable (the 7 days from the step, or to
  the run's end, reachable as a week is), the days from the step until the
  first day whose expected leads are within +-10% of that day's target (counted to the run's end,
  warm-up included: steps fall on day 10 and 19 of 28; "never" when not within by then);
- reversals: sign changes between consecutive applied budget changes made in those weeks, per
  segment per week;
- spend per expected lead: spend / expected leads over those weeks.
The realized counterparts (weeks within +-10%, mean absolute error) are kept beside them, on the same
weeks, to show how much of the realized figure is noise.

Every count is kept raw (sums, not ratios), so several seeds pool by adding them up (`pool`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from statistics import median
from typing import Protocol

WITHIN = 0.10
WARMUP_DAYS = 14


class Row(Protocol):
    code: str
    day: datetime.date
    target: int
    leads: int
    spend: float
    budget: float
    next_budget: float
    expected: float


class Step(Protocol):
    day: datetime.date
    code: str


@dataclass
class ExpectedScores:
    controller: str
    weeks_counted: int = 0
    weeks_within: int = 0  # expected 7-day leads within +-10%
    weeks_within_realized: int = 0  # realized 7-day leads within +-10%, same weeks
    days_counted: int = 0
    abs_error_pct: float = 0.0  # sum over counted days of |expected - target| / target x 100
    abs_error_realized_pct: float = 0.0
    step_days: list[float] = field(default_factory=list)  # inf: never within
    reversals: int = 0
    segment_weeks: int = 0  # the counted weeks, for reversals per segment per week
    spend: float = 0.0
    expected_leads: float = 0.0

    @property
    def within_pct(self) -> float:
        return _pct(self.weeks_within, self.weeks_counted)

    @property
    def within_realized_pct(self) -> float:
        return _pct(self.weeks_within_realized, self.weeks_counted)

    @property
    def mae_pct(self) -> float:
        return _ratio(self.abs_error_pct, self.days_counted)

    @property
    def mae_realized_pct(self) -> float:
        return _ratio(self.abs_error_realized_pct, self.days_counted)

    @property
    def reversals_per_segment_week(self) -> float:
        return _ratio(self.reversals, self.segment_weeks)

    @property
    def spend_per_expected_lead(self) -> float:
        return _ratio(self.spend, self.expected_leads)


def _ratio(part: float, whole: float) -> float:
    """part / whole, NaN when there is no whole."""
    return part / whole if whole else float("nan")


def _pct(part: int, whole: int) -> float:
    return 100.0 * _ratio(part, whole)


def _within(value: float, target: float) -> bool:
    return abs(value - target) <= WITHIN * target


Bounds = dict[tuple[str, datetime.date], tuple[float, float]]


def reachable(days: Sequence[Row], bounds: Bounds) -> bool:
    """Whether the days' summed target lies within their summed least and most expected leads."""
    if not days or any((r.code, r.day) not in bounds for r in days):
        return False
    target = sum(r.target for r in days)
    least = sum(bounds[(r.code, r.day)][0] for r in days)
    most = sum(bounds[(r.code, r.day)][1] for r in days)
    return target > 0 and least <= target <= most


def expected_scores(
    controller: str,
    rows: Iterable[Row],
    first_day: datetime.date,
    steps: Sequence[Step],
    bounds: Bounds,
    warmup: int = WARMUP_DAYS,
) -> ExpectedScores:
    """The measures of the module doc for one run (rows: one per segment-day)."""
    per = _per_segment(rows)
    s = ExpectedScores(controller)
    for seg_rows in per.values():
        usable = [r for r in seg_rows if (r.day - first_day).days >= warmup]
        signs: list[int] = []  # directions of the changes made in the counted weeks, in order
        for w in range(len(usable) // 7):
            week = usable[w * 7 : (w + 1) * 7]
            if not reachable(week, bounds):
                continue
            target = sum(r.target for r in week)
            s.weeks_counted += 1
            s.segment_weeks += 1
            s.weeks_within += _within(sum(r.expected for r in week), target)
            s.weeks_within_realized += _within(sum(r.leads for r in week), target)
            for r in week:
                if r.target <= 0:
                    continue
                s.days_counted += 1
                s.abs_error_pct += 100.0 * abs(r.expected - r.target) / r.target
                s.abs_error_realized_pct += 100.0 * abs(r.leads - r.target) / r.target
                s.spend += r.spend
                s.expected_leads += r.expected
            signs += [
                1 if r.next_budget > r.budget else -1 for r in week if abs(r.next_budget - r.budget) >= 0.005
            ]
        s.reversals += sum(1 for a, b in zip(signs, signs[1:], strict=False) if a != b)
    s.step_days = [r.days for r in _step_responses(per, steps, bounds)]
    return s


@dataclass(frozen=True)
class StepResponse:
    """One capacity step's response: the segment, the step's day and the days until expected leads
    were first within +-10% of the day's target (inf: never by the run's end)."""

    code: str
    day: datetime.date
    days: float


def step_responses(rows: Iterable[Row], steps: Sequence[Step], bounds: Bounds) -> list[StepResponse]:
    """The step response of the module doc per capacity step whose new target is reachable, slowest
    first (ties in the steps' order): which segments make the worst figure, to read their days and
    the controller's reasons."""
    return sorted(_step_responses(_per_segment(rows), steps, bounds), key=lambda r: -r.days)


def _per_segment(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """The rows of each segment, in day order."""
    per: dict[str, list[Row]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r.code, r.day)):
        per[r.code].append(r)
    return per


def _step_responses(per: dict[str, list[Row]], steps: Sequence[Step], bounds: Bounds) -> list[StepResponse]:
    out = []
    for step in steps:
        after = [r for r in per.get(step.code, []) if r.day >= step.day]
        if not reachable(after[:7], bounds):
            continue
        first = next((r for r in after if _within(r.expected, r.target)), None)
        out.append(
            StepResponse(step.code, step.day, float((first.day - step.day).days) if first else float("inf"))
        )
    return out


def pool(scores: Sequence[ExpectedScores]) -> ExpectedScores:
    """Several runs of one controller (other seeds) as one: every count added up."""
    out = ExpectedScores(scores[0].controller if scores else "")
    counts = [f.name for f in fields(ExpectedScores) if f.name != "controller"]
    for s in scores:
        for name in counts:
            setattr(out, name, getattr(out, name) + getattr(s, name))
    return out


def step_summary(days: Sequence[float]) -> str:
    """'median 4, worst 9 (27 steps)'; worst 'never' when a step was not within by the run's end."""
    if not days:
        return "n/a"
    worst = "never" if max(days) == float("inf") else f"{max(days):.0f}"
    mid = median(days)
    mid_text = "never" if mid == float("inf") else f"{mid:g}"
    return f"median {mid_text}, worst {worst} ({len(days)} steps)"
