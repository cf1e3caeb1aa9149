-- Partner marketing: partner_marketing_campaigns, a partner's own campaigns. Validation (never one
-- of the platform's segment campaigns), a lead_flow_logs line for every budget change, and the
-- campaign totals (spend and clicks from the metrics the worker pulls, attributed leads, cost per
-- lead), kept by increments: the metrics' triggers add what a pull changed, the night adds its day's
-- attributed leads (issue 17).

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
-- Every column but the totals the night and the metric pulls keep (total_*, avg_cpl,
-- metrics_synced_at): an update of those alone is neither checked again nor an edit (updated_at).
create or replace trigger tg_partner_marketing_campaigns__validate
  before insert or update of partner_id, segment_id, channel, name, status, external_campaign_id, customer_id,
                             budget_resource_name, daily_budget, monthly_budget, cpl_target, ai_managed,
                             ai_last_adjusted_at
  on public.partner_marketing_campaigns
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

-- Campaign totals: total_spend and total_clicks follow the metrics the worker pulls
-- (campaign_daily_metrics), total_leads the leads attributed to the campaign (leads.source_campaign_id
-- = its external_campaign_id), avg_cpl = spend / leads. They are kept by increments, so that neither a
-- metric pull nor the night reads a campaign's history (issue 17):
--   * a metric pull adds what it changed (new minus old rows: a re-pulled day corrects its cost);
--   * the night counts its Amsterdam day's attributed leads per campaign into
--     lead_flow.partner_campaign_lead_days and adds the difference to what that day held before (a
--     rerun adds nothing; a day missed by the step is counted by the next night that runs);
--   * a new campaign, or one whose channel, customer or external id changes, is recounted in full
--     (its leads and metrics may predate it): lead_flow.sync_partner_campaign_totals, which is also
--     the repair of any campaign (NULL: all).
-- What the increments cannot see: a lead deleted or re-attributed on a day no night counts again,
-- and a TRUNCATE of campaign_daily_metrics; sync_partner_campaign_totals puts those right.

-- Adds per campaign (ids unique) spend, clicks and leads to its totals and sets avg_cpl from the new
-- totals; only campaigns with a non-zero change are written. Returns campaigns changed.
create or replace function lead_flow.add_to_partner_campaign_totals(
  p_ids uuid[], p_spend numeric[], p_clicks bigint[], p_leads integer[])
  returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_rows integer;
  begin
    -- Never below 0: totals edited by hand must not make the worker's metric pull fail on the
    -- checks (sync_partner_campaign_totals puts such totals right).
    update public.partner_marketing_campaigns c
       set total_spend = greatest(c.total_spend + x.spend, 0), total_clicks = greatest(c.total_clicks + x.clicks, 0),
           total_leads = greatest(c.total_leads + x.leads, 0),
           avg_cpl = case when c.total_leads + x.leads > 0 and c.total_spend + x.spend > 0
                          then round((c.total_spend + x.spend) / (c.total_leads + x.leads), 2) end,
           metrics_synced_at = now()
      from unnest(p_ids, p_spend, p_clicks, p_leads) as x (id, spend, clicks, leads)
     where c.id = x.id and (x.spend <> 0 or x.clicks <> 0 or x.leads <> 0);
    get diagnostics v_rows = row_count;
    return v_rows;
  end
  $$;
comment on function lead_flow.add_to_partner_campaign_totals(uuid[], numeric[], bigint[], integer[]) is
  'Adds spend, clicks and leads (parallel arrays, one entry per campaign id) to the partner campaigns'' totals and '
  'recomputes avg_cpl; writes only campaigns with a non-zero change and returns how many.';
revoke all on function lead_flow.add_to_partner_campaign_totals(uuid[], numeric[], bigint[], integer[])
  from public, anon, authenticated;

-- The full recount: the campaigns' attributed leads per day (lead_flow.partner_campaign_lead_days)
-- counted again from the leads, and every total from all their metrics and leads. NULL: every
-- campaign. Only rows that change are written.
create or replace function lead_flow.sync_partner_campaign_totals(p_campaign_ids uuid[] default null)
  returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_rows integer;
  begin
    delete from lead_flow.partner_campaign_lead_days d
     where p_campaign_ids is null or d.campaign_id = any (p_campaign_ids);
    insert into lead_flow.partner_campaign_lead_days (campaign_id, date, leads)
    select c.id, (l.created_at at time zone 'Europe/Amsterdam')::date, count(*)
      from public.partner_marketing_campaigns c
      join public.leads l on l.source_campaign_id = c.external_campaign_id
     where (p_campaign_ids is null or c.id = any (p_campaign_ids))
       and c.external_campaign_id is not null and l.source_campaign_id is not null and l.created_at is not null
     group by 1, 2;
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
      select d.campaign_id as id, sum(d.leads) as n
        from lead_flow.partner_campaign_lead_days d
       where p_campaign_ids is null or d.campaign_id = any (p_campaign_ids)
       group by d.campaign_id
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
  'Recounts in full: the given partner campaigns'' (NULL: all) attributed leads per Amsterdam day '
  '(partner_campaign_lead_days), and total_spend, total_clicks (all of campaign_daily_metrics), total_leads and '
  'avg_cpl; returns campaigns whose totals changed. Reads the campaigns'' whole history: the repair, not the night.';
revoke all on function lead_flow.sync_partner_campaign_totals(uuid[]) from public, anon, authenticated;

-- The night's part: Amsterdam day p_date's attributed leads per campaign, and those of every day
-- after the last day counted before it (a day the step missed) and of every day of the pause rule's
-- window (partner_pause_after_days up to D) no night counted, counted from the leads of those days
-- only; each day's row in partner_campaign_lead_days is replaced by the new count and the campaign's
-- total_leads moves by the difference. Running a night again finds the same counts and adds nothing.
-- When the nights ran, that is D alone; the recommendations' pause rule then reads its window from
-- partner_campaign_lead_days instead of each campaign's leads of all days.
create or replace function lead_flow.count_partner_campaign_leads(p_date date) returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_from date;
    v_ids uuid[];
    v_deltas integer[];
  begin
    if p_date is null then
      raise exception 'a date is required' using errcode = '22023';
    end if;
    select least(coalesce(max(n.date) + 1, p_date),
                 (select min(d::date)
                    from generate_series(p_date - (lead_flow.setting('partner_pause_after_days'))::text::int + 1,
                                         p_date, interval '1 day') d
                   where not exists (select from lead_flow.partner_campaign_lead_nights w where w.date = d::date)))
      into v_from
      from lead_flow.partner_campaign_lead_nights n where n.date < p_date;
    -- The days' attributed leads by created_at, materialized, and "attributed" not written as
    -- source_campaign_id IS NOT NULL (or any condition that implies it): otherwise the planner read
    -- the partial index of the attributed leads of every day instead.
    with day_leads as materialized (
      select l.source_campaign_id, l.created_at
        from public.leads l
       where l.created_at >= lead_flow.day_start(v_from) and l.created_at < lead_flow.day_start(p_date + 1)
         and coalesce(l.source_campaign_id, '') <> ''
    ), counted as (
      select c.id as campaign_id, (l.created_at at time zone 'Europe/Amsterdam')::date as date,
             count(*)::integer as leads
        from day_leads l
        join public.partner_marketing_campaigns c on c.external_campaign_id = l.source_campaign_id
       group by 1, 2
    ), held as (
      select d.campaign_id, d.date, d.leads
        from lead_flow.partner_campaign_lead_days d
       where d.date >= v_from and d.date <= p_date
    ), changed as (
      select coalesce(n.campaign_id, h.campaign_id) as campaign_id, coalesce(n.date, h.date) as date,
             coalesce(n.leads, 0) as leads, coalesce(n.leads, 0) - coalesce(h.leads, 0) as delta
        from counted n
        full join held h on h.campaign_id = n.campaign_id and h.date = n.date
       where n.leads is distinct from h.leads
    ), removed as (
      delete from lead_flow.partner_campaign_lead_days d
       using changed x
       where x.leads = 0 and d.campaign_id = x.campaign_id and d.date = x.date
    ), written as (
      insert into lead_flow.partner_campaign_lead_days (campaign_id, date, leads)
      select x.campaign_id, x.date, x.leads from changed x where x.leads > 0
      on conflict (campaign_id, date) do update set leads = excluded.leads
    )
    select array_agg(x.campaign_id), array_agg(x.delta) into v_ids, v_deltas
      from (select x.campaign_id, sum(x.delta)::integer as delta
              from changed x group by x.campaign_id having sum(x.delta) <> 0) x;
    insert into lead_flow.partner_campaign_lead_nights (date)
    select d::date from generate_series(v_from::timestamp, p_date::timestamp, interval '1 day') d
    on conflict (date) do update set counted_at = excluded.counted_at;
    if v_ids is null then
      return 0;
    end if;
    return lead_flow.add_to_partner_campaign_totals(
      v_ids, array_fill(0::numeric, array[cardinality(v_ids)]), array_fill(0::bigint, array[cardinality(v_ids)]),
      v_deltas);
  end
  $$;
comment on function lead_flow.count_partner_campaign_leads(date) is
  'Counts Amsterdam day p_date''s leads per partner campaign (and those of days since the last counted day before '
  'it, and of uncounted days of the pause window) into partner_campaign_lead_days and moves total_leads by the '
  'change; reads only those days'' leads. '
  'Returns campaigns whose totals changed; a second run of the same night changes nothing.';
revoke all on function lead_flow.count_partner_campaign_leads(date) from public, anon, authenticated;

-- A metric pull (record_campaign_metrics upserts campaign_daily_metrics) adds the rows it inserted,
-- a delete takes its rows off (transition table `changed`, either way), once per statement.
create or replace function lead_flow.tg_campaign_daily_metrics__sync_partner_totals() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    v_sign integer := case when tg_op = 'DELETE' then -1 else 1 end;
  begin
    perform lead_flow.add_to_partner_campaign_totals(array_agg(d.id), array_agg(d.spend), array_agg(d.clicks),
                                                     array_agg(0))
       from (select c.id, v_sign * sum(m.cost) as spend, (v_sign * sum(m.clicks))::bigint as clicks
               from changed m
               join public.partner_marketing_campaigns c
                 on c.channel = 'google_ads' and c.customer_id = m.customer_id and c.external_campaign_id = m.campaign_id
              group by c.id) d
     having count(*) > 0;
    return null;
  end
  $$;
comment on function lead_flow.tg_campaign_daily_metrics__sync_partner_totals() is
  'After metrics are inserted (or deleted): adds (subtracts) their cost and clicks to the totals of the partner '
  'campaigns they belong to.';
revoke all on function lead_flow.tg_campaign_daily_metrics__sync_partner_totals() from public, anon, authenticated;

-- A re-pull that corrects a day (the upsert's update) adds the new rows and takes the old ones off.
create or replace function lead_flow.tg_campaign_daily_metrics__sync_partner_totals_upd() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform lead_flow.add_to_partner_campaign_totals(array_agg(d.id), array_agg(d.spend), array_agg(d.clicks),
                                                     array_agg(0))
       from (select c.id, sum(m.cost) as spend, sum(m.clicks)::bigint as clicks
               from (select n.customer_id, n.campaign_id, n.cost, n.clicks from changed n
                     union all
                     select o.customer_id, o.campaign_id, -o.cost, -o.clicks from previous o) m
               join public.partner_marketing_campaigns c
                 on c.channel = 'google_ads' and c.customer_id = m.customer_id and c.external_campaign_id = m.campaign_id
              group by c.id) d
     having count(*) > 0;
    return null;
  end
  $$;
comment on function lead_flow.tg_campaign_daily_metrics__sync_partner_totals_upd() is
  'After metrics are updated (a re-pulled day): adds the difference of cost and clicks, new minus old, to the '
  'totals of the partner campaigns concerned.';
revoke all on function lead_flow.tg_campaign_daily_metrics__sync_partner_totals_upd()
  from public, anon, authenticated;
create or replace trigger tg_campaign_daily_metrics__sync_partner_totals_ins
  after insert on public.campaign_daily_metrics referencing new table as changed
  for each statement execute function lead_flow.tg_campaign_daily_metrics__sync_partner_totals();
create or replace trigger tg_campaign_daily_metrics__sync_partner_totals_del
  after delete on public.campaign_daily_metrics referencing old table as changed
  for each statement execute function lead_flow.tg_campaign_daily_metrics__sync_partner_totals();
create or replace trigger tg_campaign_daily_metrics__sync_partner_totals_upd
  after update on public.campaign_daily_metrics referencing old table as previous new table as changed
  for each statement execute function lead_flow.tg_campaign_daily_metrics__sync_partner_totals_upd();

-- A campaign's leads and metrics may predate it (or its external id): a new campaign, and one whose
-- channel, customer or external id changes, is recounted in full, once.
create or replace function lead_flow.tg_partner_marketing_campaigns__sync_new_totals() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    v_ids uuid[];
  begin
    select array_agg(a.id) into v_ids from added a where a.external_campaign_id is not null;
    if v_ids is not null then
      perform lead_flow.sync_partner_campaign_totals(v_ids);
    end if;
    return null;
  end
  $$;
comment on function lead_flow.tg_partner_marketing_campaigns__sync_new_totals() is
  'After partner campaigns are inserted: recounts the totals of those with an external id (their leads and '
  'metrics may have arrived first).';
revoke all on function lead_flow.tg_partner_marketing_campaigns__sync_new_totals() from public, anon, authenticated;
create or replace trigger tg_partner_marketing_campaigns__sync_new_totals
  after insert on public.partner_marketing_campaigns referencing new table as added
  for each statement execute function lead_flow.tg_partner_marketing_campaigns__sync_new_totals();

create or replace function lead_flow.tg_partner_marketing_campaigns__sync_moved_totals() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform lead_flow.sync_partner_campaign_totals(array[new.id]);
    return null;
  end
  $$;
comment on function lead_flow.tg_partner_marketing_campaigns__sync_moved_totals() is
  'After a partner campaign''s channel, customer_id or external_campaign_id changed: recounts its totals.';
revoke all on function lead_flow.tg_partner_marketing_campaigns__sync_moved_totals()
  from public, anon, authenticated;
create or replace trigger tg_partner_marketing_campaigns__sync_moved_totals
  after update of channel, customer_id, external_campaign_id on public.partner_marketing_campaigns
  for each row
  when ((new.channel, new.customer_id, new.external_campaign_id)
        is distinct from (old.channel, old.customer_id, old.external_campaign_id))
  execute function lead_flow.tg_partner_marketing_campaigns__sync_moved_totals();

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
