-- Segments and lead assignment: a lead's segment is its industry (the branch) x its region.
-- Lead creation never fails because of this: whatever goes wrong leaves segment_id NULL and a line
-- in system_logs.

-- A branch as segments spell it: the industry name lower-cased, trimmed, inner spaces collapsed.
create or replace function lead_flow.normalize_branch(p_name text) returns text
  language sql immutable parallel safe set search_path = ''
  as $$ select nullif(regexp_replace(lower(btrim(left(p_name, 200))), '\s+', ' ', 'g'), '') $$;
comment on function lead_flow.normalize_branch(text) is
  'Industry name -> segment branch (lower case, trimmed, single spaces); NULL for blank input.';

-- The active segment for a branch and region; created when missing if auto_create_segments is on.
create or replace function lead_flow.find_or_create_segment(p_branch text, p_region text) returns uuid
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_id uuid;
  begin
    if p_branch is null or p_region is null then
      return null;
    end if;
    select s.id into v_id from public.lead_segments s
     where s.branch = p_branch and s.region = p_region and s.is_active;
    if v_id is null and (lead_flow.setting('auto_create_segments'))::boolean then
      insert into public.lead_segments (branch, region, description)
      values (p_branch, p_region, 'created automatically for an incoming lead')
      on conflict (code) do nothing
      returning id into v_id;
      if v_id is null then  -- a concurrent insert won the race
        select s.id into v_id from public.lead_segments s
         where s.branch = p_branch and s.region = p_region and s.is_active;
      end if;
    end if;
    return v_id;
  end
  $$;
comment on function lead_flow.find_or_create_segment(text, text) is
  'Active segment id for branch x region; creates it when auto_create_segments is on; NULL otherwise.';
revoke all on function lead_flow.find_or_create_segment(text, text) from public;

-- Trigger: set segment_id on insert, and again when industry, province or postcode change.
create or replace function lead_flow.tg_leads__assign_segment() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    v_branch text;
  begin
    if tg_op = 'INSERT' and new.segment_id is not null then
      return new;  -- the caller assigned it explicitly
    end if;
    begin
      select lead_flow.normalize_branch(i.name) into v_branch from public.industries i where i.id = new.industry_id;
      new.segment_id := lead_flow.find_or_create_segment(v_branch, public.extract_region(new.province, new.postcode));
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
    create temp table if not exists pg_temp.lead_segment_candidates (lead_id uuid, branch text, region text)
      on commit drop;
    truncate pg_temp.lead_segment_candidates;
    insert into pg_temp.lead_segment_candidates
    select l.id, lead_flow.normalize_branch(i.name), public.extract_region(l.province, l.postcode)
      from public.leads l
      join public.industries i on i.id = l.industry_id
     where l.segment_id is null and (p_since is null or l.created_at >= p_since);

    if (lead_flow.setting('auto_create_segments'))::boolean then
      insert into public.lead_segments (branch, region, description)
      select distinct c.branch, c.region, 'created automatically for existing leads'
        from pg_temp.lead_segment_candidates c
       where c.branch is not null and c.region is not null
         and c.branch ~ '[a-z0-9]' and length(c.branch) <= 100
      on conflict (code) do nothing;
    end if;

    update public.leads l
       set segment_id = s.id
      from pg_temp.lead_segment_candidates c
      join public.lead_segments s on s.branch = c.branch and s.region = c.region and s.is_active
     where l.id = c.lead_id;
    get diagnostics v_assigned = row_count;
    return v_assigned;
  end
  $$;
comment on function public.assign_segments_to_leads(timestamptz) is
  'Assigns unassigned leads (optionally only those created since a moment) to their branch x region segment; returns how many.';
revoke all on function public.assign_segments_to_leads(timestamptz) from public, anon, authenticated;
grant execute on function public.assign_segments_to_leads(timestamptz) to service_role;
