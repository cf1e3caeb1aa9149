-- Who is calling: the helpers every file's checks and policies use (the API's checks, the RLS of
-- sql/90 and sql/94, the alerts' and the controllers' own checks). Applied before every other file
-- but the generic helpers, so a check anywhere can call them rather than spell the rule again.
-- They read the JWT claims PostgREST (and Supabase) put in request.jwt.claims, the caller's profile,
-- and the session's login role; none of them raises for a strange caller: it is "nobody".

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

-- The partner the caller acts as: its user id when it is a partner (is_partner), else NULL. "Own" rows
-- (a partner's campaigns, pages, links, gaps, recommendations) are those whose partner_id equals it,
-- so an admin's or a bare account's id never makes a row its own. Policies call it as
-- (select lead_flow.caller_partner_id()), once per statement.
create or replace function lead_flow.caller_partner_id() returns uuid
  language sql stable set search_path = ''
  as $$ select case when lead_flow.is_partner() then lead_flow.jwt_user_id() end $$;
comment on function lead_flow.caller_partner_id() is
  'The calling user''s id when its profile is a partner''s (lead_flow.is_partner()); NULL for admins, anon, '
  'users without a partner profile and a sub that is not a uuid. Never raises.';
revoke all on function lead_flow.caller_partner_id() from public, anon, authenticated;
grant execute on function lead_flow.caller_partner_id() to authenticated, service_role;

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

-- Who has an admin's rights: admins and the back end. The one statement of that rule; what only
-- admins may do (api_require_admin), who sees money (sees_money) and the admin-only views call it.
create or replace function lead_flow.has_admin_rights() returns boolean
  language sql stable set search_path = ''
  as $$ select lead_flow.is_admin() or lead_flow.is_back_end() $$;
comment on function lead_flow.has_admin_rights() is
  'True for admins and the back end (service_role through the API, direct sessions that may act as service_role); '
  'false for partners, other signed-in callers and anon.';
revoke all on function lead_flow.has_admin_rights() from public, anon, authenticated;
grant execute on function lead_flow.has_admin_rights() to authenticated, service_role;

-- Who sees money (budgets, spend, cost per lead): admins and the back end.
create or replace function lead_flow.sees_money() returns boolean
  language sql stable set search_path = ''
  as $$ select lead_flow.has_admin_rights() $$;
comment on function lead_flow.sees_money() is
  'True for admins and the back end (service_role, direct sessions): the callers the API shows budgets, spend and '
  'cost per lead to.';
revoke all on function lead_flow.sees_money() from public, anon, authenticated;
grant execute on function lead_flow.sees_money() to authenticated, service_role;

-- Who reads Lead Flow's segment data: partners, admins and the back end.
create or replace function lead_flow.reads_lead_flow() returns boolean
  language sql stable set search_path = ''
  as $$ select lead_flow.is_partner() or lead_flow.has_admin_rights() $$;
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
-- status): has_admin_rights (is_back_end, so it also holds inside SECURITY DEFINER functions, where
-- current_user is the owner); 42501 naming the action for anyone else.
create or replace function lead_flow.api_require_admin(p_action text) returns boolean
  language plpgsql stable set search_path = ''
  as $$
  begin
    if lead_flow.has_admin_rights() then
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
