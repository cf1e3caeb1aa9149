-- The lead trigger makes its lookups itself (issue 14 guardrail: the CPU an insert pays for
-- assignment): lead_flow.tg_leads__assign_segment (sql/20_segments.sql) no longer calls
-- lead_flow.segment_for_lead, a second function with its own fixed search_path between the trigger
-- and the lookups, paid on every lead. So segment_for_lead goes.
-- The trigger function of the previous release calls it; until sql/ gives the trigger its new body
-- in the same migrate (a second or two, once), it is a stub that leaves a lead unassigned
-- (segment_id NULL) rather than one that fails every insert for want of segment_for_lead. The
-- nightly aggregate's assignment backfill (lead_flow.assign_segments_to_leads) assigns those leads.
-- Replacing a function takes no lock on leads.
-- depends: 0015_platform_triggers 0020_assignment_by_lookups

create or replace function lead_flow.tg_leads__assign_segment() returns trigger
  language plpgsql set search_path = ''
  as 'begin new.segment_id := null; return new; end';

drop function if exists lead_flow.segment_for_lead(uuid, uuid, text, text);
