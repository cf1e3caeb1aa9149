-- RLS and grants of the Lead Flow tables, and the helpers that decide who the caller is.
--
-- Who reads what (README, "The API"): anon nothing but the region reference; a signed-in account
-- without a partner or admin profile nothing (tables and views: no rows; RPCs: 403); a partner the
-- segments, their capacity, and stats and plans without money; an admin everything; service_role
-- everything (it bypasses RLS). Money -- budgets, ad spend and Google Ads figures, cost per lead,
-- the budget audit trail, campaign mappings and metrics, settings (budget limits) -- is for admins;
-- a partner sees only its own campaigns' money. So the tables that hold money (stats, plans) are
-- admin-only, and partners read them through the API's RPCs and views, which go through SECURITY
-- DEFINER readers below that blank the money columns for anyone but admins and the back end.
-- Policies are named <table>_<command>_<who>; auth checks are wrapped in (select ...) so they run
-- once per statement, not once per row.

-- The caller's user id from the JWT claims PostgREST (and Supabase) put in request.jwt.claims; NULL
-- without a sub, or when the sub is not a uuid. Not auth.uid(): that casts sub to uuid and raises on a
-- sub like "alice", which would turn every policy that calls it into an error instead of "nobody".
create or replace function lead_flow.jwt_user_id() returns uuid
  language sql stable set search_path = ''
  as $$
    select case when s.sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                then s.sub::uuid end
      from (select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                            nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub') as sub) s
  $$;
comment on function lead_flow.jwt_user_id() is
  'The calling user''s id (the JWT''s sub) as a uuid; NULL for no JWT, no sub, or a sub that is not a uuid. Never raises.';
revoke all on function lead_flow.jwt_user_id() from public, anon, authenticated;
grant execute on function lead_flow.jwt_user_id() to authenticated, service_role;

-- Who is calling, for audit rows (capacity changes and confirmations, sql/35): the JWT's role
-- (authenticated, service_role) or, without one, the login role.
create or replace function lead_flow.caller_role() returns text
  language sql stable set search_path = ''
  as $$
    select coalesce(coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb ->> 'role',
                    session_user::text)
  $$;
comment on function lead_flow.caller_role() is
  'The calling role for audit rows: the JWT''s role claim (authenticated, service_role) when there is one, '
  'otherwise the session''s login role (postgres, a cron job''s role).';
revoke all on function lead_flow.caller_role() from public, anon, authenticated;
grant execute on function lead_flow.caller_role() to authenticated, service_role;

-- Re-created here (first made by migration 0002, which its policies needed) to read the sub safely.
-- SECURITY DEFINER so a policy on profiles can read profiles without recursing through its own RLS.
create or replace function lead_flow.is_admin() returns boolean
  language sql stable security definer set search_path = ''
  as $$
    select coalesce((select p.is_admin from public.profiles p where p.id = lead_flow.jwt_user_id()), false)
  $$;
comment on function lead_flow.is_admin() is
  'True when the calling user''s profile has is_admin; false for anon, unknown users and a sub that is not a uuid.';
revoke all on function lead_flow.is_admin() from public;
grant execute on function lead_flow.is_admin() to anon, authenticated, service_role;

-- A partner is a contractor's profile: not an admin, and one that takes part in lead routing or names
-- a trade it serves (primary_branch or lead_industries, the partner fields the platform's profiles
-- carry). A signed-in account without a profile, or with a profile that is neither (a bare account,
-- e.g. a consumer's on a platform that gives every account a profile), is not a partner.
create or replace function lead_flow.is_partner() returns boolean
  language sql stable security definer set search_path = ''
  as $$
    select coalesce((select not p.is_admin
                            and (p.is_active_for_routing or nullif(btrim(p.primary_branch), '') is not null
                                 or coalesce(cardinality(p.lead_industries), 0) > 0)
                       from public.profiles p where p.id = lead_flow.jwt_user_id()), false)
  $$;
comment on function lead_flow.is_partner() is
  'True when the calling user''s profile is a partner''s: not is_admin, and active for routing or naming a '
  'primary_branch or lead_industries; false for anon, users without a profile and a sub that is not a uuid.';
revoke all on function lead_flow.is_partner() from public, anon, authenticated;
grant execute on function lead_flow.is_partner() to authenticated, service_role;

-- The back end: service_role through the API, or a direct database session without JWT claims whose
-- login role may act as service_role (psql, pg_cron, the CLI). Decided from the claims and the
-- session's login role, not current_user, so it also holds inside SECURITY DEFINER functions (where
-- current_user is the owner). PostgREST always sets claims, so no API request is a "direct session".
create or replace function lead_flow.is_back_end() returns boolean
  language sql stable set search_path = ''
  as $$
    select coalesce(c.claims ->> 'role' = 'service_role', false)
           or (c.claims = '{}'::jsonb and pg_catalog.pg_has_role(session_user, 'service_role', 'USAGE'))
      from (select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb as claims) c
  $$;
comment on function lead_flow.is_back_end() is
  'True for service_role through the API and for direct database sessions without JWT claims whose login role '
  'can act as service_role (psql, pg_cron, the CLI); false for every other API caller.';
revoke all on function lead_flow.is_back_end() from public, anon, authenticated;
grant execute on function lead_flow.is_back_end() to authenticated, service_role;

-- Who sees money (budgets, spend, cost per lead): admins and the back end.
create or replace function lead_flow.sees_money() returns boolean
  language sql stable set search_path = ''
  as $$ select lead_flow.is_admin() or lead_flow.is_back_end() $$;
comment on function lead_flow.sees_money() is
  'True for admins and the back end (service_role, direct sessions): the callers the API shows budgets, spend and '
  'cost per lead to.';
revoke all on function lead_flow.sees_money() from public, anon, authenticated;
grant execute on function lead_flow.sees_money() to authenticated, service_role;

-- Who reads Lead Flow's segment data: partners, admins and the back end.
create or replace function lead_flow.reads_lead_flow() returns boolean
  language sql stable set search_path = ''
  as $$ select lead_flow.is_partner() or lead_flow.is_admin() or lead_flow.is_back_end() $$;
comment on function lead_flow.reads_lead_flow() is
  'True for partners, admins and the back end: the callers that may read segments, capacity, stats and plans.';
revoke all on function lead_flow.reads_lead_flow() from public, anon, authenticated;
grant execute on function lead_flow.reads_lead_flow() to authenticated, service_role;

-- The check at the top of every API function that reads Lead Flow data: 42501 (PostgREST: 403) with a
-- message for a signed-in account that is neither partner nor admin (anon never gets this far: it
-- may not execute the API functions at all, which PostgREST answers with 401).
create or replace function lead_flow.api_require_reader(p_action text) returns boolean
  language plpgsql stable set search_path = ''
  as $$
  begin
    if lead_flow.reads_lead_flow() then
      return true;
    end if;
    raise exception '% needs a partner or admin profile', p_action using errcode = '42501',
      hint = 'sign in as a partner or an admin of the marketplace; this account has neither profile';
  end
  $$;
comment on function lead_flow.api_require_reader(text) is
  'True for partners, admins and the back end; raises 42501 "<action> needs a partner or admin profile" for anyone else.';
revoke all on function lead_flow.api_require_reader(text) from public, anon, authenticated;
grant execute on function lead_flow.api_require_reader(text) to authenticated, service_role;

-- The same check for what only admins may do (write through the API, re-run a night, the orchestration
-- status): admins and the back end (is_back_end, so it also holds inside SECURITY DEFINER functions,
-- where current_user is the owner); 42501 naming the action for anyone else.
create or replace function lead_flow.api_require_admin(p_action text) returns boolean
  language plpgsql stable set search_path = ''
  as $$
  begin
    if lead_flow.is_admin() or lead_flow.is_back_end() then
      return true;
    end if;
    raise exception '% is for admins only', p_action using errcode = '42501',
      hint = 'sign in as a user whose profile has is_admin';
  end
  $$;
comment on function lead_flow.api_require_admin(text) is
  'True for admins and the back end (service_role, direct sessions); raises 42501 "<action> is for admins only" '
  'for everyone else.';
revoke all on function lead_flow.api_require_admin(text) from public, anon, authenticated;
grant execute on function lead_flow.api_require_admin(text) to authenticated, service_role;

-- The tables. RLS is on from the migrations that create them (0003); each table below: who may do
-- what, then the grants (service_role everything: it bypasses RLS), then its policies. Policies have
-- no "create or replace": each is dropped and made again (earlier versions' names went in migration
-- 0031). Admin writes are limited to the columns granted; a table without write policies is written
-- by the back end only.

-- regions: everyone reads (anon included); nobody writes through the API.
revoke all on public.regions from anon, authenticated;
grant all on public.regions to service_role;
grant select on public.regions to anon, authenticated;
drop policy if exists regions_select_everyone on public.regions;
create policy regions_select_everyone on public.regions for select to anon, authenticated
  using (true);

-- lead_segments: partners and admins read; admins insert, update (the descriptive columns) and delete.
revoke all on public.lead_segments from anon, authenticated;
grant all on public.lead_segments to service_role;
grant select on public.lead_segments to authenticated;
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
  using ((select lead_flow.is_admin())) with check ((select lead_flow.is_admin()));
drop policy if exists lead_segments_delete_admin on public.lead_segments;
create policy lead_segments_delete_admin on public.lead_segments for delete to authenticated
  using ((select lead_flow.is_admin()));

-- lead_generation_stats: admins read (money: partners go through get_segment_stats, money blanked).
revoke all on public.lead_generation_stats from anon, authenticated;
grant all on public.lead_generation_stats to service_role;
grant select on public.lead_generation_stats to authenticated;
drop policy if exists lead_generation_stats_select_admin on public.lead_generation_stats;
create policy lead_generation_stats_select_admin on public.lead_generation_stats for select to authenticated
  using ((select lead_flow.is_admin()));

-- lead_segment_plans: admins read (money: partners go through get_segment_plans and
-- lead_segment_overview, money blanked).
revoke all on public.lead_segment_plans from anon, authenticated;
grant all on public.lead_segment_plans to service_role;
grant select on public.lead_segment_plans to authenticated;
drop policy if exists lead_segment_plans_select_admin on public.lead_segment_plans;
create policy lead_segment_plans_select_admin on public.lead_segment_plans for select to authenticated
  using ((select lead_flow.is_admin()));

-- lead_flow_setting_definitions: admins read.
revoke all on public.lead_flow_setting_definitions from anon, authenticated;
grant all on public.lead_flow_setting_definitions to service_role;
grant select on public.lead_flow_setting_definitions to authenticated;
drop policy if exists lead_flow_setting_definitions_select_admin on public.lead_flow_setting_definitions;
create policy lead_flow_setting_definitions_select_admin on public.lead_flow_setting_definitions
  for select to authenticated
  using ((select lead_flow.is_admin()));

-- lead_flow_settings (the budget limits among them): admins read, insert, update and delete.
revoke all on public.lead_flow_settings from anon, authenticated;
grant all on public.lead_flow_settings to service_role;
grant select on public.lead_flow_settings to authenticated;
grant insert (key, segment_id, value), update (key, segment_id, value), delete
  on public.lead_flow_settings to authenticated;
drop policy if exists lead_flow_settings_select_admin on public.lead_flow_settings;
create policy lead_flow_settings_select_admin on public.lead_flow_settings for select to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_flow_settings_insert_admin on public.lead_flow_settings;
create policy lead_flow_settings_insert_admin on public.lead_flow_settings for insert to authenticated
  with check ((select lead_flow.is_admin()));
drop policy if exists lead_flow_settings_update_admin on public.lead_flow_settings;
create policy lead_flow_settings_update_admin on public.lead_flow_settings for update to authenticated
  using ((select lead_flow.is_admin())) with check ((select lead_flow.is_admin()));
drop policy if exists lead_flow_settings_delete_admin on public.lead_flow_settings;
create policy lead_flow_settings_delete_admin on public.lead_flow_settings for delete to authenticated
  using ((select lead_flow.is_admin()));

-- channel_orchestration_log (the budget audit trail): admins read all, a partner the changes of its
-- own campaigns.
revoke all on public.channel_orchestration_log from anon, authenticated;
grant all on public.channel_orchestration_log to service_role;
grant select on public.channel_orchestration_log to authenticated;
drop policy if exists channel_orchestration_log_select_admin_or_own_campaign on public.channel_orchestration_log;
create policy channel_orchestration_log_select_admin_or_own_campaign on public.channel_orchestration_log
  for select to authenticated
  using ((select lead_flow.is_admin())
         or (partner_campaign_id is not null and (select lead_flow.is_partner())
             and exists (select from public.partner_marketing_campaigns c
                          where c.id = partner_campaign_id and c.partner_id = (select lead_flow.jwt_user_id()))));

-- lead_segment_campaigns: admins read, insert, update and delete.
revoke all on public.lead_segment_campaigns from anon, authenticated;
grant all on public.lead_segment_campaigns to service_role;
grant select on public.lead_segment_campaigns to authenticated;
grant insert (segment_id, customer_id, campaign_id, budget_resource_name, daily_budget, is_active),
      update (segment_id, customer_id, campaign_id, budget_resource_name, daily_budget, is_active),
      delete on public.lead_segment_campaigns to authenticated;
drop policy if exists lead_segment_campaigns_select_admin on public.lead_segment_campaigns;
create policy lead_segment_campaigns_select_admin on public.lead_segment_campaigns for select to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_segment_campaigns_insert_admin on public.lead_segment_campaigns;
create policy lead_segment_campaigns_insert_admin on public.lead_segment_campaigns for insert to authenticated
  with check ((select lead_flow.is_admin()));
drop policy if exists lead_segment_campaigns_update_admin on public.lead_segment_campaigns;
create policy lead_segment_campaigns_update_admin on public.lead_segment_campaigns for update to authenticated
  using ((select lead_flow.is_admin())) with check ((select lead_flow.is_admin()));
drop policy if exists lead_segment_campaigns_delete_admin on public.lead_segment_campaigns;
create policy lead_segment_campaigns_delete_admin on public.lead_segment_campaigns for delete to authenticated
  using ((select lead_flow.is_admin()));

-- campaign_daily_metrics: admins read.
revoke all on public.campaign_daily_metrics from anon, authenticated;
grant all on public.campaign_daily_metrics to service_role;
grant select on public.campaign_daily_metrics to authenticated;
drop policy if exists campaign_daily_metrics_select_admin on public.campaign_daily_metrics;
create policy campaign_daily_metrics_select_admin on public.campaign_daily_metrics for select to authenticated
  using ((select lead_flow.is_admin()));

-- lead_segment_target_overrides: admins read, insert, update and delete.
revoke all on public.lead_segment_target_overrides from anon, authenticated;
grant all on public.lead_segment_target_overrides to service_role;
grant select on public.lead_segment_target_overrides to authenticated;
grant insert (segment_id, valid_from, valid_to, target_leads_per_day, reason),
      update (segment_id, valid_from, valid_to, target_leads_per_day, reason),
      delete on public.lead_segment_target_overrides to authenticated;
drop policy if exists lead_segment_target_overrides_select_admin on public.lead_segment_target_overrides;
create policy lead_segment_target_overrides_select_admin on public.lead_segment_target_overrides
  for select to authenticated
  using ((select lead_flow.is_admin()));
drop policy if exists lead_segment_target_overrides_insert_admin on public.lead_segment_target_overrides;
create policy lead_segment_target_overrides_insert_admin on public.lead_segment_target_overrides
  for insert to authenticated
  with check ((select lead_flow.is_admin()));
drop policy if exists lead_segment_target_overrides_update_admin on public.lead_segment_target_overrides;
create policy lead_segment_target_overrides_update_admin on public.lead_segment_target_overrides
  for update to authenticated
  using ((select lead_flow.is_admin())) with check ((select lead_flow.is_admin()));
drop policy if exists lead_segment_target_overrides_delete_admin on public.lead_segment_target_overrides;
create policy lead_segment_target_overrides_delete_admin on public.lead_segment_target_overrides
  for delete to authenticated
  using ((select lead_flow.is_admin()));

-- lead_flow_logs: admins read.
revoke all on public.lead_flow_logs from anon, authenticated;
grant all on public.lead_flow_logs to service_role;
grant select on public.lead_flow_logs to authenticated;
drop policy if exists lead_flow_logs_select_admin on public.lead_flow_logs;
create policy lead_flow_logs_select_admin on public.lead_flow_logs for select to authenticated
  using ((select lead_flow.is_admin()));

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
