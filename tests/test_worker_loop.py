"""The worker as it runs in production: `.venv/bin/leadflow worker ...` processes talking to the fake over
gRPC+TLS and to the real database -- two at once, one killed mid-way, and the long-running loop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from glue.lab.fake_google_ads import FakeGoogleAdsServer
from glue.worker.config import ConfigError, load_settings
from glue.worker.metrics import AMSTERDAM
from tests.support.worker import assert_final_states, log_rows, queue_changes, subprocess_env

LEADFLOW = str(Path(sys.executable).with_name("leadflow"))


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Worker processes started by a test; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_worker(
    processes: list[subprocess.Popen[str]], env: dict[str, str], *args: str
) -> subprocess.Popen[str]:
    process = subprocess.Popen([LEADFLOW, "worker", *args], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    processes.append(process)
    return process


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def lock_waiters(conn: psycopg.Connection) -> int:
    return conn.execute(
        "select count(*) from pg_stat_activity "
        "where wait_event_type = 'Lock' and query like '%claim_budget_changes%'"
    ).fetchone()[0]


def test_two_push_processes_at_once_push_each_change_exactly_once(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    processes: list[subprocess.Popen[str]],
) -> None:
    state = fake_ads_server.state
    queued = queue_changes(committed, state, 200, new="13.00")
    state.set_latency(0.05)  # every call takes a while, so the two workers overlap
    env = subprocess_env(fake_ads_server, db_url, LEADFLOW_WORKER_CLAIM_SIZE="10")

    # Both workers start claiming at the same moment: the queue is locked until both wait for it.
    with psycopg.connect(db_url) as gate:
        gate.execute("lock table public.channel_orchestration_log in exclusive mode")
        workers = [start_worker(processes, env, "push", "--name", name) for name in ("w1", "w2")]
        wait_for(lambda: lock_waiters(committed) == 2, 30, "both workers to reach the queue")
    outputs = [w.communicate(timeout=60) for w in workers]

    assert [w.returncode for w in workers] == [0, 0], outputs
    applied = [m.resource_name for m in state.mutations]
    assert len(applied) == 200
    assert set(applied) == {q.budget_resource_name for q in queued}  # each exactly once
    rows = log_rows(committed)
    assert {(r["status"], r["attempts"]) for r in rows.values()} == {("success", 1)}
    assert {r["claimed_by"] for r in rows.values()} == {"w1", "w2"}  # both did part of the work


def test_a_worker_killed_after_the_mutate_is_recovered_without_a_second_push(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    processes: list[subprocess.Popen[str]],
) -> None:
    state = fake_ads_server.state
    queued = queue_changes(committed, state, 5, old="10.00", new="14.00")
    ids = [q.log_id for q in queued]
    state.set_latency(0.3)  # room for the test to take its row locks between the claim and the mutate
    env = subprocess_env(fake_ads_server, db_url)
    worker = start_worker(processes, env, "push", "--name", "doomed")

    # Once the changes are claimed, hold their rows so the worker's database write has to wait ...
    def statuses() -> set[str]:
        return {r["status"] for r in log_rows(committed, ids).values()}

    wait_for(lambda: statuses() == {"in_progress"}, 30, "the claim")
    with psycopg.connect(db_url) as blocker:
        blocker.execute("select from public.channel_orchestration_log where id = any(%s) for update", (ids,))
        # ... and kill it the moment Google has applied the changes, before anything is recorded.
        wait_for(lambda: len(state.mutations) == 5, 30, "the mutate")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        blocker.rollback()

    rows = log_rows(committed, ids)
    assert {(r["status"], r["claimed_by"]) for r in rows.values()} == {("in_progress", "doomed")}
    # The claim lease runs out (as if the lease time had passed), and a new worker takes over.
    committed.execute(
        "update public.channel_orchestration_log set claimed_at = claimed_at - interval '1 day' "
        "where id = any(%s)",
        (ids,),
    )
    state.set_latency(0)
    rerun = start_worker(processes, env, "push", "--name", "heir")
    out, err = rerun.communicate(timeout=60)

    assert rerun.returncode == 0, err
    assert len(state.mutations) == 5  # no second push
    rows = log_rows(committed, ids)
    assert {(r["status"], r["applied_value"], r["claimed_by"]) for r in rows.values()} == {
        ("success", Decimal("14.00"), "heir")
    }
    assert_final_states(rows)


def test_worker_run_pushes_when_notified_pulls_metrics_and_stops_on_sigterm(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    processes: list[subprocess.Popen[str]],
) -> None:
    state = fake_ads_server.state
    yesterday = datetime.now(AMSTERDAM).date() - timedelta(days=1)
    [first] = queue_changes(committed, state, 1, new="11.00")
    state.set_daily_metrics(first.customer_id, int(first.campaign_id), yesterday, 4_560_000, 12, 340, 2.0)
    env = subprocess_env(
        fake_ads_server, db_url,
        LEADFLOW_WORKER_POLL_SECONDS="600",  # so the later push can only come from the notification
        LEADFLOW_WORKER_METRICS_AT="00:00",
        LEADFLOW_WORKER_METRICS_DAYS="2",
    )
    worker = start_worker(processes, env, "run", "--name", "loop")

    # At start: the queue is pushed and the day's metrics are pulled.
    def status(log_id: uuid.UUID) -> str:
        return log_rows(committed, [log_id])[log_id]["status"]

    def metric_rows() -> int:
        return committed.execute("select count(*) from public.campaign_daily_metrics").fetchone()[0]

    wait_for(lambda: status(first.log_id) == "success", 30, "first push")
    wait_for(lambda: metric_rows() == 2, 30, "metrics")
    assert committed.execute(
        "select cost, clicks from public.campaign_daily_metrics where date = %s", (yesterday,)
    ).fetchone() == (Decimal("4.56"), 12)

    # New changes and a notification, as orchestrate_budgets sends: pushed well before the next poll.
    later = queue_changes(committed, state, 3, new="9.00")
    committed.execute("select pg_notify('lead_flow_budget_changes', '3')")
    wait_for(lambda: {status(q.log_id) for q in later} == {"success"}, 15, "the notified push")

    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=10)
    assert worker.returncode == 0, err
    assert "stopped" in err
    for secret in (env["GOOGLE_ADS_ACCESS_TOKEN"], env["GOOGLE_ADS_DEVELOPER_TOKEN"]):
        assert secret not in out + err
    assert len(state.mutations) == 4


def test_configuration_from_yaml_or_env_with_an_endpoint_override_and_secrets_hidden(tmp_path: Path) -> None:
    yaml_file = tmp_path / "google-ads.yaml"
    yaml_file.write_text(
        "developer_token: dev-SECRET-1\nclient_id: cid.apps\nclient_secret: cs-SECRET-2\n"
        "refresh_token: rt-SECRET-3\nlogin_customer_id: 1234567890\nendpoint: googleads.googleapis.com\n"
        "use_proto_plus: True\n"
    )
    env = {
        "DATABASE_URL": "postgresql://worker:pw-SECRET-4@db.internal:5432/leadflow",
        "GOOGLE_ADS_CONFIGURATION_FILE_PATH": str(yaml_file),
        "GOOGLE_ADS_DEVELOPER_TOKEN": "ignored: the file replaces the variables",
        "GOOGLE_ADS_ENDPOINT": "localhost:4443",
        "LEADFLOW_WORKER_CLAIM_SIZE": "250",
        "LEADFLOW_WORKER_METRICS_AT": "02:15",
        "LEADFLOW_WORKER_BACKOFF_BASE_SECONDS": "0.5",
    }
    settings = load_settings(env, name="svc")

    assert settings.ads.developer_token == "dev-SECRET-1"
    assert settings.ads.login_customer_id == "1234567890"
    assert settings.ads.endpoint == "localhost:4443"
    assert settings.ads.use_proto_plus is False  # the worker always works with raw protobuf messages
    assert (settings.name, settings.claim_size, settings.metrics_at) == ("svc", 250, dt_time(2, 15))
    assert settings.retry.base_delay == 0.5
    shown = settings.describe()
    assert "db.internal" in shown and "localhost:4443" in shown
    assert "SECRET" not in shown

    from_env = load_settings({"DATABASE_URL": "postgresql://localhost/x", "GOOGLE_ADS_DEVELOPER_TOKEN": "d",
                              "GOOGLE_ADS_ACCESS_TOKEN": "a"})
    assert (from_env.ads.developer_token, from_env.ads.endpoint, from_env.claim_size) == ("d", None, 10_000)
    usable = {"DATABASE_URL": "postgresql://localhost/x", "GOOGLE_ADS_DEVELOPER_TOKEN": "d",
              "GOOGLE_ADS_ACCESS_TOKEN": "a"}
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings({"GOOGLE_ADS_DEVELOPER_TOKEN": "d", "GOOGLE_ADS_ACCESS_TOKEN": "a"})
    with pytest.raises(ConfigError, match="LEADFLOW_WORKER_CLAIM_SIZE"):
        load_settings({**usable, "LEADFLOW_WORKER_CLAIM_SIZE": "many"})
    with pytest.raises(ConfigError, match="batch_size"):
        load_settings({**usable, "LEADFLOW_WORKER_BATCH_SIZE": "10001"})
    with pytest.raises(ConfigError, match="missing GOOGLE_ADS_CLIENT_ID, GOOGLE_ADS_CLIENT_SECRET"):
        load_settings({"DATABASE_URL": "postgresql://localhost/x", "GOOGLE_ADS_DEVELOPER_TOKEN": "d"})
    assert load_settings({**usable, "LEADFLOW_WORKER_ROLE": "service_role"}).database_role == "service_role"
