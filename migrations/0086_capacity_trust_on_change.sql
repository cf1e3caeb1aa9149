-- Trusted capacity is stored when it changes, not every night for every partner (issue 17): at
-- 100,000 segments the plan step wrote 300,000 rows a night, 200,000 of them partners' trusted
-- capacity that was mostly the same as the night before.
--
-- From now on lead_flow.partner_capacity_trust holds a row for (partner, planned day D) only where
-- the partner's figure for D differs from its figure for the previous planned day (declared or
-- trusted capacity changed, or it was not counted then), and a row with counted = false where a
-- partner counted the previous planned day is no longer counted (not active for routing and nothing
-- declared). A partner's figure for planned day X is its latest row on or before X, when that row
-- counts it. The planned days themselves are listed in lead_flow.capacity_trust_days, so "the
-- previous planned day" stays what it was (the latest day the plan step recorded before D).
-- The rows stored so far (every counted partner on every planned day) read the same under this rule
-- once each gap is closed: where a partner was counted one planned day and had no row the next, that
-- next day gets a counted = false row (one pass over the table, here, once).
-- Lead Flow's own tables, written by the plan step only (no lead insert waits for them).
-- depends: 0050_capacity_trust

create table lead_flow.capacity_trust_days (
  date date primary key,
  recorded_at timestamptz not null default now()
);
comment on table lead_flow.capacity_trust_days is
  'The planned Amsterdam days for which the plan step recorded partners'' trusted capacity '
  '(record_capacity_trust); the previous planned day of D is the latest one before D.';
revoke all on lead_flow.capacity_trust_days from public, anon, authenticated;
grant select on lead_flow.capacity_trust_days to service_role;

insert into lead_flow.capacity_trust_days (date)
with recursive d as (   -- the distinct dates by the date index, one probe each
  (select t.date from lead_flow.partner_capacity_trust t order by t.date limit 1)
  union all
  select (select t.date from lead_flow.partner_capacity_trust t where t.date > d.date order by t.date limit 1)
    from d where d.date is not null
)
select d.date from d where d.date is not null;

alter table lead_flow.partner_capacity_trust add column counted boolean not null default true;
comment on column lead_flow.partner_capacity_trust.counted is
  'false: from this planned day on the partner is not counted (no trusted figure; declared and trusted 0).';

insert into lead_flow.partner_capacity_trust (partner_id, date, declared_leads, trusted_leads, counted)
select x.partner_id, x.next_day, 0, 0, false
  from (select t.partner_id, k.next_day,
               lead(t.date) over (partition by t.partner_id order by t.date) as next_row
          from lead_flow.partner_capacity_trust t
          join (select d.date, lead(d.date) over (order by d.date) as next_day
                  from lead_flow.capacity_trust_days d) k on k.date = t.date) x
 where x.next_day is not null and x.next_row is distinct from x.next_day;
