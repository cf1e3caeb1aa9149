-- pg_cron as the dashboard enables it: created by supabase_admin; postgres may use schema cron and
-- call cron.schedule / cron.unschedule, may read cron.job, and may not write it directly
-- (supabase/postgres 00000000000003-post-setup's grant_pg_cron_access, 20231020085357).
create extension pg_cron with schema pg_catalog;
grant usage on schema cron to postgres with grant option;
grant all privileges on all tables in schema cron to postgres with grant option;
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;
grant execute on all functions in schema cron to postgres;
