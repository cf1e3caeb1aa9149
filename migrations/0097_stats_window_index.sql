-- The night's windows over lead_generation_stats (plan: 28 days of leads per segment for the
-- forecast; orchestrate: 28 days of spend and leads for the cost per lead) read a slice of the
-- table by date and use two of its twenty columns. From the heap that slice is the whole width of
-- every row (at 100,000 segments plan read ~980 MB into shared buffers, issue 17); from an index on
-- (date, segment_id) that carries the two columns it is an index-only scan of about a seventh of
-- that. The new index has the keys of the one it replaces (migration 0011), so it serves the same
-- lookups by date and by (date, segment_id).
-- An index-only scan skips the heap only on pages the visibility map marks all-visible, which on an
-- insert-mostly table is autovacuum's insert trigger: by default after 20% of the table is new,
-- about 12 nights at 100,000 segments x 60 days. After each night's ~1,000 or more new rows here
-- instead: the next step runs an hour later (lead_flow.pipeline_steps), and a vacuum of only the
-- pages not yet all-visible is small.
-- Lead Flow's own table, written by the night's aggregate step only: the index build holds off that
-- step's writes (SHARE lock), never a lead insert; the storage setting takes a lock that blocks no
-- reader or writer of rows.
-- depends: 0011_stats_date_segment_index

create index lead_generation_stats_date_segment_window_idx
  on public.lead_generation_stats (date, segment_id) include (leads_generated, google_ads_spend);
drop index public.lead_generation_stats_date_segment_idx;

alter table public.lead_generation_stats
  set (autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000);
