"""Segments and lead assignment: the trigger on leads, the auto-create setting, the backfill.

A lead is always stored: whatever cannot be assigned (unknown industry, no region, garbage, NULLs,
an unexpected error) leaves segment_id NULL, and an unexpected error is written to lead_flow_logs.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import RestClients, create_industry, create_segment


def insert_lead(
    conn: psycopg.Connection,
    industry: uuid.UUID | None,
    province: str | None = None,
    postcode: str | None = None,
    **extra: object,
) -> uuid.UUID:
    columns = ["industry_id", "province", "postcode", *extra]
    placeholders = ", ".join(["%s"] * len(columns))
    row = conn.execute(
        f"insert into public.leads ({', '.join(columns)}) values ({placeholders}) returning id",
        (industry, province, postcode, *extra.values()),
    ).fetchone()
    return row[0]


def segment_of(conn: psycopg.Connection, lead: uuid.UUID) -> uuid.UUID | None:
    return conn.execute("select segment_id from public.leads where id = %s", (lead,)).fetchone()[0]


def code_of(conn: psycopg.Connection, lead: uuid.UUID) -> str | None:
    row = conn.execute(
        "select s.code from public.leads l left join public.lead_segments s on s.id = l.segment_id "
        "where l.id = %s",
        (lead,),
    ).fetchone()
    return row[0]


def set_auto_create(conn: psycopg.Connection, on: bool) -> None:
    conn.execute(
        "update public.lead_flow_settings set value = %s::jsonb "
        "where key = 'auto_create_segments' and segment_id is null",
        ("true" if on else "false",),
    )


def segment_count(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from public.lead_segments").fetchone()[0]


@pytest.mark.parametrize(
    ("branch", "region", "code"),
    [
        ("schilder", "noord-brabant", "schilder_noord_brabant"),
        ("glas zetter", "zuid-holland", "glas_zetter_zuid_holland"),
        ("loodgieter", "utrecht", "loodgieter_utrecht"),
        ("dak- en gevel", "friesland", "dak_en_gevel_friesland"),
    ],
)
def test_the_code_is_branch_underscore_region(
    db: psycopg.Connection, branch: str, region: str, code: str
) -> None:
    segment = create_segment(db, branch, region)
    assert db.execute("select code from public.lead_segments where id = %s", (segment,)).fetchone() == (code,)
    assert db.execute("select lead_flow.segment_code(%s, %s)", (branch, region)).fetchone() == (code,)


@pytest.mark.parametrize(
    ("name", "branch"),
    [
        ("Schilder", "schilder"),
        ("  SCHILDER\t", "schilder"),
        ("Glas  Zetter", "glas zetter"),
        ("\tdak\n dekker ", "dak dekker"),
        ("   ", None),
        ("", None),
        (None, None),
    ],
)
def test_the_branch_is_the_industry_name_normalized(
    db: psycopg.Connection, name: str | None, branch: str | None
) -> None:
    assert db.execute("select lead_flow.normalize_branch(%s)", (name,)).fetchone() == (branch,)


def test_a_lead_gets_its_segment_from_industry_and_province_or_postcode(db: psycopg.Connection) -> None:
    schilder = create_industry(db, "Schilder")
    segment = create_segment(db, "schilder", "noord-brabant")
    other = create_segment(db, "schilder", "limburg")
    assert segment_of(db, insert_lead(db, schilder, "Noord-Brabant")) == segment
    assert segment_of(db, insert_lead(db, schilder, " noord brabant ", "1012 AB")) == segment  # province wins
    assert segment_of(db, insert_lead(db, schilder, None, "5611ab")) == segment
    assert segment_of(db, insert_lead(db, schilder, "onbekend", "6211 AA")) == other


def test_an_explicit_segment_id_is_kept(db: psycopg.Connection) -> None:
    schilder = create_industry(db, "Schilder")
    create_segment(db, "schilder", "noord-brabant")
    chosen = create_segment(db, "dakdekker", "utrecht")
    lead = insert_lead(db, schilder, "Noord-Brabant", segment_id=chosen)
    assert segment_of(db, lead) == chosen


@pytest.mark.parametrize("auto_create", [True, False], ids=["auto-create on", "auto-create off"])
def test_unknown_industry_garbage_and_nulls_store_the_lead_with_segment_null(
    db: psycopg.Connection, auto_create: bool
) -> None:
    set_auto_create(db, auto_create)
    # The live platform's industries may lack our length check (rolled back after the test).
    db.execute("alter table public.industries drop constraint industries_name_check")
    schilder = create_industry(db, "Schilder")
    create_segment(db, "schilder", "noord-brabant")
    before = segment_count(db)
    leads = [
        insert_lead(db, None, "Noord-Brabant", "5611 AB"),  # no industry
        insert_lead(db, schilder, "abcd", "abcd"),  # no region
        insert_lead(db, schilder, None, "99999"),  # garbage postcode
        insert_lead(db, schilder, "🏠" * 50, "x" * 10_000),  # emoji, 10 kB
        insert_lead(db, None, None, None),  # all NULLs
        insert_lead(db, create_industry(db, "---"), "Utrecht"),  # a name that cannot be a branch
        insert_lead(db, create_industry(db, "x" * 100 + " " + "y"), "Utrecht"),  # a branch over 100 chars
    ]
    stored = db.execute(
        "select count(*), count(segment_id) from public.leads where id = any(%s)", (leads,)
    ).fetchone()
    assert stored == (len(leads), 0)
    assert segment_count(db) == before  # nothing created from garbage, whatever the setting
    assert db.execute("select count(*) from public.lead_flow_logs").fetchone() == (
        0,
    )  # expected input, no errors


def test_auto_create_on_creates_the_missing_segment(db: psycopg.Connection) -> None:
    set_auto_create(db, True)
    dakdekker = create_industry(db, "Dakdekker")
    first = insert_lead(db, dakdekker, "UT")
    second = insert_lead(db, dakdekker, None, "3511 AB")
    assert code_of(db, first) == code_of(db, second) == "dakdekker_utrecht"
    assert db.execute(
        "select branch, region, is_active from public.lead_segments where code = 'dakdekker_utrecht'"
    ).fetchall() == [("dakdekker", "utrecht", True)]


def test_auto_create_off_leaves_the_lead_unassigned(db: psycopg.Connection) -> None:
    set_auto_create(db, False)
    dakdekker = create_industry(db, "Dakdekker")
    lead = insert_lead(db, dakdekker, "UT")
    assert segment_of(db, lead) is None
    assert segment_count(db) == 0
    # An existing segment is still found with the setting off.
    segment = create_segment(db, "dakdekker", "utrecht")
    assert segment_of(db, insert_lead(db, dakdekker, "Utrecht")) == segment


def test_an_inactive_segment_takes_no_leads_and_is_not_duplicated(db: psycopg.Connection) -> None:
    set_auto_create(db, True)
    schilder = create_industry(db, "Schilder")
    create_segment(db, "schilder", "zeeland", is_active=False)
    lead = insert_lead(db, schilder, "Zeeland")
    assert segment_of(db, lead) is None
    assert segment_count(db) == 1


def test_a_branch_spelled_differently_finds_the_segment_by_code(db: psycopg.Connection) -> None:
    """'Dak-dekker' and the segment 'dak dekker' share the code dak_dekker_utrecht: one segment."""
    set_auto_create(db, True)
    segment = create_segment(db, "dak dekker", "utrecht")
    lead = insert_lead(db, create_industry(db, "Dak-dekker"), "Utrecht")
    assert segment_of(db, lead) == segment and segment_count(db) == 1


def test_changing_industry_province_or_postcode_reassigns(db: psycopg.Connection) -> None:
    set_auto_create(db, False)
    schilder, dakdekker = create_industry(db, "Schilder"), create_industry(db, "Dakdekker")
    brabant = create_segment(db, "schilder", "noord-brabant")
    limburg = create_segment(db, "schilder", "limburg")
    roofer = create_segment(db, "dakdekker", "limburg")
    lead = insert_lead(db, schilder, "Noord-Brabant", "5611 AB")
    assert segment_of(db, lead) == brabant

    db.execute("update public.leads set province = 'Limburg' where id = %s", (lead,))
    assert segment_of(db, lead) == limburg
    db.execute("update public.leads set industry_id = %s where id = %s", (dakdekker, lead))
    assert segment_of(db, lead) == roofer
    db.execute("update public.leads set industry_id = %s, province = null where id = %s", (schilder, lead))
    assert segment_of(db, lead) == brabant  # the postcode decides now
    db.execute("update public.leads set postcode = 'onbekend' where id = %s", (lead,))
    assert segment_of(db, lead) is None  # no region any more
    # Other updates leave it alone; an explicit segment_id in the update wins.
    db.execute("update public.leads set postcode = '6211', status = 'accepted' where id = %s", (lead,))
    assert segment_of(db, lead) == limburg
    db.execute("update public.leads set province = 'Limburg', segment_id = %s where id = %s", (brabant, lead))
    assert segment_of(db, lead) == brabant


def test_an_unexpected_error_is_logged_and_the_lead_still_stored(db: psycopg.Connection) -> None:
    """Construct one: creating the segment fails (a trigger on lead_segments raises)."""
    set_auto_create(db, True)
    db.execute("""create function pg_temp.refuse() returns trigger language plpgsql as $$
                  begin raise exception 'disk on fire' using errcode = 'XX000'; end $$""")
    db.execute(
        "create trigger refuse before insert on public.lead_segments "
        "for each row execute function pg_temp.refuse()"
    )
    industry = create_industry(db, "Stukadoor")
    lead = insert_lead(db, industry, "Gelderland")
    assert segment_of(db, lead) is None
    level, source, message, details = db.execute(
        "select level, source, message, details from public.lead_flow_logs"
    ).fetchone()
    assert (level, source) == ("error", "lead_flow")
    assert "segment assignment failed" in message and "disk on fire" in message
    assert details["lead_id"] == str(lead) and details["sqlstate"] == "XX000"
    assert details["industry_id"] == str(industry) and details["province"] == "Gelderland"


def test_the_backfill_assigns_existing_leads(db: psycopg.Connection) -> None:
    set_auto_create(db, False)
    schilder = create_industry(db, "Schilder")
    old = insert_lead(db, schilder, "Zeeland")
    db.execute("update public.leads set created_at = now() - interval '10 days' where id = %s", (old,))
    recent = [insert_lead(db, schilder, None, "4331 AB"), insert_lead(db, schilder, "Utrecht")]
    garbage = insert_lead(db, schilder, "abcd")
    assert db.execute("select count(segment_id) from public.leads").fetchone() == (0,)

    # An admin creates one segment later: the backfill assigns its leads, only those.
    zeeland = create_segment(db, "schilder", "zeeland")
    backfill = "select lead_flow.assign_segments_to_leads(now() - interval '1 day')"
    assert db.execute(backfill).fetchone() == (1,)
    assert segment_of(db, recent[0]) == zeeland and segment_of(db, old) is None

    # With auto-create on, missing segments are created for every unassigned lead (set-based).
    set_auto_create(db, True)
    assert db.execute("select lead_flow.assign_segments_to_leads()").fetchone() == (2,)
    assert code_of(db, old) == "schilder_zeeland" and code_of(db, recent[1]) == "schilder_utrecht"
    assert segment_of(db, garbage) is None
    # Idempotent: nothing left to assign, no segment created.
    segments = segment_count(db)
    assert db.execute("select lead_flow.assign_segments_to_leads()").fetchone() == (0,)
    assert segment_count(db) == segments


def test_through_the_api_a_lead_is_never_refused_by_assignment(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    industry = create_industry(committed, "Schilder")
    segment = create_segment(committed, "schilder", "noord-brabant")
    good, bad = (
        rest.admin.from_("leads")
        .insert(
            [
                {"industry_id": str(industry), "province": "N-Brabant", "postcode": None},
                {"industry_id": str(industry), "province": "🏠", "postcode": "99999"},
            ]
        )
        .execute()
        .data
    )
    assert good["segment_id"] == str(segment)
    assert bad["segment_id"] is None


def test_the_assignment_follows_renames_deactivation_and_new_segments(db: psycopg.Connection) -> None:
    """The assignment reads industries and lead_segments as they are: every change applies to the
    next lead, whichever statement makes it."""
    set_auto_create(db, False)
    industry = create_industry(db, "Schilder")
    utrecht = create_segment(db, "schilder", "utrecht")
    assert segment_of(db, insert_lead(db, industry, "Utrecht")) == utrecht

    db.execute("update public.lead_segments set is_active = false where id = %s", (utrecht,))
    assert segment_of(db, insert_lead(db, industry, "Utrecht")) is None
    db.execute("update public.lead_segments set is_active = true where id = %s", (utrecht,))
    assert segment_of(db, insert_lead(db, industry, "Utrecht")) == utrecht

    roofer = create_segment(db, "dakdekker", "utrecht")
    db.execute("update public.industries set name = 'Dakdekker' where id = %s", (industry,))
    assert segment_of(db, insert_lead(db, industry, "Utrecht")) == roofer

    db.execute("update public.lead_segments set region = 'zeeland' where id = %s", (roofer,))
    assert segment_of(db, insert_lead(db, industry, "Utrecht")) is None
    assert segment_of(db, insert_lead(db, industry, "Zeeland")) == roofer

    db.execute("delete from public.lead_segments where id = %s", (roofer,))
    assert segment_of(db, insert_lead(db, industry, "Zeeland")) is None


def test_assignment_is_lookups_no_code_is_written_at_run_time(db: psycopg.Connection) -> None:
    """Changes to the reference tables and to segments reach the next lead without any function being
    created or replaced: the functions' catalog rows stay as they were."""
    set_auto_create(db, True)
    functions = """select array_agg(p.oid::regprocedure::text || '@' || p.xmin::text order by p.oid)
                     from pg_proc p where p.pronamespace = 'lead_flow'::regnamespace"""
    before = db.execute(functions).fetchone()[0]
    industry = create_industry(db, "Schilder")
    brabant = create_segment(db, "schilder", "noord-brabant")
    db.execute("insert into lead_flow.region_aliases (alias, region) values ('brabantia', 'noord-brabant')")
    assert segment_of(db, insert_lead(db, industry, "Brabantia")) == brabant
    db.execute("delete from lead_flow.postcode_regions where pc4 @> 5611")
    db.execute("insert into lead_flow.postcode_regions (pc4, region) values ('[5611,5612)', 'limburg')")
    assert code_of(db, insert_lead(db, industry, None, "5611 AB")) == "schilder_limburg"  # auto-created
    db.execute("update public.lead_segments set is_active = false where id = %s", (brabant,))
    assert segment_of(db, insert_lead(db, industry, "NB")) is None
    assert db.execute(functions).fetchone()[0] == before
    assert db.execute(
        "select count(*) from pg_trigger where tgname like '%%compile%%' and not tgisinternal"
    ).fetchone() == (0,)


_BRANCH = st.text(alphabet=st.sampled_from("abcxyz019 -_.&'éÉ/\t"), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(branch=_BRANCH, region=st.sampled_from(["utrecht", "noord-brabant", "zuid-holland"]))
def test_one_segment_code_rule_the_lookup_and_the_stored_code_agree(
    db: psycopg.Connection, branch: str, region: str
) -> None:
    """lead_flow.segment_code, which the lookups use, gives what lead_segments.code stores for any
    segment that can exist, and the industry name spelled otherwise finds that segment."""
    normalized = db.execute("select lead_flow.normalize_branch(%s)", (branch,)).fetchone()[0]
    valid = db.execute("select lead_flow.is_valid_branch(%s)", (normalized,)).fetchone()[0]
    computed = db.execute("select lead_flow.segment_code(%s, %s)", (normalized, region)).fetchone()[0]
    with db.transaction(force_rollback=True):
        if not valid:
            assert computed is None
            return
        stored = db.execute(
            "insert into public.lead_segments (branch, region) values (%s, %s) returning code",
            (normalized, region),
        ).fetchone()[0]
        assert computed == stored
        assert (
            db.execute("select lead_flow.segment_code(%s, %s)", (branch.upper(), region)).fetchone()[0]
            == stored
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_BRANCH, spelling=_BRANCH, same=st.booleans(), active=st.booleans())
def test_the_trigger_gives_the_segment_the_code_rule_names(
    db: psycopg.Connection, name: str, spelling: str, same: bool, active: bool
) -> None:
    """The trigger looks a lead's segment up by branch = lower(industry name) and region, and goes to
    the code rule only when that misses: for any industry name and any spelling of its segment's
    branch (the same as the name, or another), the lead gets the active segment whose code is
    segment_code(industry name, region), or none, and no segment is added (auto-create off)."""
    set_auto_create(db, False)
    with db.transaction(force_rollback=True):
        spelled = name if same else spelling
        branch = db.execute("select lead_flow.normalize_branch(%s)", (spelled,)).fetchone()[0]
        if db.execute("select lead_flow.is_valid_branch(%s)", (branch,)).fetchone()[0]:
            db.execute(
                "insert into public.lead_segments (branch, region, is_active) values (%s, 'utrecht', %s)",
                (branch, active),
            )
        industry = create_industry(db, name) if name.strip() else None  # industries refuse a blank name
        expected = db.execute(
            "select s.id from public.lead_segments s"
            " where s.code = lead_flow.segment_code(%s, 'utrecht') and s.is_active",
            (name,),
        ).fetchone()
        segments = segment_count(db)
        lead = insert_lead(db, industry, "Utrecht")
        assert segment_of(db, lead) == (expected[0] if expected and industry else None)
        assert segment_count(db) == segments


def test_an_auto_created_segment_takes_the_next_leads_of_the_same_statement(db: psycopg.Connection) -> None:
    """A segment created on the fly by one lead is found by the leads after it in the same COPY: none
    creates a duplicate."""
    set_auto_create(db, True)
    industry = create_industry(db, "Glazenwasser")
    with db.cursor() as cur, cur.copy("copy public.leads (industry_id, province, postcode) from stdin") as cp:
        for province, postcode in [("Zeeland", None), (None, "4331 AB"), ("ZE", None), ("Utrecht", "4331")]:
            cp.write_row((industry, province, postcode))
    codes = db.execute(
        "select s.code, count(*) from public.leads l join public.lead_segments s on s.id = l.segment_id "
        "where l.industry_id = %s group by 1 order by 1",
        (industry,),
    ).fetchall()
    assert codes == [("glazenwasser_utrecht", 1), ("glazenwasser_zeeland", 3)]


def test_the_lead_trigger_ignores_the_callers_search_path(committed: psycopg.Connection, db_url: str) -> None:
    """The trigger function is SECURITY DEFINER with a fixed search_path (sql/20_segments.sql): a
    session whose search_path puts look-alike functions and operators before pg_catalog must neither
    run them nor get another segment."""
    industry = create_industry(committed, "Schilder")
    segment = create_segment(committed, "schilder", "noord-brabant")
    committed.execute("create schema zz_hostile")
    try:
        for sql in [
            "create function zz_hostile.lower(text) returns text language sql return 'utrecht'",
            "create function zz_hostile.left(text, integer) returns text language sql return '1012'",
            "create function zz_hostile.jsonb_object_field_text(jsonb, text) returns text language sql"
            " return 'x'",
            "create operator zz_hostile.->> (leftarg = jsonb, rightarg = text,"
            " function = zz_hostile.jsonb_object_field_text)",
            "create function zz_hostile.segment_for_lead(uuid, uuid, text, text) returns uuid language sql"
            " return null::uuid",
            "create function zz_hostile.segment_code(text, text) returns text language sql return 'x_y'",
            "create function zz_hostile.regexp_replace(text, text, text, text) returns text language sql"
            " return 'limburg'",
        ]:
            committed.execute(sql)
        with psycopg.connect(db_url, autocommit=True) as hostile:
            hostile.execute("set search_path = zz_hostile, lead_flow, public, pg_catalog")
            leads = [
                insert_lead(hostile, industry, province, postcode)
                for province, postcode in [("N-Brabant", None), ("Noord-Brabant", None), (None, "5611 AB")]
            ]
            assert [segment_of(hostile, lead) for lead in leads] == [segment] * 3
    finally:
        committed.execute("drop schema zz_hostile cascade")
