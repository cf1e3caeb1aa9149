-- Monitoring: what an admin should look at this morning. Columns (kind, segment_id, date, severity,
-- message, details) are the shape other areas union their alert kinds into; the API's view
-- lead_flow_alerts (sql/91_api.sql) shows them.

-- Computed by a definer function because it reads internals (nightly_runs, effective settings);
-- it returns rows only to admins and back-end roles, so the view is safe to grant to authenticated.
create or replace function lead_flow.pipeline_alerts(p_now timestamptz default now())
  returns table (kind text, segment_id uuid, date date, severity text, message text, details jsonb)
  language plpgsql stable security definer set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_yesterday date := lead_flow.local_day(p_now) - 1;
  begin
    -- Admins, the service role, and direct database sessions without JWT claims (psql, pg_cron).
    if not (lead_flow.is_admin() or lead_flow.is_back_end()) then
      return;
    end if;

    -- |gap %| over alert_gap_percentage on each of the last alert_gap_nights planned nights in a row.
    return query
    with ranked as (
      select p.segment_id, p.date, p.lead_gap, p.lead_gap_percentage, p.target_leads_per_day, p.actual_leads,
             (ss.settings ->> 'alert_gap_percentage')::numeric as threshold,
             greatest((ss.settings ->> 'alert_gap_nights')::numeric, 1)::integer as nights,
             row_number() over (partition by p.segment_id order by p.date desc) as rn,
             max(p.date) over (partition by p.segment_id) as last_date
        from public.lead_segment_plans p
        join public.lead_segments s on s.id = p.segment_id and s.is_active
        join lead_flow.segment_settings ss on ss.segment_id = p.segment_id
       where p.date between v_yesterday - 400 and v_yesterday
    )
    select 'lead_gap'::text, r.segment_id, max(r.date), 'warning'::text,
           format('|gap %%| above %s%% for %s nights in a row (last: gap %s leads, %s%%)',
                  trim_scale(max(r.threshold)), max(r.nights),
                  (array_agg(r.lead_gap order by r.date desc))[1],
                  (array_agg(r.lead_gap_percentage order by r.date desc))[1]),
           jsonb_build_object('nights', max(r.nights), 'threshold', max(r.threshold),
                              'gap_percentages', jsonb_agg(r.lead_gap_percentage order by r.date),
                              'dates', jsonb_agg(r.date order by r.date))
      from ranked r
     where r.rn <= r.nights and r.last_date >= v_yesterday - 1
     group by r.segment_id
    having count(*) = max(r.nights)
       and bool_and(abs(r.lead_gap_percentage) > r.threshold)
       and max(r.date) - min(r.date) = max(r.nights) - 1;

    -- Budget changes the worker could not apply, over the last week.
    return query
    select case l.status when 'failed' then 'budget_change_failed' else 'budget_change_conflict' end,
           l.segment_id, l.date,
           case l.status when 'failed' then 'error' else 'warning' end,
           format('budget change %s -> %s %s: %s', coalesce(l.old_value::text, 'unknown'), l.new_value, l.status,
                  coalesce(l.error_message, l.error_code, case when l.live_value is not null
                                                               then 'live budget was ' || l.live_value end, 'no detail')),
           jsonb_build_object('log_id', l.id, 'attempts', l.attempts, 'error_code', l.error_code,
                              'live_value', l.live_value, 'request_id', l.request_id, 'campaign_id', l.campaign_id)
      from public.channel_orchestration_log l
     where l.status in ('failed', 'conflict') and coalesce(l.error_code, '') <> 'superseded'
       and l.date >= v_yesterday - 6;

    -- Registered steps (lead_flow.pipeline_steps) that did not succeed for last night, an hour after due.
    return query
    select 'step_not_run'::text, null::uuid, v_yesterday,
           'error'::text,
           format('nightly step %s for %s %s', s.step, v_yesterday,
                  case when n.status = 'failed' then 'failed: ' || coalesce(n.error, 'no detail') else 'did not run' end),
           jsonb_build_object('step', s.step, 'due_at', lead_flow.step_due_at(s.step, v_yesterday),
                              'status', n.status, 'error', n.error)
      from lead_flow.pipeline_steps s
      left join lead_flow.nightly_runs n on n.step = s.step and n.date = v_yesterday
     where p_now >= lead_flow.step_due_at(s.step, v_yesterday) + interval '1 hour'
       and (n.status is null or n.status <> 'success');
  end
  $$;
comment on function lead_flow.pipeline_alerts(timestamptz) is
  'The pipeline''s alerts (persistent lead gaps, failed or conflicted budget changes, missed or failed steps '
  'of last night) as of p_now; no rows for callers who are not admins or back-end roles.';
revoke all on function lead_flow.pipeline_alerts(timestamptz) from public, anon, authenticated;
grant execute on function lead_flow.pipeline_alerts(timestamptz) to authenticated, service_role;
