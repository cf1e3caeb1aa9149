"""`leadflow demo` end to end on a tiny marketplace: its own stack, the loop, a report with pictures."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from glue.dashboard.server import STATIC_DIR
from glue.lab import demo


def test_the_demo_runs_end_to_end_and_writes_a_report_with_pictures(capsys, tmp_path: Path) -> None:
    report = tmp_path / "demo.html"
    args = argparse.Namespace(
        days=7, seed=3, report=report, branches=3, regions=3, partners=40, history_days=14
    )
    assert demo.main(args) == 0
    printed = capsys.readouterr().out
    assert "9 segments; last week within +-15% of target" in printed
    assert re.search(r"schilder_zuid_holland +\d+\.\d +\d+\.\d", printed)
    assert re.search(r"forecast .* \d+ segment-days\): mean absolute error \d+\.\d+ leads", printed)
    page = report.read_text()
    # ECharts draws them (issue 15): two heatmaps, two totals, flow + budget per sample, numbers as tables.
    assert page.count('class="chart-option"') >= 2 + 2 + 2 * 3
    assert page.count('data-kind="heatmap"') == 2
    assert len(re.findall(r'<td data-gap="-?\d+\.\d"', page)) >= 9
    assert 'data-series="target"' in page and 'data-series="budget"' in page
    # Self-contained: the library is embedded, nothing is fetched when it is opened offline.
    assert "<script src" not in page and not re.search(r'(src|href)="https?:', page)
    assert (STATIC_DIR / "vendor" / "echarts.min.js").read_text() in page
