-- Lead Flow's triggers on the platform's tables (leads, profiles), created once here and
-- never again by the re-applied sql/: creating or replacing a trigger locks its table against inserts
-- (SHARE ROW EXCLUSIVE) until the transaction commits, and sql/ is applied in one transaction after
-- every migrate. So sql/ only replaces the trigger FUNCTIONS (which takes no lock on the table); a
-- change to a trigger's definition (its events, columns or WHEN) is a new migration.
-- Where a function does not exist yet (a fresh install: migrations run before sql/) it is created
-- here as a stub that changes nothing; sql/20, 30 and 92 replace it with the real body in the same
-- migrate. Until then a lead is inserted as if the trigger were not there (segment_id NULL, which
-- the nightly aggregate's assignment backfill picks up).
-- depends: 0002_platform_baseline 0003_lead_flow_tables 0008_partner_marketing

do $$
declare
  f text;
begin
  foreach f in array array['lead_flow.tg_leads__assign_segment', 'lead_flow.tg_profiles__validate_marketing'] loop
    if to_regprocedure(f || '()') is null then
      execute format($s$create function %s() returns trigger language plpgsql set search_path = ''
                        as 'begin return new; end'$s$, f);
      execute format('comment on function %s() is %L', f, 'Stub until sql/ is applied: passes the row through.');
      execute format('revoke all on function %s() from public, anon, authenticated', f);
    end if;
  end loop;
  foreach f in array array['lead_flow.tg_profiles__segment_codes'] loop
    if to_regprocedure(f || '()') is null then
      execute format($s$create function %s() returns trigger language plpgsql set search_path = ''
                        as 'begin return null; end'$s$, f);
      execute format('comment on function %s() is %L', f, 'Stub until sql/ is applied: does nothing.');
      execute format('revoke all on function %s() from public, anon, authenticated', f);
    end if;
  end loop;
end
$$;

-- leads: a lead's segment_id on insert, and again when industry, province or postcode change; a
-- segment_id the caller sets explicitly is kept. Two triggers because only an update's condition can
-- see OLD; the conditions run in the executor, so a lead that needs nothing costs no function call.
create or replace trigger tg_leads__assign_segment
  before insert on public.leads
  for each row when (new.segment_id is null) execute function lead_flow.tg_leads__assign_segment();
create or replace trigger tg_leads__reassign_segment
  before update of industry_id, province, postcode on public.leads
  for each row
  when (new.segment_id is not distinct from old.segment_id
        and (new.industry_id, new.province, new.postcode) is distinct from (old.industry_id, old.province, old.postcode))
  execute function lead_flow.tg_leads__assign_segment();

-- profiles: the segment codes a partner's profile names (sql/30_capacity.sql), per statement, and
-- the marketing profile's validation with messages a person can act on (sql/92_partner_marketing.sql).
create or replace trigger tg_profiles__segment_codes_insert
  after insert on public.profiles referencing new table as new_rows
  for each statement execute function lead_flow.tg_profiles__segment_codes();
create or replace trigger tg_profiles__segment_codes_update
  after update on public.profiles referencing old table as old_rows new table as new_rows
  for each statement execute function lead_flow.tg_profiles__segment_codes();
create or replace trigger tg_profiles__validate_marketing
  before insert or update of marketing_mode, monthly_marketing_budget, brand_color, logo_url, tone_of_voice,
    preferred_channels on public.profiles
  for each row execute function lead_flow.tg_profiles__validate_marketing();
