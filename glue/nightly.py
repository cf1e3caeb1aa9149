"""`leadflow nightly`: run the nightly pipeline for one day, or backfill stats and plans for a range.

All the work is SQL (`lead_flow.run_lead_flow_nightly`, `lead_flow.backfill_lead_flow`: every step
registered in `lead_flow.pipeline_steps`, partner marketing included); this prints what each step
did and exits non-zero when a step failed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import psycopg

from glue import db

Row = tuple[str, date, str, int, float, str | None]


def run_day(url: str | None, day: date | None) -> list[Row]:
    """Every registered nightly step for one Amsterdam day (None: yesterday), in order."""
    with db.connect(url, autocommit=True) as conn:
        return conn.execute("select * from lead_flow.run_lead_flow_nightly(%s)", (day,)).fetchall()


def backfill(url: str | None, date_from: date, date_to: date) -> list[Row]:
    """The steps that are not yesterday-only (stats, plans, partner lead gaps; no budget changes or
    recommendations) for every day date_from..date_to, oldest first."""
    with db.connect(url, autocommit=True) as conn:
        query = "select * from lead_flow.backfill_lead_flow(%s, %s)"
        return conn.execute(query, (date_from, date_to)).fetchall()


def _print(rows: list[Row]) -> None:
    for step, day, status, count, duration_ms, error in rows:
        line = f"{day} {step:<23} {status:<8} {count:>7} rows {float(duration_ms):>9.1f} ms"
        print(line + (f"  {error}" if error else ""))


def main(args: argparse.Namespace) -> int:
    date_from: date | None = getattr(args, "date_from", None)
    date_to: date | None = getattr(args, "date_to", None)
    day: date | None = getattr(args, "date", None)
    if (date_from is None) != (date_to is None):
        print("leadflow nightly: --from and --to go together", file=sys.stderr)
        return 2
    if date_from is not None and day is not None:
        print("leadflow nightly: give either --date or --from/--to, not both", file=sys.stderr)
        return 2
    url = db.database_url()
    try:
        rows = backfill(url, date_from, date_to) if date_from and date_to else run_day(url, day)
    except psycopg.errors.InvalidParameterValue as exc:
        print(f"leadflow nightly: {exc.diag.message_primary}", file=sys.stderr)
        return 2
    _print(rows)
    return 1 if any(status == "failed" for _, _, status, *_ in rows) else 0
