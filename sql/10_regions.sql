-- Regions: a lead's or a partner's region from a province name in any usual spelling, or from a
-- postcode through the PC4 reference (lead_flow.postcode_regions, loaded by `leadflow regions load`).
--
-- The one definition is lead_flow.region_for(province, postcode): lookups in the reference tables
-- (lead_flow.region_aliases by the alias, lead_flow.postcode_regions by the PC4), no state besides
-- those tables, so a change to them applies to the next call. It runs for every lead
-- (sql/20_segments.sql): one statement per lead in the usual cases.
-- public.extract_region and public.normalize_region (sql/91_api.sql) are its API faces; the lead trigger
-- (sql/20_segments.sql) and the partner segment codes (sql/30_capacity.sql) use it.

-- THE region rule: a province name in any usual spelling wins, otherwise the postcode through the PC4
-- reference, otherwise NULL. Never raises, whatever the input.
-- * A province name is folded to an alias key: lower case, accents dropped, everything but a-z
--   removed, at most the first 100 characters looked at (a 10 kB string costs nothing):
--   'N-Brabant' -> nbrabant, 'Fryslân' -> fryslan, ' ZUID-HOLLAND ' -> zuidholland. A leading
--   'provincie' or 'prov' before at least four letters is ignored ('Provincie Utrecht', 'prov.
--   Drenthe') unless the key is an alias as it stands.
-- * A postcode is taken in the usual formats ('5611 AB', '5611ab', '5611', '5611-AB', 'NL-5611 AB');
--   its 4 digits are looked up in the PC4 ranges. The common shapes ('5611 AB', '5611ab', '5611') are
--   recognized by a cheaper pattern first; anything over 40 characters is no postcode.
-- STABLE: within one statement the reference tables do not change under it.
create or replace function lead_flow.region_for(p_province text, p_postcode text) returns text
  language plpgsql stable parallel safe set search_path = ''
  as $$
  declare
    v_key text;
    v_pc4 integer;
    v_region text;
  begin
    if p_province is not null then
      v_key := lower(left(p_province, 100));
      if octet_length(v_key) > length(v_key) then  -- accents to fold: translate is the dearest step
        v_key := translate(v_key, 'âáàäãåêéèëîíìïôóòöõûúùüçñÿý', 'aaaaaaeeeeiiiiooooouuuucnyy');
      end if;
      v_key := regexp_replace(v_key, '[^a-z]+', '', 'g');
      select a.region into v_region from lead_flow.region_aliases a where a.alias = v_key;
      if not found then
        v_key := substring(v_key from '^prov(?:incie)?([a-z]{4,})$');
        if v_key is not null then
          select a.region into v_region from lead_flow.region_aliases a where a.alias = v_key;
        end if;
      end if;
      if v_region is not null then
        return v_region;
      end if;
    end if;

    v_pc4 := (case when p_postcode ~ '^[1-9][0-9]{3} ?(?:[A-Za-z]{2})?$' then left(p_postcode, 4)
                   when length(p_postcode) <= 40
                   then substring(p_postcode from '^\s*(?:[Nn][Ll][\s-]*)?([1-9][0-9]{3})[\s-]*(?:[A-Za-z]{2})?\s*$')
              end)::integer;
    if v_pc4 is null then
      return null;
    end if;
    -- The ranges do not overlap (an exclusion constraint): the only one that can contain the PC4 is
    -- the one starting closest below it, one backward probe of the btree on lower(pc4) (a gap between
    -- ranges gives that range, which does not contain it: NULL). Written so, the plan is that probe
    -- whether or not the table has statistics; `pc4 @> v_pc4` was a bitmap scan of the exclusion
    -- constraint's GiST index until the table was first analyzed and a scan of all ~110 ranges after
    -- (each range detoasted and tested, the file's size asked of the kernel), a plan that changed
    -- under a running session. The scan cost ~4 us more per call than the probe (region_for of a
    -- postcode alone, 20,000 calls in one statement: 10.3 vs 6.4 us).
    select case when r.pc4 @> v_pc4 then r.region end into v_region
      from lead_flow.postcode_regions r
     where lower(r.pc4) <= v_pc4
     order by lower(r.pc4) desc
     limit 1;
    return v_region;
  end
  $$;
comment on function lead_flow.region_for(text, text) is
  'Region slug from a province name (any usual spelling, through lead_flow.region_aliases) or else a Dutch postcode (through the PC4 ranges in lead_flow.postcode_regions); NULL when neither gives one. Never raises.';

-- Replace the PC4 reference with the rows in temp table pc4_staging(line, pc4_from, pc4_to, province),
-- atomically. Refuses an empty file, malformed rows, unknown provinces and overlapping PC4s with a
-- message naming the line; the table keeps what it had when anything is refused.
create or replace function lead_flow.replace_postcode_regions(out ranges integer, out postcodes integer)
  language plpgsql volatile set search_path = ''
  as $$
  declare
    bad record;
  begin
    -- The caller (glue/regions.py) creates and fills the staging table; its shape, for plpgsql_check.
    perform 'PRAGMA:TABLE: pg_temp.pc4_staging (line int, pc4_from int, pc4_to int, province text)';
    if not exists (select from pg_temp.pc4_staging) then
      raise exception 'the PC4 file has no rows; the PC4 reference is left as it was' using errcode = '22023';
    end if;

    select s.* into bad from pg_temp.pc4_staging s
     where s.pc4_from is null or s.pc4_to is null or s.pc4_from < 1000 or s.pc4_to > 9999
        or s.pc4_to < s.pc4_from or lead_flow.region_for(s.province, null) is null
     order by s.line
     limit 1;
    if found then
      raise exception 'line %: invalid PC4 row % - % "%" (PC4 must be 1000-9999, from <= to, a known province)',
        bad.line, bad.pc4_from, bad.pc4_to, left(bad.province, 100) using errcode = '22023';
    end if;

    select s.line, s.pc4_from into bad
      from (select x.line, x.pc4_from,
                   max(x.pc4_to) over (order by x.pc4_from, x.line
                                       rows between unbounded preceding and 1 preceding) as prev_to
              from pg_temp.pc4_staging x) s
     where s.pc4_from <= s.prev_to
     order by s.line
     limit 1;
    if found then
      raise exception 'line %: PC4 % is already covered by an earlier row (PC4s must not repeat or overlap)',
        bad.line, bad.pc4_from using errcode = '22023';
    end if;

    delete from lead_flow.postcode_regions;
    -- Fold adjacent rows of one province into ranges (a per-PC4 file becomes ~100 rows): within a
    -- run of adjacent rows, pc4_from minus the PC4s covered by the run's earlier rows is constant.
    insert into lead_flow.postcode_regions (pc4, region)
    select int4range(min(runs.pc4_from), max(runs.pc4_to), '[]'), runs.region
      from (select s.pc4_from, s.pc4_to, s.region,
                   s.pc4_from - coalesce(sum(s.pc4_to - s.pc4_from + 1)
                                           over (partition by s.region order by s.pc4_from
                                                 rows between unbounded preceding and 1 preceding), 0) as grp
              from (select x.pc4_from, x.pc4_to, lead_flow.region_for(x.province, null) as region
                      from pg_temp.pc4_staging x) s) runs
     group by runs.region, runs.grp;

    select count(*)::integer, coalesce(sum(upper(r.pc4) - lower(r.pc4)), 0)::integer into ranges, postcodes
      from lead_flow.postcode_regions r;
  end
  $$;
comment on function lead_flow.replace_postcode_regions() is
  'Atomically replaces lead_flow.postcode_regions from pg_temp.pc4_staging (line, pc4_from, pc4_to, province); refuses bad rows naming the line; returns ranges and PC4s covered.';

revoke all on function lead_flow.replace_postcode_regions() from public, anon, authenticated;
-- Everyone's: the API's normalize_region and extract_region (sql/91_api.sql) call it as the caller.
revoke all on function lead_flow.region_for(text, text) from public, anon, authenticated;
grant execute on function lead_flow.region_for(text, text) to anon, authenticated, service_role;
