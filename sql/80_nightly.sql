-- Running the nightly pipeline. Its steps are rows of lead_flow.pipeline_steps (migration 0025: the
-- step, its local hour, its prerequisite, the function it calls, whether it runs for yesterday only,
-- its order); everything here reads that table, so a step is added by a row and nowhere else:
--   run_step              one step for one day with its bookkeeping (lead_flow_logs, nightly_runs);
--   due_days / run_due_steps  the scheduled catch-up, called hourly by one pg_cron job per step;
--   run_lead_flow_nightly every step of one day in order (leadflow nightly, rerun_lead_flow);
--   backfill_lead_flow    the steps that are not yesterday-only, for a range of finished days;
--   install_schedules     one pg_cron job per registered step.
--
-- Scheduling: pg_cron 1.4 reads schedules in GMT, so a fixed '0 1 * * *' would be 01:00 or 02:00 in
-- Amsterdam depending on DST. Instead each job runs at the top of every hour and does its step for
-- every day that is due: local time is past the step's hour of D + 1, the step has not succeeded for
-- D, D lies within catch_up_days (yesterday only for a yesterday-only step), and its prerequisite
-- succeeded for D. That is exactly the local hour on both sides of DST, and a night missed while the
-- database was down is caught up at the next hour. A step should have a later hour than its
-- prerequisite: jobs of one hour fire in no set order, so a step sharing its prerequisite's hour may
-- wait an hour for it.

-- The instant a step for day D falls due: its local hour on D + 1 (NULL for an unknown step).
create or replace function lead_flow.step_due_at(p_step text, p_date date) returns timestamptz
  language sql stable parallel safe set search_path = ''
  as $$ select ((p_date + 1)::timestamp + make_interval(hours => s.local_hour)) at time zone 'Europe/Amsterdam'
          from lead_flow.pipeline_steps s
         where s.step = p_step $$;
comment on function lead_flow.step_due_at(text, date) is
  'The instant the nightly step p_step for Amsterdam day p_date is due: its registered local hour on p_date + 1 '
  '(NULL for a step that is not registered in lead_flow.pipeline_steps).';
revoke all on function lead_flow.step_due_at(text, date) from public, anon, authenticated;

-- Raises 22023 unless p_step is a registered step; the message lists the registered ones.
create or replace function lead_flow.check_pipeline_step(p_step text) returns void
  language plpgsql stable set search_path = ''
  as $$
  begin
    if p_step is null or not exists (select from lead_flow.pipeline_steps s where s.step = p_step) then
      raise exception 'unknown nightly step %, expected one of %', coalesce(p_step, 'NULL'),
        (select string_agg(s.step, ', ' order by s.sort_order) from lead_flow.pipeline_steps s)
        using errcode = '22023';
    end if;
  end
  $$;
comment on function lead_flow.check_pipeline_step(text) is
  'Raises 22023 "unknown nightly step X, expected one of ..." unless p_step is registered in lead_flow.pipeline_steps.';
revoke all on function lead_flow.check_pipeline_step(text) from public, anon, authenticated;

-- One step for one day, in its own subtransaction: a failure rolls back that step's writes only.
-- Logs start and end (rows, duration, error) to lead_flow_logs and records the outcome in nightly_runs.
create or replace function lead_flow.run_step(p_step text, p_date date,
    out step text, out date date, out status text, out rows integer, out duration_ms numeric, out error text)
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_started timestamptz := clock_timestamp();
    v_finished timestamptz;
    v_function text;
    v_call regprocedure;
    v_state text;
  begin
    perform lead_flow.check_pipeline_step(p_step);
    if p_date is null then
      raise exception 'a nightly step needs a date' using errcode = '22023';
    end if;
    select s.run_function into v_function from lead_flow.pipeline_steps s where s.step = p_step;
    step := p_step;
    date := p_date;
    perform lead_flow.log('info', format('lead flow %s for %s started', p_step, p_date),
                          jsonb_build_object('step', p_step, 'date', p_date, 'event', 'start',
                                             'started_at', v_started));
    begin
      v_call := to_regprocedure(v_function || '(date)');
      if v_call is null then
        raise exception 'step % calls %(date), which does not exist', p_step, v_function
          using errcode = '42883';
      end if;
      -- The one dynamic call of the pipeline: the registered function, by its resolved name (regproc
      -- prints it schema-qualified and quoted), with the day as a literal. No text reaches it
      -- unresolved, so the checker's injection warning is off for this statement.
      perform 'PRAGMA:disable:security_warnings';
      execute format('select %s(%L::date)', v_call::regproc, p_date) into rows;
      perform 'PRAGMA:enable:security_warnings';
      status := 'success';
    exception when others then
      get stacked diagnostics v_state = returned_sqlstate;
      status := 'failed';
      rows := 0;
      error := format('%s (SQLSTATE %s)', sqlerrm, v_state);
    end;
    v_finished := clock_timestamp();
    duration_ms := round(extract(epoch from v_finished - v_started) * 1000, 1);

    insert into lead_flow.nightly_runs as n (step, date, status, started_at, finished_at, rows, error)
    values (p_step, p_date, status, v_started, v_finished, coalesce(rows, 0), error)
    on conflict on constraint nightly_runs_pkey do update
       set status = excluded.status, started_at = excluded.started_at, finished_at = excluded.finished_at,
           rows = excluded.rows, error = excluded.error;
    perform lead_flow.log(case when status = 'success' then 'info' else 'error' end,
                          format('lead flow %s for %s %s', p_step, p_date,
                                 case when status = 'success' then 'finished' else 'failed: ' || error end),
                          jsonb_build_object('step', p_step, 'date', p_date, 'event', 'end', 'status', status,
                                             'rows', rows, 'duration_ms', duration_ms, 'error', error,
                                             'started_at', v_started, 'finished_at', v_finished));
  end
  $$;
comment on function lead_flow.run_step(text, date) is
  'Runs one registered nightly step (lead_flow.pipeline_steps) for one Amsterdam day in a subtransaction (a '
  'failure rolls back only its writes), logs start/end with rows, duration and error to lead_flow_logs and '
  'records the outcome in lead_flow.nightly_runs. Never raises for a failing step: the outcome says failed. '
  'An unregistered step or a missing date is a 22023 error.';
revoke all on function lead_flow.run_step(text, date) from public, anon, authenticated;
grant execute on function lead_flow.run_step(text, date) to service_role;

-- The days a step should run for at p_now (see the header), oldest first.
create or replace function lead_flow.due_days(p_step text, p_now timestamptz default now())
  returns setof date
  language sql stable set search_path = ''
  as $$
    with bounds as (
      select lead_flow.local_day(p_now) as today,
             coalesce((lead_flow.setting('catch_up_days') #>> '{}')::integer, 7) as window_days
    )
    select d::date
      from bounds b
      join lead_flow.pipeline_steps s on s.step = p_step
     cross join generate_series(b.today - greatest(b.window_days, 1), b.today - 1, interval '1 day') d
     where p_now >= lead_flow.step_due_at(s.step, d::date)
       and (not s.yesterday_only or d::date = b.today - 1)
       and not exists (select from lead_flow.nightly_runs r
                        where r.step = s.step and r.date = d::date and r.status = 'success')
       and (s.prerequisite is null
            or exists (select from lead_flow.nightly_runs r
                        where r.step = s.prerequisite and r.date = d::date and r.status = 'success'))
     order by d
  $$;
comment on function lead_flow.due_days(text, timestamptz) is
  'Days a registered nightly step is due for at p_now: past its local hour of D + 1, not yet successful, within '
  'catch_up_days (yesterday only for a yesterday-only step), its prerequisite successful. None for an unknown step.';
revoke all on function lead_flow.due_days(text, timestamptz) from public, anon, authenticated;

-- What each pg_cron job calls every hour. Steps are serialized by one advisory lock, so a step
-- always sees its prerequisite's committed outcome. Returns the number of days run. The clock is an
-- argument (pg_cron passes none: now()) so that tests can run the real entry point at any instant.
create or replace function lead_flow.run_due_steps(p_step text, p_now timestamptz default now())
  returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_day date;
    v_count integer := 0;
  begin
    perform lead_flow.check_pipeline_step(p_step);
    if p_now is null then
      raise exception 'run_due_steps needs an instant (p_now)' using errcode = '22023';
    end if;
    perform pg_advisory_xact_lock(hashtextextended('lead_flow.nightly', 0));
    for v_day in select d from lead_flow.due_days(p_step, p_now) d loop
      perform lead_flow.run_step(p_step, v_day);
      v_count := v_count + 1;
    end loop;
    return v_count;
  end
  $$;
comment on function lead_flow.run_due_steps(text, timestamptz) is
  'Scheduled entry point: runs a registered nightly step for every day that is due at p_now (default now(); '
  'catch-up included) and returns how many.';
revoke all on function lead_flow.run_due_steps(text, timestamptz) from public, anon, authenticated;

-- The registered steps of one day in order, each through run_step; a step whose prerequisite did not
-- succeed in this run is skipped (its row says so). p_all_steps false leaves out the yesterday-only
-- steps (a backfill of older days). Shared by run_lead_flow_nightly and backfill_lead_flow.
create or replace function lead_flow.run_steps_of_day(p_date date, p_all_steps boolean)
  returns table (step text, date date, status text, rows integer, duration_ms numeric, error text)
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    s record;
    v_run record;
    v_succeeded text[] := '{}'::text[];
  begin
    for s in select p.step, p.prerequisite from lead_flow.pipeline_steps p
              where p_all_steps or not p.yesterday_only
              order by p.sort_order loop
      if s.prerequisite is not null and not s.prerequisite = any (v_succeeded) then
        return query select s.step, p_date, 'skipped'::text, 0, 0::numeric,
                            format('its prerequisite %s did not succeed', s.prerequisite);
      else
        select * into v_run from lead_flow.run_step(s.step, p_date);
        if v_run.status = 'success' then
          v_succeeded := v_succeeded || s.step;
        end if;
        return query select v_run.step, v_run.date, v_run.status, v_run.rows, v_run.duration_ms, v_run.error;
      end if;
    end loop;
  end
  $$;
comment on function lead_flow.run_steps_of_day(date, boolean) is
  'Runs the registered nightly steps for Amsterdam day p_date in sort order (all, or without the yesterday-only '
  'ones), skipping a step whose prerequisite did not succeed in this run. One row per step.';
revoke all on function lead_flow.run_steps_of_day(date, boolean) from public, anon, authenticated;
grant execute on function lead_flow.run_steps_of_day(date, boolean) to service_role;

create or replace function lead_flow.run_lead_flow_nightly(p_date date default null)
  returns table (step text, date date, status text, rows integer, duration_ms numeric, error text)
  language sql volatile set search_path = ''
  as $$
    select * from lead_flow.run_steps_of_day(coalesce(p_date, lead_flow.local_day(now()) - 1), true)
  $$;
comment on function lead_flow.run_lead_flow_nightly(date) is
  'Runs every registered nightly step for Amsterdam day p_date (default: yesterday) in order, partner marketing '
  'included, each logged and recorded like the scheduled jobs; a step whose prerequisite failed is skipped. For '
  'leadflow nightly --date D, rerun_lead_flow and environments without pg_cron. Returns one row per step.';
revoke all on function lead_flow.run_lead_flow_nightly(date) from public, anon, authenticated;
grant execute on function lead_flow.run_lead_flow_nightly(date) to service_role;

create or replace function lead_flow.backfill_lead_flow(p_from date, p_to date)
  returns table (step text, date date, status text, rows integer, duration_ms numeric, error text)
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_day date;
    v_today date := lead_flow.local_day(now());
  begin
    if p_from is null or p_to is null or p_from > p_to then
      raise exception 'backfill needs a range with from <= to, got % .. %', p_from, p_to using errcode = '22023';
    end if;
    if p_to >= v_today then
      raise exception 'backfill covers finished days only: % is not before today (%)', p_to, v_today
        using errcode = '22023';
    end if;
    if p_to - p_from > 1100 then
      raise exception 'backfill at most 1100 days at a time, got %', p_to - p_from + 1 using errcode = '22023';
    end if;
    for v_day in select d::date from generate_series(p_from, p_to, interval '1 day') d loop
      return query select * from lead_flow.run_steps_of_day(v_day, false);
    end loop;
  end
  $$;
comment on function lead_flow.backfill_lead_flow(date, date) is
  'Backfills finished Amsterdam days p_from..p_to, oldest first, with the registered steps that are not '
  'yesterday-only (stats, plans, partner lead gaps; no budget changes or recommendations), so forecasts and '
  'costs per lead see the history that existed before install. One row per step and day.';
revoke all on function lead_flow.backfill_lead_flow(date, date) from public, anon, authenticated;
grant execute on function lead_flow.backfill_lead_flow(date, date) to service_role;

-- The pg_cron job of a registered step: its name and the command it runs.
create or replace function lead_flow.step_job(p_step text, out name text, out command text)
  language sql immutable parallel safe set search_path = ''
  as $$ select 'lead-flow-' || replace(p_step, '_', '-'), format('select lead_flow.run_due_steps(%L)', p_step) $$;
comment on function lead_flow.step_job(text) is
  'The pg_cron job name (lead-flow-<step, - for _>) and command (select lead_flow.run_due_steps(''<step>'')) of a '
  'nightly step.';
revoke all on function lead_flow.step_job(text) from public, anon, authenticated;

-- The schedules. pg_cron may be missing, or not permitted to the installing role (on a plain
-- PostgreSQL only a superuser creates it; on Supabase it is enabled from the dashboard): the install
-- goes on without it and says so, and `leadflow schedules install` calls this again once it is there.
-- Security invoker: pg_cron runs a job as the role that scheduled it, which is the installing role.
-- One hourly job per registered step; only a missing or different job is (re)scheduled, so calling it
-- again changes nothing; a job of this role for a step no longer registered is removed.
create or replace function lead_flow.install_schedules() returns text
  language plpgsql volatile set search_path = ''
  as $$
  declare
    j record;
    v_same boolean;
    v_stale bigint;
  begin
    if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
      if not exists (select from pg_catalog.pg_available_extensions where name = 'pg_cron') then
        return 'pg_cron is not available on this server';
      end if;
      if current_database() is distinct from current_setting('cron.database_name', true) then
        return format('pg_cron serves database %s, not %s (cron.database_name)',
                      coalesce(current_setting('cron.database_name', true), '(pg_cron not preloaded)'),
                      current_database());
      end if;
      begin
        create extension pg_cron with schema pg_catalog;
      exception when others then
        return format('pg_cron is not enabled and %s may not enable it: %s', current_user, sqlerrm);
      end;
    end if;
    for j in select x.name, '0 * * * *' as schedule, x.command
               from lead_flow.pipeline_steps s
              cross join lateral lead_flow.step_job(s.step) x
              order by s.sort_order loop
      begin
        execute $q$select exists (select from cron.job c where c.jobname = $1 and c.username = current_user
                                     and c.schedule = $2 and c.command = $3 and c.active)$q$
          into v_same using j.name, j.schedule, j.command;
      exception when others then
        v_same := false;  -- cron.job not readable: schedule anyway (by name, it replaces)
      end;
      if not v_same then
        begin
          execute 'select cron.schedule($1, $2, $3)' using j.name, j.schedule, j.command;
        exception when insufficient_privilege or undefined_function or invalid_schema_name then
          return format('pg_cron is enabled but %s may not schedule jobs: %s', current_user, sqlerrm);
        end;
      end if;
    end loop;
    -- Jobs of steps that are no longer registered: exactly a step job's command, for no registered step.
    begin
      for v_stale in execute
          $q$select c.jobid from cron.job c
              where c.username = $1 and c.jobname like 'lead-flow-%'
                and c.command ~ '^select lead_flow\.run_due_steps\(''[a-z0-9_]+''\)$'
                and not exists (select from lead_flow.pipeline_steps s
                                 where (lead_flow.step_job(s.step)).name = c.jobname)$q$
          using current_user loop
        execute 'select cron.unschedule($1)' using v_stale;
      end loop;
    exception when insufficient_privilege or undefined_function or undefined_table then
      null;  -- cron.job not readable here: nothing this role scheduled can be seen to remove
    end;
    return null;
  end
  $$;
comment on function lead_flow.install_schedules() is
  'Installs (by name, only where missing or different) one hourly pg_cron job per step registered in '
  'lead_flow.pipeline_steps, removes this role''s jobs of steps no longer registered, and enables pg_cron first '
  'where this role may; returns NULL when all are installed, else why not.';
revoke all on function lead_flow.install_schedules() from public, anon, authenticated;

do $$
begin
  perform lead_flow.install_schedules();
end
$$;
