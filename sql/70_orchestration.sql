-- Step 3 of the night after day D: from D's plans, one proposed Google Ads budget change per segment
-- (the budget for D + 1) in channel_orchestration_log, the queue the worker pushes from.
--
-- The day-start budget: the change row (segment, 'google_ads', D) keeps old_value from its first
-- proposal, and every re-run uses that as its base, so the +-max_daily_budget_change never
-- compounds. A row the worker has taken (in_progress, success, failed, conflict) is never replaced.

-- The controllers orchestrate_budgets dispatches to (one branch each in its statement below: a new
-- controller adds its name here and its branch there) that the controller setting allows.
create or replace function lead_flow.available_controllers() returns text[]
  language sql stable set search_path = ''
  as $$
    select coalesce(array_agg(c order by c), array['spec'])
      from unnest(array['spec', 'smart', 'estimate']) c
     where c = any (coalesce((select d.allowed_values from public.lead_flow_setting_definitions d
                               where d.key = 'controller'), array['spec']))
  $$;
comment on function lead_flow.available_controllers() is
  'Names of the budget controllers that are both allowed by the controller setting and dispatched to by '
  'orchestrate_budgets.';

-- jit off: the planner cannot estimate the function scans and joins here and would spend more than a
-- second compiling a statement that runs in a fraction of that; work_mem: the 28-day aggregates of
-- 10,000 segments stay in memory instead of spilling to disk.
create or replace function lead_flow.orchestrate_budgets(p_date date) returns integer
  language plpgsql volatile set search_path = '' set jit = off set work_mem = '64MB'
  as $$
  declare
    v_controllers text[] := lead_flow.available_controllers();
    v_global_pause boolean := coalesce((lead_flow.setting('paused'))::boolean, false);
    v_rows integer;
    v_inserted integer;
    v_pending bigint;
  begin
    if p_date is null then
      raise exception 'orchestrate_budgets needs a date' using errcode = '22023';
    end if;
    -- One run at a time: a second run waits here, then reads the change rows the first committed (so
    -- it replaces them instead of inserting them again).
    perform pg_advisory_xact_lock(hashtextextended('lead_flow.orchestrate_budgets', 0));

    if to_regclass('pg_temp.lead_flow_orchestration') is null then
      create temp table lead_flow_orchestration (
        plan_id uuid, segment_id uuid, campaign_row uuid, customer_id text, campaign_id text,
        budget_resource_name text, live_budget numeric, day_start_budget numeric, log_status text,
        paused boolean, pause_source text, cost_per_lead numeric, cost_per_lead_source text,
        controller text, controller_note text, desired numeric, new_budget numeric, changed boolean,
        limited_by text, reason text
      ) on commit drop;
    end if;
    -- The same columns for plpgsql_check (tests/test_db_lint.py), which cannot see a table made at
    -- run time; at run time this only evaluates a constant (one string: a pragma takes no newline).
    perform 'PRAGMA:TABLE: pg_temp.lead_flow_orchestration (plan_id uuid, segment_id uuid, campaign_row uuid, '
            'customer_id text, campaign_id text, budget_resource_name text, live_budget numeric, '
            'day_start_budget numeric, log_status text, paused boolean, pause_source text, cost_per_lead numeric, '
            'cost_per_lead_source text, controller text, controller_note text, desired numeric, '
            'new_budget numeric, changed boolean, limited_by text, reason text)';
    truncate pg_temp.lead_flow_orchestration;

    -- All segments in one statement: each segment's inputs, its controller's desired budget (a
    -- segment set to a controller that is not available gets 'spec', and its reason says so), then
    -- the hard limits. 'spec' runs on typed columns; the other controllers take jsonb inputs, built
    -- only for the segments that use them, with their features read once for all such segments.
    -- settings holds the values the statement needs as typed columns, and the settings' jsonb only
    -- for the segments whose controller takes it: materialized, so that what is hashed and sorted
    -- below for 100,000 segments is these small rows, not 100,000 jsonb documents.
    insert into pg_temp.lead_flow_orchestration
    with settings as materialized (
      select ss.segment_id,
             case when k.available then k.controller else 'spec' end as controller,
             case when not k.available then format('controller %s is not installed, used spec', k.controller) end
               as controller_note,
             coalesce((ss.settings ->> 'paused')::boolean, false) as paused,
             (ss.settings ->> 'cpl_prior_leads')::numeric as cpl_prior_leads,
             (ss.settings ->> 'default_cost_per_lead')::numeric as default_cost_per_lead,
             (ss.settings ->> 'max_daily_budget_change')::numeric as max_change,
             (ss.settings ->> 'min_budget')::numeric as min_budget,
             (ss.settings ->> 'max_budget')::numeric as max_budget,
             (ss.settings ->> 'launch_budget')::numeric as launch_budget,
             case when k.available and k.controller <> 'spec' then ss.settings end as settings
        from lead_flow.segment_settings ss
       cross join lateral (select ss.settings ->> 'controller' as controller,
                                  coalesce(ss.settings ->> 'controller' = any (v_controllers), false) as available) k
       where ss.segment_id is not null
    ), recent as (   -- the cost per lead's window, for every segment
      select st.segment_id, sum(st.google_ads_spend) as spend_28d, sum(st.leads_generated) as leads_28d
        from public.lead_generation_stats st
       where st.date between p_date - 27 and p_date
       group by st.segment_id
    ), recent_week as (   -- more inputs for controllers other than spec: read only when one is set
      select st.segment_id, sum(st.google_ads_spend) as spend_7d, sum(st.leads_generated) as leads_7d,
             sum(st.google_ads_spend) filter (where st.date = p_date) as spend_day,
             sum(st.google_ads_clicks) filter (where st.date = p_date) as clicks_day
        from public.lead_generation_stats st
       where st.date between p_date - 6 and p_date
         and exists (select from settings x where x.controller <> 'spec')
       group by st.segment_id
    ), branch as (
      select s.branch, sum(t.spend_28d) / nullif(sum(t.leads_28d), 0) as branch_cpl
        from recent t join public.lead_segments s on s.id = t.segment_id
       where t.spend_28d > 0
       group by s.branch
    ), segs as (
      -- Every active segment's inputs but its plan, keyed on the segment: the plans of a new day are
      -- joined to them once, last, so that whatever the planner guesses for their count (it has not
      -- seen the day yet) only their few columns are hashed, never the growing row of every join.
      select s.id as segment_id, s.branch, st.controller, st.controller_note, st.paused, st.cpl_prior_leads,
             st.default_cost_per_lead, st.max_change, st.min_budget, st.max_budget, st.launch_budget, st.settings,
             c.id as campaign_row, c.customer_id, c.campaign_id, c.budget_resource_name, c.daily_budget as live_budget,
             case when e.id is not null then e.old_value else c.daily_budget end as day_start_budget,
             e.status as log_status, t.spend_28d, t.leads_28d, b.branch_cpl,
             w.spend_day, w.clicks_day, w.spend_7d, w.leads_7d, sf.features as smart, ef.estimate
        from public.lead_segments s
        join settings st on st.segment_id = s.id
        left join public.lead_segment_campaigns c on c.segment_id = s.id and c.is_active
        left join public.channel_orchestration_log e
          on e.segment_id = s.id and e.channel = 'google_ads' and e.date = p_date
        left join recent t on t.segment_id = s.id
        left join recent_week w on w.segment_id = s.id
        left join branch b on b.branch = s.branch
        -- The smart controller's features, computed once for the segments set to it, only when some are.
        left join (select f.segment_id, f.features
                     from lead_flow.smart_controller_features(
                            p_date, null, null, (select array_agg(x.segment_id) from settings x where x.controller = 'smart')) f
                    where exists (select from settings x where x.controller = 'smart')) sf
          on sf.segment_id = s.id
        -- The estimate controller's fitted responses (sql/66), once for all, only when one is set to it.
        left join (select r.segment_id, r.estimate from lead_flow.estimate_segment_response(p_date) r
                    where exists (select from settings x where x.controller = 'estimate')) ef
          on ef.segment_id = s.id
       where s.is_active
    ), inputs as (
      select p.id as plan_id, g.segment_id, g.campaign_row, g.customer_id, g.campaign_id, g.budget_resource_name,
             g.live_budget, g.day_start_budget, g.log_status,
             (v_global_pause or g.paused) as paused,
             case when v_global_pause then 'global' else 'segment' end as pause_source,
             (cpl.r).cost_per_lead, (cpl.r).source as cost_per_lead_source, g.controller, g.controller_note, p.lead_gap,
             case when g.controller <> 'spec' then
             g.settings || jsonb_build_object(
               'date', p_date, 'segment_id', g.segment_id, 'branch', g.branch,
               'day_start_budget', g.day_start_budget, 'live_budget', g.live_budget, 'lead_gap', p.lead_gap,
               'target_leads_per_day', p.target_leads_per_day, 'actual_leads', p.actual_leads,
               'expected_leads_per_day', p.expected_leads_per_day,
               'cost_per_lead', (cpl.r).cost_per_lead, 'cost_per_lead_source', (cpl.r).source,
               'branch_cost_per_lead', g.branch_cpl,
               'spend_day', coalesce(g.spend_day, 0), 'clicks_day', coalesce(g.clicks_day, 0),
               'spend_7d', coalesce(g.spend_7d, 0), 'leads_7d', coalesce(g.leads_7d, 0),
               'spend_28d', coalesce(g.spend_28d, 0), 'leads_28d', coalesce(g.leads_28d, 0))
               || coalesce(jsonb_build_object('smart', g.smart), '{}')
               || coalesce(jsonb_build_object('estimate', g.estimate), '{}') end as inputs,
             g.max_change, g.min_budget, g.max_budget, g.launch_budget
        from public.lead_segment_plans p
        join segs g on g.segment_id = p.segment_id
       -- The cores of sql/60 return one row each: called for their composite value in a subquery kept
       -- apart (offset 0), once per segment, instead of as a function scan, which stores every call's row
       -- in a tuplestore of its own (5-8% of this statement at 100,000 segments).
       cross join lateral (select lead_flow.blend_cost_per_lead(
               g.spend_28d, g.leads_28d, g.branch_cpl, g.cpl_prior_leads, g.default_cost_per_lead) as r offset 0) cpl
       where p.date = p_date
    )
    select i.plan_id, i.segment_id, i.campaign_row, i.customer_id, i.campaign_id, i.budget_resource_name,
           i.live_budget, i.day_start_budget, i.log_status, i.paused, i.pause_source,
           i.cost_per_lead, i.cost_per_lead_source, i.controller, i.controller_note, d.desired,
           (lim.r).new_budget, (lim.r).changed, (lim.r).limited_by,
           concat_ws('; ', i.controller_note, d.explanation, (lim.r).note)
      from inputs i
     -- The dispatch: one branch per controller of available_controllers(); only the segment's runs.
     cross join lateral (
       select x.desired, x.explanation
         from lead_flow.spec_controller(i.day_start_budget, i.lead_gap, i.cost_per_lead) x
        where i.controller = 'spec'
       union all
       select x.desired, x.explanation from lead_flow.desired_budget_smart(i.inputs) x where i.controller = 'smart'
       union all
       select x.desired, x.explanation from lead_flow.desired_budget_estimate(i.inputs) x
        where i.controller = 'estimate'
     ) d
     cross join lateral (select lead_flow.hard_budget_limits(   -- = lead_flow.limit_daily_budget
             i.day_start_budget, d.desired, i.max_change, i.min_budget, i.max_budget, i.launch_budget) as r offset 0) lim
     -- In segment order, the order the writes below then follow: the new change rows' (segment_id,
     -- channel, date) index entries and segment key checks go through their indexes in one sweep instead of
     -- one random page each (at 100,000 segments the insert costs ~15% less than in hash order).
     order by i.segment_id;

    -- A segment's decision for D supersedes its proposals for earlier days still waiting in the queue.
    with superseded as (
      update public.channel_orchestration_log l
         set status = 'failed', error_code = 'superseded', completed_at = now(),
             error_message = format('superseded by the change planned for %s', p_date)
        from pg_temp.lead_flow_orchestration o
       where l.segment_id = o.segment_id and l.channel = 'google_ads' and l.status = 'pending' and l.date < p_date
      returning l.plan_id
    )
    update public.lead_segment_plans p
       set orchestration_status = 'failed',
           orchestration_reason = concat_ws('; ', p.orchestration_reason, 'superseded by a later plan')
      from superseded s
     where p.id = s.plan_id;

    -- No change wanted any more (paused, unmapped, within 0.01): a pending change for D is withdrawn.
    delete from public.channel_orchestration_log l
     using pg_temp.lead_flow_orchestration o
     where l.segment_id = o.segment_id and l.channel = 'google_ads' and l.date = p_date and l.status = 'pending'
       and (o.paused or o.campaign_row is null or not o.changed);

    -- A change for D the worker has not taken yet (pending) is replaced in place when it differs; its
    -- old_value (the day-start budget) stays ...
    update public.channel_orchestration_log l
       set plan_id = o.plan_id,
           action_type = case when o.new_budget >= coalesce(o.day_start_budget, 0) then 'budget_increase'
                              else 'budget_decrease' end,
           new_value = o.new_budget, reason = o.reason, customer_id = o.customer_id, campaign_id = o.campaign_id,
           budget_resource_name = o.budget_resource_name, controller = o.controller, limited_by = o.limited_by
      from pg_temp.lead_flow_orchestration o
     where o.log_status = 'pending' and o.campaign_row is not null and not o.paused and o.changed
       and l.segment_id = o.segment_id and l.channel = 'google_ads' and l.date = p_date and l.status = 'pending'
       and (l.plan_id, l.action_type, l.new_value, l.reason, l.customer_id, l.campaign_id, l.budget_resource_name,
            l.controller, l.limited_by)
           is distinct from
           (o.plan_id,
            case when o.new_budget >= coalesce(o.day_start_budget, 0) then 'budget_increase' else 'budget_decrease' end,
            o.new_budget, o.reason, o.customer_id, o.campaign_id, o.budget_resource_name, o.controller, o.limited_by);
    get diagnostics v_rows = row_count;

    -- ... and a segment without a change for D gets one: a plain insert (no speculative insertion per
    -- row), safe because the lock above keeps a second run of this function from adding the same rows.
    insert into public.channel_orchestration_log
      (date, segment_id, plan_id, channel, action_type, old_value, new_value, reason, customer_id, campaign_id,
       budget_resource_name, controller, limited_by)
    select p_date, o.segment_id, o.plan_id, 'google_ads',
           case when o.new_budget >= coalesce(o.day_start_budget, 0) then 'budget_increase' else 'budget_decrease' end,
           o.day_start_budget, o.new_budget, o.reason, o.customer_id, o.campaign_id, o.budget_resource_name,
           o.controller, o.limited_by
      from pg_temp.lead_flow_orchestration o
     where o.log_status is null and o.campaign_row is not null and not o.paused and o.changed;
    get diagnostics v_inserted = row_count;
    v_rows := v_rows + v_inserted;

    -- The plan says what was decided; a plan whose change the worker has taken keeps its outcome.
    with decided as (
      select o.plan_id,
             case when o.campaign_row is null then 'no_campaign'
                  when o.paused then 'paused'
                  when not o.changed then 'no_change'
                  else 'pending' end as status,
             case when o.campaign_row is null then 'no active Google Ads campaign is mapped to this segment'
                  when o.paused then format('paused (%s emergency stop): no budget change proposed; %s',
                                            o.pause_source, o.reason)
                  else o.reason end as reason,
             case when o.campaign_row is null or o.paused then null else o.new_budget end as target_budget,
             o.live_budget, o.cost_per_lead, o.cost_per_lead_source, o.controller
        from pg_temp.lead_flow_orchestration o
       where o.log_status is null or o.log_status = 'pending'
    )
    update public.lead_segment_plans p
       set orchestration_status = d.status, orchestration_reason = d.reason,
           target_daily_budget_google_ads = d.target_budget, actual_daily_budget_google_ads = d.live_budget,
           cost_per_lead = d.cost_per_lead, cost_per_lead_source = d.cost_per_lead_source, controller = d.controller
      from decided d
     where p.id = d.plan_id
       and (p.orchestration_status, p.orchestration_reason, p.target_daily_budget_google_ads,
            p.actual_daily_budget_google_ads, p.cost_per_lead, p.cost_per_lead_source, p.controller)
           is distinct from
           (d.status, d.reason, d.target_budget, d.live_budget, d.cost_per_lead, d.cost_per_lead_source, d.controller);

    select count(*) into v_pending
      from public.channel_orchestration_log l where l.channel = 'google_ads' and l.status = 'pending';
    perform pg_notify('lead_flow_budget_changes', v_pending::text);
    return v_rows;
  end
  $$;
comment on function lead_flow.orchestrate_budgets(date) is
  'Nightly step 3: for every active planned segment of Amsterdam day p_date, the configured controller''s '
  'desired budget through the hard limits (+-max change of the day-start budget, min/max, launch budget, cents) '
  'becomes one pending google_ads change (the budget for p_date + 1) with a readable reason; re-runs replace '
  'that pending row, never add one or compound; pushed rows are left alone. Paused and unmapped segments get '
  'a plan status, no change. Notifies lead_flow_budget_changes with the pending count. Returns change rows written.';
revoke all on function lead_flow.orchestrate_budgets(date) from public, anon, authenticated;
grant execute on function lead_flow.orchestrate_budgets(date) to service_role;
