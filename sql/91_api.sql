-- The API for PostgREST/Supabase clients: the spec's endpoints as views and RPC functions in
-- `public`. Views are security_invoker (the caller's RLS applies); functions are SECURITY INVOKER and
-- check who calls them (lead_flow.api_require_reader / api_require_admin, sql/05_callers); what callers may not do or
-- read themselves (re-running a night; stats and plans, whose tables are admin-only because they hold
-- money) goes through SECURITY DEFINER functions in lead_flow that check again and blank the money
-- for partners. Errors meant for users: 22023 (400), 23505 (409, a conflict with what exists), 42501
-- (403, not allowed; 401 for anon, which may not execute these functions at all).

-- The valid region slugs, for error messages.
create or replace function lead_flow.api_region_list() returns text
  language sql stable set search_path = ''
  as $$ select string_agg(r.slug, ', ' order by r.slug) from public.regions r $$;
comment on function lead_flow.api_region_list() is
  'The region slugs as one comma-separated list, for error messages that name the valid regions.';
revoke all on function lead_flow.api_region_list() from public, anon, authenticated;
grant execute on function lead_flow.api_region_list() to authenticated, service_role;

-- A date range [start, end] of an API call: refuses an end before the start.
create or replace function lead_flow.api_check_range(p_start date, p_end date,
                                                     p_start_name text default 'start_date',
                                                     p_end_name text default 'end_date') returns void
  language plpgsql immutable set search_path = ''
  as $$
  begin
    if p_start > p_end then
      raise exception '% (%) is before % (%)', p_end_name, p_end, p_start_name, p_start using errcode = '22023',
        hint = format('%s must be on or after %s', p_end_name, p_start_name);
    end if;
  end
  $$;
comment on function lead_flow.api_check_range(date, date, text, text) is
  'Raises 22023 when the range''s end lies before its start; NULLs mean an open end and pass.';
revoke all on function lead_flow.api_check_range(date, date, text, text) from public, anon, authenticated;
grant execute on function lead_flow.api_check_range(date, date, text, text) to authenticated, service_role;

-- A text argument or field of at most p_max characters: raises 22023 naming it and its length.
-- NULL passes (whether it is required is the caller's check).
create or replace function lead_flow.api_check_length(p_name text, p_value text, p_max integer) returns void
  language plpgsql immutable set search_path = ''
  as $$
  begin
    if length(p_value) > p_max then
      raise exception '% is % characters long; at most % are allowed', p_name, length(p_value), p_max
        using errcode = '22023';
    end if;
  end
  $$;
comment on function lead_flow.api_check_length(text, text, integer) is
  'Raises 22023 "<name> is N characters long; at most <max> are allowed" when p_value is longer than '
  'p_max characters; NULL passes.';
revoke all on function lead_flow.api_check_length(text, text, integer) from public, anon, authenticated;
grant execute on function lead_flow.api_check_length(text, text, integer) to authenticated, service_role;

-- The region reference: everyone's, anon included ------------------------------------------------

-- The region slug for a spelling of a province (or a slug itself); NULL when unknown.
create or replace function public.normalize_region(name text) returns text
  language sql stable parallel safe set search_path = ''
  as $$ select lead_flow.region_for(normalize_region.name, null) $$;
comment on function public.normalize_region(text) is
  'The region slug (e.g. noord-brabant) for a province name in any usual spelling (''Noord-Brabant'', ''N-Brabant'', ''NB''); NULL when unknown.';
revoke all on function public.normalize_region(text) from public, anon, authenticated;
grant execute on function public.normalize_region(text) to anon, authenticated, service_role;

-- A lead's region: the province when it names one, otherwise the postcode. Never raises.
create or replace function public.extract_region(province text, postcode text) returns text
  language sql stable parallel safe set search_path = ''
  as $$ select lead_flow.region_for(extract_region.province, extract_region.postcode) $$;
comment on function public.extract_region(text, text) is
  'Region slug from a province name (any usual spelling) or else a Dutch postcode (''5611 AB'', ''5611ab'', ''5611'') through the PC4 reference; NULL when neither gives one. Never raises.';
revoke all on function public.extract_region(text, text) from public, anon, authenticated;
grant execute on function public.extract_region(text, text) to anon, authenticated, service_role;

-- GET /api/lead-segments/:id capacity (the spec's getSegmentCapacity) ------------------------------

-- Every active segment's capacity (sql/30_capacity.sql computes it), for partners and admins: the true
-- aggregate, never another partner's profile. Segments are read under the caller's RLS.
create or replace view public.segment_capacity with (security_invoker = true) as
select c.segment_id, s.code, s.branch, s.region, c.capacity_partners, c.capacity_total_leads,
       c.current_open_leads, c.available_leads
  from lead_flow.segment_capacities() c
  join public.lead_segments s on s.id = c.segment_id;
comment on view public.segment_capacity is
  'Capacity of every active segment: partners serving it (active, not admin, branch and region in their profile), the sum of their max_open_leads, their current open leads and available = total - open. Aggregates only.';
revoke all on public.segment_capacity from anon, authenticated;
grant select on public.segment_capacity to authenticated, service_role;

create or replace function public.get_segment_capacity(
  segment_id uuid,
  out capacity_partners integer, out capacity_total_leads integer,
  out current_open_leads integer, out available_leads integer)
  language plpgsql stable set search_path = ''
  as $$
  begin
    perform lead_flow.api_require_reader('get_segment_capacity');   -- sql/05: partners and admins (403 otherwise)
    perform lead_flow.api_check_segment(get_segment_capacity.segment_id);
    select c.capacity_partners, c.capacity_total_leads, c.current_open_leads, c.available_leads
      into capacity_partners, capacity_total_leads, current_open_leads, available_leads
      from lead_flow.segment_capacity(get_segment_capacity.segment_id) c;
  end
  $$;
comment on function public.get_segment_capacity(uuid) is
  'Capacity of one segment: capacity_partners, capacity_total_leads (sum of max_open_leads), current_open_leads, available_leads (total - open). Partners and admins; 400 for an unknown segment id, 403 without a partner or admin profile.';
revoke all on function public.get_segment_capacity(uuid) from public, anon, authenticated;
grant execute on function public.get_segment_capacity(uuid) to authenticated, service_role;

-- POST /api/lead-segments ---------------------------------------------------------------------

create or replace function public.create_lead_segment(branch text, region text, country text default 'NL',
                                                      description text default null)
  returns public.lead_segments
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_branch text;
    v_region text;
    v_region_country text;
    v_country text := upper(btrim(coalesce(create_lead_segment.country, 'NL')));
    v_description text := nullif(btrim(create_lead_segment.description), '');
    v_code text;
    v_row public.lead_segments;
  begin
    perform lead_flow.api_require_admin('create_lead_segment');

    if create_lead_segment.branch is null or btrim(create_lead_segment.branch) = '' then
      raise exception 'branch is required (an industry name such as "schilder")' using errcode = '22023';
    end if;
    perform lead_flow.api_check_length('branch', create_lead_segment.branch, 100);
    v_branch := lead_flow.normalize_branch(create_lead_segment.branch);
    if v_branch !~ '[a-z0-9]' then
      raise exception 'branch "%" has no letters or digits', v_branch using errcode = '22023';
    end if;

    if create_lead_segment.region is null or btrim(create_lead_segment.region) = '' then
      raise exception 'region is required; valid regions: %', lead_flow.api_region_list() using errcode = '22023';
    end if;
    perform lead_flow.api_check_length('region', create_lead_segment.region, 100);
    v_region := public.normalize_region(create_lead_segment.region);
    if v_region is null then
      raise exception 'unknown region "%"; valid regions: %', left(create_lead_segment.region, 100),
        lead_flow.api_region_list() using errcode = '22023';
    end if;

    if v_country !~ '^[A-Z]{2}$' then
      raise exception 'country must be a two-letter ISO code such as NL, got "%"', left(create_lead_segment.country, 100)
        using errcode = '22023';
    end if;
    select r.country into v_region_country from public.regions r where r.slug = v_region;
    if v_region_country <> v_country then
      raise exception 'region % lies in %, not in %', v_region, v_region_country, v_country using errcode = '22023';
    end if;
    perform lead_flow.api_check_length('description', v_description, 2000);

    insert into public.lead_segments (branch, region, country, description)
    values (v_branch, v_region, v_country, v_description)
    on conflict (code) do nothing
    returning * into v_row;
    if found then
      return v_row;
    end if;

    -- The code is taken: an active duplicate is refused, an inactive segment is switched back on.
    v_code := btrim(regexp_replace(v_branch || '_' || v_region, '[^a-z0-9]+', '_', 'g'), '_');
    select * into v_row from public.lead_segments s where s.code = v_code for no key update;
    if not found then  -- deleted since the insert saw it: insert again, a new race surfaces as 409
      insert into public.lead_segments (branch, region, country, description)
      values (v_branch, v_region, v_country, v_description)
      returning * into v_row;
      return v_row;
    end if;
    if v_row.branch <> v_branch or v_row.region <> v_region then
      raise exception 'segment code % is already used by branch "%" in region %', v_code, v_row.branch, v_row.region
        using errcode = '23505', detail = format('existing segment id: %s', v_row.id);
    end if;
    if v_row.is_active then
      raise exception 'an active segment for branch "%" in region % already exists (code %)',
        v_branch, v_region, v_code using errcode = '23505', detail = format('existing segment id: %s', v_row.id),
        hint = 'use the existing segment; deactivate it first to create it anew';
    end if;
    update public.lead_segments s
       set is_active = true, country = v_country, description = coalesce(v_description, s.description)
     where s.id = v_row.id
    returning * into v_row;
    return v_row;
  end
  $$;
comment on function public.create_lead_segment(text, text, text, text) is
  'Admins only. Creates the segment for a branch (normalized: lower case, trimmed) and a region (any usual '
  'spelling of a province) and returns it; reactivates an inactive one. 400 for a missing, empty, over-long '
  'branch or an unknown region (the message lists the valid ones); 409 when an active segment exists.';
revoke all on function public.create_lead_segment(text, text, text, text) from public, anon, authenticated;
grant execute on function public.create_lead_segment(text, text, text, text) to authenticated, service_role;

-- GET /api/lead-segments/:id/stats and /plans --------------------------------------------------

-- The readers behind the stats and plans RPCs and the overview. SECURITY DEFINER because the tables are
-- admin-only (they hold money); they return rows only to partners, admins and the back end, and blank
-- the money columns for everyone but admins and the back end. Columns are listed one by one, in the
-- table's order: a column a later migration adds makes this file fail to apply until it is decided
-- here whether it is money.
create or replace function lead_flow.api_segment_stats(p_segment_id uuid, p_start date, p_end date)
  returns setof public.lead_generation_stats
  language sql stable security definer set search_path = ''
  as $$
    with caller as materialized (select lead_flow.reads_lead_flow() as reads, lead_flow.sees_money() as money)
    select t.id, t.segment_id, t.date, t.leads_generated, t.leads_accepted, t.leads_rejected, t.leads_pending,
           case when c.money then t.avg_cpl end,
           case when c.money then t.google_ads_spend end,
           case when c.money then t.google_ads_clicks end,
           case when c.money then t.google_ads_impressions end,
           case when c.money then t.google_ads_conversions end,
           t.seo_clicks, t.seo_visits, t.microsite_visits, t.microsite_leads, t.capacity_partners,
           t.capacity_total_leads, t.created_at, t.updated_at
      from public.lead_generation_stats t
     cross join caller c
     where c.reads and t.segment_id = p_segment_id
       and (p_start is null or t.date >= p_start) and (p_end is null or t.date <= p_end)
     order by t.date
  $$;
comment on function lead_flow.api_segment_stats(uuid, date, date) is
  'One segment''s stats rows from p_start to p_end (inclusive, NULL: open), oldest first, for partners, admins and '
  'the back end (others: no rows); avg_cpl and the google_ads_* figures are NULL for everyone but admins and the back end.';
revoke all on function lead_flow.api_segment_stats(uuid, date, date) from public, anon, authenticated;
grant execute on function lead_flow.api_segment_stats(uuid, date, date) to authenticated, service_role;

-- A plan row as a caller may read it: the money columns (budgets, cost per lead and the
-- orchestration reason, which names them) blanked unless p_money. The one place that decides which
-- plan columns are money, for the SECURITY DEFINER readers api_segment_plans and
-- api_latest_segment_plans (they call it as the owner: no grant to clients). Columns are listed one
-- by one, in the table's order: a column a later migration adds makes this file fail to apply until
-- it is decided here whether it is money.
create or replace function lead_flow.api_plan_for_caller(p public.lead_segment_plans, p_money boolean)
  returns public.lead_segment_plans
  language sql immutable set search_path = ''
  as $$
    select row(p.id, p.segment_id, p.date, p.target_leads_per_day, p.target_source, p.expected_leads_per_day,
               p.actual_leads, p.lead_gap, p.lead_gap_percentage,
               case when p_money then p.target_daily_budget_google_ads end,
               case when p_money then p.actual_daily_budget_google_ads end,
               p.orchestration_status,
               case when p_money then p.orchestration_reason end,
               p.created_at, p.updated_at,
               case when p_money then p.cost_per_lead end,
               case when p_money then p.cost_per_lead_source end,
               p.controller)::public.lead_segment_plans
  $$;
comment on function lead_flow.api_plan_for_caller(public.lead_segment_plans, boolean) is
  'The plan row with target_/actual_daily_budget_google_ads, orchestration_reason, cost_per_lead and '
  'cost_per_lead_source NULL unless p_money (admins and the back end).';
revoke all on function lead_flow.api_plan_for_caller(public.lead_segment_plans, boolean) from public, anon, authenticated;
grant execute on function lead_flow.api_plan_for_caller(public.lead_segment_plans, boolean) to service_role;

create or replace function lead_flow.api_segment_plans(p_segment_id uuid, p_start date, p_end date)
  returns setof public.lead_segment_plans
  language sql stable security definer set search_path = ''
  as $$
    with caller as materialized (select lead_flow.reads_lead_flow() as reads, lead_flow.sees_money() as money)
    select v.*
      from public.lead_segment_plans t
     cross join caller c
     cross join lateral lead_flow.api_plan_for_caller(t, c.money) v
     where c.reads and t.segment_id = p_segment_id
       and (p_start is null or t.date >= p_start) and (p_end is null or t.date <= p_end)
     order by t.date
  $$;
comment on function lead_flow.api_segment_plans(uuid, date, date) is
  'One segment''s plan rows from p_start to p_end (inclusive, NULL: open), oldest first, for partners, admins and '
  'the back end (others: no rows); budgets, orchestration_reason and cost per lead are NULL for everyone but '
  'admins and the back end.';
revoke all on function lead_flow.api_segment_plans(uuid, date, date) from public, anon, authenticated;
grant execute on function lead_flow.api_segment_plans(uuid, date, date) to authenticated, service_role;

-- The checks of an RPC that reads one segment's days (get_segment_stats, get_segment_plans): the
-- caller is a partner or an admin (403), the range runs forward and the segment exists (400).
create or replace function lead_flow.api_check_segment_days(p_action text, p_segment_id uuid,
                                                            p_start date, p_end date) returns void
  language plpgsql stable set search_path = ''
  as $$
  begin
    perform lead_flow.api_require_reader(p_action);
    perform lead_flow.api_check_range(p_start, p_end);
    perform lead_flow.api_check_segment(p_segment_id);
  end
  $$;
comment on function lead_flow.api_check_segment_days(text, uuid, date, date) is
  'Raises 42501 unless the caller reads lead flow (partners, admins), 22023 for an end before the start or an '
  'unknown segment; returns nothing otherwise.';
revoke all on function lead_flow.api_check_segment_days(text, uuid, date, date) from public, anon, authenticated;
grant execute on function lead_flow.api_check_segment_days(text, uuid, date, date) to authenticated, service_role;

create or replace function public.get_segment_stats(segment_id uuid, start_date date default null,
                                                    end_date date default null)
  returns setof public.lead_generation_stats
  language sql stable set search_path = ''
  as $$
    select lead_flow.api_check_segment_days('get_segment_stats', segment_id, start_date, end_date);
    select t.* from lead_flow.api_segment_stats(segment_id, start_date, end_date) t;
  $$;
comment on function public.get_segment_stats(uuid, date, date) is
  'Daily stats of one segment from start_date to end_date (both inclusive, either may be omitted), oldest '
  'first. Partners and admins; money (avg_cpl, google_ads_spend, _clicks, _impressions, _conversions) is NULL '
  'except for admins. 400 for an unknown segment or an end_date before start_date; 403 without a partner or '
  'admin profile.';
revoke all on function public.get_segment_stats(uuid, date, date) from public, anon, authenticated;
grant execute on function public.get_segment_stats(uuid, date, date) to authenticated, service_role;

create or replace function public.get_segment_plans(segment_id uuid, start_date date default null,
                                                    end_date date default null)
  returns setof public.lead_segment_plans
  language sql stable set search_path = ''
  as $$
    select lead_flow.api_check_segment_days('get_segment_plans', segment_id, start_date, end_date);
    select t.* from lead_flow.api_segment_plans(segment_id, start_date, end_date) t;
  $$;
comment on function public.get_segment_plans(uuid, date, date) is
  'Daily plans (target, actual, gap, budgets, orchestration status) of one segment from start_date to '
  'end_date (both inclusive, either may be omitted), oldest first. Partners and admins; money '
  '(target_/actual_daily_budget_google_ads, orchestration_reason, cost_per_lead, cost_per_lead_source) is NULL '
  'except for admins. 400 for an unknown segment or an end_date before start_date; 403 without a partner or '
  'admin profile.';
revoke all on function public.get_segment_plans(uuid, date, date) from public, anon, authenticated;
grant execute on function public.get_segment_plans(uuid, date, date) to authenticated, service_role;

-- What-if of one segment's budget (issue 16): the estimate controller's own estimate
-- (lead_flow.estimate_segment_response and estimate_leads_at, sql/66), so the figures shown are the
-- ones the controller decides on. SECURITY DEFINER because stats and plans are admin-only; rows only
-- for partners, admins and the back end; budgets, spend and cost per lead are money (NULL for partners,
-- who see the budget as a change in % of today's).
create or replace function lead_flow.api_segment_budget_response(p_segment_id uuid)
  returns table (budget numeric, budget_change_pct numeric, spend numeric, expected_leads_per_day numeric,
                 expected_leads_low numeric, expected_leads_high numeric, cost_per_lead numeric,
                 cost_per_lead_low numeric, cost_per_lead_high numeric, is_current_budget boolean,
                 is_target_budget boolean, target_leads_per_day numeric, estimated_for date, estimated_at timestamptz)
  language sql stable security definer set search_path = ''
  as $$
    with caller as materialized (select lead_flow.reads_lead_flow() as reads, lead_flow.sees_money() as money),
    base as (
      select r.estimate, (select p.target_leads_per_day from public.lead_segment_plans p
                           where p.segment_id = p_segment_id order by p.date desc limit 1)::numeric as target,
             greatest(coalesce(c.daily_budget, 0), 0) as current_budget,
             coalesce((ss.settings ->> 'min_budget')::numeric, 5.00) as min_budget,
             coalesce((ss.settings ->> 'max_budget')::numeric, 1000.00) as max_budget
        from caller k
        cross join lateral (select max(st.date) as d from public.lead_generation_stats st
                             where st.segment_id = p_segment_id) last
        cross join lateral lead_flow.estimate_segment_response(last.d, p_segment_id) r
        join lead_flow.segment_settings ss on ss.segment_id = p_segment_id
        left join public.lead_segment_campaigns c on c.segment_id = p_segment_id and c.is_active
       where k.reads and last.d is not null
    ), aim as (   -- the budget whose expected leads meet the target: the controller's own decision maths
      select b.*, round(d.wanted_spend / coalesce((b.estimate ->> 'pacing')::numeric, 0.97), 2) as target_budget
        from base b
        cross join lateral lead_flow.estimate_budget_decision(jsonb_build_object(
               'estimate', b.estimate, 'day_start_budget', b.current_budget,
               'target_leads_per_day', b.target, 'estimate_weekday_share', 0)) d
    ), budgets as (
      select distinct on (x.budget) x.budget, a.*
        from aim a
        cross join lateral (
          select least(greatest(round(coalesce(nullif(a.current_budget, 0), 100) * f, 2), a.min_budget), a.max_budget)
                   as budget
            from unnest(array[0.5, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0]) f
          union all
          select least(greatest(a.target_budget, a.min_budget), a.max_budget) where a.target_budget is not null
        ) x
       order by x.budget
    )
    select case when k.money then b.budget end,
           case when b.current_budget > 0 then round(100 * (b.budget / b.current_budget - 1), 1) end,
           case when k.money then e.spend end,
           round(e.expected, 2),
           round(greatest(e.expected - 1.96 * e.standard_error, 0), 2),
           round(e.expected + 1.96 * e.standard_error, 2),
           case when k.money and e.expected > 0 then round(e.spend / e.expected, 2) end,
           case when k.money and e.expected + 1.96 * e.standard_error > 0
                then round(e.spend / (e.expected + 1.96 * e.standard_error), 2) end,
           case when k.money and e.expected - 1.96 * e.standard_error > 0
                then round(e.spend / (e.expected - 1.96 * e.standard_error), 2) end,
           b.budget = b.current_budget,
           b.budget = least(greatest(b.target_budget, b.min_budget), b.max_budget),
           b.target, (b.estimate ->> 'estimated_for')::date, now()
      from budgets b
     cross join caller k
     cross join lateral lead_flow.estimate_leads_at(b.estimate, b.budget, 0) e
     order by b.budget
  $$;
comment on function lead_flow.api_segment_budget_response(uuid) is
  'The rows of public.segment_budget_response for partners, admins and the back end (others: none); budget, '
  'spend and cost per lead NULL for everyone but admins and the back end.';
revoke all on function lead_flow.api_segment_budget_response(uuid) from public, anon, authenticated;
grant execute on function lead_flow.api_segment_budget_response(uuid) to authenticated, service_role;

create or replace function public.segment_budget_response(segment_id uuid)
  returns table (budget numeric, budget_change_pct numeric, spend numeric, expected_leads_per_day numeric,
                 expected_leads_low numeric, expected_leads_high numeric, cost_per_lead numeric,
                 cost_per_lead_low numeric, cost_per_lead_high numeric, is_current_budget boolean,
                 is_target_budget boolean, target_leads_per_day numeric, estimated_for date, estimated_at timestamptz)
  language plpgsql stable set search_path = ''
  as $$
  begin
    perform lead_flow.api_require_reader('segment_budget_response');
    perform lead_flow.api_check_segment(segment_budget_response.segment_id);
    return query select r.* from lead_flow.api_segment_budget_response(segment_budget_response.segment_id) r;
  end
  $$;
comment on function public.segment_budget_response(uuid) is
  'What-if for one segment''s Google Ads daily budget, from the estimate controller''s own estimate of its '
  'response (organic flow + paid leads with diminishing returns, fitted to its last 56 days): per daily budget '
  '(0.5x to 2x today''s, and the one whose expected leads meet the target) the expected leads on an average day '
  'with a 95% range (low, high), the spend and cost per lead (with their range), which row is today''s budget '
  'and which the target''s, the latest target, the day the estimate is for and when it was made. No rows before '
  'the segment has stats. Partners and admins; budget, spend and cost per lead are NULL except for admins '
  '(budget_change_pct shows the budget as a change from today''s). 400 for an unknown segment, 403 without a '
  'partner or admin profile.';
revoke all on function public.segment_budget_response(uuid) from public, anon, authenticated;
grant execute on function public.segment_budget_response(uuid) to authenticated, service_role;

-- The spec's helpers calculateLeadGap / updateLeadGap --------------------------------------------

-- One segment's gap for a day, read (calculate_lead_gap) or written (update_lead_gap), from the one
-- definition of target, actual and gap: lead_flow.lead_gaps (sql/50_planning.sql).
create or replace function public.calculate_lead_gap(segment_id uuid, date date)
  returns table (target integer, actual integer, gap integer, gap_percentage numeric, target_source text,
                 expected_leads_per_day numeric)
  language plpgsql stable set search_path = ''
  as $$
  begin
    perform lead_flow.api_require_reader('calculate_lead_gap');
    perform lead_flow.api_check_segment(calculate_lead_gap.segment_id);
    if calculate_lead_gap.date is null then
      raise exception 'date is required' using errcode = '22023';
    end if;
    return query
      select g.target_leads_per_day, g.actual_leads, g.lead_gap, g.lead_gap_percentage, g.target_source,
             g.expected_leads_per_day
        from lead_flow.lead_gaps(calculate_lead_gap.date, calculate_lead_gap.segment_id) g;
  end
  $$;
comment on function public.calculate_lead_gap(uuid, date) is
  'One segment''s lead target, actual leads, gap (target - actual), gap % (NULL when the target is 0), '
  'where the target came from, and the forecast for the next day, for Amsterdam day date. Writes nothing. '
  'Partners and admins; 400 for an unknown segment or no date, 403 without a partner or admin profile.';
revoke all on function public.calculate_lead_gap(uuid, date) from public, anon, authenticated;
grant execute on function public.calculate_lead_gap(uuid, date) to authenticated, service_role;

create or replace function public.update_lead_gap(segment_id uuid, date date)
  returns public.lead_segment_plans
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_plan public.lead_segment_plans;
  begin
    perform lead_flow.api_check_segment(update_lead_gap.segment_id);
    if update_lead_gap.date is null then
      raise exception 'date is required' using errcode = '22023';
    end if;
    perform lead_flow.write_plans(update_lead_gap.date, update_lead_gap.segment_id);
    select * into v_plan from public.lead_segment_plans p
     where p.segment_id = update_lead_gap.segment_id and p.date = update_lead_gap.date;
    return v_plan;
  end
  $$;
comment on function public.update_lead_gap(uuid, date) is
  'The back end''s only. Writes one segment''s target, actual, gap and forecast for Amsterdam day date into '
  'lead_segment_plans (as calculate_lead_gap computes them) and returns the plan row. Idempotent; 400 for an '
  'unknown segment or no date.';
revoke all on function public.update_lead_gap(uuid, date) from public, anon, authenticated;
grant execute on function public.update_lead_gap(uuid, date) to service_role;

-- GET /api/orchestration/status?date= ----------------------------------------------------------

-- A change of its columns other than adding one at the end needs a drop in a migration first.
create or replace view public.orchestration_status with (security_invoker = true) as
  -- Dates first, then each date's figures through the (date, ...) indexes: ?date=eq.D reads one night.
  select d.date,
         c.changes, c.pending, c.in_progress, c.succeeded, c.failed, c.conflicts, c.superseded,
         c.increases, c.decreases, c.total_old_budget, c.total_new_budget, c.total_applied_budget,
         p.plans_by_status, c.problems, c.last_change_at
    from (select l.date from public.channel_orchestration_log l
          union
          select pl.date from public.lead_segment_plans pl) d
   cross join lateral (
    select count(*) as changes,
           count(*) filter (where l.status = 'pending') as pending,
           count(*) filter (where l.status = 'in_progress') as in_progress,
           count(*) filter (where l.status = 'success') as succeeded,
           count(*) filter (where l.status = 'failed' and not l.superseded) as failed,
           count(*) filter (where l.status = 'conflict') as conflicts,
           count(*) filter (where l.superseded) as superseded,
           count(*) filter (where l.action_type = 'budget_increase') as increases,
           count(*) filter (where l.action_type = 'budget_decrease') as decreases,
           coalesce(sum(l.old_value), 0) as total_old_budget,
           coalesce(sum(l.new_value), 0) as total_new_budget,
           coalesce(sum(l.applied_value) filter (where l.status = 'success'), 0) as total_applied_budget,
           coalesce(jsonb_agg(jsonb_build_object(
               'log_id', l.id, 'segment_id', l.segment_id, 'segment_code', s.code, 'channel', l.channel,
               'status', l.status, 'old_value', l.old_value, 'new_value', l.new_value,
               'live_value', l.live_value, 'attempts', l.attempts, 'error_code', l.error_code,
               'message', coalesce(l.error_message,
                                   case when l.status = 'conflict'
                                        then format('budget live in Google Ads (%s) differs from the expected %s',
                                                    l.live_value, l.old_value) end),
               'completed_at', l.completed_at)
             order by s.code, l.channel, l.id) filter (where l.status in ('failed', 'conflict') and not l.superseded),
             '[]'::jsonb) as problems,
           max(l.updated_at) as last_change_at
      from (select cl.*, (cl.status = 'failed' and cl.error_code is not distinct from 'superseded') as superseded
              from public.channel_orchestration_log cl
             where cl.date = d.date) l
      left join public.lead_segments s on s.id = l.segment_id) c
   cross join lateral (
    select coalesce(jsonb_object_agg(x.orchestration_status, x.n), '{}'::jsonb) as plans_by_status
      from (select pl.orchestration_status, count(*) as n
              from public.lead_segment_plans pl
             where pl.date = d.date
             group by pl.orchestration_status) x) p
   where (select lead_flow.api_require_admin('orchestration_status'));
comment on view public.orchestration_status is
  'Admins only (others get 403). Per plan date: budget changes by status (pending, in_progress, succeeded, '
  'failed, conflicts; superseded: replaced by a later night before the worker took them), increases and decreases, totals of old, new and applied budgets (EUR), plans per '
  'orchestration status, and every failed or conflicted change with its message. Filter with ?date=eq.YYYY-MM-DD.';
revoke all on public.orchestration_status from anon, authenticated;
grant select on public.orchestration_status to authenticated, service_role;

-- Target overrides: admins set, list (the table) and remove them ------------------------------

create or replace function public.set_target_override(segment_id uuid, valid_from date, valid_to date,
                                                      target_leads_per_day integer, reason text)
  returns public.lead_segment_target_overrides
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_reason text := btrim(set_target_override.reason);
    v_row public.lead_segment_target_overrides;
  begin
    perform lead_flow.api_require_admin('set_target_override');
    if set_target_override.valid_from is null or set_target_override.valid_to is null then
      raise exception 'valid_from and valid_to are required (dates, both inclusive)' using errcode = '22023';
    end if;
    perform lead_flow.api_check_range(set_target_override.valid_from, set_target_override.valid_to,
                                      'valid_from', 'valid_to');
    if set_target_override.target_leads_per_day is null
       or set_target_override.target_leads_per_day not between 0 and 1000000 then
      raise exception 'target_leads_per_day must be between 0 and 1000000, got %',
        coalesce(set_target_override.target_leads_per_day::text, 'nothing') using errcode = '22023';
    end if;
    if v_reason is null or v_reason = '' then
      raise exception 'reason is required (why the target is overridden)' using errcode = '22023';
    end if;
    perform lead_flow.api_check_length('reason', v_reason, 1000);
    perform lead_flow.api_check_segment(set_target_override.segment_id);
    -- One writer per segment at a time, so two overlapping overrides cannot slip in side by side.
    perform from public.lead_segments s where s.id = set_target_override.segment_id for no key update;

    -- The same range again replaces that override's target and reason (setting is idempotent).
    update public.lead_segment_target_overrides o
       set target_leads_per_day = set_target_override.target_leads_per_day, reason = v_reason
     where o.segment_id = set_target_override.segment_id
       and o.valid_from = set_target_override.valid_from and o.valid_to = set_target_override.valid_to
    returning * into v_row;
    if found then
      return v_row;
    end if;

    select * into v_row from public.lead_segment_target_overrides o
     where o.segment_id = set_target_override.segment_id
       and daterange(o.valid_from, o.valid_to, '[]')
           && daterange(set_target_override.valid_from, set_target_override.valid_to, '[]')
     order by o.valid_from
     limit 1;
    if found then
      raise exception 'the segment already has an override from % to % (target %) that overlaps % to %',
        v_row.valid_from, v_row.valid_to, v_row.target_leads_per_day,
        set_target_override.valid_from, set_target_override.valid_to
        using errcode = '23505', detail = format('overlapping override id: %s', v_row.id),
              hint = 'remove it with remove_target_override, or set exactly its range to change it';
    end if;

    insert into public.lead_segment_target_overrides (segment_id, valid_from, valid_to, target_leads_per_day, reason)
    values (set_target_override.segment_id, set_target_override.valid_from, set_target_override.valid_to,
            set_target_override.target_leads_per_day, v_reason)
    returning * into v_row;
    return v_row;
  end
  $$;
comment on function public.set_target_override(uuid, date, date, integer, text) is
  'Admins only. Sets a manual daily lead target for a segment from valid_from to valid_to (inclusive); it wins '
  'over the capacity-derived target. The same range again updates it; an overlapping range is refused (409). '
  'List overrides with GET /lead_segment_target_overrides.';
revoke all on function public.set_target_override(uuid, date, date, integer, text) from public, anon, authenticated;
grant execute on function public.set_target_override(uuid, date, date, integer, text) to authenticated, service_role;

create or replace function public.remove_target_override(id uuid)
  returns public.lead_segment_target_overrides
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_row public.lead_segment_target_overrides;
  begin
    perform lead_flow.api_require_admin('remove_target_override');
    if remove_target_override.id is null then
      raise exception 'id is required (the override''s id)' using errcode = '22023';
    end if;
    delete from public.lead_segment_target_overrides o where o.id = remove_target_override.id
    returning * into v_row;
    if not found then
      raise exception 'no target override with id %', remove_target_override.id using errcode = '22023';
    end if;
    return v_row;
  end
  $$;
comment on function public.remove_target_override(uuid) is
  'Admins only. Deletes a target override and returns it; 400 when no override has that id.';
revoke all on function public.remove_target_override(uuid) from public, anon, authenticated;
grant execute on function public.remove_target_override(uuid) to authenticated, service_role;

-- GET /api/lead-segments and /api/lead-segments/:id ------------------------------------------------

-- The latest plan of every active segment, for the overview: SECURITY DEFINER as api_segment_plans
-- (the plans table is admin-only), the same rows for partners with the money blanked. One statement:
-- an index probe on (segment_id, date) per active segment.
create or replace function lead_flow.api_latest_segment_plans()
  returns setof public.lead_segment_plans
  language sql stable security definer set search_path = ''
  as $$
    with caller as materialized (select lead_flow.reads_lead_flow() as reads, lead_flow.sees_money() as money)
    select v.*
      from caller c
     cross join public.lead_segments s
     cross join lateral (
       select pl from public.lead_segment_plans pl
        where pl.segment_id = s.id
        order by pl.date desc
        limit 1) t
     cross join lateral lead_flow.api_plan_for_caller(t.pl, c.money) v
     where c.reads and s.is_active
  $$;
comment on function lead_flow.api_latest_segment_plans() is
  'The latest plan row of every active segment, for partners, admins and the back end (others: no rows); budgets, '
  'orchestration_reason and cost per lead are NULL for everyone but admins and the back end.';
revoke all on function lead_flow.api_latest_segment_plans() from public, anon, authenticated;
grant execute on function lead_flow.api_latest_segment_plans() to authenticated, service_role;

create or replace view public.lead_segment_overview with (security_invoker = true) as
  select s.id, s.code, s.branch, s.region, s.country, s.description, s.created_at,
         coalesce(c.capacity_partners, 0) as capacity_partners,
         coalesce(c.capacity_total_leads, 0) as capacity_total_leads,
         coalesce(c.current_open_leads, 0) as current_open_leads,
         coalesce(c.available_leads, 0) as available_leads,
         p.date as plan_date,
         p.target_leads_per_day,
         p.target_source,
         p.actual_leads,
         p.lead_gap,
         p.lead_gap_percentage,
         p.target_daily_budget_google_ads,
         p.actual_daily_budget_google_ads,
         p.orchestration_status,
         p.orchestration_reason
    from public.lead_segments s   -- under the caller's RLS: partners and admins see the segments
    left join lead_flow.segment_capacities() c on c.segment_id = s.id
    left join lead_flow.api_latest_segment_plans() p on p.segment_id = s.id
   where s.is_active;
comment on view public.lead_segment_overview is
  'Every active segment with its capacity now (partners, sum of max_open_leads, open and available leads) and '
  'its latest plan: plan_date, target, actual, gap and gap % in leads per day, target and actual daily Google '
  'Ads budget (EUR) and the orchestration status and reason. One segment: ?id=eq.<uuid>. Partners and admins '
  '(others: no rows); the budgets and orchestration_reason are NULL except for admins.';
revoke all on public.lead_segment_overview from anon, authenticated;
grant select on public.lead_segment_overview to authenticated, service_role;

-- Alerts (admins): the pipeline's (sql/85_alerts.sql) and the smart controller's ------------------

create or replace view public.lead_flow_alerts with (security_invoker = true) as
  select a.kind, a.segment_id, a.date, a.severity, a.message, a.details
    from lead_flow.pipeline_alerts(now()) a
  union all
  select c.kind, c.segment_id, c.date, c.severity, c.message, c.details
    from lead_flow.controller_alerts(now()) c;
comment on view public.lead_flow_alerts is
  'What needs attention (admins; a partner sees the failed or conflicted changes of its own campaigns, others no '
  'rows): segments whose |gap %| exceeded alert_gap_percentage '
  'for alert_gap_nights nights in a row, failed or conflicted budget changes and campaign pauses of the last 7 '
  'days (with the segment; a partner campaign''s also name the partner), and nightly '
  'steps that did not succeed last night, unconfirmed large raises of a partner''s max_open_leads (kind '
  'capacity_jump, naming the partner and its segments), and (smart controller) campaigns that do not spend their budget, '
  'where more budget buys nothing. Columns: kind, segment_id, date, severity, message, details.';
revoke all on public.lead_flow_alerts from anon, authenticated;
grant select on public.lead_flow_alerts to authenticated, service_role;

-- Trust in declared capacity (admins; sql/35_capacity_trust.sql) -----------------------------------

create or replace view public.partner_capacity_trust with (security_invoker = true) as
  select t.partner_id, t.company_name, t.declared_leads, t.trusted_leads, t.previous_leads, t.accepted_leads_30d,
         t.confirmed_leads, t.confirmed_by, t.confirmed_at, t.confirmation_comment, t.last_change_at
    from lead_flow.api_partner_capacity_trust() t;
comment on view public.partner_capacity_trust is
  'Admins only (others get 403). Per partner: declared_leads (max_open_leads, what the partner and '
  'get_segment_capacity show), trusted_leads (the part tonight''s plan counts: a raise ramps from previous_leads '
  'by 25% or 2 leads a night, at least 1.5 x accepted_leads_30d, at once up to confirmed_leads), the latest '
  'confirmation (by, at, comment) and the last change of max_open_leads.';
revoke all on public.partner_capacity_trust from anon, authenticated;
grant select on public.partner_capacity_trust to authenticated, service_role;

create or replace view public.partner_capacity_changes with (security_invoker = true) as
  select c.id, c.partner_id, c.company_name, c.changed_at, c.changed_by, c.changed_by_role, c.from_leads, c.to_leads
    from lead_flow.api_partner_capacity_changes() c;
comment on view public.partner_capacity_changes is
  'Admins only (others get 403). Every change of a partner''s max_open_leads: partner, changed_at, changed_by '
  '(the user id; NULL without one) and changed_by_role, from_leads and to_leads. Newest first.';
revoke all on public.partner_capacity_changes from anon, authenticated;
grant select on public.partner_capacity_changes to authenticated, service_role;

create or replace function public.confirm_partner_capacity(partner_id uuid, max_open_leads integer,
                                                           comment text default null)
  returns public.partner_capacity_trust
  language plpgsql volatile set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_row public.partner_capacity_trust;
  begin
    perform lead_flow.api_require_admin('confirm_partner_capacity');
    perform lead_flow.confirm_partner_capacity(confirm_partner_capacity.partner_id,
                                               confirm_partner_capacity.max_open_leads,
                                               confirm_partner_capacity.comment);
    select t.* into v_row from public.partner_capacity_trust t where t.partner_id = confirm_partner_capacity.partner_id;
    return v_row;
  end
  $$;
comment on function public.confirm_partner_capacity(uuid, integer, text) is
  'Admins only. Confirms that a partner can take max_open_leads open leads (0 up to what it declares now), with '
  'an optional comment (at most 1000 characters): planning trusts its declared capacity up to that at once, from '
  'the next plan on, and clears the capacity_jump alert of a raise to at most that. Returns the partner''s '
  'partner_capacity_trust row. 400 for an unknown partner or a value outside 0..declared, 403 for others.';
revoke all on function public.confirm_partner_capacity(uuid, integer, text) from public, anon, authenticated;
grant execute on function public.confirm_partner_capacity(uuid, integer, text) to authenticated, service_role;

-- Re-running a night ---------------------------------------------------------------------------------

-- SECURITY DEFINER because lead_flow.run_lead_flow_nightly / run_steps_of_day are for service_role only.
-- Checks the caller itself (admins, service_role, direct sessions without JWT claims) and the day: the
-- one place that decides which days may be re-run (public.rerun_lead_flow only fills in the default).
create or replace function lead_flow.rerun_lead_flow(p_date date)
  returns table (step text, date date, status text, rows integer, duration_ms numeric, error text)
  language plpgsql volatile security definer set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_today date := lead_flow.local_day(now());
  begin
    perform lead_flow.api_require_admin('rerun_lead_flow');
    if p_date is null then
      raise exception 'rerun_lead_flow needs a day, got nothing' using errcode = '22023';
    end if;
    if not isfinite(p_date) then
      raise exception 'day must be a calendar day, got %', p_date using errcode = '22023';
    end if;
    if p_date > v_today then
      raise exception 'day % lies in the future (today is % in Europe/Amsterdam); re-run a past day',
        p_date, v_today using errcode = '22023';
    end if;
    if p_date = v_today then
      raise exception 'day % is today, which is not over yet in Europe/Amsterdam; re-run a past day', p_date
        using errcode = '22023';
    end if;
    if p_date < v_today - 366 then
      raise exception 'day % is more than a year ago; re-run at most 366 days back', p_date
        using errcode = '22023', hint = 'for older history use backfill (leadflow nightly --from D1 --to D2)';
    end if;
    if p_date = v_today - 1 then
      return query select * from lead_flow.run_lead_flow_nightly(p_date);
    else
      -- What a yesterday-only step decides (budgets, recommendations) is for the next day; for older
      -- days that day is over: the other steps only.
      return query select * from lead_flow.run_steps_of_day(p_date, false);
      return query select s.step, p_date, 'skipped'::text, 0, 0::numeric,
                          format('%s: no budget changes or recommendations for a day before yesterday (%s)',
                                 s.step, v_today - 1)
                     from lead_flow.pipeline_steps s
                    where s.yesterday_only
                    order by s.sort_order;
    end if;
  end
  $$;
comment on function lead_flow.rerun_lead_flow(date) is
  'Re-runs the registered nightly steps (lead_flow.pipeline_steps) for a finished Amsterdam day at most 366 days '
  'ago as the owner: all of them for yesterday, all but the yesterday-only ones (budget changes, partner '
  'recommendations) for older days. Refuses callers who are not admins or back-end roles (42501) and other days '
  '(22023: no day, not a calendar day, today, the future, more than 366 days ago).';
revoke all on function lead_flow.rerun_lead_flow(date) from public, anon, authenticated;
grant execute on function lead_flow.rerun_lead_flow(date) to authenticated, service_role;

create or replace function public.rerun_lead_flow(day date default null)
  returns table (step text, date date, status text, rows integer, duration_ms numeric, error text)
  language sql volatile set search_path = ''
  as $$ select * from lead_flow.rerun_lead_flow(coalesce(rerun_lead_flow.day, lead_flow.local_day(now()) - 1)) $$;
comment on function public.rerun_lead_flow(date) is
  'Admins only. Re-runs the night after Amsterdam day `day` (default: yesterday): aggregate, plan, partner lead '
  'gaps and, for yesterday only, orchestrate (budget changes) and partner recommendations; older days get stats, '
  'plans and partner lead gaps but no budget change or recommendation. Steps are '
  'idempotent. 400 for today, a future day or one more than 366 days ago. Returns one row per step (status success, failed or skipped).';
revoke all on function public.rerun_lead_flow(date) from public, anon, authenticated;
grant execute on function public.rerun_lead_flow(date) to authenticated, service_role;

-- The dashboard's overview (admins): gap % per segment and totals per day, aggregated here ----------
-- so the page draws 10,000 segments from one small response instead of 70,000 plan rows.

create or replace view public.lead_flow_gap_heatmap with (security_invoker = true) as
  with last_night as materialized (select max(pl.date) as date from public.lead_segment_plans pl),
  -- The bounds as scalar subqueries (init plans), not a join: under the plans' RLS a joined bound is
  -- no index condition, and the scan read every plan row instead of the week's.
  week as (
    select pl.segment_id,
           max(pl.lead_gap_percentage) filter (where pl.date = (select n.date from last_night n))
             as gap_percentage_last_night,
           sum(pl.target_leads_per_day) as target_leads_7_days,
           sum(pl.actual_leads) as actual_leads_7_days,
           count(*) as nights_7_days
      from public.lead_segment_plans pl
     where pl.date between (select n.date - 6 from last_night n) and (select n.date from last_night n)
     group by pl.segment_id)
  select s.id as segment_id, s.code, s.branch, s.region, n.date as last_night,
         w.gap_percentage_last_night,
         case when w.target_leads_7_days > 0
              then round(100.0 * (w.target_leads_7_days - w.actual_leads_7_days) / w.target_leads_7_days, 2)
         end as gap_percentage_7_days,
         coalesce(w.target_leads_7_days, 0) as target_leads_7_days,
         coalesce(w.actual_leads_7_days, 0) as actual_leads_7_days,
         coalesce(w.nights_7_days, 0) as nights_7_days
    from public.lead_segments s
   cross join last_night n
    left join week w on w.segment_id = s.id
   where s.is_active
     and (select lead_flow.api_require_admin('lead_flow_gap_heatmap'));
comment on view public.lead_flow_gap_heatmap is
  'Admins only (others get 403). One row per active segment (code, branch, region): its gap % on the last '
  'planned night (last_night, the latest plan date of any segment) and over the 7 nights up to it '
  '(100 x (sum of targets - sum of actual leads) / sum of targets; NULL without a target), with those sums '
  'and how many of the 7 nights have a plan. The dashboard''s heatmap of branch x province.';
revoke all on public.lead_flow_gap_heatmap from anon, authenticated;
grant select on public.lead_flow_gap_heatmap to authenticated, service_role;

create or replace function public.get_lead_flow_daily_totals(start_date date default null, end_date date default null)
  returns table (date date, segments bigint, target_leads bigint, actual_leads bigint,
                 daily_budget numeric, next_day_budget numeric, google_ads_spend numeric)
  language plpgsql stable set search_path = ''
  as $$
  #variable_conflict use_column
  begin
    perform lead_flow.api_require_admin('get_lead_flow_daily_totals');
    if start_date is null or end_date is null then
      raise exception 'start_date and end_date are required (dates, both inclusive)' using errcode = '22023';
    end if;
    perform lead_flow.api_check_range(start_date, end_date, 'start_date', 'end_date');
    return query
      select p.date, p.segments, p.target_leads, p.actual_leads, p.daily_budget, p.next_day_budget,
             coalesce(st.spend, 0)
        from (select pl.date, count(*) as segments, sum(pl.target_leads_per_day)::bigint as target_leads,
                     sum(pl.actual_leads)::bigint as actual_leads,
                     sum(pl.actual_daily_budget_google_ads) as daily_budget,
                     sum(pl.target_daily_budget_google_ads) as next_day_budget
                from public.lead_segment_plans pl
               where pl.date between get_lead_flow_daily_totals.start_date and get_lead_flow_daily_totals.end_date
               group by pl.date) p
        left join (select s.date, sum(s.google_ads_spend) as spend
                     from public.lead_generation_stats s
                    where s.date between get_lead_flow_daily_totals.start_date
                                     and get_lead_flow_daily_totals.end_date
                    group by s.date) st on st.date = p.date
       order by p.date;
  end
  $$;
comment on function public.get_lead_flow_daily_totals(date, date) is
  'Admins only (403 otherwise). Per planned Amsterdam day from start_date to end_date (both required, '
  'inclusive): segments planned, the sum of their lead targets and actual leads, the daily Google Ads budget '
  'live that day (daily_budget) and the one set for the next day (next_day_budget; both NULL for a day no plan '
  'recorded a budget for, e.g. a backfilled one), and the Google Ads spend (EUR). 400 for a missing or reversed '
  'range.';
revoke all on function public.get_lead_flow_daily_totals(date, date) from public, anon, authenticated;
grant execute on function public.get_lead_flow_daily_totals(date, date) to authenticated, service_role;

-- The partners behind a segment's capacity (admins): the dashboard's segment page. SECURITY DEFINER as
-- segment_capacities (profiles is private under RLS); it checks the caller itself.
create or replace function lead_flow.api_segment_capacity_partners(p_segment_id uuid)
  returns table (partner_id uuid, company_name text, max_open_leads integer, open_leads integer)
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    perform lead_flow.api_require_admin('get_segment_capacity_partners');
    perform lead_flow.api_check_segment(p_segment_id);
    return query
      select m.partner_id, p.company_name, p.max_open_leads, coalesce(pps.open_leads_count, 0)::integer
        from lead_flow.partner_segment_matches m
        join public.profiles p on p.id = m.partner_id
        left join public.partner_performance_stats pps on pps.partner_id = m.partner_id
       where m.segment_id = p_segment_id
       order by p.company_name, m.partner_id;
  end
  $$;
comment on function lead_flow.api_segment_capacity_partners(uuid) is
  'The partners serving a segment (lead_flow.partner_segment_matches) with their max_open_leads and open leads: '
  'the rows behind its capacity figures. Admins and the back end only (42501 otherwise); 400 for an unknown segment.';
revoke all on function lead_flow.api_segment_capacity_partners(uuid) from public, anon, authenticated;
grant execute on function lead_flow.api_segment_capacity_partners(uuid) to authenticated, service_role;

create or replace function public.get_segment_capacity_partners(segment_id uuid default null)
  returns table (partner_id uuid, company_name text, max_open_leads integer, open_leads integer)
  language sql stable set search_path = ''
  as $$ select * from lead_flow.api_segment_capacity_partners(segment_id) $$;
comment on function public.get_segment_capacity_partners(uuid) is
  'Admins only (403 otherwise). The partners that make up a segment''s capacity (get_segment_capacity): id, '
  'company name, max_open_leads and open leads, by name. 400 for a missing or unknown segment id.';
revoke all on function public.get_segment_capacity_partners(uuid) from public, anon, authenticated;
grant execute on function public.get_segment_capacity_partners(uuid) to authenticated, service_role;
