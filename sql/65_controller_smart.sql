-- Controller 'smart': closes the gap between a segment's lead flow and its target without chasing
-- Poisson noise. Like every controller it only proposes a desired budget; lead_flow.limit_daily_budget
-- (60_budget_maths) applies the hard limits afterwards (+-20% of the day-start budget, min, max).
--
-- What it does differently from 'spec' (desired = budget + one day's gap x average cost per lead):
--   * smoothed flow: a response curve (organic + k x spend^beta) fitted to the segment's own last
--     smart_window_days (28) days, evaluated at today's spend, so recent budget changes do not show up
--     as lag and large budget moves follow the diminishing returns instead of a straight line;
--   * a marginal cost per lead learned from the segment's own data: the regression slope of daily
--     leads on daily spend, shrunk toward a prior (the average paid cost per lead, own spend and
--     conversions blended with the branch's, divided by 0.75); it sets the curve's exponent beta;
--   * make-up: it aims at the target plus smart_makeup (1.0) of the last 7 days' shortfall or surplus
--     (a week's leads are what partners feel), but only while the flow tracks the target (within 30%);
--   * a dead-band: no change while |aim - flow| is within smart_dead_band of the target or a quarter
--     standard error of the smoothed flow (whichever is wider); turning back against the last change
--     needs three times that (hysteresis against noise-driven reversals);
--   * asymmetric, because leads are not: a lead above the aim is bought at the marginal cost per lead
--     (on a concave curve dearer than the average), a lead short saves that. So a raise needs
--     smart_raise_band (1.5) times the dead-band, and it asks for smart_gain (0.8) of the way to the
--     aim when raising (damps overshoot) but smart_gain_down (1.0) when cutting a surplus;
--   * no increase for a campaign that is not budget-limited (spent < smart_spend_ratio of its budget
--     over the last 3 days): more budget buys nothing; lead_flow.controller_alerts() reports it.

-- The Google Ads budget in force for a segment on day p_day: the latest applied change planned before it,
-- else the day-start value of the first change after it, else p_current (the campaign's current budget).
-- One definition for smart_controller_features and controller_alerts.
create or replace function lead_flow.budget_in_force(p_segment_id uuid, p_day date, p_current numeric)
  returns numeric
  language sql stable set search_path = ''
  as $$
    select coalesce(
             (select coalesce(l.applied_value, l.new_value)
                from public.channel_orchestration_log l
               where l.segment_id = p_segment_id and l.channel = 'google_ads'
                 and l.status = 'success' and l.date < p_day
               order by l.date desc limit 1),
             (select l.old_value
                from public.channel_orchestration_log l
               where l.segment_id = p_segment_id and l.channel = 'google_ads'
                 and l.date >= p_day and l.old_value is not null
               order by l.date limit 1),
             p_current)
  $$;
comment on function lead_flow.budget_in_force(uuid, date, numeric) is
  'The segment''s Google Ads daily budget in force on p_day: the latest applied change planned before it, else '
  'the day-start value of the first change on or after it, else p_current; two index lookups in the log.';
revoke all on function lead_flow.budget_in_force(uuid, date, numeric) from public, anon, authenticated;
grant execute on function lead_flow.budget_in_force(uuid, date, numeric) to service_role;

-- Per segment, what the smart controller learns from: 7-day flow and spend, 28-day paid cost, over
-- its learning window (smart_window_days) the mean leads, spend and conversions, each day's spend
-- and the regression sums of daily leads on spend, and spend against the budget in force over the
-- last 3 days. Set-based for every active segment, for the segments p_segment_ids names (orchestrate_budgets:
-- those set to 'smart', so that one smart segment among 100,000 does not cost the learning of all), or
-- one segment (p_segment_id) for a single decision.
create or replace function lead_flow.smart_controller_features(p_date date, p_segment_id uuid default null,
                                                             p_window_days integer default null,
                                                             p_segment_ids uuid[] default null)
  returns table (segment_id uuid, features jsonb)
  language sql stable set search_path = ''
  as $$
    with segs as (
      select s.id, s.branch, c.daily_budget,
             greatest(least(coalesce(p_window_days,
                                     (select (v.value #>> '{}')::integer from public.lead_flow_settings v
                                       where v.key = 'smart_window_days' and v.segment_id = s.id),
                                     (select (v.value #>> '{}')::integer from public.lead_flow_settings v
                                       where v.key = 'smart_window_days' and v.segment_id is null),
                                     28), 56), 7) as window_days
        from public.lead_segments s
        left join public.lead_segment_campaigns c on c.segment_id = s.id and c.is_active
       where s.is_active and (p_segment_id is null or s.id = p_segment_id)
         and (p_segment_ids is null or s.id in (select unnest(p_segment_ids)))
    ), days as (
      select st.segment_id, st.date, st.leads_generated::numeric as leads, st.google_ads_spend as spend,
             st.google_ads_conversions as conv, g.window_days
        from public.lead_generation_stats st
        join segs g on g.id = st.segment_id
       where st.date between p_date - 55 and p_date
    ), budget_days as (
      -- The budget in force on each of the last 3 days (lead_flow.budget_in_force).
      select d.segment_id, d.spend, lead_flow.budget_in_force(d.segment_id, d.date, g.daily_budget) as budget
        from days d
        join segs g on g.id = d.segment_id
       where d.date > p_date - 3
    ), per_segment as (
      select d.segment_id,
             count(*) filter (where d.date > p_date - 7) as days_7d,
             sum(d.leads) filter (where d.date > p_date - 7) as leads_7d,
             sum(d.spend) filter (where d.date > p_date - 7) as spend_7d,
             count(*) filter (where d.date > p_date - 14) as days_14d,
             sum(d.leads) filter (where d.date > p_date - 14) as leads_14d,
             sum(d.spend) filter (where d.date > p_date - 14) as spend_14d,
             sum(d.spend) filter (where d.date > p_date - 28) as spend_28d,
             sum(d.conv) filter (where d.date > p_date - 28) as conv_28d,
             count(*) filter (where d.date > p_date - d.window_days) as n,
             avg(d.leads) filter (where d.date > p_date - d.window_days) as mean_leads,
             avg(d.spend) filter (where d.date > p_date - d.window_days) as mean_spend,
             avg(d.conv) filter (where d.date > p_date - d.window_days) as mean_conversions,
             jsonb_agg(d.spend order by d.date) filter (where d.date > p_date - d.window_days) as spends,
             -- centred sums for the slope of leads on spend (numerically stable enough for EUR/day)
             regr_sxx(d.leads, d.spend) filter (where d.date > p_date - d.window_days) as sxx,
             regr_sxy(d.leads, d.spend) filter (where d.date > p_date - d.window_days) as sxy
        from days d
       group by d.segment_id
    ), recent_targets as (
      select p.segment_id, sum(p.target_leads_per_day) as target_7d
        from public.lead_segment_plans p
        join segs g on g.id = p.segment_id
       where p.date > p_date - 7 and p.date <= p_date
       group by p.segment_id
    ), last_change as (
      -- The direction of the segment's latest applied budget change (planned before p_date).
      select distinct on (l.segment_id) l.segment_id, sign(coalesce(l.applied_value, l.new_value) - l.old_value) as dir
        from public.channel_orchestration_log l
        join segs g on g.id = l.segment_id
       where l.channel = 'google_ads' and l.status = 'success' and l.date < p_date and l.date >= p_date - 28
       order by l.segment_id, l.date desc
    ), recent_budget as (
      select b.segment_id, sum(b.spend) as spend_3d, sum(b.budget) as budget_3d, count(*) as days_3d
        from budget_days b
       group by b.segment_id
    ), branch as (
      select s.branch, sum(st.google_ads_spend) / nullif(sum(st.google_ads_conversions), 0) as paid_cpl
        from public.lead_generation_stats st
        join public.lead_segments s on s.id = st.segment_id
       where st.date between p_date - 27 and p_date
         and s.branch in (select g.branch from segs g)
       group by s.branch
    )
    select g.id,
           jsonb_build_object(
             'days_7d', coalesce(p.days_7d, 0), 'leads_7d', coalesce(p.leads_7d, 0),
             'spend_7d', coalesce(p.spend_7d, 0), 'days_14d', coalesce(p.days_14d, 0),
             'leads_14d', coalesce(p.leads_14d, 0), 'spend_14d', coalesce(p.spend_14d, 0),
             'spend_28d', coalesce(p.spend_28d, 0),
             'conversions_28d', coalesce(p.conv_28d, 0), 'branch_paid_cpl', b.paid_cpl,
             'n', coalesce(p.n, 0), 'mean_leads', p.mean_leads, 'mean_spend', p.mean_spend,
             'mean_conversions', p.mean_conversions, 'spends', coalesce(p.spends, '[]'), 'sxx', p.sxx, 'sxy', p.sxy,
             'spend_3d', coalesce(r.spend_3d, 0), 'budget_3d', r.budget_3d, 'days_3d', coalesce(r.days_3d, 0),
             'target_7d', t.target_7d, 'last_direction', coalesce(lc.dir, 0))
      from segs g
      left join recent_targets t on t.segment_id = g.id
      left join last_change lc on lc.segment_id = g.id
      left join per_segment p on p.segment_id = g.id
      left join recent_budget r on r.segment_id = g.id
      left join branch b on b.branch = g.branch
  $$;
comment on function lead_flow.smart_controller_features(date, uuid, integer, uuid[]) is
  'What the smart controller decides from, per active segment (or those of p_segment_ids, or one) on Amsterdam day p_date: 7-day leads '
  'and spend, 28-day spend and conversions, the branch''s paid cost per lead, over smart_window_days the mean '
  'leads, spend and conversions, each day''s spend and the regression sums of daily leads on spend, and spend vs '
  'the budget in force over the last 3 days, as jsonb.';
revoke all on function lead_flow.smart_controller_features(date, uuid, integer, uuid[]) from public, anon, authenticated;
grant execute on function lead_flow.smart_controller_features(date, uuid, integer, uuid[]) to service_role;

-- The smart controller's decision from its inputs alone (pure): orchestrate_budgets' inputs plus a
-- 'smart' object with smart_controller_features. Returns the desired budget before the hard limits,
-- and the parts of the decision, so tests and the reason text can show them.
-- The segment's response is modelled as expected leads a day = organic + k x spend^beta (whole weeks,
-- so weekdays average out): organic = mean(leads - conversions) over the learning window; beta from
-- the learned marginal rate at the window's mean spend (beta = marginal x spend / paid leads, within
-- 0.5..0.95; 0.75 without data); k = conversions / sum(spend_i^beta). So the flow at today's budget and
-- the spend a flow needs respect the curve over large budget moves, and every day of the window counts.
create or replace function lead_flow.smart_budget_decision(p_inputs jsonb)
  returns table (desired numeric, explanation text, smoothed_leads numeric, gap numeric, dead_band numeric,
                 marginal_cost_per_lead numeric, average_cost_per_lead numeric, budget_limited boolean,
                 action text)
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    f jsonb := coalesce(p_inputs -> 'smart', '{}');
    v_budget numeric := greatest(coalesce(lead_flow.finite((p_inputs ->> 'day_start_budget')::numeric), 0), 0);
    v_target numeric := greatest(coalesce(lead_flow.finite((p_inputs ->> 'target_leads_per_day')::numeric), 0), 0);
    v_band_share numeric := least(greatest(coalesce((p_inputs ->> 'smart_dead_band')::numeric, 0.03), 0), 1);
    v_gain numeric := least(greatest(coalesce((p_inputs ->> 'smart_gain')::numeric, 0.8), 0.05), 1);
    v_gain_down numeric := least(greatest(coalesce((p_inputs ->> 'smart_gain_down')::numeric, 1.0), 0.05), 1);
    v_raise_band numeric := least(greatest(coalesce((p_inputs ->> 'smart_raise_band')::numeric, 1.5), 1), 5);
    v_ratio numeric := least(greatest(coalesce((p_inputs ->> 'smart_spend_ratio')::numeric, 0.85), 0), 1);
    v_makeup_share numeric := least(greatest(coalesce((p_inputs ->> 'smart_makeup')::numeric, 1.0), 0), 1.5);
    v_prior_leads numeric := greatest(coalesce((p_inputs ->> 'cpl_prior_leads')::numeric, 20), 0);
    v_default_cpl numeric := coalesce(nullif(greatest(lead_flow.finite((p_inputs ->> 'default_cost_per_lead')::numeric), 0), 0), 25.00);
    v_spend_28d numeric := coalesce((f ->> 'spend_28d')::numeric, 0);
    v_conv_28d numeric := coalesce((f ->> 'conversions_28d')::numeric, 0);
    v_branch_cpl numeric := nullif(greatest(lead_flow.finite((f ->> 'branch_paid_cpl')::numeric), 0), 0);
    v_n numeric := coalesce((f ->> 'n')::numeric, 0);
    v_mean_leads numeric := greatest(coalesce((f ->> 'mean_leads')::numeric, 0), 0);
    v_mean_spend numeric := greatest(coalesce((f ->> 'mean_spend')::numeric, 0), 0);
    v_mean_paid numeric := greatest(coalesce((f ->> 'mean_conversions')::numeric, 0), 0);
    v_spends jsonb := coalesce(f -> 'spends', '[]');
    v_sxx numeric := coalesce((f ->> 'sxx')::numeric, 0);
    v_sxy numeric := coalesce((f ->> 'sxy')::numeric, 0);
    v_spend_3d numeric := coalesce((f ->> 'spend_3d')::numeric, 0);
    v_budget_3d numeric := (f ->> 'budget_3d')::numeric;
    v_days_3d numeric := coalesce((f ->> 'days_3d')::numeric, 0);
    v_days_7d numeric := coalesce((f ->> 'days_7d')::numeric, 0);
    v_leads_7d numeric := coalesce((f ->> 'leads_7d')::numeric, 0);
    v_target_7d numeric := (f ->> 'target_7d')::numeric;
    v_last_dir numeric := coalesce((f ->> 'last_direction')::numeric, 0);
    v_makeup numeric := 0.0;
    v_aim numeric;
    v_prior numeric;
    v_b0 numeric;
    v_b numeric;
    v_p0 numeric;
    v_preg numeric;
    v_beta numeric := 0.75;
    v_organic numeric := 0.0;
    v_k numeric := 0.0;
    v_sum_pow double precision;
    v_want numeric;
    v_spend_want numeric;
    v_pace numeric;
    v_spend_now numeric;
    v_se numeric;
    v_slope_note text;
  begin
    -- Average paid cost per lead: own spend / conversions blended with the branch's (else the default).
    v_prior := coalesce(v_branch_cpl, v_default_cpl);
    average_cost_per_lead := round(case when v_conv_28d + v_prior_leads > 0 and v_spend_28d > 0
                                        then (v_spend_28d + v_prior_leads * v_prior) / (v_conv_28d + v_prior_leads)
                                        else v_prior end, 2);
    average_cost_per_lead := greatest(average_cost_per_lead, 0.01);
    -- Marginal leads per EUR: prior 0.75 / average CPL (sd 35%), updated by the regression slope of
    -- daily leads on daily spend, whose precision is sxx / variance of a day's leads (~ Poisson).
    v_b0 := 0.75 / average_cost_per_lead;
    v_p0 := 1 / (0.35 * v_b0) ^ 2;
    if v_n >= 7 and v_sxx > 0 then
      v_preg := v_sxx / (1.2 * greatest(v_mean_leads, 1));
      v_b := (v_sxy / v_sxx * v_preg + v_b0 * v_p0) / (v_preg + v_p0);
      v_slope_note := format('slope of %s days weighs %s%%', v_n, round(100 * v_preg / (v_preg + v_p0)));
    else
      v_b := v_b0;
      v_slope_note := 'no spend variation to learn from yet';
    end if;
    v_b := least(greatest(v_b, 0.3 * v_b0), 1.5 * v_b0);

    -- Budget-limited: it spent (nearly) what it was given over the last 3 days.
    budget_limited := v_days_3d = 0 or coalesce(v_budget_3d, 0) <= 0 or v_spend_3d >= v_ratio * v_budget_3d;
    if budget_limited and coalesce(v_budget_3d, 0) > 0 and v_spend_3d > 0 then
      v_pace := least(greatest(v_spend_3d / v_budget_3d, 0.5), 1.0);
      v_spend_now := v_budget * v_pace;
    elsif budget_limited then
      v_pace := 0.97;
      v_spend_now := v_budget * v_pace;
    else
      v_pace := 0.97;
      v_spend_now := v_spend_3d / v_days_3d;
    end if;

    -- The response curve from the learning window (see above); without paid data, a straight line.
    if v_n > 0 and v_mean_paid > 0 and v_mean_spend > 0 then
      v_beta := least(greatest(v_b * v_mean_spend / v_mean_paid, 0.5), 0.95);
      select sum(power(e.s, v_beta::double precision)) into v_sum_pow
        from (select (x #>> '{}')::double precision as s from jsonb_array_elements(v_spends) x) e
       where e.s > 0;
      if coalesce(v_sum_pow, 0) > 0 then
        v_k := v_mean_paid * v_n / v_sum_pow::numeric;
      end if;
      v_organic := greatest(v_mean_leads - v_mean_paid, 0);
    end if;
    -- Smoothed flow: the curve's expected leads at today's spend (every day of the window moved to
    -- today's budget, so past budget changes cause no lag); its standard error ~ Poisson over n days.
    if v_k > 0 and v_spend_now > 0 then
      smoothed_leads := round(v_organic + v_k * power(v_spend_now, v_beta), 2);
      marginal_cost_per_lead := round(1 / (v_beta * v_k * power(v_spend_now, v_beta - 1)), 2);
    elsif v_n > 0 then
      smoothed_leads := round(greatest(v_mean_leads + v_b * (v_spend_now - v_mean_spend), 0), 2);
      marginal_cost_per_lead := round(1 / v_b, 2);
    else
      smoothed_leads := greatest(coalesce((p_inputs ->> 'actual_leads')::numeric, 0), 0);
      marginal_cost_per_lead := round(1 / v_b, 2);
    end if;
    v_se := sqrt(greatest(smoothed_leads, 1) / greatest(v_n, 1));
    -- Aim: the target plus smart_makeup of the last 7 days' shortfall against their own targets
    -- (spread over a week, capped at 30% of the target), so that a week's leads make up for a slow
    -- start. Only while the flow tracks the target (within 30%): a surplus or shortfall from before a
    -- capacity step or from a start far off target is not "made up" by over-correcting.
    if v_days_7d > 0 and v_target_7d is not null and abs(smoothed_leads - v_target) <= 0.3 * v_target then
      v_makeup := v_makeup_share * (v_target_7d - v_leads_7d) / v_days_7d;
      v_makeup := least(greatest(v_makeup, -0.3 * v_target), 0.3 * v_target);
    end if;
    v_aim := greatest(v_target + v_makeup, 0);
    gap := round(v_aim - smoothed_leads, 2);
    dead_band := round(greatest(v_band_share * v_target, 0.25 * v_se), 2);
    -- Asymmetric cost: a lead above the aim is bought at the marginal cost per lead (on a concave curve
    -- above the average), one short saves it; so a raise needs smart_raise_band times the band.
    if gap > 0 then
      dead_band := round(v_raise_band * dead_band, 2);
    end if;
    -- Hysteresis: turning back against the last change needs three times the dead-band.
    if sign(gap) <> 0 and sign(gap) = -v_last_dir then
      dead_band := 3 * dead_band;
    end if;

    if abs(gap) <= dead_band then
      action := 'dead_band';
      desired := v_budget;
    elsif gap > 0 and not budget_limited then
      action := 'not_budget_limited';
      desired := v_budget;
    else
      action := case when gap > 0 then 'increase' else 'decrease' end;
      -- Asks for smart_gain of the way to the aim when raising, smart_gain_down (all of it by default)
      -- when cutting a surplus: the spend the curve needs for that flow.
      if gap < 0 then
        v_gain := v_gain_down;
      end if;
      v_want := smoothed_leads + v_gain * gap;
      if v_k > 0 and v_spend_now > 0 then
        v_spend_want := case when v_want - v_organic <= 0 then 0
                             else power((v_want - v_organic) / v_k, 1 / v_beta) end;
      else
        v_spend_want := greatest(v_spend_now + v_gain * gap * marginal_cost_per_lead, 0);
      end if;
      desired := round(v_spend_want / v_pace, 2);
    end if;

    explanation := format(
      'smart: flow %s/day at today''s budget (curve organic %s + paid, exponent %s) vs aim %s for target %s '
      '(gap %s, dead-band +-%s); marginal CPL %s (average %s; %s); %s',
      smoothed_leads, round(v_organic, 2), round(v_beta, 2), round(v_aim, 2), trim_scale(v_target),
      case when gap > 0 then '+' else '' end || gap, dead_band,
      lead_flow.money(marginal_cost_per_lead), lead_flow.money(average_cost_per_lead), v_slope_note,
      case action
        when 'dead_band' then format('within the dead-band: keeps %s', lead_flow.money(v_budget))
        when 'not_budget_limited' then format('not budget-limited (spent %s of %s over 3 days): keeps %s',
                                              lead_flow.money(v_spend_3d), lead_flow.money(v_budget_3d),
                                              lead_flow.money(v_budget))
        else format('%s of the gap: %s leads/day need %s spend, wants %s',
                    trim_scale(v_gain), round(v_want, 2), lead_flow.money(v_spend_want),
                    lead_flow.money(desired)) end);
    return next;
  end
  $$;
comment on function lead_flow.smart_budget_decision(jsonb) is
  'The smart controller''s decision from its inputs (orchestrate inputs + a "smart" features object): desired '
  'budget before the hard limits, smoothed flow, gap, dead-band, marginal and average cost per lead, whether the '
  'campaign is budget-limited, the action (dead_band, not_budget_limited, increase, decrease) and a reason.';
grant execute on function lead_flow.smart_budget_decision(jsonb) to authenticated, service_role;

-- The entry point orchestrate_budgets dispatches to (lead_flow.desired_budget_<controller>(jsonb)).
-- When the inputs carry no 'smart' features it reads them for that one segment.
create or replace function lead_flow.desired_budget_smart(p_inputs jsonb, out desired numeric, out explanation text)
  language sql stable set search_path = ''
  as $$
    select d.desired, d.explanation
      from lead_flow.smart_budget_decision(
             case when p_inputs ? 'smart' then p_inputs
                  else p_inputs || jsonb_build_object('smart', (
                         select f.features
                           from lead_flow.smart_controller_features(
                                  (p_inputs ->> 'date')::date, (p_inputs ->> 'segment_id')::uuid,
                                  (p_inputs ->> 'smart_window_days')::integer) f))
             end) d
  $$;
comment on function lead_flow.desired_budget_smart(jsonb) is
  'Controller "smart": desired budget from the smoothed 7-day flow, a dead-band, a learned marginal cost per '
  'lead and no increase when the campaign is not budget-limited. Its result still goes through limit_daily_budget.';
revoke all on function lead_flow.desired_budget_smart(jsonb) from public, anon, authenticated;
grant execute on function lead_flow.desired_budget_smart(jsonb) to service_role;

-- Alerts in lead_flow_alerts' shape: segments below target whose campaign is not budget-limited
-- (spent < smart_spend_ratio of its budget over the last 3 planned days), so more budget would buy
-- nothing and the gap needs another channel or more search demand. For the last planned day. Reads
-- only what the alert says: per active segment with a campaign, the stats of the 7 days up to that day
-- (by the (segment_id, date) key) and the budget in force on its last 3, the same figures (days_7d,
-- leads_7d, spend_3d, budget_3d, days_3d) smart_controller_features computes, not its 56-day learning.
create or replace function lead_flow.controller_alerts(p_now timestamptz default now())
  returns table (kind text, segment_id uuid, date date, severity text, message text, details jsonb)
  language sql stable security definer set search_path = ''
  as $$
    with last_day as (
      select max(p.date) as d from public.lead_segment_plans p where p.date < lead_flow.local_day(p_now)
    ), latest as (
      select p.segment_id, p.date, p.target_leads_per_day, c.daily_budget,
             coalesce((ss.settings ->> 'smart_spend_ratio')::numeric, 0.85) as spend_ratio
        from public.lead_segment_plans p
        join last_day ld on p.date = ld.d
        join public.lead_segments s on s.id = p.segment_id and s.is_active
        join lead_flow.segment_settings ss on ss.segment_id = p.segment_id
        join public.lead_segment_campaigns c on c.segment_id = p.segment_id and c.is_active
       where (select lead_flow.has_admin_rights())
    ), below_target as (
      -- The 7 days' leads first: only a segment below target needs its budgets looked up.
      select l.segment_id, l.date, l.target_leads_per_day, l.daily_budget, l.spend_ratio,
             count(*) as days_7d, coalesce(sum(st.leads_generated), 0) as leads_7d,
             coalesce(sum(st.google_ads_spend) filter (where st.date > l.date - 3), 0) as spend_3d,
             count(*) filter (where st.date > l.date - 3) as days_3d
        from latest l
        join public.lead_generation_stats st on st.segment_id = l.segment_id
         and st.date > l.date - 7 and st.date <= l.date
       group by l.segment_id, l.date, l.target_leads_per_day, l.daily_budget, l.spend_ratio
      having coalesce(sum(st.leads_generated), 0) < l.target_leads_per_day * greatest(count(*), 1)
    ), recent as (
      select b.*, bb.budget_3d
        from below_target b
       cross join lateral (
         select sum(lead_flow.budget_in_force(b.segment_id, st.date, b.daily_budget)) as budget_3d
           from public.lead_generation_stats st
          where st.segment_id = b.segment_id and st.date > b.date - 3 and st.date <= b.date) bb
    )
    select 'not_budget_limited'::text, r.segment_id, r.date, 'warning'::text,
           format('below target (%s/day over 7 days vs %s) but the campaign spent only %s of its %s budget over '
                  '3 days: more budget buys nothing here', round(r.leads_7d::numeric / nullif(r.days_7d, 0), 1),
                  r.target_leads_per_day, lead_flow.money(r.spend_3d), lead_flow.money(r.budget_3d)),
           jsonb_build_object('days_7d', r.days_7d, 'leads_7d', r.leads_7d, 'spend_3d', r.spend_3d,
                              'budget_3d', r.budget_3d, 'days_3d', r.days_3d)
      from recent r
     where r.budget_3d > 0 and r.spend_3d < r.spend_ratio * r.budget_3d
  $$;
comment on function lead_flow.controller_alerts(timestamptz) is
  'Alert kind not_budget_limited, in lead_flow_alerts'' columns: segments below their 7-day target whose campaign '
  'spent less than smart_spend_ratio of its budget over the last 3 days of the last planned day (more budget buys '
  'nothing); details: days_7d, leads_7d, spend_3d, budget_3d, days_3d. Reads the last 7 days only. Rows only for '
  'admins and back-end roles.';
revoke all on function lead_flow.controller_alerts(timestamptz) from public, anon, authenticated;
grant execute on function lead_flow.controller_alerts(timestamptz) to authenticated, service_role;
