-- One segment's stats row for a day is found by (segment_id, date); the index on date alone made the
-- planner scan a whole day instead whenever that day was newer than the table's statistics (every
-- night's new day, until the next ANALYZE: the day is not among the most common values, so it is
-- estimated at one row). With segment_id second, the date index answers that lookup exactly too,
-- and still serves every query by date or date range.
-- depends: 0003_lead_flow_tables

create index lead_generation_stats_date_segment_idx on public.lead_generation_stats (date, segment_id);
drop index public.lead_generation_stats_date_idx;
