-- Running the nightly steps: one step for one day with its bookkeeping (run_step), the scheduled
-- catch-up (run_due_steps, called hourly by pg_cron), run_lead_flow_nightly for tools without
-- pg_cron, and backfill_lead_flow for history that existed before install.
--
-- Scheduling: pg_cron 1.4 reads schedules in GMT, so a fixed '0 1 * * *' would be 01:00 or 02:00 in
-- Amsterdam depending on DST. Instead each job runs at the top of every hour and does its step for
-- every day that is due: local time is past the step's hour (01:00 / 02:00 / 03:00 Europe/Amsterdam)
-- of D + 1, the step has not succeeded for D, D lies within catch_up_days, and the step before it
-- succeeded for D. That is exactly 01:00/02:00/03:00 local on both sides of DST, and a night missed
-- while the database was down is caught up at the next hour. Budget changes only for yesterday.

-- The local hour of D + 1 at which a step becomes due.
create or replace function lead_flow.step_hour(p_step text) returns integer
  language sql immutable parallel safe set search_path = ''
  as $$ select case p_step when 'aggregate' then 1 when 'plan' then 2 when 'orchestrate' then 3 end $$;
comment on function lead_flow.step_hour(text) is
  'Europe/Amsterdam hour of D + 1 at which the nightly step for day D is due (aggregate 1, plan 2, orchestrate 3).';

create or replace function lead_flow.step_due_at(p_step text, p_date date) returns timestamptz
  language sql immutable parallel safe set search_path = ''
  as $$ select ((p_date + 1)::timestamp + make_interval(hours => lead_flow.step_hour(p_step)))
                 at time zone 'Europe/Amsterdam' $$;
comment on function lead_flow.step_due_at(text, date) is
  'The instant the nightly step for Amsterdam day p_date is due: its local hour on p_date + 1.';

-- One step for one day, in its own subtransaction: a failure rolls back that step's writes only.
-- Logs start and end (rows, duration, error) to lead_flow_logs and records the outcome in nightly_runs.
create or replace function lead_flow.run_step(p_step text, p_date date,
    out step text, out date date, out status text, out rows integer, out duration_ms numeric, out error text)
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_started timestamptz := clock_timestamp();
    v_finished timestamptz;
    v_state text;
  begin
    if p_step is null or lead_flow.step_hour(p_step) is null then
      raise exception 'unknown nightly step %, expected aggregate, plan or orchestrate', coalesce(p_step, 'NULL')
        using errcode = '22023';
    end if;
    if p_date is null then
      raise exception 'a nightly step needs a date' using errcode = '22023';
    end if;
    step := p_step;
    date := p_date;
    perform lead_flow.log('info', format('lead flow %s for %s started', p_step, p_date),
                          jsonb_build_object('step', p_step, 'date', p_date, 'event', 'start',
                                             'started_at', v_started));
    begin
      rows := case p_step
                when 'aggregate' then public.aggregate_lead_stats(p_date)
                when 'plan' then public.plan_lead_segments(p_date)
                when 'orchestrate' then public.orchestrate_budgets(p_date)
              end;
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
    values (p_step, p_date, status, v_started, v_finished, rows, error)
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
  'Runs one nightly step (aggregate, plan, orchestrate) for one Amsterdam day in a subtransaction (a failure '
  'rolls back only its writes), logs start/end with rows, duration and error to lead_flow_logs and records the '
  'outcome in lead_flow.nightly_runs. Never raises for a failing step: the outcome says failed.';
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
     cross join generate_series(b.today - greatest(b.window_days, 1), b.today - 1, interval '1 day') d
     where p_now >= lead_flow.step_due_at(p_step, d::date)
       and (p_step <> 'orchestrate' or d::date = b.today - 1)
       and not exists (select from lead_flow.nightly_runs r
                        where r.step = p_step and r.date = d::date and r.status = 'success')
       and (p_step = 'aggregate'
            or exists (select from lead_flow.nightly_runs r
                        where r.step = case p_step when 'plan' then 'aggregate' else 'plan' end
                          and r.date = d::date and r.status = 'success'))
     order by d
  $$;
comment on function lead_flow.due_days(text, timestamptz) is
  'Days a nightly step is due for at p_now: past its local hour of D + 1, not yet successful, within '
  'catch_up_days, prerequisite step successful; orchestrate only for yesterday.';
revoke all on function lead_flow.due_days(text, timestamptz) from public, anon, authenticated;

-- What each pg_cron job calls every hour. Steps are serialized by one advisory lock, so a step
-- always sees its prerequisite's committed outcome. Returns the number of days run. The clock is an
-- argument (pg_cron passes none: now()) so that tests can run the real entry point at any instant.
-- The one-argument version it replaces is dropped, or a call with one argument would be ambiguous.
drop function if exists lead_flow.run_due_steps(text);
create or replace function lead_flow.run_due_steps(p_step text, p_now timestamptz default now())
  returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_day date;
    v_count integer := 0;
  begin
    if lead_flow.step_hour(p_step) is null then
      raise exception 'unknown nightly step %', p_step using errcode = '22023';
    end if;
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
  'Scheduled entry point: runs a nightly step for every day that is due at p_now (default now(); catch-up '
  'included) and returns how many.';
revoke all on function lead_flow.run_due_steps(text, timestamptz) from public, anon, authenticated;

create or replace function public.run_lead_flow_nightly(p_date date default null)
  returns table (step text, date date, status text, rows integer, duration_ms numeric, error text)
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_date date := coalesce(p_date, lead_flow.local_day(now()) - 1);
    v_step text;
    v_run record;
    v_failed boolean := false;
  begin
    foreach v_step in array array['aggregate', 'plan', 'orchestrate'] loop
      if v_failed then
        return query select v_step, v_date, 'skipped'::text, 0, 0::numeric, 'an earlier step failed'::text;
      else
        select * into v_run from lead_flow.run_step(v_step, v_date);
        v_failed := v_run.status <> 'success';
        return query select v_run.step, v_run.date, v_run.status, v_run.rows, v_run.duration_ms, v_run.error;
      end if;
    end loop;
  end
  $$;
comment on function public.run_lead_flow_nightly(date) is
  'Runs aggregate, plan and orchestrate for Amsterdam day p_date (default: yesterday) in order, each logged and '
  'recorded like the scheduled jobs; after a failing step the rest are skipped. For tools and environments '
  'without pg_cron (leadflow nightly --date D). Returns one row per step.';
revoke all on function public.run_lead_flow_nightly(date) from public, anon, authenticated;
grant execute on function public.run_lead_flow_nightly(date) to service_role;

create or replace function public.backfill_lead_flow(p_from date, p_to date)
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
      return query select r.step, r.date, r.status, r.rows, r.duration_ms, r.error
                     from lead_flow.run_step('aggregate', v_day) r;
      return query select r.step, r.date, r.status, r.rows, r.duration_ms, r.error
                     from lead_flow.run_step('plan', v_day) r;
    end loop;
  end
  $$;
comment on function public.backfill_lead_flow(date, date) is
  'Backfills stats and plans (no budget changes) for finished Amsterdam days p_from..p_to, oldest first, so '
  'forecasts and costs per lead see the history that existed before install. One row per step and day.';
revoke all on function public.backfill_lead_flow(date, date) from public, anon, authenticated;
grant execute on function public.backfill_lead_flow(date, date) to service_role;

-- The schedules. pg_cron may be missing, or not permitted to the installing role (on a plain
-- PostgreSQL only a superuser creates it; on Supabase it is enabled from the dashboard): the install
-- goes on without it and says so, and `leadflow schedules install` calls this again once it is there.
-- Security invoker: pg_cron runs a job as the role that scheduled it, which is the installing role.
-- Only a missing or different job is (re)scheduled, so calling it again changes nothing.
create or replace function lead_flow.install_schedules() returns text
  language plpgsql volatile set search_path = ''
  as $$
  declare
    j record;
    v_same boolean;
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
    for j in select * from (values
        ('lead-flow-aggregate', '0 * * * *', $c$select lead_flow.run_due_steps('aggregate')$c$),
        ('lead-flow-plan', '0 * * * *', $c$select lead_flow.run_due_steps('plan')$c$),
        ('lead-flow-orchestrate', '0 * * * *', $c$select lead_flow.run_due_steps('orchestrate')$c$),
        -- Also scheduled by sql/92_partner_marketing.sql; listed here so that one call installs all.
        ('partner-marketing-nightly', '0 * * * *', $c$select lead_flow.run_due_partner_marketing()$c$))
        as t (name, schedule, command) loop
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
    return null;
  end
  $$;
comment on function lead_flow.install_schedules() is
  'Installs (by name, only where missing or different) the hourly pg_cron jobs of the nightly pipeline and partner '
  'marketing, enabling pg_cron first where this role may; returns NULL when all are installed, else why not.';
revoke all on function lead_flow.install_schedules() from public, anon, authenticated;

do $$
begin
  perform lead_flow.install_schedules();
end
$$;
