-- The smart budget controller's tunables (the controller itself is sql/65_controller_smart.sql).
-- The `controller` setting (migration 0006) already allows 'smart'; 'spec' stays the default.
-- depends: 0003_lead_flow_tables 0006_pipeline

insert into public.lead_flow_setting_definitions
  (key, value_type, default_value, min_value, max_value, allowed_values, per_segment, description) values
  ('smart_dead_band', 'numeric', '0.03', 0, 1, null, true,
   'Smart controller: no budget change while |aim - smoothed lead flow| is within this share of the target '
   '(or within a quarter standard error of the smoothed flow, whichever is wider; three times that to turn back).'),
  ('smart_makeup', 'numeric', '1.0', 0, 1.5, null, true,
   'Smart controller: share of the last 7 days'' shortfall (or surplus) against their targets it adds to the aim '
   '(spread over a week, at most 30% of the target), only while the smoothed flow is within 30% of the target.'),
  ('smart_gain', 'numeric', '0.8', 0.05, 1, null, true,
   'Smart controller: share of the way to the aim it asks for in one night when raising (below 1 damps overshoot).'),
  ('smart_gain_down', 'numeric', '1.0', 0.05, 1, null, true,
   'Smart controller: share of the way to the aim it asks for in one night when cutting a surplus (surplus leads are '
   'the dearest: bought at the marginal cost per lead).'),
  ('smart_raise_band', 'numeric', '1.5', 1, 5, null, true,
   'Smart controller: a raise needs this many times the dead-band (a lead above target costs the marginal cost per '
   'lead, one short saves it), so noise does not push the flow above target.'),
  ('smart_spend_ratio', 'numeric', '0.85', 0, 1, null, true,
   'Smart controller: a campaign that spent less than this share of its budget over the last 3 days is not '
   'budget-limited: its budget is not raised (more budget buys nothing) and an alert says so.'),
  ('smart_window_days', 'numeric', '28', 7, 56, null, true,
   'Smart controller: days of own history its response curve (organic + k x spend^beta) and marginal cost per lead '
   '(daily leads regressed on spend) are learned from.')
on conflict (key) do nothing;

insert into public.lead_flow_settings (key, value)
select d.key, d.default_value
  from public.lead_flow_setting_definitions d
 where d.key in ('smart_dead_band', 'smart_gain', 'smart_gain_down', 'smart_makeup', 'smart_raise_band',
                 'smart_spend_ratio', 'smart_window_days')
on conflict (key, segment_id) do nothing;
