-- Partner marketing: validation and bookkeeping triggers, the backfill of partner segments, the
-- nightly steps (partner lead stats + demand planning, campaign totals, rule-based recommendations,
-- expiry), the decision on a recommendation, and the pg_cron schedule after the segment pipeline.
-- Everything set-based: one statement handles every partner, segment and campaign.

-- ---------------------------------------------------------------------------------------------
-- Validation with messages a person can act on (the check constraints stay as the backstop).
-- ---------------------------------------------------------------------------------------------

create or replace function lead_flow.tg_profiles__validate_marketing() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.marketing_mode is null or new.marketing_mode not in ('leads_only', 'hybrid', 'full_marketing') then
      raise exception 'marketing_mode must be one of leads_only, hybrid, full_marketing; got "%"',
        left(new.marketing_mode, 100) using errcode = '22023';
    end if;
    if new.monthly_marketing_budget is null or new.monthly_marketing_budget < 0 then
      raise exception 'monthly_marketing_budget must be 0 or more EUR; got %', new.monthly_marketing_budget
        using errcode = '22023';
    end if;
    if new.brand_color is not null and new.brand_color !~ '^#[0-9a-fA-F]{6}$' then
      raise exception 'brand_color must be a hex colour like #1a2b3c; got "%"', left(new.brand_color, 100)
        using errcode = '22023';
    end if;
    if new.logo_url is not null and (new.logo_url !~ '^https?://\S+$' or length(new.logo_url) > 2000) then
      raise exception 'logo_url must be an http(s) URL without spaces, at most 2000 characters'
        using errcode = '22023';
    end if;
    if new.tone_of_voice is not null and length(new.tone_of_voice) > 2000 then
      raise exception 'tone_of_voice must be at most 2000 characters' using errcode = '22023';
    end if;
    -- Eight channels exist; more entries are repeats (and a million of them would be a cheap way to
    -- make every later read of the profile expensive).
    if coalesce(cardinality(new.preferred_channels), 0) > 8 then
      raise exception 'preferred_channels may hold at most 8 channels; got %', cardinality(new.preferred_channels)
        using errcode = '22023';
    end if;
    if new.preferred_channels is not null and not new.preferred_channels <@
         array['google_ads', 'meta', 'microsoft_ads', 'linkedin', 'tiktok', 'seo', 'microsite', 'other'] then
      raise exception 'preferred_channels may hold google_ads, meta, microsoft_ads, linkedin, tiktok, seo, microsite, other; got %',
        left(new.preferred_channels::text, 200) using errcode = '22023';
    end if;
    return new;
  end
  $$;
comment on function lead_flow.tg_profiles__validate_marketing() is
  'Refuses invalid marketing profile fields (mode, budget, colour, logo URL and tone of voice of at most 2000 '
  'characters, at most 8 known channels) with a 22023 message naming the field.';
-- Its trigger on the platform's profiles (tg_profiles__validate_marketing) is migration 0015's.

-- A new active primary link demotes the partner's previous primary, so "at most one" never bites users.
create or replace function lead_flow.tg_partner_segments__one_primary() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.priority is null or new.priority not between 1 and 100 then
      raise exception 'priority must be between 1 and 100; got %', new.priority using errcode = '22023';
    end if;
    if new.is_active and new.is_primary then
      update public.partner_segments ps
         set is_primary = false
       where ps.partner_id = new.partner_id and ps.id <> new.id and ps.is_primary and ps.is_active;
    end if;
    new.updated_at := now();
    return new;
  end
  $$;
comment on function lead_flow.tg_partner_segments__one_primary() is
  'Checks priority (1-100) and, when a link becomes the active primary, demotes the partner''s other primary link.';
create or replace trigger tg_partner_segments__one_primary
  before insert or update on public.partner_segments
  for each row execute function lead_flow.tg_partner_segments__one_primary();

create or replace function lead_flow.tg_partner_landing_pages__validate() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.path is null or length(new.path) > 200 or new.path !~ '^/[a-z0-9]+([-/][a-z0-9]+)*$' then
      raise exception 'path must be a safe URL path such as /schilder/eindhoven: it starts with /, holds only '
                      'lower-case letters, digits, single - and / between them (no spaces, no .., no //), '
                      'at most 200 characters; got "%"', left(new.path, 200)
        using errcode = '22023';
    end if;
    if new.status is null or new.status not in ('draft', 'review', 'published', 'archived') then
      raise exception 'status must be one of draft, review, published, archived; got "%"', left(new.status, 100)
        using errcode = '22023';
    end if;
    if new.source is null or new.source not in ('manual', 'template', 'ai') then
      raise exception 'source must be one of manual, template, ai; got "%"', left(new.source, 100)
        using errcode = '22023';
    end if;
    if new.content_json is null or jsonb_typeof(new.content_json) <> 'object' then
      raise exception 'content_json must be a JSON object' using errcode = '22023';
    end if;
    -- Bounds a page author never reaches and an attacker gains nothing from (the constraints of
    -- migrations 0008 and 0019 are the backstop; these say which field and what limit).
    if octet_length(new.content_json::text) > 262144 then
      raise exception 'content_json is % bytes as JSON; at most 262144 (256 kB) are allowed',
        octet_length(new.content_json::text) using errcode = '22023';
    end if;
    if length(new.title) > 200 then
      raise exception 'title is % characters long; at most 200 are allowed', length(new.title) using errcode = '22023';
    end if;
    if length(new.subtitle) > 500 then
      raise exception 'subtitle is % characters long; at most 500 are allowed', length(new.subtitle)
        using errcode = '22023';
    end if;
    if length(new.seo_title) > 200 then
      raise exception 'seo_title is % characters long; at most 200 are allowed', length(new.seo_title)
        using errcode = '22023';
    end if;
    if length(new.seo_description) > 1000 then
      raise exception 'seo_description is % characters long; at most 1000 are allowed', length(new.seo_description)
        using errcode = '22023';
    end if;
    if new.status = 'published' and coalesce(btrim(new.title), '') = '' then
      raise exception 'a landing page needs a title before it is published' using errcode = '22023';
    end if;
    if new.status = 'published' and (tg_op = 'INSERT' or old.status <> 'published') then
      new.published_at := now();
    end if;
    new.updated_at := now();
    return new;
  end
  $$;
comment on function lead_flow.tg_partner_landing_pages__validate() is
  'Refuses an unsafe path, unknown status or source, non-object content or content over 256 kB, over-long title '
  '(200), subtitle (500), seo_title (200) or seo_description (1000), and publishing without a title (22023); stamps '
  'published_at.';
create or replace trigger tg_partner_landing_pages__validate
  before insert or update on public.partner_landing_pages
  for each row execute function lead_flow.tg_partner_landing_pages__validate();

-- True when a Google Ads campaign is one of the platform's segment campaigns (admin-only table),
-- which a partner campaign must never point at: approving its budget change would move the
-- platform's spend.
create or replace function lead_flow.is_platform_campaign(p_customer_id text, p_campaign_id text) returns boolean
  language sql stable security definer set search_path = ''
  as $$
    select exists (select from public.lead_segment_campaigns c
                    where c.customer_id = p_customer_id and c.campaign_id = p_campaign_id)
  $$;
comment on function lead_flow.is_platform_campaign(text, text) is
  'Whether customer_id/campaign_id is mapped to a segment in lead_segment_campaigns (the platform''s own campaigns).';
revoke all on function lead_flow.is_platform_campaign(text, text) from public, anon, authenticated;
grant execute on function lead_flow.is_platform_campaign(text, text) to authenticated, service_role;

create or replace function lead_flow.tg_partner_marketing_campaigns__validate() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.channel is null or new.channel not in ('google_ads', 'meta', 'microsoft_ads', 'linkedin', 'tiktok', 'other') then
      raise exception 'channel must be one of google_ads, meta, microsoft_ads, linkedin, tiktok, other; got "%"',
        left(new.channel, 100) using errcode = '22023';
    end if;
    if new.daily_budget < 0 or new.monthly_budget < 0 then
      raise exception 'budgets must be 0 or more EUR; got daily %, monthly %', new.daily_budget, new.monthly_budget
        using errcode = '22023';
    end if;
    if new.cpl_target <= 0 then
      raise exception 'cpl_target must be more than 0 EUR; got %', new.cpl_target using errcode = '22023';
    end if;
    if length(new.name) > 200 then
      raise exception 'name is % characters long; at most 200 are allowed', length(new.name) using errcode = '22023';
    end if;
    if length(new.budget_resource_name) > 100 then
      raise exception 'budget_resource_name is % characters long; at most 100 are allowed',
        length(new.budget_resource_name) using errcode = '22023';
    end if;
    if new.channel = 'google_ads' and new.external_campaign_id is not null
       and (new.external_campaign_id !~ '^[0-9]{1,20}$' or new.customer_id is null or new.customer_id !~ '^[0-9]{10}$'
            or new.budget_resource_name is null
            or new.budget_resource_name !~ '^customers/[0-9]+/campaignBudgets/[0-9]+$') then
      raise exception 'a google_ads campaign needs a numeric external_campaign_id, a 10-digit customer_id and a '
                      'budget_resource_name like customers/1234567890/campaignBudgets/987'
        using errcode = '22023';
    end if;
    if new.channel = 'google_ads' and new.external_campaign_id is not null
       and new.budget_resource_name not like 'customers/' || new.customer_id || '/%' then
      raise exception 'budget_resource_name % does not belong to customer %', new.budget_resource_name, new.customer_id
        using errcode = '22023';
    end if;
    if new.channel = 'google_ads' and new.external_campaign_id is not null
       and lead_flow.is_platform_campaign(new.customer_id, new.external_campaign_id) then
      raise exception 'Google Ads campaign %/% is one of the platform''s segment campaigns, not a partner campaign',
        new.customer_id, new.external_campaign_id using errcode = '22023';
    end if;
    if new.external_campaign_id is not null and new.external_campaign_id !~ '^[A-Za-z0-9_-]{1,64}$' then
      raise exception 'external_campaign_id may hold letters, digits, _ and - (at most 64); got "%"',
        left(new.external_campaign_id, 100) using errcode = '22023';
    end if;
    if new.status is null or new.status not in ('draft', 'active', 'paused', 'ended') then
      raise exception 'status must be one of draft, active, paused, ended; got "%"', left(new.status, 100)
        using errcode = '22023';
    end if;
    new.updated_at := now();
    return new;
  end
  $$;
comment on function lead_flow.tg_partner_marketing_campaigns__validate() is
  'Refuses unknown channels and statuses, negative budgets, a non-positive CPL target, a name over 200 or a '
  'budget_resource_name over 100 characters, and incomplete Google Ads ids (22023).';
create or replace trigger tg_partner_marketing_campaigns__validate
  before insert or update on public.partner_marketing_campaigns
  for each row execute function lead_flow.tg_partner_marketing_campaigns__validate();

-- Every budget change of a partner campaign leaves a line in lead_flow_logs, whoever made it.
create or replace function lead_flow.tg_partner_marketing_campaigns__log_budget() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if tg_op = 'INSERT' or new.daily_budget is distinct from old.daily_budget
       or new.monthly_budget is distinct from old.monthly_budget then
      perform lead_flow.log('info', format('partner campaign %s budget: daily %s -> %s, monthly %s -> %s',
                                           new.id,
                                           case when tg_op = 'UPDATE' then old.daily_budget end, new.daily_budget,
                                           case when tg_op = 'UPDATE' then old.monthly_budget end, new.monthly_budget),
                            jsonb_build_object('partner_campaign_id', new.id, 'partner_id', new.partner_id,
                                               'by', lead_flow.jwt_user_id(), 'op', tg_op));
    end if;
    return null;
  end
  $$;
comment on function lead_flow.tg_partner_marketing_campaigns__log_budget() is
  'Writes a lead_flow_logs line for every new partner campaign and every change of its daily or monthly budget.';
revoke all on function lead_flow.tg_partner_marketing_campaigns__log_budget() from public, anon, authenticated;
create or replace trigger tg_partner_marketing_campaigns__log_budget
  after insert or update of daily_budget, monthly_budget on public.partner_marketing_campaigns
  for each row execute function lead_flow.tg_partner_marketing_campaigns__log_budget();

do $$
declare
  t text;
begin
  foreach t in array array['partner_lead_gaps', 'ai_marketing_recommendations'] loop
    execute format('create or replace trigger tg_%1$s__touch_updated_at before update on public.%1$I
                    for each row execute function lead_flow.tg_touch_updated_at()', t);
  end loop;
end
$$;

-- When the worker completes a partner campaign's budget change: the campaign's daily budget
-- follows what Google Ads now has, and the recommendation behind it is applied.
create or replace function lead_flow.tg_channel_orchestration_log__apply_partner_change() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if new.status = 'success' then
      update public.partner_marketing_campaigns c
         set daily_budget = coalesce(new.applied_value, new.new_value), ai_last_adjusted_at = now()
       where c.id = new.partner_campaign_id;
      update public.ai_marketing_recommendations r
         set status = 'applied'
       where r.id = new.recommendation_id and r.status = 'approved';
    end if;
    perform lead_flow.log(case when new.status = 'success' then 'info' else 'warning' end,
                          format('partner campaign %s budget change %s: %s -> %s (%s)', new.partner_campaign_id,
                                 new.status, new.old_value, coalesce(new.applied_value, new.new_value),
                                 coalesce(new.error_message, new.reason, '')),
                          jsonb_build_object('log_id', new.id, 'partner_campaign_id', new.partner_campaign_id,
                                             'recommendation_id', new.recommendation_id, 'status', new.status,
                                             'live_value', new.live_value));
    return null;
  end
  $$;
comment on function lead_flow.tg_channel_orchestration_log__apply_partner_change() is
  'On a partner campaign budget change reaching success: sets the campaign''s daily_budget to the applied amount and marks its recommendation applied; logs every outcome.';
revoke all on function lead_flow.tg_channel_orchestration_log__apply_partner_change() from public, anon, authenticated;
create or replace trigger tg_channel_orchestration_log__apply_partner_change
  after update of status on public.channel_orchestration_log
  for each row
  when (new.partner_campaign_id is not null and new.status is distinct from old.status
        and new.status in ('success', 'failed', 'conflict'))
  execute function lead_flow.tg_channel_orchestration_log__apply_partner_change();

-- ---------------------------------------------------------------------------------------------
-- Backfill: explicit links for partners that have none yet, from their profile arrays.
-- ---------------------------------------------------------------------------------------------
create or replace function lead_flow.backfill_partner_segments() returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_rows integer;
  begin
    -- For a partner without links, partner_segment_matches is the profile-array matching.
    insert into public.partner_segments (partner_id, segment_id, is_primary, priority)
    select m.partner_id, m.segment_id,
           coalesce(s.branch = lead_flow.normalize_branch(p.primary_branch), false)
             and row_number() over (partition by m.partner_id
                                    order by (s.branch = lead_flow.normalize_branch(p.primary_branch)) desc nulls last,
                                             s.code) = 1,
           1
      from lead_flow.partner_segment_matches m
      join public.profiles p on p.id = m.partner_id
      join public.lead_segments s on s.id = m.segment_id
     where not exists (select from public.partner_segments ps where ps.partner_id = m.partner_id)
    on conflict do nothing;
    get diagnostics v_rows = row_count;
    perform lead_flow.log('info', format('partner segments backfilled: %s links', v_rows), '{}');
    return v_rows;
  end
  $$;
comment on function lead_flow.backfill_partner_segments() is
  'Links every partner that has no partner_segments row to the segments its profile arrays match (primary: its primary branch); returns links added. Idempotent.';
revoke all on function lead_flow.backfill_partner_segments() from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- Nightly steps for day D (an Europe/Amsterdam calendar day).
-- ---------------------------------------------------------------------------------------------

-- Partner lead stats and demand planning: per partner and matched segment, the target (the
-- partner's max_open_leads spread over its segments by priority weight), the platform leads
-- (assigned to it, not from its own campaigns), its own-campaign leads, and gap = target - actual.
create or replace function lead_flow.plan_partner_lead_gaps(p_date date) returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_rows integer;
    v_t0 timestamptz := p_date::timestamp at time zone 'Europe/Amsterdam';
    v_t1 timestamptz := (p_date + 1)::timestamp at time zone 'Europe/Amsterdam';
  begin
    if p_date is null then
      raise exception 'a date is required' using errcode = '22023';
    end if;
    with matched as (
      select m.partner_id, m.segment_id, coalesce(ps.priority, 1) as weight
        from lead_flow.partner_segment_matches m
        left join public.partner_segments ps
          on ps.partner_id = m.partner_id and ps.segment_id = m.segment_id and ps.is_active
    ), targets as (
      select x.partner_id, x.segment_id,
             round(p.max_open_leads * x.weight::numeric / sum(x.weight) over (partition by x.partner_id), 2) as target
        from matched x
        join public.profiles p on p.id = x.partner_id
    ), day_leads as (
      select l.id, l.user_id, l.segment_id, l.source_campaign_id
        from public.leads l
       where l.created_at >= v_t0 and l.created_at < v_t1
    ), own as (
      select c.partner_id, coalesce(d.segment_id, c.segment_id) as segment_id, count(distinct d.id) as n
        from day_leads d
        join public.partner_marketing_campaigns c on c.external_campaign_id = d.source_campaign_id
       group by 1, 2
    ), platform as (
      select d.user_id as partner_id, d.segment_id, count(*) as n
        from day_leads d
       where d.user_id is not null and d.segment_id is not null
         and not exists (select from public.partner_marketing_campaigns c
                          where c.partner_id = d.user_id and c.external_campaign_id = d.source_campaign_id)
       group by 1, 2
    )
    insert into public.partner_lead_gaps as g
      (partner_id, segment_id, date, target_leads, platform_leads, own_campaign_leads, lead_gap)
    select t.partner_id, t.segment_id, p_date, t.target, coalesce(pl.n, 0), coalesce(o.n, 0),
           t.target - coalesce(pl.n, 0) - coalesce(o.n, 0)
      from targets t
      left join platform pl on pl.partner_id = t.partner_id and pl.segment_id = t.segment_id
      left join own o on o.partner_id = t.partner_id and o.segment_id = t.segment_id
    on conflict (partner_id, segment_id, date) do update
       set target_leads = excluded.target_leads, platform_leads = excluded.platform_leads,
           own_campaign_leads = excluded.own_campaign_leads, lead_gap = excluded.lead_gap
     where (g.target_leads, g.platform_leads, g.own_campaign_leads, g.lead_gap)
           is distinct from (excluded.target_leads, excluded.platform_leads, excluded.own_campaign_leads,
                             excluded.lead_gap);
    get diagnostics v_rows = row_count;

    -- A partner that no longer serves a segment has no gap there that day.
    delete from public.partner_lead_gaps g
     where g.date = p_date
       and not exists (select from lead_flow.partner_segment_matches m
                        where m.partner_id = g.partner_id and m.segment_id = g.segment_id);
    return v_rows;
  end
  $$;
comment on function lead_flow.plan_partner_lead_gaps(date) is
  'Upserts partner_lead_gaps for Amsterdam day p_date for every partner x matched segment in one statement (target by priority weight, platform vs own-campaign leads, gap); drops rows of pairs no longer matched. Idempotent.';
revoke all on function lead_flow.plan_partner_lead_gaps(date) from public, anon, authenticated;

-- Campaign totals follow the metrics the worker pulls (campaign_daily_metrics) and the leads
-- attributed to the campaign; only rows that change are written. NULL: every campaign.
drop function if exists lead_flow.sync_partner_campaign_totals();
create or replace function lead_flow.sync_partner_campaign_totals(p_campaign_ids uuid[] default null)
  returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_rows integer;
  begin
    with scope as (
      select c.id, c.channel, c.customer_id, c.external_campaign_id
        from public.partner_marketing_campaigns c
       where p_campaign_ids is null or c.id = any (p_campaign_ids)
    ), metrics as (
      select c.id, sum(m.cost) as spend, sum(m.clicks) as clicks
        from scope c
        join public.campaign_daily_metrics m
          on m.customer_id = c.customer_id and m.campaign_id = c.external_campaign_id
       where c.channel = 'google_ads'
       group by c.id
    ), attributed as (
      select c.id, count(l.id) as n
        from scope c
        join public.leads l on l.source_campaign_id = c.external_campaign_id
       group by c.id
    ), totals as (
      select c.id, coalesce(m.spend, 0) as spend, coalesce(m.clicks, 0) as clicks, coalesce(a.n, 0)::integer as leads
        from scope c
        left join metrics m on m.id = c.id
        left join attributed a on a.id = c.id
    )
    update public.partner_marketing_campaigns c
       set total_spend = t.spend, total_clicks = t.clicks, total_leads = t.leads,
           avg_cpl = case when t.leads > 0 and t.spend > 0 then round(t.spend / t.leads, 2) end,
           metrics_synced_at = now()
      from totals t
     where t.id = c.id
       and (c.total_spend, c.total_clicks, c.total_leads, c.avg_cpl)
           is distinct from (t.spend, t.clicks, t.leads,
                             case when t.leads > 0 and t.spend > 0 then round(t.spend / t.leads, 2) end);
    get diagnostics v_rows = row_count;
    return v_rows;
  end
  $$;
comment on function lead_flow.sync_partner_campaign_totals(uuid[]) is
  'Sets total_spend, total_clicks (from campaign_daily_metrics), total_leads (leads with the campaign''s source_campaign_id) and avg_cpl of the given partner campaigns (NULL: all); returns campaigns changed.';
revoke all on function lead_flow.sync_partner_campaign_totals(uuid[]) from public, anon, authenticated;

-- The worker's metric pull (record_campaign_metrics upserts campaign_daily_metrics) brings the
-- totals of the partner campaigns it touched up to date, once per statement.
create or replace function lead_flow.tg_campaign_daily_metrics__sync_partner_totals() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    v_ids uuid[];
  begin
    select array_agg(distinct c.id) into v_ids
      from changed m
      join public.partner_marketing_campaigns c
        on c.channel = 'google_ads' and c.customer_id = m.customer_id and c.external_campaign_id = m.campaign_id;
    if v_ids is not null then
      perform lead_flow.sync_partner_campaign_totals(v_ids);
    end if;
    return null;
  end
  $$;
comment on function lead_flow.tg_campaign_daily_metrics__sync_partner_totals() is
  'After metrics are recorded: re-computes the totals of the partner campaigns whose metrics changed.';
revoke all on function lead_flow.tg_campaign_daily_metrics__sync_partner_totals() from public, anon, authenticated;
create or replace trigger tg_campaign_daily_metrics__sync_partner_totals_ins
  after insert on public.campaign_daily_metrics referencing new table as changed
  for each statement execute function lead_flow.tg_campaign_daily_metrics__sync_partner_totals();
create or replace trigger tg_campaign_daily_metrics__sync_partner_totals_upd
  after update on public.campaign_daily_metrics referencing new table as changed
  for each statement execute function lead_flow.tg_campaign_daily_metrics__sync_partner_totals();

create or replace function lead_flow.expire_marketing_recommendations() returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_rows integer;
  begin
    update public.ai_marketing_recommendations r
       set status = 'expired', decision_reason = coalesce(r.decision_reason, 'expired without a decision')
     where r.status = 'pending' and r.expires_at <= now();
    get diagnostics v_rows = row_count;
    return v_rows;
  end
  $$;
comment on function lead_flow.expire_marketing_recommendations() is
  'Marks every pending recommendation whose expires_at has passed as expired; returns how many.';
revoke all on function lead_flow.expire_marketing_recommendations() from public, anon, authenticated;

-- Spend of a partner's Google Ads campaigns on Amsterdam days [p_from, p_to] (EUR).
create or replace function lead_flow.partner_ads_spend(p_partner_id uuid, p_from date, p_to date) returns numeric
  language sql stable set search_path = ''
  as $$
    select coalesce(sum(m.cost), 0)
      from public.partner_marketing_campaigns c
      join public.campaign_daily_metrics m
        on m.customer_id = c.customer_id and m.campaign_id = c.external_campaign_id
     where c.partner_id = p_partner_id and c.channel = 'google_ads' and m.date between p_from and p_to
  $$;
comment on function lead_flow.partner_ads_spend(uuid, date, date) is
  'Total cost of a partner''s Google Ads campaigns over the given Amsterdam days (0 when none).';
revoke all on function lead_flow.partner_ads_spend(uuid, date, date) from public, anon, authenticated;

-- Rule-based recommendations for night D (the proposal is the budget for D+1 onward):
--  * only partners with auto_marketing_enabled and marketing_mode <> leads_only;
--  * budget: active, ai_managed Google Ads campaigns of the partner in a segment where its |gap| is
--    at least partner_min_gap_leads, and no change already queued: desired = budget + gap x CPL
--    (the campaign's own, else its target, else the segment's default), through the segment
--    pipeline's hard limits (+-max_daily_budget_change a day, min/max, launch budget), then an
--    increase is cut so the partner's month (spend so far + remaining days x all its daily budgets)
--    stays within monthly_marketing_budget (several increases of one partner share the headroom);
--  * create_landing_page: a gap of at least partner_min_gap_leads and no (non-archived) page there;
--  * pause_campaign: spend of at least 3 target CPLs over partner_pause_after_days and no lead.
-- Pending ones past expires_at expire; a newer budget proposal for a campaign supersedes older
-- pending ones; the night key makes a second run of the same night add nothing.
create or replace function lead_flow.generate_partner_recommendations(p_date date) returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_rows integer := 0;
    v_n integer;
    v_next date := p_date + 1;
    v_month_start date := date_trunc('month', (p_date + 1)::timestamp)::date;
    v_remaining integer := ((date_trunc('month', (p_date + 1)::timestamp) + interval '1 month')::date - (p_date + 1));
    v_expires timestamptz := now() + make_interval(hours => (lead_flow.setting('partner_recommendation_ttl_hours'))::text::int);
    v_min_gap numeric := (lead_flow.setting('partner_min_gap_leads'))::text::numeric;
    v_pause_days integer := (lead_flow.setting('partner_pause_after_days'))::text::int;
  begin
    if p_date is null then
      raise exception 'a date is required' using errcode = '22023';
    end if;
    perform lead_flow.expire_marketing_recommendations();

    if to_regclass('pg_temp.pm_budget_proposals') is null then
      create temp table pm_budget_proposals (
        campaign_id uuid, partner_id uuid, segment_id uuid, type text, old_budget numeric, new_budget numeric,
        payload jsonb, reason text
      ) on commit drop;
    end if;
    -- The same columns for plpgsql_check (tests/test_db_lint.py), which cannot see a table made at
    -- run time; at run time this only evaluates a constant (one string: a pragma takes no newline).
    perform 'PRAGMA:TABLE: pg_temp.pm_budget_proposals (campaign_id uuid, partner_id uuid, segment_id uuid, '
            'type text, old_budget numeric, new_budget numeric, payload jsonb, reason text)';
    truncate pg_temp.pm_budget_proposals;

    insert into pg_temp.pm_budget_proposals
    with eligible as (
      select p.id as partner_id, p.monthly_marketing_budget
        from public.profiles p
       where p.auto_marketing_enabled and p.marketing_mode <> 'leads_only' and not p.is_admin
    ), month_spend as (
      select c.partner_id, sum(m.cost) as spent
        from public.partner_marketing_campaigns c
        join eligible e on e.partner_id = c.partner_id
        join public.campaign_daily_metrics m
          on m.customer_id = c.customer_id and m.campaign_id = c.external_campaign_id
       where c.channel = 'google_ads' and m.date >= v_month_start and m.date <= p_date
       group by c.partner_id
    ), partner_daily as (
      select c.partner_id, sum(c.daily_budget) as total_daily
        from public.partner_marketing_campaigns c
        join eligible e on e.partner_id = c.partner_id
       where c.status = 'active' and c.daily_budget is not null
       group by c.partner_id
    ), candidates as (
      select c.id, c.partner_id, c.segment_id, c.daily_budget as current_budget, g.lead_gap,
             e.monthly_marketing_budget,
             coalesce(ms.spent, 0) as spent, coalesce(pd.total_daily, 0) as total_daily,
             coalesce(case when c.total_leads >= 5 then nullif(c.avg_cpl, 0) end, c.cpl_target,
                      (ss.settings ->> 'default_cost_per_lead')::numeric) as cpl,
             ss.settings
        from public.partner_marketing_campaigns c
        join eligible e on e.partner_id = c.partner_id
        join public.partner_lead_gaps g
          on g.partner_id = c.partner_id and g.segment_id = c.segment_id and g.date = p_date
        join lead_flow.segment_settings ss on ss.segment_id = c.segment_id
        left join month_spend ms on ms.partner_id = c.partner_id
        left join partner_daily pd on pd.partner_id = c.partner_id
       where c.channel = 'google_ads' and c.status = 'active' and c.ai_managed
         and c.external_campaign_id is not null and c.daily_budget is not null
         and abs(g.lead_gap) >= greatest(v_min_gap, 0.01)
         and not exists (select from public.channel_orchestration_log o
                          where o.partner_campaign_id = c.id and o.status in ('pending', 'in_progress'))
    ), limited as (
      select x.*, round(x.current_budget + x.lead_gap * x.cpl, 2) as desired, h.new_budget as limited_budget,
             nullif(h.limited_by, 'none') as limited_by, h.note
        from candidates x
        -- The segment pipeline's hard limits (sql/60_budget_maths.sql), with the segment's settings.
        cross join lateral public.limit_daily_budget(
                x.current_budget, x.current_budget + x.lead_gap * x.cpl,
                (x.settings ->> 'max_daily_budget_change')::numeric, (x.settings ->> 'min_budget')::numeric,
                (x.settings ->> 'max_budget')::numeric, (x.settings ->> 'launch_budget')::numeric) h
    ), capped as (
      -- The month's headroom per remaining day, shared by the partner's increases, biggest gap first.
      select l.*,
             greatest(0, floor(((l.monthly_marketing_budget - l.spent) / v_remaining - l.total_daily) * 100) / 100)
               as headroom,
             coalesce(sum(greatest(l.limited_budget - l.current_budget, 0))
                        over (partition by l.partner_id order by l.lead_gap desc, l.id
                              rows between unbounded preceding and 1 preceding), 0) as used_before
        from limited l
    ), proposed as (
      select c.*,
             case when c.limited_budget > c.current_budget
                  then c.current_budget + least(c.limited_budget - c.current_budget,
                                                greatest(c.headroom - c.used_before, 0))
                  else c.limited_budget end as new_budget
        from capped c
    )
    select p.id, p.partner_id, p.segment_id,
           case when p.new_budget > p.current_budget then 'increase_budget' else 'decrease_budget' end,
           p.current_budget, p.new_budget,
           jsonb_build_object('old_daily_budget', p.current_budget, 'new_daily_budget', p.new_budget,
                              'desired_daily_budget', p.desired, 'lead_gap', p.lead_gap, 'cost_per_lead', p.cpl,
                              'limited_by', case when p.new_budget < p.limited_budget then 'monthly_marketing_budget'
                                                 else p.limited_by end,
                              'month_spent', p.spent, 'month_remaining_days', v_remaining,
                              'monthly_marketing_budget', p.monthly_marketing_budget,
                              'budget_for', v_next),
           format('gap %s leads/day at CPL %s wants %s -> %s; %s%s -> proposed %s',
                  p.lead_gap, p.cpl, p.current_budget, p.desired, coalesce(nullif(p.note, ''), 'within the hard limits'),
                  case when p.new_budget < p.limited_budget
                       then format('; month budget %s, spent %s, %s days left, daily budgets %s leave +%s a day',
                                   p.monthly_marketing_budget, p.spent, v_remaining, p.total_daily,
                                   greatest(p.headroom - p.used_before, 0))
                       else '' end,
                  p.new_budget)
      from proposed p
     where abs(p.new_budget - p.current_budget) >= 0.01;

    -- A newer proposal for a campaign replaces the older pending ones.
    update public.ai_marketing_recommendations r
       set status = 'expired', decision_reason = format('superseded by the recommendation of night %s', p_date)
      from pg_temp.pm_budget_proposals b
     where r.campaign_id = b.campaign_id and r.status = 'pending'
       and r.type in ('increase_budget', 'decrease_budget') and r.for_date < p_date;

    insert into public.ai_marketing_recommendations
      (partner_id, segment_id, campaign_id, type, for_date, payload, reason, expires_at)
    select b.partner_id, b.segment_id, b.campaign_id, b.type, p_date, b.payload, b.reason, v_expires
      from pg_temp.pm_budget_proposals b
    on conflict do nothing;
    get diagnostics v_n = row_count;
    v_rows := v_rows + v_n;

    -- A landing page where the partner is short of leads and has none for the segment.
    insert into public.ai_marketing_recommendations
      (partner_id, segment_id, type, for_date, payload, reason, expires_at)
    select g.partner_id, g.segment_id, 'create_landing_page', p_date,
           jsonb_build_object('suggested_path', '/' || replace(s.code, '_', '-') || '/' || left(g.partner_id::text, 8),
                              'suggested_title', initcap(s.branch) || ' in ' || r.name,
                              'lead_gap', g.lead_gap),
           format('gap %s leads/day in %s and no landing page there yet', g.lead_gap, s.code),
           v_expires
      from public.partner_lead_gaps g
      join public.profiles p
        on p.id = g.partner_id and p.auto_marketing_enabled and p.marketing_mode <> 'leads_only' and not p.is_admin
      join public.lead_segments s on s.id = g.segment_id
      join public.regions r on r.slug = s.region
     where g.date = p_date and g.lead_gap >= greatest(v_min_gap, 0.01)
       and not exists (select from public.partner_landing_pages lp
                        where lp.partner_id = g.partner_id and lp.segment_id = g.segment_id and lp.status <> 'archived')
    on conflict do nothing;
    get diagnostics v_n = row_count;
    v_rows := v_rows + v_n;

    -- Pausing a campaign that spends and brings nothing.
    insert into public.ai_marketing_recommendations
      (partner_id, segment_id, campaign_id, type, for_date, payload, reason, expires_at)
    select c.partner_id, c.segment_id, c.id, 'pause_campaign', p_date,
           jsonb_build_object('spend', sp.spend, 'days', v_pause_days, 'leads', 0, 'cpl_target', sp.cpl),
           format('spent %s over the last %s days (%s target CPLs) without a single lead', sp.spend, v_pause_days,
                  round(sp.spend / sp.cpl, 1)),
           v_expires
      from public.partner_marketing_campaigns c
      join public.profiles p
        on p.id = c.partner_id and p.auto_marketing_enabled and p.marketing_mode <> 'leads_only' and not p.is_admin
      cross join lateral (
        select coalesce(sum(m.cost), 0) as spend,
               coalesce(c.cpl_target, (lead_flow.setting('default_cost_per_lead', c.segment_id))::text::numeric) as cpl
          from public.campaign_daily_metrics m
         where m.customer_id = c.customer_id and m.campaign_id = c.external_campaign_id
           and m.date > p_date - v_pause_days and m.date <= p_date) sp
     where c.channel = 'google_ads' and c.status = 'active' and c.ai_managed and c.external_campaign_id is not null
       and c.created_at < (p_date - v_pause_days + 1)::timestamp at time zone 'Europe/Amsterdam'
       and sp.spend >= 3 * sp.cpl
       and not exists (select from public.leads l
                        where l.source_campaign_id = c.external_campaign_id
                          and l.created_at >= (p_date - v_pause_days + 1)::timestamp at time zone 'Europe/Amsterdam'
                          and l.created_at < (p_date + 1)::timestamp at time zone 'Europe/Amsterdam')
    on conflict do nothing;
    get diagnostics v_n = row_count;
    v_rows := v_rows + v_n;
    return v_rows;
  end
  $$;
comment on function lead_flow.generate_partner_recommendations(date) is
  'Rule-based partner recommendations for night p_date (budget up/down within the segment hard limits and the partner''s monthly budget, landing page, pause); expires stale ones; returns recommendations added. A second run of the same night adds nothing.';
revoke all on function lead_flow.generate_partner_recommendations(date) from public, anon, authenticated;

-- The partner marketing night for day D: lead gaps, campaign totals, then (optionally) the
-- recommendations. A failure rolls back this night's writes, is recorded and logged, and returned.
create or replace function lead_flow.run_partner_marketing_nightly(p_date date, p_recommend boolean default true)
  returns jsonb
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_started timestamptz := clock_timestamp();
    v_result jsonb;
  begin
    if p_date is null then
      raise exception 'a date is required' using errcode = '22023';
    end if;
    begin
      v_result := jsonb_build_object(
        'date', p_date,
        'lead_gaps', lead_flow.plan_partner_lead_gaps(p_date),
        'campaign_totals', lead_flow.sync_partner_campaign_totals());
      if p_recommend then
        v_result := v_result || jsonb_build_object('recommendations', lead_flow.generate_partner_recommendations(p_date));
      end if;
    exception when others then
      insert into lead_flow.partner_marketing_runs (date, status, started_at, finished_at, error)
      values (p_date, 'failed', v_started, clock_timestamp(), sqlerrm)
      on conflict (date) do update set status = 'failed', started_at = excluded.started_at,
                                       finished_at = excluded.finished_at, error = excluded.error, details = '{}';
      perform lead_flow.log('error', format('partner marketing night %s failed: %s', p_date, sqlerrm),
                            jsonb_build_object('date', p_date, 'sqlstate', sqlstate));
      return jsonb_build_object('date', p_date, 'status', 'failed', 'error', sqlerrm);
    end;
    insert into lead_flow.partner_marketing_runs (date, status, started_at, finished_at, details)
    values (p_date, 'success', v_started, clock_timestamp(), v_result)
    on conflict (date) do update set status = 'success', started_at = excluded.started_at,
                                     finished_at = excluded.finished_at, details = excluded.details, error = null;
    perform lead_flow.log('info', format('partner marketing night %s done in %s ms', p_date,
                                         round(extract(epoch from clock_timestamp() - v_started) * 1000)),
                          v_result);
    return v_result || jsonb_build_object('status', 'success');
  end
  $$;
comment on function lead_flow.run_partner_marketing_nightly(date, boolean) is
  'Runs the partner marketing night for Amsterdam day p_date (lead gaps, campaign totals, recommendations when p_recommend) and records it in lead_flow.partner_marketing_runs; returns row counts and status (a failure is rolled back, recorded, logged and returned as status failed).';
revoke all on function lead_flow.run_partner_marketing_nightly(date, boolean) from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------
-- Deciding on a recommendation (called by the public approve/reject RPCs in 93).
-- ---------------------------------------------------------------------------------------------

-- Approve (p_approve) or reject a recommendation as the calling user: a partner its own, an admin
-- any, service_role any. Approving a budget change queues ONE pending google_ads change in
-- channel_orchestration_log for the worker; a landing page proposal becomes a draft page.
create or replace function lead_flow.decide_marketing_recommendation(p_id uuid, p_approve boolean, p_reason text)
  returns public.ai_marketing_recommendations
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    r public.ai_marketing_recommendations;
    c public.partner_marketing_campaigns;
    -- jwt_user_id, not auth.uid(): a sub that is not a uuid is nobody, not an error.
    v_uid uuid := lead_flow.jwt_user_id();
    -- Admins, service_role, and a back-end session (psql, the CLI) without a user JWT. Not
    -- current_user: in a SECURITY DEFINER function that is the owner.
    v_trusted boolean := lead_flow.is_admin() or lead_flow.is_back_end();
    v_today date := (now() at time zone 'Europe/Amsterdam')::date;
    v_old numeric;
    v_new numeric;
    v_monthly numeric;
    v_spent numeric;
    v_others numeric;
    v_remaining integer;
    v_log_id uuid;
    v_page_id uuid;
    v_pending bigint;
  begin
    if not (v_trusted or lead_flow.is_partner()) then
      raise exception '% needs a partner or admin profile',
        case when p_approve then 'approve_marketing_recommendation' else 'reject_marketing_recommendation' end
        using errcode = '42501', hint = 'sign in as a partner or an admin of the marketplace';
    end if;
    if p_id is null then
      raise exception 'a recommendation id is required' using errcode = '22023';
    end if;
    if p_reason is not null and length(p_reason) > 2000 then
      raise exception 'reason must be at most 2000 characters' using errcode = '22023';
    end if;
    select * into r from public.ai_marketing_recommendations x where x.id = p_id for update;
    -- Someone else's recommendation is reported exactly like a missing one.
    if not found or not (v_trusted or (v_uid is not null and r.partner_id = v_uid)) then
      raise exception 'marketing recommendation % does not exist', p_id using errcode = '22023';
    end if;
    if r.status <> 'pending' then
      raise exception 'marketing recommendation % is already % (decided %); only a pending one can be %',
        p_id, r.status, coalesce(to_char(r.decided_at at time zone 'Europe/Amsterdam', 'YYYY-MM-DD HH24:MI'), 'by the system'),
        case when p_approve then 'approved' else 'rejected' end
        using errcode = '22023';
    end if;
    if r.expires_at <= now() then
      raise exception 'marketing recommendation % expired at %; wait for a new one',
        p_id, to_char(r.expires_at at time zone 'Europe/Amsterdam', 'YYYY-MM-DD HH24:MI') using errcode = '22023';
    end if;

    if not p_approve then
      update public.ai_marketing_recommendations x
         set status = 'rejected', decided_by = v_uid, decided_at = now(), decision_reason = p_reason
       where x.id = p_id
      returning * into r;
      perform lead_flow.log('info', format('marketing recommendation %s (%s) rejected', p_id, r.type),
                            jsonb_build_object('recommendation_id', p_id, 'partner_id', r.partner_id, 'by', v_uid,
                                               'reason', p_reason));
      return r;
    end if;

    if r.type in ('increase_budget', 'decrease_budget') then
      select * into c from public.partner_marketing_campaigns x where x.id = r.campaign_id for update;
      if not found or c.channel <> 'google_ads' or c.external_campaign_id is null or c.customer_id is null
         or c.budget_resource_name is null then
        raise exception 'campaign % of recommendation % is not a Google Ads campaign the worker can change',
          r.campaign_id, p_id using errcode = '22023';
      end if;
      if c.status <> 'active' then
        raise exception 'campaign % is %; only an active campaign''s budget is changed', c.id, c.status
          using errcode = '22023';
      end if;
      v_old := (r.payload ->> 'old_daily_budget')::numeric;
      v_new := (r.payload ->> 'new_daily_budget')::numeric;
      if v_new is null or v_new < 0 then
        raise exception 'recommendation % carries no valid new daily budget', p_id using errcode = '22023';
      end if;
      if c.daily_budget is distinct from v_old then
        raise exception 'the daily budget of campaign % changed since this recommendation (it said %, now %); wait for tonight''s recommendation',
          c.id, v_old, c.daily_budget using errcode = '22023';
      end if;
      if exists (select from public.channel_orchestration_log o
                  where o.partner_campaign_id = c.id and o.status in ('pending', 'in_progress')) then
        raise exception 'a budget change for campaign % is already waiting for the worker', c.id using errcode = '22023';
      end if;
      if exists (select from public.channel_orchestration_log o
                  where o.partner_campaign_id = c.id and o.channel = 'google_ads' and o.date = v_today) then
        raise exception 'campaign % already had a budget change today (%); one change a day keeps the daily limit',
          c.id, v_today using errcode = '22023';
      end if;
      if v_new > v_old then
        -- The month as it stands now: spend before today + the rest of the month at every daily budget.
        select p.monthly_marketing_budget into v_monthly from public.profiles p where p.id = r.partner_id;
        v_spent := lead_flow.partner_ads_spend(r.partner_id, date_trunc('month', v_today::timestamp)::date, v_today - 1);
        v_remaining := (date_trunc('month', v_today::timestamp) + interval '1 month')::date - v_today;
        select coalesce(sum(x.daily_budget), 0) into v_others
          from public.partner_marketing_campaigns x
         where x.partner_id = r.partner_id and x.status = 'active' and x.daily_budget is not null and x.id <> c.id;
        if v_spent + v_remaining * (v_others + v_new) > coalesce(v_monthly, 0) then
          raise exception 'approving would take the month over the monthly marketing budget %: spent %, % days left at % a day (this campaign % + others %)',
            coalesce(v_monthly, 0), v_spent, v_remaining, v_others + v_new, v_new, v_others using errcode = '22023';
        end if;
      end if;

      insert into public.channel_orchestration_log
        (date, segment_id, channel, action_type, old_value, new_value, reason, customer_id, campaign_id,
         budget_resource_name, partner_campaign_id, recommendation_id, controller, limited_by)
      values (v_today, null, 'google_ads',
              case when v_new >= v_old then 'budget_increase' else 'budget_decrease' end,
              v_old, v_new, format('partner recommendation %s approved: %s', p_id, r.reason),
              c.customer_id, c.external_campaign_id, c.budget_resource_name, c.id, p_id, 'partner_rules',
              r.payload ->> 'limited_by')
      returning id into v_log_id;
      update public.ai_marketing_recommendations x
         set status = 'approved', decided_by = v_uid, decided_at = now(), decision_reason = p_reason,
             payload = x.payload || jsonb_build_object('orchestration_log_id', v_log_id)
       where x.id = p_id
      returning * into r;
      select count(*) into v_pending
        from public.channel_orchestration_log l where l.channel = 'google_ads' and l.status = 'pending';
      perform pg_notify('lead_flow_budget_changes', v_pending::text);
    elsif r.type = 'create_landing_page' then
      insert into public.partner_landing_pages (partner_id, segment_id, path, status, source, title)
      values (r.partner_id, r.segment_id,
              (select case when exists (select from public.partner_landing_pages lp where lp.path = r.payload ->> 'suggested_path')
                           then (r.payload ->> 'suggested_path') || '-' || left(replace(p_id::text, '-', ''), 6)
                           else r.payload ->> 'suggested_path' end),
              'draft', 'ai', r.payload ->> 'suggested_title')
      returning id into v_page_id;
      update public.ai_marketing_recommendations x
         set status = 'applied', decided_by = v_uid, decided_at = now(), decision_reason = p_reason,
             payload = x.payload || jsonb_build_object('landing_page_id', v_page_id)
       where x.id = p_id
      returning * into r;
    else
      -- pause_campaign: approved for a person to carry out in the ad platform.
      update public.ai_marketing_recommendations x
         set status = 'approved', decided_by = v_uid, decided_at = now(), decision_reason = p_reason
       where x.id = p_id
      returning * into r;
    end if;
    perform lead_flow.log('info', format('marketing recommendation %s (%s) approved', p_id, r.type),
                          jsonb_build_object('recommendation_id', p_id, 'partner_id', r.partner_id, 'by', v_uid,
                                             'orchestration_log_id', v_log_id, 'landing_page_id', v_page_id));
    return r;
  end
  $$;
comment on function lead_flow.decide_marketing_recommendation(uuid, boolean, text) is
  'Approves or rejects a pending, unexpired recommendation for its partner, an admin or service_role (others: "does not exist"); an approved budget change becomes one pending google_ads row in channel_orchestration_log (re-checked against the live budget, one change a day and the monthly budget); errors are 22023 with a message.';
revoke all on function lead_flow.decide_marketing_recommendation(uuid, boolean, text) from public, anon, authenticated;
grant execute on function lead_flow.decide_marketing_recommendation(uuid, boolean, text) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------
-- Scheduling, after the segment pipeline (sql/80_nightly.sql: aggregate 01:00, plan 02:00,
-- orchestrate 03:00 Europe/Amsterdam). pg_cron 1.4 reads schedules in GMT, so, like the pipeline,
-- the job runs at the top of every hour and does every day that is due: local time past 04:00 of
-- D + 1 and the pipeline's orchestrate step for D done (or, if it never succeeds, past 06:00), not yet
-- successful, within catch_up_days. Recommendations only for yesterday; older days get their gaps.
-- ---------------------------------------------------------------------------------------------
create or replace function lead_flow.partner_marketing_due_days(p_now timestamptz default now())
  returns setof date
  language sql stable set search_path = ''
  as $$
    with bounds as (
      select (p_now at time zone 'Europe/Amsterdam')::date as today,
             coalesce((lead_flow.setting('catch_up_days') #>> '{}')::integer, 7) as window_days
    )
    select d::date
      from bounds b
     cross join generate_series(b.today - greatest(b.window_days, 1), b.today - 1, interval '1 day') d
     where p_now >= ((d::date + 1)::timestamp + interval '4 hours') at time zone 'Europe/Amsterdam'
       and (exists (select from lead_flow.nightly_runs r
                     where r.step = 'orchestrate' and r.date = d::date and r.status = 'success')
            or p_now >= ((d::date + 1)::timestamp + interval '6 hours') at time zone 'Europe/Amsterdam')
       and not exists (select from lead_flow.partner_marketing_runs r where r.date = d::date and r.status = 'success')
     order by d
  $$;
comment on function lead_flow.partner_marketing_due_days(timestamptz) is
  'Amsterdam days the partner marketing night is due for at p_now: past 04:00 of D + 1 and after the segment pipeline''s orchestrate for D (or 06:00), not yet successful, within catch_up_days.';
revoke all on function lead_flow.partner_marketing_due_days(timestamptz) from public, anon, authenticated;

create or replace function lead_flow.run_due_partner_marketing() returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_day date;
    v_count integer := 0;
    v_yesterday date := (now() at time zone 'Europe/Amsterdam')::date - 1;
  begin
    -- The pipeline's lock: never at the same time as one of its steps.
    perform pg_advisory_xact_lock(hashtextextended('lead_flow.nightly', 0));
    for v_day in select d from lead_flow.partner_marketing_due_days(now()) d loop
      perform lead_flow.run_partner_marketing_nightly(v_day, v_day = v_yesterday);
      v_count := v_count + 1;
    end loop;
    return v_count;
  end
  $$;
comment on function lead_flow.run_due_partner_marketing() is
  'Scheduled entry point: runs the partner marketing night for every due day (catch-up included; recommendations for yesterday only) and returns how many days ran.';
revoke all on function lead_flow.run_due_partner_marketing() from public, anon, authenticated;

do $$
begin
  if to_regnamespace('cron') is not null and exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
    perform cron.schedule('partner-marketing-nightly', '0 * * * *',
                          $c$select lead_flow.run_due_partner_marketing()$c$);
  end if;
end
$$;
