-- The budget maths cores (sql/60_budget_maths.sql) return their one row through OUT parameters
-- instead of as a set (returns table): a set-returning PL/pgSQL function keeps ~200 bytes of every
-- call until its statement ends (its tuplestore's descriptor), which orchestrate_budgets' one
-- statement over 100,000 segments x 3 cores would hold at once. A function's result type cannot
-- change in place, so the set-returning versions go here and sql/60 creates the new ones in the same
-- migrate. Between the two (seconds, once) a night that starts finds them missing and reports it;
-- the catch-up reruns it.
-- depends: 0026_worker_and_pipeline_functions_internal

drop function if exists lead_flow.hard_budget_limits(numeric, numeric, numeric, numeric, numeric, numeric);
drop function if exists lead_flow.blend_cost_per_lead(numeric, numeric, numeric, numeric, numeric);
drop function if exists lead_flow.spec_controller(numeric, numeric, numeric);
