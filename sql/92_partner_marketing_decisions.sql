-- Partner marketing: deciding on a recommendation and carrying it out. The approve/reject RPCs
-- (sql/93_partner_marketing_api.sql) call lead_flow.decide_marketing_recommendation; an approved
-- budget change or campaign pause is one pending google_ads row in channel_orchestration_log for the
-- worker, and when the worker completes it (lead_flow.complete_budget_change, sql/75) the trigger
-- here makes the campaign's daily budget (or status) follow and marks the recommendation applied.

-- One Google Ads change per partner campaign at a time and per day: raises 22023 when a change for
-- the campaign still waits for the worker, or one was already queued on Amsterdam day p_today.
-- p_change names the change in the message ('a budget change'); p_advice says what to do instead.
create or replace function lead_flow.require_no_partner_campaign_change(
  p_campaign_id uuid, p_today date, p_change text, p_advice text)
  returns void
  language plpgsql stable set search_path = ''
  as $$
  begin
    if exists (select from public.channel_orchestration_log o
                where o.partner_campaign_id = p_campaign_id and o.status in ('pending', 'in_progress')) then
      raise exception '% for campaign % is already waiting for the worker', p_change, p_campaign_id
        using errcode = '22023';
    end if;
    if exists (select from public.channel_orchestration_log o
                where o.partner_campaign_id = p_campaign_id and o.channel = 'google_ads' and o.date = p_today) then
      raise exception 'campaign % already had % today (%); %',
        p_campaign_id, p_change, p_today, p_advice using errcode = '22023';
    end if;
  end
  $$;
comment on function lead_flow.require_no_partner_campaign_change(uuid, date, text, text) is
  'Raises 22023 when a change for the partner campaign is pending or in progress, or one was queued on p_today '
  '(one Google Ads change per campaign per day); p_change names the change, p_advice is the message''s advice.';
revoke all on function lead_flow.require_no_partner_campaign_change(uuid, date, text, text)
  from public, anon, authenticated;

-- Approve (p_approve) or reject a recommendation as the calling user: a partner its own, an admin
-- any, service_role any. Approving a budget change or a pause queues ONE pending google_ads change in
-- channel_orchestration_log for the worker; a landing page proposal becomes a draft page.
create or replace function lead_flow.decide_marketing_recommendation(p_id uuid, p_approve boolean, p_reason text)
  returns public.ai_marketing_recommendations
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    r public.ai_marketing_recommendations;
    c public.partner_marketing_campaigns;
    -- jwt_user_id, not auth.uid(): a sub that is not a uuid is nobody, not an error.
    v_uid uuid := lead_flow.jwt_user_id();
    -- Admins and the back end (sql/05_callers: decided from the claims and the login role, not
    -- current_user, which in a SECURITY DEFINER function is the owner).
    v_trusted boolean := lead_flow.has_admin_rights();
    v_today date := (now() at time zone 'Europe/Amsterdam')::date;
    v_old numeric;
    v_new numeric;
    v_monthly numeric;
    v_spent numeric;
    v_others numeric;
    v_remaining integer;
    v_log_id uuid;
    v_page_id uuid;
    v_pending bigint;
    v_status text := 'approved';
    v_outcome jsonb := '{}'::jsonb;
  begin
    if not (v_trusted or lead_flow.is_partner()) then
      raise exception '% needs a partner or admin profile',
        case when p_approve then 'approve_marketing_recommendation' else 'reject_marketing_recommendation' end
        using errcode = '42501', hint = 'sign in as a partner or an admin of the marketplace';
    end if;
    if p_id is null then
      raise exception 'a recommendation id is required' using errcode = '22023';
    end if;
    if p_reason is not null and length(p_reason) > 2000 then
      raise exception 'reason must be at most 2000 characters' using errcode = '22023';
    end if;
    select * into r from public.ai_marketing_recommendations x where x.id = p_id for update;
    -- Someone else's recommendation is reported exactly like a missing one.
    if not found or not (v_trusted or (v_uid is not null and r.partner_id = v_uid)) then
      raise exception 'marketing recommendation % does not exist', p_id using errcode = '22023';
    end if;
    if r.status <> 'pending' then
      raise exception 'marketing recommendation % is already % (decided %); only a pending one can be %',
        p_id, r.status, coalesce(to_char(r.decided_at at time zone 'Europe/Amsterdam', 'YYYY-MM-DD HH24:MI'), 'by the system'),
        case when p_approve then 'approved' else 'rejected' end
        using errcode = '22023';
    end if;
    if r.expires_at <= now() then
      raise exception 'marketing recommendation % expired at %; wait for a new one',
        p_id, to_char(r.expires_at at time zone 'Europe/Amsterdam', 'YYYY-MM-DD HH24:MI') using errcode = '22023';
    end if;

    if not p_approve then
      update public.ai_marketing_recommendations x
         set status = 'rejected', decided_by = v_uid, decided_at = now(), decision_reason = p_reason
       where x.id = p_id
      returning * into r;
      perform lead_flow.log('info', format('marketing recommendation %s (%s) rejected', p_id, r.type),
                            jsonb_build_object('recommendation_id', p_id, 'partner_id', r.partner_id, 'by', v_uid,
                                               'reason', p_reason));
      return r;
    end if;

    if r.type in ('increase_budget', 'decrease_budget') then
      select * into c from public.partner_marketing_campaigns x where x.id = r.campaign_id for update;
      if not found or c.channel <> 'google_ads' or c.external_campaign_id is null or c.customer_id is null
         or c.budget_resource_name is null then
        raise exception 'campaign % of recommendation % is not a Google Ads campaign the worker can change',
          r.campaign_id, p_id using errcode = '22023';
      end if;
      if c.status <> 'active' then
        raise exception 'campaign % is %; only an active campaign''s budget is changed', c.id, c.status
          using errcode = '22023';
      end if;
      v_old := (r.payload ->> 'old_daily_budget')::numeric;
      v_new := (r.payload ->> 'new_daily_budget')::numeric;
      if v_new is null or v_new < 0 then
        raise exception 'recommendation % carries no valid new daily budget', p_id using errcode = '22023';
      end if;
      if c.daily_budget is distinct from v_old then
        raise exception 'the daily budget of campaign % changed since this recommendation (it said %, now %); wait for tonight''s recommendation',
          c.id, v_old, c.daily_budget using errcode = '22023';
      end if;
      perform lead_flow.require_no_partner_campaign_change(c.id, v_today, 'a budget change',
                                                         'one change a day keeps the daily limit');
      if v_new > v_old then
        -- The month as it stands now: spend before today + the rest of the month at every daily budget.
        select p.monthly_marketing_budget into v_monthly from public.profiles p where p.id = r.partner_id;
        v_spent := lead_flow.partner_ads_spend(r.partner_id, date_trunc('month', v_today::timestamp)::date, v_today - 1);
        v_remaining := (date_trunc('month', v_today::timestamp) + interval '1 month')::date - v_today;
        select coalesce(sum(x.daily_budget), 0) into v_others
          from public.partner_marketing_campaigns x
         where x.partner_id = r.partner_id and x.status = 'active' and x.daily_budget is not null and x.id <> c.id;
        if v_spent + v_remaining * (v_others + v_new) > coalesce(v_monthly, 0) then
          raise exception 'approving would take the month over the monthly marketing budget %: spent %, % days left at % a day (this campaign % + others %)',
            coalesce(v_monthly, 0), v_spent, v_remaining, v_others + v_new, v_new, v_others using errcode = '22023';
        end if;
      end if;

      insert into public.channel_orchestration_log
        (date, segment_id, channel, action_type, old_value, new_value, reason, customer_id, campaign_id,
         budget_resource_name, partner_campaign_id, recommendation_id, controller, limited_by)
      values (v_today, null, 'google_ads',
              case when v_new >= v_old then 'budget_increase' else 'budget_decrease' end,
              v_old, v_new, format('partner recommendation %s approved: %s', p_id, r.reason),
              c.customer_id, c.external_campaign_id, c.budget_resource_name, c.id, p_id, 'partner_rules',
              r.payload ->> 'limited_by')
      returning id into v_log_id;
      v_outcome := jsonb_build_object('orchestration_log_id', v_log_id);
    elsif r.type = 'pause_campaign' then
      -- The worker pauses the campaign in Google Ads (CampaignService, status PAUSED), exactly once,
      -- like a budget change; the trigger below marks the campaign paused when it succeeds.
      select * into c from public.partner_marketing_campaigns x where x.id = r.campaign_id for update;
      if not found or c.channel <> 'google_ads' or coalesce(c.external_campaign_id, '') !~ '^[0-9]+$' or c.customer_id is null then
        raise exception 'campaign % of recommendation % is not a Google Ads campaign the worker can pause',
          r.campaign_id, p_id using errcode = '22023';
      end if;
      if c.status <> 'active' then
        raise exception 'campaign % is already %; only an active campaign is paused', c.id, c.status
          using errcode = '22023';
      end if;
      perform lead_flow.require_no_partner_campaign_change(
        c.id, v_today, 'a change', 'approve the pause tomorrow (it stays pending until it expires)');
      insert into public.channel_orchestration_log
        (date, segment_id, channel, action_type, old_value, new_value, reason, customer_id, campaign_id,
         budget_resource_name, partner_campaign_id, recommendation_id, controller)
      values (v_today, null, 'google_ads', 'campaign_pause', c.daily_budget, null,
              format('partner recommendation %s approved: pause campaign; %s', p_id, r.reason),
              c.customer_id, c.external_campaign_id, c.budget_resource_name, c.id, p_id, 'partner_rules')
      returning id into v_log_id;
      v_outcome := jsonb_build_object('orchestration_log_id', v_log_id);
    elsif r.type = 'create_landing_page' then
      insert into public.partner_landing_pages (partner_id, segment_id, path, status, source, title)
      values (r.partner_id, r.segment_id,
              (select case when exists (select from public.partner_landing_pages lp where lp.path = r.payload ->> 'suggested_path')
                           then (r.payload ->> 'suggested_path') || '-' || left(replace(p_id::text, '-', ''), 6)
                           else r.payload ->> 'suggested_path' end),
              'draft', 'ai', r.payload ->> 'suggested_title')
      returning id into v_page_id;
      v_status := 'applied';  -- the draft page is made: nothing is left to carry out
      v_outcome := jsonb_build_object('landing_page_id', v_page_id);
    end if;
    -- The decision, with what carrying it out made (the queued change, or the draft page).
    update public.ai_marketing_recommendations x
       set status = v_status, decided_by = v_uid, decided_at = now(), decision_reason = p_reason,
           payload = x.payload || v_outcome
     where x.id = p_id
    returning * into r;
    if v_log_id is not null then
      select count(*) into v_pending
        from public.channel_orchestration_log l where l.channel = 'google_ads' and l.status = 'pending';
      perform pg_notify('lead_flow_budget_changes', v_pending::text);
    end if;
    perform lead_flow.log('info', format('marketing recommendation %s (%s) approved', p_id, r.type),
                          jsonb_build_object('recommendation_id', p_id, 'partner_id', r.partner_id, 'by', v_uid,
                                             'orchestration_log_id', v_log_id, 'landing_page_id', v_page_id));
    return r;
  end
  $$;
comment on function lead_flow.decide_marketing_recommendation(uuid, boolean, text) is
  'Approves or rejects a pending, unexpired recommendation for its partner, an admin or service_role (others: "does not exist"); an approved budget change becomes one pending google_ads row in channel_orchestration_log (re-checked against the live budget, one change a day and the monthly budget), an approved pause one pending campaign_pause row (an active Google Ads campaign, nothing else waiting, one change a day), a landing page proposal a draft page; errors are 22023 with a message.';
revoke all on function lead_flow.decide_marketing_recommendation(uuid, boolean, text) from public, anon, authenticated;
grant execute on function lead_flow.decide_marketing_recommendation(uuid, boolean, text) to authenticated, service_role;

-- When the worker completes a partner campaign's budget change: the campaign's daily budget
-- follows what Google Ads now has, and the recommendation behind it is applied.
create or replace function lead_flow.tg_channel_orchestration_log__apply_partner_change() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if new.status = 'success' and new.action_type = 'campaign_pause' then
      update public.partner_marketing_campaigns c
         set status = 'paused', ai_last_adjusted_at = now()
       where c.id = new.partner_campaign_id;
    elsif new.status = 'success' then
      update public.partner_marketing_campaigns c
         set daily_budget = coalesce(new.applied_value, new.new_value), ai_last_adjusted_at = now()
       where c.id = new.partner_campaign_id;
    end if;
    if new.status = 'success' then
      update public.ai_marketing_recommendations r
         set status = 'applied'
       where r.id = new.recommendation_id and r.status = 'approved';
    end if;
    perform lead_flow.log(case when new.status = 'success' then 'info' else 'warning' end,
                          case when new.action_type = 'campaign_pause'
                               then format('partner campaign %s pause %s (%s)', new.partner_campaign_id, new.status,
                                           coalesce(new.error_message, new.reason, ''))
                               else format('partner campaign %s budget change %s: %s -> %s (%s)', new.partner_campaign_id,
                                           new.status, new.old_value, coalesce(new.applied_value, new.new_value),
                                           coalesce(new.error_message, new.reason, '')) end,
                          jsonb_build_object('log_id', new.id, 'partner_campaign_id', new.partner_campaign_id,
                                             'recommendation_id', new.recommendation_id, 'status', new.status,
                                             'live_value', new.live_value));
    return null;
  end
  $$;
comment on function lead_flow.tg_channel_orchestration_log__apply_partner_change() is
  'On a partner campaign change reaching success: a budget change sets the campaign''s daily_budget to the applied amount, a pause sets its status to paused; either marks its recommendation applied; logs every outcome.';
revoke all on function lead_flow.tg_channel_orchestration_log__apply_partner_change() from public, anon, authenticated;
create or replace trigger tg_channel_orchestration_log__apply_partner_change
  after update of status on public.channel_orchestration_log
  for each row
  when (new.partner_campaign_id is not null and new.status is distinct from old.status
        and new.status in ('success', 'failed', 'conflict'))
  execute function lead_flow.tg_channel_orchestration_log__apply_partner_change();
