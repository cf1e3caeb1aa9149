-- The budget safety maths: pure functions, no table access, IMMUTABLE; internal (lead_flow), for the
-- orchestration, the partner recommendations and the back end.
-- Two stages, so that controllers can differ while the hard limits never do:
--   1. a controller proposes a desired budget: lead_flow.desired_budget_<controller>(inputs jsonb)
--      returning (desired numeric, explanation text); 'spec' is here, 'smart' in 65_controller_smart,
--      'estimate' in 66_controller_estimate;
--   2. lead_flow.limit_daily_budget() always applies the same hard limits to whatever was desired.
--
-- The cores (hard_budget_limits, blend_cost_per_lead, spec_controller) run once per segment a night,
-- so they are written for that: PL/pgSQL, step by step, calling no other function. Every function
-- has a fixed search_path (Supabase's linter allows no exemption), and a SQL function with one is
-- neither inlined nor, when called inside another SQL function, kept planned between calls: a core
-- in SQL that called finite() and money() per value cost ~100 us a segment (bench/bench_nightly.py),
-- a PL/pgSQL core doing the same in its own expressions ~10 us. So the cores spell out the two
-- helpers' one-liners: "nullif(nullif(nullif(x, 'NaN'), 'Infinity'), '-Infinity')" is finite(x),
-- "round(x, 2)::text" is money(x) of a known amount.

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
    p_max_budget numeric, p_launch_budget numeric,
    out new_budget numeric, out changed boolean, out limited_by text, out note text)
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    -- The settings: non-finite or NULL -> the default; min rounded up and max down to cents (so the
    -- limits hold exactly), max at least min, the launch budget within [min, max].
    v_max_change numeric := least(greatest(coalesce(
                              nullif(nullif(nullif(p_max_change, 'NaN'), 'Infinity'), '-Infinity'), 0.20), 0), 1);
    v_min numeric := round(ceil(greatest(coalesce(
                       nullif(nullif(nullif(p_min_budget, 'NaN'), 'Infinity'), '-Infinity'), 5.00), 0) * 100) / 100, 2);
    v_max numeric := greatest(round(floor(greatest(coalesce(
                       nullif(nullif(nullif(p_max_budget, 'NaN'), 'Infinity'), '-Infinity'), 1000.00), 0) * 100) / 100, 2),
                       v_min);
    v_launch numeric := least(greatest(round(greatest(coalesce(
                          nullif(nullif(nullif(p_launch_budget, 'NaN'), 'Infinity'), '-Infinity'), 10.00), 0), 2), v_min),
                          v_max);
    -- The base: the day-start budget in cents (non-finite: unknown); the desired budget as given.
    v_base numeric := round(nullif(nullif(nullif(p_day_start, 'NaN'), 'Infinity'), '-Infinity'), 2);
    v_desired numeric := nullif(nullif(nullif(p_desired, 'NaN'), 'Infinity'), '-Infinity');
    v_lo numeric;
    v_hi numeric;
  begin
    -- No budget (0, negative or unknown): anything wanted (at least a cent) starts at the launch
    -- budget, else it stays as it is.
    if v_base is null or v_base <= 0 then
      if round(coalesce(v_desired, 0), 2) > 0 and v_launch > 0 then
        new_budget := v_launch;
        changed := true;
        limited_by := 'launch';
        note := format('budget %s: starts at the launch budget -> %s',
                       coalesce(round(v_base, 2)::text, 'unknown'), round(v_launch, 2));
      else
        new_budget := case when v_base is not null then 0.00 end;
        changed := false;
        limited_by := 'no_change';
        note := format('budget %s and no more wanted: no change',
                       case when v_base is null then 'unknown' else '0.00' end);
      end if;
      return;
    end if;

    -- The desired budget (the base when unknown) in cents, kept within +-max_change of the base
    -- (bounds rounded inward to cents) ...
    v_lo := round(ceil(v_base * (1 - v_max_change) * 100) / 100, 2);
    v_hi := round(floor(v_base * (1 + v_max_change) * 100) / 100, 2);
    new_budget := round(coalesce(v_desired, v_base), 2);
    limited_by := 'none';
    if new_budget > v_hi then
      note := format('capped at +%s%% of %s', trim_scale(v_max_change * 100), round(v_base, 2));
      new_budget := v_hi;
      limited_by := 'max_increase';
    elsif new_budget < v_lo then
      note := format('capped at -%s%% of %s', trim_scale(v_max_change * 100), round(v_base, 2));
      new_budget := v_lo;
      limited_by := 'max_decrease';
    end if;
    -- ... then floored at min_budget and capped at max_budget, which win over +-max_change ...
    if new_budget < v_min then
      note := concat_ws(', then ', note, format('floored at the minimum budget %s', round(v_min, 2)));
      new_budget := v_min;
      limited_by := 'min_budget';
    elsif new_budget > v_max then
      note := concat_ws(', then ', note, format('capped at the maximum budget %s', round(v_max, 2)));
      new_budget := v_max;
      limited_by := 'max_budget';
    end if;
    -- ... and a result less than 0.01 from the base is no change.
    changed := abs(new_budget - v_base) >= 0.01;
    if changed then
      note := concat_ws(' ', note, '-> ' || round(new_budget, 2));
    else
      new_budget := v_base;
      limited_by := case when limited_by = 'none' then 'no_change' else limited_by end;
      note := concat_ws('; ', note, format('no change from %s', round(v_base, 2)));
    end if;
  end
  $$;
comment on function lead_flow.hard_budget_limits(numeric, numeric, numeric, numeric, numeric, numeric) is
  'The hard budget limits as one row (the body of lead_flow.limit_daily_budget, which documents them); '
  'orchestrate_budgets applies them to each segment in its one statement.';
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
    p_spend numeric, p_leads numeric, p_branch_cpl numeric, p_prior_leads numeric, p_default_cpl numeric,
    out cost_per_lead numeric, out source text)
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    -- Non-finite or NULL counts as 0; negative as 0.
    v_spend numeric := greatest(coalesce(nullif(nullif(nullif(p_spend, 'NaN'), 'Infinity'), '-Infinity'), 0), 0);
    v_leads numeric := greatest(coalesce(nullif(nullif(nullif(p_leads, 'NaN'), 'Infinity'), '-Infinity'), 0), 0);
    v_k numeric := greatest(coalesce(nullif(nullif(nullif(p_prior_leads, 'NaN'), 'Infinity'), '-Infinity'), 0), 0);
    v_prior numeric := 25.00;
    v_prior_source text := 'default';
  begin
    -- The prior: the branch's cost per lead when it is a positive number, else the default's, else 25.
    if nullif(nullif(nullif(p_branch_cpl, 'NaN'), 'Infinity'), '-Infinity') > 0 then
      v_prior := p_branch_cpl;
      v_prior_source := 'branch';
    elsif nullif(nullif(nullif(p_default_cpl, 'NaN'), 'Infinity'), '-Infinity') > 0 then
      v_prior := p_default_cpl;
    end if;
    if v_spend > 0 and v_leads + v_k > 0 then
      cost_per_lead := greatest(round((v_spend + v_k * v_prior) / (v_leads + v_k), 2), 0.01);
      source := case when v_k > 0 then 'segment+' || v_prior_source else 'segment' end;
    else
      cost_per_lead := greatest(round(v_prior, 2), 0.01);
      source := v_prior_source;
    end if;
  end
  $$;
comment on function lead_flow.blend_cost_per_lead(numeric, numeric, numeric, numeric, numeric) is
  'The body of lead_flow.effective_cost_per_lead as one row, for the set-based orchestration.';
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
                                                     p_cost_per_lead numeric,
                                                     out desired numeric, out explanation text)
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    v_base numeric := coalesce(greatest(
                        nullif(nullif(nullif(p_day_start_budget, 'NaN'), 'Infinity'), '-Infinity'), 0), 0);
    v_gap numeric := coalesce(nullif(nullif(nullif(p_lead_gap, 'NaN'), 'Infinity'), '-Infinity'), 0);
    v_cpl numeric := coalesce(nullif(nullif(nullif(p_cost_per_lead, 'NaN'), 'Infinity'), '-Infinity'), 25.00);
  begin
    desired := v_base + v_gap * v_cpl;
    if v_gap = 0 then
      explanation := format('no lead gap at CPL %s: keeps %s', round(v_cpl, 2), round(v_base, 2));
    else
      explanation := format('gap %s leads at CPL %s wants %s',
                            case when v_gap > 0 then '+' else '' end || trim_scale(v_gap), round(v_cpl, 2),
                            case when v_gap * v_cpl >= 0 then '+' else '' end || round(v_gap * v_cpl, 2));
    end if;
  end
  $$;
comment on function lead_flow.spec_controller(numeric, numeric, numeric) is
  'Controller "spec" on typed inputs, as one row: desired = day-start budget (NULL/negative -> 0) + '
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
