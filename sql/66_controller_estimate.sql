-- Controller 'estimate': estimates the segment's response instead of chasing its daily counts. Like
-- every controller it only proposes a desired budget; lead_flow.hard_budget_limits (60_budget_maths)
-- applies the hard limits afterwards (+-20% of the day-start budget, [5, 1000]).
--
-- The model, fitted per segment to its last 56 days (set-based, one statement for all segments):
--   expected leads on a day with weekday factor w at spend s = w x (organic + k x s^b)
--   * w: the weekday factors of the whole marketplace's last 56 days (leads per weekday / mean);
--   * organic: the weighted mean of (leads - Google Ads conversions) / w: the flow that comes without
--     paying; paid leads are the conversions the worker records;
--   * b and the drift: one least-squares fit over the window of log paid leads / w on log spend and on
--     the day's age together (a budget raised against a rising cost per lead is then no flat curve), b
--     held toward 0.7 (sd 0.15) by its precision (spread of log spend x paid leads): with the budget
--     held level there is little to learn, so b stays near the prior. The prior gives way where the
--     window contradicts it: when the window's own b lies z > 2 standard errors (its own and the
--     prior's together) from 0.7, the prior's precision is cut by (2 / z)^2: on the steep part of an
--     S-curve a quarter less spend bought half the paid leads, which the prior at full weight read as
--     b about 1, holding the segment 25-35% short inside the band); within 0.3 .. 1.5 (above 1 on the
--     steep part of an S-curve); the drift is used where it is 2.5 standard errors from none (at the
--     fitted b), within +-3% a day;
--   * k: weighted sum of paid / weighted sum of w x s^b (the Poisson maximum likelihood for a known
--     b), with 3 days' worth of a prior (the branch's paid cost per lead, else default_cost_per_lead);
--   * weights 0.97^age (a half-life of about three weeks) over 56 days, for the paid curve times a
--     kernel in log spend around today's spend (sd 0.5): fitted where it is asked; each day's spend
--     moved to today's level along the drift, and k is the level of today moved one day on (a cost
--     that keeps rising is followed, not averaged);
--   * the standard error of the expected leads at a budget: the Poisson error of the window's mean
--     (mean leads / effective days) plus the error of b times how far that budget's spend lies from
--     the window's mean spend (log ratio), so an extrapolation is as uncertain as it is;
--   * pacing (spend / budget on budget-limited days) and the search demand: a campaign that spent less
--     than 85% of its budget over its last 3 known days is demand-limited; its cap is the mean of
--     spend / w over those days.
-- The decision (lead_flow.estimate_budget_decision, pure): the budget whose expected leads meet the
-- target, with estimate_weekday_share of tomorrow's weekday factor (0 by default: one level budget
-- whose week of expected leads meets the target; following the weekday pattern means two budget
-- reversals a week at least and buys the Saturday's leads dearest). No change while the target lies
-- within estimate_band standard errors of the estimate at today's budget, at least 2% and at most 5%
-- of the target (a wider band would hold a week outside +-10%); turning back against the last applied
-- change needs 1.5 times that. On the way to a new level (a capacity step moves the target that
-- night) the budget goes no further than tomorrow's own expected leads need (its whole weekday
-- factor): never past the level, so no turning back, and a strong weekday is met a night or two
-- before the level is. A demand-limited campaign is never raised, and a budget far above its demand
-- comes down to 1.3x the demand it meets.
-- The API's what-if (public.segment_budget_response, sql/91) reads the same estimate and the same
-- lead_flow.estimate_leads_at: one mechanism.

-- Per active segment (or one), the fitted response on Amsterdam day p_date as jsonb (keys above):
-- organic, k (for tomorrow), b, b_se, drift (of k per day), n, n_eff, mean_leads, mean_spend, pacing,
-- demand_limited, spend_cap,
-- weekday_factor (of p_date + 1), conversions_tracked, last_direction, estimated_for, b_prior_z (how many
-- standard errors the window's own b lies from the prior 0.7; above 2 the prior gave way).
create or replace function lead_flow.estimate_segment_response(p_date date, p_segment_id uuid default null)
  returns table (segment_id uuid, estimate jsonb)
  language sql stable set search_path = ''
  as $$
    with segs as (
      select s.id, s.branch, c.daily_budget, ss.settings
        from public.lead_segments s
        join lead_flow.segment_settings ss on ss.segment_id = s.id
        left join public.lead_segment_campaigns c on c.segment_id = s.id and c.is_active
       where s.is_active and (p_segment_id is null or s.id = p_segment_id)
    ), weekday as (   -- the marketplace's weekday factors (mean 1) over 56 days; 1 without data
      select w.dow, coalesce(w.per_day / nullif(avg(w.per_day) over (), 0), 1)::double precision as f
        from (select extract(isodow from st.date)::integer as dow,
                     sum(st.leads_generated)::double precision / count(distinct st.date) as per_day
                from public.lead_generation_stats st
               where st.date between p_date - 55 and p_date
               group by 1) w
    ), days as (
      select st.segment_id, st.date, st.leads_generated::double precision as leads,
             st.google_ads_conversions::double precision as conv, st.google_ads_spend::double precision as spend,
             coalesce(wd.f, 1) as w, power(0.97, p_date - st.date) as a,
             (p_date - st.date)::double precision as age,
             case when st.google_ads_spend > 0 then ln(st.google_ads_spend::double precision) end as lx,
             ln((st.google_ads_conversions + 0.5)::double precision / greatest(coalesce(wd.f, 1), 0.1)) as ly,
             -- closeness to today's spend (a kernel in log spend, sd 0.5): the paid curve is fitted
             -- around the spend it is asked about, so a shape that is not a power curve misleads less
             coalesce(exp(-power(ln((st.google_ads_spend + 1)
                                    / (max(st.google_ads_spend) filter (where st.date = p_date)
                                         over (partition by st.segment_id) + 1)), 2)::double precision / 0.5), 1)
               as kern,
             -- the budget in force that day: the day-start value of its night's change, else the plan's
             -- live budget, else (for p_date itself) the campaign's budget now
             coalesce(l.old_value, p.actual_daily_budget_google_ads,
                      case when st.date = p_date then g.daily_budget end)::double precision as budget
        from public.lead_generation_stats st
        join segs g on g.id = st.segment_id
        left join weekday wd on wd.dow = extract(isodow from st.date)::integer
        left join public.channel_orchestration_log l
          on l.segment_id = st.segment_id and l.channel = 'google_ads' and l.date = st.date
        left join public.lead_segment_plans p on p.segment_id = st.segment_id and p.date = st.date
       where st.date between p_date - 55 and p_date
    ), fit as (   -- per segment: sums for organic, the slope of log paid on log spend, pacing, demand
      select d.segment_id, count(*) as n,
             sum(d.a) as sa, sum(d.a * d.kern) as sak, sum(d.a * d.kern * d.a * d.kern) as sak2,
             sum(d.a * greatest(d.leads - d.conv, 0) / greatest(d.w, 0.1)) as sa_organic,
             sum(d.a * d.leads / greatest(d.w, 0.1)) as sa_leads,
             avg(d.leads) as mean_leads, avg(d.spend) as mean_spend, sum(d.conv) as conv, sum(d.spend) as spend,
             avg(d.conv) as mean_conv,
             -- sums of y = log paid leads / w, x = log spend and t = the day's age over the window, for
             -- the joint regression of y on x and t (the slope b and the drift apart: a budget raised
             -- against a rising cost per lead is no flat curve)
             count(*) filter (where d.spend > 0) as rw,
             sum(d.lx) as rx, sum(d.age) filter (where d.spend > 0) as rt, sum(d.ly) filter (where d.spend > 0) as ry,
             sum(d.lx * d.lx) as rxx, sum(d.age * d.age) filter (where d.spend > 0) as rtt,
             sum(d.lx * d.age) as rxt, sum(d.lx * d.ly) as rxy, sum(d.age * d.ly) filter (where d.spend > 0) as rty,
             sum(d.spend) filter (where d.budget > 0 and d.spend >= 0.85 * d.budget) as paced_spend,
             sum(d.budget) filter (where d.budget > 0 and d.spend >= 0.85 * d.budget) as paced_budget
        from days d
       group by d.segment_id
    ), recent as (   -- the last 3 days whose budget is known: spent (nearly) all of it?
      select r.segment_id, sum(r.spend) as spend_3d, sum(r.budget) as budget_3d,
             avg(r.spend / greatest(r.w, 0.1)) as demand
        from (select d.*, row_number() over (partition by d.segment_id order by d.date desc) as rn
                from days d where d.budget > 0) r
       where r.rn <= 3
       group by r.segment_id
    ), branch as (   -- the branch's paid cost per lead over 28 days: the prior of k
      select s.branch, sum(st.google_ads_spend) / nullif(sum(st.google_ads_conversions), 0) as paid_cpl
        from public.lead_generation_stats st
        join public.lead_segments s on s.id = st.segment_id
       where st.date between p_date - 27 and p_date and s.branch in (select g.branch from segs g)
       group by s.branch
    ), last_change as (   -- the direction of the latest applied change planned before p_date
      select distinct on (l.segment_id) l.segment_id,
             sign(coalesce(l.applied_value, l.new_value) - l.old_value)::integer as dir
        from public.channel_orchestration_log l
        join segs g on g.id = l.segment_id
       where l.channel = 'google_ads' and l.status = 'success' and l.date < p_date and l.date >= p_date - 28
       order by l.segment_id, l.date desc
    ), shape as (   -- b and the prior of k
      select g.id, f.*, rc.spend_3d, rc.budget_3d, rc.demand, lc.dir,
             coalesce(f.conv > 0 or f.spend = 0, true) as tracked,
             -- the centred sums of the joint regression, times paid leads a day (Poisson: var log ~ 1/mean)
             greatest(coalesce(f.rxx - f.rx * f.rx / nullif(f.rw, 0), 0), 0) * greatest(coalesce(f.mean_conv, 0), 0.5) as sxx,
             greatest(coalesce(f.rtt - f.rt * f.rt / nullif(f.rw, 0), 0), 0) * greatest(coalesce(f.mean_conv, 0), 0.5) as stt,
             coalesce(f.rxt - f.rx * f.rt / nullif(f.rw, 0), 0) * greatest(coalesce(f.mean_conv, 0), 0.5) as sxt,
             coalesce(f.rxy - f.rx * f.ry / nullif(f.rw, 0), 0) * greatest(coalesce(f.mean_conv, 0), 0.5) as sxy,
             coalesce(f.rty - f.rt * f.ry / nullif(f.rw, 0), 0) * greatest(coalesce(f.mean_conv, 0), 0.5) as sty,
             coalesce(nullif(greatest(b.paid_cpl, 0), 0),
                      nullif(greatest((g.settings ->> 'default_cost_per_lead')::numeric, 0), 0), 25.00)::double precision
               as prior_cpl
        from segs g
        left join fit f on f.segment_id = g.id
        left join recent rc on rc.segment_id = g.id
        left join last_change lc on lc.segment_id = g.id
        left join branch b on b.branch = g.branch
    ), own as (   -- the window's own b (the drift still held toward none): its 2 x 2 determinant, none where
                  -- the window cannot tell b (a budget held level)
      select h.*, nullif(greatest(h.sxx * (h.stt + 2500) - h.sxt * h.sxt, 0), 0) as det0
        from shape h
    ), prior as (   -- how far the window's own b lies from the prior 0.7, in standard errors of both (0: none)
      select o.*,
             coalesce(abs((o.sxy * (o.stt + 2500) - o.sxt * o.sty) / o.det0 - 0.7)
                        / sqrt((o.stt + 2500) / o.det0 + 0.0225), 0) as b_z
        from own o
    ), solved as (   -- y = c + b x + g t by least squares over the window, b held toward 0.7 (sd 0.15: precision
                     -- 44.4, cut by (2 / b_z)^2 where the window contradicts the prior by b_z > 2) and the drift g
                     -- toward none (sd 0.02 a day: precision 2500); a 2 x 2 solve
      select r.*, (r.sxx + r.pp) * (r.stt + 2500) - r.sxt * r.sxt as det
        from (select p.*, 44.4 * least(1, power(2 / greatest(p.b_z, 0.001), 2)) as pp from prior p) r
    ), curve as (
      select v.*,
             least(greatest(((v.sxy + v.pp * 0.7) * (v.stt + 2500) - v.sxt * v.sty) / v.det, 0.3), 1.5) as b,
             sqrt((v.stt + 2500) / v.det) as b_se,
             ((v.sxx + v.pp) * v.sty - v.sxt * (v.sxy + v.pp * 0.7)) / v.det as slope,
             sqrt((v.sxx + v.pp) / v.det) as slope_se
        from solved v
    ), trend as (   -- the drift (slope of log paid on the day's age), used only when 2.5 standard errors
                    -- from none at the fitted b (precision: spread of the ages x paid leads a day); within
                    -- +-3% a day
      select c.id,
             case when c.tracked and abs(c.slope) * sqrt(c.stt) > 2.5 then least(greatest(c.slope, -0.03), 0.03)
                  else 0 end as g
        from curve c
    ), powered as (   -- sums over the window at the fitted b, each day's spend moved to today's level
      select c.id, coalesce(min(t.g), 0) as g,
             sum(d.a * d.kern * d.w * power(d.spend, c.b) * exp(coalesce(t.g, 0) * (p_date - d.date))) as sa_wsb,
             sum(d.a * d.kern * d.conv) as sa_conv,
             sum(d.a * power(d.spend, c.b) * exp(coalesce(t.g, 0) * (p_date - d.date))) as sa_sb
        from curve c join days d on d.segment_id = c.id
        left join trend t on t.id = c.id
       group by c.id
    ), fitted as (
      select c.*, coalesce(pw.g, 0) as g, pw.sa_wsb, pw.sa_conv, pw.sa_sb,
             -- the prior's k: the branch's paid cost per lead at the window's mean spend (100 EUR without)
             power(coalesce(nullif(c.mean_spend, 0), 100), 1 - c.b) / c.prior_cpl as k0,
             coalesce(pw.sa_wsb / nullif(c.sak, 0), 0) as m
        from curve c left join powered pw on pw.id = c.id
    ), model as (
      select f.*,
             case when f.tracked and f.sa_wsb + 3 * f.m > 0
                  then (f.sa_conv + 3 * f.k0 * f.m) / (f.sa_wsb + 3 * f.m) else f.k0 end as k
        from fitted f
    )
    select m.id,
           jsonb_build_object(
             'estimated_for', p_date,
             'n', coalesce(m.n, 0),
             'n_eff', round(coalesce(m.sak * m.sak / nullif(m.sak2, 0), 0)::numeric, 2),
             'organic', round(greatest(case when m.tracked then m.sa_organic / nullif(m.sa, 0)
                                            else (m.sa_leads - m.k * m.sa_sb) / nullif(m.sa, 0) end, 0)::numeric, 4),
             -- k for tomorrow: today's level moved one more day along the drift
             'k', round((m.k * exp(-m.g))::numeric, 8), 'b', round(m.b::numeric, 4), 'b_se', round(m.b_se::numeric, 4),
             'drift', round(-m.g::numeric, 4),
             'mean_leads', round(coalesce(m.mean_leads, 0)::numeric, 4),
             'mean_spend', round(coalesce(m.mean_spend, 0)::numeric, 2),
             'pacing', round(coalesce(least(greatest(m.paced_spend / nullif(m.paced_budget, 0), 0.8), 1.0), 0.97)::numeric, 4),
             'demand_limited', coalesce(m.spend_3d < 0.85 * m.budget_3d, false),
             'spend_cap', case when m.spend_3d < 0.85 * m.budget_3d then round(m.demand::numeric, 2) end,
             'weekday_factor', round(coalesce((select wd.f from weekday wd
                                                where wd.dow = extract(isodow from p_date + 1)::integer), 1)::numeric, 4),
             'conversions_tracked', m.tracked,
             'last_direction', coalesce(m.dir, 0),
             'b_prior_z', round(coalesce(m.b_z, 0)::numeric, 2))
      from model m
  $$;
comment on function lead_flow.estimate_segment_response(date, uuid) is
  'The estimate controller''s fitted response per active segment (or one) on Amsterdam day p_date, as jsonb: '
  'organic leads a day, the paid curve k x spend^b with b''s standard error, effective days of evidence, '
  'pacing, whether search demand caps the spend and its cap, tomorrow''s weekday factor, the last change''s '
  'direction. Set-based over the last 56 days (weights 0.97^age, a drift of the paid response); priors where data is thin.';
revoke all on function lead_flow.estimate_segment_response(date, uuid) from public, anon, authenticated;
grant execute on function lead_flow.estimate_segment_response(date, uuid) to service_role;

-- Expected leads a day at a daily budget under an estimate (the jsonb above), with a standard error:
-- f x (organic + k x spend^b), spend = budget x pacing (at most the demand cap), f = 1 + share x
-- (weekday factor - 1). NULL or non-finite parts fall back to: organic 0, k 0, b 0.7, pacing 0.97;
-- parts are rounded (k to 8 decimals, money to cents) so no double precision product underflows.
create or replace function lead_flow.estimate_leads_at(p_estimate jsonb, p_budget numeric,
                                                       p_weekday_share numeric default 0)
  returns table (expected numeric, standard_error numeric, spend numeric)
  language sql immutable parallel safe set search_path = ''
begin atomic
  select round((v.f * (v.organic + v.k * power(v.s, v.b)))::numeric, 4),
         round((v.f * sqrt(v.mean_leads / greatest(v.n_eff, 1)
                           + power(v.k * power(v.s, v.b) * case when v.s > 0 and v.mean_spend > 0
                                                                then ln(v.s / v.mean_spend) else 0 end * v.b_se, 2)
                           + 0.0001))::numeric, 4),
         round(v.s::numeric, 2)
    from (select e.organic, e.k, e.b, e.b_se, e.mean_leads, e.n_eff, e.mean_spend,
                 1 + e.share * (e.wf - 1) as f,
                 least(greatest(coalesce(round(lead_flow.finite(p_budget), 2), 0), 0)::double precision * e.pacing,
                       coalesce(e.cap, 'Infinity'::double precision)) as s
            from (select greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'organic')::numeric), 4), 0), 0)::double precision as organic,
                         least(greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'k')::numeric), 8), 0), 0), 1e6)::double precision as k,
                         least(greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'b')::numeric), 4), 0.7), 0.3), 1.5)::double precision as b,
                         least(greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'b_se')::numeric), 4), 0.15), 0), 1)::double precision as b_se,
                         least(greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'mean_leads')::numeric), 4), 0), 0), 1e9)::double precision as mean_leads,
                         greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'n_eff')::numeric), 2), 0), 0)::double precision as n_eff,
                         greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'mean_spend')::numeric), 2), 0), 0)::double precision as mean_spend,
                         least(greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'pacing')::numeric), 4), 0.97), 0.5), 1)::double precision as pacing,
                         case when (p_estimate ->> 'demand_limited')::boolean
                              then greatest(round(lead_flow.finite((p_estimate ->> 'spend_cap')::numeric), 2), 0)::double precision end as cap,
                         least(greatest(coalesce(round(lead_flow.finite((p_estimate ->> 'weekday_factor')::numeric), 4), 1), 0.2), 5)::double precision as wf,
                         least(greatest(coalesce(round(lead_flow.finite(p_weekday_share), 4), 0), 0), 1)::double precision as share
                  offset 0) e
          offset 0) v;
end;
comment on function lead_flow.estimate_leads_at(jsonb, numeric, numeric) is
  'Expected leads a day at daily budget p_budget under an estimate of lead_flow.estimate_segment_response, with '
  'p_weekday_share of tomorrow''s weekday factor: f x (organic + k x spend^b), spend = budget x pacing within the '
  'demand cap; its standard error (Poisson error of the window plus b''s error over the log spend ratio) and the spend.';
grant execute on function lead_flow.estimate_leads_at(jsonb, numeric, numeric) to authenticated, service_role;

-- The decision from orchestrate_budgets' inputs plus an 'estimate' object (estimate_segment_response):
-- the desired budget before the hard limits, what was estimated and wanted, and a reason.
create or replace function lead_flow.estimate_budget_decision(p_inputs jsonb)
  returns table (desired numeric, explanation text, expected_now numeric, standard_error numeric,
                 wanted_spend numeric, band numeric, action text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  with i as (
    select coalesce(p_inputs -> 'estimate', '{}'::jsonb) as e,
           greatest(coalesce(lead_flow.finite((p_inputs ->> 'day_start_budget')::numeric), 0), 0) as budget,
           least(greatest(coalesce(lead_flow.finite((p_inputs ->> 'target_leads_per_day')::numeric), 0), 0), 1e9) as target,
           least(greatest(coalesce(lead_flow.finite((p_inputs ->> 'estimate_band')::numeric), 1.0), 0), 10) as z,
           least(greatest(coalesce(lead_flow.finite((p_inputs ->> 'estimate_weekday_share')::numeric), 0), 0), 1) as share
    offset 0
  ), p as (   -- the estimate's parts, with the same fallbacks as estimate_leads_at
    select i.*, now_.expected, now_.standard_error, now_.spend as spend_now,
           greatest(coalesce(lead_flow.finite((i.e ->> 'organic')::numeric), 0), 0) as organic,
           least(greatest(coalesce(round(lead_flow.finite((i.e ->> 'k')::numeric), 8), 0), 0), 1e6) as k,
           least(greatest(coalesce(lead_flow.finite((i.e ->> 'b')::numeric), 0.7), 0.3), 1.5) as b,
           least(greatest(coalesce(lead_flow.finite((i.e ->> 'pacing')::numeric), 0.97), 0.5), 1) as pacing,
           coalesce((i.e ->> 'demand_limited')::boolean, false) as demand_limited,
           greatest(lead_flow.finite((i.e ->> 'spend_cap')::numeric), 0) as cap,
           1 + i.share * (least(greatest(coalesce(lead_flow.finite((i.e ->> 'weekday_factor')::numeric), 1), 0.2), 5) - 1) as f,
           least(greatest(coalesce(lead_flow.finite((i.e ->> 'weekday_factor')::numeric), 1), 0.2), 5) as wf,
           coalesce(lead_flow.finite((i.e ->> 'last_direction')::numeric), 0) as last_dir,
           coalesce(lead_flow.finite((i.e ->> 'b_prior_z')::numeric), 0) as b_prior_z
      from i cross join lateral lead_flow.estimate_leads_at(i.e, i.budget, i.share) now_
  ), q as (   -- the gap, the band (2-5% of the target; 1.5 times as wide to turn back), the spend the target needs
    select p.*, p.target - p.expected as gap,
           least(greatest(p.z * p.standard_error, 0.02 * p.target), 0.05 * p.target)
             * case when sign(p.target - p.expected) = -sign(p.last_dir) and p.last_dir <> 0 then 1.5 else 1 end as band,
           case when p.target / p.f - p.organic <= 0 then 0
                when p.k <= 0 then null
                -- ((target / f - organic) / k)^(1 / b) in logarithms, at most e^30 (no overflow)
                else round(exp(least((ln(p.target / p.f - p.organic) - ln(p.k)) / p.b, 30)), 4)
           end as need,
           -- the spend tomorrow's own expected leads (its whole weekday factor) need: on the way to a new
           -- level the budget stops where tomorrow needs no more (it never passes the level)
           case when p.target / p.wf - p.organic <= 0 then 0
                when p.k <= 0 then null
                else round(exp(least((ln(p.target / p.wf - p.organic) - ln(p.k)) / p.b, 30)), 4)
           end as need_day
      from p
  ), d as (
    select q.*,
           case when q.budget <= 0 then 'start'
                when abs(q.gap) <= q.band then 'hold'
                when q.gap > 0 and q.demand_limited then 'demand_capped'
                when q.gap > 0 and q.need is null then 'no_curve'
                when q.gap > 0 then 'increase'
                else 'decrease' end as act
      from q
  ), w as (   -- the spend wanted: the level's need, not beyond what tomorrow needs on the way there
    select d.*,
           case d.act
             when 'increase' then least(d.need, greatest(coalesce(d.need_day, d.need), d.budget * d.pacing))
             when 'decrease' then greatest(coalesce(d.need, 0), least(coalesce(d.need_day, d.need, 0), d.budget * d.pacing))
             else d.need end as want
      from d
  )
  select round(case d.act
                 when 'hold' then d.budget
                 when 'no_curve' then d.budget * 1.2
                 -- a demand cap is a cap: never raised, and brought down to 1.3x the demand it meets
                 when 'demand_capped' then least(d.budget, greatest(coalesce(d.cap, d.budget) * 1.3 / d.pacing, 5))
                 else least(coalesce(d.want, 0) / d.pacing, 1e9) end, 2),
         format('estimate: %s +-%s leads/day expected at budget %s (organic %s + paid k x spend^%s%s, %s days of '
                'evidence%s) vs target %s (gap %s, band +-%s); %s',
                round(d.expected, 2), round(d.standard_error, 2), lead_flow.money(d.budget), round(d.organic, 2),
                round(d.b, 2),
                -- where the window overruled the exponent's prior, say so (a b far from 0.7 is then no accident)
                case when d.b_prior_z > 2
                     then format(' from the window: the prior 0.7 is %s standard errors off', round(d.b_prior_z, 1))
                     else '' end,
                round(coalesce(lead_flow.finite((d.e ->> 'n_eff')::numeric), 0), 1),
                case when d.share > 0 then format(', %s%% of weekday factor %s', round(d.share * 100),
                                                   round(coalesce(lead_flow.finite((d.e ->> 'weekday_factor')::numeric), 1), 2))
                     else '' end,
                trim_scale(d.target), case when d.gap > 0 then '+' else '' end || round(d.gap, 2), round(d.band, 2),
                case d.act
                  when 'start' then 'no budget yet: asks for the spend the target needs'
                  when 'hold' then format('within the band: keeps %s', lead_flow.money(d.budget))
                  when 'no_curve' then 'no paid response estimated yet: asks for 20% more'
                  when 'demand_capped' then format('search demand caps the spend at about %s/day (less than 85%% of '
                                                   'the budget spent over 3 days): not raised, wants at most 1.3x that',
                                                   lead_flow.money(d.cap))
                  else format('wants %s leads/day: needs spend %s at pacing %s%s, wants %s', trim_scale(d.target),
                              lead_flow.money(d.need), round(d.pacing, 2),
                              case when d.want is distinct from d.need
                                   then format('; tomorrow (weekday factor %s) needs spend %s, so on the way spend %s',
                                               round(d.wf, 2), lead_flow.money(d.need_day), lead_flow.money(d.want))
                                   else '' end,
                              lead_flow.money(d.want / d.pacing)) end),
         d.expected, d.standard_error, round(d.need, 2), round(d.band, 4), d.act
    from w d;
end;
comment on function lead_flow.estimate_budget_decision(jsonb) is
  'The estimate controller''s decision from orchestrate inputs plus an "estimate" object (estimate_segment_response): '
  'the desired budget before the hard limits (the budget whose expected leads meet the target; kept within the '
  'uncertainty band; never raised when search demand caps the spend), the expected leads at today''s budget and '
  'their standard error, the spend wanted, the band, the action (start, hold, increase, decrease, demand_capped, '
  'no_curve) and the reason in words. NULLs and non-finite inputs fall back to defaults.';
grant execute on function lead_flow.estimate_budget_decision(jsonb) to authenticated, service_role;

-- The entry point orchestrate_budgets dispatches to (lead_flow.desired_budget_<controller>(jsonb)).
-- When the inputs carry no 'estimate' object it estimates that one segment.
create or replace function lead_flow.desired_budget_estimate(p_inputs jsonb, out desired numeric, out explanation text)
  language sql stable set search_path = ''
  as $$
    select d.desired, d.explanation
      from lead_flow.estimate_budget_decision(
             case when p_inputs ? 'estimate' then p_inputs
                  else p_inputs || jsonb_build_object('estimate', (
                         select r.estimate
                           from lead_flow.estimate_segment_response(
                                  (p_inputs ->> 'date')::date, (p_inputs ->> 'segment_id')::uuid) r))
             end) d
  $$;
comment on function lead_flow.desired_budget_estimate(jsonb) is
  'Controller "estimate": the budget whose estimated expected leads meet the target (organic flow and a paid '
  'curve with diminishing returns fitted to 56 days, with uncertainty), held within the uncertainty band, never '
  'raised against a demand cap. Its result still goes through the hard limits.';
revoke all on function lead_flow.desired_budget_estimate(jsonb) from public, anon, authenticated;
grant execute on function lead_flow.desired_budget_estimate(jsonb) to service_role;
