"""Benchmark: how long the Leadstroom overview takes to draw in a real browser.

Starts its own throwaway stack and `leadflow dashboard`'s server, fills the database with N active
segments (N/12 branches x the 12 provinces) and 90 days of plans and stats per segment, signs in as an
admin through the URL fragment in Debian's headless chromium, and times, per page load, from the
navigation's start to the moment the overview has drawn (the heatmap's ECharts `finished` event and the
view's data all in: the later of the two), with the heatmap's API call beside it. The sizes run side by
side in one run; goal: under 2 s for 10,000 segments on the local stack.

Usage: .venv/bin/python bench/bench_dashboard.py [--sizes 2400,10000] [--loads 5] [--days 90]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glue.dashboard import server  # noqa: E402
from glue.dashboard.browser import chrome  # noqa: E402
from glue.lab import stack as glue_stack  # noqa: E402
from glue.lab.tokens import anon_key, make_jwt  # noqa: E402

PROVINCES = [
    "groningen", "friesland", "drenthe", "overijssel", "flevoland", "gelderland", "utrecht",
    "noord-holland", "zuid-holland", "zeeland", "noord-brabant", "limburg",
]
GOAL_S = 2.0


def fill(conn: psycopg.Connection, segments: int, days: int) -> None:
    """`segments` active segments with `days` days of plans and stats up to yesterday (Amsterdam)."""
    conn.execute("truncate public.lead_segments cascade")
    conn.execute(
        "insert into public.lead_segments (branch, region) "
        "select 'branche' || b, r from generate_series(1, %s) b cross join unnest(%s::text[]) r "
        "limit %s",
        (-(-segments // len(PROVINCES)), PROVINCES, segments),
    )
    conn.execute(
        """insert into public.lead_segment_plans
             (segment_id, date, target_leads_per_day, actual_leads, lead_gap, lead_gap_percentage,
              target_daily_budget_google_ads, actual_daily_budget_google_ads, orchestration_status)
           select s.id, d.day, t.target, a.actual, t.target - a.actual,
                  round(100.0 * (t.target - a.actual) / t.target, 2), 50, 48, 'success'
             from public.lead_segments s
            cross join generate_series(lead_flow.local_day(now()) - %s, lead_flow.local_day(now()) - 1,
                                       interval '1 day') d(day)
            cross join lateral (select 4 + (abs(hashtext(s.code)) %% 12) as target) t
            cross join lateral (select (abs(hashtext(s.code || d.day::text)) %% 20) as actual) a""",
        (days,),
    )
    conn.execute(
        """insert into public.lead_generation_stats (segment_id, date, leads_generated, google_ads_spend)
           select p.segment_id, p.date, p.actual_leads, 40 from public.lead_segment_plans p"""
    )
    conn.execute("analyze public.lead_segments, public.lead_segment_plans, public.lead_generation_stats")


def admin(conn: psycopg.Connection) -> uuid.UUID:
    user = uuid.uuid4()
    conn.execute("insert into auth.users (id, email) values (%s, %s)", (user, f"{user.hex[:12]}@example.nl"))
    conn.execute(
        "insert into public.profiles (id, company_name, is_admin, is_active_for_routing) "
        "values (%s, 'Beheer', true, false)",
        (user,),
    )
    return user


def load_once(driver, url: str, token: str) -> tuple[float, float, int]:  # noqa: ANN001 - a WebDriver
    """One page load of the overview: (seconds until drawn, seconds of the heatmap call, cells)."""
    driver.get(f"{url}/config.js")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{url}/#access_token={token}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = driver.execute_script(
            "const l = window.leadstroom || {};"
            "return l.overviewDrawnAt && l.readyAt ? Math.max(l.overviewDrawnAt, l.readyAt) : null"
        )
        if done:
            break
        time.sleep(0.02)
    else:
        raise RuntimeError("the overview did not draw within 60 s")
    api_ms = driver.execute_script(
        "const e = performance.getEntriesByType('resource')"
        "  .find(r => r.name.includes('lead_flow_gap_heatmap'));"
        "return e ? e.duration : null"
    )
    cells = driver.execute_script(
        "const el = document.querySelector('[data-chart]');"
        "return window.echarts.getInstanceByDom(el).getOption().series[0].data.length"
    )
    alerts_seconds(driver)  # let the alerts' query finish, so it does not run under the next load
    return done / 1000, (api_ms or 0) / 1000, cells


def alerts_seconds(driver) -> float:  # noqa: ANN001 - a WebDriver
    """Seconds from the page load until the open alerts (lead_flow_alerts) filled their section."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        at = driver.execute_script("return (window.leadstroom || {}).alertsAt")
        if at:
            return at / 1000
        time.sleep(0.1)
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="2400,10000")
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    base = Path(tempfile.mkdtemp(prefix="leadflow-bench-dashboard-"))
    st = glue_stack.up(base)
    running = server.start(st.rest.url, anon_key(st.base))
    driver = chrome()
    results = []
    try:
        with psycopg.connect(st.database_url, autocommit=True) as conn:
            token = make_jwt(st.rest.jwt_secret, "authenticated", admin(conn), ttl_s=3600)
            for n in sizes:
                started = time.monotonic()
                fill(conn, n, args.days)
                took = time.monotonic() - started
                print(f"{n} segments x {args.days} days filled in {took:.0f}s", flush=True)
                load_once(driver, running.url, token)  # warm: caches, the browser's parse of the libraries
                alerts = alerts_seconds(driver)  # they come after the overview has drawn
                runs = [load_once(driver, running.url, token) for _ in range(args.loads)]
                assert all(r[2] == n for r in runs), f"expected {n} heatmap cells, got {runs[0][2]}"
                results.append((n, [r[0] for r in runs], [r[1] for r in runs], alerts))
    finally:
        driver.quit()
        running.stop()
        st.remove()
        shutil.rmtree(base, ignore_errors=True)

    print()
    print(f"overview drawn (page load -> heatmap drawn, data in), {args.loads} loads each, headless chromium")
    print(f"{'segments':>10} {'median s':>9} {'max s':>7} {'heatmap API s':>14} {'goal':>6}  verdict"
          f"  {'alerts filled s':>15}")
    for n, drawn, api, alerts in results:
        median = statistics.median(drawn)
        verdict = "ok  " if median < GOAL_S else "over"
        api_s = statistics.median(api)
        print(f"{n:>10,} {median:>9.2f} {max(drawn):>7.2f} {api_s:>14.2f} {GOAL_S:>5.1f}s  {verdict}"
              f"  {alerts:>15.2f}")
    print("alerts filled: lead_flow_alerts (sql/85_alerts) fills its section after the overview has drawn; "
          "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
