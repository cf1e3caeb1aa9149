-- Step 2 of the night after day D: D's target, actual and gap per segment, into lead_segment_plans.
-- One definition (lead_flow.lead_gaps) serves the set-based step and the spec's single-segment
-- helpers calculate_lead_gap and update_lead_gap (sql/91_api.sql).

-- Target, actual, gap and forecast for every active segment (or one given segment) on day p_date.
--   target   = the newest manual override covering p_date, else 0 without capacity, else
--              max(min_target_leads, floor(capacity x target_utilization)); capacity is the stats
--              row's (as of that night) and the live capacity when D has no stats row yet, less the
--              part of its partners' declared capacity planning does not trust yet (sql/35).
--   actual   = leads_generated of D's stats row, else a live count of D's leads.
--   gap %    = gap / target x 100, NULL when the target is 0 (a percentage of nothing).
--   expected = forecast of the leads of D + 1 (the day the new budget applies): the mean of the
--              last 28 stats days ending D, with a weekday factor: the mean of D + 1's weekday in
--              that window shrunk toward the overall mean by two pseudo-days; NULL without history.
-- One statement serves all segments (hash joins over the day) and one segment (index probes), so
-- it is planned for the call at hand every time: a plan cached from one kind of call would do the
-- other badly (a session that planned all segments once then took ~30 ms per single segment).
create or replace function lead_flow.lead_gaps(p_date date, p_segment_id uuid default null)
  returns table (segment_id uuid, target_leads_per_day integer, target_source text, actual_leads integer,
                 lead_gap integer, lead_gap_percentage numeric, expected_leads_per_day numeric)
  language plpgsql stable security definer set search_path = '' set plan_cache_mode = force_custom_plan
  as $$
  #variable_conflict use_column
  declare
    -- Capacity and actual leads come from D's stats rows (as of that night); the live figures are
    -- computed only when one is missing (for one segment: only when its own row is missing).
    v_stats_missing boolean :=
      -- (NOT IN, so the day's ids are hashed once whatever the planner expects of a new day; an
      -- anti join planned for the one row statistics give it nested loops over every segment.)
      case when p_segment_id is null
           then exists (select from public.lead_segments s
                         where s.is_active
                           and s.id not in (select st.segment_id from public.lead_generation_stats st
                                             where st.date = p_date))
           else not exists (select from public.lead_generation_stats st
                             where st.segment_id = p_segment_id and st.date = p_date) end;
  begin
    return query
    -- The two settings planning reads, as typed columns of a materialized row: hashed below for every
    -- segment, the settings' jsonb documents were 113 MB at 100,000 segments.
    with segs as materialized (
      select s.id,
             greatest((ss.settings ->> 'target_utilization')::numeric, 0) as utilization,
             greatest(ceil((ss.settings ->> 'min_target_leads')::numeric), 0)::integer as min_target
        from public.lead_segments s
        join lead_flow.segment_settings ss on ss.segment_id = s.id
       where (p_segment_id is null and s.is_active) or s.id = p_segment_id
    ), cap as (   -- all active segments' capacity in one pass, or just the one segment asked for
      select c.segment_id, c.capacity_total_leads from lead_flow.segment_capacities() c
       where p_segment_id is null and v_stats_missing
      union all
      select c.segment_id, c.capacity_total_leads from lead_flow.segment_capacity(p_segment_id) c
       where p_segment_id is not null and v_stats_missing
    ), untrusted as (   -- declared capacity its partners have not earned trust for yet (sql/35)
      select u.segment_id, u.untrusted_leads from lead_flow.segment_untrusted_capacities(p_date, p_segment_id) u
    ), live as (
      select l.segment_id, count(*)::integer as generated
        from public.leads l
       where v_stats_missing
         and l.created_at >= lead_flow.day_start(p_date) and l.created_at < lead_flow.day_start(p_date + 1)
         and l.segment_id is not null and (p_segment_id is null or l.segment_id = p_segment_id)
       group by l.segment_id
    ), hist as (
      select st.segment_id, avg(st.leads_generated) as level,
             count(*) filter (where (p_date + 1 - st.date) % 7 = 0) as n_wd,
             sum(st.leads_generated) filter (where (p_date + 1 - st.date) % 7 = 0) as sum_wd
        from public.lead_generation_stats st
       where st.date between p_date - 27 and p_date
         and (p_segment_id is null or st.segment_id = p_segment_id)
       group by st.segment_id
    ), ovr as (
      select distinct on (o.segment_id) o.segment_id, o.target_leads_per_day
        from public.lead_segment_target_overrides o
       where p_date between o.valid_from and o.valid_to
         and (p_segment_id is null or o.segment_id = p_segment_id)
       order by o.segment_id, o.created_at desc, o.id
    ), base as (
      select s.id,
             ovr.target_leads_per_day as override_target,
             greatest(coalesce(st.capacity_total_leads, cap.capacity_total_leads, 0)
                      - coalesce(u.untrusted_leads, 0), 0) as capacity,
             s.utilization, s.min_target,
             coalesce(st.leads_generated, live.generated, 0) as actual,
             h.level, h.n_wd, h.sum_wd
        from segs s
        left join public.lead_generation_stats st on st.segment_id = s.id and st.date = p_date
        left join cap on cap.segment_id = s.id
        left join untrusted u on u.segment_id = s.id
        left join live on live.segment_id = s.id
        left join hist h on h.segment_id = s.id
        left join ovr on ovr.segment_id = s.id
    ), targets as (
      select b.*,
             case when b.override_target is not null then b.override_target
                  when b.capacity <= 0 then 0
                  else greatest(b.min_target, floor(b.capacity * b.utilization)::integer) end as target,
             case when b.override_target is not null then 'override'
                  when b.capacity <= 0 then 'no_capacity'
                  when floor(b.capacity * b.utilization) >= b.min_target then 'capacity'
                  else 'minimum' end as source
        from base b
    )
    select t.id, t.target, t.source, t.actual, t.target - t.actual,
           round((t.target - t.actual)::numeric * 100 / nullif(t.target, 0), 2),
           round((coalesce(t.sum_wd, 0) + 2 * t.level) / (t.n_wd + 2), 2)
      from targets t;
  end
  $$;
comment on function lead_flow.lead_gaps(date, uuid) is
  'Target (override > no capacity 0 > max(minimum, floor(trusted capacity x utilization))), actual, gap, gap % and '
  'the weekday-seasonal forecast for D + 1, for every active segment or one given segment, on day p_date.';
revoke all on function lead_flow.lead_gaps(date, uuid) from public, anon, authenticated;
grant execute on function lead_flow.lead_gaps(date, uuid) to authenticated, service_role;

-- Shared write of plans from lead_gaps rows: inserts the missing ones, updates the changed ones, keeps
-- the orchestration columns and leaves unchanged rows untouched. MERGE, not INSERT ... ON CONFLICT: a
-- new row is a plain insert, where a speculative insertion per row cost 12% more (100,000 new plans,
-- the night's usual case: the plan step at 100,000 segments 3.2 -> 3.1 s). Another session's insert of
-- the same row would fail a MERGE on the unique key (an upsert took such a row over), so the writers
-- of plans (the nightly step, a re-run, update_lead_gap) take turns on an advisory lock. The segment
-- condition is for one segment's call: its plan is then found by its key, not among the day's plans.
create or replace function lead_flow.write_plans(p_date date, p_segment_id uuid default null) returns integer
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_rows integer;
  begin
    perform pg_advisory_xact_lock(hashtextextended('lead_flow.write_plans', 0));
    merge into public.lead_segment_plans p
    using lead_flow.lead_gaps(p_date, p_segment_id) g
       on p.segment_id = g.segment_id and p.date = p_date
          and (p_segment_id is null or p.segment_id = p_segment_id)
     when matched and (p.target_leads_per_day, p.target_source, p.expected_leads_per_day, p.actual_leads,
                       p.lead_gap, p.lead_gap_percentage)
                      is distinct from
                      (g.target_leads_per_day, g.target_source, g.expected_leads_per_day, g.actual_leads,
                       g.lead_gap, g.lead_gap_percentage) then
       update set target_leads_per_day = g.target_leads_per_day, target_source = g.target_source,
                  expected_leads_per_day = g.expected_leads_per_day, actual_leads = g.actual_leads,
                  lead_gap = g.lead_gap, lead_gap_percentage = g.lead_gap_percentage
     when not matched then
       insert (segment_id, date, target_leads_per_day, target_source, expected_leads_per_day, actual_leads,
               lead_gap, lead_gap_percentage)
       values (g.segment_id, p_date, g.target_leads_per_day, g.target_source, g.expected_leads_per_day,
               g.actual_leads, g.lead_gap, g.lead_gap_percentage);
    get diagnostics v_rows = row_count;
    return v_rows;
  end
  $$;
comment on function lead_flow.write_plans(date, uuid) is
  'Writes lead_segment_plans (target, source, forecast, actual, gap) from lead_gaps for a day: inserts missing '
  'rows, updates changed ones, one writer at a time; leaves the orchestration columns alone and unchanged rows '
  'untouched. Returns rows inserted or changed.';
revoke all on function lead_flow.write_plans(date, uuid) from public, anon, authenticated;
grant execute on function lead_flow.write_plans(date, uuid) to service_role;

-- jit off and work_mem: as orchestrate_budgets (70_orchestration.sql) -- no compile for a statement that
-- runs in a fraction of a second, and 10,000 segments' aggregates without spilling to disk.
create or replace function lead_flow.plan_lead_segments(p_date date) returns integer
  language plpgsql volatile set search_path = '' set jit = off set work_mem = '64MB'
  as $$
  begin
    if p_date is null then
      raise exception 'plan_lead_segments needs a date' using errcode = '22023';
    end if;
    perform lead_flow.record_capacity_trust(p_date);   -- D's trusted capacity, which D + 1 ramps from
    return lead_flow.write_plans(p_date, null);
  end
  $$;
comment on function lead_flow.plan_lead_segments(date) is
  'Nightly step 2: stores the partners'' trusted capacity for Amsterdam day p_date, then plans every active '
  'segment for it in one statement (target, actual, gap, gap %, forecast for the next day). Idempotent; returns '
  'the number of plan rows inserted or changed.';
revoke all on function lead_flow.plan_lead_segments(date) from public, anon, authenticated;
grant execute on function lead_flow.plan_lead_segments(date) to service_role;

-- How good the forecast is: plan D's expected_leads_per_day against the leads of D + 1.
create or replace function lead_flow.lead_forecast_accuracy(p_from date, p_to date)
  returns table (days integer, segments integer, pairs integer, mean_absolute_error numeric,
                 weighted_absolute_percentage_error numeric, naive_weighted_absolute_percentage_error numeric)
  language sql stable set search_path = ''
  as $$
    select count(distinct p.date)::integer, count(distinct p.segment_id)::integer, count(*)::integer,
           round(avg(abs(p.expected_leads_per_day - nxt.leads_generated)), 3),
           round(100 * sum(abs(p.expected_leads_per_day - nxt.leads_generated))
                 / nullif(sum(nxt.leads_generated), 0), 2),
           round(100 * sum(abs(cur.leads_generated - nxt.leads_generated))
                 / nullif(sum(nxt.leads_generated), 0), 2)
      from public.lead_segment_plans p
      join public.lead_generation_stats nxt on nxt.segment_id = p.segment_id and nxt.date = p.date + 1
      join public.lead_generation_stats cur on cur.segment_id = p.segment_id and cur.date = p.date
     where p.date between p_from and p_to and p.expected_leads_per_day is not null
  $$;
comment on function lead_flow.lead_forecast_accuracy(date, date) is
  'Accuracy of expected_leads_per_day for plans dated p_from..p_to against the next day''s actual leads: '
  'mean absolute error and weighted absolute percentage error, beside a naive "tomorrow = today" forecast.';
revoke all on function lead_flow.lead_forecast_accuracy(date, date) from public, anon, authenticated;
grant execute on function lead_flow.lead_forecast_accuracy(date, date) to service_role;
