-- The 'estimate' budget controller (sql/66_controller_estimate.sql): an allowed value of the
-- `controller` setting (the default stays as it is), and its two tunables.
-- depends: 0003_lead_flow_tables 0006_pipeline 0009_controller_smart

update public.lead_flow_setting_definitions
   set allowed_values = allowed_values || array['estimate']
 where key = 'controller' and not ('estimate' = any (allowed_values));

insert into public.lead_flow_setting_definitions
  (key, value_type, default_value, min_value, max_value, allowed_values, per_segment, description) values
  ('estimate_band', 'numeric', '1.0', 0, 10, null, true,
   'Estimate controller: no budget change while the estimated expected leads at today''s budget are within this '
   'many standard errors of the estimate (at least 2% of the target) of the target; twice that to turn back.'),
  ('estimate_weekday_share', 'numeric', '0', 0, 1, null, true,
   'Estimate controller: share of tomorrow''s weekday pattern the budget follows (0: one level budget whose '
   'week of expected leads meets the target; 1: tomorrow''s expected leads meet the flat daily target).')
on conflict (key) do nothing;

insert into public.lead_flow_settings (key, value)
select d.key, d.default_value
  from public.lead_flow_setting_definitions d
 where d.key in ('estimate_band', 'estimate_weekday_share')
on conflict (key, segment_id) do nothing;
