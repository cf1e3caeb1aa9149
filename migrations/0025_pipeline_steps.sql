-- One nightly pipeline (issue 14 item 1). The steps of the night are rows of lead_flow.pipeline_steps:
-- its local hour, the step it waits for, the function it calls. run_step, due_days, the catch-up
-- (run_due_steps), run_lead_flow_nightly, backfill_lead_flow, the step alerts and the pg_cron
-- installer (sql/80_nightly.sql, sql/85_alerts.sql) all read it, so a step is added by a row here
-- and nowhere else. Partner marketing, which kept a second scheduler beside the first (its own run
-- table, due-days function, hourly job and hour literals), becomes two registered steps: its run
-- history moves into lead_flow.nightly_runs, and its table, functions and pg_cron job go.
-- depends: 0003_lead_flow_tables 0008_partner_marketing

create table lead_flow.pipeline_steps (
  step text primary key check (step ~ '^[a-z][a-z0-9_]{0,39}$'),
  -- Europe/Amsterdam hour of D + 1 at which the step for day D falls due.
  local_hour integer not null check (local_hour between 0 and 23),
  -- The step that must have succeeded for the same day first (NULL: none).
  prerequisite text references lead_flow.pipeline_steps (step),
  -- A function (day date) returning integer (the rows it wrote), by schema-qualified name. A name, not
  -- a regprocedure: migrations run before sql/ creates the functions, so on a fresh database they do
  -- not exist yet when this row is written. run_step resolves it when the step runs.
  run_function text not null check (run_function ~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$'),
  -- What the step decides is for the day after D (budgets, recommendations): the catch-up and a re-run
  -- of an older day skip it, as that day is over.
  yesterday_only boolean not null default false,
  -- The order steps of one day run in (leadflow nightly, backfill): a prerequisite sorts first.
  sort_order integer not null unique,
  description text not null,
  check (prerequisite is distinct from step)
);
create index pipeline_steps_prerequisite_idx on lead_flow.pipeline_steps (prerequisite);
comment on table lead_flow.pipeline_steps is
  'The nightly pipeline''s steps: local hour of D + 1 it falls due, prerequisite step, the function (day date) '
  'returns integer it runs, whether it runs for yesterday only, and its order. run_step, due_days, '
  'run_due_steps, run_lead_flow_nightly, backfill_lead_flow, the alerts and install_schedules read it.';
revoke all on lead_flow.pipeline_steps from anon, authenticated;
grant select on lead_flow.pipeline_steps to service_role;

insert into lead_flow.pipeline_steps
  (step, local_hour, prerequisite, run_function, yesterday_only, sort_order, description) values
  ('aggregate', 1, null, 'public.aggregate_lead_stats', false, 10,
   'Counts day D''s leads per segment (with capacity and ad spend) into lead_generation_stats.'),
  ('plan', 2, 'aggregate', 'public.plan_lead_segments', false, 20,
   'Plans every segment for day D: target, actual and gap into lead_segment_plans.'),
  ('orchestrate', 3, 'plan', 'public.orchestrate_budgets', true, 30,
   'Turns each gap into the Google Ads daily budget for D + 1 (pending changes for the worker).'),
  ('partner_lead_gaps', 4, 'aggregate', 'lead_flow.plan_partner_lead_gaps', false, 40,
   'Per partner and segment served: target, platform and own-campaign leads and the gap for day D.'),
  ('partner_recommendations', 5, 'partner_lead_gaps', 'lead_flow.recommend_partner_marketing', true, 50,
   'Refreshes partner campaign totals and proposes budget, landing page and pause recommendations.');

-- The run table takes every registered step (it named three in a check).
alter table lead_flow.nightly_runs drop constraint if exists nightly_runs_step_check;
alter table lead_flow.nightly_runs
  add constraint nightly_runs_step_fkey foreign key (step) references lead_flow.pipeline_steps (step);

-- The partner marketing night's history, as the two steps it ran: lead gaps (with the campaign
-- totals) every night, recommendations on the nights that made them.
insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at, rows, error)
select 'partner_lead_gaps', r.date, r.status, r.started_at, r.finished_at,
       coalesce((r.details ->> 'lead_gaps')::integer, 0), r.error
  from lead_flow.partner_marketing_runs r
union all
select 'partner_recommendations', r.date, r.status, r.started_at, r.finished_at,
       (r.details ->> 'recommendations')::integer, r.error
  from lead_flow.partner_marketing_runs r
 where r.details ? 'recommendations'
on conflict on constraint nightly_runs_pkey do nothing;

-- The second scheduler. Its hourly job goes too (where pg_cron is there and the job is this role's);
-- lead_flow.install_schedules schedules the registered steps' jobs when sql/ is applied.
do $$
declare
  v_job bigint;
begin
  if to_regclass('cron.job') is not null then
    begin
      for v_job in select c.jobid from cron.job c
                    where c.jobname = 'partner-marketing-nightly' and c.username = current_user loop
        perform cron.unschedule(v_job);
      end loop;
    exception when insufficient_privilege or undefined_function then
      raise notice 'pg_cron job partner-marketing-nightly not removed (%); remove it by hand', sqlerrm;
    end;
  end if;
end
$$;
drop function if exists lead_flow.run_due_partner_marketing();
drop function if exists lead_flow.partner_marketing_due_days(timestamptz);
drop function if exists lead_flow.run_partner_marketing_nightly(date, boolean);
drop function if exists lead_flow.step_hour(text);
drop table lead_flow.partner_marketing_runs;
