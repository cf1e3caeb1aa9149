-- The Lead Flow tables (spec: lead-flow-schema-proposal.md, lead-flow-implementation-plan.md), the
-- leads extension, the campaign mapping and ad metrics the worker fills, tunables and overrides.
-- Policies and grants for these tables are re-creatable objects: see sql/.
-- depends: 0002_platform_baseline

create table public.regions (
  slug text primary key check (slug ~ '^[a-z]+(-[a-z]+)*$'),
  name text not null,
  country text not null default 'NL' check (country ~ '^[A-Z]{2}$')
);
comment on table public.regions is 'The regions a segment can cover: the 12 Dutch provinces, as slugs.';
insert into public.regions (slug, name) values
  ('groningen', 'Groningen'), ('friesland', 'Friesland'), ('drenthe', 'Drenthe'),
  ('overijssel', 'Overijssel'), ('flevoland', 'Flevoland'), ('gelderland', 'Gelderland'),
  ('utrecht', 'Utrecht'), ('noord-holland', 'Noord-Holland'), ('zuid-holland', 'Zuid-Holland'),
  ('zeeland', 'Zeeland'), ('noord-brabant', 'Noord-Brabant'), ('limburg', 'Limburg');

create table public.lead_segments (
  id uuid primary key default gen_random_uuid(),
  branch text not null check (branch = lower(btrim(branch)) and length(branch) between 1 and 100
                               and branch ~ '[a-z0-9]'),
  region text not null references public.regions (slug),
  country text not null default 'NL' check (country ~ '^[A-Z]{2}$'),
  code text generated always as (
    btrim(regexp_replace(branch || '_' || region, '[^a-z0-9]+', '_', 'g'), '_')) stored,
  postal_prefixes text[] not null default '{}',
  description text check (length(description) <= 2000),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint lead_segments_code_key unique (code),
  constraint lead_segments_code_format check (code ~ '^[a-z0-9]+(_[a-z0-9]+)*$')
);
create index lead_segments_branch_region_idx on public.lead_segments (branch, region);
create index lead_segments_region_idx on public.lead_segments (region);
create index lead_segments_active_idx on public.lead_segments (id) where is_active;

create table public.lead_generation_stats (
  id uuid primary key default gen_random_uuid(),
  segment_id uuid not null references public.lead_segments (id) on delete cascade,
  date date not null,
  leads_generated integer not null default 0 check (leads_generated >= 0),
  leads_accepted integer not null default 0 check (leads_accepted >= 0),
  leads_rejected integer not null default 0 check (leads_rejected >= 0),
  leads_pending integer not null default 0 check (leads_pending >= 0),
  avg_cpl numeric(12, 2) check (avg_cpl >= 0),
  google_ads_spend numeric(14, 2) not null default 0 check (google_ads_spend >= 0),
  google_ads_clicks bigint not null default 0 check (google_ads_clicks >= 0),
  google_ads_impressions bigint not null default 0 check (google_ads_impressions >= 0),
  google_ads_conversions numeric(12, 2) not null default 0 check (google_ads_conversions >= 0),
  seo_clicks integer not null default 0 check (seo_clicks >= 0),
  seo_visits integer not null default 0 check (seo_visits >= 0),
  microsite_visits integer not null default 0 check (microsite_visits >= 0),
  microsite_leads integer not null default 0 check (microsite_leads >= 0),
  capacity_partners integer not null default 0 check (capacity_partners >= 0),
  capacity_total_leads integer not null default 0 check (capacity_total_leads >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint lead_generation_stats_segment_date_key unique (segment_id, date)
);
create index lead_generation_stats_date_idx on public.lead_generation_stats (date);

create table public.lead_segment_plans (
  id uuid primary key default gen_random_uuid(),
  segment_id uuid not null references public.lead_segments (id) on delete cascade,
  date date not null,
  target_leads_per_day integer not null default 0 check (target_leads_per_day >= 0),
  target_source text not null default 'capacity'
    check (target_source in ('capacity', 'minimum', 'override', 'no_capacity')),
  expected_leads_per_day numeric(10, 2) check (expected_leads_per_day >= 0),
  actual_leads integer not null default 0 check (actual_leads >= 0),
  lead_gap integer not null default 0,
  lead_gap_percentage numeric(10, 2),
  target_daily_budget_google_ads numeric(12, 2) check (target_daily_budget_google_ads >= 0),
  actual_daily_budget_google_ads numeric(12, 2) check (actual_daily_budget_google_ads >= 0),
  orchestration_status text not null default 'planned'
    check (orchestration_status in ('planned', 'no_campaign', 'paused', 'no_change', 'pending',
                                    'success', 'failed', 'conflict')),
  orchestration_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint lead_segment_plans_segment_date_key unique (segment_id, date)
);
create index lead_segment_plans_date_gap_idx on public.lead_segment_plans (date, lead_gap);

-- Which Google Ads campaign (and budget) serves a segment; daily_budget is the amount last known live.
create table public.lead_segment_campaigns (
  id uuid primary key default gen_random_uuid(),
  segment_id uuid not null references public.lead_segments (id) on delete cascade,
  customer_id text not null check (customer_id ~ '^[0-9]{10}$'),
  campaign_id text not null check (campaign_id ~ '^[0-9]+$'),
  budget_resource_name text not null check (budget_resource_name ~ '^customers/[0-9]+/campaignBudgets/[0-9]+$'),
  daily_budget numeric(12, 2) check (daily_budget >= 0),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint lead_segment_campaigns_segment_key unique (segment_id),
  constraint lead_segment_campaigns_campaign_key unique (customer_id, campaign_id)
);

-- Daily ad metrics per campaign, as pulled from Google Ads (cost in EUR, converted from micros).
create table public.campaign_daily_metrics (
  customer_id text not null check (customer_id ~ '^[0-9]{10}$'),
  campaign_id text not null check (campaign_id ~ '^[0-9]+$'),
  date date not null,
  cost numeric(14, 2) not null default 0 check (cost >= 0),
  clicks bigint not null default 0 check (clicks >= 0),
  impressions bigint not null default 0 check (impressions >= 0),
  conversions numeric(12, 2) not null default 0 check (conversions >= 0),
  pulled_at timestamptz not null default now(),
  primary key (customer_id, campaign_id, date)
);
create index campaign_daily_metrics_date_idx on public.campaign_daily_metrics (date);

-- The audit trail of every budget change, and the queue the worker takes changes from.
create table public.channel_orchestration_log (
  id uuid primary key default gen_random_uuid(),
  date date not null,
  segment_id uuid references public.lead_segments (id) on delete cascade,
  plan_id uuid references public.lead_segment_plans (id) on delete set null,
  channel text not null default 'google_ads' check (channel in ('google_ads', 'meta', 'seo', 'microsite')),
  action_type text not null check (action_type in ('budget_increase', 'budget_decrease')),
  old_value numeric(12, 2) check (old_value >= 0),
  new_value numeric(12, 2) not null check (new_value >= 0),
  reason text,
  customer_id text check (customer_id ~ '^[0-9]{10}$'),
  campaign_id text,
  budget_resource_name text,
  status text not null default 'pending'
    check (status in ('pending', 'in_progress', 'success', 'failed', 'conflict')),
  attempts integer not null default 0 check (attempts >= 0),
  claimed_by text,
  claimed_at timestamptz,
  applied_value numeric(12, 2) check (applied_value >= 0),
  live_value numeric(12, 2),
  request_id text,
  error_code text,
  error_message text,
  validated_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz
);
-- One change per segment, channel and plan day: a re-run replaces it, never adds a second.
create unique index channel_orchestration_log_segment_day_key
  on public.channel_orchestration_log (segment_id, channel, date) where segment_id is not null;
create index channel_orchestration_log_plan_id_idx on public.channel_orchestration_log (plan_id);
create index channel_orchestration_log_status_idx on public.channel_orchestration_log (status, created_at)
  where status in ('pending', 'in_progress');
create index channel_orchestration_log_date_idx on public.channel_orchestration_log (date, status);

-- Tunables: a definition per key (type, range, default), global values, per-segment overrides.
create table public.lead_flow_setting_definitions (
  key text primary key check (key ~ '^[a-z][a-z0-9_]*$'),
  value_type text not null check (value_type in ('numeric', 'boolean', 'text')),
  default_value jsonb not null,
  min_value numeric,
  max_value numeric,
  allowed_values text[],
  per_segment boolean not null default true,
  description text not null
);

create table public.lead_flow_settings (
  id uuid primary key default gen_random_uuid(),
  key text not null references public.lead_flow_setting_definitions (key),
  segment_id uuid references public.lead_segments (id) on delete cascade,
  value jsonb not null,
  updated_by uuid,
  updated_at timestamptz not null default now(),
  constraint lead_flow_settings_key_segment_key unique nulls not distinct (key, segment_id)
);
create index lead_flow_settings_segment_id_idx on public.lead_flow_settings (segment_id);

insert into public.lead_flow_setting_definitions
  (key, value_type, default_value, min_value, max_value, allowed_values, per_segment, description) values
  ('target_utilization', 'numeric', '0.8', 0, 1, null, true,
   'Share of a segment''s declared capacity (sum of max_open_leads) to aim for per day.'),
  ('min_target_leads', 'numeric', '5', 0, 100000, null, true,
   'Lowest daily lead target for a segment that has any capacity.'),
  ('max_daily_budget_change', 'numeric', '0.20', 0, 1, null, true,
   'Largest change of a daily budget in one Amsterdam day, as a share of the day-start budget.'),
  ('min_budget', 'numeric', '5.00', 0, 1000000, null, true, 'Lowest daily budget in EUR.'),
  ('max_budget', 'numeric', '1000.00', 0, 1000000, null, true, 'Highest daily budget in EUR.'),
  ('default_cost_per_lead', 'numeric', '25.00', 0.01, 100000, null, true,
   'Cost per lead in EUR used where a segment and its branch have no spend history.'),
  ('launch_budget', 'numeric', '10.00', 0, 1000000, null, true,
   'Daily budget in EUR a segment starts from when its budget is 0 or unknown.'),
  ('cpl_prior_leads', 'numeric', '20', 0, 100000, null, true,
   'How many leads of evidence the branch-average cost per lead counts as, when blending it with a segment''s own.'),
  ('auto_create_segments', 'boolean', 'true', null, null, null, false,
   'Create a missing segment when a lead arrives for a branch and region that has none.'),
  ('paused', 'boolean', 'false', null, null, null, true,
   'Emergency stop: plans are still made but no budget change is proposed.'),
  ('alert_gap_percentage', 'numeric', '50', 0, 100000, null, true,
   'An alert is raised when |gap %| exceeds this for alert_gap_nights nights in a row.'),
  ('alert_gap_nights', 'numeric', '3', 1, 365, null, true,
   'Nights in a row over alert_gap_percentage before a segment shows in lead_flow_alerts.');

insert into public.lead_flow_settings (key, value)
select key, default_value from public.lead_flow_setting_definitions;

-- A manual target for a segment and date range; wins over the capacity-derived target.
create table public.lead_segment_target_overrides (
  id uuid primary key default gen_random_uuid(),
  segment_id uuid not null references public.lead_segments (id) on delete cascade,
  valid_from date not null,
  valid_to date not null,
  target_leads_per_day integer not null check (target_leads_per_day between 0 and 1000000),
  reason text not null check (length(btrim(reason)) between 1 and 1000),
  created_by uuid,
  created_at timestamptz not null default now(),
  constraint lead_segment_target_overrides_range check (valid_to >= valid_from)
);
create index lead_segment_target_overrides_segment_idx
  on public.lead_segment_target_overrides (segment_id, valid_from, valid_to);

-- Which nightly step has completed for which day: the state catch-up and alerts read.
create table lead_flow.nightly_runs (
  step text not null check (step in ('aggregate', 'plan', 'orchestrate')),
  date date not null,
  status text not null check (status in ('success', 'failed')),
  started_at timestamptz not null,
  finished_at timestamptz not null,
  rows integer not null default 0,
  error text,
  primary key (step, date)
);

-- The leads extension: segment and attribution. Last in this migration, so that its ACCESS EXCLUSIVE
-- lock on the live leads table is held for as short as possible before the commit. Nullable columns without a default: a catalog change,
-- no rewrite of a live table. The foreign key is added NOT VALID (no scan under this migration's lock)
-- and validated by migration 0014, under a lock that lets lead inserts through; the indexes on leads
-- are built concurrently by migration 0013.
alter table public.leads
  add column if not exists segment_id uuid,
  add column if not exists source_channel text,
  add column if not exists source_campaign_id text,
  add column if not exists source_keyword text;
do $$
begin
  if not exists (select from pg_catalog.pg_constraint
                  where conrelid = 'public.leads'::regclass and conname = 'leads_segment_id_fkey') then
    alter table public.leads add constraint leads_segment_id_fkey
      foreign key (segment_id) references public.lead_segments (id) on delete set null not valid;
  end if;
end
$$;

-- Safe at once, whatever fails next: Supabase's default privileges have just granted every table above
-- to anon and authenticated. RLS on and those grants taken back here, in the same transaction; the
-- policies and the grants API roles do get are sql/90_security_lead_flow.sql's.
do $$
declare
  t text;
begin
  foreach t in array array['regions', 'lead_segments', 'lead_generation_stats', 'lead_segment_plans',
                           'lead_segment_campaigns', 'campaign_daily_metrics', 'channel_orchestration_log',
                           'lead_flow_setting_definitions', 'lead_flow_settings', 'lead_segment_target_overrides'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on public.%I from anon, authenticated', t);
  end loop;
end
$$;
