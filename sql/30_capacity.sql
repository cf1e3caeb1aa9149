-- Capacity: which partner serves which segment, and per segment how many leads its partners can take.
--
-- lead_flow.partner_segment_matches is THE one definition of "partner serves segment". Every
-- capacity figure (segment_capacity, get_segment_capacity, lead_flow.segment_capacities()) and the
-- nightly steps aggregate it. Set-based throughout: profile arrays are unnested once per partner,
-- each distinct spelling is normalized once, and segments are found by code with a hash join.

-- A partner serves a segment when its primary_branch or one of its lead_industries is the segment's
-- branch, and its regions or lead_locations contain the segment's region (case and the usual
-- spellings do not matter: 'Noord-Brabant', 'noord brabant', 'NB'), it is active for routing and
-- not an admin. One row per partner and segment, however often the partner lists it.
--
-- Partner marketing's explicit links plug in as one more CTE: for partners with active
-- partner_segments rows, take those instead of profile_matches (see the final select).
create or replace view lead_flow.partner_segment_matches with (security_invoker = true) as
with eligible_partners as materialized (
  select p.id as partner_id, p.primary_branch, p.lead_industries, p.regions, p.lead_locations
    from public.profiles p
   where p.is_active_for_routing and not p.is_admin
), branch_names as (
  select e.partner_id, b.name
    from eligible_partners e
   cross join lateral unnest(array_prepend(e.primary_branch, e.lead_industries)) as b (name)
   where b.name is not null
), region_names as (
  select e.partner_id, r.name
    from eligible_partners e
   cross join lateral unnest(e.regions || e.lead_locations) as r (name)
   where r.name is not null
), branch_spellings as materialized (   -- normalize each distinct spelling once
  select d.name, lead_flow.code_part(lead_flow.normalize_branch(d.name)) as branch_code
    from (select distinct n.name from branch_names n) d
), region_spellings as materialized (
  select d.name, lead_flow.code_part(lead_flow.region_for(d.name, null)) as region_code  -- normalize_region
    from (select distinct n.name from region_names n) d
), partner_branch_codes as (
  select distinct bn.partner_id, bs.branch_code
    from branch_names bn
    join branch_spellings bs on bs.name = bn.name
   where bs.branch_code is not null
), partner_region_codes as (
  select distinct rn.partner_id, rs.region_code
    from region_names rn
    join region_spellings rs on rs.name = rn.name
   where rs.region_code is not null
), partner_codes as (   -- each partner's branches x regions as segment codes (= lead_flow.segment_code)
  select pb.partner_id, pb.branch_code || '_' || pr.region_code as code
    from partner_branch_codes pb
    join partner_region_codes pr on pr.partner_id = pb.partner_id
), profile_matches as (
  select pc.partner_id, s.id as segment_id
    from partner_codes pc
    join public.lead_segments s on s.code = pc.code
), explicit_links as (   -- partner marketing: a partner's active partner_segments links, when it has any
  select ps.partner_id, ps.segment_id
    from public.partner_segments ps
    join eligible_partners e on e.partner_id = ps.partner_id
   where ps.is_active
)
select m.partner_id, m.segment_id
  from profile_matches m
 where not exists (select from explicit_links x where x.partner_id = m.partner_id)
union all
select x.partner_id, x.segment_id
  from explicit_links x;
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
revoke all on function lead_flow.segment_capacities() from public;
grant execute on function lead_flow.segment_capacities() to authenticated, service_role;

-- One segment's capacity (active or not): the same figures, only that segment's matches computed.
create or replace function lead_flow.segment_capacity(p_segment_id uuid)
  returns table (segment_id uuid, capacity_partners integer, capacity_total_leads integer,
                 current_open_leads integer, available_leads integer)
  language sql stable security definer set search_path = '' set jit = off
  as $$
    select f.segment_id, f.capacity_partners, f.capacity_total_leads, f.current_open_leads, f.available_leads
      from lead_flow.segment_capacity_figures f
     where f.segment_id = p_segment_id
  $$;
comment on function lead_flow.segment_capacity(uuid) is
  'The capacity figures of one segment (no row for an unknown id); reads all profiles.';
revoke all on function lead_flow.segment_capacity(uuid) from public;
grant execute on function lead_flow.segment_capacity(uuid) to authenticated, service_role;

-- The API: every active segment's capacity, readable by signed-in users (partners and admins see
-- the true aggregate, never another partner's profile). Segments are read under the caller's RLS.
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
    if get_segment_capacity.segment_id is null
       or not exists (select from public.lead_segments s where s.id = get_segment_capacity.segment_id) then
      raise exception 'unknown segment id: %', coalesce(get_segment_capacity.segment_id::text, 'null')
        using errcode = '22023', hint = 'segment ids are in lead_segments (or segment_capacity)';
    end if;
    select c.capacity_partners, c.capacity_total_leads, c.current_open_leads, c.available_leads
      into capacity_partners, capacity_total_leads, current_open_leads, available_leads
      from lead_flow.segment_capacity(get_segment_capacity.segment_id) c;
  end
  $$;
comment on function public.get_segment_capacity(uuid) is
  'Capacity of one segment: capacity_partners, capacity_total_leads (sum of max_open_leads), current_open_leads, available_leads (total - open). 400 for an unknown segment id.';
revoke all on function public.get_segment_capacity(uuid) from public;
grant execute on function public.get_segment_capacity(uuid) to authenticated, service_role;
