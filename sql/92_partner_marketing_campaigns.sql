-- Partner marketing: partner_marketing_campaigns, a partner's own campaigns. Validation (never one
-- of the platform's segment campaigns), a lead_flow_logs line for every budget change, and the
-- campaign totals (spend and clicks from the metrics the worker pulls, attributed leads, cost per
-- lead), which a trigger on campaign_daily_metrics keeps current as metrics are recorded.

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
    perform lead_flow.api_check_length('name', new.name, 200);
    perform lead_flow.api_check_length('budget_resource_name', new.budget_resource_name, 100);
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

-- Campaign totals follow the metrics the worker pulls (campaign_daily_metrics) and the leads
-- attributed to the campaign; only rows that change are written. NULL: every campaign.

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
