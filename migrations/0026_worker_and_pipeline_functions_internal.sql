-- `public` holds what clients call (issue 14 item 3). The worker contract (claim_budget_changes,
-- complete_budget_change, record_campaign_metrics: the worker calls them as service_role) and the
-- nightly entry points (run_lead_flow_nightly, backfill_lead_flow: the CLI and rerun_lead_flow) move
-- to lead_flow under the same names and signatures; sql/75_worker_contract.sql and sql/80_nightly.sql
-- create them there in the same migrate. Their public versions go here.
-- Also here, out of sql/ (which says what exists): the drops of earlier versions' signatures that
-- sql/80_nightly.sql and the partner marketing file carried.
-- Between this migration and the apply of sql/ (seconds, once) a worker or CLI of the previous version
-- finds the public functions gone and reports the error; the new version calls lead_flow's.

drop function if exists public.claim_budget_changes(text, integer, boolean);
drop function if exists public.complete_budget_change(uuid, text, numeric, text, text, text, numeric, boolean);
drop function if exists public.record_campaign_metrics(text, text, date, bigint, bigint, bigint, numeric);
drop function if exists public.run_lead_flow_nightly(date);
drop function if exists public.backfill_lead_flow(date, date);

-- Earlier versions: the catch-up entry point without a clock (a one-argument call would be
-- ambiguous beside run_due_steps(text, timestamptz default now())), and the campaign totals without
-- a campaign list.
drop function if exists lead_flow.run_due_steps(text);
drop function if exists lead_flow.sync_partner_campaign_totals();
