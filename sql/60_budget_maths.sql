-- The budget safety maths: pure functions, no table access, IMMUTABLE; internal (lead_flow), for the
-- orchestration, the partner recommendations and the back end.
-- Two stages, so that controllers can differ while the hard limits never do:
--   1. a controller proposes a desired budget: lead_flow.desired_budget_<controller>(inputs jsonb)
--      returning (desired numeric, explanation text); 'spec' is here, 'smart' in 65_controller_smart;
--   2. lead_flow.limit_daily_budget() always applies the same hard limits to whatever was desired.
--
-- Every function here has a fixed search_path, like every other (Supabase's linter allows no
-- exemption). That stops the planner from inlining the cores into orchestrate_budgets' statement, so
-- each costs a function call per segment: accepted, bench/bench_nightly.py keeps the figure honest.

-- NULL for NaN and +-Infinity, the number otherwise: no non-finite value reaches the limits.
create or replace function lead_flow.finite(p_value numeric) returns numeric
  language sql immutable parallel safe set search_path = ''
  return nullif(nullif(nullif(p_value, 'NaN'::numeric), 'Infinity'::numeric), '-Infinity'::numeric);
comment on function lead_flow.finite(numeric) is 'The value when it is a finite number, else NULL.';
grant execute on function lead_flow.finite(numeric) to anon, authenticated, service_role;

-- Money as the reason text prints it: two decimals, a sign where asked.
create or replace function lead_flow.money(p_value numeric, p_signed boolean default false) returns text
  language sql immutable parallel safe set search_path = ''
  return case when p_value is null then 'unknown'
              when p_signed and p_value >= 0 then '+' || round(p_value, 2)::text
              else round(p_value, 2)::text end;
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
create or replace function lead_flow.hard_budget_limits(
    p_day_start numeric, p_desired numeric, p_max_change numeric, p_min_budget numeric,
    p_max_budget numeric, p_launch_budget numeric)
  returns table (new_budget numeric, changed boolean, limited_by text, note text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  -- s: the settings and bounds; b: desired kept within +-max_change; c: then within [min, max].
  -- (offset 0 keeps each step a computed row, so inlining does not copy its expressions into the next.)
  select case when s.base is null or s.base <= 0 then
                case when s.wants and s.launch > 0 then s.launch when s.base is null then null else 0.00 end
              when abs(c.x - s.base) < 0.01 then s.base
              else c.x end,
         case when s.base is null or s.base <= 0 then s.wants and s.launch > 0
              else abs(c.x - s.base) >= 0.01 end,
         case when s.base is null or s.base <= 0 then
                case when s.wants and s.launch > 0 then 'launch' else 'no_change' end
              when abs(c.x - s.base) < 0.01 and c.limited_by = 'none' then 'no_change'
              else c.limited_by end,
         case when s.base is null or s.base <= 0 then
                case when s.wants and s.launch > 0
                     then format('budget %s: starts at the launch budget -> %s',
                                 case when s.base is null then 'unknown' else lead_flow.money(s.base) end,
                                 lead_flow.money(s.launch))
                     else format('budget %s and no more wanted: no change',
                                 case when s.base is null then 'unknown' else lead_flow.money(0) end) end
              when abs(c.x - s.base) < 0.01
                then concat_ws('; ', c.note, format('no change from %s', lead_flow.money(s.base)))
              else concat_ws(' ', c.note, '-> ' || lead_flow.money(c.x)) end
    from (select a.base, a.mc, a.min_budget, a.max_budget,
                 round(coalesce(a.desired, 0), 2) > 0 as wants,
                 least(greatest(round(greatest(coalesce(lead_flow.finite(p_launch_budget), 10.00), 0), 2),
                                a.min_budget), a.max_budget) as launch,
                 round(ceil(a.base * (1 - a.mc) * 100) / 100, 2) as lo,
                 round(floor(a.base * (1 + a.mc) * 100) / 100, 2) as hi,
                 round(coalesce(a.desired, a.base), 2) as x0
            from (select least(greatest(coalesce(lead_flow.finite(p_max_change), 0.20), 0), 1) as mc,
                         m.min_budget,
                         greatest(round(floor(greatest(coalesce(lead_flow.finite(p_max_budget), 1000.00), 0) * 100)
                                        / 100, 2), m.min_budget) as max_budget,
                         round(lead_flow.finite(p_day_start), 2) as base,
                         lead_flow.finite(p_desired) as desired
                    from (select round(ceil(greatest(coalesce(lead_flow.finite(p_min_budget), 5.00), 0) * 100) / 100, 2)
                                   as min_budget
                          offset 0) m
                  offset 0) a
          offset 0) s
   cross join lateral (
     select case when b.x < s.min_budget then s.min_budget when b.x > s.max_budget then s.max_budget else b.x end as x,
            case when b.x < s.min_budget then 'min_budget' when b.x > s.max_budget then 'max_budget'
                 else b.limited_by end as limited_by,
            case when b.x < s.min_budget
                   then concat_ws(', then ', b.note, format('floored at the minimum budget %s', lead_flow.money(s.min_budget)))
                 when b.x > s.max_budget
                   then concat_ws(', then ', b.note, format('capped at the maximum budget %s', lead_flow.money(s.max_budget)))
                 else b.note end as note
       from (select case when s.x0 > s.hi then s.hi when s.x0 < s.lo then s.lo else s.x0 end as x,
                    case when s.x0 > s.hi then 'max_increase' when s.x0 < s.lo then 'max_decrease' else 'none' end
                      as limited_by,
                    case when s.x0 > s.hi
                           then format('capped at +%s%% of %s', trim_scale(s.mc * 100)::text, lead_flow.money(s.base))
                         when s.x0 < s.lo
                           then format('capped at -%s%% of %s', trim_scale(s.mc * 100)::text, lead_flow.money(s.base))
                    end as note
             offset 0) b
     offset 0) c;
end;
comment on function lead_flow.hard_budget_limits(numeric, numeric, numeric, numeric, numeric, numeric) is
  'The hard budget limits as one inlinable row (the body of lead_flow.limit_daily_budget, which documents them); '
  'orchestrate_budgets applies them to all segments in one statement.';
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
create or replace function lead_flow.blend_cost_per_lead(
    p_spend numeric, p_leads numeric, p_branch_cpl numeric, p_prior_leads numeric, p_default_cpl numeric)
  returns table (cost_per_lead numeric, source text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  select case when v.spend > 0 and v.leads + v.k > 0
                then greatest(round((v.spend + v.k * v.prior) / (v.leads + v.k), 2), 0.01)
              else greatest(round(v.prior, 2), 0.01) end,
         case when v.spend > 0 and v.leads + v.k > 0
                then case when v.k > 0 then 'segment+' || v.prior_source else 'segment' end
              else v.prior_source end
    from (select greatest(coalesce(lead_flow.finite(p_spend), 0), 0) as spend,
                 greatest(coalesce(lead_flow.finite(p_leads), 0), 0) as leads,
                 greatest(coalesce(lead_flow.finite(p_prior_leads), 0), 0) as k,
                 case when lead_flow.finite(p_branch_cpl) > 0 then p_branch_cpl
                      when lead_flow.finite(p_default_cpl) > 0 then p_default_cpl
                      else 25.00 end as prior,
                 case when lead_flow.finite(p_branch_cpl) > 0 then 'branch' else 'default' end as prior_source
          offset 0) v;
end;
comment on function lead_flow.blend_cost_per_lead(numeric, numeric, numeric, numeric, numeric) is
  'The body of lead_flow.effective_cost_per_lead as one inlinable row, for the set-based orchestration.';
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
create or replace function lead_flow.spec_controller(p_day_start_budget numeric, p_lead_gap numeric,
                                                     p_cost_per_lead numeric)
  returns table (desired numeric, explanation text)
  language sql immutable parallel safe set search_path = ''
begin atomic
  select v.base + v.gap * v.cpl,
         case when v.gap = 0
              then format('no lead gap at CPL %s: keeps %s', lead_flow.money(v.cpl), lead_flow.money(v.base))
              else format('gap %s leads at CPL %s wants %s',
                          case when v.gap > 0 then '+' else '' end || trim_scale(v.gap)::text,
                          lead_flow.money(v.cpl), lead_flow.money(v.gap * v.cpl, true)) end
    from (select coalesce(greatest(lead_flow.finite(p_day_start_budget), 0), 0) as base,
                 coalesce(lead_flow.finite(p_lead_gap), 0) as gap,
                 coalesce(lead_flow.finite(p_cost_per_lead), 25.00) as cpl
          offset 0) v;
end;
comment on function lead_flow.spec_controller(numeric, numeric, numeric) is
  'Controller "spec" on typed inputs, as one inlinable row: desired = day-start budget (NULL/negative -> 0) + '
  'gap (NULL -> 0) x cost per lead (NULL -> 25.00), and the reason in words.';
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
