-- Partner marketing (spec: partner-marketing-summary.md 2.1-2.4 and FASE 3): the partner's marketing
-- profile, explicit partner <-> segment links, partner landing pages and campaigns, the nightly lead
-- gaps per partner and segment, and rule-based recommendations a partner or admin approves.
-- Policies, grants, functions and triggers are re-creatable objects: sql/92-94_*partner_marketing*.sql.
-- depends: 0001_supabase_shim 0002_platform_baseline 0003_lead_flow_tables

-- 2.2 Which segments a partner serves, explicitly. Capacity uses these links where a partner has any.
create table public.partner_segments (
  id uuid primary key default gen_random_uuid(),
  partner_id uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  segment_id uuid not null references public.lead_segments (id) on delete cascade,
  is_primary boolean not null default false,
  priority integer not null default 1
    constraint partner_segments_priority_range check (priority between 1 and 100),
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.partner_segments is
  'Explicit partner <-> segment links. One active link per partner and segment, at most one active primary per partner; priority (1-100) is the segment''s weight in the partner''s lead target.';
create unique index partner_segments_active_key on public.partner_segments (partner_id, segment_id) where is_active;
create unique index partner_segments_one_primary_key on public.partner_segments (partner_id) where is_primary and is_active;
create index partner_segments_partner_id_idx on public.partner_segments (partner_id);
create index partner_segments_segment_id_idx on public.partner_segments (segment_id);

-- 2.3 Landing pages of a partner for a segment.
create table public.partner_landing_pages (
  id uuid primary key default gen_random_uuid(),
  partner_id uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  segment_id uuid references public.lead_segments (id) on delete set null,
  path text not null
    constraint partner_landing_pages_path_safe
      check (length(path) <= 200 and path ~ '^/[a-z0-9]+([-/][a-z0-9]+)*$'),
  status text not null default 'draft'
    constraint partner_landing_pages_status_known check (status in ('draft', 'review', 'published', 'archived')),
  source text not null default 'manual'
    constraint partner_landing_pages_source_known check (source in ('manual', 'template', 'ai')),
  title text constraint partner_landing_pages_title_length check (length(title) <= 200),
  subtitle text constraint partner_landing_pages_subtitle_length check (length(subtitle) <= 500),
  seo_title text constraint partner_landing_pages_seo_title_length check (length(seo_title) <= 200),
  seo_description text constraint partner_landing_pages_seo_description_length check (length(seo_description) <= 1000),
  content_json jsonb not null default '{}'
    constraint partner_landing_pages_content_object check (jsonb_typeof(content_json) = 'object'),
  views_count bigint not null default 0 constraint partner_landing_pages_views_nonnegative check (views_count >= 0),
  conversions_count bigint not null default 0
    constraint partner_landing_pages_conversions_nonnegative check (conversions_count >= 0),
  published_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint partner_landing_pages_path_key unique (path)
);
comment on table public.partner_landing_pages is
  'A partner''s landing pages per segment: a unique, safe URL path, a status (draft, review, published, archived) and content.';
create index partner_landing_pages_partner_id_idx on public.partner_landing_pages (partner_id);
create index partner_landing_pages_segment_id_idx on public.partner_landing_pages (segment_id);

-- 2.4 A partner's own campaigns. For google_ads the customer id and campaign budget resource name
-- are what the worker needs to push a budget change, and what campaign_daily_metrics is keyed by.
create table public.partner_marketing_campaigns (
  id uuid primary key default gen_random_uuid(),
  partner_id uuid not null default auth.uid() references public.profiles (id) on delete cascade,
  segment_id uuid references public.lead_segments (id) on delete set null,
  channel text not null
    constraint partner_marketing_campaigns_channel_known
      check (channel in ('google_ads', 'meta', 'microsoft_ads', 'linkedin', 'tiktok', 'other')),
  name text constraint partner_marketing_campaigns_name_length check (length(name) <= 200),
  status text not null default 'active'
    constraint partner_marketing_campaigns_status_known check (status in ('draft', 'active', 'paused', 'ended')),
  external_campaign_id text
    constraint partner_marketing_campaigns_external_id_format check (external_campaign_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  customer_id text constraint partner_marketing_campaigns_customer_id_format check (customer_id ~ '^[0-9]{10}$'),
  budget_resource_name text
    constraint partner_marketing_campaigns_budget_resource_format
      check (budget_resource_name ~ '^customers/[0-9]+/campaignBudgets/[0-9]+$'),
  daily_budget numeric(12, 2) constraint partner_marketing_campaigns_daily_budget_nonnegative check (daily_budget >= 0),
  monthly_budget numeric(12, 2)
    constraint partner_marketing_campaigns_monthly_budget_nonnegative check (monthly_budget >= 0),
  cpl_target numeric(12, 2) constraint partner_marketing_campaigns_cpl_target_positive check (cpl_target > 0),
  ai_managed boolean not null default false,
  ai_last_adjusted_at timestamptz,
  total_spend numeric(14, 2) not null default 0 check (total_spend >= 0),
  total_clicks bigint not null default 0 check (total_clicks >= 0),
  total_leads integer not null default 0 check (total_leads >= 0),
  avg_cpl numeric(12, 2) check (avg_cpl >= 0),
  metrics_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- A Google Ads campaign the worker can push to: numeric ids, the customer and the budget.
  constraint partner_marketing_campaigns_google_ads_complete check (
    channel <> 'google_ads' or external_campaign_id is null
    or (external_campaign_id ~ '^[0-9]+$' and customer_id is not null and budget_resource_name is not null))
);
comment on table public.partner_marketing_campaigns is
  'A partner''s own campaigns (google_ads, meta, ...): budgets, CPL target, whether rules may adjust it (ai_managed), and totals synced from campaign_daily_metrics.';
create unique index partner_marketing_campaigns_external_key
  on public.partner_marketing_campaigns (channel, external_campaign_id);
create index partner_marketing_campaigns_partner_id_idx on public.partner_marketing_campaigns (partner_id);
create index partner_marketing_campaigns_segment_id_idx on public.partner_marketing_campaigns (segment_id);
-- Leads attributed to a campaign: leads_source_campaign_id_idx, built concurrently by migration 0013.
create index partner_marketing_campaigns_ads_idx
  on public.partner_marketing_campaigns (customer_id, external_campaign_id) where channel = 'google_ads';

-- Per partner, segment and Amsterdam day: the partner's target, its leads, and the gap.
create table public.partner_lead_gaps (
  id uuid primary key default gen_random_uuid(),
  partner_id uuid not null references public.profiles (id) on delete cascade,
  segment_id uuid not null references public.lead_segments (id) on delete cascade,
  date date not null,
  target_leads numeric(10, 2) not null default 0 check (target_leads >= 0),
  platform_leads integer not null default 0 check (platform_leads >= 0),
  own_campaign_leads integer not null default 0 check (own_campaign_leads >= 0),
  actual_leads integer generated always as (platform_leads + own_campaign_leads) stored,
  lead_gap numeric(10, 2) not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint partner_lead_gaps_partner_segment_date_key unique (partner_id, segment_id, date)
);
comment on table public.partner_lead_gaps is
  'Per partner, segment and Europe/Amsterdam day: target (max_open_leads spread over the partner''s segments by priority), platform leads, own-campaign leads, and gap = target - actual.';
create index partner_lead_gaps_segment_date_idx on public.partner_lead_gaps (segment_id, date);
create index partner_lead_gaps_date_idx on public.partner_lead_gaps (date);

-- Rule-based proposals (the spec's "AI" voorstellen) that a partner or an admin approves or rejects.
create table public.ai_marketing_recommendations (
  id uuid primary key default gen_random_uuid(),
  partner_id uuid not null references public.profiles (id) on delete cascade,
  segment_id uuid references public.lead_segments (id) on delete cascade,
  campaign_id uuid references public.partner_marketing_campaigns (id) on delete cascade,
  type text not null
    constraint ai_marketing_recommendations_type_known
      check (type in ('increase_budget', 'decrease_budget', 'create_landing_page', 'pause_campaign')),
  for_date date not null,
  payload jsonb not null default '{}'
    constraint ai_marketing_recommendations_payload_object check (jsonb_typeof(payload) = 'object'),
  reason text not null,
  status text not null default 'pending'
    constraint ai_marketing_recommendations_status_known
      check (status in ('pending', 'approved', 'rejected', 'applied', 'expired')),
  decided_by uuid references auth.users (id) on delete set null,
  decided_at timestamptz,
  decision_reason text constraint ai_marketing_recommendations_decision_reason_length check (length(decision_reason) <= 2000),
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint ai_marketing_recommendations_budget_has_campaign
    check (type not in ('increase_budget', 'decrease_budget', 'pause_campaign') or campaign_id is not null)
);
comment on table public.ai_marketing_recommendations is
  'Rule-based marketing proposals per partner (budget up/down, a landing page, pausing a campaign), pending until a partner or admin approves or rejects them, or they expire.';
-- No two pending proposals of one kind for the same partner, segment and campaign ...
create unique index ai_marketing_recommendations_pending_key
  on public.ai_marketing_recommendations (partner_id, segment_id, campaign_id, type) nulls not distinct
  where status = 'pending';
-- ... and one per night, so a second run of the same night adds nothing whatever was decided since.
create unique index ai_marketing_recommendations_night_key
  on public.ai_marketing_recommendations (partner_id, segment_id, campaign_id, type, for_date) nulls not distinct;
create index ai_marketing_recommendations_segment_id_idx on public.ai_marketing_recommendations (segment_id);
create index ai_marketing_recommendations_campaign_id_idx on public.ai_marketing_recommendations (campaign_id);
create index ai_marketing_recommendations_decided_by_idx on public.ai_marketing_recommendations (decided_by);
create index ai_marketing_recommendations_pending_expiry_idx
  on public.ai_marketing_recommendations (expires_at) where status = 'pending';

-- The budget audit trail and worker queue also carries partner campaign budget changes.
alter table public.channel_orchestration_log
  add column partner_campaign_id uuid references public.partner_marketing_campaigns (id) on delete cascade,
  add column recommendation_id uuid references public.ai_marketing_recommendations (id) on delete set null,
  add constraint channel_orchestration_log_has_target
    check (segment_id is not null or partner_campaign_id is not null);
create index channel_orchestration_log_partner_campaign_id_idx
  on public.channel_orchestration_log (partner_campaign_id);
create index channel_orchestration_log_recommendation_id_idx
  on public.channel_orchestration_log (recommendation_id);
-- One change per partner campaign, channel and Amsterdam day: the +-20% a day cannot compound.
create unique index channel_orchestration_log_partner_campaign_day_key
  on public.channel_orchestration_log (partner_campaign_id, channel, date) where partner_campaign_id is not null;

-- Tunables of the recommendation rules (global, not per segment).
insert into public.lead_flow_setting_definitions
  (key, value_type, default_value, min_value, max_value, allowed_values, per_segment, description) values
  ('partner_recommendation_ttl_hours', 'numeric', '72', 1, 8760, null, false,
   'Hours a partner marketing recommendation stays pending before it expires.'),
  ('partner_min_gap_leads', 'numeric', '1', 0, 100000, null, false,
   'Smallest |gap| in leads per day for which a partner budget change is proposed.'),
  ('partner_pause_after_days', 'numeric', '14', 1, 365, null, false,
   'A campaign with spend but no lead for this many days (and spend of at least 3 target CPLs) gets a pause proposal.')
on conflict (key) do nothing;
insert into public.lead_flow_settings (key, value)
select key, default_value from public.lead_flow_setting_definitions
 where key in ('partner_recommendation_ttl_hours', 'partner_min_gap_leads', 'partner_pause_after_days')
on conflict do nothing;

-- Bookkeeping of the partner marketing night: which day ran, when, with what result.
create table lead_flow.partner_marketing_runs (
  date date primary key,
  status text not null check (status in ('success', 'failed')),
  started_at timestamptz not null,
  finished_at timestamptz not null,
  details jsonb not null default '{}',
  error text
);

-- 2.1 The marketing profile, on the platform's profiles table; each column (and its check) added only
-- where the platform lacks the column, so a column of the platform's own never gets a check of ours.
-- Constant defaults: a catalog change, no rewrite. The checks are added NOT VALID, so nothing scans
-- profiles under this migration's exclusive lock (a lead insert checks its user_id against profiles
-- and would wait); migration 0014 validates them under a lock that lets writes through. Last in this
-- migration, so the lock is held only until the commit.
do $$
declare
  c record;
begin
  for c in
    select * from (values
      ('marketing_mode', $c$text not null default 'leads_only'$c$, 'profiles_marketing_mode_known',
       $c$marketing_mode in ('leads_only', 'hybrid', 'full_marketing')$c$),
      ('auto_marketing_enabled', 'boolean not null default false', null, null),
      ('monthly_marketing_budget', 'numeric(12, 2) not null default 0',
       'profiles_monthly_marketing_budget_nonnegative', 'monthly_marketing_budget >= 0'),
      ('preferred_channels', $c$text[] not null default '{}'$c$, null, null),
      ('brand_color', 'text', 'profiles_brand_color_hex', $c$brand_color ~ '^#[0-9a-fA-F]{6}$'$c$),
      ('logo_url', 'text', 'profiles_logo_url_https', $c$logo_url ~ '^https?://\S+$' and length(logo_url) <= 2000$c$),
      ('tone_of_voice', 'text', 'profiles_tone_of_voice_length', 'length(tone_of_voice) <= 2000')
    ) as t (col, type, check_name, check_expr)
  loop
    if not exists (select from pg_catalog.pg_attribute
                    where attrelid = 'public.profiles'::regclass and attname = c.col and not attisdropped) then
      execute format('alter table public.profiles add column %I %s', c.col, c.type);
      if c.check_name is not null then
        execute format('alter table public.profiles add constraint %I check (%s) not valid', c.check_name, c.check_expr);
      end if;
    end if;
  end loop;
end
$$;

-- Safe at once, whatever fails next: RLS on and Supabase's default grants to anon and authenticated taken
-- back in this same transaction; policies and the API roles' grants are sql/94_security_partner_marketing.sql's.
do $$
declare
  t text;
begin
  foreach t in array array['partner_segments', 'partner_landing_pages', 'partner_marketing_campaigns',
                           'partner_lead_gaps', 'ai_marketing_recommendations'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on public.%I from anon, authenticated', t);
  end loop;
end
$$;
