"""aggregate_lead_stats: Amsterdam calendar days (23 and 25 hours), one row per active segment,
zeros where nothing happened, ad metrics and capacity, idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from tests.support import create_industry, create_user
from tests.support.pipeline import campaign_of, leads_at, segment


def stats(db: psycopg.Connection, segment_id: object, day: date) -> tuple | None:
    return db.execute(
        """select leads_generated, leads_accepted, leads_rejected, leads_pending, avg_cpl, google_ads_spend,
                  google_ads_clicks, google_ads_impressions, google_ads_conversions
             from public.lead_generation_stats where segment_id = %s and date = %s""",
        (segment_id, day)).fetchone()


@pytest.mark.parametrize(("day", "before", "after"), [
    (date(2025, 3, 30), "2025-03-29 23:30", "2025-03-31 00:30"),   # 23 hours: clocks go forward
    (date(2025, 10, 26), "2025-10-25 23:30", "2025-10-27 00:30"),  # 25 hours: clocks go back
])
def test_dst_day_counts_its_first_and_last_local_hour(db: psycopg.Connection, day: date, before: str,
                                                      after: str) -> None:
    s = segment(db, "schilder", "utrecht")
    leads_at(db, s, f"{day} 00:30", status="accepted")
    leads_at(db, s, f"{day} 23:30", status="new")
    leads_at(db, s, before, 3)          # the evening before and the night after are other days
    leads_at(db, s, after, 4)
    assert db.execute("select lead_flow.aggregate_lead_stats(%s)", (day,)).fetchone()[0] == 1
    assert stats(db, s, day)[:4] == (2, 1, 0, 1)
    # The same two leads in UTC would straddle two days: the 23:30 one is 21:30/22:30 UTC, the
    # 00:30 one is 23:30/22:30 UTC the day before.
    utc_count = db.execute("""select count(*) from public.leads where segment_id = %s
                                and (created_at at time zone 'UTC')::date = %s""", (s, day)).fetchone()[0]
    assert utc_count != 2


def test_every_active_segment_gets_a_row_zeros_included(db: psycopg.Connection) -> None:
    busy = segment(db, "schilder", "utrecht")
    quiet = segment(db, "dakdekker", "utrecht")
    asleep = segment(db, "hovenier", "utrecht")
    db.execute("update public.lead_segments set is_active = false where id = %s", (asleep,))
    day = date(2025, 6, 2)
    for status, n in [("accepted", 3), ("rejected", 2), ("pending", 1), ("new", 1), ("in_progress", 1)]:
        leads_at(db, busy, f"{day} 12:00", n, status)
    customer, campaign = campaign_of(db, busy)
    db.execute("""insert into public.campaign_daily_metrics (customer_id, campaign_id, date, cost, clicks,
                                                             impressions, conversions)
                  values (%s, %s, %s, 80.00, 40, 900, 3.5)""", (customer, campaign, day))
    assert db.execute("select lead_flow.aggregate_lead_stats(%s)", (day,)).fetchone()[0] == 2
    assert stats(db, busy, day) == (8, 3, 2, 2, Decimal("10.00"), Decimal("80.00"), 40, 900, Decimal("3.50"))
    assert stats(db, quiet, day) == (0, 0, 0, 0, None, Decimal("0.00"), 0, 0, Decimal("0.00"))
    assert stats(db, asleep, day) is None


def test_running_again_gives_the_same_rows_untouched(db: psycopg.Connection) -> None:
    s = segment(db, "schilder", "utrecht")
    leads_at(db, s, "2025-06-02 09:00", 5)
    day = date(2025, 6, 2)
    db.execute("select lead_flow.aggregate_lead_stats(%s)", (day,))
    first = db.execute("select * from public.lead_generation_stats order by segment_id").fetchall()
    assert db.execute("select lead_flow.aggregate_lead_stats(%s)", (day,)).fetchone()[0] == 0
    assert db.execute("select * from public.lead_generation_stats order by segment_id").fetchall() == first
    leads_at(db, s, "2025-06-02 10:00", 1, "rejected")   # new data: the row is updated, not duplicated
    assert db.execute("select lead_flow.aggregate_lead_stats(%s)", (day,)).fetchone()[0] == 1
    assert stats(db, s, day)[:3] == (6, 0, 1)


def test_capacity_is_the_segments_capacity_that_night(db: psycopg.Connection) -> None:
    s = segment(db, "schilder", "noord-brabant")
    create_user(db, primary_branch="schilder", regions=["noord-brabant"], max_open_leads=12)
    create_user(db, primary_branch="schilder", regions=["Noord-Brabant"], max_open_leads=8)
    db.execute("select lead_flow.aggregate_lead_stats(%s)", (date(2025, 6, 2),))
    row = db.execute("""select capacity_partners, capacity_total_leads from public.lead_generation_stats
                         where segment_id = %s""", (s,)).fetchone()
    expected = db.execute("""select capacity_partners, capacity_total_leads
                               from lead_flow.segment_capacities() where segment_id = %s""", (s,)).fetchone()
    assert row == expected == (2, 20)


def test_leads_from_before_their_segment_existed_are_counted(db: psycopg.Connection) -> None:
    industry = create_industry(db, "Loodgieter")
    db.execute("update public.lead_flow_settings set value = 'false' where key = 'auto_create_segments'")
    lead = db.execute("""insert into public.leads (industry_id, province, created_at)
                         values (%s, 'Utrecht', '2025-06-02 08:00+02') returning id""",
                      (industry,)).fetchone()[0]
    assert db.execute("select segment_id from public.leads where id = %s", (lead,)).fetchone()[0] is None
    s = segment(db, "loodgieter", "utrecht")             # the segment arrives after the lead
    db.execute("select lead_flow.aggregate_lead_stats(%s)", (date(2025, 6, 2),))
    assert stats(db, s, date(2025, 6, 2))[0] == 1


def test_a_missing_date_is_a_clear_error(db: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="needs a date"):
        db.execute("select lead_flow.aggregate_lead_stats(null)")


def test_the_nights_rows_get_time_ordered_ids(db: psycopg.Connection) -> None:
    """Stats, plans and partner gaps of a later night sort after an earlier night's by id (UUID version 7
    layout: milliseconds first), so each night's index entries land at the primary key's right edge
    instead of on a random leaf page each (migration 0085)."""
    s = segment(db, "schilder", "utrecht")
    create_user(db, primary_branch="schilder", regions=["utrecht"], max_open_leads=10)
    tables = {
        "public.lead_generation_stats": "lead_flow.aggregate_lead_stats",
        "public.lead_segment_plans": "lead_flow.plan_lead_segments",
        "public.partner_lead_gaps": "lead_flow.plan_partner_lead_gaps",
    }
    for day in (date(2025, 6, 2), date(2025, 6, 3)):
        for step in tables.values():
            db.execute(f"select {step}(%s)", (day,))
        db.execute("select pg_sleep(0.002)")
    for table in tables:
        first, second, versions = db.execute(
            f"""select (array_agg(id order by id desc) filter (where date = '2025-06-02'))[1],
                       (array_agg(id order by id) filter (where date = '2025-06-03'))[1],
                       array_agg(distinct substr(id::text, 15, 1))
                  from {table} where segment_id = %s""",
            (s,),
        ).fetchone()
        assert first is not None and second is not None, table
        assert first < second, table
        assert versions == ["7"], table
