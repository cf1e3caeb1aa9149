-- Partner marketing: ai_marketing_recommendations, the nightly pipeline's step
-- partner_recommendations (lead_flow.pipeline_steps, migration 0025: 05:00 Europe/Amsterdam of
-- D + 1, after partner_lead_gaps, for yesterday only): rule-based proposals an admin or the partner
-- approves (sql/92_partner_marketing_decisions.sql), and their expiry.

create or replace trigger tg_ai_marketing_recommendations__touch_updated_at
  before update on public.ai_marketing_recommendations
  for each row execute function lead_flow.tg_touch_updated_at();

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

-- Rule-based recommendations for night D (the proposal is the budget for D+1 onward):
--  * only partners with auto_marketing_enabled and marketing_mode <> leads_only;
--  * budget: active, ai_managed Google Ads campaigns of the partner in a segment where its |gap| is
--    at least partner_min_gap_leads, and no change already queued: desired = budget + gap x CPL
--    (the campaign's own, else its target, else the segment's default), through the segment
--    pipeline's hard limits (+-max_daily_budget_change a day, min/max, launch budget), then an
--    increase is cut so the partner's month (spend so far + remaining days x all its daily budgets)
--    stays within monthly_marketing_budget (several increases of one partner share the headroom);
--  * create_landing_page: a gap of at least partner_min_gap_leads and no (non-archived) page there;
--  * pause_campaign: spend of at least 3 target CPLs over partner_pause_after_days and no lead (as
--    lead_flow.partner_campaign_lead_days counted them: count_partner_campaign_leads(D) runs first).
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

    -- eligible: one row per partner that markets itself on auto, with its month's spend so far and
    -- the sum of its active daily budgets. Materialized with those figures, so the candidates join it
    -- once by partner: D's gap rows are newer than the statistics, the planner took the candidates
    -- for one row, and joined each of them to the whole per-partner aggregate (568,000 comparisons
    -- for 1,000 candidates at 10,000 segments).
    insert into pg_temp.pm_budget_proposals
    with eligible as materialized (
      select p.id as partner_id, p.monthly_marketing_budget,
             coalesce(ms.spent, 0) as spent, coalesce(pd.total_daily, 0) as total_daily
        from public.profiles p
        left join (select c.partner_id, sum(m.cost) as spent
                     from public.partner_marketing_campaigns c
                     join public.campaign_daily_metrics m
                       on m.customer_id = c.customer_id and m.campaign_id = c.external_campaign_id
                    where c.channel = 'google_ads' and m.date >= v_month_start and m.date <= p_date
                    group by c.partner_id) ms on ms.partner_id = p.id
        left join (select c.partner_id, sum(c.daily_budget) as total_daily
                     from public.partner_marketing_campaigns c
                    where c.status = 'active' and c.daily_budget is not null
                    group by c.partner_id) pd on pd.partner_id = p.id
       where p.auto_marketing_enabled and p.marketing_mode <> 'leads_only' and not p.is_admin
    ), candidates as (
      select c.id, c.partner_id, c.segment_id, c.daily_budget as current_budget, g.lead_gap,
             e.monthly_marketing_budget, e.spent, e.total_daily,
             coalesce(case when c.total_leads >= 5 then nullif(c.avg_cpl, 0) end, c.cpl_target,
                      (ss.settings ->> 'default_cost_per_lead')::numeric) as cpl,
             ss.settings
        from public.partner_marketing_campaigns c
        join eligible e on e.partner_id = c.partner_id
        -- The campaign's gap by the unique key (partner, segment, date), once per campaign: OFFSET 0
        -- keeps the probe; flattened, the planner read all of D's gap rows (whose count it does not
        -- know yet) and probed the campaigns once per gap row.
        cross join lateral (select g.lead_gap from public.partner_lead_gaps g
                             where g.partner_id = c.partner_id and g.segment_id = c.segment_id
                               and g.date = p_date
                            offset 0) g
        join lead_flow.segment_settings ss on ss.segment_id = c.segment_id
       where c.channel = 'google_ads' and c.status = 'active' and c.ai_managed
         and c.external_campaign_id is not null and c.daily_budget is not null
         and abs(g.lead_gap) >= greatest(v_min_gap, 0.01)
         and not exists (select from public.channel_orchestration_log o
                          where o.partner_campaign_id = c.id and o.status in ('pending', 'in_progress'))
    ), limited as (
      select x.*, round(x.current_budget + x.lead_gap * x.cpl, 2) as desired, h.new_budget as limited_budget,
             nullif(h.limited_by, 'none') as limited_by, h.note
        from candidates x
        -- The segment pipeline's hard limits (sql/60_budget_maths.sql), with the segment's settings:
        -- their core hard_budget_limits, as orchestrate_budgets calls it (limit_daily_budget is only
        -- its SQL wrapper, one more function call per row).
        cross join lateral lead_flow.hard_budget_limits(
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

    -- The night's recommendations in one insert, from the partners that market themselves on auto
    -- (materialized: the planner knows their number from profiles' statistics; D's gap rows were
    -- written moments ago, after the last analyze, and an estimate of a handful of them made it probe
    -- profiles once per gap row instead):
    --  * the budget proposals above;
    --  * a landing page where the partner is short of leads and has none for the segment;
    --  * pausing a campaign that spends and brings nothing.
    insert into public.ai_marketing_recommendations
      (partner_id, segment_id, campaign_id, type, for_date, payload, reason, expires_at)
    with eligible as materialized (
      select p.id from public.profiles p
       where p.auto_marketing_enabled and p.marketing_mode <> 'leads_only' and not p.is_admin
    )
    select b.partner_id, b.segment_id, b.campaign_id, b.type, p_date, b.payload, b.reason, v_expires
      from pg_temp.pm_budget_proposals b
    union all
    select g.partner_id, g.segment_id, null, 'create_landing_page', p_date,
           jsonb_build_object('suggested_path', '/' || replace(s.code, '_', '-') || '/' || left(g.partner_id::text, 8),
                              'suggested_title', initcap(s.branch) || ' in ' || r.name,
                              'lead_gap', g.lead_gap),
           format('gap %s leads/day in %s and no landing page there yet', g.lead_gap, s.code),
           v_expires
      from eligible e
      join public.partner_lead_gaps g on g.partner_id = e.id
      join public.lead_segments s on s.id = g.segment_id
      join public.regions r on r.slug = s.region
     where g.date = p_date and g.lead_gap >= greatest(v_min_gap, 0.01)
       and not exists (select from public.partner_landing_pages lp
                        where lp.partner_id = g.partner_id and lp.segment_id = g.segment_id and lp.status <> 'archived')
    union all
    select c.partner_id, c.segment_id, c.id, 'pause_campaign', p_date,
           jsonb_build_object('spend', sp.spend, 'days', v_pause_days, 'leads', 0, 'cpl_target', sp.cpl),
           format('spent %s over the last %s days (%s target CPLs) without a single lead', sp.spend, v_pause_days,
                  round(sp.spend / sp.cpl, 1)),
           v_expires
      from public.partner_marketing_campaigns c
      join eligible e on e.id = c.partner_id
      cross join lateral (
        -- The segment's default cost per lead only for a campaign without a CPL target, once per
        -- campaign (OFFSET 0: the condition on it below is not pushed into the subquery, where it
        -- would be computed a second time).
        select coalesce(sum(m.cost), 0) as spend,
               coalesce(c.cpl_target, (select (ss.settings ->> 'default_cost_per_lead')::numeric
                                         from lead_flow.segment_settings ss where ss.segment_id = c.segment_id)) as cpl
          from public.campaign_daily_metrics m
         where m.customer_id = c.customer_id and m.campaign_id = c.external_campaign_id
           and m.date > p_date - v_pause_days and m.date <= p_date
        offset 0) sp
     where c.channel = 'google_ads' and c.status = 'active' and c.ai_managed and c.external_campaign_id is not null
       and c.segment_id is not null
       and c.created_at < (p_date - v_pause_days + 1)::timestamp at time zone 'Europe/Amsterdam'
       and sp.spend >= 3 * sp.cpl
       -- No lead in the window: the night's count per campaign and day, which holds every day of the
       -- window (lead_flow.count_partner_campaign_leads, run first), not each campaign's leads of all days.
       and not exists (select from lead_flow.partner_campaign_lead_days d
                        where d.campaign_id = c.id and d.date > p_date - v_pause_days and d.date <= p_date)
    on conflict do nothing;
    get diagnostics v_n = row_count;
    v_rows := v_rows + v_n;
    return v_rows;
  end
  $$;
comment on function lead_flow.generate_partner_recommendations(date) is
  'Rule-based partner recommendations for night p_date (budget up/down within the segment hard limits and the partner''s monthly budget, landing page, pause); expires stale ones; returns recommendations added. A second run of the same night adds nothing.';
revoke all on function lead_flow.generate_partner_recommendations(date) from public, anon, authenticated;

-- The registered step: campaign totals first (the recommendations read each campaign's cost per lead,
-- and attributed leads arrive without a trigger), then the night's recommendations. The totals move
-- by the night's own attributed leads (lead_flow.count_partner_campaign_leads reads D's leads, not a
-- campaign's history; the metrics' triggers keep spend and clicks current). jit off and work_mem: as
-- the other nightly steps (40_stats.sql).
create or replace function lead_flow.recommend_partner_marketing(p_date date) returns integer
  language plpgsql volatile set search_path = '' set jit = off set work_mem = '64MB'
  as $$
  begin
    if p_date is null then
      raise exception 'a date is required' using errcode = '22023';
    end if;
    perform lead_flow.count_partner_campaign_leads(p_date);
    return lead_flow.generate_partner_recommendations(p_date);
  end
  $$;
comment on function lead_flow.recommend_partner_marketing(date) is
  'The nightly step partner_recommendations for Amsterdam day p_date: adds the day''s attributed leads to the partner '
  'campaigns'' totals (count_partner_campaign_leads), then makes the night''s recommendations; returns recommendations added.';
revoke all on function lead_flow.recommend_partner_marketing(date) from public, anon, authenticated;
