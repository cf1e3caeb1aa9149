-- The leads -> lead_segments foreign key (migration 0003) and the checks on the marketing columns
-- Lead Flow added to profiles (migration 0008) were added NOT VALID, so adding them scanned nothing
-- under a lock. Validating them here, in a transaction of their own, scans the existing rows under
-- SHARE UPDATE EXCLUSIVE, which lets inserts and updates go on meanwhile.
-- depends: 0003_lead_flow_tables 0008_partner_marketing

do $$
begin
  if exists (select from pg_catalog.pg_constraint
              where conrelid = 'public.leads'::regclass and conname = 'leads_segment_id_fkey' and not convalidated) then
    alter table public.leads validate constraint leads_segment_id_fkey;
  end if;
end
$$;

do $$
declare
  c text;
begin
  for c in select conname from pg_catalog.pg_constraint
            where conrelid = 'public.profiles'::regclass and not convalidated
              and conname in ('profiles_marketing_mode_known', 'profiles_monthly_marketing_budget_nonnegative',
                              'profiles_brand_color_hex', 'profiles_logo_url_https', 'profiles_tone_of_voice_length') loop
    execute format('alter table public.profiles validate constraint %I', c);
  end loop;
end
$$;
