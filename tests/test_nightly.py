"""Running the night: DST-correct due times under pg_cron's GMT schedules, catch-up after missed
nights, a failing step rolling back only itself and logging, the CLI, the schedule really firing,
and the alerts view."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from glue import cli
from tests.support import RestClients
from tests.support_pipeline import leads_at, segment, set_setting, stats_history

AMS = ZoneInfo("Europe/Amsterdam")
STEPS = {"aggregate": 1, "plan": 2, "orchestrate": 3}


def test_jobs_are_installed_by_name_after_migrate(db: psycopg.Connection) -> None:
    jobs = db.execute("""select jobname, schedule, command, active from cron.job
                          where jobname like 'lead-flow-%' order by jobname""").fetchall()
    assert jobs == [
        ("lead-flow-aggregate", "0 * * * *", "select lead_flow.run_due_steps('aggregate')", True),
        ("lead-flow-orchestrate", "0 * * * *", "select lead_flow.run_due_steps('orchestrate')", True),
        ("lead-flow-plan", "0 * * * *", "select lead_flow.run_due_steps('plan')", True),
    ]


@pytest.mark.parametrize("day", [date(2025, 3, 29) + timedelta(days=i) for i in range(3)]
                         + [date(2025, 10, 25) + timedelta(days=i) for i in range(3)])
def test_steps_fall_due_at_their_local_hour_on_whole_gmt_hours(db: psycopg.Connection, day: date) -> None:
    for step, hour in STEPS.items():
        due = db.execute("select lead_flow.step_due_at(%s, %s)", (step, day)).fetchone()[0]
        assert due.minute == due.second == 0                 # an hourly GMT schedule fires exactly then
        local = due.astimezone(AMS)
        assert local.date() == day + timedelta(days=1)
        # 02:00 does not exist on 2025-03-30 (the clock jumps to 03:00); every other hour is exact.
        assert local.hour == (3 if (day + timedelta(days=1), hour) == (date(2025, 3, 30), 2) else hour)


def test_due_days_around_the_spring_forward_night(db: psycopg.Connection) -> None:
    def due(step: str, utc: str) -> list[date]:
        return [r[0] for r in db.execute("select lead_flow.due_days(%s, %s::timestamptz)", (step, utc))]

    day = date(2025, 3, 29)
    assert day not in due("aggregate", "2025-03-29 23:59:59+00")  # 00:59 CET: too early
    assert day in due("aggregate", "2025-03-30 00:00:00+00")      # 01:00 CET
    assert due("plan", "2025-03-30 01:00:00+00") == []            # aggregate not done yet
    db.execute("""insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at)
                  values ('aggregate', %s, 'success', now(), now())""", (day,))
    assert due("plan", "2025-03-30 01:00:00+00") == [day]         # 03:00 CEST (02:00 skipped)
    assert due("orchestrate", "2025-03-30 01:00:00+00") == []     # plan not done yet


def test_missed_nights_are_caught_up_and_budgets_only_for_yesterday(db: psycopg.Connection) -> None:
    # The database was down for three nights; at 09:00 on 2025-10-28 the jobs run again.
    now = "2025-10-28 08:00:00+00"
    for d in (date(2025, 10, 20), date(2025, 10, 21)):
        for step in ("aggregate", "plan", "orchestrate"):
            db.execute("""insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at)
                          values (%s, %s, 'success', now(), now())""", (step, d))
    due = [r[0] for r in db.execute("select lead_flow.due_days('aggregate', %s::timestamptz)", (now,))]
    assert due == [date(2025, 10, 22) + timedelta(days=i) for i in range(6)]
    for d in due:
        for step in ("aggregate", "plan"):
            db.execute("""insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at)
                          values (%s, %s, 'success', now(), now())""", (step, d))
    due = [r[0] for r in db.execute("select lead_flow.due_days('orchestrate', %s::timestamptz)", (now,))]
    assert due == [date(2025, 10, 27)]
    set_setting(db, "catch_up_days", 2)
    db.execute("delete from lead_flow.nightly_runs where date > '2025-10-21'")
    assert [r[0] for r in db.execute("select lead_flow.due_days('aggregate', %s::timestamptz)", (now,))] == \
        [date(2025, 10, 26), date(2025, 10, 27)]


def test_a_failing_step_rolls_back_its_own_writes_and_logs(db: psycopg.Connection) -> None:
    industry = db.execute("insert into public.industries (name) values ('Stukadoor') returning id").fetchone()
    industry = industry[0]
    s = segment(db, "stukadoor", "utrecht")
    lead = db.execute("""insert into public.leads (industry_id, province, created_at, segment_id)
                         values (%s, 'Utrecht', '2025-06-02 10:00+02', null) returning id""",
                      (industry,)).fetchone()[0]
    db.execute("update public.leads set segment_id = null where id = %s", (lead,))
    db.execute("""create function pg_temp.boom() returns trigger language plpgsql as
                  $$ begin raise exception 'stats table on fire'; end $$""")
    db.execute("""create trigger boom before insert on public.lead_generation_stats
                  for each row execute function pg_temp.boom()""")
    rows = db.execute("select step, status, error from public.run_lead_flow_nightly('2025-06-02')").fetchall()
    assert [r[:2] for r in rows] == [("aggregate", "failed"), ("plan", "skipped"), ("orchestrate", "skipped")]
    assert "stats table on fire" in rows[0][2]
    # The step had assigned the lead to its segment before failing: that write is undone too.
    assert db.execute("select segment_id from public.leads where id = %s", (lead,)).fetchone()[0] is None
    assert db.execute("select count(*) from public.lead_generation_stats").fetchone()[0] == 0
    run = db.execute("""select status, rows, error like '%%stats table on fire%%' from lead_flow.nightly_runs
                         where step = 'aggregate' and date = '2025-06-02'""").fetchone()
    assert run == ("failed", 0, True)
    logs = db.execute("""select level, details ->> 'event', details ? 'duration_ms' from public.lead_flow_logs
                          where details ->> 'step' = 'aggregate' order by id""").fetchall()
    assert logs == [("info", "start", False), ("error", "end", True)]
    db.execute("drop trigger boom on public.lead_generation_stats")
    assert s  # the segment is still there, untouched


def test_cli_runs_a_day_and_backfills_without_budget_changes(committed: psycopg.Connection, db_url: str,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    s = segment(committed, "schilder", "utrecht", budget=100)
    committed.execute("""insert into public.lead_segment_target_overrides (segment_id, valid_from, valid_to,
                                                                           target_leads_per_day, reason)
                         values (%s, '2025-01-01', '2025-12-31', 10, 'test')""", (s,))
    leads_at(committed, s, "2025-06-01 12:00", 2)
    assert cli.main(["nightly", "--from", "2025-05-30", "--to", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    assert out.count("success") == 6 and "orchestrate" not in out
    counted = committed.execute("select count(*), sum(leads_generated) from public.lead_generation_stats")
    assert counted.fetchone() == (3, 2)
    assert committed.execute("select count(*) from public.lead_segment_plans").fetchone()[0] == 3
    assert committed.execute("select count(*) from public.channel_orchestration_log").fetchone()[0] == 0
    assert cli.main(["nightly", "--date", "2025-06-01"]) == 0
    assert committed.execute("select count(*) from public.channel_orchestration_log").fetchone()[0] == 1
    assert cli.main(["nightly", "--from", "2025-06-02", "--to", "2025-06-01"]) == 2
    assert "from <= to" in capsys.readouterr().err


def test_only_the_service_role_runs_the_night_through_the_api(rest: RestClients) -> None:
    rows = rest.service.rpc("run_lead_flow_nightly", {"p_date": "2025-06-01"}).execute().data
    assert [(r["step"], r["status"]) for r in rows] == [("aggregate", "success"), ("plan", "success"),
                                                      ("orchestrate", "success")]
    with pytest.raises(Exception) as err:
        rest.admin.rpc("run_lead_flow_nightly", {"p_date": "2025-06-01"}).execute()
    assert getattr(err.value, "code", None) == "42501"


def test_alerts_show_gaps_failed_changes_and_missed_steps_to_admins_only(
        rest: RestClients, committed: psycopg.Connection) -> None:
    yesterday = datetime.now(AMS).date() - timedelta(days=1)
    hungry = segment(committed, "schilder", "utrecht", budget=100)
    fine = segment(committed, "schilder", "limburg", budget=100)
    stats_history(committed, hungry, yesterday, [0, 0, 0], capacity=20)
    stats_history(committed, fine, yesterday, [16, 0, 16], capacity=20)
    for d in (yesterday - timedelta(days=2), yesterday - timedelta(days=1), yesterday):
        committed.execute("select public.plan_lead_segments(%s)", (d,))
    committed.execute(
        """insert into public.channel_orchestration_log (date, segment_id, action_type, old_value, new_value,
                                                         status, error_code, error_message)
           values (%s, %s, 'budget_increase', 100, 120, 'failed', 'BUDGET_ERROR', 'budget too low')""",
        (yesterday, fine))
    committed.execute("delete from lead_flow.nightly_runs")
    committed.execute("""insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at,
                                                             error)
                         values ('aggregate', %s, 'success', now(), now(), null),
                                ('plan', %s, 'failed', now(), now(), 'disk full')""", (yesterday, yesterday))
    alerts = rest.admin.from_("lead_flow_alerts").select("*").execute().data
    kinds = sorted((a["kind"], a["segment_id"]) for a in alerts)
    assert ("lead_gap", str(hungry)) in kinds and ("lead_gap", str(fine)) not in kinds
    assert ("budget_change_failed", str(fine)) in kinds
    plan_due = datetime.combine(yesterday + timedelta(days=1), datetime.min.time(), AMS) + timedelta(hours=3)
    late = datetime.now(UTC) >= plan_due
    steps = {a["details"]["step"]: a["message"] for a in alerts if a["kind"] == "step_not_run"}
    assert "aggregate" not in steps
    assert steps.get("plan", "").endswith("failed: disk full") or not late
    assert rest.partner.from_("lead_flow_alerts").select("*").execute().data == []
    with pytest.raises(Exception) as err:
        rest.anon.from_("lead_flow_alerts").select("*").execute()
    assert getattr(err.value, "code", None) == "42501"


def test_a_scheduled_job_really_fires(committed: psycopg.Connection) -> None:
    """pg_cron runs the real catch-up step at the next minute boundary (bounded wait)."""
    committed.execute("delete from lead_flow.nightly_runs")   # whatever the hourly jobs did this session
    s = segment(committed, "schilder", "utrecht")
    name = f"lead-flow-test-{uuid.uuid4().hex[:8]}"
    job_id = committed.execute("select cron.schedule(%s, '* * * * *', %s)",
                               (name, "select lead_flow.run_due_steps('aggregate')")).fetchone()[0]
    try:
        deadline = time.monotonic() + 75
        run = None
        while time.monotonic() < deadline and run is None:
            time.sleep(1)
            run = committed.execute("""select status, return_message from cron.job_run_details
                                        where jobid = %s and status in ('succeeded', 'failed')""",
                                    (job_id,)).fetchone()
        assert run is not None, "pg_cron did not run the job within 75 s"
        assert run[0] == "succeeded", run
    finally:
        committed.execute("select cron.unschedule(%s)", (job_id,))
        committed.execute("delete from cron.job_run_details where jobid = %s", (job_id,))
    yesterday = datetime.now(AMS).date() - timedelta(days=1)
    # The job did the step's work: yesterday's stats (and the other days of the window) exist.
    assert committed.execute("""select count(*) from public.lead_generation_stats
                                 where segment_id = %s and date = %s""", (s, yesterday)).fetchone()[0] == 1
    run = committed.execute("""select status from lead_flow.nightly_runs
                                where step = 'aggregate' and date = %s""", (yesterday,)).fetchone()
    assert run == ("success",)
