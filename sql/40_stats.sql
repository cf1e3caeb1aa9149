-- Step 1 of the night after day D: lead_generation_stats for D, one row per active segment.
-- D is a Europe/Amsterdam calendar day (23 or 25 hours around DST), never a UTC day.

-- The instant an Amsterdam calendar day starts (its end is day_start(D + 1)).
create or replace function lead_flow.day_start(p_date date) returns timestamptz
  language sql immutable parallel safe set search_path = ''
  as $$ select (p_date::timestamp at time zone 'Europe/Amsterdam') $$;
comment on function lead_flow.day_start(date) is
  'The moment Europe/Amsterdam calendar day p_date begins; day D is [day_start(D), day_start(D + 1)).';

-- The Amsterdam calendar day of an instant.
create or replace function lead_flow.local_day(p_at timestamptz) returns date
  language sql immutable parallel safe set search_path = ''
  as $$ select (p_at at time zone 'Europe/Amsterdam')::date $$;
comment on function lead_flow.local_day(timestamptz) is
  'The Europe/Amsterdam calendar day an instant falls on.';

-- jit off and work_mem: as orchestrate_budgets (70_orchestration.sql) -- no compile for a statement that
-- runs in a fraction of a second, and 10,000 segments' aggregates without spilling to disk.
-- What the night's write maintains (issue 17, history): the heap and the (date, segment_id) index are
-- appended at their ends, the primary key too since its ids are time-ordered (migration 0085); the
-- unique (segment_id, date) key, which the merge and every per-segment reader (the API's stats,
-- controllers, alerts) need, gets one entry at the end of each segment's run: one leaf page per
-- segment, 10,000 pages (80 MB) a night at 10,000 segments whatever the history. At 60 days the whole
-- key is smaller than that (26 MB) and stays cached; at 365 days (158 MB) those pages are read back
-- when the cache has lost them since the last night (10,000 blocks cold, ~120 on a night right after
-- another, at 128 MB and at 1 GB of shared_buffers alike). Bounding that set would take partitions by
-- date (each partition's own key); not done.
create or replace function lead_flow.aggregate_lead_stats(p_date date) returns integer
  language plpgsql volatile set search_path = '' set jit = off set work_mem = '64MB'
  as $$
  declare
    v_from timestamptz := lead_flow.day_start(p_date);
    v_to timestamptz := lead_flow.day_start(p_date + 1);
    v_rows integer;
  begin
    if p_date is null then
      raise exception 'aggregate_lead_stats needs a date' using errcode = '22023';
    end if;
    -- No refresh of the platform's partner_performance_stats here: the stats keep capacity_partners
    -- and capacity_total_leads (profiles), never open leads, and the refresh reads every lead of all
    -- time (the night reads its window only; the platform refreshes its view itself, daily).
    -- Leads that arrived before their segment existed (or failed assignment) are counted too.
    perform lead_flow.assign_segments_to_leads(v_from);

    -- One run at a time (as write_plans, sql/50): the MERGE below inserts new rows plainly, and another
    -- run's insert of the same row would fail it on the unique key (an upsert took such a row over).
    perform pg_advisory_xact_lock(hashtextextended('lead_flow.aggregate_lead_stats', 0));

    with day_leads as (
      select l.segment_id,
             count(*)::integer as generated,
             (count(*) filter (where l.status = 'accepted'))::integer as accepted,
             (count(*) filter (where l.status = 'rejected'))::integer as rejected,
             (count(*) filter (where l.status in ('new', 'pending')))::integer as pending
        from public.leads l
       where l.created_at >= v_from and l.created_at < v_to and l.segment_id is not null
       group by l.segment_id
    ), day_ads as (
      select c.segment_id, sum(m.cost) as spend, sum(m.clicks) as clicks,
             sum(m.impressions) as impressions, sum(m.conversions) as conversions
        from public.campaign_daily_metrics m
        join public.lead_segment_campaigns c on c.customer_id = m.customer_id and c.campaign_id = m.campaign_id
       where m.date = p_date
       group by c.segment_id
    ), rows as (
      select s.id as segment_id,
             coalesce(dl.generated, 0) as generated, coalesce(dl.accepted, 0) as accepted,
             coalesce(dl.rejected, 0) as rejected, coalesce(dl.pending, 0) as pending,
             coalesce(da.spend, 0) as spend, coalesce(da.clicks, 0) as clicks,
             coalesce(da.impressions, 0) as impressions, coalesce(da.conversions, 0) as conversions,
             coalesce(cap.capacity_partners, 0) as capacity_partners,
             coalesce(cap.capacity_total_leads, 0) as capacity_total_leads
        from public.lead_segments s
        left join day_leads dl on dl.segment_id = s.id
        left join day_ads da on da.segment_id = s.id
        left join lead_flow.segment_capacities() cap on cap.segment_id = s.id
       where s.is_active
    )
    merge into public.lead_generation_stats t
    using (select r.*, round(r.spend / nullif(r.generated, 0), 2) as avg_cpl from rows r) r
       on t.segment_id = r.segment_id and t.date = p_date
     when matched and (t.leads_generated, t.leads_accepted, t.leads_rejected, t.leads_pending, t.avg_cpl,
                       t.google_ads_spend, t.google_ads_clicks, t.google_ads_impressions, t.google_ads_conversions,
                       t.capacity_partners, t.capacity_total_leads)
                      is distinct from
                      (r.generated, r.accepted, r.rejected, r.pending, r.avg_cpl, r.spend, r.clicks, r.impressions,
                       r.conversions, r.capacity_partners, r.capacity_total_leads) then
       update set leads_generated = r.generated, leads_accepted = r.accepted, leads_rejected = r.rejected,
                  leads_pending = r.pending, avg_cpl = r.avg_cpl, google_ads_spend = r.spend,
                  google_ads_clicks = r.clicks, google_ads_impressions = r.impressions,
                  google_ads_conversions = r.conversions, capacity_partners = r.capacity_partners,
                  capacity_total_leads = r.capacity_total_leads
     when not matched then
       insert (segment_id, date, leads_generated, leads_accepted, leads_rejected, leads_pending, avg_cpl,
               google_ads_spend, google_ads_clicks, google_ads_impressions, google_ads_conversions,
               capacity_partners, capacity_total_leads)
       values (r.segment_id, p_date, r.generated, r.accepted, r.rejected, r.pending, r.avg_cpl, r.spend, r.clicks,
               r.impressions, r.conversions, r.capacity_partners, r.capacity_total_leads);
    get diagnostics v_rows = row_count;
    return v_rows;
  end
  $$;
comment on function lead_flow.aggregate_lead_stats(date) is
  'Nightly step 1: writes (inserts or updates) one lead_generation_stats row per active segment for '
  'Amsterdam day p_date (lead counts by status, Google Ads spend/clicks/impressions/conversions, capacity '
  'as of now, avg_cpl = spend / leads or NULL), zeros where nothing happened. Assigns unassigned leads of the day '
  'first; reads only that day''s leads. Idempotent; returns the number of rows inserted or changed.';
revoke all on function lead_flow.aggregate_lead_stats(date) from public, anon, authenticated;
grant execute on function lead_flow.aggregate_lead_stats(date) to service_role;
