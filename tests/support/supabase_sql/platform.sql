-- A live marketplace platform, created by postgres the way a Supabase project's migrations create
-- it (so Supabase's default privileges granted all of it to anon and authenticated, and RLS is what
-- protects it). Profiles with columns of its own, leads with rows and a trigger of its own, the
-- platform's own system_logs that signed-in clients insert into, and an RPC anon calls to submit a lead.

create table public.industries (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  icon text default 'hammer',
  created_at timestamptz not null default now()
);
alter table public.industries enable row level security;
create policy "Industries are public" on public.industries for select to anon, authenticated using (true);

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  full_name text,
  phone text,
  company_name text,
  kvk_number text,
  is_admin boolean not null default false,
  primary_branch text,
  regions text[] not null default '{}',
  max_open_leads integer not null default 0,
  is_active_for_routing boolean not null default false,
  routing_priority integer not null default 0,
  stripe_customer_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
create policy "Users read their own profile" on public.profiles for select to authenticated
  using ((select auth.uid()) = id);
create policy "Users update their own profile" on public.profiles for update to authenticated
  using ((select auth.uid()) = id) with check ((select auth.uid()) = id);

create table public.leads (
  id uuid primary key default gen_random_uuid(),
  industry_id uuid references public.industries (id),
  province text,
  postcode text,
  status text not null default 'new',
  price_at_purchase numeric(12, 2),
  user_id uuid references public.profiles (id) on delete set null,
  customer_name text not null,
  customer_email text,
  description text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index leads_industry_id_idx on public.leads (industry_id);
create index leads_user_id_idx on public.leads (user_id);
create index leads_status_created_at_idx on public.leads (status, created_at);
alter table public.leads enable row level security;
create policy "Signed-in customers submit leads" on public.leads for insert to authenticated
  with check ((select auth.uid()) is not null);
create policy "Partners read their leads" on public.leads for select to authenticated
  using ((select auth.uid()) = user_id);

-- The platform's own trigger on leads.
create function public.platform_touch_updated_at() returns trigger
  language plpgsql set search_path = ''
  as $$ begin new.updated_at := now(); return new; end $$;
create trigger platform_leads_touch before update on public.leads
  for each row execute function public.platform_touch_updated_at();

-- The platform's log: clients write their own lines under the platform's policy.
create table public.system_logs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid default auth.uid(),
  type text not null default 'info',
  message text not null,
  meta jsonb,
  created_at timestamptz not null default now()
);
alter table public.system_logs enable row level security;
create policy "Clients write their own log lines" on public.system_logs for insert to authenticated
  with check ((select auth.uid()) = user_id);
create policy "Clients read their own log lines" on public.system_logs for select to authenticated
  using ((select auth.uid()) = user_id);
create index system_logs_user_id_idx on public.system_logs (user_id);

-- The public lead form: anon calls it (SECURITY DEFINER: anon has no insert policy on leads).
create function public.submit_lead(p_industry text, p_province text, p_postcode text, p_name text,
                                   p_email text default null, p_description text default null) returns uuid
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_id uuid;
  begin
    insert into public.leads (industry_id, province, postcode, customer_name, customer_email, description)
    values ((select i.id from public.industries i where i.name = p_industry), p_province, p_postcode,
            p_name, p_email, p_description)
    returning id into v_id;
    return v_id;
  end
  $$;
comment on function public.submit_lead(text, text, text, text, text, text) is 'The public lead form.';

-- Partner performance as the platform's router reads it (never through the API).
create materialized view public.partner_performance_stats as
  select p.id as partner_id,
         count(l.id) filter (where l.created_at >= now() - interval '30 days') as leads_assigned_30d,
         count(l.id) filter (where l.created_at >= now() - interval '30 days' and l.status = 'accepted')
           as leads_accepted_30d,
         0.0::numeric as conversion_rate_30d,
         count(l.id) filter (where l.status in ('new', 'accepted')) as open_leads_count
    from public.profiles p left join public.leads l on l.user_id = p.id
   group by p.id;
create unique index partner_performance_stats_partner_id_key on public.partner_performance_stats (partner_id);
revoke all on public.partner_performance_stats from anon, authenticated;

-- Data: industries, two partners and a customer, an admin, leads and log lines.
insert into public.industries (id, name) values
  ('00000000-0000-0000-0000-0000000000a1', 'Schilder'),
  ('00000000-0000-0000-0000-0000000000a2', 'Dakdekker'),
  ('00000000-0000-0000-0000-0000000000a3', 'Loodgieter');
insert into auth.users (id, email, role, aud) values
  ('00000000-0000-0000-0000-000000000001', 'verf@example.nl', 'authenticated', 'authenticated'),
  ('00000000-0000-0000-0000-000000000002', 'dak@example.nl', 'authenticated', 'authenticated'),
  ('00000000-0000-0000-0000-000000000003', 'klant@example.nl', 'authenticated', 'authenticated'),
  ('00000000-0000-0000-0000-000000000004', 'admin@example.nl', 'authenticated', 'authenticated');
insert into public.profiles (id, email, company_name, phone, primary_branch, regions, max_open_leads,
                             is_active_for_routing, is_admin, stripe_customer_id) values
  ('00000000-0000-0000-0000-000000000001', 'verf@example.nl', 'Verf & Co', '+31 40 123', 'schilder',
   '{Noord-Brabant}', 12, true, false, 'cus_1'),
  ('00000000-0000-0000-0000-000000000002', 'dak@example.nl', 'Dak BV', '+31 30 456', 'dakdekker',
   '{Utrecht}', 5, true, false, 'cus_2'),
  ('00000000-0000-0000-0000-000000000003', 'klant@example.nl', null, null, null, '{}', 0, false, false, null),
  ('00000000-0000-0000-0000-000000000004', 'admin@example.nl', 'Platform', null, null, '{}', 0, false, true, null);
insert into public.leads (industry_id, province, postcode, customer_name, description, created_at)
select ('{00000000-0000-0000-0000-0000000000a1,00000000-0000-0000-0000-0000000000a2,00000000-0000-0000-0000-0000000000a3}'::uuid[])[1 + g % 3],
       (array['Noord-Brabant', 'Utrecht', 'Zuid-Holland', null])[1 + g % 4],
       lpad((1000 + g % 9000)::text, 4, '0') || ' AB', 'Klant ' || g, 'klus ' || g,
       now() - make_interval(hours => g)
  from generate_series(1, 200) g;
insert into public.system_logs (user_id, type, message) values
  ('00000000-0000-0000-0000-000000000003', 'info', 'platform line');
refresh materialized view public.partner_performance_stats;
