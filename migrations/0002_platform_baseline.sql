-- The existing platform's tables, created only where absent: on the live Supabase database they
-- exist already (maybe with more columns and data) and nothing of them is dropped or rewritten.
-- Where we create a table we also give it the platform's RLS, since nothing else would.
-- depends: 0001_supabase_shim

do $$
declare
  created text[] := '{}';
begin
  if to_regclass('public.industries') is null then
    create table public.industries (
      id uuid primary key default gen_random_uuid(),
      name text not null unique check (length(btrim(name)) between 1 and 100),
      created_at timestamptz not null default now()
    );
    created := created || 'industries'::text;
  end if;

  if to_regclass('public.profiles') is null then
    create table public.profiles (
      id uuid primary key references auth.users (id) on delete cascade,
      email text,
      company_name text,
      is_admin boolean not null default false,
      primary_branch text,
      regions text[] not null default '{}',
      lead_industries text[] not null default '{}',
      lead_locations text[] not null default '{}',
      max_open_leads integer not null default 0 check (max_open_leads >= 0),
      is_active_for_routing boolean not null default false,
      routing_priority integer not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    created := created || 'profiles'::text;
  end if;

  if to_regclass('public.leads') is null then
    create table public.leads (
      id uuid primary key default gen_random_uuid(),
      industry_id uuid references public.industries (id),
      province text,
      postcode text,
      status text not null default 'new',
      price_at_purchase numeric(12, 2),
      user_id uuid references public.profiles (id) on delete set null,
      created_at timestamptz not null default now()
    );
    create index leads_industry_id_idx on public.leads (industry_id);
    create index leads_user_id_idx on public.leads (user_id);
    create index leads_created_at_idx on public.leads (created_at);
    created := created || 'leads'::text;
  end if;

  -- Columns Lead Flow reads, added to an older profiles table that lacks them.
  alter table public.profiles
    add column if not exists is_admin boolean not null default false,
    add column if not exists primary_branch text,
    add column if not exists regions text[] not null default '{}',
    add column if not exists lead_industries text[] not null default '{}',
    add column if not exists lead_locations text[] not null default '{}',
    add column if not exists max_open_leads integer not null default 0,
    add column if not exists is_active_for_routing boolean not null default false,
    add column if not exists routing_priority integer not null default 0;

  -- Admin check for policies: SECURITY DEFINER so a policy on profiles can read profiles
  -- without recursing through its own RLS.
  create or replace function lead_flow.is_admin() returns boolean
    language sql stable security definer set search_path = ''
    as $f$
      select coalesce((select p.is_admin from public.profiles p where p.id = (select auth.uid())), false)
    $f$;
  comment on function lead_flow.is_admin() is
    'True when the calling user''s profile has is_admin; false for anon and unknown users.';
  revoke all on function lead_flow.is_admin() from public;
  grant usage on schema lead_flow to anon, authenticated, service_role;
  grant execute on function lead_flow.is_admin() to anon, authenticated, service_role;

  if 'industries' = any (created) then
    alter table public.industries enable row level security;
    revoke all on public.industries from anon, authenticated;  -- Supabase's default grants: only the ones below
    create policy industries_select_all on public.industries for select to anon, authenticated using (true);
    create policy industries_insert_admin on public.industries for insert to authenticated
      with check ((select lead_flow.is_admin()));
    create policy industries_update_admin on public.industries for update to authenticated
      using ((select lead_flow.is_admin())) with check ((select lead_flow.is_admin()));
    create policy industries_delete_admin on public.industries for delete to authenticated
      using ((select lead_flow.is_admin()));
    grant select on public.industries to anon, authenticated;
    grant insert (name), update (name), delete on public.industries to authenticated;
    grant all on public.industries to service_role;
  end if;

  if 'profiles' = any (created) then
    alter table public.profiles enable row level security;
    revoke all on public.profiles from anon, authenticated;  -- Supabase's default grants: only the ones below
    create policy profiles_select_own_or_admin on public.profiles for select to authenticated
      using ((select auth.uid()) = id or (select lead_flow.is_admin()));
    create policy profiles_update_own_or_admin on public.profiles for update to authenticated
      using ((select auth.uid()) = id or (select lead_flow.is_admin()))
      with check ((select auth.uid()) = id or (select lead_flow.is_admin()));
    grant select on public.profiles to authenticated;
    -- A partner edits its business fields; is_admin and routing flags are not among them.
    grant update (company_name, primary_branch, regions, lead_industries, lead_locations, max_open_leads)
      on public.profiles to authenticated;
    grant all on public.profiles to service_role;
  end if;

  if 'leads' = any (created) then
    alter table public.leads enable row level security;
    revoke all on public.leads from anon, authenticated;  -- Supabase's default grants: only the ones below
    create policy leads_select_own_or_admin on public.leads for select to authenticated
      using ((select auth.uid()) = user_id or (select lead_flow.is_admin()));
    create policy leads_insert_admin on public.leads for insert to authenticated
      with check ((select lead_flow.is_admin()));
    create policy leads_update_admin on public.leads for update to authenticated
      using ((select lead_flow.is_admin())) with check ((select lead_flow.is_admin()));
    create policy leads_delete_admin on public.leads for delete to authenticated
      using ((select lead_flow.is_admin()));
    grant select on public.leads to authenticated;
    grant insert (industry_id, province, postcode, status, price_at_purchase, user_id),
          update (industry_id, province, postcode, status, price_at_purchase, user_id),
          delete on public.leads to authenticated;
    grant all on public.leads to service_role;
  end if;
end
$$;

-- Partner performance over the last 30 days, as the platform's router reads it.
do $$
begin
  if to_regclass('public.partner_performance_stats') is null then
    create materialized view public.partner_performance_stats as
      select p.id as partner_id,
             count(l.id) filter (where l.created_at >= now() - interval '30 days') as leads_assigned_30d,
             count(l.id) filter (where l.created_at >= now() - interval '30 days'
                                   and l.status = 'accepted') as leads_accepted_30d,
             round(coalesce(
               (count(l.id) filter (where l.created_at >= now() - interval '30 days' and l.status = 'accepted'))::numeric
               / nullif(count(l.id) filter (where l.created_at >= now() - interval '30 days'), 0), 0), 4)
               as conversion_rate_30d,
             count(l.id) filter (where l.status in ('new', 'pending', 'accepted', 'in_progress')) as open_leads_count
        from public.profiles p
        left join public.leads l on l.user_id = p.id
       where not p.is_admin
       group by p.id;
    create unique index partner_performance_stats_partner_id_key on public.partner_performance_stats (partner_id);
    -- Read through functions and views, never directly by API clients.
    revoke all on public.partner_performance_stats from anon, authenticated;
    grant select on public.partner_performance_stats to service_role;
  end if;

  if to_regprocedure('public.refresh_partner_performance_stats()') is null then
    create function public.refresh_partner_performance_stats() returns void
      language plpgsql volatile security definer set search_path = ''
      as $f$
      begin
        refresh materialized view concurrently public.partner_performance_stats;
      end
      $f$;
    comment on function public.refresh_partner_performance_stats() is
      'Recomputes partner_performance_stats (30-day assignments, acceptances, open leads) without blocking readers.';
    revoke all on function public.refresh_partner_performance_stats() from public, anon, authenticated;
    grant execute on function public.refresh_partner_performance_stats() to service_role;
  end if;

  if to_regclass('public.lead_routing_candidates') is null then
    -- Unassigned new leads with the active partners whose branch matches, best first.
    create view public.lead_routing_candidates with (security_invoker = true) as
      select l.id as lead_id, p.id as partner_id, p.routing_priority,
             coalesce(s.conversion_rate_30d, 0) as conversion_rate_30d,
             coalesce(s.open_leads_count, 0) as open_leads_count,
             p.max_open_leads - coalesce(s.open_leads_count, 0) as free_capacity
        from public.leads l
        join public.industries i on i.id = l.industry_id
        join public.profiles p
          on p.is_active_for_routing and not p.is_admin
         and (lower(p.primary_branch) = lower(i.name) or lower(i.name) = any (p.lead_industries))
        left join public.partner_performance_stats s on s.partner_id = p.id
       where l.user_id is null and l.status = 'new';
    revoke all on public.lead_routing_candidates from anon, authenticated;
    grant select on public.lead_routing_candidates to service_role;
  end if;
end
$$;
