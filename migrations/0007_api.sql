-- The API's bookkeeping: who set a target override. Admins write overrides through PostgREST
-- without a grant on created_by, so the column is filled from the caller's JWT, never from the body.
-- depends: 0001_supabase_shim 0003_lead_flow_tables

alter table public.lead_segment_target_overrides alter column created_by set default auth.uid();
comment on column public.lead_segment_target_overrides.created_by is
  'The auth user (admin) who set the override; filled from the JWT, NULL for service_role and SQL callers.';
