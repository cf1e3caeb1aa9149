"""Migrations install on an empty database, re-apply as a no-op, and install onto a database where the
platform's tables already exist with more columns and data, losing nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
from yoyo import get_backend, read_migrations

from glue import db as glue_db

ROOT = Path(__file__).resolve().parent.parent

# A fingerprint of the schema: every column, function body, view definition, policy and index.
SCHEMA_FINGERPRINT = """
select md5(string_agg(item, E'\\n' order by item)) from (
  select format('col %s.%s.%s %s %s', table_schema, table_name, column_name, data_type, is_nullable)
    from information_schema.columns where table_schema in ('public', 'lead_flow', 'auth')
  union all
  select format('fn %s %s', p.oid::regprocedure, md5(p.prosrc))
    from pg_proc p where p.pronamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
  union all
  select format('view %s %s', c.oid::regclass, md5(pg_get_viewdef(c.oid)))
    from pg_class c
   where c.relkind in ('v', 'm') and c.relnamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
  union all
  select format('policy %s.%s %s %s', tablename, policyname, qual, with_check) from pg_policies
  union all
  select format('index %s', indexdef) from pg_indexes where schemaname in ('public', 'lead_flow')
) items (item)
"""


def fingerprint(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute(SCHEMA_FINGERPRINT).fetchone()[0]


def test_migrations_install_on_an_empty_database_and_reapply_as_a_no_op(fresh_database: str) -> None:
    glue_db.migrate(fresh_database)
    first = fingerprint(fresh_database)
    with psycopg.connect(fresh_database) as conn:
        applied = conn.execute("select count(*) from lead_flow._yoyo_migration").fetchone()[0]
        tables = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'public'"
            )
        }
    assert {
        "lead_segments",
        "lead_generation_stats",
        "lead_segment_plans",
        "channel_orchestration_log",
        "industries",
        "profiles",
        "leads",
        "lead_flow_settings",
    } <= tables

    glue_db.migrate(fresh_database)
    assert fingerprint(fresh_database) == first
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("select count(*) from lead_flow._yoyo_migration").fetchone()[0] == applied


def test_yoyo_bookkeeping_stays_out_of_the_exposed_schema(db: psycopg.Connection) -> None:
    exposed = db.execute(
        "select table_name from information_schema.tables "
        "where table_schema = 'public' and table_name like '%yoyo%'"
    ).fetchall()
    assert exposed == []


LIVE_PLATFORM = """
create schema auth;
create table auth.users (id uuid primary key, email text, instance_id uuid);
create function auth.uid() returns uuid language sql stable
  as $$ select '00000000-0000-0000-0000-000000000042'::uuid $$;
create table public.industries (id uuid primary key default gen_random_uuid(), name text not null unique,
                                 icon text default 'hammer');
create table public.profiles (id uuid primary key references auth.users (id), is_admin boolean default false,
                              company_name text, primary_branch text, regions text[], max_open_leads integer,
                              is_active_for_routing boolean default true, routing_priority integer,
                              phone text not null, stripe_customer_id text);
create table public.leads (id uuid primary key default gen_random_uuid(),
                           industry_id uuid references public.industries (id),
                           province text, postcode text, status text default 'new', price_at_purchase numeric,
                           user_id uuid references public.profiles (id), created_at timestamptz default now(),
                           name text not null, message text);
create materialized view public.partner_performance_stats as
  select p.id as partner_id, 7 as leads_assigned_30d, 3 as leads_accepted_30d, 0.43 as conversion_rate_30d,
         2 as open_leads_count, 'platform' as computed_by from public.profiles p;
create table public.system_logs (id uuid primary key default gen_random_uuid(), type text, message text,
                                 created_at timestamptz default now());
insert into auth.users values ('00000000-0000-0000-0000-000000000001', 'schilder@example.nl', null);
insert into public.industries (id, name) values ('00000000-0000-0000-0000-0000000000a1', 'Schilder');
insert into public.profiles (id, company_name, primary_branch, regions, max_open_leads, phone,
                             stripe_customer_id)
  values ('00000000-0000-0000-0000-000000000001', 'Verf & Co', 'schilder', '{Noord-Brabant}', 12,
          '+31 40 123', 'cus_1');
insert into public.leads (industry_id, province, postcode, name, message)
  values ('00000000-0000-0000-0000-0000000000a1', 'Noord-Brabant', '5611 AB', 'Jan', 'Gevel schilderen');
insert into public.system_logs (type, message) values ('info', 'platform line');
refresh materialized view public.partner_performance_stats;
"""


# Everything of a table a migrate could change: columns, ACL, RLS switch, policies, indexes, triggers.
SYSTEM_LOGS_SHAPE = """
select jsonb_build_object(
  'columns', (select jsonb_agg(format('%s %s %s', attname, format_type(atttypid, atttypmod), attacl)
                               order by attnum)
                from pg_attribute where attrelid = 'public.system_logs'::regclass and attnum > 0),
  'acl', (select relacl::text from pg_class where oid = 'public.system_logs'::regclass),
  'rls', (select relrowsecurity from pg_class where oid = 'public.system_logs'::regclass),
  'policies', (select jsonb_agg(polname order by polname) from pg_policy
                where polrelid = 'public.system_logs'::regclass),
  'indexes', (select jsonb_agg(indexrelid::regclass::text order by 1) from pg_index
               where indrelid = 'public.system_logs'::regclass),
  'triggers', (select jsonb_agg(tgname order by tgname) from pg_trigger
                where tgrelid = 'public.system_logs'::regclass))
"""


def test_migrations_install_onto_a_live_platform_database_losing_nothing(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, autocommit=True) as conn:
        conn.execute(LIVE_PLATFORM)
        uid_before = conn.execute(
            "select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure"
        ).fetchone()
        system_logs_before = conn.execute(SYSTEM_LOGS_SHAPE).fetchone()[0]

    glue_db.migrate(fresh_database)
    glue_db.migrate(fresh_database)

    with psycopg.connect(fresh_database) as conn:
        # Supabase's objects are untouched.
        assert (
            conn.execute("select prosrc from pg_proc where oid = 'auth.uid()'::regprocedure").fetchone()
            == uid_before
        )
        # The platform's rows and extra columns are all still there.
        profile = conn.execute(
            "select company_name, phone, stripe_customer_id, lead_industries from public.profiles"
        ).fetchone()
        assert profile == ("Verf & Co", "+31 40 123", "cus_1", [])
        lead = conn.execute("select name, message, province, segment_id is null from public.leads").fetchone()
        assert lead[:3] == ("Jan", "Gevel schilderen", "Noord-Brabant")
        assert conn.execute("select icon from public.industries").fetchone() == ("hammer",)
        # The platform's own materialized view definition is kept, not rewritten.
        assert conn.execute("select computed_by from public.partner_performance_stats").fetchone() == (
            "platform",
        )
        # system_logs is the platform's: its rows, columns, ACL, RLS switch and indexes exactly as before;
        # Lead Flow logs to its own table.
        assert conn.execute("select type, message from public.system_logs").fetchone() == (
            "info",
            "platform line",
        )
        assert conn.execute(SYSTEM_LOGS_SHAPE).fetchone()[0] == system_logs_before
        assert conn.execute("select count(*) from public.lead_flow_logs").fetchone() == (0,)
        # The Lead Flow tables are there and the existing lead can be assigned by the backfill.
        assert conn.execute("select count(*) from public.lead_segments").fetchone() == (0,)
        assert conn.execute("select lead_flow.assign_segments_to_leads()").fetchone() == (1,)
        assert conn.execute(
            "select s.code from public.leads l join public.lead_segments s on s.id = l.segment_id"
        ).fetchone() == ("schilder_noord_brabant",)


# The last release before the install was made safe for a live platform (stop 11): a database
# installed from it must upgrade with `leadflow migrate`, although later commits edited some of its
# migrations (an applied migration is never run again, so what they add must come from new ones).
PREVIOUS_RELEASE = "ccf9a8cc26c7c585ea0a15c7376459e71154feaf"


def _install_release(url: str, rev: str, into: Path) -> None:
    """Install `rev`'s migrations and sql/ as that release's migrate did (yoyo, then sql/ in order)."""
    archive = subprocess.run(["git", "archive", rev, "migrations", "sql"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema if not exists lead_flow")
    backend = get_backend(glue_db._yoyo_url(url))
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(read_migrations(str(into / "migrations"))))
    finally:
        backend.connection.close()
    with psycopg.connect(url) as conn:
        for sql_file in sorted((into / "sql").glob("*.sql")):
            conn.execute(sql_file.read_text())


def test_a_database_of_the_previous_release_upgrades(fresh_database: str, tmp_path: Path) -> None:
    _install_release(fresh_database, PREVIOUS_RELEASE, tmp_path)
    result = glue_db.migrate(fresh_database, quiet=True)
    assert result.migrations and result.sql_applied
    with psycopg.connect(fresh_database) as conn:
        # Lead Flow's own log exists, under RLS, and the nightly steps write to it.
        assert conn.execute(
            "select relrowsecurity from pg_class where oid = 'public.lead_flow_logs'::regclass"
        ).fetchone() == (True,)
        # The generators' statement triggers are gone; the lead and profile triggers are in place.
        triggers = {
            r[0]
            for r in conn.execute(
                "select tgname from pg_trigger where not tgisinternal and tgrelid in "
                "('public.industries'::regclass, 'public.lead_segments'::regclass, 'public.leads'::regclass)"
            )
        }
        assert "tg_industries__compile_assignment" not in triggers
        assert "tg_lead_segments__compile_assignment" not in triggers
        assert {"tg_leads__assign_segment", "tg_leads__reassign_segment"} <= triggers
        # And the upgraded database works: a lead gets its segment, a night runs and logs.
        industry = conn.execute(
            "insert into public.industries (name) values ('Schilder') returning id"
        ).fetchone()
        conn.execute("insert into public.lead_segments (branch, region) values ('schilder', 'utrecht')")
        segment = conn.execute(
            "insert into public.leads (industry_id, province) values (%s, 'Utrecht') returning segment_id",
            industry,
        ).fetchone()[0]
        assert segment is not None
        statuses = conn.execute(
            "select status from lead_flow.run_lead_flow_nightly(current_date - 1)"
        ).fetchall()
        assert statuses and {s for (s,) in statuses} == {"success"}
        assert conn.execute("select count(*) > 0 from public.lead_flow_logs").fetchone() == (True,)
