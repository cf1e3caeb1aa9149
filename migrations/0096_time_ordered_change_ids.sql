-- channel_orchestration_log gets time-ordered ids (the UUID version 7 layout of 0085: 48 bits of Unix
-- milliseconds, then random bits) instead of random ones (version 4), for the reason 0085 gives for
-- the other tables the night appends to: orchestrate_budgets adds a change row for nearly every
-- segment each night (~94,000 at 100,000 segments), and a random id put each of them on a different
-- leaf page of a primary key that grows with the history (a year of nights: ~34 million rows); a
-- time-ordered id appends the night's entries at the index's right edge. The log is looked up by id
-- only for equality, and ordered by it only to break ties after created_at (the worker's claim order
-- within one night's changes, which all share created_at). Existing rows keep their ids.
-- Changing a default rewrites nothing; the ACCESS EXCLUSIVE lock is held for a catalog update on
-- Lead Flow's own queue table, which no lead insert writes.
-- depends: 0085_time_ordered_night_ids

alter table public.channel_orchestration_log
  alter column id set default encode(set_byte(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6),
    6, 112 + floor(random() * 16)::integer), 'hex')::uuid;
