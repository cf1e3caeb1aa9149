"""Who may use which API resource, through the real PostgREST with signed JWTs: anon, signed-in callers
that are neither partner nor admin (no sub, a sub without a profile, a sub that is not a uuid), a
partner, an admin and service_role. Whoever may not gets an HTTP error (401 for anon, 403 from an RPC
for a signed-in caller) or no rows (tables and views under RLS), never data; money is for admins; a
refused write changes nothing."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.support import NOT_PARTNER_OR_ADMIN, RestClients, create_user, make_jwt
from tests.support.api import DAY, Seeded, add_failed_change_last_night, http, seed

ROLES = ["anon", *NOT_PARTNER_OR_ADMIN, "partner", "admin", "service"]


@pytest.fixture
def seeded(committed: psycopg.Connection, rest: RestClients) -> tuple[RestClients, Seeded]:
    return rest, seed(committed)


def _client(rest: RestClients, role: str):
    return getattr(rest, role)


# --- reads ---------------------------------------------------------------------------------------


def _expect(anon: int, nobody: int | str, partner: int | str, admin: int = 200) -> dict[str, int | str]:
    """The status per role: `nobody` for each signed-in caller that is neither partner nor admin."""
    return {
        "anon": anon,
        **dict.fromkeys(NOT_PARTNER_OR_ADMIN, nobody),
        "partner": partner,
        "admin": admin,
        "service": 200,
    }


# resource -> the status each role gets; 200 means rows come back, "empty" a 200 with no rows.
# Stats and plans tables hold money: partners read them through the RPCs (money blanked), not directly.
READS: dict[str, dict[str, int | str]] = {
    "lead_segment_overview": _expect(401, "empty", 200),
    "segment_capacity": _expect(401, "empty", 200),
    "get_segment_capacity": _expect(401, 403, 200),
    "stats range": _expect(401, 403, 200),
    "plans range": _expect(401, 403, 200),
    "orchestration_status": _expect(401, 403, 403),
    "lead_flow_alerts": _expect(401, "empty", "empty"),
    "lead_segment_target_overrides": _expect(401, "empty", "empty"),
    "lead_segments": _expect(401, "empty", 200),
    "lead_generation_stats": _expect(401, "empty", "empty"),
    "lead_segment_plans": _expect(401, "empty", "empty"),
    "lead_flow_settings": _expect(401, "empty", "empty"),
    "channel_orchestration_log": _expect(401, "empty", "empty"),
}


def _read(rest: RestClients, ids: Seeded, resource: str, role: str):
    c = _client(rest, role)
    rng = {"segment_id": str(ids.segment), "start_date": "2026-11-17", "end_date": str(DAY)}
    requests = {
        "lead_segment_overview": ("/lead_segment_overview", {"id": f"eq.{ids.segment}"}),
        "segment_capacity": ("/segment_capacity", {}),
        "get_segment_capacity": ("/rpc/get_segment_capacity", {"segment_id": str(ids.segment)}),
        "stats range": ("/rpc/get_segment_stats", rng),
        "plans range": ("/rpc/get_segment_plans", rng),
        "orchestration_status": ("/orchestration_status", {"date": f"eq.{DAY}"}),
        "lead_flow_alerts": ("/lead_flow_alerts", {}),
        "lead_segment_target_overrides": ("/lead_segment_target_overrides", {}),
    }
    path, params = requests.get(resource, (f"/{resource}", {}))
    return http(c, "GET", path, params=params)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("resource", sorted(READS))
def test_reads_by_role(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection, resource: str, role: str
) -> None:
    rest, ids = seeded
    # A failed budget change of last night, so that lead_flow_alerts has something to show admins.
    add_failed_change_last_night(committed, ids.segment)
    response = _read(rest, ids, resource, role)
    expected = READS[resource][role]
    assert response.status_code == (200 if expected == "empty" else expected), response.text
    body = response.json()
    if expected == 200:
        assert body and (isinstance(body, dict) or len(body) >= 1)
    elif expected == "empty":
        assert body == []
    else:
        # An error object with a message, not rows.
        assert isinstance(body, dict) and body["message"] and body["code"] == "42501"


@pytest.mark.parametrize("role", NOT_PARTNER_OR_ADMIN)
@pytest.mark.parametrize("rpc", ["get_segment_capacity", "get_segment_stats", "get_segment_plans"])
def test_a_signed_in_caller_without_a_partner_profile_is_told_why(
    seeded: tuple[RestClients, Seeded], rpc: str, role: str
) -> None:
    rest, ids = seeded
    response = http(_client(rest, role), "GET", f"/rpc/{rpc}", params={"segment_id": str(ids.segment)})
    assert response.status_code == 403, response.text
    assert response.json()["message"] == f"{rpc} needs a partner or admin profile"


def test_a_profile_that_is_no_partner_reads_nothing(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    """A bare account's profile (not admin, not in routing, no trade named) is not a partner's."""
    rest, ids = seeded
    bare = create_user(committed, is_active_for_routing=False)
    client = rest.client("authenticated", bare)
    assert client.from_("lead_segment_overview").select("id").execute().data == []
    assert client.from_("lead_segments").select("id").execute().data == []
    response = http(client, "GET", "/rpc/get_segment_plans", params={"segment_id": str(ids.segment)})
    assert response.status_code == 403, response.text
    # The same profile naming a trade is a partner's, and reads.
    committed.execute("update profiles set primary_branch = 'stukadoor' where id = %s", (bare,))
    assert len(client.from_("lead_segment_overview").select("id").execute().data) == 2


# --- money: admins (and the back end) only --------------------------------------------------------

STATS_MONEY = [
    "avg_cpl",
    "google_ads_spend",
    "google_ads_clicks",
    "google_ads_impressions",
    "google_ads_conversions",
]
PLANS_MONEY = [
    "target_daily_budget_google_ads",
    "actual_daily_budget_google_ads",
    "orchestration_reason",
    "cost_per_lead",
    "cost_per_lead_source",
]
OVERVIEW_MONEY = ["target_daily_budget_google_ads", "actual_daily_budget_google_ads", "orchestration_reason"]


def test_partners_read_stats_plans_and_overview_without_money(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    committed.execute(
        "update lead_generation_stats set avg_cpl = 21.5, google_ads_spend = 86, google_ads_clicks = 40, "
        "google_ads_impressions = 900, google_ads_conversions = 4 where segment_id = %s",
        (ids.segment,),
    )
    committed.execute(
        "update lead_segment_plans set orchestration_reason = 'gap 3 x CPL 21.50', cost_per_lead = 21.5, "
        "cost_per_lead_source = 'segment' where segment_id = %s",
        (ids.segment,),
    )
    seg = {"segment_id": str(ids.segment)}

    def read(client) -> tuple[list[dict], list[dict], dict]:
        stats = client.rpc("get_segment_stats", seg, get=True).execute().data
        plans = client.rpc("get_segment_plans", seg, get=True).execute().data
        [overview] = (
            client.from_("lead_segment_overview").select("*").eq("id", str(ids.segment)).execute().data
        )
        return stats, plans, overview

    stats, plans, overview = read(rest.partner)
    assert len(stats) == 5 and len(plans) == 5
    # What a partner may see is there; every money column is NULL.
    assert [r["leads_generated"] for r in stats] == [1, 2, 3, 4, 5]
    assert [r["lead_gap"] for r in plans] == [7, 6, 5, 4, 3]
    assert overview["target_leads_per_day"] == 8 and overview["orchestration_status"] == "success"
    assert {c: r[c] for r in stats for c in STATS_MONEY} == dict.fromkeys(STATS_MONEY)
    assert {c: r[c] for r in plans for c in PLANS_MONEY} == dict.fromkeys(PLANS_MONEY)
    assert {c: overview[c] for c in OVERVIEW_MONEY} == dict.fromkeys(OVERVIEW_MONEY)

    for client in (rest.admin, rest.service):
        stats, plans, overview = read(client)
        assert [float(r["google_ads_spend"]) for r in stats] == [86.0] * 5
        assert {float(r["avg_cpl"]) for r in stats} == {21.5}
        assert {(float(r["target_daily_budget_google_ads"]), r["cost_per_lead_source"]) for r in plans} == {
            (50.0, "segment")
        }
        assert (float(overview["actual_daily_budget_google_ads"]), overview["orchestration_reason"]) == (
            40.0,
            "gap 3 x CPL 21.50",
        )


def test_the_budget_audit_trail_shows_a_partner_only_its_own_campaigns_changes(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    camps = {}
    for partner, ext in ((rest.partner_id, "7001"), (rest.other_partner_id, "7002")):
        camps[partner] = committed.execute(
            "insert into partner_marketing_campaigns (partner_id, segment_id, channel, "
            "external_campaign_id, customer_id, budget_resource_name, daily_budget) "
            "values (%s, %s, 'google_ads', %s, '5550001111', %s, 30) returning id",
            (partner, ids.segment, ext, f"customers/5550001111/campaignBudgets/{ext}"),
        ).fetchone()[0]
        committed.execute(
            "insert into channel_orchestration_log (date, partner_campaign_id, action_type, old_value, "
            "new_value) values (%s, %s, 'budget_increase', 30, 36)",
            (DAY, camps[partner]),
        )

    def changes(client) -> list[tuple[str, float]]:
        rows = (
            client.from_("channel_orchestration_log").select("partner_campaign_id,new_value").execute().data
        )
        return [(r["partner_campaign_id"], float(r["new_value"])) for r in rows]

    assert changes(rest.partner) == [(str(camps[rest.partner_id]), 36.0)]
    assert changes(rest.other_partner) == [(str(camps[rest.other_partner_id]), 36.0)]
    # Admins: every change, the segments' (seeded) and both partners'.
    assert len(rest.admin.from_("channel_orchestration_log").select("id").execute().data) == 5


def test_a_partner_is_told_orchestration_status_is_for_admins(seeded: tuple[RestClients, Seeded]) -> None:
    rest, _ = seeded
    body = http(rest.partner, "GET", "/orchestration_status").json()
    assert body["message"] == "orchestration_status is for admins only"


def test_target_overrides_are_listed_for_admins_only(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    assert [
        r["id"] for r in rest.admin.from_("lead_segment_target_overrides").select("*").execute().data
    ] == [str(ids.override)]
    assert len(rest.service.from_("lead_segment_target_overrides").select("*").execute().data) == 1
    assert rest.partner.from_("lead_segment_target_overrides").select("*").execute().data == []
    assert http(rest.anon, "GET", "/lead_segment_target_overrides").status_code == 401


# --- writes --------------------------------------------------------------------------------------


def _write(rest: RestClients, ids: Seeded, action: str, role: str, n: int):
    c = _client(rest, role)
    if action == "create_lead_segment":
        return http(
            c, "POST", "/rpc/create_lead_segment", json={"branch": f"stukadoor {n}", "region": "Utrecht"}
        )
    if action == "set_target_override":
        start = dt.date(2027, 1, 1) + dt.timedelta(days=10 * n)
        return http(
            c,
            "POST",
            "/rpc/set_target_override",
            json={
                "segment_id": str(ids.other_segment),
                "valid_from": str(start),
                "valid_to": str(start + dt.timedelta(days=2)),
                "target_leads_per_day": 6,
                "reason": "test",
            },
        )
    raise AssertionError(action)


@pytest.mark.parametrize("action", ["create_lead_segment", "set_target_override"])
def test_only_admins_and_service_role_write(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection, action: str
) -> None:
    rest, ids = seeded
    table = "lead_segments" if action == "create_lead_segment" else "lead_segment_target_overrides"
    before = committed.execute(f"select count(*) from {table}").fetchone()[0]

    anon = _write(rest, ids, action, "anon", 1)
    partner = _write(rest, ids, action, "partner", 2)
    assert (anon.status_code, partner.status_code) == (401, 403), (anon.text, partner.text)
    assert partner.json()["message"] == f"{action} is for admins only"
    assert committed.execute(f"select count(*) from {table}").fetchone()[0] == before

    admin = _write(rest, ids, action, "admin", 3)
    service = _write(rest, ids, action, "service", 4)
    assert (admin.status_code, service.status_code) == (200, 200), (admin.text, service.text)
    assert committed.execute(f"select count(*) from {table}").fetchone()[0] == before + 2


def test_override_records_the_admin_who_set_it(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    row = (
        rest.admin.rpc(
            "set_target_override",
            {
                "segment_id": str(ids.other_segment),
                "valid_from": "2027-03-01",
                "valid_to": "2027-03-01",
                "target_leads_per_day": 2,
                "reason": "trade fair",
            },
        )
        .execute()
        .data
    )
    assert row["created_by"] == str(rest.admin_id)


def test_only_admins_remove_target_overrides(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    count = "select count(*) from lead_segment_target_overrides where id = %s"
    assert (
        http(rest.anon, "POST", "/rpc/remove_target_override", json={"id": str(ids.override)}).status_code
        == 401
    )
    assert (
        http(rest.partner, "POST", "/rpc/remove_target_override", json={"id": str(ids.override)}).status_code
        == 403
    )
    # A partner's DELETE on the table reaches no row (RLS): nothing is removed, nothing is shown.
    deleted = (
        rest.partner.from_("lead_segment_target_overrides").delete().eq("id", str(ids.override)).execute()
    )
    assert deleted.data == []
    assert committed.execute(count, (ids.override,)).fetchone()[0] == 1

    removed = rest.admin.rpc("remove_target_override", {"id": str(ids.override)}).execute().data
    assert removed["id"] == str(ids.override) and removed["reason"] == "winter stop"
    assert committed.execute(count, (ids.override,)).fetchone()[0] == 0


def test_admins_may_also_delete_overrides_through_the_table(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, ids = seeded
    deleted = rest.admin.from_("lead_segment_target_overrides").delete().eq("id", str(ids.override)).execute()
    assert [r["id"] for r in deleted.data] == [str(ids.override)]
    assert committed.execute("select count(*) from lead_segment_target_overrides").fetchone()[0] == 0


def test_partners_cannot_write_stats_or_plans(seeded: tuple[RestClients, Seeded]) -> None:
    rest, ids = seeded
    for table in ["lead_generation_stats", "lead_segment_plans"]:
        response = http(
            rest.partner, "POST", f"/{table}", json={"segment_id": str(ids.segment), "date": "2027-01-01"}
        )
        assert response.status_code == 403, response.text
        response = http(
            rest.partner,
            "PATCH",
            f"/{table}",
            params={"segment_id": f"eq.{ids.segment}"},
            json={"date": "2027-01-01"},
        )
        assert response.status_code == 403, response.text


def test_a_forged_or_expired_token_is_refused(seeded: tuple[RestClients, Seeded]) -> None:
    rest, _ = seeded
    forged = make_jwt("x" * 48, "service_role")
    expired = make_jwt(rest.secret, "authenticated", rest.admin_id, ttl_s=-60)
    for token in (forged, expired):
        response = http(
            rest.anon, "GET", "/orchestration_status", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, response.text


def test_the_internal_schema_is_not_exposed(seeded: tuple[RestClients, Seeded]) -> None:
    rest, _ = seeded
    response = http(rest.service, "GET", "/nightly_runs", headers={"Accept-Profile": "lead_flow"})
    assert response.status_code == 406, response.text  # PostgREST: schema not among db-schemas
    response = http(rest.admin, "POST", "/rpc/api_require_admin", json={"p_action": "x"})
    assert response.status_code == 404, response.text


def test_only_admins_and_service_role_rerun_a_night(
    seeded: tuple[RestClients, Seeded], committed: psycopg.Connection
) -> None:
    rest, _ = seeded
    yesterday = committed.execute("select lead_flow.local_day(now()) - 1").fetchone()[0]
    runs = "select count(*) from lead_flow.nightly_runs where date = %s"
    body = {"day": str(yesterday)}
    assert http(rest.anon, "POST", "/rpc/rerun_lead_flow", json=body).status_code == 401
    partner = http(rest.partner, "POST", "/rpc/rerun_lead_flow", json=body)
    assert partner.status_code == 403 and partner.json()["message"] == "rerun_lead_flow is for admins only"
    assert committed.execute(runs, (yesterday,)).fetchone()[0] == 0

    for client in (rest.admin, rest.service):
        response = http(client, "POST", "/rpc/rerun_lead_flow", json=body)
        assert response.status_code == 200, response.text
        assert [(r["step"], r["status"]) for r in response.json()] == [
            ("aggregate", "success"),
            ("plan", "success"),
            ("orchestrate", "success"),
            ("partner_lead_gaps", "success"),
            ("partner_recommendations", "success"),
        ]
    assert committed.execute(runs, (yesterday,)).fetchone()[0] == 5


def test_the_definer_behind_rerun_checks_the_caller_too(
    committed: psycopg.Connection, rest: RestClients
) -> None:
    """lead_flow.rerun_lead_flow runs as its owner; a partner reaching it directly is still refused."""
    with committed.transaction():
        committed.execute("set local role authenticated")
        committed.execute(
            "select set_config('request.jwt.claims', %s, true)",
            (f'{{"role": "authenticated", "sub": "{rest.partner_id}"}}',),
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="rerun_lead_flow is for admins only"):
            committed.execute("select * from lead_flow.rerun_lead_flow(lead_flow.local_day(now()) - 1)")


# --- anon: nothing but the region reference -------------------------------------------------------

# What anon may call in `public`: the region reference (province spellings and PC4s are public).
ANON_FUNCTIONS = {"normalize_region", "extract_region"}


def test_anon_gets_401_from_every_function_but_the_region_reference(
    rest: RestClients, committed: psycopg.Connection
) -> None:
    """Every function in `public` (extensions' aside), called as anon with its own parameter names:
    401, not a 400 about a missing parameter that would tell anon the function is there to use."""
    functions = committed.execute(
        """select p.proname,
                  array(select a.name from unnest(p.proargnames, p.proargmodes::text[]) a (name, mode)
                         where coalesce(a.mode, 'i') in ('i', 'b'))
             from pg_proc p
            where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
              and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass
                                                        and d.objid = p.oid and d.deptype = 'e')
            order by 1"""
    ).fetchall()
    assert {
        "create_lead_segment",
        "get_segment_stats",
        "update_marketing_profile",
        "update_lead_gap",
    } <= {name for name, _ in functions}
    statuses = {}
    for name, args in functions:
        response = http(rest.anon, "POST", f"/rpc/{name}", json=dict.fromkeys(args))
        statuses[name] = response.status_code
    assert {n: s for n, s in statuses.items() if n in ANON_FUNCTIONS} == dict.fromkeys(ANON_FUNCTIONS, 200)
    assert {n: s for n, s in statuses.items() if n not in ANON_FUNCTIONS} == {
        n: 401 for n in statuses if n not in ANON_FUNCTIONS
    }
