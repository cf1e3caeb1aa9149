-- Regions: a lead's or a partner's region from a province name in any usual spelling, or from a
-- postcode through the PC4 reference (lead_flow.postcode_regions, loaded by `leadflow regions load`).
--
-- The one definition is lead_flow.region_rule_expression(), the rule as one SQL expression with
-- the reference tables (region_aliases, postcode_regions) baked in as constants; lead_flow.region_for
-- (province, postcode) is generated from it (public.extract_region and public.normalize_region are
-- its API faces), and so is the lead trigger (sql/20_segments.sql), which inlines it: it runs once
-- per inserted lead, often one lead per transaction, so it touches no table and is one expression
-- (PL/pgSQL prepares each statement it runs again in every transaction).
-- Triggers on the reference tables generate both again whenever they change; the tables stay the
-- truth. The generated functions are PL/pgSQL: a PL/pgSQL function keeps its plans (and its
-- constants, parsed once) for the session, whereas a LANGUAGE sql function with a SET clause (which
-- the linter demands) is parsed and planned again in every transaction.

-- How a province name is folded before the alias lookup: lower case, accents dropped, everything but
-- a-z removed, at most the first 100 characters looked at (a 10 kB string costs nothing). The
-- aliases (region_aliases.alias) are folded keys.
create or replace function lead_flow.region_key_expression(p_name text) returns text
  language plpgsql immutable parallel safe set search_path = ''
  as $$
  begin
    return format($fold$regexp_replace(translate(lower(left(%s, 100)), 'âáàäãåêéèëîíìïôóòöõûúùüçñÿý', 'aaaaaaeeeeiiiiooooouuuucnyy'), '[^a-z]+', '', 'g')$fold$,
                  p_name);
  end
  $$;
comment on function lead_flow.region_key_expression(text) is
  'SQL expression folding a province name (the given expression) to an alias key: lower-case ASCII letters only, first 100 characters.';
revoke all on function lead_flow.region_key_expression(text) from public;

-- THE region rule: a province name in any usual spelling wins, otherwise the postcode through the PC4
-- reference, otherwise NULL. Never raises, whatever the input.
-- * A province name is looked up in the aliases: as written (lower case, trimmed) first, which finds
--   the usual spellings without any folding ('Utrecht', 'Noord-Brabant', 'noord holland', 'NH'), then
--   folded ('N-Brabant' -> nbrabant, 'Fryslân' -> fryslan). A leading 'provincie' or 'prov' before at
--   least four letters is ignored: those spellings are keys of the map too.
-- * A postcode is taken in the usual formats ('5611 AB', '5611ab', '5611', '5611-AB', 'NL-5611 AB');
--   its 4 digits index the PC4 array. The common shapes ('5611 AB', '5611ab', '5611') are recognized
--   by a cheaper pattern first (the full pattern costs as much as the rest of the lookup).
-- Returns an SQL expression yielding the region slug for the given province and postcode
-- expressions (e.g. 'new.province', 'new.postcode'), with no table access: the aliases are a jsonb
-- constant alias -> slug, the PC4 ranges a smallint array indexed by PC4 giving a position in the
-- slug array (0 for none).
create or replace function lead_flow.region_rule_expression(p_province text, p_postcode text) returns text
  language plpgsql stable set search_path = ''
  as $rule$
  declare
    v_slugs text[];
    v_aliases jsonb;
    v_pc4 text;
  begin
    select array_agg(r.slug order by r.slug) into v_slugs from public.regions r;
    -- Keys: every alias; with a 'prov'/'provincie' prefix where the alias has four letters or more;
    -- and each region's slug as written, with a hyphen and with a space, where it folds to an alias.
    execute format($keys$
      select coalesce(jsonb_object_agg(k.key, k.region), '{}')
        from (select a.alias as key, a.region from lead_flow.region_aliases a
              union
              select p.prefix || a.alias, a.region
                from lead_flow.region_aliases a cross join (values ('prov'), ('provincie')) p (prefix)
               where length(a.alias) >= 4
              union
              select w.spelling, a.region
                from public.regions r
                cross join lateral (values (r.slug), (replace(r.slug, '-', ' '))) w (spelling)
                join lead_flow.region_aliases a on a.alias = %s
               where w.spelling !~ '^[a-z]+$') k
      $keys$, lead_flow.region_key_expression('w.spelling'))
      into v_aliases;
    -- PC4 1000..9999 -> position of its region in v_slugs, 0 where no range covers it.
    select array_agg(coalesce(array_position(v_slugs, c.region), 0) order by g.pc4)::text into v_pc4
      from generate_series(1000, 9999) g (pc4)
      left join (select p.pc4, r.region
                   from lead_flow.postcode_regions r
                  cross join lateral generate_series(lower(r.pc4), upper(r.pc4) - 1) p (pc4)) c
        on c.pc4 = g.pc4;
    -- The province as written, else folded, else the slug at the PC4 (position 0 or out of range
    -- gives NULL).
    return format($expr$coalesce(
            %1$L::jsonb ->> btrim(lower(left(%3$s, 100))),
            %1$L::jsonb ->> %5$s,
            (%2$L::text[])[(%6$L::smallint[])[
              case when %4$s ~ '^[1-9][0-9]{3} ?([A-Za-z]{2})?$' then left(%4$s, 4)::integer
                   when length(%4$s) <= 40
                   then substring(%4$s from '^\s*(?:[Nn][Ll][\s-]*)?([1-9][0-9]{3})[\s-]*(?:[A-Za-z]{2})?\s*$')::integer
              end - 999]])$expr$,
      v_aliases, v_slugs, p_province, p_postcode, lead_flow.region_key_expression(p_province), v_pc4);
  end
  $rule$;
comment on function lead_flow.region_rule_expression(text, text) is
  'SQL expression of THE region rule with region_aliases and postcode_regions baked in as constants: the region slug for the given province and postcode expressions (NULL when neither gives one; never raises). region_for and the lead trigger are generated from it.';
revoke all on function lead_flow.region_rule_expression(text, text) from public;
drop function if exists lead_flow.region_resolver_source(text, text);  -- its multi-statement predecessor

-- Generates lead_flow.region_for from the tables' current rows; called by sql/10 and by the triggers
-- below. Serialized by an advisory lock, so two concurrent reloads do not both replace the function.
create or replace function lead_flow.compile_region_for() returns void
  language plpgsql volatile security definer set search_path = ''
  as $compile$
  begin
    perform pg_advisory_xact_lock(hashtext('lead_flow.compile_region_for'));
    execute format($fn$
      create or replace function lead_flow.region_for(p_province text, p_postcode text) returns text
        language plpgsql stable parallel safe set search_path = ''
        as $body$
        -- Generated by lead_flow.compile_region_for(): edit the tables (or the generator), not this body.
        begin
          return %s;
        end
        $body$ $fn$, lead_flow.region_rule_expression('p_province', 'p_postcode'));
    comment on function lead_flow.region_for(text, text) is
      'Region slug from a province name (any usual spelling) or else a Dutch postcode (PC4 reference); NULL when neither gives one. Never raises. Generated from region_aliases and postcode_regions by lead_flow.compile_region_for().';
    grant execute on function lead_flow.region_for(text, text) to anon, authenticated, service_role;
  end
  $compile$;
comment on function lead_flow.compile_region_for() is
  'Regenerates lead_flow.region_for from lead_flow.region_aliases and lead_flow.postcode_regions (no table access per call); run by triggers whenever either table changes.';
revoke all on function lead_flow.compile_region_for() from public;

-- Earlier versions looked the tables up in every call; the compiled function replaces that body.
select lead_flow.compile_region_for();

-- Any change to the reference tables compiles region_for again, within the same transaction.
create or replace function lead_flow.tg_region_reference__compile() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    perform lead_flow.compile_region_for();
    return null;
  end
  $$;
comment on function lead_flow.tg_region_reference__compile() is
  'After any statement changing region_aliases or postcode_regions: regenerates lead_flow.region_for.';
revoke all on function lead_flow.tg_region_reference__compile() from public;
create or replace trigger tg_postcode_regions__compile
  after insert or update or delete or truncate on lead_flow.postcode_regions
  for each statement execute function lead_flow.tg_region_reference__compile();
create or replace trigger tg_region_aliases__compile
  after insert or update or delete or truncate on lead_flow.region_aliases
  for each statement execute function lead_flow.tg_region_reference__compile();

-- Earlier drafts had the parsing in helpers of their own.
drop function if exists lead_flow.fold_region_name(text);
drop function if exists lead_flow.postcode_pc4(text);
drop function if exists lead_flow.postcode_region(text);

-- The region slug for a spelling of a province (or a slug itself); NULL when unknown.
create or replace function public.normalize_region(p_name text) returns text
  language sql stable parallel safe set search_path = ''
  as $$ select lead_flow.region_for(p_name, null) $$;
comment on function public.normalize_region(text) is
  'The region slug (e.g. noord-brabant) for a province name in any usual spelling (''Noord-Brabant'', ''N-Brabant'', ''NB''); NULL when unknown.';

-- A lead's region: the province when it names one, otherwise the postcode. Never raises.
create or replace function public.extract_region(p_province text, p_postcode text) returns text
  language sql stable parallel safe set search_path = ''
  as $$ select lead_flow.region_for(p_province, p_postcode) $$;
comment on function public.extract_region(text, text) is
  'Region slug from a province name (any usual spelling) or else a Dutch postcode (''5611 AB'', ''5611ab'', ''5611'') through the PC4 reference; NULL when neither gives one. Never raises.';

-- Replace the PC4 reference with the rows in temp table pc4_staging(line, pc4_from, pc4_to, province),
-- atomically. Refuses an empty file, malformed rows, unknown provinces and overlapping PC4s with a
-- message naming the line; the table keeps what it had when anything is refused.
create or replace function lead_flow.replace_postcode_regions(out ranges integer, out postcodes integer)
  language plpgsql volatile set search_path = ''
  as $$
  declare
    bad record;
  begin
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

revoke all on function lead_flow.replace_postcode_regions() from public;
revoke all on function public.extract_region(text, text), public.normalize_region(text) from public;
grant execute on function public.extract_region(text, text), public.normalize_region(text),
  lead_flow.region_for(text, text) to anon, authenticated, service_role;
