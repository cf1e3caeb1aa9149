-- The budget safety maths: pure functions, no table access, IMMUTABLE, callable by everyone.
-- Two stages, so that controllers can differ while the hard limits never do:
--   1. a controller proposes a desired budget: lead_flow.desired_budget_<controller>(inputs jsonb)
--      returning (desired numeric, explanation text); 'spec' is here, 'smart' in 65_controller_smart;
--   2. public.limit_daily_budget() always applies the same hard limits to whatever was desired.

-- NULL for NaN and +-Infinity, the number otherwise: no non-finite value reaches the limits.
-- (plpgsql, like the other small helpers here: a SQL function with SET is re-planned on every call.)
create or replace function lead_flow.finite(p_value numeric) returns numeric
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  begin
    return case when p_value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric) then null
                else p_value end;
  end
  $$;
comment on function lead_flow.finite(numeric) is 'The value when it is a finite number, else NULL.';
grant execute on function lead_flow.finite(numeric) to anon, authenticated, service_role;

-- Money as the reason text prints it: two decimals, a sign where asked.
create or replace function lead_flow.money(p_value numeric, p_signed boolean default false) returns text
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  begin
    return case when p_value is null then 'unknown'
                when p_signed and p_value >= 0 then '+' || round(p_value, 2)::text
                else round(p_value, 2)::text end;
  end
  $$;
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
create or replace function public.limit_daily_budget(
    p_day_start numeric, p_desired numeric,
    p_max_change numeric default 0.20, p_min_budget numeric default 5.00,
    p_max_budget numeric default 1000.00, p_launch_budget numeric default 10.00,
    out new_budget numeric, out changed boolean, out limited_by text, out note text)
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    v_mc numeric := least(greatest(coalesce(lead_flow.finite(p_max_change), 0.20), 0), 1);
    v_min numeric := round(ceil(greatest(coalesce(lead_flow.finite(p_min_budget), 5.00), 0) * 100) / 100, 2);
    v_max numeric := round(floor(greatest(coalesce(lead_flow.finite(p_max_budget), 1000.00), 0) * 100) / 100, 2);
    v_launch numeric;
    v_base numeric := round(lead_flow.finite(p_day_start), 2);
    v_desired numeric := lead_flow.finite(p_desired);
    v_lo numeric;
    v_hi numeric;
    v_x numeric;
    v_pct text := trim_scale(v_mc * 100)::text;
  begin
    v_max := greatest(v_max, v_min);
    v_launch := least(greatest(round(greatest(coalesce(lead_flow.finite(p_launch_budget), 10.00), 0), 2), v_min), v_max);

    if v_base is null or v_base <= 0 then
      if round(coalesce(v_desired, 0), 2) > 0 and v_launch > 0 then
        new_budget := v_launch;
        changed := true;
        limited_by := 'launch';
        note := format('budget %s: starts at the launch budget -> %s',
                       case when v_base is null then 'unknown' else lead_flow.money(v_base) end,
                       lead_flow.money(v_launch));
      else
        new_budget := case when v_base is null then null else 0.00 end;
        changed := false;
        limited_by := 'no_change';
        note := format('budget %s and no more wanted: no change',
                       case when v_base is null then 'unknown' else lead_flow.money(0) end);
      end if;
      return;
    end if;

    v_lo := round(ceil(v_base * (1 - v_mc) * 100) / 100, 2);
    v_hi := round(floor(v_base * (1 + v_mc) * 100) / 100, 2);
    v_x := round(coalesce(v_desired, v_base), 2);
    limited_by := 'none';
    note := '';
    if v_x > v_hi then
      v_x := v_hi;
      limited_by := 'max_increase';
      note := format('capped at +%s%% of %s', v_pct, lead_flow.money(v_base));
    elsif v_x < v_lo then
      v_x := v_lo;
      limited_by := 'max_decrease';
      note := format('capped at -%s%% of %s', v_pct, lead_flow.money(v_base));
    end if;
    if v_x < v_min then
      v_x := v_min;
      limited_by := 'min_budget';
      note := concat_ws(', then ', nullif(note, ''), format('floored at the minimum budget %s', lead_flow.money(v_min)));
    elsif v_x > v_max then
      v_x := v_max;
      limited_by := 'max_budget';
      note := concat_ws(', then ', nullif(note, ''), format('capped at the maximum budget %s', lead_flow.money(v_max)));
    end if;

    if abs(v_x - v_base) < 0.01 then
      new_budget := v_base;
      changed := false;
      note := concat_ws('; ', nullif(note, ''), format('no change from %s', lead_flow.money(v_base)));
      limited_by := case when limited_by = 'none' then 'no_change' else limited_by end;
    else
      new_budget := v_x;
      changed := true;
      note := concat_ws(' ', nullif(note, ''), '-> ' || lead_flow.money(v_x));
    end if;
  end
  $$;
comment on function public.limit_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric) is
  'The hard budget limits every controller''s proposal goes through: within +-max_change of the day-start '
  'budget, then floored/capped at min/max budget, a launch budget when the day-start budget is 0 or unknown, '
  'changes under 0.01 are none, cents. Returns the new budget, whether it changed, which limit cut it, and a note.';
revoke all on function public.limit_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric) from public;
grant execute on function public.limit_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric)
  to anon, authenticated, service_role;

-- The cost per lead a segment's budget maths uses: its own trailing spend / leads, blended with a
-- prior (its branch's cost per lead, else the default) counting as p_prior_leads leads of evidence:
-- (spend + k x prior) / (leads + k). Without own spend the prior alone. Never below 0.01.
create or replace function lead_flow.effective_cost_per_lead(
    p_spend numeric, p_leads numeric, p_branch_cpl numeric, p_prior_leads numeric, p_default_cpl numeric,
    out cost_per_lead numeric, out source text)
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    -- plpgsql rather than SQL: a SQL function with SET is never inlined and re-plans on every call.
    v_spend numeric := greatest(coalesce(lead_flow.finite(p_spend), 0), 0);
    v_leads numeric := greatest(coalesce(lead_flow.finite(p_leads), 0), 0);
    v_k numeric := greatest(coalesce(lead_flow.finite(p_prior_leads), 0), 0);
    v_prior numeric;
    v_prior_source text;
  begin
    if lead_flow.finite(p_branch_cpl) > 0 then
      v_prior := p_branch_cpl;
      v_prior_source := 'branch';
    else
      v_prior := case when lead_flow.finite(p_default_cpl) > 0 then p_default_cpl else 25.00 end;
      v_prior_source := 'default';
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
comment on function lead_flow.effective_cost_per_lead(numeric, numeric, numeric, numeric, numeric) is
  'Cost per lead for the budget maths: own (spend + k x prior) / (leads + k) with the branch CPL (else the '
  'default) as prior worth k leads; the prior alone without own spend. Returns the CPL and its source.';
grant execute on function lead_flow.effective_cost_per_lead(numeric, numeric, numeric, numeric, numeric)
  to anon, authenticated, service_role;

-- Controller 'spec' (the design notes' rule): desired = day-start budget + gap x cost per lead.
-- Inputs (jsonb, as orchestrate_budgets builds them): day_start_budget, lead_gap, cost_per_lead.
create or replace function lead_flow.desired_budget_spec(p_inputs jsonb, out desired numeric, out explanation text)
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    v_base numeric := coalesce(greatest(lead_flow.finite((p_inputs ->> 'day_start_budget')::numeric), 0), 0);
    v_gap numeric := coalesce(lead_flow.finite((p_inputs ->> 'lead_gap')::numeric), 0);
    v_cpl numeric := coalesce(lead_flow.finite((p_inputs ->> 'cost_per_lead')::numeric), 25.00);
  begin
    desired := v_base + v_gap * v_cpl;
    explanation := case when v_gap = 0
                        then format('no lead gap at CPL %s: keeps %s', lead_flow.money(v_cpl), lead_flow.money(v_base))
                        else format('gap %s leads at CPL %s wants %s',
                                    case when v_gap > 0 then '+' else '' end || trim_scale(v_gap)::text,
                                    lead_flow.money(v_cpl), lead_flow.money(v_gap * v_cpl, true)) end;
  end
  $$;
comment on function lead_flow.desired_budget_spec(jsonb) is
  'Controller "spec": desired budget = day_start_budget + lead_gap x cost_per_lead, with the reason in words. '
  'Its result still goes through limit_daily_budget.';
grant execute on function lead_flow.desired_budget_spec(jsonb) to anon, authenticated, service_role;

create or replace function public.propose_daily_budget(
    p_current numeric, p_gap numeric, p_cost_per_lead numeric,
    p_max_change numeric default 0.20, p_min_budget numeric default 5.00, p_max_budget numeric default 1000.00,
    p_launch_budget numeric default 10.00, p_default_cost_per_lead numeric default 25.00)
  returns numeric
  language sql immutable parallel safe set search_path = ''
  as $$
    select (public.limit_daily_budget(
              p_current,
              (lead_flow.desired_budget_spec(jsonb_build_object(
                 'day_start_budget', lead_flow.finite(p_current),
                 'lead_gap', lead_flow.finite(p_gap),
                 'cost_per_lead', case when lead_flow.finite(p_cost_per_lead) > 0 then p_cost_per_lead
                                       when lead_flow.finite(p_default_cost_per_lead) > 0 then p_default_cost_per_lead
                                       else 25.00 end))).desired,
              p_max_change, p_min_budget, p_max_budget, p_launch_budget)).new_budget
  $$;
comment on function public.propose_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric) is
  'The spec controller through the hard limits: current (day-start) budget + gap x cost per lead (the default '
  'when missing or <= 0), kept within +-max_change of current, then [min, max]; the launch budget when current '
  'is 0 or unknown and more is wanted; NULL only when current is unknown and nothing more is wanted.';
revoke all on function public.propose_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric)
  from public;
grant execute on function public.propose_daily_budget(numeric, numeric, numeric, numeric, numeric, numeric, numeric, numeric)
  to anon, authenticated, service_role;
