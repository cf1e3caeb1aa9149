-- Segments and lead assignment: a lead's segment is its industry (the branch) x its region, i.e. the
-- segment whose code is '<branch>_<region>' (unique).
-- Lead creation never fails because of this: whatever goes wrong leaves segment_id NULL and a line
-- in lead_flow_logs.
-- Per lead the trigger evaluates one expression: lead_flow.segment_for_lead, generated with the
-- industry x region -> segment map baked in, and lead_flow.region_for (no table read); only a miss (no active segment yet) takes the slow path by code.

-- A branch as segments spell it: the industry name lower-cased, inner whitespace collapsed, trimmed.
create or replace function lead_flow.normalize_branch(p_name text) returns text
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  begin
    return nullif(btrim(regexp_replace(lower(left(p_name, 200)), '\s+', ' ', 'g')), '');
  end
  $$;
comment on function lead_flow.normalize_branch(text) is
  'Industry name -> segment branch (lower case, single spaces, trimmed); NULL for blank input.';

-- One side of a segment code: runs of anything but a-z and 0-9 become '_', trimmed at both ends.
create or replace function lead_flow.code_part(p_text text) returns text
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  begin
    return nullif(btrim(regexp_replace(left(p_text, 200), '[^a-z0-9]+', '_', 'g'), '_'), '');
  end
  $$;
comment on function lead_flow.code_part(text) is
  'A normalized branch or a region slug as it appears in a segment code (''dak- en gevel'' -> dak_en_gevel); NULL when nothing is left.';

-- The code a segment of this (normalized) branch and region has: for every valid segment the same
-- value as the generated column lead_segments.code (a branch has a letter or digit, a region slug
-- starts with a letter, so code_part(branch) || '_' || code_part(region) is what the column's
-- expression yields), so lookups by code use its unique index.
create or replace function lead_flow.segment_code(p_branch text, p_region text) returns text
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  begin
    return lead_flow.code_part(p_branch) || '_' || lead_flow.code_part(p_region);
  end
  $$;
comment on function lead_flow.segment_code(text, text) is
  'lead_segments.code for a normalized branch and a region slug (''schilder'', ''noord-brabant'' -> schilder_noord_brabant); NULL when either has no letter or digit.';

-- True when a normalized branch may become a segment (the lead_segments check constraint's rule).
create or replace function lead_flow.is_valid_branch(p_branch text) returns boolean
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  begin
    return coalesce(length(p_branch) <= 100 and p_branch ~ '[a-z0-9]', false);
  end
  $$;
comment on function lead_flow.is_valid_branch(text) is
  'Whether a normalized branch can name a segment: 1-100 characters with a letter or digit.';

-- The active segment for a normalized branch and a region; created when missing and the
-- auto_create_segments setting is on (and the branch can name a segment); NULL otherwise.
create or replace function lead_flow.find_or_create_segment(p_branch text, p_region text) returns uuid
  language plpgsql volatile set search_path = ''
  as $$
  declare
    v_code text := lead_flow.segment_code(p_branch, p_region);
    v_id uuid;
    v_active boolean;
  begin
    if v_code is null then
      return null;
    end if;
    select s.id, s.is_active into v_id, v_active from public.lead_segments s where s.code = v_code;
    if found then
      return case when v_active then v_id end;  -- an inactive segment takes no leads
    end if;
    if not lead_flow.is_valid_branch(p_branch)
       or not exists (select from public.regions r where r.slug = p_region)
       or not coalesce((lead_flow.setting('auto_create_segments'))::boolean, false) then
      return null;
    end if;
    insert into public.lead_segments (branch, region, description)
    values (p_branch, p_region, 'created automatically for an incoming lead')
    on conflict (code) do nothing
    returning id into v_id;
    if v_id is null then  -- a concurrent insert won the race
      select s.id into v_id from public.lead_segments s where s.code = v_code and s.is_active;
    end if;
    return v_id;
  end
  $$;
comment on function lead_flow.find_or_create_segment(text, text) is
  'Active segment id for a normalized branch x region (by code); creates it when auto_create_segments is on; NULL otherwise.';
revoke all on function lead_flow.find_or_create_segment(text, text) from public, anon, authenticated;

-- Earlier versions kept a lookup table (lead_flow.industry_segments) current with triggers; the map
-- is now a constant in the generated trigger function below.
-- Dropped only where present: even `drop trigger if exists` locks its table ACCESS EXCLUSIVE, and
-- industries is read by every lead insert (its foreign key check).
do $$
declare
  r record;
begin
  for r in select t.tgname, t.tgrelid::regclass as tbl from pg_catalog.pg_trigger t
            where t.tgrelid in ('public.industries'::regclass, 'public.lead_segments'::regclass)
              and t.tgname like 'tg\_%\_\_industry\_segments\_%' loop
    execute format('drop trigger %I on %s', r.tgname, r.tbl);
  end loop;
end
$$;
drop function if exists lead_flow.tg_industry_segments__maintain();
drop function if exists lead_flow.rebuild_industry_segments();

-- The slow path of lead assignment, for a lead the map in the trigger does not place (no active
-- segment for its industry x region yet, no region, an industry whose name cannot be a branch): its
-- segment by code, created when auto_create_segments is on. Never raises: an unexpected error gives
-- NULL and a line in lead_flow_logs.
create or replace function lead_flow.segment_for_unmapped_lead(p_lead_id uuid, p_industry_id uuid,
                                                               p_province text, p_postcode text) returns uuid
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_region text;
    v_branch text;
  begin
    v_region := lead_flow.region_for(p_province, p_postcode);
    if p_industry_id is null or v_region is null then
      return null;
    end if;
    select lead_flow.normalize_branch(i.name) into v_branch from public.industries i where i.id = p_industry_id;
    return case when v_branch is not null then lead_flow.find_or_create_segment(v_branch, v_region) end;
  exception when others then
    perform lead_flow.log('error', 'segment assignment failed: ' || sqlerrm,
                          jsonb_build_object('lead_id', p_lead_id, 'sqlstate', sqlstate, 'industry_id', p_industry_id,
                                             'province', left(p_province, 100), 'postcode', left(p_postcode, 100)));
    return null;
  end
  $$;
comment on function lead_flow.segment_for_unmapped_lead(uuid, uuid, text, text) is
  'Segment for a lead the assignment trigger''s map does not place: by segment code, created when auto_create_segments is on; NULL when none. Never raises (errors go to lead_flow_logs).';
revoke all on function lead_flow.segment_for_unmapped_lead(uuid, uuid, text, text) from public, anon, authenticated;

-- Earlier versions generated the whole trigger function (lead_flow.compile_lead_segment_trigger),
-- inlining the region rule as text, and regenerated it when the region reference changed.
drop trigger if exists tg_postcode_regions__compile_assignment on lead_flow.postcode_regions;
drop trigger if exists tg_region_aliases__compile_assignment on lead_flow.region_aliases;
drop function if exists lead_flow.compile_lead_segment_trigger();

-- Generates lead_flow.segment_for_lead(lead id, industry id, province, postcode), a lead's segment,
-- from the current rows of industries and lead_segments: the industry x region -> active segment map
-- is a jsonb constant {industry id: {region slug: segment id, '-': nil uuid}} (a segment matches an
-- industry when its code is the industry's branch code || '_' || the region), and the region is
-- lead_flow.region_for. Like region_for it has a SQL-standard body and a fixed search_path: a
-- lead's assignment reads no table. Only a miss, a lead with a region whose segment is not in the map (not created
-- yet, an industry that cannot be a branch), calls lead_flow.segment_for_unmapped_lead; a lead
-- without a region finds the nil uuid under '-' and gets NULL without that call. The statement
-- triggers below run this after every change to the map; an advisory lock serializes it, so two
-- concurrent changes cannot leave a stale function (the second one generates after the first
-- commits and sees its rows). Replacing the function invalidates every session's cached plans that
-- use it, within the same transaction too: the leads after an auto-created segment in one COPY
-- find it in the map.
create or replace function lead_flow.compile_segment_for_lead() returns void
  language plpgsql volatile security definer set search_path = ''
  as $compile$
  declare
    v_map jsonb;
  begin
    perform pg_advisory_xact_lock(hashtext('lead_flow.compile_segment_for_lead'));
    select coalesce(jsonb_object_agg(i.id, m.segments || '{"-": "00000000-0000-0000-0000-000000000000"}'), '{}')
      into v_map
      from public.industries i
     cross join lateral (select coalesce(jsonb_object_agg(r.slug, s.id), '{}') as segments
                           from public.regions r
                           join public.lead_segments s
                             on s.code = lead_flow.code_part(lead_flow.normalize_branch(i.name)) || '_'
                                         || replace(r.slug, '-', '_')
                          where s.is_active) m;
    execute format($fn$
      create or replace function lead_flow.segment_for_lead(p_lead_id uuid, p_industry_id uuid, p_province text,
                                                            p_postcode text) returns uuid
        language sql volatile set search_path = ''
        return nullif(coalesce(((%1$L::jsonb -> p_industry_id::text)
                                 ->> coalesce(lead_flow.region_for(p_province, p_postcode), '-'))::uuid,
                               case when p_industry_id is not null
                                    then lead_flow.segment_for_unmapped_lead(p_lead_id, p_industry_id, p_province,
                                                                             p_postcode) end),
                      '00000000-0000-0000-0000-000000000000'::uuid)
      $fn$, v_map);
    comment on function lead_flow.segment_for_lead(uuid, uuid, text, text) is
      'The active segment of a lead with this industry, province and postcode (branch x region); created when missing and auto_create_segments is on; NULL when none. Never raises. Generated by lead_flow.compile_segment_for_lead().';
    revoke all on function lead_flow.segment_for_lead(uuid, uuid, text, text) from public, anon, authenticated;
  end
  $compile$;
comment on function lead_flow.compile_segment_for_lead() is
  'Regenerates lead_flow.segment_for_lead with the industry x region -> active segment map as a constant; run by triggers whenever industries or lead_segments change.';
revoke all on function lead_flow.compile_segment_for_lead() from public, anon, authenticated;

select lead_flow.compile_segment_for_lead();

-- After any statement that can change the map (industries: id, name; lead_segments: id, branch,
-- region, is_active): generate lead_flow.segment_for_lead again, within the same transaction.
create or replace function lead_flow.tg_segment_assignment_inputs__compile() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform lead_flow.compile_segment_for_lead();
    return null;
  end
  $$;
comment on function lead_flow.tg_segment_assignment_inputs__compile() is
  'After any statement changing industries or lead_segments in a way that matters for assignment: regenerates lead_flow.segment_for_lead.';
revoke all on function lead_flow.tg_segment_assignment_inputs__compile() from public, anon, authenticated;
-- Its trigger on the platform's industries (tg_industries__compile_assignment) is migration 0015's.
create or replace trigger tg_lead_segments__compile_assignment
  after insert or update of id, branch, region, is_active or delete or truncate on public.lead_segments
  for each statement execute function lead_flow.tg_segment_assignment_inputs__compile();

-- The trigger function: one assignment through lead_flow.segment_for_lead.
-- SECURITY DEFINER, so that whoever may insert a lead (anon through a form, a partner, an import
-- role) needs no right on lead_flow: assignment can never refuse a lead for want of a grant. Its
-- fixed search_path costs each lead a configuration change and its undo (bench/bench_segments.py
-- measures it); a definer function without one would be a hijack waiting to happen.
create or replace function lead_flow.tg_leads__assign_segment() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    new.segment_id := lead_flow.segment_for_lead(new.id, new.industry_id, new.province, new.postcode);
    return new;
  end
  $$;
comment on function lead_flow.tg_leads__assign_segment() is
  'Before insert, and update of industry_id, province or postcode, on leads: sets segment_id (branch x region) through lead_flow.segment_for_lead; never fails the lead.';
revoke all on function lead_flow.tg_leads__assign_segment() from public, anon, authenticated;

-- Its triggers on leads (tg_leads__assign_segment on insert without segment_id, and
-- tg_leads__reassign_segment on update of industry_id, province or postcode) are migration 0015's:
-- creating a trigger here would lock leads against inserts until the whole of sql/ commits.

-- Set-based backfill: assign every unassigned lead (created since p_since, when given) to its
-- segment, creating missing segments first when auto_create_segments is on. Returns leads assigned.
create or replace function public.assign_segments_to_leads(p_since timestamptz default null) returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_assigned integer;
  begin
    -- Created once per transaction (an "if not exists" would print a notice on every later call).
    if to_regclass('pg_temp.lead_segment_candidates') is null then
      create temp table lead_segment_candidates (lead_id uuid, branch text, region text, code text)
        on commit drop;
    end if;
    truncate pg_temp.lead_segment_candidates;
    insert into pg_temp.lead_segment_candidates (lead_id, branch, region, code)
    select x.id, x.branch, x.region, lead_flow.segment_code(x.branch, x.region)
      from (select l.id, lead_flow.normalize_branch(i.name) as branch,
                   lead_flow.region_for(l.province, l.postcode) as region
              from public.leads l
              join public.industries i on i.id = l.industry_id
             where l.segment_id is null and (p_since is null or l.created_at >= p_since)
            offset 0) x;  -- a fence: region_for runs once per lead, not once per use

    -- Only when a segment is missing: an insert, even of no rows, regenerates the lead trigger (and
    -- so every session's cached copy of it).
    if coalesce((lead_flow.setting('auto_create_segments'))::boolean, false)
       and exists (select from pg_temp.lead_segment_candidates c
                    where c.code is not null and lead_flow.is_valid_branch(c.branch)
                      and not exists (select from public.lead_segments s where s.code = c.code)) then
      insert into public.lead_segments (branch, region, description)
      select distinct on (c.code) c.branch, c.region, 'created automatically for existing leads'
        from pg_temp.lead_segment_candidates c
       where c.code is not null and lead_flow.is_valid_branch(c.branch)
       order by c.code, c.branch
      on conflict (code) do nothing;
    end if;

    update public.leads l
       set segment_id = s.id
      from pg_temp.lead_segment_candidates c
      join public.lead_segments s on s.code = c.code and s.is_active
     where l.id = c.lead_id and l.segment_id is null;
    get diagnostics v_assigned = row_count;
    return v_assigned;
  end
  $$;
comment on function public.assign_segments_to_leads(timestamptz) is
  'Assigns unassigned leads (optionally only those created since a moment) to their branch x region segment, creating missing segments when auto_create_segments is on; returns how many leads were assigned.';
revoke all on function public.assign_segments_to_leads(timestamptz) from public, anon, authenticated;
grant execute on function public.assign_segments_to_leads(timestamptz) to service_role;
