-- A day's untrusted capacity (declared - trusted of the partners planning does not trust in full yet)
-- is read from that day's rows (issue 17): at 100,000 segments the plan step looked up 200,000
-- partners' latest stored figure and matched every one to its segments, ~1.2 s a night, to find the
-- few whose figure is below what they declare. From now on record_capacity_trust (sql/35) stores a
-- row for such a partner on every planned day, not only when its figure changes, and
-- lead_flow.segment_untrusted_capacities (sql/35) reads that day's rows of them and only their
-- matches; it replaces segment_trusted_capacities, whose declared and trusted sums nothing read.
--
-- The rows stored so far hold such a row already wherever the figure moved (a ramp moves it every
-- night); where it stood still below the declared figure (a ramp set to nothing, no evidence), each
-- planned day after the row gets a copy of it, up to the partner's next row (one pass, here, once).
-- Lead Flow's own tables (no lead insert waits for them). Until sql/ re-creates lead_gaps in the same
-- migrate (seconds, once), a plan step would fail and can be re-run, as after migration 0095.
-- depends: 0086_capacity_trust_on_change

insert into lead_flow.partner_capacity_trust
  (partner_id, date, declared_leads, trusted_leads, previous_leads, accepted_leads_30d, confirmed_leads, counted)
select r.partner_id, d.date, r.declared_leads, r.trusted_leads, r.trusted_leads, r.accepted_leads_30d,
       r.confirmed_leads, true
  from (select t.*, lead(t.date) over (partition by t.partner_id order by t.date) as next_date
          from lead_flow.partner_capacity_trust t) r
  join lead_flow.capacity_trust_days d on d.date > r.date and (r.next_date is null or d.date < r.next_date)
 where r.counted and r.trusted_leads < r.declared_leads
on conflict (partner_id, date) do nothing;

drop function if exists lead_flow.segment_trusted_capacities(date, uuid);
