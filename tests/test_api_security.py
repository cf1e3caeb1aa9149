"""Who may use which API resource, through the real PostgREST with signed JWTs: anon, a partner, an
admin and service_role. Everyone else gets an HTTP error (401 for anon, 403 for a signed-in
non-admin), never data, and a refused write changes nothing."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.support import RestClients, make_jwt
from tests.support_api import DAY, Seeded, add_failed_change_last_night, http, seed

ROLES = ["anon", "partner", "admin", "service"]


@pytest.fixture
def seeded(committed: psycopg.Connection, rest: RestClients) -> tuple[RestClients, Seeded]:
    return rest, seed(committed)


def _client(rest: RestClients, role: str):
    return getattr(rest, role)


# --- reads ---------------------------------------------------------------------------------------

# resource -> the status each role gets; 200 means rows come back, "empty" a 200 with no rows.
READS: dict[str, dict[str, int | str]] = {
    "lead_segment_overview": {"anon": 401, "partner": 200, "admin": 200, "service": 200},
    "get_segment_capacity": {"anon": 401, "partner": 200, "admin": 200, "service": 200},
    "stats range": {"anon": 401, "partner": 200, "admin": 200, "service": 200},
    "plans range": {"anon": 401, "partner": 200, "admin": 200, "service": 200},
    "orchestration_status": {"anon": 401, "partner": 403, "admin": 200, "service": 200},
    "lead_flow_alerts": {"anon": 401, "partner": "empty", "admin": 200, "service": 200},
    "lead_segment_target_overrides": {"anon": 401, "partner": "empty", "admin": 200, "service": 200},
}


def _read(rest: RestClients, ids: Seeded, resource: str, role: str):
    c = _client(rest, role)
    rng = {"segment_id": str(ids.segment), "start_date": "2026-11-17", "end_date": str(DAY)}
    requests = {
        "lead_segment_overview": ("/lead_segment_overview", {"id": f"eq.{ids.segment}"}),
        "get_segment_capacity": ("/rpc/get_segment_capacity", {"segment_id": str(ids.segment)}),
        "stats range": ("/rpc/get_segment_stats", rng),
        "plans range": ("/rpc/get_segment_plans", rng),
        "orchestration_status": ("/orchestration_status", {"date": f"eq.{DAY}"}),
        "lead_flow_alerts": ("/lead_flow_alerts", {}),
        "lead_segment_target_overrides": ("/lead_segment_target_overrides", {}),
    }
    path, params = requests[resource]
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
    body = {"p_date": str(yesterday)}
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
        ]
    assert committed.execute(runs, (yesterday,)).fetchone()[0] == 3


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
