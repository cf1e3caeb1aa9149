"""Capacity: which partners serve a segment, and the aggregate the planner and the API read.

lead_flow.partner_segment_matches is the one definition; segment_capacity (view),
get_segment_capacity (RPC) and lead_flow.segment_capacities() must agree with it and with each other.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from postgrest.exceptions import APIError

from tests.support import RestClients, create_segment, create_user
from tests.support.api import http

FIGURES = "capacity_partners, capacity_total_leads, current_open_leads, available_leads"


def capacity(conn: psycopg.Connection, segment: uuid.UUID) -> tuple[int, int, int, int]:
    """The figures from all three faces; fails unless they agree."""
    view = conn.execute(
        f"select {FIGURES} from public.segment_capacity where segment_id = %s", (segment,)
    ).fetchone()
    rpc = conn.execute(f"select {FIGURES} from public.get_segment_capacity(%s)", (segment,)).fetchone()
    definer = conn.execute(
        f"select {FIGURES} from lead_flow.segment_capacities() where segment_id = %s", (segment,)
    ).fetchone()
    assert view == rpc == definer
    return view


def matches(conn: psycopg.Connection, segment: uuid.UUID) -> list[uuid.UUID]:
    return sorted(
        r[0]
        for r in conn.execute(
            "select partner_id from lead_flow.partner_segment_matches where segment_id = %s", (segment,)
        )
    )


def test_a_segment_without_partners_has_zeros_not_nulls(db: psycopg.Connection) -> None:
    segment = create_segment(db, "schilder", "noord-brabant")
    create_user(db, primary_branch="schilder", regions=["utrecht"], max_open_leads=10)  # other region
    create_user(db, primary_branch="dakdekker", regions=["noord-brabant"], max_open_leads=10)  # other branch
    assert capacity(db, segment) == (0, 0, 0, 0)


def test_branch_and_region_match_in_any_spelling_and_either_array(db: psycopg.Connection) -> None:
    segment = create_segment(db, "schilder", "noord-brabant")
    partners = [
        create_user(db, primary_branch="Schilder", regions=["Noord-Brabant"], max_open_leads=1),
        create_user(db, primary_branch=" SCHILDER ", regions=["noord brabant"], max_open_leads=2),
        create_user(db, lead_industries=["schilder"], lead_locations=["N-Brabant"], max_open_leads=4),
        create_user(
            db,
            primary_branch="loodgieter",
            lead_industries=["Glas  zetter", "schilder"],
            regions=["Utrecht", "NB"],
            max_open_leads=8,
        ),
    ]
    assert matches(db, segment) == sorted(partners)
    assert capacity(db, segment) == (4, 15, 0, 15)


def test_a_branch_written_with_other_punctuation_matches_by_segment_code(db: psycopg.Connection) -> None:
    """'Dak-Dekker' in a profile and the segment 'dak dekker' share the code dak_dekker_utrecht, as a
    lead of the industry 'Dak-dekker' is assigned to that segment."""
    segment = create_segment(db, "dak dekker", "utrecht")
    partner = create_user(db, primary_branch="Dak-Dekker", regions=["Utrecht"], max_open_leads=3)
    create_user(db, primary_branch="dakdekker", regions=["Utrecht"], max_open_leads=3)  # another trade
    assert matches(db, segment) == [partner]


def test_a_partner_listed_twice_counts_once(db: psycopg.Connection) -> None:
    segment = create_segment(db, "schilder", "noord-brabant")
    partner = create_user(
        db,
        primary_branch="schilder",
        lead_industries=["Schilder", "SCHILDER"],
        regions=["Noord-Brabant", "noord-brabant", "NB"],
        lead_locations=["Noord Brabant"],
        max_open_leads=6,
    )
    assert matches(db, segment) == [partner]
    assert capacity(db, segment) == (1, 6, 0, 6)


def test_inactive_partners_and_admins_are_excluded(db: psycopg.Connection) -> None:
    segment = create_segment(db, "schilder", "noord-brabant")
    active = create_user(db, primary_branch="schilder", regions=["Noord-Brabant"], max_open_leads=5)
    create_user(
        db,
        primary_branch="schilder",
        regions=["Noord-Brabant"],
        max_open_leads=50,
        is_active_for_routing=False,
    )
    create_user(db, primary_branch="schilder", regions=["Noord-Brabant"], max_open_leads=70, is_admin=True)
    assert matches(db, segment) == [active]
    assert capacity(db, segment) == (1, 5, 0, 5)


def test_open_leads_come_from_partner_performance_stats(db: psycopg.Connection) -> None:
    segment = create_segment(db, "schilder", "noord-brabant")
    busy = create_user(db, primary_branch="schilder", regions=["Noord-Brabant"], max_open_leads=5)
    create_user(db, primary_branch="schilder", regions=["NB"], max_open_leads=3)
    for status in ["new", "accepted", "in_progress", "rejected"]:
        db.execute("insert into public.leads (status, user_id) values (%s, %s)", (status, busy))
    assert capacity(db, segment) == (2, 8, 0, 8)  # the stats are a snapshot: not refreshed yet
    db.execute("refresh materialized view public.partner_performance_stats")
    assert capacity(db, segment) == (2, 8, 3, 5)
    # More open leads than declared capacity: available goes negative rather than hiding it.
    for _ in range(6):
        db.execute("insert into public.leads (status, user_id) values ('new', %s)", (busy,))
    db.execute("refresh materialized view public.partner_performance_stats")
    assert capacity(db, segment) == (2, 8, 9, -1)


def derived_codes_agree(conn: psycopg.Connection) -> None:
    """The kept codes (lead_flow.partner_segment_codes) are exactly what the profiles name now."""
    kept = set(conn.execute("select partner_id, code from lead_flow.partner_segment_codes").fetchall())
    derived = set(conn.execute("select partner_id, code from lead_flow.profile_segment_codes()").fetchall())
    assert kept == derived


def test_a_profile_edit_moves_its_capacity_at_once(db: psycopg.Connection) -> None:
    brabant = create_segment(db, "schilder", "noord-brabant")
    utrecht = create_segment(db, "schilder", "utrecht")
    partner = create_user(db, primary_branch="schilder", regions=["Utrecht"], max_open_leads=5)
    other = create_user(db, primary_branch="schilder", regions=["Utrecht"], max_open_leads=2)
    assert (capacity(db, brabant)[0], capacity(db, utrecht)[0]) == (0, 2)

    db.execute("update public.profiles set regions = '{N-Brabant}' where id = %s", (partner,))
    assert matches(db, brabant) == [partner] and matches(db, utrecht) == [other]
    # One statement editing several profiles, in both arrays, and a column codes do not depend on.
    db.execute(
        """update public.profiles set lead_locations = '{Noord Brabant}', lead_industries = '{Schilder}',
                  max_open_leads = max_open_leads + 1
            where id = any (%s)""",
        ([partner, other],),
    )
    assert matches(db, brabant) == sorted([partner, other]) and matches(db, utrecht) == [other]
    assert capacity(db, brabant) == (2, 9, 0, 9)
    db.execute("delete from public.profiles where id = %s", (partner,))
    assert capacity(db, brabant) == (1, 3, 0, 3)
    derived_codes_agree(db)


def test_profiles_inserted_in_one_statement_all_count(db: psycopg.Connection) -> None:
    segment = create_segment(db, "hovenier", "zeeland")
    ids = [uuid.uuid4() for _ in range(3)]
    db.execute("insert into auth.users (id) select unnest(%s::uuid[])", (ids,))
    db.execute(
        """insert into public.profiles (id, primary_branch, regions, max_open_leads, is_active_for_routing)
           select id, 'Hovenier', array['Zeeland'], 4, true from unnest(%s::uuid[]) id""",
        (ids,),
    )
    assert matches(db, segment) == sorted(ids)
    assert capacity(db, segment) == (3, 12, 0, 12)
    derived_codes_agree(db)


def test_a_new_region_alias_applies_to_profiles_already_there(db: psycopg.Connection) -> None:
    segment = create_segment(db, "schilder", "noord-brabant")
    partner = create_user(db, primary_branch="schilder", regions=["Brabantia"], max_open_leads=5)
    assert matches(db, segment) == []
    db.execute("insert into lead_flow.region_aliases (alias, region) values ('brabantia', 'noord-brabant')")
    assert matches(db, segment) == [partner]
    db.execute("delete from lead_flow.region_aliases where alias = 'brabantia'")
    assert matches(db, segment) == []
    derived_codes_agree(db)


def test_one_segment_and_all_segments_give_the_same_figures(db: psycopg.Connection) -> None:
    segments = [create_segment(db, b, r) for b in ("schilder", "dak dekker") for r in ("utrecht", "zeeland")]
    create_user(db, primary_branch="Schilder", regions=["Utrecht", "Zeeland"], max_open_leads=3)
    create_user(db, primary_branch="Dak-Dekker", lead_locations=["zeeland"], max_open_leads=4)
    create_user(db, lead_industries=["schilder", "dak dekker"], regions=["UT"], max_open_leads=6)
    everything = {
        r[0]: r[1:] for r in db.execute(f"select segment_id, {FIGURES} from lead_flow.segment_capacities()")
    }
    one_by_one = {
        s: db.execute(f"select {FIGURES} from lead_flow.segment_capacity(%s)", (s,)).fetchone()
        for s in segments
    }
    assert one_by_one == {s: everything[s] for s in segments}
    assert [one_by_one[s][0] for s in segments] == [2, 1, 1, 1]


def test_every_active_segment_has_a_row_and_inactive_ones_none(db: psycopg.Connection) -> None:
    active = [create_segment(db, "schilder", r) for r in ("utrecht", "zeeland", "limburg")]
    inactive = create_segment(db, "schilder", "drenthe", is_active=False)
    create_user(db, primary_branch="schilder", regions=["Drenthe", "Utrecht"], max_open_leads=4)
    rows = dict(
        db.execute("select segment_id, capacity_partners from lead_flow.segment_capacities()").fetchall()
    )
    assert rows == {active[0]: 1, active[1]: 0, active[2]: 0}
    assert db.execute(
        "select count(*) from public.segment_capacity where segment_id = %s", (inactive,)
    ).fetchone() == (0,)
    # One segment asked for by id still answers, active or not.
    assert db.execute(f"select {FIGURES} from public.get_segment_capacity(%s)", (inactive,)).fetchone() == (
        1,
        4,
        0,
        4,
    )


def test_an_unknown_segment_id_is_a_clear_error(db: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown segment"):
        db.execute("select * from public.get_segment_capacity(%s)", (uuid.uuid4(),))


def test_a_partner_sees_the_true_aggregate_but_no_other_profile(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    # rest: the partner (schilder, noord-brabant, 10), another partner (dakdekker, utrecht, 5), an admin.
    segment = create_segment(committed, "schilder", "noord-brabant")
    create_user(committed, primary_branch="Schilder", regions=["N-Brabant"], max_open_leads=7)
    create_user(
        committed,
        primary_branch="schilder",
        regions=["Noord-Brabant"],
        max_open_leads=9,
        is_active_for_routing=False,
    )
    expected = {
        "segment_id": str(segment),
        "code": "schilder_noord_brabant",
        "branch": "schilder",
        "region": "noord-brabant",
        "capacity_partners": 2,
        "capacity_total_leads": 17,
        "current_open_leads": 0,
        "available_leads": 17,
    }

    for client in (rest.partner, rest.other_partner, rest.admin, rest.service):
        assert client.from_("segment_capacity").select("*").execute().data == [expected]
        one = client.rpc("get_segment_capacity", {"segment_id": str(segment)}).execute().data
        assert one == {k: expected[k] for k in FIGURES.split(", ")}
    # ... while profiles stay private: a partner reads its own row only.
    own = rest.partner.from_("profiles").select("id").execute().data
    assert own == [{"id": str(rest.partner_id)}]


def test_anonymous_callers_get_no_capacity(rest: RestClients, committed: psycopg.Connection) -> None:
    segment = create_segment(committed, "schilder", "noord-brabant")
    response = http(rest.anon, "GET", "/segment_capacity")
    assert response.status_code == 401
    response = http(rest.anon, "POST", "/rpc/get_segment_capacity", json={"segment_id": str(segment)})
    assert response.status_code == 401


def test_an_unknown_segment_through_the_api_is_a_400_with_a_message(rest: RestClients) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(APIError) as refused:
        rest.partner.rpc("get_segment_capacity", {"segment_id": unknown}).execute()
    assert refused.value.code == "22023" and unknown in refused.value.message
    response = http(rest.partner, "POST", "/rpc/get_segment_capacity", json={"segment_id": "not-a-uuid"})
    assert 400 <= response.status_code < 500
