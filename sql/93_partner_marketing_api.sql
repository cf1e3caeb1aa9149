-- The partner marketing API for PostgREST/Supabase clients (spec: partner-marketing-summary.md,
-- "API Endpoints"). The tables themselves are resources under RLS (sql/94); this file adds the
-- views and RPCs. Views are security_invoker; RPCs are SECURITY INVOKER and what only the system may
-- write (the budget queue) goes through lead_flow.decide_marketing_recommendation, which checks again.
--
--   spec endpoint                                          PostgREST resource
--   GET  /partners/:id/marketing-profile                   GET  /partner_marketing_profiles?partner_id=eq.:id
--   POST /partners/:id/marketing-profile                   POST /rpc/update_marketing_profile (or PATCH /profiles, marketing columns)
--   GET/POST /partners/:id/segments                        GET/POST /partner_segments
--   GET/POST /partners/:id/landing-pages (+ update)        GET/POST/PATCH /partner_landing_pages, POST /rpc/publish_landing_page
--   GET/POST /partners/:id/campaigns                       GET/POST /partner_marketing_campaigns
--   GET  /partners/:id/lead-gaps                           GET  /partner_lead_gaps
--   GET  /partners/:id/marketing-recommendations           GET  /ai_marketing_recommendations
--   POST .../:recId/approve | reject                       POST /rpc/approve_marketing_recommendation | reject_marketing_recommendation
--   what became of a decision (pushed, failed, conflict)   GET  /marketing_recommendation_outcomes
--   Admin: segment detail "Partner Marketing"              GET  /segment_partner_marketing?segment_id=eq.:id

-- GET marketing profile -------------------------------------------------------------------------
create or replace view public.partner_marketing_profiles with (security_invoker = true) as
  select p.id as partner_id, p.company_name, p.marketing_mode, p.auto_marketing_enabled,
         p.monthly_marketing_budget, p.preferred_channels, p.brand_color, p.logo_url, p.tone_of_voice
    from public.profiles p
   -- The first is pseudo-constant (no column): for anyone else the planner skips the scan, so the
   -- platform's own policies on profiles are not even evaluated for a caller who gets nothing here.
   where (select lead_flow.reads_lead_flow())
     and (p.id = (select lead_flow.jwt_user_id()) or (select lead_flow.has_admin_rights()));
comment on view public.partner_marketing_profiles is
  'A partner''s marketing profile (mode, automation, monthly budget, channels, branding). A partner sees its own row, admins every row, anyone else (signed in without a partner profile) no rows, anon nothing.';

-- POST marketing profile ------------------------------------------------------------------------
create or replace function public.update_marketing_profile(
    partner_id uuid default null, marketing_mode text default null, auto_marketing_enabled boolean default null,
    monthly_marketing_budget numeric default null, preferred_channels text[] default null,
    brand_color text default null, logo_url text default null, tone_of_voice text default null)
  returns public.partner_marketing_profiles
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_variable
  declare
    v_target uuid := coalesce(partner_id, (select lead_flow.jwt_user_id()));
    v_row public.partner_marketing_profiles;
  begin
    perform lead_flow.api_require_reader('update_marketing_profile');
    if v_target is null then
      raise exception 'partner_id is required (or sign in as the partner)' using errcode = '22023';
    end if;
    if v_target is distinct from (select lead_flow.jwt_user_id()) and not (select lead_flow.has_admin_rights())
       and not pg_catalog.pg_has_role(current_user, 'service_role', 'USAGE') then
      raise exception 'you can only change your own marketing profile' using errcode = '42501';
    end if;
    -- Only the marketing fields; NULL keeps a field, '' clears colour, logo and tone of voice.
    update public.profiles p
       set marketing_mode = coalesce(marketing_mode, p.marketing_mode),
           auto_marketing_enabled = coalesce(auto_marketing_enabled, p.auto_marketing_enabled),
           monthly_marketing_budget = coalesce(monthly_marketing_budget, p.monthly_marketing_budget),
           preferred_channels = coalesce(preferred_channels, p.preferred_channels),
           brand_color = case when brand_color is null then p.brand_color else nullif(btrim(brand_color), '') end,
           logo_url = case when logo_url is null then p.logo_url else nullif(btrim(logo_url), '') end,
           tone_of_voice = case when tone_of_voice is null then p.tone_of_voice else nullif(btrim(tone_of_voice), '') end
     where p.id = v_target;
    if not found then
      raise exception 'partner % does not exist', v_target using errcode = '22023';
    end if;
    select * into v_row from public.partner_marketing_profiles v where v.partner_id = v_target;
    return v_row;
  end
  $$;
comment on function public.update_marketing_profile(uuid, text, boolean, numeric, text[], text, text, text) is
  'Updates the marketing fields of a partner''s profile (default: the caller''s own; another partner''s only for admins) and returns the profile. NULL keeps a field; '''' clears brand_color, logo_url, tone_of_voice. Bad values: 400 with a message.';
revoke all on function public.update_marketing_profile(uuid, text, boolean, numeric, text[], text, text, text) from public, anon, authenticated;
grant execute on function public.update_marketing_profile(uuid, text, boolean, numeric, text[], text, text, text)
  to authenticated, service_role;

-- Publish a landing page ------------------------------------------------------------------------
create or replace function public.publish_landing_page(id uuid) returns public.partner_landing_pages
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_variable
  declare
    v_row public.partner_landing_pages;
  begin
    perform lead_flow.api_require_reader('publish_landing_page');
    if id is null then
      raise exception 'a landing page id is required' using errcode = '22023';
    end if;
    update public.partner_landing_pages lp set status = 'published' where lp.id = id returning * into v_row;
    if not found then
      raise exception 'landing page % does not exist', id using errcode = '22023';
    end if;
    return v_row;
  end
  $$;
comment on function public.publish_landing_page(uuid) is
  'Publishes one of the caller''s landing pages (admins: any); it needs a title. Returns the page; 400 for an unknown id or a page without a title.';
revoke all on function public.publish_landing_page(uuid) from public, anon, authenticated;
grant execute on function public.publish_landing_page(uuid) to authenticated, service_role;

-- Approve / reject a recommendation -------------------------------------------------------------
create or replace function public.approve_marketing_recommendation(id uuid) returns public.ai_marketing_recommendations
  language sql volatile set search_path = ''
  as $$ select * from lead_flow.decide_marketing_recommendation($1, true, null) $$;
comment on function public.approve_marketing_recommendation(uuid) is
  'Approves one of the caller''s pending recommendations (admins: any). A budget change or a campaign pause becomes one pending Google Ads change for the worker (its outcome: marketing_recommendation_outcomes); a landing page proposal a draft page. Approving twice, after expiry, or someone else''s: 400 with a message.';
revoke all on function public.approve_marketing_recommendation(uuid) from public, anon, authenticated;
grant execute on function public.approve_marketing_recommendation(uuid) to authenticated, service_role;

create or replace function public.reject_marketing_recommendation(id uuid, reason text default null)
  returns public.ai_marketing_recommendations
  language sql volatile set search_path = ''
  as $$ select * from lead_flow.decide_marketing_recommendation($1, false, $2) $$;
comment on function public.reject_marketing_recommendation(uuid, text) is
  'Rejects one of the caller''s pending recommendations (admins: any) with an optional reason (at most 2000 characters). Deciding twice, after expiry, or someone else''s: 400 with a message.';
revoke all on function public.reject_marketing_recommendation(uuid, text) from public, anon, authenticated;
grant execute on function public.reject_marketing_recommendation(uuid, text) to authenticated, service_role;

-- What became of each decision ------------------------------------------------------------------
-- One row per decided recommendation with the change it queued for the worker (budget or pause) and
-- that change's outcome. security_invoker: the tables' RLS decides the rows (a partner its own
-- recommendations and its own campaigns' changes, admins all), so a partner sees a failed push of its
-- campaign and why.
create or replace view public.marketing_recommendation_outcomes with (security_invoker = true) as
  select r.id as recommendation_id, r.partner_id, r.segment_id, r.campaign_id, c.name as campaign_name,
         r.type, r.status, r.reason, r.decided_by, r.decided_at, r.decision_reason,
         l.id as change_id, l.action_type, l.status as change_status,
         case when r.status = 'rejected' then 'rejected'
              when l.id is null and r.status = 'applied' then 'applied'
              when l.id is null then 'approved'
              when l.status in ('pending', 'in_progress') then 'waiting'
              when l.status = 'success' then 'pushed'
              else l.status end as outcome,
         l.old_value, l.new_value, l.applied_value, l.live_value, l.attempts, l.error_code, l.error_message,
         l.completed_at,
         (r.payload ->> 'landing_page_id')::uuid as landing_page_id
    from public.ai_marketing_recommendations r
    left join public.channel_orchestration_log l on l.recommendation_id = r.id
    left join public.partner_marketing_campaigns c on c.id = r.campaign_id
   where r.status in ('approved', 'applied', 'rejected');
comment on view public.marketing_recommendation_outcomes is
  'What became of each decided marketing recommendation: outcome rejected, approved (nothing queued), applied '
  '(a draft landing page), waiting (its change is queued for the worker), pushed (Google Ads has it), failed or '
  'conflict (with error_code and error_message; a conflict''s live_value is what Google Ads has), with the change '
  'it queued (change_id, action_type budget_increase, budget_decrease or campaign_pause, old, new and applied '
  'value, attempts). A partner sees its own, admins all, anyone else no rows.';

-- Admin: partner marketing in a segment ---------------------------------------------------------
create or replace view public.segment_partner_marketing with (security_invoker = true) as
  with pairs as (
    select ps.partner_id, ps.segment_id from public.partner_segments ps where ps.is_active
    union
    select c.partner_id, c.segment_id from public.partner_marketing_campaigns c where c.segment_id is not null
    union
    select lp.partner_id, lp.segment_id from public.partner_landing_pages lp where lp.segment_id is not null
    union
    select g.partner_id, g.segment_id from public.partner_lead_gaps g
     where g.date = (select max(g2.date) from public.partner_lead_gaps g2)
  )
  select s.id as segment_id, s.code as segment_code, p.id as partner_id, p.company_name,
         p.marketing_mode, p.auto_marketing_enabled, p.monthly_marketing_budget,
         ps.id is not null as is_linked, coalesce(ps.is_primary, false) as is_primary, ps.priority,
         g.date as gap_date, g.target_leads, g.platform_leads, g.own_campaign_leads, g.actual_leads, g.lead_gap,
         coalesce(c.active_campaigns, 0) as active_campaigns, coalesce(c.daily_budget, 0) as campaigns_daily_budget,
         coalesce(c.total_spend, 0) as campaigns_total_spend, coalesce(c.total_leads, 0) as campaigns_total_leads,
         coalesce(lp.published_pages, 0) as published_landing_pages,
         coalesce(r.pending, 0) as pending_recommendations
    from pairs x
    join public.lead_segments s on s.id = x.segment_id
    join public.profiles p on p.id = x.partner_id
    left join public.partner_segments ps on ps.partner_id = x.partner_id and ps.segment_id = x.segment_id and ps.is_active
    left join lateral (
      select g1.* from public.partner_lead_gaps g1
       where g1.partner_id = x.partner_id and g1.segment_id = x.segment_id
       order by g1.date desc limit 1) g on true
    left join lateral (
      select count(*) filter (where c1.status = 'active') as active_campaigns,
             sum(c1.daily_budget) filter (where c1.status = 'active') as daily_budget,
             sum(c1.total_spend) as total_spend, sum(c1.total_leads) as total_leads
        from public.partner_marketing_campaigns c1
       where c1.partner_id = x.partner_id and c1.segment_id = x.segment_id) c on true
    left join lateral (
      select count(*) filter (where lp1.status = 'published') as published_pages
        from public.partner_landing_pages lp1
       where lp1.partner_id = x.partner_id and lp1.segment_id = x.segment_id) lp on true
    left join lateral (
      select count(*) as pending from public.ai_marketing_recommendations r1
       where r1.partner_id = x.partner_id and r1.segment_id = x.segment_id and r1.status = 'pending') r on true
   -- Pseudo-constant: for anyone else the planner skips the scans (and the platform's profiles policies).
   where (select lead_flow.has_admin_rights());
comment on view public.segment_partner_marketing is
  'Admins only: per segment, the partners marketing in it (linked, with campaigns, pages or a lead gap): mode, budget, latest gap, campaigns, published pages, pending recommendations. Others get no rows.';
