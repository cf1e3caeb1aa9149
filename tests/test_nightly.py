"""Running the night: one pipeline whose steps are rows of lead_flow.pipeline_steps (partner marketing
among them), DST-correct due times under pg_cron's GMT schedules, catch-up after missed nights, a
failing step rolling back only itself and logging, the CLI, the schedule really firing, and the
alerts view.

Every expectation about "yesterday" or "due" is computed at a pinned instant (the SQL takes its clock
as an argument), so the file passes at any hour of any day, the first hour after midnight included."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import psycopg
import pytest

from glue import cli
from tests.support import RestClients
from tests.support.partner_marketing import DAY as PARTNER_DAY
from tests.support.partner_marketing import add_leads, create_campaign, marketing_partner
from tests.support.pipeline import leads_at, segment, set_setting, stats_history

AMS = ZoneInfo("Europe/Amsterdam")
STEPS = {"aggregate": 1, "plan": 2, "orchestrate": 3}
PREREQUISITES = {"aggregate": [], "plan": ["aggregate"], "orchestrate": ["aggregate", "plan"]}


def amsterdam(day: date, hh_mm: str) -> datetime:
    """A wall-clock instant in Amsterdam (an aware datetime: psycopg sends it as timestamptz)."""
    return datetime.combine(day, clock_time.fromisoformat(hh_mm), AMS)


def succeeded(db: psycopg.Connection, step: str, days: list[date]) -> None:
    db.execute("""insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at)
                  select %s, d, 'success', now(), now() from unnest(%s::date[]) d
                  on conflict on constraint nightly_runs_pkey do update set status = 'success'""",
               (step, days))


def due_days(db: psycopg.Connection, step: str, at: datetime) -> list[date]:
    return [r[0] for r in db.execute("select lead_flow.due_days(%s, %s)", (step, at))]


ALL_STEPS = ["aggregate", "plan", "orchestrate", "partner_lead_gaps", "partner_recommendations"]


def test_the_pipeline_is_one_registry_of_steps(db: psycopg.Connection) -> None:
    steps = db.execute("""select step, local_hour, prerequisite, yesterday_only from lead_flow.pipeline_steps
                           order by sort_order""").fetchall()
    assert steps == [("aggregate", 1, None, False), ("plan", 2, "aggregate", False),
                     ("orchestrate", 3, "plan", True), ("partner_lead_gaps", 4, "aggregate", False),
                     ("partner_recommendations", 5, "partner_lead_gaps", True)]
    # Every registered function exists as (date) returning integer; a prerequisite runs earlier, in
    # the day's order and by the clock.
    broken = db.execute("""select s.step from lead_flow.pipeline_steps s
                            left join pg_proc p on p.oid = to_regprocedure(s.run_function || '(date)')
                           where p.prorettype is distinct from 'integer'::regtype""").fetchall()
    assert broken == []
    misordered = db.execute("""select s.step from lead_flow.pipeline_steps s
                                 join lead_flow.pipeline_steps p on p.step = s.prerequisite
                                where p.sort_order >= s.sort_order
                                   or p.local_hour >= s.local_hour""").fetchall()
    assert misordered == []
    # One run table: partner marketing's own scheduler and bookkeeping are gone.
    gone = db.execute("""select to_regclass('lead_flow.partner_marketing_runs'),
                                to_regprocedure('lead_flow.run_due_partner_marketing()'),
                                to_regprocedure('lead_flow.partner_marketing_due_days(timestamptz)'),
                                to_regprocedure('lead_flow.step_hour(text)')""").fetchone()
    assert gone == (None, None, None, None)
    with pytest.raises(psycopg.errors.InvalidParameterValue,
                       match="expected one of aggregate, plan, orchestrate, partner_lead_gaps"):
        db.execute("select lead_flow.run_step('partner_marketing', '2025-06-01')")


def test_jobs_are_installed_by_name_after_migrate(db: psycopg.Connection) -> None:
    jobs = db.execute("""select jobname, schedule, command, active from cron.job
                          where jobname like 'lead-flow-%' order by jobname""").fetchall()
    assert jobs == [
        ("lead-flow-aggregate", "0 * * * *", "select lead_flow.run_due_steps('aggregate')", True),
        ("lead-flow-orchestrate", "0 * * * *", "select lead_flow.run_due_steps('orchestrate')", True),
        ("lead-flow-partner-lead-gaps", "0 * * * *", "select lead_flow.run_due_steps('partner_lead_gaps')",
         True),
        ("lead-flow-partner-recommendations", "0 * * * *",
         "select lead_flow.run_due_steps('partner_recommendations')", True),
        ("lead-flow-plan", "0 * * * *", "select lead_flow.run_due_steps('plan')", True),
    ]
    legacy = "select count(*) from cron.job where jobname = 'partner-marketing-nightly'"
    assert db.execute(legacy).fetchone() == (0,)


def test_the_registry_drives_the_pg_cron_jobs(db: psycopg.Connection) -> None:
    """A step added to the registry gets its hourly job from the one installer; a step taken out of
    it loses its job. Nothing else is edited."""
    def jobs() -> dict[str, str]:
        query = "select jobname, command from cron.job where jobname like 'lead-flow-%'"
        return dict(db.execute(query).fetchall())

    db.execute("""insert into lead_flow.pipeline_steps (step, local_hour, prerequisite, run_function,
                                                        sort_order, description)
                  values ('zz_extra', 6, 'plan', 'lead_flow.expire_marketing_recommendations', 99, 'test')""")
    assert db.execute("select lead_flow.install_schedules()").fetchone() == (None,)
    assert jobs()["lead-flow-zz-extra"] == "select lead_flow.run_due_steps('zz_extra')"
    db.execute("delete from lead_flow.pipeline_steps where step = 'zz_extra'")
    assert db.execute("select lead_flow.install_schedules()").fetchone() == (None,)
    assert "lead-flow-zz-extra" not in jobs() and len(jobs()) == 5


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


# The day X, its wall-clock times and their UTC offsets: the last Sunday of March (summer time from
# 02:00) and of October (winter time from 03:00), and an ordinary summer day.
PINNED_INSTANTS = [
    (date(2026, 3, 29), "00:30", 1), (date(2026, 3, 29), "23:30", 2),
    (date(2026, 10, 25), "00:30", 2), (date(2026, 10, 25), "23:30", 1),
    (date(2026, 6, 15), "00:30", 2), (date(2026, 6, 15), "23:30", 2),
]


@pytest.mark.parametrize(("day", "hh_mm", "utc_offset"), PINNED_INSTANTS)
def test_which_days_are_due_at_00_30_and_23_30_amsterdam(db: psycopg.Connection, day: date, hh_mm: str,
                                                          utc_offset: int) -> None:
    """Each step done up to X-3 and its prerequisites done for the whole window: at 00:30 on X the
    night into X has not started (X-1 is not due before 01:00), but X-2 is overdue; at 23:30 both
    are. Budgets only for yesterday, so at 00:30 orchestrate has nothing to do."""
    at = amsterdam(day, hh_mm)
    assert at.utcoffset() == timedelta(hours=utc_offset)  # the instants really straddle the switch
    window = [day - timedelta(days=n) for n in range(8, 0, -1)]  # X-8 .. X-1
    x_2, x_1 = day - timedelta(days=2), day - timedelta(days=1)
    expected = {
        "00:30": {"aggregate": [x_2], "plan": [x_2], "orchestrate": []},
        "23:30": {"aggregate": [x_2, x_1], "plan": [x_2, x_1], "orchestrate": [x_1]},
    }[hh_mm]
    for step in STEPS:
        db.execute("delete from lead_flow.nightly_runs")
        for before in PREREQUISITES[step]:
            succeeded(db, before, window)
        succeeded(db, step, window[:-2])
        assert due_days(db, step, at) == expected[step], step


@pytest.mark.parametrize(("night", "ran_at"), [
    # Into summer time: 02:00 CET does not exist, so plan runs with orchestrate at 03:00 CEST.
    (date(2026, 3, 28), {"aggregate": "01:00+0100", "plan": "03:00+0200", "orchestrate": "03:00+0200"}),
    # Into winter time: 02:00 happens twice; PostgreSQL reads the ambiguous wall-clock time as winter
    # time, so plan runs at the second 02:00 (CET), an hour before orchestrate at 03:00 CET.
    (date(2026, 10, 24), {"aggregate": "01:00+0200", "plan": "02:00+0100", "orchestrate": "03:00+0100"}),
])
def test_the_hourly_jobs_run_each_step_of_a_dst_night_at_its_local_hour(
        db: psycopg.Connection, night: date, ran_at: dict[str, str]) -> None:
    """The real entry point, called as pg_cron does at every whole GMT hour, with a pinned clock: from
    21:00 on the evening of `night` to 07:00 the next morning, each step runs exactly once, for `night`,
    at its local hour on both sides of the DST switch."""
    db.execute("delete from lead_flow.nightly_runs")
    for step in STEPS:
        succeeded(db, step, [night - timedelta(days=n) for n in range(7, 0, -1)])
    hour = amsterdam(night, "21:00").astimezone(UTC)  # step in UTC: wall-clock arithmetic skips DST
    runs: dict[str, list[str]] = {step: [] for step in STEPS}
    while hour <= amsterdam(night + timedelta(days=1), "07:00"):
        for step in STEPS:  # one job per step; the advisory lock serializes them in this order
            if db.execute("select lead_flow.run_due_steps(%s, %s)", (step, hour)).fetchone()[0]:
                runs[step].append(hour.astimezone(AMS).strftime("%H:%M%z"))
        hour += timedelta(hours=1)  # whole GMT hours: Amsterdam is a whole number of hours off
    assert runs == {step: [at] for step, at in ran_at.items()}
    done = db.execute("select step, date, status from lead_flow.nightly_runs where date > %s order by 1",
                      (night - timedelta(days=1),)).fetchall()
    assert done == [(step, night, "success") for step in sorted(STEPS)]


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
    night = "select step, status, error from lead_flow.run_lead_flow_nightly('2025-06-02')"
    rows = db.execute(night).fetchall()
    # Every step waits for aggregate, directly or through its prerequisite.
    assert [r[:2] for r in rows] == [("aggregate", "failed")] + [(step, "skipped") for step in ALL_STEPS[1:]]
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
    # aggregate, plan and partner_lead_gaps for each day; no budgets, no recommendations.
    assert out.count("success") == 9 and "orchestrate" not in out and "partner_recommendations" not in out
    counted = committed.execute("select count(*), sum(leads_generated) from public.lead_generation_stats")
    assert counted.fetchone() == (3, 2)
    assert committed.execute("select count(*) from public.lead_segment_plans").fetchone()[0] == 3
    assert committed.execute("select count(*) from public.channel_orchestration_log").fetchone()[0] == 0
    assert cli.main(["nightly", "--date", "2025-06-01"]) == 0
    assert committed.execute("select count(*) from public.channel_orchestration_log").fetchone()[0] == 1
    assert cli.main(["nightly", "--from", "2025-06-02", "--to", "2025-06-01"]) == 2
    assert "from <= to" in capsys.readouterr().err


def test_cli_night_makes_partner_recommendations_to_approve(committed: psycopg.Connection, db_url: str,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`leadflow nightly --date D` runs partner marketing too: a partner short of leads gets a budget
    increase and a landing page to approve (before, only pg_cron after 04:00 made them)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    partner, seg, industry = marketing_partner(committed, max_open_leads=10)
    create_campaign(committed, partner, seg, daily=100, cpl_target=20)
    add_leads(committed, industry, PARTNER_DAY, 2, user_id=partner)
    assert cli.main(["nightly", "--date", str(PARTNER_DAY)]) == 0
    out = capsys.readouterr().out
    assert [line.split()[1:3] for line in out.splitlines()] == [[step, "success"] for step in ALL_STEPS]
    recs = committed.execute("""select type, status from public.ai_marketing_recommendations
                                 where partner_id = %s and for_date = %s order by type""",
                             (partner, PARTNER_DAY)).fetchall()
    assert recs == [("create_landing_page", "pending"), ("increase_budget", "pending")]
    runs = committed.execute("select step, status from lead_flow.nightly_runs where date = %s order by step",
                             (PARTNER_DAY,)).fetchall()
    assert runs == [(step, "success") for step in sorted(ALL_STEPS)]


def test_the_night_runs_through_the_api_only_as_rerun_lead_flow(rest: RestClients) -> None:
    """run_lead_flow_nightly is internal now (lead_flow): not even service_role reaches it over
    PostgREST; admins and the back end re-run a night with rerun_lead_flow."""
    with pytest.raises(Exception) as err:
        rest.service.rpc("run_lead_flow_nightly", {"p_date": "2025-06-01"}).execute()
    assert getattr(err.value, "code", None) == "PGRST202"  # no such function in the exposed schema
    with pytest.raises(Exception) as err:
        rest.partner.rpc("rerun_lead_flow", {"day": "2025-06-01"}).execute()
    assert getattr(err.value, "code", None) == "42501"


def test_alerts_show_gaps_failed_changes_and_missed_steps_to_admins_only(
        rest: RestClients, committed: psycopg.Connection) -> None:
    # The view reads the server's clock: take yesterday from it too (gaps allow a day's slack, failed
    # changes six, so a test crossing midnight still passes).
    yesterday = committed.execute("select lead_flow.local_day(now()) - 1").fetchone()[0]
    hungry = segment(committed, "schilder", "utrecht", budget=100)
    fine = segment(committed, "schilder", "limburg", budget=100)
    stats_history(committed, hungry, yesterday, [0, 0, 0], capacity=20)
    stats_history(committed, fine, yesterday, [16, 0, 16], capacity=20)
    for d in (yesterday - timedelta(days=2), yesterday - timedelta(days=1), yesterday):
        committed.execute("select lead_flow.plan_lead_segments(%s)", (d,))
    committed.execute(
        """insert into public.channel_orchestration_log (date, segment_id, action_type, old_value, new_value,
                                                         status, error_code, error_message)
           values (%s, %s, 'budget_increase', 100, 120, 'failed', 'BUDGET_ERROR', 'budget too low')""",
        (yesterday, fine))
    alerts = rest.admin.from_("lead_flow_alerts").select("*").execute().data
    kinds = sorted((a["kind"], a["segment_id"]) for a in alerts)
    assert ("lead_gap", str(hungry)) in kinds and ("lead_gap", str(fine)) not in kinds
    assert ("budget_change_failed", str(fine)) in kinds
    assert rest.partner.from_("lead_flow_alerts").select("*").execute().data == []
    with pytest.raises(Exception) as err:
        rest.anon.from_("lead_flow_alerts").select("*").execute()
    assert getattr(err.value, "code", None) == "42501"


@pytest.mark.parametrize(("hh_mm", "expected"), [
    ("00:30", {}),                                       # nothing of the night is due yet
    ("03:30", {}),                                       # plan due at 03:00 CEST: an hour's grace
    ("04:00", {"plan": "failed: disk full", "orchestrate": "did not run"}),
    ("05:00", {"plan": "failed: disk full", "orchestrate": "did not run",
               "partner_lead_gaps": "did not run"}),
    ("23:30", {"plan": "failed: disk full", "orchestrate": "did not run", "partner_lead_gaps": "did not run",
               "partner_recommendations": "did not run"}),
])
def test_a_failed_or_missing_step_alerts_an_hour_after_it_was_due(db: psycopg.Connection, hh_mm: str,
                                                                   expected: dict[str, str]) -> None:
    """Last night = the night into summer time (plan and orchestrate due at 03:00 CEST), pinned."""
    night = date(2026, 3, 28)
    db.execute("delete from lead_flow.nightly_runs")
    succeeded(db, "aggregate", [night])
    db.execute("""insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at, error)
                  values ('plan', %s, 'failed', now(), now(), 'disk full')""", (night,))
    rows = db.execute("""select details ->> 'step', message, date from lead_flow.pipeline_alerts(%s)
                          where kind = 'step_not_run'""",
                      (amsterdam(night + timedelta(days=1), hh_mm),)).fetchall()
    assert {step: message.removeprefix(f"nightly step {step} for {night} ") for step, message, _ in rows} \
        == expected
    assert {d for *_, d in rows} <= {night}


def test_the_scheduled_entry_point_reads_the_clock_it_is_given_and_now_by_default(
        db: psycopg.Connection) -> None:
    db.execute("delete from lead_flow.nightly_runs")
    # now() is the transaction's start, so both calls see the same instant whatever the hour.
    due_now = [r[0] for r in db.execute("select lead_flow.due_days('aggregate', now())")]
    assert db.execute("select lead_flow.run_due_steps('aggregate')").fetchone()[0] == len(due_now)
    ran = [r[0] for r in db.execute("select date from lead_flow.nightly_runs order by date")]
    assert ran == due_now and len(due_now) in (6, 7)  # the catch-up window; 6 before 01:00
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="needs an instant"):
        db.execute("select lead_flow.run_due_steps('aggregate', null)")


def test_a_scheduled_job_really_fires(committed: psycopg.Connection) -> None:
    """pg_cron runs the real catch-up step at the next minute boundary (bounded wait). The job's
    clock is pinned to 12:00 on 2 June 2025, so what it must have done does not depend on the hour."""
    committed.execute("delete from lead_flow.nightly_runs")   # whatever the hourly jobs did this session
    s = segment(committed, "schilder", "utrecht")
    at = amsterdam(date(2025, 6, 2), "12:00")
    name = f"lead-flow-test-{uuid.uuid4().hex[:8]}"
    job_id = committed.execute("select cron.schedule(%s, '* * * * *', %s)",
                               (name, f"select lead_flow.run_due_steps('aggregate', '{at.isoformat()}')"),
                               ).fetchone()[0]
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
    # The job did the step's work for the catch-up window at its clock: 26 May .. 1 June (7 days).
    window = [date(2025, 5, 26) + timedelta(days=n) for n in range(7)]
    stats = committed.execute("""select date from public.lead_generation_stats where segment_id = %s
                                  order by date""", (s,)).fetchall()
    assert [d for (d,) in stats] == window
    runs = committed.execute("""select date, status from lead_flow.nightly_runs
                                 where step = 'aggregate' order by date""").fetchall()
    assert runs == [(d, "success") for d in window]
