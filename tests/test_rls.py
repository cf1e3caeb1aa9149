"""The foundation's access rules, through the real PostgREST, for anon, signed-in callers that are
neither partner nor admin, a partner, an admin and service_role: partners and admins read the
segments, admins write; the tables that hold money (stats, plans, settings, the budget audit trail,
campaigns, metrics) are for admins only (partners read stats and plans through the API's RPCs, money
blanked: test_api_security); signed-in callers without a partner or admin profile read nothing, and
anon gets an error."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from postgrest.exceptions import APIError

from tests.support import NOT_PARTNER_OR_ADMIN, RestClients, create_segment

READ_BY_PARTNERS = ["lead_segments"]
READ_BY_ADMIN_ONLY = [
    "lead_generation_stats",
    "lead_segment_plans",
    "lead_flow_settings",
    "lead_flow_setting_definitions",
    "channel_orchestration_log",
    "lead_segment_campaigns",
    "campaign_daily_metrics",
    "lead_segment_target_overrides",
    "lead_flow_logs",
]


@pytest.fixture
def seeded(committed: psycopg.Connection, rest: RestClients) -> RestClients:
    """One row in every Lead Flow table, committed so PostgREST sees it."""
    seg = create_segment(committed, "schilder", "noord-brabant")
    day = dt.date(2026, 11, 20)
    committed.execute(
        "insert into lead_generation_stats (segment_id, date, leads_generated) values (%s, %s, 4)", (seg, day)
    )
    plan = committed.execute(
        "insert into lead_segment_plans (segment_id, date, target_leads_per_day) "
        "values (%s, %s, 8) returning id",
        (seg, day),
    ).fetchone()[0]
    committed.execute(
        "insert into lead_segment_campaigns "
        "(segment_id, customer_id, campaign_id, budget_resource_name, daily_budget) "
        "values (%s, '1234567890', '111', 'customers/1234567890/campaignBudgets/222', 100)",
        (seg,),
    )
    committed.execute(
        "insert into campaign_daily_metrics (customer_id, campaign_id, date, cost) "
        "values ('1234567890', '111', %s, 80)",
        (day,),
    )
    committed.execute(
        "insert into channel_orchestration_log "
        "(date, segment_id, plan_id, action_type, old_value, new_value) "
        "values (%s, %s, %s, 'budget_increase', 100, 120)",
        (day, seg, plan),
    )
    committed.execute(
        "insert into lead_segment_target_overrides "
        "(segment_id, valid_from, valid_to, target_leads_per_day, reason) "
        "values (%s, %s, %s, 3, 'winter stop')",
        (seg, day, day),
    )
    committed.execute(
        "insert into lead_flow_logs (level, source, message) values ('info', 'lead_flow', 'seeded')"
    )
    return rest


def rows(client, table: str) -> list[dict]:
    return client.from_(table).select("*").execute().data


@pytest.mark.parametrize("table", READ_BY_PARTNERS)
def test_partners_and_admins_read_segments_nobody_else(seeded: RestClients, table: str) -> None:
    assert len(rows(seeded.partner, table)) >= 1
    assert len(rows(seeded.admin, table)) >= 1
    assert len(rows(seeded.service, table)) >= 1
    for who in NOT_PARTNER_OR_ADMIN:
        assert rows(getattr(seeded, who), table) == [], who
    with pytest.raises(APIError) as denied:
        rows(seeded.anon, table)
    assert denied.value.code == "42501"


@pytest.mark.parametrize("table", READ_BY_ADMIN_ONLY)
def test_admin_only_tables_show_partners_nothing(seeded: RestClients, table: str) -> None:
    assert rows(seeded.partner, table) == []
    for who in NOT_PARTNER_OR_ADMIN:
        assert rows(getattr(seeded, who), table) == [], who
    assert len(rows(seeded.admin, table)) >= 1
    assert len(rows(seeded.service, table)) >= 1
    with pytest.raises(APIError):
        rows(seeded.anon, table)


def test_regions_are_public_reference_data(seeded: RestClients) -> None:
    assert len(rows(seeded.anon, "regions")) == 12


def test_only_admins_create_and_change_segments(seeded: RestClients) -> None:
    new = {"branch": "dakdekker", "region": "utrecht"}
    with pytest.raises(APIError) as denied:
        seeded.partner.from_("lead_segments").insert(new).execute()
    assert denied.value.code == "42501"
    with pytest.raises(APIError):
        seeded.anon.from_("lead_segments").insert(new).execute()

    created = seeded.admin.from_("lead_segments").insert(new).execute().data[0]
    assert created["code"] == "dakdekker_utrecht"

    # A partner's update matches no row it may change; the segment stays as it was.
    seeded.partner.from_("lead_segments").update({"is_active": False}).eq("id", created["id"]).execute()
    assert [r["is_active"] for r in rows(seeded.admin, "lead_segments") if r["id"] == created["id"]] == [True]
    seeded.admin.from_("lead_segments").update({"is_active": False}).eq("id", created["id"]).execute()
    assert [r["is_active"] for r in rows(seeded.admin, "lead_segments") if r["id"] == created["id"]] == [
        False
    ]


def test_generated_code_cannot_be_written(seeded: RestClients) -> None:
    with pytest.raises(APIError):
        seeded.admin.from_("lead_segments").insert(
            {"branch": "loodgieter", "region": "zeeland", "code": "hacked"}
        ).execute()


def test_settings_are_validated_and_admin_only(seeded: RestClients) -> None:
    # RLS hides every row from a partner's update: it changes nothing.
    changed = (
        seeded.partner.from_("lead_flow_settings")
        .update({"value": 0.5})
        .eq("key", "target_utilization")
        .execute()
    )
    assert changed.data == []
    assert [
        r["value"] for r in rows(seeded.admin, "lead_flow_settings") if r["key"] == "target_utilization"
    ] == [0.8]

    with pytest.raises(APIError) as bad:
        seeded.admin.from_("lead_flow_settings").update({"value": 7}).eq(
            "key", "target_utilization"
        ).execute()
    assert "between 0 and 1" in bad.value.message
    seeded.admin.from_("lead_flow_settings").update({"value": 0.7}).eq("key", "target_utilization").execute()
    assert [
        r["value"] for r in rows(seeded.service, "lead_flow_settings") if r["key"] == "target_utilization"
    ] == [0.7]


def test_service_role_writes_what_the_pipeline_writes(seeded: RestClients) -> None:
    seg = rows(seeded.service, "lead_segments")[0]["id"]
    seeded.service.from_("lead_generation_stats").insert(
        {"segment_id": seg, "date": "2026-11-21", "leads_generated": 2}
    ).execute()
    with pytest.raises(APIError):
        seeded.admin.from_("lead_generation_stats").insert(
            {"segment_id": seg, "date": "2026-11-22", "leads_generated": 2}
        ).execute()
    assert {r["date"] for r in rows(seeded.admin, "lead_generation_stats")} == {"2026-11-20", "2026-11-21"}


def test_partners_see_only_their_own_profile(seeded: RestClients) -> None:
    mine = rows(seeded.partner, "profiles")
    assert [p["id"] for p in mine] == [str(seeded.partner_id)]
    assert len(rows(seeded.admin, "profiles")) == 3
    with pytest.raises(APIError) as denied:
        seeded.partner.from_("profiles").update({"is_admin": True}).eq("id", str(seeded.partner_id)).execute()
    assert denied.value.code == "42501"
