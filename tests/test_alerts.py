"""The alerts read a bounded recent window (sql/85_alerts.sql, sql/65_controller_smart.sql), and say the
same as a read of the whole history would: the lead_gap alert needs each segment's last
alert_gap_nights planned nights in a row (the last of them last night or the night before), and
not_budget_limited carries the same 7- and 3-day figures smart_controller_features computes.

The clock is pinned (the functions take it as an argument), so the file passes at any hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg

from tests.support.pipeline import segment, set_setting

NOW = datetime(2025, 10, 27, 8, tzinfo=UTC)  # Monday after the autumn DST change, 09:00 in Amsterdam
YESTERDAY = date(2025, 10, 26)


def plans(db: psycopg.Connection, seg: object, gaps: dict[int, float]) -> None:
    """Plans of `seg` on YESTERDAY - k for each k in `gaps`, with that gap % (target 10)."""
    for k, pct in gaps.items():
        actual = round(10 - pct / 10)
        db.execute(
            """insert into public.lead_segment_plans (segment_id, date, target_leads_per_day, actual_leads,
                                                      lead_gap, lead_gap_percentage)
               values (%s, %s, 10, %s, %s, %s)""",
            (seg, YESTERDAY - timedelta(days=k), actual, 10 - actual, pct))


def test_lead_gap_needs_the_last_nights_in_a_row_each_over_the_threshold(db: psycopg.Connection) -> None:
    over = {k: 80.0 for k in range(0, 40)}  # a long history of big gaps
    run = segment(db, "schilder", "utrecht")
    plans(db, run, {0: 80, 1: 80, 2: 80, 3: 10})
    until_the_night_before = segment(db, "schilder", "limburg")
    plans(db, until_the_night_before, {1: 80, 2: 80, 3: 80})
    stopped = segment(db, "schilder", "zeeland")
    plans(db, stopped, {k: v for k, v in over.items() if k >= 2})  # nothing planned the last two nights
    hole = segment(db, "schilder", "drenthe")
    plans(db, hole, {k: v for k, v in over.items() if k != 1})  # the night before yesterday missing
    one_small = segment(db, "schilder", "friesland")
    plans(db, one_small, {0: 80, 1: -20, 2: 80, 3: 80})
    five_nights = segment(db, "schilder", "gelderland")
    set_setting(db, "alert_gap_nights", 5, five_nights)
    plans(db, five_nights, over)
    five_asked_four_had = segment(db, "schilder", "groningen")
    set_setting(db, "alert_gap_nights", 5, five_asked_four_had)
    plans(db, five_asked_four_had, {0: 80, 1: 80, 2: 80, 3: 80, 4: 20})

    rows = db.execute(
        """select segment_id, date, details from lead_flow.pipeline_alerts(%s) where kind = 'lead_gap'""",
        (NOW,)).fetchall()
    got = {r[0]: (r[1], r[2]) for r in rows}
    mine = {run, until_the_night_before, stopped, hole, one_small, five_nights, five_asked_four_had}
    assert set(got) & mine == {run, until_the_night_before, five_nights}
    assert got[run][0] == YESTERDAY and got[run][1]["dates"] == [
        str(YESTERDAY - timedelta(days=k)) for k in (2, 1, 0)]
    assert got[until_the_night_before][0] == YESTERDAY - timedelta(days=1)
    assert got[five_nights][1]["nights"] == 5 and len(got[five_nights][1]["dates"]) == 5


def test_not_budget_limited_carries_the_smart_controllers_figures(db: psycopg.Connection) -> None:
    seg = segment(db, "dakdekker", "utrecht", budget=100)
    db.execute(
        """insert into public.lead_generation_stats (segment_id, date, leads_generated, google_ads_spend)
           select %s, d::date, 2, 40 from generate_series(%s::date - 9, %s::date, interval '1 day') d""",
        (seg, YESTERDAY, YESTERDAY))
    plans(db, seg, {0: 80})
    # A budget change applied the night before yesterday: 90 before it, 60 from then on.
    db.execute(
        """insert into public.channel_orchestration_log (segment_id, date, channel, action_type, old_value,
                                                         new_value, status)
           values (%s, %s, 'google_ads', 'budget_decrease', 90, 60, 'success')""",
        (seg, YESTERDAY - timedelta(days=1)))

    alerts = db.execute(
        "select details from lead_flow.controller_alerts(%s) where segment_id = %s", (NOW, seg)).fetchall()
    features = db.execute(
        "select features from lead_flow.smart_controller_features(%s, %s)", (YESTERDAY, seg)).fetchone()[0]
    assert len(alerts) == 1
    details = alerts[0][0]
    for key in ("days_7d", "leads_7d", "spend_3d", "budget_3d", "days_3d"):
        assert float(details[key]) == float(features[key]), key
    assert float(details["budget_3d"]) == 90 + 90 + 60  # the budget in force on each of the 3 days
