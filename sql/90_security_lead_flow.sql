-- RLS and grants of the Lead Flow tables. Who the caller is (lead_flow.is_admin, is_partner,
-- caller_partner_id, is_back_end, ...) is decided by the helpers of sql/05_callers.sql.
--
-- Who reads what (README, "The API"): anon nothing but the region reference; a signed-in account
-- without a partner or admin profile nothing (tables and views: no rows; RPCs: 403); a partner the
-- segments, their capacity, and stats and plans without money; an admin everything; service_role
-- everything (it bypasses RLS). Money -- budgets, ad spend and Google Ads figures, cost per lead,
-- the budget audit trail, campaign mappings and metrics, settings (budget limits) -- is for admins;
-- a partner sees only its own campaigns' money. So the tables that hold money (stats, plans) are
-- admin-only, and partners read them through the API's RPCs and views, which go through SECURITY
-- DEFINER readers (sql/91) that blank the money columns for anyone but admins and the back end.
-- Policies are named <table>_<command>_<who>; auth checks are wrapped in (select ...) so they run
-- once per statement, not once per row.

-- The tables. RLS is on from the migrations that create them (0003). Grants decide what a role may do
-- (which commands, which columns), policies which rows. Policies have no "create or replace": each is
-- dropped and made again (earlier versions' names went in migrations 0031 and 0075). An update or
-- `for all` policy without `with check` checks the rows written with its `using` rule: one rule, said
-- once. Admin writes are limited to the columns granted; a table without write grants is written by
-- the back end only.

-- Every Lead Flow table: service_role everything (it bypasses RLS), a signed-in caller reads what its
-- policies below let it (anon: nothing, but the region reference).
revoke all on public.regions, public.lead_segments, public.lead_generation_stats, public.lead_segment_plans,
              public.lead_flow_setting_definitions, public.lead_flow_settings, public.channel_orchestration_log,
              public.lead_segment_campaigns, public.campaign_daily_metrics, public.lead_segment_target_overrides,
              public.lead_flow_logs
  from anon, authenticated;
grant all on public.regions, public.lead_segments, public.lead_generation_stats, public.lead_segment_plans,
             public.lead_flow_setting_definitions, public.lead_flow_settings, public.channel_orchestration_log,
             public.lead_segment_campaigns, public.campaign_daily_metrics, public.lead_segment_target_overrides,
             public.lead_flow_logs
  to service_role;
grant select on public.regions, public.lead_segments, public.lead_generation_stats, public.lead_segment_plans,
                public.lead_flow_setting_definitions, public.lead_flow_settings, public.channel_orchestration_log,
                public.lead_segment_campaigns, public.campaign_daily_metrics, public.lead_segment_target_overrides,
                public.lead_flow_logs
  to authenticated;

-- regions: everyone reads (anon included); nobody writes through the API.
grant select on public.regions to anon;
drop policy if exists regions_select_everyone on public.regions;
create policy regions_select_everyone on public.regions for select to anon, authenticated
  using (true);

-- lead_segments: partners and admins read; admins insert, update (the descriptive columns) and delete.
grant insert (branch, region, country, postal_prefixes, description, is_active),
      update (branch, region, country, postal_prefixes, description, is_active),
      delete on public.lead_segments to authenticated;
drop policy if exists lead_segments_select_partner_or_admin on public.lead_segments;
create policy lead_segments_select_partner_or_admin on public.lead_segments for select to authenticated
  using ((select lead_flow.is_partner()) or (select lead_flow.is_admin()));
drop policy if exists lead_segments_insert_admin on public.lead_segments;
create policy lead_segments_insert_admin on public.lead_segments for insert to authenticated
  with check ((select lead_flow.is_admin()));
drop policy if exists lead_segments_update_admin on public.lead_segments;
create policy lead_segments_update_admin on public.lead_segments for update to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_segments_delete_admin on public.lead_segments;
create policy lead_segments_delete_admin on public.lead_segments for delete to authenticated
  using ((select lead_flow.is_admin()));

-- Admins read (money: partners go through get_segment_stats, get_segment_plans and
-- lead_segment_overview, money blanked), and nobody writes through the API: stats, plans, the setting
-- definitions, campaign metrics and the log.
drop policy if exists lead_generation_stats_select_admin on public.lead_generation_stats;
create policy lead_generation_stats_select_admin on public.lead_generation_stats for select to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_segment_plans_select_admin on public.lead_segment_plans;
create policy lead_segment_plans_select_admin on public.lead_segment_plans for select to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_flow_setting_definitions_select_admin on public.lead_flow_setting_definitions;
create policy lead_flow_setting_definitions_select_admin on public.lead_flow_setting_definitions
  for select to authenticated using ((select lead_flow.is_admin()));
drop policy if exists campaign_daily_metrics_select_admin on public.campaign_daily_metrics;
create policy campaign_daily_metrics_select_admin on public.campaign_daily_metrics for select to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_flow_logs_select_admin on public.lead_flow_logs;
create policy lead_flow_logs_select_admin on public.lead_flow_logs for select to authenticated
  using ((select lead_flow.is_admin()));

-- Admins read and write every row (the columns granted): the settings (the budget limits among them),
-- the campaign mappings and the target overrides. One policy for all commands: the grants say which.
grant insert (key, segment_id, value), update (key, segment_id, value), delete
  on public.lead_flow_settings to authenticated;
grant insert (segment_id, customer_id, campaign_id, budget_resource_name, daily_budget, is_active),
      update (segment_id, customer_id, campaign_id, budget_resource_name, daily_budget, is_active),
      delete on public.lead_segment_campaigns to authenticated;
grant insert (segment_id, valid_from, valid_to, target_leads_per_day, reason),
      update (segment_id, valid_from, valid_to, target_leads_per_day, reason),
      delete on public.lead_segment_target_overrides to authenticated;
drop policy if exists lead_flow_settings_all_admin on public.lead_flow_settings;
create policy lead_flow_settings_all_admin on public.lead_flow_settings for all to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_segment_campaigns_all_admin on public.lead_segment_campaigns;
create policy lead_segment_campaigns_all_admin on public.lead_segment_campaigns for all to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_segment_target_overrides_all_admin on public.lead_segment_target_overrides;
create policy lead_segment_target_overrides_all_admin on public.lead_segment_target_overrides
  for all to authenticated using ((select lead_flow.is_admin()));

-- channel_orchestration_log (the budget audit trail): admins read all, a partner the changes of its
-- own campaigns.
drop policy if exists channel_orchestration_log_select_admin_or_own_campaign on public.channel_orchestration_log;
create policy channel_orchestration_log_select_admin_or_own_campaign on public.channel_orchestration_log
  for select to authenticated
  using ((select lead_flow.is_admin())
         or (partner_campaign_id is not null
             and exists (select from public.partner_marketing_campaigns c
                          where c.id = partner_campaign_id and c.partner_id = (select lead_flow.caller_partner_id()))));

-- Internal schema: usable for the definer helpers policies call, nothing in it is granted wholesale.
revoke all on all tables in schema lead_flow from anon, authenticated;
grant usage on schema lead_flow to anon, authenticated, service_role;
-- Except the region reference data that public.normalize_region / extract_region (executable by
-- every API role, and used by create_lead_segment) read as the caller: province spellings and PC4
-- ranges are public knowledge. Without this the blanket revoke above turns those RPCs into 401/403.
grant select on lead_flow.region_aliases, lead_flow.postcode_regions to anon, authenticated, service_role;
-- The settings in effect (lead_flow.segment_settings, security_invoker) for the back end; the nightly
-- steps and the definer functions read them as their owner.
grant select on lead_flow.segment_settings to service_role;
