"""Trust in declared capacity (issue 16): a partner's own raise of max_open_leads drives planning only
as far as evidence allows (a ramp from the previous night's trusted figure, leads it accepted, an
admin's confirmation); every change is logged with who, when, from and to; a large raise is an alert
until an admin confirms it; logging never fails the platform's profile update.

Real database (plan step, trigger, alerts) and PostgREST for the API and its access rules."""

from __future__ import annotations

import datetime
import math
import uuid

import httpx
import psycopg
import pytest

from glue.paths import MIGRATIONS_DIR
from tests.support import RestClients, create_segment, create_user
from tests.support.api import http


def scalar(conn: psycopg.Connection, sql: str, *args: object) -> object:
    return conn.execute(sql, args).fetchone()[0]


def setting(conn: psycopg.Connection, key: str) -> float:
    return float(scalar(conn, "select (lead_flow.setting(%s) #>> '{}')::numeric", key))


def set_capacity(conn: psycopg.Connection, partner: uuid.UUID, leads: int) -> None:
    conn.execute("update public.profiles set max_open_leads = %s where id = %s", (leads, partner))


def today(conn: psycopg.Connection) -> datetime.date:
    return conn.execute("select lead_flow.local_day(now())").fetchone()[0]


def plan(conn: psycopg.Connection, day: datetime.date, segment: uuid.UUID) -> int:
    """Runs the nightly plan step for day and returns the segment's target."""
    conn.execute("select lead_flow.plan_lead_segments(%s)", (day,))
    return conn.execute(
        "select target_leads_per_day from public.lead_segment_plans where segment_id = %s and date = %s",
        (segment, day),
    ).fetchone()[0]


def trusted(conn: psycopg.Connection, partner: uuid.UUID, day: datetime.date) -> int:
    """The partner's trusted figure for planned day `day`: its latest stored row on or before it (rows are
    stored when the figure changes, migration 0086); None when that row says it is not counted."""
    assert conn.execute(
        "select exists (select from lead_flow.capacity_trust_days where date = %s)", (day,)
    ).fetchone()[0]
    return conn.execute(
        """select case when counted then trusted_leads end from lead_flow.partner_capacity_trust
            where partner_id = %s and date <= %s order by date desc limit 1""",
        (partner, day),
    ).fetchone()[0]


def expected_target(conn: psycopg.Connection, capacity: int) -> int:
    utilization, minimum = setting(conn, "target_utilization"), setting(conn, "min_target_leads")
    return max(math.ceil(minimum), math.floor(capacity * utilization))


def ramp_bound(conn: psycopg.Connection, previous: int) -> int:
    share = setting(conn, "capacity_trust_ramp_percentage")
    least = setting(conn, "capacity_trust_ramp_min_leads")
    return previous + max(math.ceil(previous * share), math.ceil(least))


@pytest.fixture
def market(db: psycopg.Connection) -> tuple[uuid.UUID, uuid.UUID, datetime.date]:
    """A segment served by a steady partner (100) and a small one (5) that will raise itself; no trusted
    figures stored before (the table starts empty inside this rolled-back transaction)."""
    db.execute("delete from lead_flow.partner_capacity_trust")
    db.execute("delete from lead_flow.capacity_trust_days")
    segment = create_segment(db, "schilder", "noord-brabant")
    create_user(db, primary_branch="schilder", regions=["noord-brabant"], max_open_leads=100)
    small = create_user(db, primary_branch="schilder", regions=["Noord-Brabant"], max_open_leads=5)
    return segment, small, today(db) - datetime.timedelta(days=40)


def test_a_raise_from_5_to_500_ramps_within_the_bound_instead_of_counting_at_once(db, market) -> None:
    segment, small, day = market
    assert plan(db, day, segment) == expected_target(db, 105)  # the first figure: what is declared
    assert trusted(db, small, day) == 5

    set_capacity(db, small, 500)
    # Declared capacity, as partners and the API see it, moves at once.
    assert scalar(db, "select capacity_total_leads from public.get_segment_capacity(%s)", segment) == 600

    previous, targets = 5, []
    for n in range(1, 31):
        d = day + datetime.timedelta(days=n)
        target = plan(db, d, segment)
        now = trusted(db, small, d)
        assert previous < now <= min(500, ramp_bound(db, previous)) or previous == now == 500
        assert target == expected_target(db, 100 + now)
        previous = now
        targets.append(target)
    assert targets[0] < expected_target(db, 600) // 4  # the night after the raise: nowhere near 500
    assert previous == 500 and targets[-1] == expected_target(db, 600)  # the ramp does arrive
    assert sorted(targets) == targets

    # Re-running a night gives the same figure (it reads only the nights before it).
    again = day + datetime.timedelta(days=3)
    before = trusted(db, small, again)
    plan(db, again, segment)
    assert trusted(db, small, again) == before

    # A lower declared value counts at once.
    set_capacity(db, small, 20)
    d = day + datetime.timedelta(days=31)
    assert plan(db, d, segment) == expected_target(db, 120) and trusted(db, small, d) == 20


def test_leads_the_partner_accepted_count_as_evidence(db, market) -> None:
    segment, small, day = market
    plan(db, day, segment)
    set_capacity(db, small, 500)
    accepted = 60
    db.execute(
        """insert into public.leads (province, postcode, status, user_id, segment_id, created_at)
           select 'Noord-Brabant', '5611', 'accepted', %s, %s, now() - interval '2 days'
             from generate_series(1, %s)""",
        (small, segment, accepted),
    )
    db.execute("refresh materialized view public.partner_performance_stats")
    d = day + datetime.timedelta(days=1)
    plan(db, d, segment)
    factor = setting(db, "capacity_trust_evidence_factor")
    assert trusted(db, small, d) == max(math.ceil(accepted * factor), ramp_bound(db, 5))
    assert trusted(db, small, d) > ramp_bound(db, 5)


def test_a_confirmation_below_the_declared_figure_counts_up_to_it_at_once(db, market) -> None:
    segment, small, day = market
    plan(db, day, segment)
    set_capacity(db, small, 500)
    db.execute("select lead_flow.confirm_partner_capacity(%s, 300, 'three crews, not five')", (small,))
    d = day + datetime.timedelta(days=1)
    assert plan(db, d, segment) == expected_target(db, 100 + 300)
    assert trusted(db, small, d) == 300
    d = day + datetime.timedelta(days=2)
    plan(db, d, segment)
    assert trusted(db, small, d) == ramp_bound(db, 300)  # and the ramp goes on from there


def test_every_change_of_max_open_leads_is_logged_with_who_when_from_and_to(db, market) -> None:
    _, small, _ = market
    started = db.execute("select now()").fetchone()[0]
    set_capacity(db, small, 500)
    db.execute(
        "update public.profiles set company_name = 'New', max_open_leads = 500 where id = %s", (small,)
    )
    set_capacity(db, small, 40)
    rows = db.execute(
        """select changed_by, changed_by_role, changed_at, from_leads, to_leads
             from lead_flow.partner_capacity_changes where partner_id = %s order by id""",
        (small,),
    ).fetchall()
    login = db.execute("select session_user").fetchone()[0]
    # Only the two real changes (the second update left max_open_leads as it was); no user behind a
    # direct session, so its login role.
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [(None, login, 5, 500), (None, login, 500, 40)]
    assert all(r[2] == started for r in rows)  # now() of the transaction that changed it


def test_a_profile_update_still_succeeds_when_logging_fails(db, market) -> None:
    _, small, _ = market
    db.execute(
        "alter table lead_flow.partner_capacity_changes "
        "add constraint zz_refuse_everything check (false) not valid"
    )
    set_capacity(db, small, 77)
    assert scalar(db, "select max_open_leads from public.profiles where id = %s", small) == 77
    assert (
        scalar(db, "select count(*) from lead_flow.partner_capacity_changes where partner_id = %s", small)
        == 0
    )
    logged = db.execute(
        "select level, message, details from public.lead_flow_logs where details ->> 'partner_id' = %s",
        (str(small),),
    ).fetchall()
    assert [(r[0], r[2]["from_leads"], r[2]["to_leads"]) for r in logged] == [("error", 5, 77)]
    assert "zz_refuse_everything" in logged[0][1]


def test_only_a_large_raise_is_an_alert_naming_partner_and_segments(db, market) -> None:
    segment, small, _ = market
    code = db.execute("select code from public.lead_segments where id = %s", (segment,)).fetchone()[0]
    factor = setting(db, "capacity_change_alert_factor")
    least = setting(db, "capacity_change_alert_min_leads")
    small_raise = 5 + int(least)  # more than factor x, but not more than min_leads more
    assert small_raise > 5 * factor
    set_capacity(db, small, small_raise)
    set_capacity(db, small, 5)

    def jumps() -> list[tuple]:
        return db.execute(
            "select date, message, details from lead_flow.pipeline_alerts(now()) where kind = 'capacity_jump'"
        ).fetchall()

    assert jumps() == []
    set_capacity(db, small, 500)
    [(date, message, details)] = jumps()
    company = db.execute("select company_name from public.profiles where id = %s", (small,)).fetchone()[0]
    assert company in message and code in message and "5 to 500" in message
    assert details["partner_id"] == str(small)
    assert details["segments"] == [{"segment_id": str(segment), "code": code}]
    assert date == today(db)
    # A week later it is no longer news.
    later = "select count(*) from lead_flow.pipeline_alerts(now() + interval '8 days') where kind = %s"
    assert scalar(db, later, "capacity_jump") == 0


def test_an_admin_confirms_through_the_api_and_a_partner_can_neither_confirm_nor_read_the_log(
    committed: psycopg.Connection, rest: RestClients
) -> None:
    committed.execute("delete from lead_flow.partner_capacity_trust")
    committed.execute("delete from lead_flow.capacity_trust_days")
    segment = create_segment(committed, "schilder", "noord-brabant")
    partner = str(rest.partner_id)
    day = today(committed) - datetime.timedelta(days=5)
    assert plan(committed, day, segment) == expected_target(committed, 10)

    # The partner raises its own capacity through the platform's API (its own profile row).
    response = http(rest.partner, "PATCH", f"/profiles?id=eq.{partner}", json={"max_open_leads": 500})
    assert response.status_code in (200, 204), response.text

    # It can neither read the log nor the trust figures, nor confirm itself; nor can a signed-in
    # account that is no partner (no sub, a sub without a profile, a sub that is not a uuid); anon 401.
    confirm = {"partner_id": partner, "max_open_leads": 500, "comment": "said so myself"}
    for client in (rest.partner, rest.no_sub, rest.no_profile, rest.garbage_sub):
        for path in ("/partner_capacity_changes", "/partner_capacity_trust"):
            assert http(client, "GET", path).status_code == 403
        refused = http(client, "POST", "/rpc/confirm_partner_capacity", json=confirm)
        assert refused.status_code == 403 and "for admins only" in refused.json()["message"]
    for path in ("/partner_capacity_changes", "/partner_capacity_trust"):
        assert http(rest.anon, "GET", path).status_code == 401
    assert http(rest.anon, "POST", "/rpc/confirm_partner_capacity", json=confirm).status_code == 401
    assert scalar(committed, "select count(*) from lead_flow.partner_capacity_confirmations") == 0

    # The admin reads who changed what, and the alert.
    [change] = http(rest.admin, "GET", f"/partner_capacity_changes?partner_id=eq.{partner}").json()
    assert (change["changed_by"], change["changed_by_role"], change["from_leads"], change["to_leads"]) == (
        partner,
        "authenticated",
        10,
        500,
    )
    changed_at = datetime.datetime.fromisoformat(change["changed_at"])
    assert abs((datetime.datetime.now(datetime.UTC) - changed_at).total_seconds()) < 120
    alerts = http(rest.admin, "GET", "/lead_flow_alerts?kind=eq.capacity_jump").json()
    assert [a["details"]["partner_id"] for a in alerts] == [partner]

    # Unconfirmed, the next night trusts only the ramp.
    d1 = day + datetime.timedelta(days=1)
    assert plan(committed, d1, segment) == expected_target(committed, ramp_bound(committed, 10))

    # Out of range and unknown partners are a 400; the admin's confirmation is the trust row back.
    def admin_confirms(**changes: object) -> httpx.Response:
        return http(rest.admin, "POST", "/rpc/confirm_partner_capacity", json={**confirm, **changes})

    too_much = admin_confirms(max_open_leads=501)
    assert too_much.status_code == 400 and "what the partner declares now (500)" in too_much.text
    assert admin_confirms(partner_id=str(uuid.uuid4())).status_code == 400
    ok = admin_confirms(comment="called them")
    assert ok.status_code == 200, ok.text
    row = ok.json()
    assert (row["partner_id"], row["declared_leads"], row["confirmed_leads"], row["trusted_leads"]) == (
        partner,
        500,
        500,
        500,
    )
    assert (row["confirmed_by"], row["confirmation_comment"]) == (str(rest.admin_id), "called them")

    # Confirmed: the alert is gone and the next night counts all of it.
    assert http(rest.admin, "GET", "/lead_flow_alerts?kind=eq.capacity_jump").json() == []
    d2 = day + datetime.timedelta(days=2)
    assert plan(committed, d2, segment) == expected_target(committed, 500)


def stored_rows(conn: psycopg.Connection, day: datetime.date) -> int:
    return scalar(conn, "select count(*) from lead_flow.partner_capacity_trust where date = %s", day)


def test_figures_are_stored_when_they_change_and_a_partner_switched_off_returns_at_its_declared(
    db, market
) -> None:
    segment, small, day = market
    first = plan(db, day, segment)
    assert stored_rows(db, day) == 2  # the first figures: what both declare
    d1 = day + datetime.timedelta(days=1)
    assert plan(db, d1, segment) == first
    assert stored_rows(db, d1) == 0  # nothing changed: nothing written, the figures carry on
    assert trusted(db, small, d1) == 5

    # The platform switches the small partner off (not routing, nothing declared): no figure.
    db.execute(
        "update public.profiles set is_active_for_routing = false, max_open_leads = 0 where id = %s", (small,)
    )
    d2 = day + datetime.timedelta(days=2)
    plan(db, d2, segment)
    assert stored_rows(db, d2) == 1 and trusted(db, small, d2) is None
    # Back with 500 it counts what it declares at once, as a partner without a figure does.
    db.execute(
        "update public.profiles set is_active_for_routing = true, max_open_leads = 500 where id = %s",
        (small,),
    )
    d3 = day + datetime.timedelta(days=3)
    assert plan(db, d3, segment) == expected_target(db, 600)
    assert trusted(db, small, d3) == 500


def test_running_an_earlier_night_again_leaves_the_later_nights_figures(db, market) -> None:
    segment, small, day = market
    d1, d2 = day + datetime.timedelta(days=1), day + datetime.timedelta(days=2)
    for d in (day, d1, d2):
        plan(db, d, segment)
    assert [trusted(db, small, d) for d in (day, d1, d2)] == [5, 5, 5]
    assert stored_rows(db, d1) == stored_rows(db, d2) == 0

    # Night d1 again after a raise and a confirmation: d1's figure changes, d2 keeps what it had.
    set_capacity(db, small, 500)
    db.execute("select lead_flow.confirm_partner_capacity(%s, 300, 'checked')", (small,))
    plan(db, d1, segment)
    assert trusted(db, small, d1) == 300
    assert trusted(db, small, d2) == 5
    # And running it once more changes nothing.
    assert scalar(db, "select lead_flow.record_capacity_trust(%s)", d1) == 0


def untrusted_rows(conn: psycopg.Connection, day: datetime.date) -> set[uuid.UUID]:
    """Partners with a stored row for `day` that planning does not trust in full."""
    rows = conn.execute(
        """select partner_id from lead_flow.partner_capacity_trust
            where date = %s and counted and trusted_leads < declared_leads""",
        (day,),
    ).fetchall()
    return {r[0] for r in rows}


def test_a_partner_not_trusted_in_full_has_a_row_every_night_even_when_its_ramp_stands_still(
    db, market
) -> None:
    segment, small, day = market
    plan(db, day, segment)
    # No ramp and no evidence: the small partner's raise stays untrusted night after night, its
    # figure unchanged; planning reads a day's untrusted capacity from that day's rows alone.
    for key in ("capacity_trust_ramp_percentage", "capacity_trust_ramp_min_leads"):
        db.execute(
            "update public.lead_flow_settings set value = '0' where key = %s and segment_id is null", (key,)
        )
    set_capacity(db, small, 500)
    for n in (1, 2, 3):
        d = day + datetime.timedelta(days=n)
        assert plan(db, d, segment) == expected_target(db, 105)
        assert trusted(db, small, d) == 5 and untrusted_rows(db, d) == {small}
        assert (
            scalar(
                db, "select untrusted_leads from lead_flow.segment_untrusted_capacities(%s, %s)", d, segment
            )
            == 495
        )
    # Computed for a day not planned yet, the same figure; a segment with nothing untrusted has no row.
    later = day + datetime.timedelta(days=4)
    assert (
        scalar(
            db, "select untrusted_leads from lead_flow.segment_untrusted_capacities(%s, %s)", later, segment
        )
        == 495
    )
    set_capacity(db, small, 5)
    assert plan(db, later, segment) == expected_target(db, 105)
    assert untrusted_rows(db, later) == set()
    assert scalar(db, "select count(*) from lead_flow.segment_untrusted_capacities(%s)", later) == 0


def test_migration_0098_gives_a_standing_untrusted_figure_a_row_on_each_later_planned_day(db, market) -> None:
    segment, small, day = market
    d1, d2, d3 = (day + datetime.timedelta(days=n) for n in (1, 2, 3))
    # As migration 0086's rule stored them: the small partner untrusted from `day` on with no row after
    # it (its figure stood still), the steady partner trusted in full, a change for small on d3.
    steady = scalar(db, "select id from public.profiles where max_open_leads = 100")
    db.execute(
        "insert into lead_flow.capacity_trust_days (date) select unnest(%s::date[])", ([day, d1, d2, d3],)
    )
    db.execute(
        """insert into lead_flow.partner_capacity_trust
             (partner_id, date, declared_leads, trusted_leads, previous_leads, accepted_leads_30d, counted)
           values (%s, %s, 500, 5, 5, 0, true), (%s, %s, 100, 100, null, 0, true),
                  (%s, %s, 500, 450, 5, 0, true)""",
        (small, day, steady, day, small, d3),
    )
    db.execute((MIGRATIONS_DIR / "0098_untrusted_capacity_by_day.sql").read_text())
    assert [untrusted_rows(db, d) for d in (day, d1, d2, d3)] == [{small}] * 4
    assert [trusted(db, small, d) for d in (day, d1, d2, d3)] == [5, 5, 5, 450]
    assert (
        scalar(db, "select count(*) from lead_flow.partner_capacity_trust where partner_id = %s", steady) == 1
    )
    # Once more: nothing new.
    db.execute((MIGRATIONS_DIR / "0098_untrusted_capacity_by_day.sql").read_text())
    assert scalar(db, "select count(*) from lead_flow.partner_capacity_trust") == 5  # 4 of small, 1 steady
