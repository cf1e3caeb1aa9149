"""Loading the PC4 -> province reference from a CSV into the database.

Two shapes are accepted, told apart by their header: per postcode (`pc4,province`) and ranges
(`from,to,province`). The file is read whole and checked (header, numbers) before the database is
touched; the rest (known provinces, no repeated or overlapping PC4s) is checked in SQL, in the same
transaction as the replacement. A bad file is refused with a message naming the line, and the table
keeps what it had.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import psycopg

PER_PC4 = ("pc4", "province")
RANGES = ("from", "to", "province")


class PC4FileError(ValueError):
    """The PC4 file cannot be loaded; the message says which file, which line and what is wrong."""


@dataclass(frozen=True)
class LoadResult:
    ranges: int
    postcodes: int
    leads_assigned: int


def _int(value: str, column: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 99_999:
        raise ValueError(f"{column} is {value[:40]!r}, not a 4-digit number")
    return number


def read_ranges(path: Path) -> list[tuple[int, int, int, str]]:
    """(line, first, last, province) rows from either CSV shape; raises PC4FileError naming the bad line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            fields = {name.strip().lower() for name in reader.fieldnames or [] if name}
            is_ranges = set(RANGES) <= fields
            if not is_ranges and not set(PER_PC4) <= fields:
                raise PC4FileError(
                    f"{path}: the header must be 'pc4,province' or 'from,to,province', "
                    f"got {','.join(reader.fieldnames or []) or 'nothing'}"
                )
            rows: list[tuple[int, int, int, str]] = []
            for row in reader:
                line = reader.line_num
                values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                try:
                    if is_ranges:
                        first, last = _int(values["from"], "from"), _int(values["to"], "to")
                    else:
                        first = last = _int(values["pc4"], "pc4")
                except ValueError as exc:
                    raise PC4FileError(f"{path}:{line}: {exc}") from None
                rows.append((line, first, last, values["province"]))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PC4FileError(f"{path}: cannot read the file: {exc}") from None
    if not rows:
        raise PC4FileError(f"{path}: the file has no rows")
    return rows


def load_pc4_file(database_url: str, path: Path) -> LoadResult:
    """Replace the PC4 reference with the file's contents, then assign waiting leads to segments.

    All in one transaction: on any error nothing changes. Raises PC4FileError for a bad file.
    """
    path = Path(path)
    rows = read_ranges(path)
    with psycopg.connect(database_url) as conn:
        try:
            with conn.transaction():
                conn.execute(
                    "create temp table pc4_staging (line int, pc4_from int, pc4_to int, province text)"
                    " on commit drop"
                )
                with conn.cursor().copy(
                    "copy pc4_staging (line, pc4_from, pc4_to, province) from stdin"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
                ranges, postcodes = conn.execute(
                    "select * from lead_flow.replace_postcode_regions()"
                ).fetchone()
                assigned = conn.execute("select lead_flow.assign_segments_to_leads()").fetchone()[0]
        except psycopg.errors.InvalidParameterValue as exc:  # 22023: the SQL checks refused a row
            raise PC4FileError(f"{path}: {exc.diag.message_primary}") from None
    return LoadResult(ranges, postcodes, assigned)
