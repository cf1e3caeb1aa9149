"""A worker whose database role cannot see the queue says so and stops, instead of claiming nothing.

The worker contract's functions run as the caller, and channel_orchestration_log is under row level
security: a role without BYPASSRLS (a member of service_role does not inherit the attribute) sees
no queued change. lead_flow.worker_role_check() finds that, and `leadflow worker` refuses to start.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from glue.lab.fake_google_ads import FakeGoogleAdsServer
from tests.support.worker import log_rows, queue_changes, subprocess_env

LEADFLOW = str(Path(sys.executable).with_name("leadflow"))


def role_check(db: psycopg.Connection, role: str) -> tuple[list[str], list[str]]:
    """lead_flow.worker_role_check() as `role`, in a savepoint (an error leaves the transaction usable)."""
    with db.transaction():
        db.execute(f"set role {role}")
        problems, usable = db.execute("select * from lead_flow.worker_role_check()").fetchone()
        db.execute("reset role")
    return problems, usable


def test_the_check_names_what_each_kind_of_role_lacks(db: psycopg.Connection) -> None:
    db.execute("create role zz_member in role service_role")  # inherits the grants, not BYPASSRLS
    db.execute("create role zz_noinherit noinherit in role service_role")  # neither, until `set role`
    db.execute("create role zz_bypass bypassrls in role service_role")
    db.execute("create role zz_stranger")

    problems, usable = role_check(db, "zz_member")
    assert problems == ["row level security hides the rows of public.campaign_daily_metrics, "
                        "public.channel_orchestration_log, public.lead_segment_campaigns, "
                        "public.lead_segment_plans from it (it has no BYPASSRLS)"]
    assert usable == ["service_role"]

    assert role_check(db, "zz_bypass") == ([], ["service_role"])
    assert role_check(db, "service_role") == ([], [])

    db.execute("grant usage on schema lead_flow to zz_noinherit")
    db.execute("grant execute on function lead_flow.worker_role_check() to zz_noinherit")
    problems, usable = role_check(db, "zz_noinherit")
    assert problems[:4] == ["may not execute lead_flow.campaigns_to_pull",
                            "may not execute lead_flow.claim_budget_changes",
                            "may not execute lead_flow.complete_budget_change",
                            "may not execute lead_flow.record_campaign_metrics"]
    assert "lacks select, update on public.channel_orchestration_log" in problems
    assert usable == ["service_role"]

    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        role_check(db, "zz_stranger")  # not even the check is granted: the worker says so (below)


@pytest.fixture
def login_roles(committed: psycopg.Connection) -> Iterator[dict[str, str]]:
    """Two login roles (the test stack trusts local logins): a member of service_role, and a stranger."""
    suffix = uuid.uuid4().hex[:8]
    roles = {"member": f"zz_worker_{suffix}", "stranger": f"zz_stranger_{suffix}"}
    committed.execute(f"create role {roles['member']} login in role service_role")
    committed.execute(f"create role {roles['stranger']} login")
    try:
        yield roles
    finally:
        for role in roles.values():
            committed.execute(f"drop role {role}")


def run_worker(env: dict[str, str], action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LEADFLOW, "worker", action], env=env, text=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("action", ["push", "run"])
def test_a_member_of_service_role_without_bypassrls_is_refused_in_one_line(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    login_roles: dict[str, str], action: str,
) -> None:
    [change] = queue_changes(committed, fake_ads_server.state, 1)
    role = login_roles["member"]
    env = subprocess_env(fake_ads_server, make_conninfo(db_url, user=role))

    refused = run_worker(env, action)

    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith(f'leadflow worker {action}: role "{role}" cannot work the budget queue: ')
    assert "row level security hides the rows of" in line and "public.channel_orchestration_log" in line
    assert "Set LEADFLOW_WORKER_ROLE=service_role" in line
    assert refused.stdout == ""
    row = log_rows(committed)[change.log_id]
    assert (row["status"], row["attempts"]) == ("pending", 0)  # nothing claimed
    assert fake_ads_server.state.calls("SearchStream") == 0  # Google Ads never asked

    if action == "push":  # the advice works: the same login, as service_role
        pushed = run_worker({**env, "LEADFLOW_WORKER_ROLE": "service_role"}, action)
        assert pushed.returncode == 0, pushed.stderr
        assert log_rows(committed)[change.log_id]["status"] == "success"
        assert fake_ads_server.state.calls("MutateCampaignBudgets") == 1


def test_a_role_without_grants_and_a_role_it_may_not_set_are_refused(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    login_roles: dict[str, str],
) -> None:
    stranger = login_roles["stranger"]
    env = subprocess_env(fake_ads_server, make_conninfo(db_url, user=stranger))

    refused = run_worker(env, "push")
    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith(f'leadflow worker push: role "{stranger}" cannot work the budget queue: '
                           "permission denied for ")
    assert "BYPASSRLS" in line and "LEADFLOW_WORKER_ROLE=service_role" in line

    cannot_set = run_worker({**env, "LEADFLOW_WORKER_ROLE": "service_role"}, "push")
    assert cannot_set.returncode == 2, cannot_set.stderr
    [line] = cannot_set.stderr.splitlines()
    assert line == ('leadflow worker push: LEADFLOW_WORKER_ROLE=service_role: permission denied to set role '
                    '"service_role"')
