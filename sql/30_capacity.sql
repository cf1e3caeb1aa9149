-- Capacity: which partner serves which segment, and per segment how many leads its partners can take.
--
-- lead_flow.partner_segment_matches is THE one definition of "partner serves segment". Every
-- capacity figure (lead_flow.segment_capacities(), lead_flow.segment_capacity(segment_id), the API's
-- segment_capacity and get_segment_capacity in sql/91_api.sql) and the nightly steps aggregate it.
-- What a partner's profile arrays name is derived once per profile change, not per read:
-- lead_flow.profile_segment_codes() normalizes the spellings (each distinct spelling once),
-- lead_flow.partner_segment_codes (migration 0010) keeps the result, triggers keep
-- it current, and every apply of this file recomputes it whole (so a changed normalization rule
-- takes effect at once). Reads join it to segments by code: all segments in one hash join, one
-- segment by an index probe.

-- The segment codes a profile names: (its primary_branch or a lead_industries entry) x (a regions or
-- lead_locations entry), each normalized (case and the usual spellings do not matter: 'Noord-Brabant',
-- 'noord brabant', 'NB'), as lead_segments.code spells it. For the given profiles, or all (NULL).
-- Eligibility (active for routing, not admin) is not applied here: it changes often, matches read it.
create or replace function lead_flow.profile_segment_codes(p_partner_ids uuid[] default null)
  returns table (partner_id uuid, code text)
  language sql stable set search_path = '' set jit = off
  as $$
    with partners as materialized (
      select p.id, p.primary_branch, p.lead_industries, p.regions, p.lead_locations
        from public.profiles p
       where p_partner_ids is null or p.id = any (p_partner_ids)
    ), branch_names as (
      select e.id as partner_id, b.name
        from partners e
       cross join lateral unnest(array_prepend(e.primary_branch, e.lead_industries)) as b (name)
       where b.name is not null
    ), region_names as (
      select e.id as partner_id, r.name
        from partners e
       cross join lateral unnest(e.regions || e.lead_locations) as r (name)
       where r.name is not null
    ), region_spellings as materialized (   -- each distinct spelling to its region once
      select d.name, lead_flow.region_for(d.name, null) as region  -- normalize_region
        from (select distinct n.name from region_names n) d
    ), pairs as (
      select distinct bn.partner_id, bn.name as branch_name, rs.region
        from branch_names bn
        join region_names rn on rn.partner_id = bn.partner_id
        join region_spellings rs on rs.name = rn.name
       where rs.region is not null
    ), pair_codes as materialized (        -- each distinct branch spelling x region coded once
      select d.branch_name, d.region, lead_flow.segment_code(d.branch_name, d.region) as code
        from (select distinct p.branch_name, p.region from pairs p) d
    )
    select distinct p.partner_id, c.code
      from pairs p
      join pair_codes c on c.branch_name = p.branch_name and c.region = p.region
     where c.code is not null
  $$;
comment on function lead_flow.profile_segment_codes(uuid[]) is
  'The segment codes (normalized branch x region) the given profiles (NULL: all) name in primary_branch, '
  'lead_industries, regions and lead_locations; one row per profile and code. Eligibility not applied.';
revoke all on function lead_flow.profile_segment_codes(uuid[]) from public, anon, authenticated;

-- Brings lead_flow.partner_segment_codes in line with the profiles (the given ones, or all): adds
-- what is missing, deletes what is no longer named, leaves the rest untouched. Returns rows changed.
-- One statement: the rows it deletes are never among those it inserts (not wanted vs wanted).
create or replace function lead_flow.refresh_partner_segment_codes(p_partner_ids uuid[] default null)
  returns integer
  language plpgsql volatile security definer set search_path = '' set jit = off
  as $$
  declare
    v_rows integer;
  begin
    with wanted as materialized (
      select w.partner_id, w.code from lead_flow.profile_segment_codes(p_partner_ids) w
    ), gone as (
      delete from lead_flow.partner_segment_codes c
       where (p_partner_ids is null or c.partner_id = any (p_partner_ids))
         and not exists (select from wanted w where w.partner_id = c.partner_id and w.code = c.code)
      returning 1
    ), added as (
      insert into lead_flow.partner_segment_codes (partner_id, code)
      select w.partner_id, w.code from wanted w
      on conflict do nothing
      returning 1
    )
    select ((select count(*) from gone) + (select count(*) from added))::integer into v_rows;
    return v_rows;
  end
  $$;
comment on function lead_flow.refresh_partner_segment_codes(uuid[]) is
  'Recomputes lead_flow.partner_segment_codes for the given profiles (NULL: all) from profile_segment_codes; '
  'inserts and deletes only what changed; returns the number of rows inserted or deleted.';
revoke all on function lead_flow.refresh_partner_segment_codes(uuid[]) from public, anon, authenticated;

-- Profiles inserted, or updated in the columns that name branches and regions: their codes again
-- (deleted profiles lose theirs by the foreign key's cascade). Statement level, so a bulk import is
-- one refresh; SECURITY DEFINER, as a partner editing its own profile cannot write the cache.
create or replace function lead_flow.tg_profiles__segment_codes() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    v_ids uuid[];
  begin
    if tg_op = 'INSERT' then
      v_ids := array(select n.id from new_rows n);
    else
      v_ids := array(select n.id
                       from new_rows n
                       left join old_rows o on o.id = n.id
                      where o.id is null
                         or (n.primary_branch, n.lead_industries, n.regions, n.lead_locations)
                            is distinct from (o.primary_branch, o.lead_industries, o.regions, o.lead_locations));
    end if;
    if cardinality(v_ids) > 0 then
      perform lead_flow.refresh_partner_segment_codes(v_ids);
    end if;
    return null;
  end
  $$;
comment on function lead_flow.tg_profiles__segment_codes() is
  'After profiles are inserted, or updated in primary_branch/lead_industries/regions/lead_locations: '
  'refreshes their rows in lead_flow.partner_segment_codes.';
revoke all on function lead_flow.tg_profiles__segment_codes() from public, anon, authenticated;
-- Its triggers on the platform's profiles (tg_profiles__segment_codes_insert/_update) are migration 0015's.

-- The region aliases decide what a region spelling means: when they change, every profile's codes
-- again. The PC4 reference does not matter here: profiles name regions, not postcodes
-- (region_for(name, null)).
create or replace function lead_flow.tg_region_reference__segment_codes() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform lead_flow.refresh_partner_segment_codes(null);
    return null;
  end
  $$;
comment on function lead_flow.tg_region_reference__segment_codes() is
  'After any statement changing region_aliases: recomputes every profile''s segment codes.';
revoke all on function lead_flow.tg_region_reference__segment_codes() from public, anon, authenticated;
create or replace trigger tg_region_aliases__segment_codes
  after insert or update or delete or truncate on lead_flow.region_aliases
  for each statement execute function lead_flow.tg_region_reference__segment_codes();

-- A partner serves a segment when its profile names the segment's branch and region (any spelling,
-- see profile_segment_codes), it is active for routing and not an admin. One row per partner and
-- segment, however often the partner lists it.
--
-- Partner marketing's explicit links plug in as the second branch: for partners with active
-- partner_segments rows, those instead of the profile arrays.
create or replace view lead_flow.partner_segment_matches with (security_invoker = true) as
select c.partner_id, s.id as segment_id
  from lead_flow.partner_segment_codes c
  join public.profiles p on p.id = c.partner_id and p.is_active_for_routing and not p.is_admin
  join public.lead_segments s on s.code = c.code
 where not exists (select from public.partner_segments x where x.partner_id = c.partner_id and x.is_active)
union all
select x.partner_id, x.segment_id   -- partner marketing: a partner's active links, when it has any
  from public.partner_segments x
  join public.profiles p on p.id = x.partner_id and p.is_active_for_routing and not p.is_admin
 where x.is_active;
comment on view lead_flow.partner_segment_matches is
  'THE definition of which partner serves which segment: a partner''s active partner_segments links where it has any, otherwise branch and region from its profile arrays (any spelling); active for routing, not admin; one row per partner and segment.';

-- Capacity figures of every segment (active or not), one pass over the matches.
create or replace view lead_flow.segment_capacity_figures with (security_invoker = true) as
select s.id as segment_id, s.is_active,
       count(m.partner_id)::integer as capacity_partners,
       coalesce(sum(p.max_open_leads), 0)::integer as capacity_total_leads,
       coalesce(sum(pps.open_leads_count), 0)::integer as current_open_leads,
       (coalesce(sum(p.max_open_leads), 0) - coalesce(sum(pps.open_leads_count), 0))::integer as available_leads
  from public.lead_segments s
  left join (lead_flow.partner_segment_matches m
             join public.profiles p on p.id = m.partner_id
             left join public.partner_performance_stats pps on pps.partner_id = m.partner_id)
    on m.segment_id = s.id
 group by s.id, s.is_active;
comment on view lead_flow.segment_capacity_figures is
  'Per segment: matched partners, sum of their max_open_leads, their open leads (partner_performance_stats) and the difference; zeros when no partner matches.';

-- Every active segment's capacity, for set-based steps and the segment_capacity view. SECURITY
-- DEFINER: profiles is private under RLS (a partner sees its own row), capacity is an aggregate
-- over all partners. jit off: the planner cannot estimate unnested arrays, overestimates, and would
-- spend a second compiling a query that runs in a fraction of that.
create or replace function lead_flow.segment_capacities()
  returns table (segment_id uuid, capacity_partners integer, capacity_total_leads integer,
                 current_open_leads integer, available_leads integer)
  language sql stable security definer set search_path = '' set jit = off
  as $$
    select f.segment_id, f.capacity_partners, f.capacity_total_leads, f.current_open_leads, f.available_leads
      from lead_flow.segment_capacity_figures f
     where f.is_active
  $$;
comment on function lead_flow.segment_capacities() is
  'One row per active segment: capacity_partners, capacity_total_leads (sum of max_open_leads), current_open_leads, available_leads (total - open; negative when partners are over their maximum); zeros, never NULL. Computed in one pass; reads all profiles.';
revoke all on function lead_flow.segment_capacities() from public, anon, authenticated;
grant execute on function lead_flow.segment_capacities() to authenticated, service_role;

-- One segment's capacity (active or not): the same figures, only that segment's matches read (index
-- probes on its code and its partners). PL/pgSQL keeps the plan for the session.
create or replace function lead_flow.segment_capacity(p_segment_id uuid)
  returns table (segment_id uuid, capacity_partners integer, capacity_total_leads integer,
                 current_open_leads integer, available_leads integer)
  language plpgsql stable security definer set search_path = ''
  as $$
  begin
    return query
    select f.segment_id, f.capacity_partners, f.capacity_total_leads, f.current_open_leads, f.available_leads
      from lead_flow.segment_capacity_figures f
     where f.segment_id = p_segment_id;
  end
  $$;
comment on function lead_flow.segment_capacity(uuid) is
  'The capacity figures of one segment (no row for an unknown id); reads only that segment''s partners.';
revoke all on function lead_flow.segment_capacity(uuid) from public, anon, authenticated;
grant execute on function lead_flow.segment_capacity(uuid) to authenticated, service_role;

-- The cache follows the rules as they are now (a re-applied segment_code or region rule changes what
-- a spelling means).
select lead_flow.refresh_partner_segment_codes(null);
