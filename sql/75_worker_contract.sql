-- The worker's contract (docs/architecture.md): the Google Ads worker calls these functions and
-- touches nothing else. Claiming is FOR UPDATE SKIP LOCKED, so two workers never get the same row.
-- They live in lead_flow (PostgREST does not expose it: clients never call them), granted to
-- service_role, the role the worker uses.

create or replace function lead_flow.claim_budget_changes(p_worker text, p_max_rows integer default 500,
                                            p_dry_run boolean default false)
  returns setof public.channel_orchestration_log
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_lease interval := make_interval(
      mins => coalesce((lead_flow.setting('claim_lease_minutes') #>> '{}')::integer, 15));
    v_global_pause boolean := coalesce((lead_flow.setting('paused'))::boolean, false);
  begin
    if p_worker is null or length(btrim(p_worker)) = 0 or length(p_worker) > 200 then
      raise exception 'claim_budget_changes needs a worker name (1-200 characters)' using errcode = '22023';
    end if;
    if p_max_rows is null or p_max_rows < 1 or p_max_rows > 10000 then
      raise exception 'p_max_rows must be between 1 and 10000, got %', p_max_rows using errcode = '22023';
    end if;
    if v_global_pause then
      return;  -- emergency stop: nothing leaves the queue
    end if;
    return query
      with candidates as (
        select l.id
          from public.channel_orchestration_log l
         where l.channel = 'google_ads'
           and (l.status = 'pending' or (l.status = 'in_progress' and l.claimed_at < now() - v_lease))
           and not coalesce((lead_flow.setting('paused', l.segment_id))::boolean, false)
         order by l.created_at, l.id
         limit p_max_rows
           for update skip locked
      )
      update public.channel_orchestration_log l
         set status = 'in_progress', claimed_by = btrim(p_worker), claimed_at = now(),
             attempts = l.attempts + case when coalesce(p_dry_run, false) then 0 else 1 end
        from candidates c
       where l.id = c.id
      returning l.*;
  end
  $$;
comment on function lead_flow.claim_budget_changes(text, integer, boolean) is
  'Worker contract: takes up to p_max_rows pending google_ads changes (budgets and campaign pauses, by '
  'action_type; and in_progress ones whose claim '
  'is older than claim_lease_minutes), oldest first, FOR UPDATE SKIP LOCKED so concurrent workers never share '
  'a row; marks them in_progress for p_worker (attempts + 1 unless dry run) and returns them. Paused segments '
  '(and everything under a global pause) stay in the queue.';
revoke all on function lead_flow.claim_budget_changes(text, integer, boolean) from public, anon, authenticated;
grant execute on function lead_flow.claim_budget_changes(text, integer, boolean) to service_role;

create or replace function lead_flow.complete_budget_change(
    p_log_id uuid, p_status text, p_applied_amount numeric default null, p_request_id text default null,
    p_error_message text default null, p_error_code text default null, p_live_value numeric default null,
    p_dry_run boolean default false)
  returns public.channel_orchestration_log
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_row public.channel_orchestration_log;
    v_dry boolean := coalesce(p_dry_run, false);
  begin
    if p_status is null or p_status not in ('success', 'failed', 'conflict', 'pending') then
      raise exception 'p_status must be one of success, failed, conflict, pending; got %', coalesce(p_status, 'NULL')
        using errcode = '22023';
    end if;
    if p_applied_amount is not null and (lead_flow.finite(p_applied_amount) is null or p_applied_amount < 0) then
      raise exception 'p_applied_amount must be a finite amount >= 0, got %', p_applied_amount using errcode = '22023';
    end if;
    if p_live_value is not null and (lead_flow.finite(p_live_value) is null or p_live_value < 0) then
      raise exception 'p_live_value must be a finite amount >= 0, got %', p_live_value using errcode = '22023';
    end if;

    select * into v_row from public.channel_orchestration_log l where l.id = p_log_id for update;
    if not found then
      raise exception 'no budget change with id %', p_log_id using errcode = '22023';
    end if;
    -- A pause (action_type campaign_pause) sets no amount; a budget change's success says what it set.
    if p_status = 'success' and not v_dry and p_applied_amount is null and v_row.action_type <> 'campaign_pause' then
      raise exception 'a successful budget change needs p_applied_amount' using errcode = '22023';
    end if;
    if v_row.status <> 'in_progress' then
      raise exception 'budget change % is %, only an in_progress change can be completed', p_log_id, v_row.status
        using errcode = '22023';
    end if;

    if v_dry then
      -- validate_only: record what the validation said, hand the row back to the queue.
      update public.channel_orchestration_log l
         set status = 'pending', claimed_by = null, claimed_at = null,
             validated_at = case when p_status = 'success' then now() else l.validated_at end,
             error_code = case when p_status = 'success' then null else p_error_code end,
             error_message = case when p_status = 'success' then null else left(p_error_message, 4000) end,
             live_value = coalesce(p_live_value, l.live_value),
             request_id = coalesce(p_request_id, l.request_id)
       where l.id = p_log_id
      returning l.* into v_row;
      return v_row;
    end if;

    if p_status = 'pending' then
      -- Transient failure: back to the queue; the attempt was counted when it was claimed.
      update public.channel_orchestration_log l
         set status = 'pending', claimed_by = null, claimed_at = null,
             error_code = p_error_code, error_message = left(p_error_message, 4000),
             request_id = coalesce(p_request_id, l.request_id)
       where l.id = p_log_id
      returning l.* into v_row;
      return v_row;
    end if;

    update public.channel_orchestration_log l
       set status = p_status,
           applied_value = case when p_status = 'success' then round(p_applied_amount, 2) else l.applied_value end,
           live_value = case when p_live_value is not null then round(p_live_value, 2) else l.live_value end,
           request_id = p_request_id,
           error_code = case when p_status = 'success' then null else p_error_code end,
           error_message = case when p_status = 'success' then null else left(p_error_message, 4000) end,
           completed_at = now()
     where l.id = p_log_id
    returning l.* into v_row;

    -- What is live now: the applied amount on success, the observed value on a conflict.
    if v_row.action_type <> 'campaign_pause'
       and (p_status = 'success' or (p_status = 'conflict' and p_live_value is not null)) then
      update public.lead_segment_campaigns c
         set daily_budget = case when p_status = 'success' then round(p_applied_amount, 2) else round(p_live_value, 2) end
       where c.segment_id = v_row.segment_id
         and (v_row.campaign_id is null or c.campaign_id = v_row.campaign_id);
    end if;
    update public.lead_segment_plans p
       set orchestration_status = p_status,
           actual_daily_budget_google_ads = case when p_status = 'success' then round(p_applied_amount, 2)
                                                 when p_status = 'conflict' and p_live_value is not null
                                                   then round(p_live_value, 2)
                                                 else p.actual_daily_budget_google_ads end,
           orchestration_reason = case when p_status = 'success' then p.orchestration_reason
                                       else concat_ws('; ', p.orchestration_reason,
                                                      format('%s: %s', p_status, coalesce(p_error_message, p_error_code, 'no detail'))) end
     where p.id = v_row.plan_id;
    return v_row;
  end
  $$;
comment on function lead_flow.complete_budget_change(uuid, text, numeric, text, text, text, numeric, boolean) is
  'Worker contract: finishes an in_progress change. success (a budget change needs p_applied_amount; a '
  'campaign_pause has none) updates the campaign mapping''s daily_budget and the plan''s actual budget and status; '
  'failed records the error; conflict records the live value (and makes it the known budget); pending returns '
  'the row to the queue. A dry run records validated_at or the error and returns the row to pending. Any other '
  'state or status is a 400 error.';
revoke all on function lead_flow.complete_budget_change(uuid, text, numeric, text, text, text, numeric, boolean)
  from public, anon, authenticated;
grant execute on function lead_flow.complete_budget_change(uuid, text, numeric, text, text, text, numeric, boolean)
  to service_role;

create or replace function lead_flow.record_campaign_metrics(
    p_customer_id text, p_campaign_id text, p_date date, p_cost_micros bigint, p_clicks bigint,
    p_impressions bigint, p_conversions numeric)
  returns public.campaign_daily_metrics
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_row public.campaign_daily_metrics;
  begin
    if p_customer_id is null or p_customer_id !~ '^[0-9]{10}$' then
      raise exception 'p_customer_id must be 10 digits, got %', coalesce(p_customer_id, 'NULL') using errcode = '22023';
    end if;
    if p_campaign_id is null or p_campaign_id !~ '^[0-9]+$' then
      raise exception 'p_campaign_id must be digits, got %', coalesce(p_campaign_id, 'NULL') using errcode = '22023';
    end if;
    if p_date is null then
      raise exception 'p_date is required' using errcode = '22023';
    end if;
    if coalesce(p_cost_micros, 0) < 0 or coalesce(p_clicks, 0) < 0 or coalesce(p_impressions, 0) < 0
       or coalesce(p_conversions, 0) < 0 or lead_flow.finite(coalesce(p_conversions, 0)) is null then
      raise exception 'metrics must be finite and >= 0 (cost_micros %, clicks %, impressions %, conversions %)',
        p_cost_micros, p_clicks, p_impressions, p_conversions using errcode = '22023';
    end if;
    insert into public.campaign_daily_metrics as m
      (customer_id, campaign_id, date, cost, clicks, impressions, conversions, pulled_at)
    values (p_customer_id, p_campaign_id, p_date, round(coalesce(p_cost_micros, 0) / 1000000.0, 2),
            coalesce(p_clicks, 0), coalesce(p_impressions, 0), round(coalesce(p_conversions, 0), 2), now())
    on conflict (customer_id, campaign_id, date) do update
       set cost = excluded.cost, clicks = excluded.clicks, impressions = excluded.impressions,
           conversions = excluded.conversions, pulled_at = excluded.pulled_at
    returning m.* into v_row;
    return v_row;
  end
  $$;
comment on function lead_flow.record_campaign_metrics(text, text, date, bigint, bigint, bigint, numeric) is
  'Worker contract: upserts one campaign''s Google Ads metrics for one day (cost from micros to EUR cents, '
  'clicks, impressions, conversions); the nightly aggregate reads them. Returns the stored row.';
revoke all on function lead_flow.record_campaign_metrics(text, text, date, bigint, bigint, bigint, numeric)
  from public, anon, authenticated;
grant execute on function lead_flow.record_campaign_metrics(text, text, date, bigint, bigint, bigint, numeric)
  to service_role;

-- The campaigns whose metrics the worker pulls (leadflow worker pull-metrics): every Google Ads campaign
-- mapped to a segment, and partners' own Google Ads campaigns with a numeric id (they are
-- partner_marketing_campaigns rows: their totals and recommendations read the same metrics). SECURITY
-- DEFINER: the worker needs these ids, not read access to the campaign tables.
create or replace function lead_flow.campaigns_to_pull()
  returns table (customer_id text, campaign_id text)
  language sql stable security definer set search_path = ''
  as $$
    select c.customer_id, c.campaign_id from public.lead_segment_campaigns c
    union
    select c.customer_id, c.external_campaign_id from public.partner_marketing_campaigns c
     where c.channel = 'google_ads' and c.customer_id is not null and c.external_campaign_id ~ '^[0-9]+$'
    order by 1, 2
  $$;
comment on function lead_flow.campaigns_to_pull() is
  'Worker contract: the Google Ads campaigns (customer_id, campaign_id) whose daily metrics the worker pulls and '
  'records: the segments'' mapped campaigns and partners'' own Google Ads campaigns, each once.';
revoke all on function lead_flow.campaigns_to_pull() from public, anon, authenticated;
grant execute on function lead_flow.campaigns_to_pull() to service_role;

-- The functions above but campaigns_to_pull are SECURITY INVOKER: the queue is what the worker's own role can see. A role
-- under row level security (any role without BYPASSRLS: membership of service_role does not pass the
-- attribute on) sees no rows of channel_orchestration_log, so it would claim nothing and report
-- nothing. The worker asks this at start and refuses to run instead.
create or replace function lead_flow.worker_role_check()
  returns table (problems text[], usable_roles text[])
  language sql stable set search_path = ''
  as $$
    with functions (signature) as (
      values ('lead_flow.claim_budget_changes(text, integer, boolean)'),
             ('lead_flow.complete_budget_change(uuid, text, numeric, text, text, text, numeric, boolean)'),
             ('lead_flow.record_campaign_metrics(text, text, date, bigint, bigint, bigint, numeric)'),
             ('lead_flow.campaigns_to_pull()')
    ), tables (name, privilege) as (
      -- What the contract's functions and pull-metrics read and write, as the caller.
      values ('public.channel_orchestration_log', 'select'), ('public.channel_orchestration_log', 'update'),
             ('public.lead_segment_campaigns', 'select'), ('public.lead_segment_campaigns', 'update'),
             ('public.lead_segment_plans', 'select'), ('public.lead_segment_plans', 'update'),
             ('public.campaign_daily_metrics', 'select'), ('public.campaign_daily_metrics', 'insert'),
             ('public.campaign_daily_metrics', 'update')
    ), missing as (
      select format('may not execute %s', split_part(f.signature, '(', 1)) as problem, 1 as rank
        from functions f
       where not has_function_privilege(f.signature, 'execute')
      union all
      select format('lacks %s on %s', string_agg(t.privilege, ', ' order by t.privilege), t.name), 2
        from tables t
       where not has_table_privilege(t.name, t.privilege)
       group by t.name
      union all
      select format('row level security hides the rows of %s from it (it has no BYPASSRLS)',
                    string_agg(distinct t.name, ', ')), 3
        from tables t
       where row_security_active(t.name)
      having count(*) > 0
    ), usable as (
      -- Roles it may SET ROLE to that could do the work (e.g. service_role on Supabase).
      select r.rolname
        from pg_catalog.pg_roles r
       where r.rolname <> current_user
         and pg_catalog.pg_has_role(current_user, r.oid, 'member')
         and (r.rolbypassrls or r.rolsuper)
         and not exists (select from functions f where not has_function_privilege(r.oid, f.signature, 'execute'))
         and not exists (select from tables t where not has_table_privilege(r.oid, t.name, t.privilege))
    )
    select coalesce((select array_agg(m.problem order by m.rank, m.problem) from missing m), '{}'),
           coalesce((select array_agg(u.rolname::text order by u.rolname = 'service_role' desc, u.rolname)
                       from usable u), '{}')
  $$;
comment on function lead_flow.worker_role_check() is
  'Worker contract: what keeps the calling role from working the budget queue (problems: functions it may not '
  'execute, table privileges it lacks, tables whose rows row level security hides from it), and the roles it '
  'may SET ROLE to that could (usable_roles, service_role first). No problems: the worker may start.';
revoke all on function lead_flow.worker_role_check() from public, anon, authenticated;
grant execute on function lead_flow.worker_role_check() to service_role;
