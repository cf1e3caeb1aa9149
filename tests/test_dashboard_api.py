"""The two aggregates the dashboard's overview reads (sql/91_api.sql): lead_flow_gap_heatmap and
get_lead_flow_daily_totals. Admins only; the figures are the plans' and stats' sums."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

from tests.support import RestClients
from tests.support.api import DAY, http, seed


def test_the_heatmap_has_one_row_per_active_segment_with_last_night_and_the_week(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    s = seed(committed)
    rows = {r["segment_id"]: r for r in rest.admin.from_("lead_flow_gap_heatmap").select("*").execute().data}
    assert set(rows) == {str(s.segment), str(s.other_segment)}  # the inactive one is not drawn
    seg = rows[str(s.segment)]
    # Five nights up to DAY with target 8 and actual 1..5: last night 3 short of 8, the week 25 of 40.
    assert seg["last_night"] == DAY.isoformat()
    assert Decimal(str(seg["gap_percentage_last_night"])) == Decimal("37.5")
    assert (seg["target_leads_7_days"], seg["actual_leads_7_days"], seg["nights_7_days"]) == (40, 15, 5)
    assert Decimal(str(seg["gap_percentage_7_days"])) == Decimal("62.5")
    other = rows[str(s.other_segment)]
    assert Decimal(str(other["gap_percentage_7_days"])) == Decimal("-75")  # 7 leads against a target of 4


def test_daily_totals_sum_the_plans_and_the_spend_per_day(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    s = seed(committed)
    committed.execute(
        "update lead_generation_stats set google_ads_spend = 12.5 where segment_id = %s and date = %s",
        (s.segment, DAY),
    )
    rows = (
        rest.admin.rpc(
            "get_lead_flow_daily_totals",
            {"start_date": (DAY - dt.timedelta(days=1)).isoformat(), "end_date": DAY.isoformat()},
        )
        .execute()
        .data
    )
    assert [r["date"] for r in rows] == [(DAY - dt.timedelta(days=1)).isoformat(), DAY.isoformat()]
    last = rows[-1]
    assert (last["segments"], last["target_leads"], last["actual_leads"]) == (2, 12, 12)
    assert Decimal(str(last["daily_budget"])) == 40 and Decimal(str(last["next_day_budget"])) == 50
    assert Decimal(str(last["google_ads_spend"])) == Decimal("12.5")


def test_partners_and_anon_are_refused_the_overview(rest: RestClients, committed: psycopg.Connection) -> None:
    seed(committed)
    for client, status in ((rest.partner, 403), (rest.anon, 401)):
        response = http(client, "GET", "/lead_flow_gap_heatmap")
        assert response.status_code == status, response.text
        response = http(
            client, "GET", "/rpc/get_lead_flow_daily_totals",
            params={"start_date": DAY.isoformat(), "end_date": DAY.isoformat()},
        )
        assert response.status_code == status, response.text
    only_start = {"start_date": DAY.isoformat()}
    response = http(rest.admin, "GET", "/rpc/get_lead_flow_daily_totals", params=only_start)
    assert response.status_code == 400 and "required" in response.json()["message"]


def test_the_partners_behind_a_segments_capacity_for_admins_only(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    s = seed(committed)
    rows = rest.admin.rpc("get_segment_capacity_partners", {"segment_id": str(s.segment)}).execute().data
    # RestClients' partner serves schilder x noord-brabant with max_open_leads 10; the other partner does not.
    assert [(r["partner_id"], r["max_open_leads"], r["open_leads"]) for r in rows] == [
        (str(rest.partner_id), 10, 0)
    ]
    capacity = rest.admin.rpc("get_segment_capacity", {"segment_id": str(s.segment)}).execute().data
    assert capacity["capacity_partners"] == len(rows)
    body = {"segment_id": str(s.segment)}
    response = http(rest.partner, "POST", "/rpc/get_segment_capacity_partners", json=body)
    assert response.status_code == 403, response.text
    response = http(rest.admin, "POST", "/rpc/get_segment_capacity_partners", json={})
    assert response.status_code == 400 and response.json()["message"] == "segment_id is required"
