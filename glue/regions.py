"""Loading the PC4 -> province reference from a CSV into the database.

Two shapes are accepted, told apart by their header: per postcode (`pc4,province`) and ranges
(`from,to,province`). Validation (known provinces, no overlaps) happens in SQL, atomically: a bad
file is refused with a clear error and the table keeps what it had.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import psycopg


@dataclass(frozen=True)
class LoadResult:
    ranges: int
    postcodes: int
    leads_assigned: int


def read_ranges(path: Path) -> list[tuple[int, int, str]]:
    """(first, last, province) rows from either CSV shape; raises ValueError naming the bad line."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = {name.strip().lower() for name in reader.fieldnames or []}
        rows: list[tuple[int, int, str]] = []
        for line, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            try:
                if {"from", "to", "province"} <= fields:
                    rows.append((int(row["from"]), int(row["to"]), row["province"]))
                elif {"pc4", "province"} <= fields:
                    rows.append((int(row["pc4"]), int(row["pc4"]), row["province"]))
                else:
                    raise ValueError(f"{path}: header must be 'pc4,province' or 'from,to,province'")
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{path}:{line}: {exc}") from None
    return rows


def load_pc4_file(database_url: str, path: Path) -> LoadResult:
    """Replace the PC4 reference with the file's contents, then assign waiting leads to segments."""
    rows = read_ranges(Path(path))
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute("create temp table pc4_staging (pc4_from int, pc4_to int, province text) on commit drop")
        with conn.cursor().copy("copy pc4_staging (pc4_from, pc4_to, province) from stdin") as copy:
            for row in rows:
                copy.write_row(row)
        ranges, postcodes = conn.execute("select * from lead_flow.replace_postcode_regions()").fetchone()
        assigned = conn.execute("select public.assign_segments_to_leads()").fetchone()[0]
    return LoadResult(ranges, postcodes, assigned)
