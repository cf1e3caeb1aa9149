-- A lookup for the lead trigger: industry x region -> its active segment, so assigning a lead is one
-- index probe (instead of industries + lead_segments and a branch normalization per lead). Derived
-- data: sql/20_segments.sql rebuilds it on every apply and keeps it current with triggers on
-- industries and lead_segments; the trigger falls back to the segment code when a row is missing.
-- depends: 0004_postcode_regions

create table lead_flow.industry_segments (
  industry_id uuid not null references public.industries (id) on delete cascade,
  region text not null,
  segment_id uuid not null references public.lead_segments (id) on delete cascade,
  primary key (industry_id, region)
);
create index industry_segments_segment_id_idx on lead_flow.industry_segments (segment_id);
alter table lead_flow.industry_segments enable row level security;
