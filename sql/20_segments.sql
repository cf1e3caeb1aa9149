-- Segments and lead assignment: a lead's segment is its industry (the branch) x its region, i.e. the
-- segment whose code is lead_flow.segment_code(industry name, region) (lead_segments.code, unique).
-- Lead creation never fails because of this: whatever goes wrong leaves segment_id NULL and a line
-- in lead_flow_logs.
-- Per lead the trigger makes plain indexed lookups: the region (lead_flow.region_for: the alias and
-- PC4 tables), then the industry's row and the segment by branch and region, in one statement; only
-- a miss (a name spelled otherwise than its segment's branch, or no segment yet) takes the slow
-- path, which looks the segment up by its code and may create it.

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

-- THE segment-code rule: lower case, every run of anything but a-z and 0-9 becomes '_', trimmed at
-- both ends; NULL unless both the branch and the region have a letter or digit. For a segment it is
-- what the generated column lead_segments.code stores (migration 0003: the same expression over
-- branch || '_' || region; a segment's branch is lower case already), so a lookup by this code uses
-- that column's unique index. It takes an industry name as well as a normalized branch
-- ('Dak-Dekker' and 'dak dekker' give the same code): normalize_branch only changes case and spaces.
create or replace function lead_flow.segment_code(p_branch text, p_region text) returns text
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  declare
    v_branch text := lower(left(p_branch, 200));
  begin
    if v_branch !~ '[a-z0-9]' or p_region !~ '[a-z0-9]' then
      return null;
    end if;
    return btrim(regexp_replace(v_branch || '_' || p_region, '[^a-z0-9]+', '_', 'g'), '_');
  end
  $$;
comment on function lead_flow.segment_code(text, text) is
  'lead_segments.code for a branch (or an industry name: case and punctuation do not matter) and a region slug (''dak- en gevel'', ''friesland'' -> dak_en_gevel_friesland); NULL when either has no letter or digit.';

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

-- The slow path of lead assignment, for a lead with an industry and a region whose segment the
-- trigger did not find by branch and region (an industry name spelled otherwise than its segment's
-- branch, a segment not created yet, an industry whose name cannot be a branch): the segment by the
-- code rule (find_or_create_segment), created when auto_create_segments is on. Never raises: an
-- unexpected error gives NULL and a line in lead_flow_logs. The exception handler's subtransaction
-- is paid on this path only.
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
  'Segment for a lead whose industry x region the trigger did not find by branch and region: by its code (segment_code), created when missing and auto_create_segments is on; NULL otherwise. Never raises (errors go to lead_flow_logs).';
revoke all on function lead_flow.segment_for_unmapped_lead(uuid, uuid, text, text) from public, anon, authenticated;

-- The trigger function: a lead's segment is the segment of its industry x its region
-- (lead_flow.region_for). The usual case is one statement: the industry's name by its id, then the
-- segment by its branch and region (the index on lead_segments (branch, region)), the branch being
-- the industry name in lower case, as segments made for an industry spell it. Found there, it is the
-- segment whose code is segment_code(industry name, region): a segment's code is that of its branch
-- and region, and lower(name) = branch gives segment_code(name, region) = code. Otherwise the slow
-- path decides by the code rule (a name spelled otherwise, 'Dak-Dekker' for the segment 'dak dekker',
-- and a missing segment, created when auto_create_segments is on). An inactive segment takes no
-- leads (NULL, and no second segment is created). No industry or no region: NULL (an update that
-- takes them away unassigns the lead).
-- It runs for every lead, so it does no more than that (issue 14 guardrail: at most 30 us of server
-- CPU added to an insert, bench/bench_segments.py): two statements (region_for's lookup and the
-- segment's), no function of its own between the trigger and them (a call of a function with a fixed
-- search_path costs a save and restore of the setting), the code rule (a third such call and three
-- regular expressions) only on the slow path, no logging, no setting read, and no exception handler
-- (its subtransaction would be paid per lead; nothing here raises: region_for never does, and the
-- slow path catches its own errors). Measured and left (1,000 leads inserted by a procedure in the
-- server, variants alternating, medians of 12-16 rounds on a busy machine): the region's lookup
-- joined with the segment's into one statement per path (alias, then PC4) added 53 us per lead
-- where this adds 36 (all in one transaction; 69 vs 53 committing each lead), as each execution
-- starts every node of the join; the trigger STABLE (its lookup under the insert's snapshot, no
-- command-counter step) gained nothing measurable. Where the 36 us go (the same way, each piece a
-- trigger of its own): calling a trigger ~4, region_for ~12, the segment's lookup ~14, and the
-- segment_id foreign-key check that storing any segment pays ~6.
-- SECURITY DEFINER, so that whoever may insert a lead (anon through a form, a partner, an import
-- role) needs no right on lead_flow: assignment can never refuse a lead for want of a grant. A fixed
-- search_path, as a definer function without one would be a hijack waiting to happen. VOLATILE, as
-- the slow path writes: each lead's lookup sees the segments created by the leads before it in the
-- same statement (a COPY creates a new segment once).
create or replace function lead_flow.tg_leads__assign_segment() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    v_region text;
    v_segment_id uuid;
    v_active boolean;
  begin
    v_region := case when new.industry_id is not null then lead_flow.region_for(new.province, new.postcode) end;
    if v_region is null then
      new.segment_id := null;
      return new;
    end if;
    select s.id, s.is_active into v_segment_id, v_active
      from public.industries i
      join public.lead_segments s on s.branch = lower(i.name) and s.region = v_region
     where i.id = new.industry_id;
    if found then
      new.segment_id := case when v_active then v_segment_id end;
    else
      new.segment_id := lead_flow.segment_for_unmapped_lead(new.id, new.industry_id, new.province, new.postcode);
    end if;
    return new;
  end
  $$;
comment on function lead_flow.tg_leads__assign_segment() is
  'Before insert, and update of industry_id, province or postcode, on leads: sets segment_id to the active segment of the lead''s industry x region (lead_flow.region_for, lead_flow.segment_code), created when missing and auto_create_segments is on, else NULL; never fails the lead.';
revoke all on function lead_flow.tg_leads__assign_segment() from public, anon, authenticated;

-- Its triggers on leads (tg_leads__assign_segment on insert without segment_id, and
-- tg_leads__reassign_segment on update of industry_id, province or postcode) are migration 0015's:
-- creating a trigger here would lock leads against inserts until the whole of sql/ commits.

-- Set-based backfill: assign every unassigned lead (created since p_since, when given) to its
-- segment, creating the missing segments first when auto_create_segments is on (one statement: the
-- update takes the new segments from the insert, which its snapshot cannot see in the table).
-- Returns leads assigned.
create or replace function lead_flow.assign_segments_to_leads(p_since timestamptz default null) returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_auto_create boolean := coalesce((lead_flow.setting('auto_create_segments'))::boolean, false);
    v_assigned integer;
  begin
    with candidates as materialized (
      select x.lead_id, lead_flow.normalize_branch(x.name) as branch, x.region,
             lead_flow.segment_code(x.name, x.region) as code
        from (select l.id as lead_id, i.name, lead_flow.region_for(l.province, l.postcode) as region
                from public.leads l
                join public.industries i on i.id = l.industry_id
               where l.segment_id is null and (p_since is null or l.created_at >= p_since)
              offset 0) x  -- a fence: region_for once per lead, not once per use
    ), created as (
      insert into public.lead_segments (branch, region, description)
      select distinct on (c.code) c.branch, c.region, 'created automatically for existing leads'
        from candidates c
       where v_auto_create and c.code is not null and lead_flow.is_valid_branch(c.branch)
         and not exists (select from public.lead_segments s where s.code = c.code)
       order by c.code, c.branch
      on conflict (code) do nothing
      returning id, code
    ), segments as (
      select s.id, s.code from public.lead_segments s where s.is_active
      union all
      select n.id, n.code from created n  -- new segments are active
    )
    update public.leads l
       set segment_id = s.id
      from candidates c
      join segments s on s.code = c.code
     where l.id = c.lead_id and l.segment_id is null;
    get diagnostics v_assigned = row_count;
    return v_assigned;
  end
  $$;
comment on function lead_flow.assign_segments_to_leads(timestamptz) is
  'Assigns unassigned leads (optionally only those created since a moment) to their branch x region segment, creating missing segments when auto_create_segments is on; returns how many leads were assigned.';
revoke all on function lead_flow.assign_segments_to_leads(timestamptz) from public, anon, authenticated;
grant execute on function lead_flow.assign_segments_to_leads(timestamptz) to service_role;
