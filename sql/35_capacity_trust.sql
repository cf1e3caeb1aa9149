-- Trust in declared capacity (issue 16): the capacity that drives planning, and so the ad spend, is
-- bounded by evidence; the declared capacity (sum of max_open_leads, sql/30) stays what partners and
-- the API show.
--
-- Per partner and planned day D (lead_flow.partner_capacity_trust_for):
--   trusted(D) = declared                                   for a partner without a trusted figure yet
--                                                            (the first night, or newly activated for
--                                                            routing, which only the platform can do)
--              = least(declared, greatest(
--                    previous + greatest(ceil(previous x capacity_trust_ramp_percentage),
--                                        capacity_trust_ramp_min_leads),     the ramp (+25% or +2 a night)
--                    ceil(leads accepted in 30 days x capacity_trust_evidence_factor),   the evidence
--                    the latest admin confirmation))                         confirm_partner_capacity
--   previous = the partner's trusted figure of the latest planned day before D. A lower declared
--   value counts at once.
-- Planning (sql/50, lead_gaps) subtracts each segment's untrusted part (declared - trusted of its
-- partners) from the capacity it plans with. The plan step stores D's figures
-- (record_capacity_trust) so D + 1 ramps from them; re-running D reads only days before D. They are
-- stored as changes (migration 0086): a partner's figure for a planned day is its latest row on or
-- before it (a counted = false row: none), and lead_flow.capacity_trust_days lists the planned days.
-- A partner not yet trusted in full (trusted < declared) has a row on every planned day (migration
-- 0098): a day's untrusted capacity is that day's rows, read without a lookup per partner.
-- previous is the figure stored for the latest planned day before D: a partner the platform had
-- switched off (not routing, nothing declared: no figure) counts its declared capacity on its return.
-- Every change of max_open_leads is logged by tg_profiles__log_capacity_change (its trigger is
-- migration 0050's); a large raise is an alert (sql/85_alerts.sql) until an admin confirms it.

-- The trigger (after update of max_open_leads, only when it changed: migration 0050) logs who, when,
-- from and to. It must never fail the platform's profile update: an error is caught and written to
-- lead_flow_logs instead. SECURITY DEFINER: a partner editing its own profile cannot write the log.
create or replace function lead_flow.tg_profiles__log_capacity_change() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    begin
      insert into lead_flow.partner_capacity_changes (partner_id, changed_by, changed_by_role, from_leads, to_leads)
      values (new.id, lead_flow.jwt_user_id(), lead_flow.caller_role(), old.max_open_leads, new.max_open_leads);
    exception when others then
      perform lead_flow.log('error',
                            format('could not log the capacity change of partner %s (%s -> %s): %s',
                                   new.id, old.max_open_leads, new.max_open_leads, sqlerrm),
                            jsonb_build_object('partner_id', new.id, 'from_leads', old.max_open_leads,
                                               'to_leads', new.max_open_leads, 'sqlstate', sqlstate));
    end;
    return null;
  end
  $$;
comment on function lead_flow.tg_profiles__log_capacity_change() is
  'After a profile''s max_open_leads changed: appends partner, time, user id and role, from and to to '
  'lead_flow.partner_capacity_changes. Never raises: a failure is written to lead_flow_logs instead.';
revoke all on function lead_flow.tg_profiles__log_capacity_change() from public, anon, authenticated;

-- The trusted capacity of the given partners (NULL: every partner that is active for routing or
-- declares capacity, admins excepted) for planned day p_date, from the figures stored for the latest
-- planned day before it (a partner without a figure that day: none before). One statement, hash joins.
-- partner_capacity_trust_for's rows with the partner's declared figure of that day beside previous
-- (previous_declared), which record_capacity_trust compares with to store changes only; one formula.
create or replace function lead_flow.partner_capacity_trust_with_previous(p_date date, p_partner_ids uuid[] default null)
  returns table (partner_id uuid, declared_leads integer, trusted_leads integer, previous_leads integer,
                 accepted_leads_30d integer, confirmed_leads integer, previous_declared integer)
  language sql stable set search_path = ''
  as $$
    with cfg as materialized (
      select greatest(coalesce((ss.settings ->> 'capacity_trust_ramp_percentage')::numeric, 0), 0) as ramp_share,
             greatest(coalesce((ss.settings ->> 'capacity_trust_ramp_min_leads')::numeric, 0), 0) as ramp_min,
             greatest(coalesce((ss.settings ->> 'capacity_trust_evidence_factor')::numeric, 0), 0) as factor
        from lead_flow.segment_settings ss
       where ss.segment_id is null
       limit 1   -- its one row (the global values), planned as one: no materialized copy of every partner
    ), confirmed as (   -- each partner's latest confirmation (a small table)
      select distinct on (c.partner_id) c.partner_id, c.confirmed_leads
        from lead_flow.partner_capacity_confirmations c
       order by c.partner_id, c.confirmed_at desc, c.id desc
    ), last_day as materialized (   -- the previous planned day (NULL: none)
      select max(d.date) as d from lead_flow.capacity_trust_days d where d.date < p_date
    ), facts as (
      select p.id, greatest(p.max_open_leads, 0) as declared,
             case when prev.counted then prev.trusted_leads end as previous,
             case when prev.counted then prev.declared_leads end as previous_declared,
             coalesce(pps.leads_accepted_30d, 0)::integer as accepted, conf.confirmed_leads as confirmed
        from public.profiles p
        cross join last_day ld
        -- its figure for that day: its latest row on or before it (rows are stored on change)
        left join lateral (select t.counted, t.trusted_leads, t.declared_leads from lead_flow.partner_capacity_trust t
                            where t.partner_id = p.id and t.date <= ld.d
                            order by t.date desc limit 1) prev on true
        left join confirmed conf on conf.partner_id = p.id
        left join public.partner_performance_stats pps on pps.partner_id = p.id
       where not p.is_admin and (p.is_active_for_routing or p.max_open_leads > 0)
         and (p_partner_ids is null or p.id = any (p_partner_ids))
    )
    select f.id, f.declared,
           -- previous at or above declared: declared, which the formula gives too; spelled out so that
           -- the ~98% of partners trusted in full skip its numeric steps (~0.1 s at 200,000 partners)
           case when f.previous is null or f.previous >= f.declared then f.declared
                else least(f.declared,
                           ceil(greatest(f.previous + greatest(ceil(f.previous * c.ramp_share), c.ramp_min),
                                         ceil(f.accepted * c.factor),
                                         coalesce(f.confirmed, 0))))::integer end,
           f.previous, f.accepted, f.confirmed, f.previous_declared
      from facts f
     cross join cfg c
  $$;
comment on function lead_flow.partner_capacity_trust_with_previous(date, uuid[]) is
  'partner_capacity_trust_for''s rows and previous_declared: the declared figure stored with previous (NULL '
  'where previous is NULL).';
revoke all on function lead_flow.partner_capacity_trust_with_previous(date, uuid[]) from public, anon, authenticated;

create or replace function lead_flow.partner_capacity_trust_for(p_date date, p_partner_ids uuid[] default null)
  returns table (partner_id uuid, declared_leads integer, trusted_leads integer, previous_leads integer,
                 accepted_leads_30d integer, confirmed_leads integer)
  language sql stable set search_path = ''
  as $$
    select w.partner_id, w.declared_leads, w.trusted_leads, w.previous_leads, w.accepted_leads_30d, w.confirmed_leads
      from lead_flow.partner_capacity_trust_with_previous(p_date, p_partner_ids) w
  $$;
comment on function lead_flow.partner_capacity_trust_for(date, uuid[]) is
  'Per partner (the given ones, or all that are active for routing or declare capacity; never admins): declared '
  'max_open_leads and the part planning trusts for day p_date: declared for a partner without an earlier figure, '
  'else least(declared, greatest(previous + max(ceil(previous x ramp %), ramp min), ceil(accepted in 30 days x '
  'evidence factor), the latest admin confirmation)). previous: the figure stored for the latest planned day '
  'before p_date.';
revoke all on function lead_flow.partner_capacity_trust_for(date, uuid[]) from public, anon, authenticated;
grant execute on function lead_flow.partner_capacity_trust_for(date, uuid[]) to service_role;

-- Stores day p_date's trusted figures (the plan step calls it first), so day p_date + 1 ramps from
-- them, as changes (migration 0086): a row for a partner whose declared or trusted capacity differs
-- from its figure for the previous planned day (or that was not counted then) or that is not trusted
-- in full (migration 0098: segment_untrusted_capacities reads those by day), a counted = false row
-- for a partner counted then and no longer now; nothing for the rest, which keep their figure. A
-- partner's figure for planned day X is its latest row on or before X (when it counts it).
-- Idempotent: a re-run inserts, updates and deletes p_date's rows to what they should be. Re-running a
-- day with planned days after it first pins, on the next planned day, the figure each partner had
-- there, where p_date's change would otherwise alter it (as before: later days keep what they had).
-- Returns rows changed.
create or replace function lead_flow.record_capacity_trust(p_date date) returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_rows integer;
    v_last date;
    v_next date;
  begin
    if p_date is null then
      raise exception 'record_capacity_trust needs a date' using errcode = '22023';
    end if;
    select max(d.date) into v_last from lead_flow.capacity_trust_days d where d.date < p_date;
    select min(d.date) into v_next from lead_flow.capacity_trust_days d where d.date > p_date;
    if v_next is not null then
      with wanted as materialized (
        select w.partner_id, w.declared_leads, w.trusted_leads
          from lead_flow.partner_capacity_trust_for(p_date, null) w
      ), old as (   -- each partner's figure for the next planned day as stored (none: not counted)
        select p.id as partner_id, b.declared_leads, b.trusted_leads, b.previous_leads, b.accepted_leads_30d,
               b.confirmed_leads, b.date
          from public.profiles p
          join lateral (select t.* from lead_flow.partner_capacity_trust t
                         where t.partner_id = p.id and t.date <= v_next
                         order by t.date desc limit 1) b on b.counted
      ), changed as (   -- the figure p_date's rows will give it there, where that differs and it has no row
        select coalesce(o.partner_id, w.partner_id) as partner_id, o.partner_id is not null as counted,
               coalesce(o.declared_leads, 0) as declared_leads, coalesce(o.trusted_leads, 0) as trusted_leads,
               o.previous_leads, coalesce(o.accepted_leads_30d, 0) as accepted_leads_30d, o.confirmed_leads
          from old o
          full join wanted w on w.partner_id = o.partner_id
         where (o.declared_leads, o.trusted_leads) is distinct from (w.declared_leads, w.trusted_leads)
           and (o.date is null or o.date <= p_date)
      )
      insert into lead_flow.partner_capacity_trust
        (partner_id, date, declared_leads, trusted_leads, previous_leads, accepted_leads_30d, confirmed_leads, counted)
      select c.partner_id, v_next, c.declared_leads, c.trusted_leads, c.previous_leads, c.accepted_leads_30d,
             c.confirmed_leads, c.counted
        from changed c
      on conflict (partner_id, date) do nothing;
    end if;
    insert into lead_flow.capacity_trust_days (date) values (p_date) on conflict (date) do nothing;

    with wanted as materialized (   -- with each partner's figure for the previous planned day
      select w.* from lead_flow.partner_capacity_trust_with_previous(p_date, null) w
    ), desired as (
      select w.partner_id, true as counted, w.declared_leads, w.trusted_leads, w.previous_leads,
             w.accepted_leads_30d, w.confirmed_leads
        from wanted w
       where (w.previous_declared, w.previous_leads) is distinct from (w.declared_leads, w.trusted_leads)
          or w.trusted_leads < w.declared_leads   -- not trusted in full: a row every planned day
      union all   -- counted then, no longer now (admins and partners switched off are not in wanted)
      select p.id, false, 0, 0, null::integer, 0, null::integer
        from public.profiles p
        join lateral (select t.counted from lead_flow.partner_capacity_trust t
                       where t.partner_id = p.id and t.date <= v_last
                       order by t.date desc limit 1) b on b.counted
       where not exists (select from wanted w where w.partner_id = p.id)
    ), gone as (   -- p_date's rows no longer wanted (a re-run): a set difference, hashed, where an
                   -- anti join planned for the one row the statistics expect of a new day compared
                   -- every row with every wanted one (4,000 x 4,000 at 100,000 segments: seconds)
      delete from lead_flow.partner_capacity_trust t
       using (select x.partner_id from lead_flow.partner_capacity_trust x where x.date = p_date
              except
              select d.partner_id from desired d) g
       where t.partner_id = g.partner_id and t.date = p_date
      returning 1
    ), put as (
      insert into lead_flow.partner_capacity_trust as t
        (partner_id, date, declared_leads, trusted_leads, previous_leads, accepted_leads_30d, confirmed_leads, counted)
      select d.partner_id, p_date, d.declared_leads, d.trusted_leads, d.previous_leads, d.accepted_leads_30d,
             d.confirmed_leads, d.counted
        from desired d
      on conflict (partner_id, date) do update
         set declared_leads = excluded.declared_leads, trusted_leads = excluded.trusted_leads,
             previous_leads = excluded.previous_leads, accepted_leads_30d = excluded.accepted_leads_30d,
             confirmed_leads = excluded.confirmed_leads, counted = excluded.counted
       where (t.declared_leads, t.trusted_leads, t.previous_leads, t.accepted_leads_30d, t.confirmed_leads, t.counted)
             is distinct from
             (excluded.declared_leads, excluded.trusted_leads, excluded.previous_leads, excluded.accepted_leads_30d,
              excluded.confirmed_leads, excluded.counted)
      returning 1
    )
    select ((select count(*) from gone) + (select count(*) from put))::integer into v_rows;
    return v_rows;
  end
  $$;
comment on function lead_flow.record_capacity_trust(date) is
  'Stores the partners'' trusted capacity for planned day p_date (partner_capacity_trust_for) in '
  'lead_flow.partner_capacity_trust where it changed since the previous planned day (counted = false for a '
  'partner no longer counted), and lists p_date in lead_flow.capacity_trust_days; a partner''s figure for a day '
  'is its latest row on or before it. Idempotent; returns the rows inserted, updated or deleted.';
revoke all on function lead_flow.record_capacity_trust(date) from public, anon, authenticated;
grant execute on function lead_flow.record_capacity_trust(date) to service_role;

-- Per segment (all active ones, or one): the part of its matched partners' declared capacity that
-- planning does not trust yet (declared - trusted, summed), which planning subtracts from the segment's
-- capacity. Only partners not trusted in full add to it, so only they are read: for a day the plan step
-- has recorded, that day's rows of them (record_capacity_trust stores one for each such partner every
-- planned day), else computed (partner_capacity_trust_for); then only their matches. A segment none of
-- whose partners has untrusted capacity has no row. SECURITY DEFINER as segment_capacities (profiles
-- are private; these are aggregates). jit off: as segment_capacities.
create or replace function lead_flow.segment_untrusted_capacities(p_date date, p_segment_id uuid default null)
  returns table (segment_id uuid, untrusted_leads integer)
  language sql stable security definer set search_path = '' set jit = off
  as $$
    with recorded as materialized (
      select exists (select from lead_flow.capacity_trust_days d where d.date = p_date) as yes
    ), untrusted as materialized (
      select t.partner_id, t.declared_leads - t.trusted_leads as leads
        from lead_flow.partner_capacity_trust t
       where t.date = p_date and t.counted and t.trusted_leads < t.declared_leads
         and (select r.yes from recorded r)
      union all
      select c.partner_id, c.declared_leads - c.trusted_leads
        from lead_flow.partner_capacity_trust_for(
               p_date, case when p_segment_id is not null
                            then array(select m.partner_id from lead_flow.partner_segment_matches m
                                        where m.segment_id = p_segment_id) end) c
       where not (select r.yes from recorded r) and c.trusted_leads < c.declared_leads
    )
    -- Each such partner's matches by its id (index probes into both branches of the view; offset 0
    -- keeps them so): joined as tables, the planner may hash every partner's matches for a few
    -- (at 100,000 segments 0.9 s for 4,000 partners, against 0.05 s this way).
    select m.segment_id, sum(u.leads)::integer
      from untrusted u
      cross join lateral (select x.segment_id from lead_flow.partner_segment_matches x
                           where x.partner_id = u.partner_id offset 0) m
      join public.lead_segments s on s.id = m.segment_id
     where (p_segment_id is null and s.is_active) or m.segment_id = p_segment_id
     group by m.segment_id
  $$;
comment on function lead_flow.segment_untrusted_capacities(date, uuid) is
  'Per active segment (or the one given) whose matched partners are not all trusted in full: the sum of their '
  'declared max_open_leads minus their trusted capacity for planned day p_date (as stored by the plan step, else '
  'computed), the untrusted part planning leaves out. No row: nothing untrusted.';
revoke all on function lead_flow.segment_untrusted_capacities(date, uuid) from public, anon, authenticated;
grant execute on function lead_flow.segment_untrusted_capacities(date, uuid) to service_role;

-- Admins: every partner's declared and trusted capacity (what tonight's plan will trust: the figure for
-- today, from the stored figures before it), its evidence and its confirmation. No rows for others.
create or replace function lead_flow.api_partner_capacity_trust()
  returns table (partner_id uuid, company_name text, declared_leads integer, trusted_leads integer,
                 previous_leads integer, accepted_leads_30d integer, confirmed_leads integer,
                 confirmed_by uuid, confirmed_at timestamptz, confirmation_comment text,
                 last_change_at timestamptz)
  language plpgsql stable security definer set search_path = ''
  as $$
  #variable_conflict use_column
  begin
    perform lead_flow.api_require_admin('partner_capacity_trust');
    return query
    select t.partner_id, p.company_name, t.declared_leads, t.trusted_leads, t.previous_leads,
           t.accepted_leads_30d, t.confirmed_leads, c.confirmed_by, c.confirmed_at, c.comment, ch.changed_at
      from lead_flow.partner_capacity_trust_for(lead_flow.local_day(now()), null) t
      join public.profiles p on p.id = t.partner_id
      left join lateral (select k.confirmed_by, k.confirmed_at, k.comment
                           from lead_flow.partner_capacity_confirmations k
                          where k.partner_id = t.partner_id
                          order by k.confirmed_at desc, k.id desc limit 1) c on true
      left join lateral (select max(x.changed_at) as changed_at
                           from lead_flow.partner_capacity_changes x where x.partner_id = t.partner_id) ch on true;
  end
  $$;
comment on function lead_flow.api_partner_capacity_trust() is
  'Admins and the back end: per partner the declared capacity, the part tonight''s plan trusts, the previous '
  'trusted figure, leads accepted in 30 days, the latest confirmation and the last change; 42501 for others.';
revoke all on function lead_flow.api_partner_capacity_trust() from public, anon, authenticated;
grant execute on function lead_flow.api_partner_capacity_trust() to authenticated, service_role;

-- Admins: the log of declared capacity changes, newest first. 42501 for others.
create or replace function lead_flow.api_partner_capacity_changes()
  returns table (id bigint, partner_id uuid, company_name text, changed_at timestamptz, changed_by uuid,
                 changed_by_role text, from_leads integer, to_leads integer)
  language plpgsql stable security definer set search_path = ''
  as $$
  #variable_conflict use_column
  begin
    perform lead_flow.api_require_admin('partner_capacity_changes');
    return query
    select c.id, c.partner_id, p.company_name, c.changed_at, c.changed_by, c.changed_by_role, c.from_leads, c.to_leads
      from lead_flow.partner_capacity_changes c
      left join public.profiles p on p.id = c.partner_id
     order by c.changed_at desc, c.id desc;
  end
  $$;
comment on function lead_flow.api_partner_capacity_changes() is
  'Admins and the back end: every logged change of a partner''s max_open_leads (who, when, from, to), newest '
  'first; 42501 for others.';
revoke all on function lead_flow.api_partner_capacity_changes() from public, anon, authenticated;
grant execute on function lead_flow.api_partner_capacity_changes() to authenticated, service_role;

-- An admin confirms that a partner can take p_leads open leads (at most what it declares now):
-- planning trusts its declared capacity up to that at once, from the next plan on.
create or replace function lead_flow.confirm_partner_capacity(p_partner_id uuid, p_leads integer, p_comment text)
  returns bigint
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_profile public.profiles;
    v_comment text := nullif(btrim(p_comment), '');
    v_id bigint;
  begin
    perform lead_flow.api_require_admin('confirm_partner_capacity');
    if p_partner_id is null then
      raise exception 'partner_id is required' using errcode = '22023';
    end if;
    select * into v_profile from public.profiles p where p.id = p_partner_id;
    if not found or v_profile.is_admin then
      raise exception 'unknown partner %', p_partner_id using errcode = '22023',
        hint = 'partner_capacity_trust lists the partners';
    end if;
    if p_leads is null or p_leads < 0 or p_leads > v_profile.max_open_leads then
      raise exception 'max_open_leads must be between 0 and what the partner declares now (%), got %',
        v_profile.max_open_leads, coalesce(p_leads::text, 'nothing') using errcode = '22023';
    end if;
    perform lead_flow.api_check_length('comment', v_comment, 1000);
    insert into lead_flow.partner_capacity_confirmations (partner_id, confirmed_leads, confirmed_by, confirmed_by_role, comment)
    values (p_partner_id, p_leads, lead_flow.jwt_user_id(), lead_flow.caller_role(), v_comment)
    returning id into v_id;
    return v_id;
  end
  $$;
comment on function lead_flow.confirm_partner_capacity(uuid, integer, text) is
  'Admins and the back end: records that a partner can take p_leads open leads (0 up to its declared '
  'max_open_leads), so planning trusts its declared capacity up to that at once. Returns the confirmation id; '
  '22023 for an unknown partner or a value outside 0..declared, 42501 for others.';
revoke all on function lead_flow.confirm_partner_capacity(uuid, integer, text) from public, anon, authenticated;
grant execute on function lead_flow.confirm_partner_capacity(uuid, integer, text) to authenticated, service_role;
