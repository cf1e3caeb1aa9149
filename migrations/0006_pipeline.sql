-- The nightly pipeline's own schema history: the settings it reads (controller choice, catch-up
-- window, worker lease), the columns the planner and orchestrator record, and pg_cron where this
-- database can have it. Functions, views and schedules are in sql/40..85.
-- depends: 0003_lead_flow_tables

insert into public.lead_flow_setting_definitions
  (key, value_type, default_value, min_value, max_value, allowed_values, per_segment, description) values
  ('controller', 'text', '"spec"', null, null, array['spec', 'smart'], true,
   'Which budget controller proposes the desired budget (spec: budget + gap x cost per lead); '
   'the hard limits (max change per day, min/max, launch budget) apply to every controller.'),
  ('catch_up_days', 'numeric', '7', 0, 366, null, false,
   'How many past Amsterdam days the scheduled nightly steps catch up after missed nights.'),
  ('claim_lease_minutes', 'numeric', '15', 1, 1440, null, false,
   'Minutes after which an in_progress budget change whose worker went silent can be claimed again.')
on conflict (key) do nothing;

insert into public.lead_flow_settings (key, value)
select d.key, d.default_value
  from public.lead_flow_setting_definitions d
 where d.key in ('controller', 'catch_up_days', 'claim_lease_minutes')
on conflict (key, segment_id) do nothing;

-- What the orchestrator decided with: the cost per lead it used and where that came from, and
-- which controller proposed the budget (the reason text says the rest in words).
alter table public.lead_segment_plans
  add column if not exists cost_per_lead numeric(12, 2) check (cost_per_lead >= 0),
  add column if not exists cost_per_lead_source text
    check (cost_per_lead_source in ('segment', 'segment+branch', 'segment+default', 'branch', 'default')),
  add column if not exists controller text;

alter table public.channel_orchestration_log
  add column if not exists controller text,
  add column if not exists limited_by text;

-- The aggregate counts one Amsterdam day of leads for all segments at once: a covering index on
-- created_at (leads_created_at_segment_idx, built concurrently by migration 0013).

-- pg_cron only where it is loaded and this is the database it serves. Creating it needs a superuser on
-- a plain PostgreSQL (on Supabase it is enabled from the dashboard, or allowed by its extension hook):
-- when it is refused the install goes on without it, `leadflow migrate` says so, and
-- `leadflow schedules install` adds the schedules once pg_cron is there. Meanwhile `leadflow nightly`.
do $$
begin
  if exists (select from pg_catalog.pg_available_extensions where name = 'pg_cron')
     and not exists (select from pg_catalog.pg_extension where extname = 'pg_cron')
     and current_database() = current_setting('cron.database_name', true) then
    begin
      create extension pg_cron with schema pg_catalog;
    exception when insufficient_privilege or feature_not_supported or object_not_in_prerequisite_state then
      raise notice 'pg_cron not created (%); the nightly schedules wait for `leadflow schedules install`', sqlerrm;
    end;
  end if;
end
$$;
