"""The API's behaviour through the real PostgREST (postgrest-py): what each resource returns, and a
4xx with a message saying what is wrong for bad input (over-long input included) -- never a 500,
never a lost row. Partners read without money (test_api_security has who sees what)."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest
from postgrest.exceptions import APIError

from tests.support import RestClients
from tests.support.api import DAY, Seeded, add_failed_change_last_night, http, seed


@pytest.fixture
def seeded(committed: psycopg.Connection, rest: RestClients) -> tuple[RestClients, Seeded]:
    return rest, seed(committed)


# --- create_lead_segment ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("branch", "region", "code"),
    [
        ("  Schilder ", "N-Brabant", "schilder_noord_brabant"),
        ("Glas  Zetter", " ZUID-HOLLAND ", "glas_zetter_zuid_holland"),
        ("dakdekker", "Fryslân", "dakdekker_friesland"),
        ("loodgieter", "nh", "loodgieter_noord_holland"),
    ],
)
def test_create_lead_segment_normalizes_branch_and_region(
    rest: RestClients, branch: str, region: str, code: str
) -> None:
    row = (
        rest.admin.rpc(
            "create_lead_segment", {"branch": branch, "region": region, "description": "made by a test"}
        )
        .execute()
        .data
    )
    assert row["code"] == code
    assert row["branch"] == " ".join(branch.lower().split())
    assert row["is_active"] is True and row["country"] == "NL" and row["description"] == "made by a test"
    listed = rest.partner.from_("lead_segments").select("id").eq("code", code).execute().data
    assert listed == [{"id": row["id"]}]


def test_a_duplicate_active_segment_is_refused_with_409(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    first = rest.admin.rpc("create_lead_segment", {"branch": "schilder", "region": "utrecht"}).execute().data
    response = http(
        rest.admin, "POST", "/rpc/create_lead_segment", json={"branch": "Schilder", "region": "UT"}
    )
    assert response.status_code == 409
    body = response.json()
    assert (
        "active segment" in body["message"] and "schilder" in body["message"] and "utrecht" in body["message"]
    )
    assert first["id"] in body["details"]
    assert committed.execute("select count(*) from lead_segments").fetchone()[0] == 1


def test_an_inactive_segment_is_reactivated_not_duplicated(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    row = rest.admin.rpc("create_lead_segment", {"branch": "loodgieter", "region": "Zeeland"}).execute().data
    assert row["id"] == str(ids.inactive_segment) and row["is_active"] is True
    assert (
        committed.execute("select count(*) from lead_segments where code = 'loodgieter_zeeland'").fetchone()[
            0
        ]
        == 1
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"branch": "", "region": "utrecht"}, "branch is required"),
        ({"branch": "   ", "region": "utrecht"}, "branch is required"),
        ({"branch": None, "region": "utrecht"}, "branch is required"),
        ({"branch": "x" * 10_000, "region": "utrecht"}, "branch is 10000 characters long; at most 100"),
        ({"branch": "!!!", "region": "utrecht"}, 'branch "!!!" has no letters or digits'),
        (
            {"branch": "schilder", "region": "atlantis"},
            'unknown region "atlantis"; valid regions: drenthe, flevoland',
        ),
        ({"branch": "schilder", "region": "y" * 10_000}, "region is 10000 characters long; at most 100"),
        ({"branch": "schilder", "region": "y" * 101}, "region is 101 characters long; at most 100"),
        ({"branch": "schilder", "region": ""}, "region is required; valid regions: drenthe"),
        (
            {"branch": "schilder", "region": "utrecht", "country": "Nederland"},
            "country must be a two-letter ISO code",
        ),
        (
            {"branch": "schilder", "region": "utrecht", "country": "BE"},
            "region utrecht lies in NL, not in BE",
        ),
        (
            {"branch": "schilder", "region": "utrecht", "description": "d" * 2001},
            "description is 2001 characters",
        ),
    ],
)
def test_create_lead_segment_says_what_is_wrong(
    rest: RestClients, committed: psycopg.Connection, body: dict, message: str
) -> None:
    response = http(rest.admin, "POST", "/rpc/create_lead_segment", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert len(response.json()["message"]) < 400  # a 10 kB input is not echoed back whole
    assert committed.execute("select count(*) from lead_segments").fetchone()[0] == 0


def test_create_lead_segment_without_a_region_is_a_4xx(rest: RestClients) -> None:
    response = http(rest.admin, "POST", "/rpc/create_lead_segment", json={"branch": "schilder"})
    assert 400 <= response.status_code < 500
    assert "create_lead_segment" in response.json()["message"]


@pytest.mark.parametrize(
    ("table", "row", "constraint"),
    [
        (
            "lead_segments",
            {"branch": "schilder", "region": "utrecht", "postal_prefixes": ["35"] * 1001},
            "lead_segments_postal_prefixes_max_1000_items_10kb",
        ),
        (
            "lead_segments",
            {"branch": "schilder", "region": "utrecht", "postal_prefixes": ["3" * 5000] * 3},
            "lead_segments_postal_prefixes_max_1000_items_10kb",
        ),
        (
            "lead_segment_campaigns",
            {
                "customer_id": "1234567890",
                "campaign_id": "1" * 21,
                "budget_resource_name": "customers/1234567890/campaignBudgets/1",
            },
            "lead_segment_campaigns_campaign_id_max_20",
        ),
        (
            "lead_segment_campaigns",
            {
                "customer_id": "1234567890",
                "campaign_id": "1",
                "budget_resource_name": "customers/1234567890/campaignBudgets/" + "1" * 100,
            },
            "lead_segment_campaigns_budget_resource_name_max_100",
        ),
    ],
)
def test_admins_writes_to_tables_are_bounded(
    rest: RestClients, committed: psycopg.Connection, table: str, row: dict, constraint: str
) -> None:
    """Migration 0019's bounds: a 400 naming the constraint (field and limit); nothing written."""
    if table == "lead_segment_campaigns":
        row = {
            **row,
            "segment_id": rest.admin.rpc("create_lead_segment", {"branch": "schilder", "region": "utrecht"})
            .execute()
            .data["id"],
        }
    before = committed.execute(f"select count(*) from {table}").fetchone()[0]
    response = http(rest.admin, "POST", f"/{table}", json=row)
    assert response.status_code == 400, response.text
    assert constraint in response.json()["message"]
    assert committed.execute(f"select count(*) from {table}").fetchone()[0] == before
    # Within the bounds the same write goes through.
    if table == "lead_segments":
        ok = {**row, "postal_prefixes": ["35"] * 1000}
    else:
        ok = {
            **row,
            "campaign_id": "1" * 20,
            "budget_resource_name": "customers/1234567890/campaignBudgets/9",
        }
    assert http(rest.admin, "POST", f"/{table}", json=ok).status_code == 201


# --- stats and plans by segment and date range ----------------------------------------------------------


@pytest.mark.parametrize("rpc", ["get_segment_stats", "get_segment_plans"])
def test_range_rpcs_return_the_days_in_range_oldest_first(
    seeded: tuple[RestClients, Seeded], rpc: str
) -> None:
    rest, ids = seeded
    seg = str(ids.segment)
    days = lambda params: [r["date"] for r in rest.partner.rpc(rpc, params, get=True).execute().data]  # noqa: E731
    assert days({"segment_id": seg, "start_date": "2026-11-17", "end_date": "2026-11-19"}) == [
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
    ]
    assert days({"segment_id": seg, "start_date": "2026-11-19"}) == ["2026-11-19", "2026-11-20"]
    assert days({"segment_id": seg, "end_date": "2026-11-16"}) == ["2026-11-16"]
    assert len(days({"segment_id": seg})) == 5
    assert days({"segment_id": seg, "start_date": str(DAY), "end_date": str(DAY)}) == [str(DAY)]
    # Only the asked-for segment: the other segment has a row on DAY too.
    assert {r["segment_id"] for r in rest.partner.rpc(rpc, {"segment_id": seg}, get=True).execute().data} == {
        seg
    }


def test_range_rpcs_accept_postgrest_filters_and_ordering(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    rows = (
        rest.partner.rpc("get_segment_stats", {"segment_id": str(ids.segment)}, get=True)
        .select("date,leads_generated")
        .gte("leads_generated", 3)
        .order("date", desc=True)
        .execute()
        .data
    )
    assert rows == [
        {"date": "2026-11-20", "leads_generated": 5},
        {"date": "2026-11-19", "leads_generated": 4},
        {"date": "2026-11-18", "leads_generated": 3},
    ]


def test_plans_range_shows_target_actual_gap_and_budget(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    plan = (
        rest.partner.rpc(
            "get_segment_plans",
            {"segment_id": str(ids.segment), "start_date": str(DAY), "end_date": str(DAY)},
        )
        .execute()
        .data[0]
    )
    assert (plan["target_leads_per_day"], plan["actual_leads"], plan["lead_gap"]) == (8, 5, 3)
    assert float(plan["lead_gap_percentage"]) == 37.5
    assert plan["target_daily_budget_google_ads"] is None  # money: admins only
    params = {"segment_id": str(ids.segment), "start_date": str(DAY), "end_date": str(DAY)}
    [plan] = rest.admin.rpc("get_segment_plans", params).execute().data
    assert float(plan["target_daily_budget_google_ads"]) == 50


@pytest.mark.parametrize("rpc", ["get_segment_stats", "get_segment_plans"])
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"start_date": "2026-11-20", "end_date": "2026-11-01"},
            "end_date (2026-11-01) is before start_date (2026-11-20)",
        ),
        ({"start_date": "yesterday-ish"}, 'invalid input syntax for type date: "yesterday-ish"'),
        ({"end_date": "2026-02-30"}, 'date/time field value out of range: "2026-02-30"'),
        ({"start_date": "2026-13-01"}, 'date/time field value out of range: "2026-13-01"'),
    ],
)
def test_range_rpcs_refuse_bad_dates(
    seeded: tuple[RestClients, Seeded], rpc: str, params: dict, message: str
) -> None:
    rest, ids = seeded
    response = http(rest.partner, "GET", f"/rpc/{rpc}", params={"segment_id": str(ids.segment), **params})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


@pytest.mark.parametrize("rpc", ["get_segment_stats", "get_segment_plans"])
def test_range_rpcs_refuse_an_unknown_or_malformed_segment(rest: RestClients, rpc: str) -> None:
    unknown = uuid.uuid4()
    response = http(rest.partner, "GET", f"/rpc/{rpc}", params={"segment_id": str(unknown)})
    assert response.status_code == 400
    assert response.json()["message"] == f"unknown segment {unknown}"
    response = http(rest.partner, "GET", f"/rpc/{rpc}", params={"segment_id": "schilder_utrecht"})
    assert response.status_code == 400
    assert 'invalid input syntax for type uuid: "schilder_utrecht"' in response.json()["message"]


@pytest.mark.parametrize("table", ["lead_generation_stats", "lead_segment_plans"])
def test_tables_filter_by_segment_and_date_range_too(seeded: tuple[RestClients, Seeded], table: str) -> None:
    """The tables themselves (admins: they hold money; partners get no rows from them)."""
    rest, ids = seeded
    assert rest.partner.from_(table).select("date").execute().data == []
    rows = (
        rest.admin.from_(table)
        .select("date")
        .eq("segment_id", str(ids.segment))
        .gte("date", "2026-11-18")
        .lte("date", "2026-11-19")
        .order("date")
        .execute()
        .data
    )
    assert rows == [{"date": "2026-11-18"}, {"date": "2026-11-19"}]
    response = http(rest.admin, "GET", f"/{table}", params={"date": "gte.notadate"})
    assert response.status_code == 400
    assert 'invalid input syntax for type date: "notadate"' in response.json()["message"]


# --- orchestration_status ---------------------------------------------------------------------------------


def test_orchestration_status_sums_up_a_night(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    [night] = rest.admin.from_("orchestration_status").select("*").eq("date", str(DAY)).execute().data
    assert (night["changes"], night["succeeded"], night["failed"], night["conflicts"], night["pending"]) == (
        3,
        1,
        1,
        1,
        0,
    )
    assert (night["increases"], night["decreases"]) == (2, 1)
    assert (float(night["total_old_budget"]), float(night["total_new_budget"])) == (80.0, 84.0)
    assert float(night["total_applied_budget"]) == 48.0
    assert night["plans_by_status"] == {"success": 1, "failed": 1}
    problems = {p["status"]: p for p in night["problems"]}
    assert set(problems) == {"failed", "conflict"}
    assert problems["failed"]["message"] == "campaign budget was removed in Google Ads"
    assert problems["failed"]["error_code"] == "RESOURCE_NOT_FOUND"
    assert problems["failed"]["segment_code"] == "dakdekker_utrecht"
    assert (
        problems["conflict"]["message"] == "budget live in Google Ads (15.00) differs from the expected 10.00"
    )
    assert problems["failed"]["segment_id"] == str(ids.other_segment)


def test_orchestration_status_keeps_superseded_changes_out_of_the_failures(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    committed.execute(
        "insert into channel_orchestration_log (date, segment_id, channel, action_type, old_value, "
        "new_value, status, error_code, error_message) values (%s, %s, 'seo', 'budget_increase', 5, 6, "
        "'failed', 'superseded', 'superseded by the change planned for 2026-11-21')",
        (DAY, ids.segment),
    )
    [night] = rest.admin.from_("orchestration_status").select("*").eq("date", str(DAY)).execute().data
    assert (night["changes"], night["failed"], night["superseded"]) == (4, 1, 1)
    # Ordered by segment code, then channel: google_ads (failed) before meta (conflict).
    assert [p["status"] for p in night["problems"]] == ["failed", "conflict"]


def test_orchestration_status_lists_nights_without_changes(seeded: tuple[RestClients, Seeded]) -> None:
    rest, _ = seeded
    rows = (
        rest.admin.from_("orchestration_status")
        .select("date,changes,plans_by_status")
        .lt("date", str(DAY))
        .order("date")
        .execute()
        .data
    )
    assert [r["date"] for r in rows] == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]
    assert all(r["changes"] == 0 and r["plans_by_status"] == {"success": 1} for r in rows)


def test_orchestration_status_refuses_a_bad_date_filter(seeded: tuple[RestClients, Seeded]) -> None:
    rest, _ = seeded
    response = http(rest.admin, "GET", "/orchestration_status", params={"date": "eq.2026-11-31"})
    assert response.status_code == 400
    assert "2026-11-31" in response.json()["message"]


# --- target overrides --------------------------------------------------------------------------------------


def _override(segment: uuid.UUID | str, start: str, end: str, target: int = 6, reason: str = "x") -> dict:
    return {
        "segment_id": str(segment),
        "valid_from": start,
        "valid_to": end,
        "target_leads_per_day": target,
        "reason": reason,
    }


def test_setting_the_same_range_again_updates_it(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    first = (
        rest.admin.rpc(
            "set_target_override", _override(ids.other_segment, "2027-01-01", "2027-01-31", 12, " holiday ")
        )
        .execute()
        .data
    )
    assert first["reason"] == "holiday" and first["target_leads_per_day"] == 12
    again = (
        rest.admin.rpc(
            "set_target_override",
            _override(ids.other_segment, "2027-01-01", "2027-01-31", 9, "holiday, less"),
        )
        .execute()
        .data
    )
    assert again["id"] == first["id"] and again["target_leads_per_day"] == 9
    assert (
        committed.execute(
            "select count(*) from lead_segment_target_overrides where segment_id = %s", (ids.other_segment,)
        ).fetchone()[0]
        == 1
    )


def test_an_overlapping_override_is_refused_with_409(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    response = http(
        rest.admin,
        "POST",
        "/rpc/set_target_override",
        json=_override(ids.segment, str(DAY + dt.timedelta(days=3)), str(DAY + dt.timedelta(days=20))),
    )
    assert response.status_code == 409
    body = response.json()
    assert body["message"] == (
        "the segment already has an override from 2026-11-20 to 2026-11-26 (target 3) "
        "that overlaps 2026-11-23 to 2026-12-10"
    )
    assert str(ids.override) in body["details"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"valid_from": "2027-02-10", "valid_to": "2027-02-01"},
            "valid_to (2027-02-01) is before valid_from (2027-02-10)",
        ),
        ({"valid_from": "soon"}, 'invalid input syntax for type date: "soon"'),
        ({"valid_to": None}, "valid_from and valid_to are required"),
        ({"target_leads_per_day": -1}, "target_leads_per_day must be between 0 and 1000000, got -1"),
        (
            {"target_leads_per_day": 2_000_000},
            "target_leads_per_day must be between 0 and 1000000, got 2000000",
        ),
        ({"target_leads_per_day": 99_999_999_999}, "out of range for type integer"),
        ({"reason": "  "}, "reason is required"),
        ({"reason": "r" * 1001}, "reason is 1001 characters long; at most 1000"),
        (
            {"segment_id": "00000000-0000-0000-0000-000000000000"},
            "unknown segment 00000000-0000-0000-0000-000000000000",
        ),
    ],
)
def test_set_target_override_says_what_is_wrong(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection, change: dict, message: str
) -> None:
    rest, ids = seeded
    response = http(
        rest.admin,
        "POST",
        "/rpc/set_target_override",
        json={**_override(ids.other_segment, "2027-02-01", "2027-02-10"), **change},
    )
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert committed.execute("select count(*) from lead_segment_target_overrides").fetchone()[0] == 1


def test_removing_an_unknown_override_is_a_400(rest: RestClients) -> None:
    unknown = uuid.uuid4()
    with pytest.raises(APIError) as refused:
        rest.admin.rpc("remove_target_override", {"id": str(unknown)}).execute()
    assert refused.value.code == "22023"
    assert refused.value.message == f"no target override with id {unknown}"


# --- lead_segment_overview and get_segment_capacity ----------------------------------------------------


def test_overview_shows_active_segments_with_capacity_and_latest_plan(
    seeded: tuple[RestClients, Seeded],
) -> None:
    rest, ids = (
        seeded  # rest.partner: schilder in noord-brabant, 10 leads; other partner: dakdekker, utrecht, 5
    )
    rows = {r["id"]: r for r in rest.partner.from_("lead_segment_overview").select("*").execute().data}
    assert set(rows) == {str(ids.segment), str(ids.other_segment)}  # the inactive one is not listed
    seg = rows[str(ids.segment)]
    assert (seg["code"], seg["capacity_partners"], seg["capacity_total_leads"], seg["available_leads"]) == (
        "schilder_noord_brabant",
        1,
        10,
        10,
    )
    assert seg["plan_date"] == str(DAY)  # the latest of five plans
    assert (seg["target_leads_per_day"], seg["actual_leads"], seg["lead_gap"]) == (8, 5, 3)
    assert float(seg["lead_gap_percentage"]) == 37.5
    # Budgets are money: NULL for a partner, the figures for an admin.
    assert (seg["target_daily_budget_google_ads"], seg["actual_daily_budget_google_ads"]) == (None, None)
    [seg] = rest.admin.from_("lead_segment_overview").select("*").eq("id", str(ids.segment)).execute().data
    assert (float(seg["target_daily_budget_google_ads"]), float(seg["actual_daily_budget_google_ads"])) == (
        50.0,
        40.0,
    )
    other = rows[str(ids.other_segment)]
    assert (other["capacity_partners"], other["capacity_total_leads"], other["lead_gap"]) == (1, 5, -3)


def test_overview_of_a_segment_without_plans_or_partners_has_zeros_and_no_plan(rest: RestClients) -> None:
    row = rest.admin.rpc("create_lead_segment", {"branch": "hovenier", "region": "limburg"}).execute().data
    [seg] = rest.partner.from_("lead_segment_overview").select("*").eq("id", row["id"]).execute().data
    assert (seg["capacity_partners"], seg["capacity_total_leads"], seg["available_leads"]) == (0, 0, 0)
    assert seg["plan_date"] is None and seg["target_leads_per_day"] is None


def test_overview_by_id_gives_one_row_or_none_and_refuses_a_malformed_id(
    seeded: tuple[RestClients, Seeded],
) -> None:
    rest, ids = seeded
    one = (
        rest.partner.from_("lead_segment_overview").select("code").eq("id", str(ids.other_segment)).execute()
    )
    assert one.data == [{"code": "dakdekker_utrecht"}]
    assert (
        rest.partner.from_("lead_segment_overview").select("id").eq("id", str(uuid.uuid4())).execute().data
        == []
    )
    response = http(rest.partner, "GET", "/lead_segment_overview", params={"id": "eq.42"})
    assert response.status_code == 400
    assert 'invalid input syntax for type uuid: "42"' in response.json()["message"]


def test_get_segment_capacity_for_one_segment(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    capacity = rest.partner.rpc("get_segment_capacity", {"segment_id": str(ids.segment)}).execute().data
    assert capacity == {
        "capacity_partners": 1,
        "capacity_total_leads": 10,
        "current_open_leads": 0,
        "available_leads": 10,
    }
    response = http(
        rest.partner, "GET", "/rpc/get_segment_capacity", params={"segment_id": str(uuid.uuid4())}
    )
    assert response.status_code == 400 and "unknown segment" in response.json()["message"]


# --- lead_flow_alerts ----------------------------------------------------------------------------------


def test_admins_see_last_nights_failed_budget_change_as_an_alert(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    add_failed_change_last_night(committed, ids.segment)
    alerts = (
        rest.admin.from_("lead_flow_alerts")
        .select("*")
        .eq("kind", "budget_change_failed")
        .eq("segment_id", str(ids.segment))
        .execute()
        .data
    )
    assert len(alerts) == 1 and "quota exhausted" in alerts[0]["message"]
    assert rest.partner.from_("lead_flow_alerts").select("*").execute().data == []


# --- rerun_lead_flow -------------------------------------------------------------------------------------


def test_rerun_of_yesterday_aggregates_plans_and_orchestrates(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    industry = committed.execute("insert into industries (name) values ('Schilder') returning id").fetchone()[
        0
    ]
    yesterday = committed.execute("select lead_flow.local_day(now()) - 1").fetchone()[0]
    committed.execute(
        "insert into leads (industry_id, province, created_at) "
        "values (%s, 'Noord-Brabant', (%s::date + time '12:00') at time zone 'Europe/Amsterdam')",
        (industry, yesterday),
    )
    steps = rest.admin.rpc("rerun_lead_flow", {"day": str(yesterday)}).execute().data
    assert [(s["step"], s["date"], s["status"]) for s in steps] == [
        (step, str(yesterday), "success")
        for step in ("aggregate", "plan", "orchestrate", "partner_lead_gaps", "partner_recommendations")
    ]
    stats = (
        rest.admin.from_("lead_generation_stats")
        .select("leads_generated,lead_segments(code)")
        .eq("date", str(yesterday))
        .execute()
        .data
    )
    assert stats == [{"leads_generated": 1, "lead_segments": {"code": "schilder_noord_brabant"}}]
    assert (
        len(rest.admin.from_("lead_segment_plans").select("id").eq("date", str(yesterday)).execute().data)
        == 1
    )


def test_rerun_of_an_older_day_changes_no_budget(rest: RestClients, committed: psycopg.Connection) -> None:
    day = committed.execute("select lead_flow.local_day(now()) - 3").fetchone()[0]
    steps = rest.admin.rpc("rerun_lead_flow", {"day": str(day)}).execute().data
    assert [(s["step"], s["status"]) for s in steps] == [
        ("aggregate", "success"),
        ("plan", "success"),
        ("partner_lead_gaps", "success"),
        ("orchestrate", "skipped"),
        ("partner_recommendations", "skipped"),
    ]
    assert "no budget changes" in steps[3]["error"]
    assert committed.execute("select count(*) from channel_orchestration_log").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("days_ahead", "message"),
    [
        (0, "is today, which is not over yet"),
        (1, "lies in the future"),
        (3650, "lies in the future"),
        (-400, "is more than a year ago"),
    ],
)
def test_rerun_refuses_days_that_are_not_finished_or_too_old(
    rest: RestClients, committed: psycopg.Connection, days_ahead: int, message: str
) -> None:
    day = committed.execute("select lead_flow.local_day(now()) + %s", (days_ahead,)).fetchone()[0]
    response = http(rest.admin, "POST", "/rpc/rerun_lead_flow", json={"day": str(day)})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert committed.execute("select count(*) from lead_flow.nightly_runs").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday-ish", 'invalid input syntax for type date: "yesterday-ish"'),
        ("2026-02-29", 'date/time field value out of range: "2026-02-29"'),
        ("-infinity", "day must be a calendar day"),
    ],
)
def test_rerun_refuses_dates_that_are_not_dates(rest: RestClients, value: str, message: str) -> None:
    response = http(rest.admin, "POST", "/rpc/rerun_lead_flow", json={"day": value})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
