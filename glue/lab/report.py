"""The demo's report: one self-contained HTML file whose charts Apache ECharts draws (the dashboard's
vendored library file, embedded: it opens offline, nothing is fetched; every chart's numbers are a
table beside it).

Pictures: gap % per branch x province (first and last simulated week), lead flow against target
for a sample of segments, budget trends for the same sample, and the marketplace totals per day.
"""

from __future__ import annotations

import datetime
import html
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from statistics import mean

from glue.dashboard.server import STATIC_DIR
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


def _table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f'<th data-series="{esc(c)}">{esc(c)}</th>' for c in columns)
    body = []
    for row in rows:
        cells = "".join(f"<td>{esc(_cell(v))}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def chart_block(kind: str, title: str, option: dict, table_html: str, height: int = 240) -> str:
    """A chart ECharts draws from `option` (JSON beside it; the page's one script draws them all), with
    its numbers as a table below."""
    data = json.dumps(option, separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
    return (
        f'<figure class="chart-box" data-kind="{kind}">'
        f'<div class="chart" style="height:{height}px" role="img" aria-label="{esc(title)}"></div>'
        f'<script type="application/json" class="chart-option">{data}</script>'
        f"<details><summary>Numbers: {esc(title)}</summary>{table_html}</details></figure>"
    )


def heatmap(result: RunResult, days: Sequence[datetime.date], title: str) -> str:
    per = result.by_segment()
    branches = sorted({code.split("_", 1)[0] for code in per})
    regions = [r for r in REGION_ORDER if any(c.endswith("_" + r.replace("-", "_")) for c in per)]
    wanted = set(days)
    cells, rows = [], []
    for i, branch in enumerate(branches):
        for j, region in enumerate(regions):
            code = f"{branch}_{region.replace('-', '_')}"
            if code not in per:
                continue
            week = [r for r in per[code] if r.day in wanted]
            gap = week_gap(week) if week else None
            cells.append([j, i, "-" if gap is None else round(gap, 1)])
            rows.append((code, gap, sum(r.target for r in week), sum(r.leads for r in week)))
    option = {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 13}},
        "tooltip": {},
        "grid": {"left": 110, "right": 10, "top": 34, "bottom": 76},
        "xAxis": {"type": "category", "data": [REGION_SHORT.get(r, r) for r in regions]},
        "yAxis": {"type": "category", "data": branches, "inverse": True},
        "visualMap": {
            "min": -50, "max": 50, "orient": "horizontal", "left": "center", "bottom": 0,
            "text": ["+50%: too few leads", "-50%: too many"], "calculable": True,
            "inRange": {"color": ["#3a6fd8", "#ffffff", "#e0492f"]},
        },
        "series": [{"type": "heatmap", "name": "gap %", "data": cells,
                    "label": {"show": True, "fontSize": 9, "formatter": "{@[2]}"}}],
    }
    table_rows = "".join(
        f"<tr><td>{esc(code)}</td><td data-gap=\"{'' if gap is None else f'{gap:.1f}'}\">"
        f"{'' if gap is None else f'{gap:+.1f}'}</td><td>{target}</td><td>{leads}</td></tr>"
        for code, gap, target, leads in rows
    )
    table_html = (
        "<table><thead><tr><th>segment</th><th>gap %</th><th>target</th><th>leads</th></tr></thead>"
        f"<tbody>{table_rows}</tbody></table>"
    )
    return chart_block("heatmap", title, option, table_html, height=60 + 22 * len(branches) + 60)


def line_chart(
    series: Sequence[tuple[str, str, Sequence[float | None], str]],
    days: Sequence[datetime.date],
    title: str,
    width: int = 420,
    height: int = 220,
    y_label: str = "",
    markers: Sequence[tuple[datetime.date, str]] = (),
) -> str:
    """series: (name, colour, values per day, dash) -> an ECharts line chart with its numbers as a table."""
    labels = [d.isoformat() for d in days]

    def value(v: float | None) -> float | None:
        return None if v is None else round(v, 2)

    lines = []
    for k, (name, colour, vals, dash) in enumerate(series):
        line: dict = {
            "type": "line", "name": name, "data": [value(v) for v in vals], "showSymbol": False,
            "itemStyle": {"color": colour},
            "lineStyle": {"color": colour, "type": "dashed" if dash else "solid"},
        }
        if k == 0 and markers:
            line["markLine"] = {
                "symbol": "none", "lineStyle": {"color": "#c00", "type": "dotted"},
                "label": {"formatter": "{b}", "fontSize": 9},
                "data": [{"xAxis": d.isoformat(), "name": label} for d, label in markers if d in days],
            }
        lines.append(line)
    option = {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 12}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "textStyle": {"fontSize": 10}},
        "grid": {"left": 50, "right": 12, "top": 30, "bottom": 46},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": y_label, "nameTextStyle": {"fontSize": 10}},
        "series": lines,
    }
    rows = [[d.isoformat(), *[value(vals[i]) for _, _, vals, _ in series]] for i, d in enumerate(days)]
    table_html = _table(["day", *[name for name, _, _, _ in series]], rows)
    return chart_block("line", title, option, table_html, height=height).replace(
        'class="chart-box"', f'class="chart-box" style="width:{width}px"', 1
    )


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
.chart-box {{ margin: 0; width: 640px; max-width: 100%; }} .chart {{ width: 100%; }}
details summary {{ cursor: pointer; color: #1f5fbf; font-size: 12px; }}
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
<script>{echarts_library()}</script>
<script>{DRAW_CHARTS}</script>
</body></html>
"""


# Draws every chart of the page from the JSON option beside it.
DRAW_CHARTS = """
document.querySelectorAll('.chart-box').forEach(function (box) {
  var chart = echarts.init(box.querySelector('.chart'));
  chart.setOption(JSON.parse(box.querySelector('.chart-option').textContent));
  window.addEventListener('resize', function () { chart.resize(); });
});
"""


def echarts_library() -> str:
    """The vendored ECharts file the dashboard serves (glue/dashboard/static/vendor), embedded as is."""
    return (STATIC_DIR / "vendor" / "echarts.min.js").read_text(encoding="utf-8")


def write(path: Path, document: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
