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

do $$
declare
  r record;
  readers text;
  read_check text;
  who text;
begin
  for r in
    select * from (values
      -- table, who reads, columns admins may write (null: nobody writes through the API).
      -- Stats and plans hold budgets, spend and cost per lead: partners read them through
      -- get_segment_stats / get_segment_plans / lead_segment_overview (money blanked), not the tables.
      -- Settings hold the budget limits. The budget audit trail: admins, and a partner the changes
      -- of its own campaigns.
      ('regions', 'everyone', null),
      ('lead_segments', 'partner_or_admin', 'branch, region, country, postal_prefixes, description, is_active'),
      ('lead_generation_stats', 'admin', null),
      ('lead_segment_plans', 'admin', null),
      ('lead_flow_setting_definitions', 'admin', null),
      ('lead_flow_settings', 'admin', 'key, segment_id, value'),
      ('channel_orchestration_log', 'admin_or_own_campaign', null),
      ('lead_segment_campaigns', 'admin', 'segment_id, customer_id, campaign_id, budget_resource_name, daily_budget, is_active'),
      ('campaign_daily_metrics', 'admin', null),
      ('lead_segment_target_overrides', 'admin', 'segment_id, valid_from, valid_to, target_leads_per_day, reason'),
      ('lead_flow_logs', 'admin', null)
    ) as t (tbl, reader, write_columns)
  loop
    execute format('alter table public.%I enable row level security', r.tbl);
    execute format('revoke all on public.%I from anon, authenticated', r.tbl);
    execute format('grant all on public.%I to service_role', r.tbl);

    readers := case r.reader when 'everyone' then 'anon, authenticated' else 'authenticated' end;
    read_check := case r.reader
      when 'everyone' then 'true'
      when 'partner_or_admin' then '(select lead_flow.is_partner()) or (select lead_flow.is_admin())'
      when 'admin' then '(select lead_flow.is_admin())'
      when 'admin_or_own_campaign' then
        '(select lead_flow.is_admin()) or (partner_campaign_id is not null and (select lead_flow.is_partner()) '
        'and exists (select from public.partner_marketing_campaigns c where c.id = partner_campaign_id '
        'and c.partner_id = (select lead_flow.jwt_user_id())))'
    end;
    -- Policies have no "create or replace": this apply's own policy is dropped and made again
    -- (earlier versions' names went in migration 0031).
    execute format('drop policy if exists %I on public.%I', r.tbl || '_select_' || r.reader, r.tbl);
    execute format('create policy %I on public.%I for select to %s using (%s)',
                   r.tbl || '_select_' || r.reader, r.tbl, readers, read_check);
    execute format('grant select on public.%I to %s', r.tbl, readers);

    if r.write_columns is not null then
      foreach who in array array['insert', 'update', 'delete'] loop
        execute format('drop policy if exists %I on public.%I', r.tbl || '_' || who || '_admin', r.tbl);
      end loop;
      execute format('create policy %I on public.%I for insert to authenticated with check ((select lead_flow.is_admin()))',
                     r.tbl || '_insert_admin', r.tbl);
      execute format('create policy %I on public.%I for update to authenticated using ((select lead_flow.is_admin())) '
                     'with check ((select lead_flow.is_admin()))', r.tbl || '_update_admin', r.tbl);
      execute format('create policy %I on public.%I for delete to authenticated using ((select lead_flow.is_admin()))',
                     r.tbl || '_delete_admin', r.tbl);
      execute format('grant insert (%s), update (%s), delete on public.%I to authenticated',
                     r.write_columns, r.write_columns, r.tbl);
    end if;
  end loop;
end
$$;

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
