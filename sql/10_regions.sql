-- Regions: a lead's or a partner's region from a province name in any usual spelling, or from a
-- postcode through the PC4 reference.

-- A province name folded to lower-case ASCII letters: accents dropped, everything else removed,
-- and a leading 'provincie'/'prov.' ignored. Bounded input so a 10 kB string costs nothing.
create or replace function lead_flow.fold_region_name(p_name text) returns text
  language sql immutable parallel safe set search_path = ''
  as $$
    select nullif(regexp_replace(
             regexp_replace(
               translate(lower(left(p_name, 100)), 'âáàäãêéèëîíìïôóòöõûúùüçñÿý', 'aaaaaeeeeiiiiooooouuuucnyy'),
               '[^a-z]', '', 'g'),
             '^(provincie|prov)(?=[a-z]{4})', ''), '')
  $$;
comment on function lead_flow.fold_region_name(text) is
  'Folds a province spelling to the key of lead_flow.region_aliases; NULL when nothing is left.';

-- The region slug for a spelling of a province (or a slug itself); NULL when unknown.
create or replace function public.normalize_region(p_name text) returns text
  language sql stable parallel safe set search_path = ''
  as $$
    select a.region from lead_flow.region_aliases a where a.alias = lead_flow.fold_region_name(p_name)
  $$;
comment on function public.normalize_region(text) is
  'The region slug (e.g. noord-brabant) for a province name in any usual spelling; NULL when unknown.';

-- The region of a postcode ('5611 AB', '5611ab', '5611'); NULL for anything else.
create or replace function lead_flow.postcode_region(p_postcode text) returns text
  language sql stable parallel safe set search_path = ''
  as $$
    select r.region
      from lead_flow.postcode_regions r
     where r.pc4 @> (substring(left(p_postcode, 40) from '^\s*([1-9][0-9]{3})\s*(?:[A-Za-z]{2})?\s*$'))::int
  $$;
comment on function lead_flow.postcode_region(text) is
  'The region of a Dutch postcode through the PC4 reference; NULL for an unknown or malformed postcode.';

-- A lead's region: the province when it names one, otherwise the postcode. Never raises.
create or replace function public.extract_region(p_province text, p_postcode text) returns text
  language sql stable parallel safe set search_path = ''
  as $$
    select coalesce(public.normalize_region(p_province), lead_flow.postcode_region(p_postcode))
  $$;
comment on function public.extract_region(text, text) is
  'Region slug from a province name (any usual spelling) or else a postcode (PC4 reference); NULL when neither gives one.';

-- Replace the PC4 reference with the rows in temp table pc4_staging(pc4_from, pc4_to, province),
-- atomically. Refuses unknown provinces and overlapping ranges with a message naming the row.
create or replace function lead_flow.replace_postcode_regions(out ranges integer, out postcodes integer)
  language plpgsql volatile set search_path = ''
  as $$
  declare
    bad record;
  begin
    select s.* into bad from pg_temp.pc4_staging s
     where s.pc4_from is null or s.pc4_to is null or s.pc4_from < 1000 or s.pc4_to > 9999
        or s.pc4_to < s.pc4_from or public.normalize_region(s.province) is null
     limit 1;
    if found then
      raise exception 'invalid PC4 row: % - % "%" (PC4 must be 1000-9999, from <= to, a known province)',
        bad.pc4_from, bad.pc4_to, bad.province using errcode = '22023';
    end if;

    delete from lead_flow.postcode_regions;
    -- Fold consecutive PC4s of one province into ranges (a per-PC4 file becomes ~100 rows).
    insert into lead_flow.postcode_regions (pc4, region)
    select int4range(min(pc4_from), max(pc4_to), '[]'), region
      from (select s.pc4_from, s.pc4_to, public.normalize_region(s.province) as region,
                   s.pc4_from - sum(s.pc4_to - s.pc4_from + 1)
                                  over (partition by public.normalize_region(s.province) order by s.pc4_from) as grp
              from pg_temp.pc4_staging s) runs
     group by region, grp;

    select count(*), coalesce(sum(upper(pc4) - lower(pc4)), 0) into ranges, postcodes
      from lead_flow.postcode_regions;
  exception when exclusion_violation then
    raise exception 'PC4 ranges overlap: %', sqlerrm using errcode = '22023';
  end
  $$;
comment on function lead_flow.replace_postcode_regions() is
  'Atomically replaces lead_flow.postcode_regions from pg_temp.pc4_staging; returns ranges and postcodes covered.';

grant select on lead_flow.region_aliases, lead_flow.postcode_regions to authenticated, service_role;
revoke all on function public.extract_region(text, text), public.normalize_region(text) from public;
grant execute on function public.extract_region(text, text), public.normalize_region(text),
  lead_flow.fold_region_name(text), lead_flow.postcode_region(text) to anon, authenticated, service_role;
