-- Partner marketing: partner_segments, the explicit links of a partner to the segments it serves
-- (lead_flow.partner_segment_matches, sql/30, prefers them over the profile arrays): at most one
-- active primary link per partner, and the one-off backfill of links from the profile arrays.

-- A new active primary link demotes the partner's previous primary, so "at most one" never bites users.
create or replace function lead_flow.tg_partner_segments__one_primary() returns trigger
  language plpgsql set search_path = ''
  as $$
  begin
    if new.priority is null or new.priority not between 1 and 100 then
      raise exception 'priority must be between 1 and 100; got %', new.priority using errcode = '22023';
    end if;
    if new.is_active and new.is_primary then
      update public.partner_segments ps
         set is_primary = false
       where ps.partner_id = new.partner_id and ps.id <> new.id and ps.is_primary and ps.is_active;
    end if;
    new.updated_at := now();
    return new;
  end
  $$;
comment on function lead_flow.tg_partner_segments__one_primary() is
  'Checks priority (1-100) and, when a link becomes the active primary, demotes the partner''s other primary link.';
create or replace trigger tg_partner_segments__one_primary
  before insert or update on public.partner_segments
  for each row execute function lead_flow.tg_partner_segments__one_primary();

create or replace function lead_flow.backfill_partner_segments() returns integer
  language plpgsql volatile security definer set search_path = ''
  as $$
  declare
    v_rows integer;
  begin
    -- For a partner without links, partner_segment_matches is the profile-array matching.
    insert into public.partner_segments (partner_id, segment_id, is_primary, priority)
    select m.partner_id, m.segment_id,
           coalesce(s.branch = lead_flow.normalize_branch(p.primary_branch), false)
             and row_number() over (partition by m.partner_id
                                    order by (s.branch = lead_flow.normalize_branch(p.primary_branch)) desc nulls last,
                                             s.code) = 1,
           1
      from lead_flow.partner_segment_matches m
      join public.profiles p on p.id = m.partner_id
      join public.lead_segments s on s.id = m.segment_id
     where not exists (select from public.partner_segments ps where ps.partner_id = m.partner_id)
    on conflict do nothing;
    get diagnostics v_rows = row_count;
    perform lead_flow.log('info', format('partner segments backfilled: %s links', v_rows), '{}');
    return v_rows;
  end
  $$;
comment on function lead_flow.backfill_partner_segments() is
  'Links every partner that has no partner_segments row to the segments its profile arrays match (primary: its primary branch); returns links added. Idempotent.';
revoke all on function lead_flow.backfill_partner_segments() from public, anon, authenticated;
