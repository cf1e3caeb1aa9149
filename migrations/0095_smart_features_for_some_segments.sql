-- smart_controller_features takes the segments to compute (p_segment_ids uuid[], a fourth argument
-- with a default), so that orchestrate_budgets learns only for the segments set to 'smart' instead of
-- for every active one. An argument list cannot change in place: the three-argument version goes here,
-- and sql/65_controller_smart.sql creates the new one in the same migrate (callers with one to three
-- arguments call it unchanged). Until then (seconds, once) a night with smart segments would fail and
-- can be re-run.
-- depends: 0030_one_api_surface

drop function if exists lead_flow.smart_controller_features(date, uuid, integer);
