-- The budget safety maths: pure functions, no table access, IMMUTABLE; internal (lead_flow), for the
-- orchestration, the partner recommendations and the back end.
-- Two stages, so that controllers can differ while the hard limits never do:
--   1. a controller proposes a desired budget: lead_flow.desired_budget_<controller>(inputs jsonb)
--      returning (desired numeric, explanation text); 'spec' is here, 'smart' in 65_controller_smart;
--   2. lead_flow.limit_daily_budget() always applies the same hard limits to whatever was desired.
--
-- Every function here has a fixed search_path, like every other (Supabase's linter allows no
-- exemption). That stops the planner from inlining them, and a call with a fixed search_path costs
-- more than the maths: so each core is written once over arrays (<name>_all: element i in, row
-- ord = i out), which the set-based steps call once for all rows; the one-value forms wrap it.

-- NULL for NaN and +-Infinity, the number otherwise: no non-finite value reaches the limits.
create or replace function lead_flow.finite_all(p_values numeric[]) returns numeric[]
  language sql immutable parallel safe set search_path = ''
  return array(select nullif(nullif(nullif(u.v, 'NaN'::numeric), 'Infinity'::numeric), '-Infinity'::numeric)
                 from unnest(p_values) with ordinality u(v, i) order by u.i);
comment on function lead_flow.finite_all(numeric[]) is
  'lead_flow.finite of every element, in order, in one call (for the set-based cores).';
grant execute on function lead_flow.finite_all(numeric[]) to anon, authenticated, service_role;

create or replace function lead_flow.finite(p_value numeric) returns numeric
  language sql immutable parallel safe set search_path = ''
  return (lead_flow.finite_all(array[p_value]))[1];
comment on function lead_flow.finite(numeric) is 'The value when it is a finite number, else NULL.';
grant execute on function lead_flow.finite(numeric) to anon, authenticated, service_role;

-- Money as the reason text prints it: two decimals, a sign where asked. The set form formats a whole
-- column in one call (a call of a function with a fixed search_path per amount costs more than the
-- formatting); the one-value form is that of one element.
create or replace function lead_flow.money_all(p_values numeric[], p_signed boolean default false) returns text[]
  language sql immutable parallel safe set search_path = ''
  return array(select case when u.v is null then 'unknown'
                           when p_signed and u.v >= 0 then '+' || round(u.v, 2)::text
                           else round(u.v, 2)::text end
                 from unnest(p_values) with ordinality u(v, i) order by u.i);
comment on function lead_flow.money_all(numeric[], boolean) is
  'lead_flow.money of every element, in order, in one call (for the set-based cores).';
grant execute on function lead_flow.money_all(numeric[], boolean) to anon, authenticated, service_role;

create or replace function lead_flow.money(p_value numeric, p_signed boolean default false) returns text
  language sql immutable parallel safe set search_path = ''
  return (lead_flow.money_all(array[p_value], p_signed))[1];
comment on function lead_flow.money(numeric, boolean) is 'EUR amount as text with two decimals (optionally signed).';
grant execute on function lead_flow.money(numeric, boolean) to anon, authenticated, service_role;

-- The hard limits, applied after every controller:
--   * the day-start budget (rounded to cents) is the base; 0, negative or unknown means "no budget":
--     anything wanted (desired of at least a cent) starts at the launch budget, else it stays as it is;
--   * otherwise the desired budget (the base when unknown) is rounded to cents and kept within
--     +-max_change of the base (bounds rounded inward to cents, so the limit holds exactly),
--   * then floored at min_budget and capped at max_budget (these win over the +-max_change);
--   * a result less than 0.01 from the base is no change.
-- NULL or non-finite settings fall back to the documented defaults; max_change is kept in [0, 1],
-- max_budget >= min_budget, launch within [min, max].
create or replace function lead_flow.hard_budget_limits_all(
    p_day_start numeric[], p_desired numeric[], p_max_change numeric[], p_min_budget numeric[],
    p_max_budget numeric[], p_launch_budget numeric[])
  returns table (ord bigint, new_budget numeric, changed boolean, limited_by text, note text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  -- s: the settings and bounds; c: desired kept within +-max_change (b), then within [min, max];
  -- t: the amounts the notes print, each column formatted in one call; ord: the element's position.
  with s as materialized (
    select a.ord, a.base, a.mc, a.min_budget, a.max_budget,
           round(coalesce(a.desired, 0), 2) > 0 as wants,
           least(greatest(round(greatest(coalesce(a.launch_in, 10.00), 0), 2), a.min_budget), a.max_budget) as launch,
           round(ceil(a.base * (1 - a.mc) * 100) / 100, 2) as lo,
           round(floor(a.base * (1 + a.mc) * 100) / 100, 2) as hi,
           round(coalesce(a.desired, a.base), 2) as x0
      from (select m.ord, least(greatest(coalesce(m.max_change, 0.20), 0), 1) as mc, m.min_budget,
                   greatest(round(floor(greatest(coalesce(m.max_budget_in, 1000.00), 0) * 100) / 100, 2),
                            m.min_budget) as max_budget,
                   round(m.day_start, 2) as base, m.desired, m.launch_in
              from (select u.ord, u.day_start, u.desired, u.max_change, u.max_budget_in, u.launch_in,
                           round(ceil(greatest(coalesce(u.min_budget_in, 5.00), 0) * 100) / 100, 2) as min_budget
                      from unnest(lead_flow.finite_all(p_day_start), lead_flow.finite_all(p_desired),
                                  lead_flow.finite_all(p_max_change), lead_flow.finite_all(p_min_budget),
                                  lead_flow.finite_all(p_max_budget), lead_flow.finite_all(p_launch_budget))
                           with ordinality u(day_start, desired, max_change, min_budget_in, max_budget_in, launch_in, ord)
                    offset 0) m
            offset 0) a
  ), b as materialized (
    select s.*,
           case when s.x0 > s.hi then s.hi when s.x0 < s.lo then s.lo else s.x0 end as bx,
           case when s.x0 > s.hi then 'max_increase' when s.x0 < s.lo then 'max_decrease' else 'none' end
             as b_limited_by
      from s
  ), c as materialized (
    select b.*,
           case when b.bx < b.min_budget then b.min_budget when b.bx > b.max_budget then b.max_budget else b.bx end as x,
           case when b.bx < b.min_budget then 'min_budget' when b.bx > b.max_budget then 'max_budget'
                else b.b_limited_by end as c_limited_by
      from b
  ), t as (
    select f.ord, f.base, f.launch, f.min_budget, f.max_budget, f.x
      from (select array_agg(c.base order by c.ord) as base, array_agg(c.launch order by c.ord) as launch,
                   array_agg(c.min_budget order by c.ord) as min_budget,
                   array_agg(c.max_budget order by c.ord) as max_budget, array_agg(c.x order by c.ord) as x
              from c) a
     cross join lateral unnest(lead_flow.money_all(a.base), lead_flow.money_all(a.launch),
                               lead_flow.money_all(a.min_budget), lead_flow.money_all(a.max_budget),
                               lead_flow.money_all(a.x)) with ordinality f(base, launch, min_budget, max_budget, x, ord)
  ), n as (
    select c.ord, c.base, c.wants, c.launch, c.x, c.c_limited_by, t.base as m_base, t.launch as m_launch, t.x as m_x,
           case when c.bx < c.min_budget
                  then concat_ws(', then ', bn.note, format('floored at the minimum budget %s', t.min_budget))
                when c.bx > c.max_budget
                  then concat_ws(', then ', bn.note, format('capped at the maximum budget %s', t.max_budget))
                else bn.note end as note
      from c
      join t on t.ord = c.ord
     cross join lateral (
       select case when c.x0 > c.hi then format('capped at +%s%% of %s', trim_scale(c.mc * 100)::text, t.base)
                   when c.x0 < c.lo then format('capped at -%s%% of %s', trim_scale(c.mc * 100)::text, t.base)
              end as note) bn
  )
  select n.ord,
         case when n.base is null or n.base <= 0 then
                case when n.wants and n.launch > 0 then n.launch when n.base is null then null else 0.00 end
              when abs(n.x - n.base) < 0.01 then n.base
              else n.x end,
         case when n.base is null or n.base <= 0 then n.wants and n.launch > 0
              else abs(n.x - n.base) >= 0.01 end,
         case when n.base is null or n.base <= 0 then
                case when n.wants and n.launch > 0 then 'launch' else 'no_change' end
              when abs(n.x - n.base) < 0.01 and n.c_limited_by = 'none' then 'no_change'
              else n.c_limited_by end,
         case when n.base is null or n.base <= 0 then
                case when n.wants and n.launch > 0
                     then format('budget %s: starts at the launch budget -> %s', n.m_base, n.m_launch)
                     else format('budget %s and no more wanted: no change',
                                 case when n.base is null then 'unknown' else '0.00' end) end
              when abs(n.x - n.base) < 0.01
                then concat_ws('; ', n.note, format('no change from %s', n.m_base))
              else concat_ws(' ', n.note, '-> ' || n.m_x) end
    from n;
end;
comment on function lead_flow.hard_budget_limits_all(numeric[], numeric[], numeric[], numeric[], numeric[], numeric[]) is
  'The hard budget limits (documented at lead_flow.limit_daily_budget) for many budgets in one call: element i of '
  'each array is one budget''s inputs, row ord = i its result. The only implementation of the limits: '
  'orchestrate_budgets and the partner recommendations call it once for all rows, the one-budget forms wrap it.';
grant execute on function lead_flow.hard_budget_limits_all(numeric[], numeric[], numeric[], numeric[], numeric[], numeric[])
  to anon, authenticated, service_role;

create or replace function lead_flow.hard_budget_limits(
    p_day_start numeric, p_desired numeric, p_max_change numeric, p_min_budget numeric,
    p_max_budget numeric, p_launch_budget numeric)
  returns table (new_budget numeric, changed boolean, limited_by text, note text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  select l.new_budget, l.changed, l.limited_by, l.note
    from lead_flow.hard_budget_limits_all(array[p_day_start], array[p_desired], array[p_max_change],
                                          array[p_min_budget], array[p_max_budget], array[p_launch_budget]) l;
end;
comment on function lead_flow.hard_budget_limits(numeric, numeric, numeric, numeric, numeric, numeric) is
  'The hard budget limits for one budget as a row (lead_flow.hard_budget_limits_all of one element; '
  'lead_flow.limit_daily_budget documents them).';
grant execute on function lead_flow.hard_budget_limits(numeric, numeric, numeric, numeric, numeric, numeric)
  to anon, authenticated, service_role;

create or replace function lead_flow.limit_daily_budget(
    p_day_start numeric, p_desired numeric,
    p_max_change numeric default 0.20, p_min_budget numeric default 5.00,
    p_max_budget numeric default 1000.00, p_launch_budget numeric default 10.00,
    out new_budget numeric, out changed boolean, out limited_by text, out note text)
  language sql immutable parallel safe set search_path = ''
  as $$
    select l.new_budget, l.changed, l.limited_by, l.note
      from lead_flow.hard_budget_limits(p_day_start, p_desired, p_max_change, p_min_budget, p_max_budget,
                                        p_launch_budget) l
  $$;
comment on function lead_flow.limit_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric) is
  'The hard budget limits every controller''s proposal goes through: within +-max_change of the day-start '
  'budget, then floored/capped at min/max budget, a launch budget when the day-start budget is 0 or unknown, '
  'changes under 0.01 are none, cents. Returns the new budget, whether it changed, which limit cut it, and a note.';
revoke all on function lead_flow.limit_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric) from public, anon, authenticated;
-- The back end's only: pure maths that no client of the API calls.
grant execute on function lead_flow.limit_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric)
  to service_role;

-- The cost per lead a segment's budget maths uses: its own trailing spend / leads, blended with a
-- prior (its branch's cost per lead, else the default) counting as p_prior_leads leads of evidence:
-- (spend + k x prior) / (leads + k). Without own spend the prior alone. Never below 0.01.
create or replace function lead_flow.blend_cost_per_lead_all(
    p_spend numeric[], p_leads numeric[], p_branch_cpl numeric[], p_prior_leads numeric[], p_default_cpl numeric[])
  returns table (ord bigint, cost_per_lead numeric, source text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  select v.ord,
         case when v.spend > 0 and v.leads + v.k > 0
                then greatest(round((v.spend + v.k * v.prior) / (v.leads + v.k), 2), 0.01)
              else greatest(round(v.prior, 2), 0.01) end,
         case when v.spend > 0 and v.leads + v.k > 0
                then case when v.k > 0 then 'segment+' || v.prior_source else 'segment' end
              else v.prior_source end
    from (select u.ord, greatest(coalesce(u.spend, 0), 0) as spend, greatest(coalesce(u.leads, 0), 0) as leads,
                 greatest(coalesce(u.k, 0), 0) as k,
                 case when u.branch_cpl > 0 then u.branch_cpl when u.default_cpl > 0 then u.default_cpl
                      else 25.00 end as prior,
                 case when u.branch_cpl > 0 then 'branch' else 'default' end as prior_source
            from unnest(lead_flow.finite_all(p_spend), lead_flow.finite_all(p_leads),
                        lead_flow.finite_all(p_branch_cpl), lead_flow.finite_all(p_prior_leads),
                        lead_flow.finite_all(p_default_cpl))
                 with ordinality u(spend, leads, branch_cpl, k, default_cpl, ord)
          offset 0) v;
end;
comment on function lead_flow.blend_cost_per_lead_all(numeric[], numeric[], numeric[], numeric[], numeric[]) is
  'The body of lead_flow.effective_cost_per_lead for many segments in one call (element i -> row ord = i), '
  'for the set-based orchestration.';
grant execute on function lead_flow.blend_cost_per_lead_all(numeric[], numeric[], numeric[], numeric[], numeric[])
  to anon, authenticated, service_role;

create or replace function lead_flow.blend_cost_per_lead(
    p_spend numeric, p_leads numeric, p_branch_cpl numeric, p_prior_leads numeric, p_default_cpl numeric)
  returns table (cost_per_lead numeric, source text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  select b.cost_per_lead, b.source
    from lead_flow.blend_cost_per_lead_all(array[p_spend], array[p_leads], array[p_branch_cpl],
                                           array[p_prior_leads], array[p_default_cpl]) b;
end;
comment on function lead_flow.blend_cost_per_lead(numeric, numeric, numeric, numeric, numeric) is
  'lead_flow.blend_cost_per_lead_all of one segment, as a row.';
grant execute on function lead_flow.blend_cost_per_lead(numeric, numeric, numeric, numeric, numeric)
  to anon, authenticated, service_role;

create or replace function lead_flow.effective_cost_per_lead(
    p_spend numeric, p_leads numeric, p_branch_cpl numeric, p_prior_leads numeric, p_default_cpl numeric,
    out cost_per_lead numeric, out source text)
  language sql immutable parallel safe set search_path = ''
  as $$
    select b.cost_per_lead, b.source
      from lead_flow.blend_cost_per_lead(p_spend, p_leads, p_branch_cpl, p_prior_leads, p_default_cpl) b
  $$;
comment on function lead_flow.effective_cost_per_lead(numeric, numeric, numeric, numeric, numeric) is
  'Cost per lead for the budget maths: own (spend + k x prior) / (leads + k) with the branch CPL (else the '
  'default) as prior worth k leads; the prior alone without own spend. Returns the CPL and its source.';
grant execute on function lead_flow.effective_cost_per_lead(numeric, numeric, numeric, numeric, numeric)
  to anon, authenticated, service_role;

-- Controller 'spec' (the design notes' rule): desired = day-start budget + gap x cost per lead.
-- The core takes typed values (orchestrate_budgets calls it so for every 'spec' segment at once);
-- desired_budget_spec(jsonb) is the controller interface around it.
create or replace function lead_flow.spec_controller_all(p_day_start_budget numeric[], p_lead_gap numeric[],
                                                         p_cost_per_lead numeric[])
  returns table (ord bigint, desired numeric, explanation text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  with v as materialized (
    select u.ord, coalesce(greatest(u.base, 0), 0) as base, coalesce(u.gap, 0) as gap, coalesce(u.cpl, 25.00) as cpl
      from unnest(lead_flow.finite_all(p_day_start_budget), lead_flow.finite_all(p_lead_gap),
                  lead_flow.finite_all(p_cost_per_lead)) with ordinality u(base, gap, cpl, ord)
  ), t as (
    select f.ord, f.cpl, f.base, f.want
      from (select array_agg(v.cpl order by v.ord) as cpl, array_agg(v.base order by v.ord) as base,
                   array_agg(v.gap * v.cpl order by v.ord) as want
              from v) a
     cross join lateral unnest(lead_flow.money_all(a.cpl), lead_flow.money_all(a.base),
                               lead_flow.money_all(a.want, true)) with ordinality f(cpl, base, want, ord)
  )
  select v.ord, v.base + v.gap * v.cpl,
         case when v.gap = 0
              then format('no lead gap at CPL %s: keeps %s', t.cpl, t.base)
              else format('gap %s leads at CPL %s wants %s',
                          case when v.gap > 0 then '+' else '' end || trim_scale(v.gap)::text, t.cpl, t.want) end
    from v
    join t on t.ord = v.ord;
end;
comment on function lead_flow.spec_controller_all(numeric[], numeric[], numeric[]) is
  'Controller "spec" on typed inputs for many segments in one call (element i -> row ord = i): desired = '
  'day-start budget (NULL/negative -> 0) + gap (NULL -> 0) x cost per lead (NULL -> 25.00), and the reason in words.';
grant execute on function lead_flow.spec_controller_all(numeric[], numeric[], numeric[])
  to anon, authenticated, service_role;

create or replace function lead_flow.spec_controller(p_day_start_budget numeric, p_lead_gap numeric,
                                                     p_cost_per_lead numeric)
  returns table (desired numeric, explanation text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  select c.desired, c.explanation
    from lead_flow.spec_controller_all(array[p_day_start_budget], array[p_lead_gap], array[p_cost_per_lead]) c;
end;
comment on function lead_flow.spec_controller(numeric, numeric, numeric) is
  'Controller "spec" for one segment, as a row (lead_flow.spec_controller_all of one element).';
grant execute on function lead_flow.spec_controller(numeric, numeric, numeric) to anon, authenticated, service_role;

-- Inputs (jsonb, as orchestrate_budgets builds them for other controllers): day_start_budget,
-- lead_gap, cost_per_lead.
create or replace function lead_flow.desired_budget_spec(p_inputs jsonb, out desired numeric, out explanation text)
  language sql immutable parallel safe set search_path = ''
  as $$
    select c.desired, c.explanation
      from lead_flow.spec_controller((p_inputs ->> 'day_start_budget')::numeric, (p_inputs ->> 'lead_gap')::numeric,
                                     (p_inputs ->> 'cost_per_lead')::numeric) c
  $$;
comment on function lead_flow.desired_budget_spec(jsonb) is
  'Controller "spec": desired budget = day_start_budget + lead_gap x cost_per_lead, with the reason in words. '
  'Its result still goes through limit_daily_budget.';
grant execute on function lead_flow.desired_budget_spec(jsonb) to anon, authenticated, service_role;

create or replace function lead_flow.propose_daily_budget(
    p_current numeric, p_gap numeric, p_cost_per_lead numeric,
    p_max_change numeric default 0.20, p_min_budget numeric default 5.00, p_max_budget numeric default 1000.00,
    p_launch_budget numeric default 10.00, p_default_cost_per_lead numeric default 25.00)
  returns numeric
  language sql immutable parallel safe set search_path = ''
  as $$
    select l.new_budget
      from lead_flow.spec_controller(
             lead_flow.finite(p_current), lead_flow.finite(p_gap),
             case when lead_flow.finite(p_cost_per_lead) > 0 then p_cost_per_lead
                  when lead_flow.finite(p_default_cost_per_lead) > 0 then p_default_cost_per_lead
                  else 25.00 end) d
     cross join lateral lead_flow.hard_budget_limits(p_current, d.desired, p_max_change, p_min_budget,
                                                     p_max_budget, p_launch_budget) l
  $$;
comment on function lead_flow.propose_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) is
  'The spec controller through the hard limits: current (day-start) budget + gap x cost per lead (the default '
  'when missing or <= 0), kept within +-max_change of current, then [min, max]; the launch budget when current '
  'is 0 or unknown and more is wanted; NULL only when current is unknown and nothing more is wanted.';
revoke all on function lead_flow.propose_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric)
  from public, anon, authenticated;
-- The back end's only: pure maths that no client of the API calls.
grant execute on function lead_flow.propose_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric)
  to service_role;
