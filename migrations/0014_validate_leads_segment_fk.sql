-- The leads -> lead_segments foreign key was added NOT VALID (migration 0003), so adding it scanned
-- nothing under a lock. Validating it here, in a transaction of its own, scans the existing leads
-- under SHARE UPDATE EXCLUSIVE, which lets lead inserts and updates go on meanwhile.
-- depends: 0003_lead_flow_tables

do $$
begin
  if exists (select from pg_catalog.pg_constraint
              where conrelid = 'public.leads'::regclass and conname = 'leads_segment_id_fkey' and not convalidated) then
    alter table public.leads validate constraint leads_segment_id_fkey;
  end if;
end
$$;
