-- sql/ says what exists (issue 14 item 5): sql/90_security_lead_flow.sql dropped, on every apply, the
-- policy names of earlier versions beside its own (`<table>_select_authenticated` when every signed-in
-- user read the tables, `_select_partner_or_admin` before stats and plans became admin-only, and
-- admin write policies on tables that are no longer written through the API). They go here, once:
-- every select and admin-write policy name sql/90 has used on the Lead Flow tables. sql/90 makes the
-- current policies again in the same migrate; until then (seconds, once) these tables show signed-in
-- callers no rows (RLS with no policy refuses), never more than before.
-- depends: 0003_lead_flow_tables 0017_lead_flow_logs

do $$
declare
  t text;
  p text;
begin
  foreach t in array array['regions', 'lead_segments', 'lead_generation_stats', 'lead_segment_plans',
                           'lead_flow_setting_definitions', 'lead_flow_settings', 'channel_orchestration_log',
                           'lead_segment_campaigns', 'campaign_daily_metrics', 'lead_segment_target_overrides',
                           'lead_flow_logs'] loop
    foreach p in array array['select_everyone', 'select_authenticated', 'select_partner_or_admin', 'select_admin',
                             'select_admin_or_own_campaign', 'insert_admin', 'update_admin', 'delete_admin'] loop
      execute format('drop policy if exists %I on public.%I', t || '_' || p, t);
    end loop;
  end loop;
end
$$;
