-- Monitoring: what an admin should look at this morning. Columns (kind, segment_id, date, severity,
-- message, details) are the shape other areas union their alert kinds into; the API's view
-- lead_flow_alerts (sql/91_api.sql) shows them.

-- Changes the worker could not apply (failed, conflict) on or after p_since: a segment's budget change,
-- or a partner campaign's budget change or pause (its segment is the campaign's, and details name the
-- partner and the recommendation). p_partner: only that partner's campaigns (NULL: every change).
create or replace function lead_flow.change_alerts(p_since date, p_partner uuid default null)
  returns table (kind text, segment_id uuid, date date, severity text, message text, details jsonb)
  language sql stable set search_path = ''
  as $$
    select case when l.action_type = 'campaign_pause' then 'campaign_pause_' else 'budget_change_' end
           || case l.status when 'failed' then 'failed' else 'conflict' end,
           coalesce(l.segment_id, c.segment_id), l.date,
           case l.status when 'failed' then 'error' else 'warning' end,
           case when l.action_type = 'campaign_pause'
                then format('pause of campaign %s %s: %s', coalesce(c.name, l.campaign_id), l.status,
                            coalesce(l.error_message, l.error_code, 'no detail'))
                else format('%sbudget change %s -> %s %s: %s',
                            case when c.id is not null then format('campaign %s: ', c.name) else '' end,
                            coalesce(l.old_value::text, 'unknown'), l.new_value, l.status,
                            coalesce(l.error_message, l.error_code, case when l.live_value is not null
                                                                         then 'live budget was ' || l.live_value end,
                                     'no detail')) end,
           jsonb_build_object('log_id', l.id, 'action_type', l.action_type, 'attempts', l.attempts,
                              'error_code', l.error_code, 'live_value', l.live_value, 'request_id', l.request_id,
                              'campaign_id', l.campaign_id, 'partner_id', c.partner_id,
                              'partner_campaign_id', l.partner_campaign_id, 'recommendation_id', l.recommendation_id)
      from public.channel_orchestration_log l
      left join public.partner_marketing_campaigns c on c.id = l.partner_campaign_id
     where l.status in ('failed', 'conflict') and coalesce(l.error_code, '') <> 'superseded'
       and l.date >= p_since
       and (p_partner is null or c.partner_id = p_partner)
  $$;
comment on function lead_flow.change_alerts(date, uuid) is
  'Alerts for the changes the worker could not apply since p_since (kind budget_change_failed/_conflict or '
  'campaign_pause_failed/_conflict): the segment (a partner campaign''s own), message, and details naming the '
  'change, the partner and the recommendation; p_partner limits them to that partner''s campaigns. Reads as its '
  'caller: pipeline_alerts (definer) decides who gets which.';
revoke all on function lead_flow.change_alerts(date, uuid) from public, anon, authenticated;

-- Computed by a definer function because it reads internals (nightly_runs, effective settings);
-- it returns every alert to admins and back-end roles, and a partner only the failed or conflicted
-- changes of its own campaigns, so the view is safe to grant to authenticated.
create or replace function lead_flow.pipeline_alerts(p_now timestamptz default now())
  returns table (kind text, segment_id uuid, date date, severity text, message text, details jsonb)
  language plpgsql stable security definer set search_path = ''
  as $$
  #variable_conflict use_column
  declare
    v_yesterday date := lead_flow.local_day(p_now) - 1;
    v_gap_nights integer;
  begin
    -- Admins, the service role, and direct database sessions without JWT claims (psql, pg_cron) get
    -- everything; a partner what the worker could not do with its own campaigns; others nothing.
    if not lead_flow.has_admin_rights() then
      if lead_flow.is_partner() then
        return query select * from lead_flow.change_alerts(v_yesterday - 6, lead_flow.jwt_user_id());
      end if;
      return;
    end if;

    -- |gap %| over alert_gap_percentage on each of the last alert_gap_nights planned nights in a row,
    -- the last of them last night or the night before. Only the window that can say so is read: per
    -- active segment its plans of the nights+1 days up to yesterday, by the (segment_id, date) key, not
    -- the whole history. In that window the last planned day is last_date, and the alert holds when the
    -- nights days ending there are all planned and all over the threshold. v_gap_nights, the most
    -- nights any segment asks for, bounds the read by date, so the planner sees how few rows it is.
    select max(greatest((ss.settings ->> 'alert_gap_nights')::numeric, 1)::integer) into v_gap_nights
      from lead_flow.segment_settings ss;
    return query
    with cfg as materialized (  -- the two numbers, not each segment's settings jsonb, flow on
      select ss.segment_id,
             (ss.settings ->> 'alert_gap_percentage')::numeric as threshold,
             greatest((ss.settings ->> 'alert_gap_nights')::numeric, 1)::integer as nights
        from lead_flow.segment_settings ss
        join public.lead_segments s on s.id = ss.segment_id and s.is_active
    ), recent as (
      select p.segment_id, p.date, p.lead_gap, p.lead_gap_percentage, c.threshold, c.nights,
             max(p.date) over (partition by p.segment_id) as last_date
        from cfg c
        join public.lead_segment_plans p on p.segment_id = c.segment_id
         and p.date between v_yesterday - c.nights and v_yesterday
       where p.date >= v_yesterday - v_gap_nights
    )
    select 'lead_gap'::text, r.segment_id, max(r.date), 'warning'::text,
           format('|gap %%| above %s%% for %s nights in a row (last: gap %s leads, %s%%)',
                  trim_scale(max(r.threshold)), max(r.nights),
                  (array_agg(r.lead_gap order by r.date desc))[1],
                  (array_agg(r.lead_gap_percentage order by r.date desc))[1]),
           jsonb_build_object('nights', max(r.nights), 'threshold', max(r.threshold),
                              'gap_percentages', jsonb_agg(r.lead_gap_percentage order by r.date),
                              'dates', jsonb_agg(r.date order by r.date))
      from recent r
     where r.date > r.last_date - r.nights and r.last_date >= v_yesterday - 1
     group by r.segment_id
    having count(*) = max(r.nights)
       and bool_and(abs(r.lead_gap_percentage) > r.threshold)
       and max(r.date) - min(r.date) = max(r.nights) - 1;

    -- Changes (budgets, partner campaigns' budgets and pauses) the worker could not apply, over the last week.
    return query select * from lead_flow.change_alerts(v_yesterday - 6);

    -- Large raises of a partner's declared capacity (max_open_leads, logged by sql/35's trigger) in the
    -- 7 days before p_now: to more than capacity_change_alert_factor x from, and by more than
    -- capacity_change_alert_min_leads; until an admin confirms at least the new value after the change.
    -- One row per change, naming the partner and the segments it serves.
    return query
    with cfg as materialized (
      select (ss.settings ->> 'capacity_change_alert_factor')::numeric as factor,
             (ss.settings ->> 'capacity_change_alert_min_leads')::numeric as min_leads
        from lead_flow.segment_settings ss
       where ss.segment_id is null
    ), jumps as (
      select c.id, c.partner_id, c.changed_at, c.changed_by, c.changed_by_role, c.from_leads, c.to_leads,
             p.company_name
        from lead_flow.partner_capacity_changes c
        join public.profiles p on p.id = c.partner_id and not p.is_admin
       cross join cfg
       where c.changed_at > p_now - interval '7 days' and c.changed_at <= p_now
         and c.to_leads > coalesce(c.from_leads, 0) * cfg.factor
         and c.to_leads - coalesce(c.from_leads, 0) > cfg.min_leads
         and not exists (select from lead_flow.partner_capacity_confirmations k
                          where k.partner_id = c.partner_id and k.confirmed_at >= c.changed_at
                            and k.confirmed_leads >= c.to_leads)
    )
    select 'capacity_jump'::text, null::uuid, lead_flow.local_day(j.changed_at), 'warning'::text,
           format('partner %s raised max_open_leads from %s to %s (segments: %s); planning ramps up to it '
                  'unless an admin confirms it (confirm_partner_capacity)',
                  coalesce(j.company_name, j.partner_id::text), coalesce(j.from_leads::text, 'nothing'), j.to_leads,
                  coalesce(seg.codes, 'none')),
           jsonb_build_object('change_id', j.id, 'partner_id', j.partner_id, 'company_name', j.company_name,
                              'changed_at', j.changed_at, 'changed_by', j.changed_by,
                              'changed_by_role', j.changed_by_role, 'from_leads', j.from_leads,
                              'to_leads', j.to_leads, 'segments', coalesce(seg.segments, '[]'::jsonb))
      from jumps j
      left join lateral (
        select string_agg(s.code, ', ' order by s.code) as codes,
               jsonb_agg(jsonb_build_object('segment_id', s.id, 'code', s.code) order by s.code) as segments
          from lead_flow.partner_segment_matches m
          join public.lead_segments s on s.id = m.segment_id
         where m.partner_id = j.partner_id) seg on true;

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
  'The pipeline''s alerts (persistent lead gaps, failed or conflicted budget changes and campaign pauses with '
  'their segment and partner, unconfirmed large raises of a partner''s max_open_leads in the last 7 days, missed '
  'or failed steps of last night) as of p_now, for admins and back-end roles; a partner gets the failed or '
  'conflicted changes of its own campaigns only; anyone else no rows.';
revoke all on function lead_flow.pipeline_alerts(timestamptz) from public, anon, authenticated;
grant execute on function lead_flow.pipeline_alerts(timestamptz) to authenticated, service_role;
