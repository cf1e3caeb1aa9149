-- Segments and lead assignment: a lead's segment is its industry (the branch) x its region, i.e. the
-- segment whose code is '<branch>_<region>' (unique).
-- Lead creation never fails because of this: whatever goes wrong leaves segment_id NULL and a line
-- in system_logs.
-- Per lead the trigger does one function call (region_for, compiled, no table) and one index probe
-- in lead_flow.industry_segments (industry x region -> active segment), which triggers on industries
-- and lead_segments keep current; only a miss (no active segment yet) takes the slow path by code.

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
revoke all on function lead_flow.find_or_create_segment(text, text) from public;

-- lead_flow.industry_segments from scratch: every industry x region whose code is an active segment's.
-- Run on every apply of this file (so the lookup follows any change of the rule); the triggers below
-- keep it current between applies.
create or replace function lead_flow.rebuild_industry_segments() returns void
  language plpgsql volatile security definer set search_path = ''
  as $$
  begin
    perform pg_advisory_xact_lock(hashtext('lead_flow.industry_segments'));
    delete from lead_flow.industry_segments;
    insert into lead_flow.industry_segments (industry_id, region, segment_id)
    select i.id, s.region, s.id
      from (select x.id, lead_flow.code_part(lead_flow.normalize_branch(x.name)) as branch_code
              from public.industries x) i
      join public.lead_segments s on s.code = i.branch_code || '_' || replace(s.region, '-', '_')
     where s.is_active;
  end
  $$;
comment on function lead_flow.rebuild_industry_segments() is
  'Recomputes lead_flow.industry_segments (industry x region -> active segment, matched by segment code) from industries and lead_segments.';
revoke all on function lead_flow.rebuild_industry_segments() from public;

-- Keeps lead_flow.industry_segments current after each statement on industries or lead_segments
-- (transition tables old_rows / new_rows): rows of changed industries or segments are dropped and
-- derived again. A region slug in a code is the slug with '-' -> '_' (slugs are ^[a-z]+(-[a-z]+)*$).
-- An advisory lock serializes the maintenance, so a rename and a new segment in two concurrent
-- transactions cannot leave a stale row (the second recomputes after the first commits).
create or replace function lead_flow.tg_industry_segments__maintain() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform pg_advisory_xact_lock(hashtext('lead_flow.industry_segments'));
    if tg_table_name = 'industries' then
      if tg_op in ('UPDATE', 'DELETE') then
        delete from lead_flow.industry_segments l using old_rows o where l.industry_id = o.id;
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        insert into lead_flow.industry_segments (industry_id, region, segment_id)
        select i.id, r.slug, s.id
          from (select n.id, lead_flow.code_part(lead_flow.normalize_branch(n.name)) as branch_code
                  from new_rows n) i
         cross join public.regions r
          join public.lead_segments s on s.code = i.branch_code || '_' || replace(r.slug, '-', '_')
         where s.is_active
        on conflict (industry_id, region) do update set segment_id = excluded.segment_id;
      end if;
    else  -- lead_segments
      if tg_op in ('UPDATE', 'DELETE') then
        delete from lead_flow.industry_segments l using old_rows o where l.segment_id = o.id;
      end if;
      if tg_op in ('INSERT', 'UPDATE') then
        insert into lead_flow.industry_segments (industry_id, region, segment_id)
        select i.id, n.region, n.id
          from new_rows n
          join (select x.id, lead_flow.code_part(lead_flow.normalize_branch(x.name)) as branch_code
                  from public.industries x) i
            on n.code = i.branch_code || '_' || replace(n.region, '-', '_')
         where n.is_active
        on conflict (industry_id, region) do update set segment_id = excluded.segment_id;
      end if;
    end if;
    return null;
  end
  $$;
comment on function lead_flow.tg_industry_segments__maintain() is
  'After each statement changing industries or lead_segments: re-derives the affected rows of lead_flow.industry_segments.';
revoke all on function lead_flow.tg_industry_segments__maintain() from public;

do $$
declare
  t text;
  op text;
begin
  foreach t in array array['industries', 'lead_segments'] loop
    foreach op in array array['insert', 'update', 'delete'] loop
      execute format('create or replace trigger tg_%1$s__industry_segments_%2$s after %2$s on public.%1$I
                        referencing %3$s for each statement
                        execute function lead_flow.tg_industry_segments__maintain()',
                     t, op, case op when 'insert' then 'new table as new_rows'
                                    when 'update' then 'old table as old_rows new table as new_rows'
                                    else 'old table as old_rows' end);
    end loop;
  end loop;
end
$$;

select lead_flow.rebuild_industry_segments();

-- Trigger: set segment_id on insert, and again when industry, province or postcode change.
-- A segment_id the caller sets explicitly is kept. Never raises: an unexpected error leaves
-- segment_id NULL and is written to system_logs.
-- Fast path: region_for (compiled, no table) and one probe in industry_segments. A miss (no active
-- segment for this industry and region yet, or an industry whose name cannot be a branch) goes by
-- segment code, creating the segment when auto_create_segments is on.
create or replace function lead_flow.tg_leads__assign_segment() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    v_region text;
    v_branch text;
  begin
    if tg_op = 'INSERT' then
      if new.segment_id is not null then
        return new;
      end if;
    elsif new.segment_id is distinct from old.segment_id
       or (new.industry_id is not distinct from old.industry_id and new.province is not distinct from old.province
           and new.postcode is not distinct from old.postcode) then
      return new;
    end if;
    begin
      new.segment_id := null;
      if new.industry_id is not null then
        v_region := lead_flow.region_for(new.province, new.postcode);
      end if;
      if v_region is not null then
        select l.segment_id into new.segment_id
          from lead_flow.industry_segments l
         where l.industry_id = new.industry_id and l.region = v_region;
        if new.segment_id is null then
          select lead_flow.normalize_branch(i.name) into v_branch
            from public.industries i where i.id = new.industry_id;
          if v_branch is not null then
            new.segment_id := lead_flow.find_or_create_segment(v_branch, v_region);
          end if;
        end if;
      end if;
    exception when others then
      new.segment_id := null;
      perform lead_flow.log('error', 'segment assignment failed: ' || sqlerrm,
                            jsonb_build_object('lead_id', new.id, 'sqlstate', sqlstate,
                                               'industry_id', new.industry_id, 'province', left(new.province, 100),
                                               'postcode', left(new.postcode, 100)));
    end;
    return new;
  end
  $$;
comment on function lead_flow.tg_leads__assign_segment() is
  'Before insert/update of industry_id, province, postcode on leads: sets segment_id (branch x region); never fails the lead.';
revoke all on function lead_flow.tg_leads__assign_segment() from public;
create or replace trigger tg_leads__assign_segment
  before insert or update of industry_id, province, postcode on public.leads
  for each row execute function lead_flow.tg_leads__assign_segment();

-- Set-based backfill: assign every unassigned lead (created since p_since, when given) to its
-- segment, creating missing segments first when auto_create_segments is on. Returns leads assigned.
create or replace function public.assign_segments_to_leads(p_since timestamptz default null) returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_assigned integer;
  begin
    create temp table if not exists lead_segment_candidates (lead_id uuid, branch text, region text, code text)
      on commit drop;
    truncate pg_temp.lead_segment_candidates;
    insert into pg_temp.lead_segment_candidates (lead_id, branch, region, code)
    select x.id, x.branch, x.region, lead_flow.segment_code(x.branch, x.region)
      from (select l.id, lead_flow.normalize_branch(i.name) as branch,
                   lead_flow.region_for(l.province, l.postcode) as region
              from public.leads l
              join public.industries i on i.id = l.industry_id
             where l.segment_id is null and (p_since is null or l.created_at >= p_since)
            offset 0) x;  -- a fence: region_for runs once per lead, not once per use

    if coalesce((lead_flow.setting('auto_create_segments'))::boolean, false) then
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
