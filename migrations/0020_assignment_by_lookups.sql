-- Lead assignment by plain lookups (issue 14): lead_flow.region_for and lead_flow.segment_for_lead
-- read the reference tables through their indexes (sql/10_regions.sql, sql/20_segments.sql) instead
-- of being generated, by DDL at run time, with the tables' rows baked in as constants. So the
-- generators go, with the statement triggers that ran them whenever region_aliases,
-- postcode_regions, lead_segments or the platform's industries changed; and code_part, half of a
-- second copy of the segment-code rule (lead_flow.segment_code is the one rule now).
-- Also here, out of sql/ (which says what exists): the drops of objects of earlier versions that
-- sql/10_regions.sql and sql/20_segments.sql carried.
-- Kept: region_for, segment_for_lead and segment_for_unmapped_lead by name and signature, so the
-- lead trigger works with the old bodies until sql/ replaces them in the same migrate. Between this
-- migration and that apply of sql/ (a second or two, once) the old bodies that called code_part fail
-- where they run: the slow path of assignment (caught: the lead is stored, segment NULL, a log line)
-- and a partner's edit of branches or regions in its profile (the old segment-code refresh).
-- depends: 0002_platform_baseline 0003_lead_flow_tables 0004_postcode_regions 0015_platform_triggers

-- The generators and their triggers (those on industries and lead_segments: below, only where present).
drop trigger if exists tg_postcode_regions__compile on lead_flow.postcode_regions;
drop trigger if exists tg_region_aliases__compile on lead_flow.region_aliases;

-- Triggers of earlier versions on the platform's industries and on lead_segments (whose rows every
-- lead's foreign-key check reads): the generator's, and those of a lookup table
-- (lead_flow.industry_segments). Dropped only where present: `drop trigger if exists` locks the table
-- (ACCESS EXCLUSIVE) even when there is nothing to drop.
do $$
declare
  r record;
begin
  for r in select t.tgname, t.tgrelid::regclass as tbl from pg_catalog.pg_trigger t
            where t.tgrelid in ('public.industries'::regclass, 'public.lead_segments'::regclass)
              and (t.tgname like 'tg\_%\_\_industry\_segments\_%'
                   or t.tgname in ('tg_industries__compile_assignment', 'tg_lead_segments__compile_assignment')) loop
    execute format('drop trigger %I on %s', r.tgname, r.tbl);
  end loop;
end
$$;

drop function if exists lead_flow.tg_region_reference__compile();
drop function if exists lead_flow.tg_segment_assignment_inputs__compile();
drop function if exists lead_flow.compile_region_for();
drop function if exists lead_flow.compile_segment_for_lead();
drop function if exists lead_flow.region_key_expression(text);
drop function if exists lead_flow.code_part(text);

-- Earlier versions: the region rule as text for two functions to inline, and parsing helpers.
drop function if exists lead_flow.region_rule_expression(text, text);
drop function if exists lead_flow.region_resolver_source(text, text);
drop function if exists lead_flow.fold_region_name(text);
drop function if exists lead_flow.postcode_pc4(text);
drop function if exists lead_flow.postcode_region(text);

-- Earlier versions: a generated lead trigger function, regenerated on changes to the region reference.
drop trigger if exists tg_postcode_regions__compile_assignment on lead_flow.postcode_regions;
drop trigger if exists tg_region_aliases__compile_assignment on lead_flow.region_aliases;
drop function if exists lead_flow.compile_lead_segment_trigger();

drop function if exists lead_flow.tg_industry_segments__maintain();
drop function if exists lead_flow.rebuild_industry_segments();
