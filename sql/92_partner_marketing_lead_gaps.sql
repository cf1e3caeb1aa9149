-- Partner marketing: partner_lead_gaps, the nightly pipeline's step partner_lead_gaps
-- (lead_flow.pipeline_steps, migration 0025: 04:00 Europe/Amsterdam of D + 1, after aggregate).
-- Set-based: one statement plans every partner and segment for day D.

create or replace trigger tg_partner_lead_gaps__touch_updated_at
  before update on public.partner_lead_gaps
  for each row execute function lead_flow.tg_touch_updated_at();

-- Partner lead stats and demand planning: per partner and matched segment, the target (the
-- partner's max_open_leads spread over its segments by priority weight), the platform leads
-- (assigned to it, not from its own campaigns), its own-campaign leads, and gap = target - actual.
-- jit off and work_mem: as the other nightly steps (40_stats.sql) -- at 100,000 segments the
-- statement's cost passes jit_above_cost, and compiling costs more than it saves in a statement of a
-- second; the matches' hash tables (two rows per partner) fit in memory instead of spilling.
-- One statement: the pairs no longer matched are deleted from the same matches the merge reads (a
-- second statement computed partner_segment_matches again and read back the day's rows it had just
-- written; the delete sees the rows as they were before the statement, the only ones it can remove).
-- MERGE, as write_plans (sql/50): the night's new rows are plain inserts, not a speculative insertion
-- each (0.2-0.4 s of ~5 s at 218,000 rows); runs of the step take turns on the advisory lock, since
-- another run's insert of the same row would fail a MERGE on the unique key.
create or replace function lead_flow.plan_partner_lead_gaps(p_date date) returns integer
  language plpgsql volatile set search_path = '' set jit = off set work_mem = '64MB'
  as $$
  declare
    v_rows integer;
    v_t0 timestamptz := p_date::timestamp at time zone 'Europe/Amsterdam';
    v_t1 timestamptz := (p_date + 1)::timestamp at time zone 'Europe/Amsterdam';
  begin
    if p_date is null then
      raise exception 'a date is required' using errcode = '22023';
    end if;
    perform pg_advisory_xact_lock(hashtextextended('lead_flow.plan_partner_lead_gaps', 0));
    with matched as (
      select m.partner_id, m.segment_id, coalesce(ps.priority, 1) as weight
        from lead_flow.partner_segment_matches m
        left join public.partner_segments ps
          on ps.partner_id = m.partner_id and ps.segment_id = m.segment_id and ps.is_active
    ), targets as (
      select x.partner_id, x.segment_id,
             round(p.max_open_leads * x.weight::numeric / sum(x.weight) over (partition by x.partner_id), 2) as target
        from matched x
        join public.profiles p on p.id = x.partner_id
    ), day_leads as (
      select l.id, l.user_id, l.segment_id, l.source_campaign_id
        from public.leads l
       where l.created_at >= v_t0 and l.created_at < v_t1
    ), own as (
      select c.partner_id, coalesce(d.segment_id, c.segment_id) as segment_id, count(distinct d.id) as n
        from day_leads d
        join public.partner_marketing_campaigns c on c.external_campaign_id = d.source_campaign_id
       group by 1, 2
    ), platform as (
      select d.user_id as partner_id, d.segment_id, count(*) as n
        from day_leads d
       where d.user_id is not null and d.segment_id is not null
         and not exists (select from public.partner_marketing_campaigns c
                          where c.partner_id = d.user_id and c.external_campaign_id = d.source_campaign_id)
       group by 1, 2
    ), gone as (   -- a partner that no longer serves a segment has no gap there that day
      delete from public.partner_lead_gaps g
       where g.date = p_date
         and not exists (select from matched x where x.partner_id = g.partner_id and x.segment_id = g.segment_id)
    )
    merge into public.partner_lead_gaps g
    using (select t.partner_id, t.segment_id, t.target, coalesce(pl.n, 0) as platform, coalesce(o.n, 0) as own
             from targets t
             left join platform pl on pl.partner_id = t.partner_id and pl.segment_id = t.segment_id
             left join own o on o.partner_id = t.partner_id and o.segment_id = t.segment_id) x
       on g.partner_id = x.partner_id and g.segment_id = x.segment_id and g.date = p_date
     when matched and (g.target_leads, g.platform_leads, g.own_campaign_leads, g.lead_gap)
                      is distinct from (x.target, x.platform, x.own, x.target - x.platform - x.own) then
       update set target_leads = x.target, platform_leads = x.platform, own_campaign_leads = x.own,
                  lead_gap = x.target - x.platform - x.own
     when not matched then
       insert (partner_id, segment_id, date, target_leads, platform_leads, own_campaign_leads, lead_gap)
       values (x.partner_id, x.segment_id, p_date, x.target, x.platform, x.own, x.target - x.platform - x.own);
    get diagnostics v_rows = row_count;
    return v_rows;
  end
  $$;
comment on function lead_flow.plan_partner_lead_gaps(date) is
  'Writes partner_lead_gaps for Amsterdam day p_date (inserts new rows, updates changed ones, one run at a time) for every partner x matched segment in one statement (target by priority weight, platform vs own-campaign leads, gap); drops rows of pairs no longer matched. Idempotent.';
revoke all on function lead_flow.plan_partner_lead_gaps(date) from public, anon, authenticated;
