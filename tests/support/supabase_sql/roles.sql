-- Supabase's cluster-wide roles, as its init scripts and migrations leave them (supabase/postgres:
-- 00000000000000-initial-schema, 00000000000001-auth-schema, 10000000000000_demote-postgres,
-- 00000000000003-post-setup). Run once per cluster by the superuser supabase_admin.
create role postgres nosuperuser createdb createrole login replication bypassrls;
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit;
grant anon, authenticated, service_role to authenticator;
create role supabase_auth_admin noinherit createrole login noreplication;
create role supabase_storage_admin noinherit createrole login noreplication;
create role dashboard_user nosuperuser createdb createrole replication;
create role supabase_replication_admin login replication;
create role supabase_read_only_user login bypassrls;
grant pg_read_all_data to supabase_read_only_user;
-- postgres: member of the API roles and the service admins (what a dashboard SQL session can be).
grant anon, authenticated, service_role, supabase_auth_admin, supabase_storage_admin to postgres;
grant pg_monitor, pg_read_all_data, pg_signal_backend to postgres;
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
alter role supabase_admin set search_path to "$user", public, auth, extensions;
alter role postgres set search_path to "$user", public, extensions;
alter role supabase_auth_admin set search_path = auth;
