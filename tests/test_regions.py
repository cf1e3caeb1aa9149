"""Regions: extract_region(province, postcode) and the PC4 reference loaded by `leadflow regions load`.

Table-driven: every province in several spellings, the README's 12 spot-check postcodes in every
format, garbage. The PC4 reference is checked against all 4,067 rows of the CBS file in one query.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glue.paths import PC4_CSV, PC4_RANGES_CSV, ROOT
from tests.support import create_industry, create_segment

LEADFLOW = ROOT / ".venv" / "bin" / "leadflow"

PROVINCE_SPELLINGS: dict[str, list[str]] = {
    "groningen": ["Groningen", "groningen", "GRONINGEN", " Groningen ", "GR", "Provincie Groningen"],
    "friesland": ["Friesland", "Fryslân", "FRYSLÂN", "fryslan", "FR", "frl"],
    "drenthe": ["Drenthe", "drenthe", "Drente", "DR", "prov. Drenthe"],
    "overijssel": ["Overijssel", "overijssel", "OVERIJSSEL", "OV", "Overijsel"],
    "flevoland": ["Flevoland", "flevoland", "FL", " FLEVOLAND"],
    "gelderland": ["Gelderland", "gelderland", "GLD", "GE", "Provincie Gelderland"],
    "utrecht": ["Utrecht", "utrecht", "UT", "Utr.", "provincie utrecht"],
    "noord-holland": [
        "Noord-Holland",
        "noord holland",
        "NH",
        "N-Holland",
        "N.-Holland",
        "North Holland",
        "noord-holland",
        "NOORD HOLLAND",
    ],
    "zuid-holland": ["Zuid-Holland", " ZUID-HOLLAND ", "zuid holland", "ZH", "Z-Holland", "South Holland"],
    "zeeland": ["Zeeland", "zeeland", "ZE", "ZEELAND"],
    "noord-brabant": [
        "Noord-Brabant",
        "noord brabant",
        "N-Brabant",
        "NB",
        "Brabant",
        "noord-brabant",
        "N. Brabant",
        "North Brabant",
    ],
    "limburg": ["Limburg", "limburg", "LB", "LI", "Provincie Limburg"],
}

# The data README's spot checks.
SPOT_CHECKS = {
    "1012": "noord-holland",
    "3011": "zuid-holland",
    "5611": "noord-brabant",
    "9711": "groningen",
    "6211": "limburg",
    "8911": "friesland",
    "1316": "flevoland",
    "4331": "zeeland",
    "3511": "utrecht",
    "7511": "overijssel",
    "9401": "drenthe",
    "6811": "gelderland",
}
POSTCODE_FORMATS = [
    "{pc4}",
    "{pc4} AB",
    "{pc4}ab",
    "{pc4}AB",
    " {pc4} ab ",
    "{pc4}-AB",
    "{pc4}  XZ",
    "NL-{pc4} AB",
    "nl {pc4}ab",
]

GARBAGE = [
    "abcd",
    "",
    " ",
    "99999",
    "0999",
    "999",
    "12345",
    "5611 ABC",
    "5611 A",
    "AB 5611",
    "5611AB5611",
    "🏠",
    "🏠 5611 AB",
    "5611 🏠",
    "x" * 10_000,
    "5" * 10_000,
    "5611 AB" + " " * 10_000,
    "Noord-Brabant" * 800,
    "'; drop table leads; --",
    "\t\n",
    "N/A",
    "onbekend",
    "Nederland",
    "Holland",
    "België",
]


def regions_of(conn: psycopg.Connection, pairs: list[tuple[str | None, str | None]]) -> list[str | None]:
    """extract_region for every (province, postcode) pair, in one round trip, in order."""
    rows = conn.execute(
        """select public.extract_region(p.province, p.postcode)
             from unnest(%s::text[], %s::text[]) with ordinality as p (province, postcode, n)
            order by p.n""",
        ([p for p, _ in pairs], [c for _, c in pairs]),
    ).fetchall()
    return [r[0] for r in rows]


def test_every_province_in_every_usual_spelling(db: psycopg.Connection) -> None:
    cases = [(spelling, region) for region, spellings in PROVINCE_SPELLINGS.items() for spelling in spellings]
    got = regions_of(db, [(spelling, None) for spelling, _ in cases])
    assert {s: g for (s, _), g in zip(cases, got, strict=True)} == dict(cases)
    # normalize_region is the same rule for names alone, and knows every slug.
    slugs = [r[0] for r in db.execute("select slug from public.regions order by slug")]
    assert len(slugs) == 12
    assert [db.execute("select public.normalize_region(%s)", (s,)).fetchone()[0] for s in slugs] == slugs


def test_the_spot_check_postcodes_in_every_format(db: psycopg.Connection) -> None:
    cases = [(fmt.format(pc4=pc4), region) for pc4, region in SPOT_CHECKS.items() for fmt in POSTCODE_FORMATS]
    got = regions_of(db, [(None, postcode) for postcode, _ in cases])
    assert {p: g for (p, _), g in zip(cases, got, strict=True)} == dict(cases)


def test_a_province_wins_over_the_postcode_and_garbage_falls_through(db: psycopg.Connection) -> None:
    assert regions_of(
        db,
        [
            ("Limburg", "5611 AB"),  # the province names one: it wins
            ("abcd", "5611 AB"),  # not a province: the postcode decides
            ("", "9711"),
            (None, "9711"),
            ("🏠", "abcd"),
            ("Limburg", "abcd"),
        ],
    ) == ["limburg", "noord-brabant", "groningen", "groningen", None, "limburg"]


def test_garbage_and_null_give_null_never_an_error(db: psycopg.Connection) -> None:
    pairs = [(g, None) for g in GARBAGE] + [(None, g) for g in GARBAGE] + [(g, g) for g in GARBAGE]
    pairs.append((None, None))
    assert regions_of(db, pairs) == [None] * len(pairs)
    assert db.execute("select public.normalize_region(null), public.normalize_region('')").fetchone() == (
        None,
        None,
    )


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(province=st.none() | _TEXT, postcode=st.none() | _TEXT)
def test_extract_region_never_raises(
    db: psycopg.Connection, province: str | None, postcode: str | None
) -> None:
    region = db.execute("select public.extract_region(%s, %s)", (province, postcode)).fetchone()[0]
    assert region is None or db.execute("select 1 from public.regions where slug = %s", (region,)).fetchone()


def test_every_pc4_of_the_cbs_file_maps_to_its_province(db: psycopg.Connection) -> None:
    """The loaded reference (the ranges file, as `make up` and the test stack load it) against all 4,067
    PC4s of the per-postcode file, in one set-based query."""
    assert PC4_CSV.exists(), f"the reference file {PC4_CSV} is missing"
    db.execute("create temp table cbs_pc4 (pc4 text, province text) on commit drop")
    with db.cursor().copy("copy cbs_pc4 from stdin with (format csv, header true)") as copy:
        copy.write(PC4_CSV.read_bytes())
    total, wrong, sample = db.execute(
        """select count(*), count(*) filter (where x.region is distinct from x.province),
                  (array_agg(x.pc4 || ':' || coalesce(x.region, 'NULL') || '<>' || x.province)
                     filter (where x.region is distinct from x.province))[1:5]
             from (select c.pc4, c.province, public.extract_region(null, c.pc4) as region from cbs_pc4 c) x"""
    ).fetchone()
    assert (total, wrong, sample) == (4067, 0, None)


# --- loading the PC4 reference through the command line ----------------------------------------------


def leadflow_load(db_url: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LEADFLOW), "regions", "load", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": db_url},
        timeout=60,
    )


def reference(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute("select pc4::text, region from lead_flow.postcode_regions order by pc4").fetchall()


@pytest.fixture
def restores_reference(db_url: str) -> Iterator[None]:
    """Tests that replace the PC4 reference put the stack's default (the ranges file) back afterwards."""
    yield
    done = leadflow_load(db_url, PC4_RANGES_CSV)
    assert done.returncode == 0, done.stderr


def test_loading_the_per_pc4_file_and_then_the_ranges_file(
    committed: psycopg.Connection, db_url: str, restores_reference: None
) -> None:
    done = leadflow_load(db_url, PC4_CSV)
    assert done.returncode == 0, done.stderr
    ranges, postcodes = committed.execute(
        "select count(*), sum(upper(pc4) - lower(pc4)) from lead_flow.postcode_regions"
    ).fetchone()
    assert postcodes == 4067 and ranges < 4067  # adjacent PC4s of one province are folded into ranges
    assert f"covering {postcodes} postcodes" in done.stdout
    assert committed.execute("select public.extract_region(null, '5611 AB')").fetchone() == ("noord-brabant",)
    # A PC4 the per-postcode file does not list is unknown now...
    unused = committed.execute(
        """select min(pc) from generate_series(1000, 9999) pc
            where not exists (select from lead_flow.postcode_regions r where r.pc4 @> pc)"""
    ).fetchone()[0]
    assert committed.execute("select public.extract_region(null, %s)", (str(unused),)).fetchone() == (None,)

    done = leadflow_load(db_url, PC4_RANGES_CSV)
    assert done.returncode == 0, done.stderr
    assert "loaded 110 PC4 ranges covering 9000 postcodes" in done.stdout
    # ... and falls in the following range with the ranges file.
    assert (
        committed.execute("select public.extract_region(null, %s)", (str(unused),)).fetchone()[0] is not None
    )


def test_loading_the_reference_assigns_the_leads_that_waited_for_it(
    committed: psycopg.Connection, db_url: str, restores_reference: None
) -> None:
    industry = create_industry(committed, "Schilder")
    segment = create_segment(committed, "schilder", "noord-brabant")
    committed.execute("delete from lead_flow.postcode_regions")
    lead = committed.execute(
        "insert into public.leads (industry_id, postcode) values (%s, '5611 AB') returning id", (industry,)
    ).fetchone()[0]
    assert committed.execute("select segment_id from public.leads where id = %s", (lead,)).fetchone() == (
        None,
    )

    done = leadflow_load(db_url, PC4_RANGES_CSV)
    assert done.returncode == 0, done.stderr
    assert "1 leads newly assigned" in done.stdout
    assert committed.execute("select segment_id from public.leads where id = %s", (lead,)).fetchone() == (
        segment,
    )


BAD_FILES = {
    "wrong header": ("postcode,provincie\n1012,noord-holland\n", "the header must be"),
    "empty": ("", "the header must be"),
    "header only": ("pc4,province\n", "has no rows"),
    "not a number": ("pc4,province\n1012,noord-holland\n10x3,noord-holland\n", ":3: pc4 is '10x3'"),
    "huge number": ("from,to,province\n1000,99999999999999999999,noord-holland\n", ":2: to is"),
    "unknown province": (
        "pc4,province\n1012,noord-holland\n1013,Atlantis\n",
        'line 3: invalid PC4 row 1013 - 1013 "Atlantis"',
    ),
    "out of range": ("from,to,province\n999,1100,noord-holland\n", "line 2: invalid PC4 row 999 - 1100"),
    "from after to": ("from,to,province\n1100,1000,noord-holland\n", "from <= to"),
    "repeated PC4": (
        "pc4,province\n1012,noord-holland\n1013,noord-holland\n1012,utrecht\n",
        "line 4: PC4 1012 is already covered",
    ),
    "overlapping ranges": (
        "from,to,province\n1000,1999,noord-holland\n1500,2500,utrecht\n",
        "line 3: PC4 1500 is already covered",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_clear_error_and_nothing_is_lost(
    case: str, committed: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    content, message = BAD_FILES[case]
    before = reference(committed)
    bad = tmp_path / "pc4.csv"
    bad.write_text(content, encoding="utf-8")
    done = leadflow_load(db_url, bad)
    assert done.returncode != 0
    assert message in done.stderr
    assert reference(committed) == before and len(before) == 110


def test_a_missing_file_is_refused_with_a_clear_error(
    committed: psycopg.Connection, db_url: str, tmp_path: Path
) -> None:
    before = reference(committed)
    done = leadflow_load(db_url, tmp_path / "nowhere.csv")
    assert done.returncode != 0
    assert "nowhere.csv: cannot read the file" in done.stderr
    assert reference(committed) == before
