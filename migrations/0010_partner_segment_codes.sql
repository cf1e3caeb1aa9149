-- Capacity per segment without normalizing every partner's profile arrays on every read: the segment
-- codes each partner's profile names (its branches x its regions, any spelling), kept current by
-- triggers on profiles and the region reference (sql/30_capacity.sql), recomputed whole after every
-- migrate. lead_flow.partner_segment_matches reads it; one segment's capacity becomes an index probe.
-- depends: 0002_platform_baseline

create table lead_flow.partner_segment_codes (
  partner_id uuid not null references public.profiles (id) on delete cascade on update cascade,
  code text not null,
  primary key (partner_id, code)
);
comment on table lead_flow.partner_segment_codes is
  'Per partner, the segment codes (branch_region) its profile arrays name after normalization; derived '
  'from profiles by lead_flow.refresh_partner_segment_codes(), never edited by hand.';
create index partner_segment_codes_code_idx on lead_flow.partner_segment_codes (code, partner_id);
-- Derived from private profile data: back-end roles only (capacity reaches users as aggregates).
grant select on lead_flow.partner_segment_codes to service_role;
