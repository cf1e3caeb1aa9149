-- The tables the night appends to keep their uuid primary keys, but new ids are time-ordered (the
-- UUID version 7 layout: 48 bits of Unix milliseconds, then random bits) instead of random (version 4).
-- Why (issue 17, 365 days of history): every night adds one row per segment (lead_generation_stats,
-- lead_segment_plans, and a budget change in channel_orchestration_log for nearly every one) or per
-- partner and segment (partner_lead_gaps). A random id puts each of those
-- rows on a different leaf page of the primary key's index, so the night read and dirtied ~10,000
-- pages spread over an index that grows with the history (121 MB at 10,000 segments x 365 days,
-- more than the 128 MB of shared_buffers together with the rest); a time-ordered id appends the night's
-- entries at the index's right edge, a few hundred pages written once, the same whatever the history.
-- Nothing orders or looks up these tables by id beyond equality (the change log orders by it only to
-- break ties after created_at: the worker's claim order within one night's changes, which share
-- created_at); ids stay unique uuids. Existing rows
-- keep their ids (new ones sort among the random ones that begin with the same 48 bits, a narrow band
-- of the key space, appended there).
-- The default is an expression, not a function: evaluated for every row written (100,000 a night at
-- 100,000 segments), a SQL function with a fixed search_path is not inlined and costs a call each.
-- Changing a default rewrites nothing; the ACCESS EXCLUSIVE lock is held for a catalog update on
-- Lead Flow's own tables (the change log is the worker's queue: it waits a moment), which no lead
-- insert writes.
-- depends: 0003_lead_flow_tables 0008_partner_marketing

alter table public.lead_generation_stats
  alter column id set default encode(set_byte(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6),
    6, 112 + floor(random() * 16)::integer), 'hex')::uuid;

alter table public.lead_segment_plans
  alter column id set default encode(set_byte(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6),
    6, 112 + floor(random() * 16)::integer), 'hex')::uuid;

alter table public.partner_lead_gaps
  alter column id set default encode(set_byte(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6),
    6, 112 + floor(random() * 16)::integer), 'hex')::uuid;

alter table public.channel_orchestration_log
  alter column id set default encode(set_byte(overlay(uuid_send(gen_random_uuid())
    placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6),
    6, 112 + floor(random() * 16)::integer), 'hex')::uuid;
