-- One API surface (issue 14 items 3-5). `public` holds what clients call: the views and RPCs of
-- sql/91_api.sql and sql/93_partner_marketing_api.sql, and the spec's helpers calculate_lead_gap,
-- update_lead_gap and get_segment_capacity. The rest moves to lead_flow under the same name and
-- signature, created there by sql/ in the same migrate:
--   the nightly steps aggregate_lead_stats, plan_lead_segments, orchestrate_budgets (the pipeline's
--   registry names them), the lead assignment catch-up assign_segments_to_leads, the forecast
--   report lead_forecast_accuracy, and the budget maths limit_daily_budget, propose_daily_budget.
-- Client functions take bare argument names (PostgREST passes arguments by name, so a rename is a new
-- function): calculate_lead_gap(segment_id, date), update_lead_gap(segment_id, date),
-- rerun_lead_flow(day), normalize_region(name), extract_region(province, postcode).
-- One way to read a setting: the view lead_flow.segment_settings (sql/00_helpers.sql) is the
-- definition and lead_flow.setting() reads it; effective_segment_settings (the same values) goes.
-- Every Lead Flow table in public gets a comment (PostgREST's OpenAPI shows it); the platform's
-- tables are the platform's and get none from us.
-- Between this migration and the apply of sql/ (seconds, once) a caller of a moved function finds it
-- gone; pg_cron calls the pipeline through lead_flow.run_due_steps, which reads the registry.
-- depends: 0003_lead_flow_tables 0025_pipeline_steps

drop function if exists public.aggregate_lead_stats(date);
drop function if exists public.plan_lead_segments(date);
drop function if exists public.orchestrate_budgets(date);
drop function if exists public.assign_segments_to_leads(timestamptz);
drop function if exists public.lead_forecast_accuracy(date, date);
drop function if exists public.limit_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric);
drop function if exists public.propose_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric,
                                                    numeric, numeric);

update lead_flow.pipeline_steps set run_function = 'lead_flow.aggregate_lead_stats'
 where run_function = 'public.aggregate_lead_stats';
update lead_flow.pipeline_steps set run_function = 'lead_flow.plan_lead_segments'
 where run_function = 'public.plan_lead_segments';
update lead_flow.pipeline_steps set run_function = 'lead_flow.orchestrate_budgets'
 where run_function = 'public.orchestrate_budgets';

-- Renamed arguments: the same functions with bare argument names come from sql/.
drop function if exists public.calculate_lead_gap(uuid, date);
drop function if exists public.update_lead_gap(uuid, date);
drop function if exists public.rerun_lead_flow(date);
drop function if exists public.normalize_region(text);
drop function if exists public.extract_region(text, text);

drop function if exists lead_flow.effective_segment_settings(uuid);

-- Earlier versions, out of sql/ (which says what exists): the smart controller's features without a
-- learning window.
drop function if exists lead_flow.smart_controller_features(date, uuid);

comment on table public.lead_segments is
  'Segments: a branch (trade) in a region (province), with its generated code (schilder_noord_brabant). '
  'Partners and admins read them; admins create (POST /rpc/create_lead_segment), change and deactivate them.';
comment on table public.lead_generation_stats is
  'One row per segment and Amsterdam day: leads by status, Google Ads spend, clicks, impressions and '
  'conversions, and the capacity that night. Admins only (money); partners read it through get_segment_stats.';
comment on table public.lead_segment_plans is
  'One row per segment and Amsterdam day: lead target, actual, gap, forecast, and the Google Ads budget it led '
  'to with the orchestration status. Admins only (money); partners read it through get_segment_plans.';
comment on table public.lead_segment_campaigns is
  'Which Google Ads campaign and budget serve a segment, and the daily budget last known live. Admins only.';
comment on table public.campaign_daily_metrics is
  'Daily Google Ads metrics per campaign (cost in EUR, clicks, impressions, conversions) as the worker pulled '
  'them. Admins only.';
comment on table public.channel_orchestration_log is
  'Every budget change the nightly orchestration proposed and what became of it (pending, in_progress, success, '
  'failed, conflict): the audit trail and the worker''s queue. Admins; a partner sees its own campaigns'' changes.';
comment on table public.lead_flow_setting_definitions is
  'The Lead Flow settings there are: type, range, default, whether a segment may override it, what it does. '
  'Admins only.';
comment on table public.lead_flow_settings is
  'Global values (segment_id null) and per-segment overrides of the Lead Flow settings, checked against their '
  'definitions. Admins only.';
comment on table public.lead_segment_target_overrides is
  'Manual daily lead targets for a segment and an inclusive date range; they win over the capacity-derived '
  'target. Admins only: POST /rpc/set_target_override, POST /rpc/remove_target_override (or DELETE).';
