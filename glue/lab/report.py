"""The demo's report: one self-contained HTML file with inline SVG pictures (no scripts, no CDN).

Pictures: gap % per branch x province (first and last simulated week), lead flow against target
for a sample of segments, budget trends for the same sample, and the marketplace totals per day.
"""

from __future__ import annotations

import datetime
import html
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from statistics import mean

from glue.lab.market import PROVINCES
from glue.lab.simulate import RunResult, Scores, SegmentDay

REGION_ORDER = sorted(PROVINCES, key=PROVINCES.get, reverse=True)  # type: ignore[arg-type]
REGION_SHORT = {
    "zuid-holland": "ZH",
    "noord-holland": "NH",
    "noord-brabant": "NB",
    "gelderland": "GLD",
    "utrecht": "UT",
    "overijssel": "OV",
    "limburg": "LB",
    "friesland": "FR",
    "groningen": "GR",
    "drenthe": "DR",
    "flevoland": "FL",
    "zeeland": "ZL",
}
KIND_LABEL = {
    "normal": "reachable",
    "demand_limited": "demand-limited (search volume caps spend)",
    "capacity_bound": "capacity-bound (organic leads alone exceed the target)",
    "budget_bound": "budget-bound (target needs more than the 1000 EUR maximum)",
}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def week_gap(rows: Sequence[SegmentDay]) -> float | None:
    """Gap % of a run of days as plans define it: (target - actual) / target x 100; None without target."""
    target = sum(r.target for r in rows)
    if target <= 0:
        return None
    return (target - sum(r.leads for r in rows)) / target * 100


def gap_colour(gap: float | None) -> str:
    """Red for too few leads, blue for too many, white on target; grey without a target."""
    if gap is None:
        return "#d9d9d9"
    g = max(-50.0, min(50.0, gap)) / 50.0
    if g >= 0:
        r, gr, b = 255, round(255 - 170 * g), round(255 - 185 * g)
    else:
        r, gr, b = round(255 + 200 * g), round(255 + 120 * g), 255
    return f"rgb({r},{gr},{b})"


def heatmap(result: RunResult, days: Sequence[datetime.date], title: str) -> str:
    per = result.by_segment()
    branches = sorted({code.split("_", 1)[0] for code in per})
    regions = [r for r in REGION_ORDER if any(c.endswith("_" + r.replace("-", "_")) for c in per)]
    cell_w, cell_h, left, top = 46, 22, 120, 44
    width, height = left + cell_w * len(regions) + 10, top + cell_h * len(branches) + 36
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(title)}" class="heatmap">',
        f'<text x="{left}" y="16" class="t">{esc(title)}</text>',
    ]
    for j, region in enumerate(regions):
        out.append(
            f'<text x="{left + j * cell_w + cell_w / 2}" y="{top - 8}" class="ax" text-anchor="middle">'
            f"{REGION_SHORT.get(region, region)}<title>{esc(region)}</title></text>"
        )
    wanted = set(days)
    for i, branch in enumerate(branches):
        y = top + i * cell_h
        out.append(
            f'<text x="{left - 6}" y="{y + cell_h / 2 + 4}" class="ax" text-anchor="end">{esc(branch)}</text>'
        )
        for j, region in enumerate(regions):
            code = f"{branch}_{region.replace('-', '_')}"
            rows = [r for r in per.get(code, []) if r.day in wanted]
            gap = week_gap(rows) if rows else None
            x = left + j * cell_w
            label = "" if gap is None else f"{gap:+.0f}"
            tip = (
                f"{code}: no target"
                if gap is None
                else f"{code}: target {sum(r.target for r in rows)}, "
                f"leads {sum(r.leads for r in rows)}, gap {gap:+.1f}%"
            )
            out.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{gap_colour(gap)}" '
                f'data-gap="{"" if gap is None else f"{gap:.1f}"}"><title>{esc(tip)}</title></rect>'
            )
            if label:
                out.append(
                    f'<text x="{x + cell_w / 2 - 1}" y="{y + cell_h / 2 + 3}" class="v" '
                    f'text-anchor="middle">{label}</text>'
                )
    ly = top + cell_h * len(branches) + 14
    for k, g in enumerate((-50, -25, -15, 0, 15, 25, 50)):
        x = left + k * 62
        out.append(
            f'<rect x="{x}" y="{ly}" width="16" height="12" fill="{gap_colour(g)}" stroke="#999"/>'
            f'<text x="{x + 20}" y="{ly + 10}" class="ax">{g:+d}%</text>'
        )
    out.append(
        f'<text x="{left + 7 * 62}" y="{ly + 10}" class="ax">gap % = (target - leads) / target; '
        f"red: too few leads, blue: too many</text>"
    )
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    series: Sequence[tuple[str, str, Sequence[float | None], str]],
    days: Sequence[datetime.date],
    title: str,
    width: int = 420,
    height: int = 200,
    y_label: str = "",
    markers: Sequence[tuple[datetime.date, str]] = (),
) -> str:
    """series: (name, colour, values per day, dash) -> an SVG line chart with axes and a legend."""
    left, right, top, bottom = 46, 10, 26, 40
    values = [v for _, _, vals, _ in series for v in vals if v is not None]
    hi = max(values + [1.0]) * 1.1
    n = max(len(days) - 1, 1)

    # Rounded to 1/100 px: sums of floats in another order (set iteration) differ in the last bits,
    # and the same seed should give the same page, byte for byte.
    def px(i: int) -> float:
        return round(left + (width - left - right) * i / n, 2)

    def py(v: float) -> float:
        return round(top + (height - top - bottom) * (1 - v / hi), 2)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(title)}" class="chart">',
        f'<text x="{left}" y="15" class="t">{esc(title)}</text>',
        f'<line x1="{left}" y1="{py(0)}" x2="{width - right}" y2="{py(0)}" class="axis"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{py(0)}" class="axis"/>',
    ]
    for k in range(5):
        v = hi / 1.1 * k / 4
        out.append(
            f'<text x="{left - 4}" y="{py(v) + 3}" class="ax" text-anchor="end">{v:.0f}</text>'
            f'<line x1="{left}" y1="{py(v)}" x2="{width - right}" y2="{py(v)}" class="grid"/>'
        )
    for i, d in enumerate(days):
        if i % 7 == 0 or i == len(days) - 1:
            out.append(
                f'<text x="{px(i)}" y="{py(0) + 13}" class="ax" text-anchor="middle">'
                f'{d.strftime("%d %b")}</text>'
            )
    for day, label in markers:
        if day in days:
            x = px(list(days).index(day))
            out.append(
                f'<line x1="{x}" y1="{top}" x2="{x}" y2="{py(0)}" class="marker"/>'
                f'<text x="{x + 3}" y="{top + 9}" class="ax">{esc(label)}</text>'
            )
    for name, colour, vals, dash in series:
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vals) if v is not None)
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.8" '
            f'stroke-dasharray="{dash}" data-series="{esc(name)}"/>'
        )
    lx = left
    for name, colour, _, dash in series:
        out.append(
            f'<line x1="{lx}" y1="{height - 10}" x2="{lx + 18}" y2="{height - 10}" stroke="{colour}" '
            f'stroke-width="2" stroke-dasharray="{dash}"/><text x="{lx + 22}" y="{height - 6}" class="ax">'
            f"{esc(name)}</text>"
        )
        lx += 30 + 6.2 * len(name)
    if y_label:
        out.append(
            f'<text x="10" y="{top + (height - top - bottom) / 2}" class="ax" '
            f'transform="rotate(-90 10 {top + (height - top - bottom) / 2})" text-anchor="middle">'
            f"{esc(y_label)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def trailing_mean(values: Sequence[float], window: int = 7) -> list[float | None]:
    return [mean(values[i - window + 1 : i + 1]) if i >= window - 1 else None for i in range(len(values))]


def sample_segments(result: RunResult, count: int = 8) -> list[str]:
    """Capacity steps (joining and leaving), then the other kinds, then the largest reachable ones."""
    per = result.by_segment()
    chosen: list[str] = []
    joins = [s.code for s in result.steps if s.joining and s.code in per]
    leaves = [s.code for s in result.steps if not s.joining and s.code in per]
    for pool in (joins[:2], leaves[:2]):
        chosen += [c for c in pool if c not in chosen]
    for kind in ("demand_limited", "capacity_bound", "budget_bound"):
        chosen += [c for c in sorted(per) if result.kinds.get(c) == kind and c not in chosen][:1]
    big = sorted(
        (c for c in per if result.kinds.get(c) == "normal" and c not in chosen),
        key=lambda c: -mean(r.target for r in per[c]),
    )
    chosen += big[: max(0, count - len(chosen))]
    return chosen[:count]


def summary_rows(result: RunResult) -> list[dict[str, object]]:
    """Per segment: last-week target and leads per day, gap %, budget first -> last, what limits it."""
    alerts = {code for _, code in result.alerts}
    out = []
    for code, rows in sorted(result.by_segment().items()):
        last = rows[-7:]
        out.append(
            {
                "code": code,
                "target": mean(r.target for r in last),
                "actual": mean(r.leads for r in last),
                "gap": week_gap(last),
                "budget_first": rows[0].budget,
                "budget_old": rows[-1].budget,
                "budget_new": rows[-1].next_budget,
                "status": rows[-1].status,
                "kind": result.kinds.get(code, ""),
                "alert": "not budget-limited" if code in alerts else "",
            }
        )
    return out


def render(
    result: RunResult,
    scores: Scores | None = None,
    *,
    title: str = "Lead Flow demo",
    facts: Sequence[tuple[str, str]] = (),
    comparison: str = "",
) -> str:
    per = result.by_segment()
    days = sorted({r.day for r in result.rows})
    first_week, last_week = days[:7], days[-7:]
    parts = [
        heatmap(
            result, first_week, f"Gap % in the first simulated week ({first_week[0]} .. {first_week[-1]})"
        ),
        heatmap(result, last_week, f"Gap % in the last simulated week ({last_week[0]} .. {last_week[-1]})"),
    ]

    totals = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for r in result.rows:
        t = totals[r.day]
        t[0] += r.leads
        t[1] += r.target
        t[2] += r.spend
        t[3] += r.budget
    total_charts = [
        line_chart(
            [
                ("leads", "#1f77b4", [totals[d][0] for d in days], ""),
                ("target", "#333", [totals[d][1] for d in days], "6 3"),
            ],
            days,
            "All segments: leads per day vs target",
            width=560,
            y_label="leads/day",
        ),
        line_chart(
            [
                ("budget", "#ff7f0e", [totals[d][3] for d in days], ""),
                ("spend", "#2ca02c", [totals[d][2] for d in days], ""),
            ],
            days,
            "All segments: daily budget and spend (EUR)",
            width=560,
            y_label="EUR/day",
        ),
    ]
    flow_charts, budget_charts = [], []
    for code in sample_segments(result):
        rows = per[code]
        by_day = {r.day: r for r in rows}
        leads = [float(by_day[d].leads) if d in by_day else 0.0 for d in days]
        markers = [
            (s.day, "partners join" if s.joining else "partners leave")
            for s in result.steps
            if s.code == code
        ]
        kind = KIND_LABEL.get(result.kinds.get(code, ""), "")
        flow_charts.append(
            line_chart(
                [
                    ("leads/day", "#9ecae1", leads, ""),
                    ("7-day mean", "#1f77b4", trailing_mean(leads), ""),
                    (
                        "target",
                        "#333",
                        [float(by_day[d].target) if d in by_day else None for d in days],
                        "6 3",
                    ),
                ],
                days,
                f"{code} ({kind.split(' (')[0]})",
                markers=markers,
            )
        )
        budget_charts.append(
            line_chart(
                [
                    ("budget", "#ff7f0e", [by_day[d].budget if d in by_day else None for d in days], ""),
                    ("spend", "#2ca02c", [by_day[d].spend if d in by_day else None for d in days], ""),
                ],
                days,
                f"{code}: budget and spend (EUR/day)",
                markers=markers,
            )
        )

    table = [
        "<table><thead><tr><th>segment</th><th>target/day</th><th>leads/day</th><th>gap %</th>"
        "<th>budget start</th><th>budget old -> new</th><th>status</th><th>market</th><th>alert</th>"
        "</tr></thead><tbody>"
    ]
    for row in summary_rows(result):
        gap = row["gap"]
        table.append(
            f"<tr><td>{esc(row['code'])}</td><td>{row['target']:.1f}</td><td>{row['actual']:.1f}</td>"
            f'<td style="background:{gap_colour(gap)}">{"" if gap is None else f"{gap:+.1f}"}</td>'
            f"<td>{row['budget_first']:.2f}</td><td>{row['budget_old']:.2f} -> {row['budget_new']:.2f}</td>"
            f"<td>{esc(row['status'])}</td><td>{esc(row['kind'])}</td><td>{esc(row['alert'])}</td></tr>"
        )
    table.append("</tbody></table>")

    fact_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    score_block = ""
    if scores is not None:
        settle = ", ".join(f"{d:.0f}" if d != float("inf") else "never" for d in scores.settle_days) or "n/a"
        score_block = (
            "<table class='facts'>"
            f"<tr><th>segment-weeks within +-15% of target (after day 14)</th><td>{scores.within_pct:.1f}% "
            f"({scores.weeks_within}/{scores.weeks_counted})</td></tr>"
            f"<tr><th>days to settle after each capacity step</th><td>{esc(settle)}</td></tr>"
            "<tr><th>budget direction reversals per segment per week</th>"
            f"<td>{scores.reversals_per_segment_week:.2f}</td></tr>"
            f"<tr><th>spend per lead</th><td>EUR {scores.spend_per_lead:.2f}</td></tr>"
            f"<tr><th>safety-limit violations</th><td>{scores.violations}</td></tr></table>"
        )
    comparison_html = f"<h2>Controllers side by side</h2><pre>{esc(comparison)}</pre>" if comparison else ""

    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }}
h1 {{ font-size: 22px; }} h2 {{ font-size: 17px; margin-top: 28px; }}
.grid-2 {{ display: flex; flex-wrap: wrap; gap: 18px; }}
svg .t {{ font-size: 12px; font-weight: 600; }} svg .ax {{ font-size: 10px; fill: #444; }}
svg .v {{ font-size: 9px; fill: #222; }} svg .axis {{ stroke: #666; }} svg .grid {{ stroke: #eee; }}
svg .marker {{ stroke: #c00; stroke-dasharray: 2 2; }}
table {{ border-collapse: collapse; font-size: 12px; }} td, th {{ border: 1px solid #ddd; padding: 2px 6px; }}
th {{ background: #f4f4f4; text-align: left; }} .facts th {{ width: 360px; }}
pre {{ background: #f7f7f7; padding: 8px; overflow-x: auto; }}
</style></head><body>
<h1>{esc(title)}</h1>
<table class="facts">{fact_rows}</table>
{score_block}
{comparison_html}
<h2>Gap % per branch and province</h2>
<p>Each cell is one segment: (target - leads) / target over a week. The first week shows where the
marketplace started; the last week what the nightly loop made of it. Grey: no partner capacity.</p>
<div class="grid-2">{"".join(parts)}</div>
<h2>The marketplace per day</h2>
<div class="grid-2">{"".join(total_charts)}</div>
<h2>Lead flow against target (a sample of segments)</h2>
<p>Light: leads per day (Poisson noise and weekdays); dark: the 7-day mean; dashed: the target.
Red dotted lines mark capacity steps (partners joining or leaving).</p>
<div class="grid-2">{"".join(flow_charts)}</div>
<h2>Budget trends (the same segments)</h2>
<p>Orange: the daily budget live in Google Ads (the fake) each day; green: what the campaign spent.
A campaign whose spend stays below its budget is not budget-limited.</p>
<div class="grid-2">{"".join(budget_charts)}</div>
<h2>Every segment at the end of the run</h2>
{"".join(table)}
</body></html>
"""


def write(path: Path, document: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
