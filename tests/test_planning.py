"""Planning: targets from capacity (minimum, no capacity, override), gap and gap %, the set-based
plan for every segment agreeing with the single-segment functions, and the weekday forecast."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest

from tests.support import RestClients, create_user
from tests.support.pipeline import leads_at, segment, set_setting, stats_history

D = date(2025, 6, 2)  # a Monday


def gap(db: psycopg.Connection, segment_id: object, day: date = D) -> tuple:
    return db.execute("select * from public.calculate_lead_gap(%s, %s)", (segment_id, day)).fetchone()


def test_target_rules(db: psycopg.Connection) -> None:
    roomy = segment(db, "schilder", "utrecht")
    small = segment(db, "schilder", "limburg")
    empty = segment(db, "schilder", "zeeland")
    overridden = segment(db, "schilder", "drenthe")
    stats_history(db, roomy, D, [7], capacity=40)  # the night's capacity is in D's stats row
    stats_history(db, small, D, [1], capacity=3)
    stats_history(db, empty, D, [2], capacity=0)
    stats_history(db, overridden, D, [0], capacity=40)
    db.execute(
        """insert into public.lead_segment_target_overrides (segment_id, valid_from, valid_to,
                                                                    target_leads_per_day, reason, created_at)
                  values (%s, %s, %s, 9, 'old campaign', now() - interval '1 day'),
                         (%s, %s, %s, 2, 'partner on holiday', now())""",
        (overridden, D - timedelta(days=3), D + timedelta(days=3), overridden, D, D),
    )
    # target, actual, gap, gap %, source
    assert gap(db, roomy)[:5] == (32, 7, 25, Decimal("78.13"), "capacity")  # floor(40 x 0.8)
    assert gap(db, small)[:5] == (5, 1, 4, Decimal("80.00"), "minimum")  # floor(2.4) < minimum 5
    assert gap(db, empty)[:5] == (0, 2, -2, None, "no_capacity")
    assert gap(db, overridden)[:5] == (2, 0, 2, Decimal("100.00"), "override")  # the newest override wins
    set_setting(db, "target_utilization", 0.5, roomy)
    set_setting(db, "min_target_leads", 0, small)
    assert gap(db, roomy)[0] == 20 and gap(db, small)[:2] == (2, 1)


def test_without_stats_the_live_capacity_and_live_count_are_used(db: psycopg.Connection) -> None:
    from tests.support import create_user

    s = segment(db, "dakdekker", "noord-brabant")
    create_user(db, primary_branch="dakdekker", regions=["noord-brabant"], max_open_leads=10)
    leads_at(db, s, f"{D} 00:15", 3)
    assert gap(db, s)[:5] == (8, 3, 5, Decimal("62.50"), "capacity")


def test_plan_for_all_segments_matches_the_single_segment_functions(db: psycopg.Connection) -> None:
    from tests.support import create_user

    segs = [segment(db, b, r) for b in ("schilder", "dakdekker") for r in ("utrecht", "limburg", "zeeland")]
    for i, s in enumerate(segs):
        stats_history(db, s, D, [i, i + 1, 2 * i], capacity=10 * i)
    # One segment without D's stats row: the live capacity and count, in both paths.
    segs.append(segment(db, "hovenier", "utrecht"))
    create_user(db, primary_branch="Hovenier", regions=["Utrecht"], max_open_leads=20)
    leads_at(db, segs[-1], f"{D} 12:00", 4)
    assert gap(db, segs[-1])[:5] == (16, 4, 12, Decimal("75.00"), "capacity")
    assert db.execute("select lead_flow.plan_lead_segments(%s)", (D,)).fetchone()[0] == len(segs)
    planned = {
        r[0]: r[1:]
        for r in db.execute(
            """select segment_id, target_leads_per_day, actual_leads, lead_gap, lead_gap_percentage,
                  target_source, expected_leads_per_day
             from public.lead_segment_plans where date = %s""",
            (D,),
        ).fetchall()
    }
    assert {s: gap(db, s) for s in segs} == planned
    first = db.execute("select * from public.lead_segment_plans order by segment_id").fetchall()
    assert db.execute("select lead_flow.plan_lead_segments(%s)", (D,)).fetchone()[0] == 0
    assert db.execute("select * from public.lead_segment_plans order by segment_id").fetchall() == first
    row = db.execute(
        "select segment_id, target_leads_per_day from public.update_lead_gap(%s, %s)", (segs[1], D)
    ).fetchone()
    assert row == (segs[1], planned[segs[1]][0])


def test_replanning_keeps_the_orchestration_outcome(db: psycopg.Connection) -> None:
    s = segment(db, "schilder", "utrecht")
    stats_history(db, s, D, [1], capacity=10)
    db.execute("select lead_flow.plan_lead_segments(%s)", (D,))
    db.execute(
        """update public.lead_segment_plans set orchestration_status = 'success',
                         actual_daily_budget_google_ads = 55 where segment_id = %s""",
        (s,),
    )
    stats_history(db, s, D, [4], capacity=10)
    db.execute("select lead_flow.plan_lead_segments(%s)", (D,))
    assert db.execute(
        """select actual_leads, orchestration_status, actual_daily_budget_google_ads
                           from public.lead_segment_plans where segment_id = %s""",
        (s,),
    ).fetchone() == (4, "success", Decimal("55.00"))


def test_forecast_follows_the_weekday_pattern(db: psycopg.Connection) -> None:
    s = segment(db, "schilder", "utrecht")
    # Four weeks ending Sunday D - 1: Mondays 20 leads, other days 6.
    days = [D - timedelta(days=28 - i) for i in range(28)]
    stats_history(db, s, D - timedelta(days=1), [20 if d.weekday() == 0 else 6 for d in days], capacity=50)
    sunday_plan = gap(db, s, D - timedelta(days=1))
    monday_plan_for_tuesday = gap(db, s, D)
    level = (4 * 20 + 24 * 6) / 28
    # Plan D - 1 (a Sunday) forecasts Monday: the Monday mean 20 shrunk toward the level by 2 pseudo-days.
    assert sunday_plan[5] == Decimal(str(round((4 * 20 + 2 * level) / 6, 2)))
    assert sunday_plan[5] > Decimal(str(round(level, 2)))
    assert monday_plan_for_tuesday[5] < Decimal(str(round(level, 2)))


def test_forecast_accuracy_against_a_naive_forecast(db: psycopg.Connection) -> None:
    s = segment(db, "schilder", "utrecht")
    pattern = [20, 9, 8, 8, 10, 3, 2]  # Monday .. Sunday
    start = D - timedelta(days=70)
    days = [start + timedelta(days=i) for i in range(71)]
    leads = [pattern[d.weekday()] + (i % 3) - 1 for i, d in enumerate(days)]
    stats_history(db, s, days[-1], leads, capacity=30)
    for d in days[28:-1]:
        db.execute("select lead_flow.plan_lead_segments(%s)", (d,))
    days_n, segments, pairs, mae, wape, naive = db.execute(
        "select * from lead_flow.lead_forecast_accuracy(%s, %s)", (days[28], days[-2])
    ).fetchone()
    assert (days_n, segments, pairs) == (42, 1, 42)
    assert wape < naive / 2, (wape, naive)  # the weekday factor beats "tomorrow = today" here
    assert mae < Decimal(2)


def test_calculate_lead_gap_through_the_api(rest: RestClients, committed: psycopg.Connection) -> None:
    s = segment(committed, "schilder", "noord-brabant")  # the rest fixture's partner serves it (10 leads)
    result = rest.partner.rpc("calculate_lead_gap", {"segment_id": str(s), "date": str(D)}).execute().data
    assert result == [
        {
            "target": 8,
            "actual": 0,
            "gap": 8,
            "gap_percentage": 100.0,
            "target_source": "capacity",
            "expected_leads_per_day": None,
        }
    ]
    unknown = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(Exception) as err:
        rest.partner.rpc("calculate_lead_gap", {"segment_id": unknown, "date": str(D)}).execute()
    assert getattr(err.value, "code", None) == "22023" and f"unknown segment {unknown}" in str(err.value)
    with pytest.raises(Exception) as err:
        rest.anon.rpc("calculate_lead_gap", {"segment_id": str(s), "date": str(D)}).execute()
    assert getattr(err.value, "code", None) == "42501"
    # The nightly step is internal (lead_flow): not in the API at all, whoever asks.
    with pytest.raises(Exception) as err:
        rest.admin.rpc("plan_lead_segments", {"p_date": str(D)}).execute()
    assert getattr(err.value, "code", None) == "PGRST202"


def test_one_definition_of_the_settings_in_effect(db: psycopg.Connection) -> None:
    """lead_flow.setting (one value) and lead_flow.segment_settings (every segment, and the global row)
    give the same values: the segment's own > global > default, a global-only key never per segment."""
    own, plain = segment(db, "schilder", "utrecht"), segment(db, "schilder", "limburg")
    set_setting(db, "target_utilization", 0.6)
    set_setting(db, "target_utilization", 0.9, own)
    set_setting(db, "catch_up_days", 3)
    rows = dict(db.execute("select segment_id, settings from lead_flow.segment_settings").fetchall())
    assert set(rows) >= {own, plain, None}
    utilization = [rows[seg]["target_utilization"] for seg in (own, plain, None)]
    assert utilization == [0.9, 0.6, 0.6]
    assert rows[own]["catch_up_days"] == rows[None]["catch_up_days"] == 3
    assert rows[plain]["min_target_leads"] == 5  # the default
    unknown = "00000000-0000-0000-0000-000000000000"
    for seg in (own, plain, None, unknown):
        for key in ("target_utilization", "catch_up_days", "min_target_leads", "controller"):
            value = db.execute("select lead_flow.setting(%s, %s::uuid)", (key, seg)).fetchone()[0]
            assert value == rows.get(seg, rows[None])[key], (seg, key)
    assert db.execute("select lead_flow.setting('no_such_key', %s::uuid)", (own,)).fetchone() == (None,)


def test_partner_gaps_of_a_pair_no_longer_matched_go_and_the_rest_stay(db: psycopg.Connection) -> None:
    """plan_partner_lead_gaps: run again after a partner stopped serving a segment, that pair's row of the day
    is deleted; the other pairs' rows of the day, and the pair's rows of other days, stay."""
    s = segment(db, "schilder", "utrecht")
    other = segment(db, "schilder", "gelderland")
    leaving = create_user(db, primary_branch="schilder", regions=["utrecht"], max_open_leads=10)
    staying = create_user(db, primary_branch="schilder", regions=["utrecht"], max_open_leads=6)
    before = D - timedelta(days=1)

    def pairs(day: date) -> set[tuple]:
        return set(
            db.execute(
                "select partner_id, segment_id, target_leads from public.partner_lead_gaps where date = %s",
                (day,),
            ).fetchall()
        )

    db.execute("select lead_flow.plan_partner_lead_gaps(%s)", (before,))
    db.execute("select lead_flow.plan_partner_lead_gaps(%s)", (D,))
    assert pairs(D) == pairs(before) == {(leaving, s, Decimal("10.00")), (staying, s, Decimal("6.00"))}
    db.execute("update public.profiles set regions = array['gelderland'] where id = %s", (leaving,))
    db.execute("select lead_flow.plan_partner_lead_gaps(%s)", (D,))
    assert pairs(D) == {(staying, s, Decimal("6.00")), (leaving, other, Decimal("10.00"))}
    assert pairs(before) == {(leaving, s, Decimal("10.00")), (staying, s, Decimal("6.00"))}


def run_while_another_holds_the_day(db_url: str, call: str) -> tuple[bool, list[int]]:
    """Runs `call` for D in a transaction left open, then again in a second session: whether the second
    waited for the first, and what it returned once the first committed."""
    second: list[int] = []

    def run_again() -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            second.append(conn.execute(f"select {call}", (D,)).fetchone()[0])

    with psycopg.connect(db_url) as first:
        assert first.execute(f"select {call}", (D,)).fetchone()[0] > 0
        waiting = threading.Thread(target=run_again)
        waiting.start()
        waiting.join(timeout=1)
        waited = waiting.is_alive() and not second
        first.commit()
    waiting.join(timeout=30)
    return waited, second


def test_two_runs_of_a_day_at_once_write_each_row_once(committed: psycopg.Connection, db_url: str) -> None:
    """aggregate_lead_stats, write_plans and plan_partner_lead_gaps insert a day's new rows with MERGE,
    which another session's insert of the same row fails on the unique key: a second run of the day waits
    for the first (their advisory locks), then finds its rows and changes nothing."""
    for region in ("utrecht", "limburg"):
        segment(committed, "schilder", region)   # and no row of D anywhere yet: every write is new
    create_user(committed, primary_branch="schilder", regions=["utrecht", "limburg"], max_open_leads=8)
    for call, table in (("lead_flow.aggregate_lead_stats(%s)", "lead_generation_stats"),
                        ("lead_flow.write_plans(%s)", "lead_segment_plans"),
                        ("lead_flow.plan_partner_lead_gaps(%s)", "partner_lead_gaps")):
        assert run_while_another_holds_the_day(db_url, call) == (True, [0])
        rows = committed.execute(f"select count(*) from public.{table} where date = %s", (D,)).fetchone()[0]
        assert rows == 2
