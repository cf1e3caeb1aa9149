-- The Supabase shape on a plain PostgreSQL: roles anon, authenticated, service_role, a login role
-- authenticator, and an `auth` schema with uid(), role(), jwt() and users. Every object is created
-- only where the database lacks it, so on a real Supabase database nothing of Supabase's is touched.

do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
    grant anon, authenticated, service_role to authenticator;
  end if;
end
$$;

do $$
begin
  if not exists (select from pg_catalog.pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to anon, authenticated, service_role;
  end if;

  if to_regclass('auth.users') is null then
    create table auth.users (
      id uuid primary key default gen_random_uuid(),
      email text unique,
      raw_app_meta_data jsonb not null default '{}',
      raw_user_meta_data jsonb not null default '{}',
      created_at timestamptz not null default now()
    );
  end if;

  -- Claims reach SQL through PostgREST's request.jwt.claims, exactly as on Supabase.
  if to_regprocedure('auth.jwt()') is null then
    create function auth.jwt() returns jsonb
      language sql stable
      as $f$ select coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
    grant execute on function auth.jwt() to anon, authenticated, service_role;
  end if;

  if to_regprocedure('auth.uid()') is null then
    create function auth.uid() returns uuid
      language sql stable
      as $f$
        select nullif(coalesce(current_setting('request.jwt.claim.sub', true),
                               auth.jwt() ->> 'sub'), '')::uuid
      $f$;
    grant execute on function auth.uid() to anon, authenticated, service_role;
  end if;

  if to_regprocedure('auth.role()') is null then
    create function auth.role() returns text
      language sql stable
      as $f$
        select nullif(coalesce(current_setting('request.jwt.claim.role', true),
                               auth.jwt() ->> 'role'), '')
      $f$;
    grant execute on function auth.role() to anon, authenticated, service_role;
  end if;
end
$$;

-- Extensions stay out of the exposed schema (Supabase keeps them in `extensions`; there it exists and
-- keeps its own grants).
do $$
begin
  if not exists (select from pg_catalog.pg_namespace where nspname = 'extensions') then
    create schema extensions;
    grant usage on schema extensions to anon, authenticated, service_role;
  end if;
end
$$;
