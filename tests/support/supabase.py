"""A Supabase-shaped PostgreSQL for install tests: a throwaway cluster of its own (roles are
cluster-global, so Supabase's roles never leak into the main test cluster), initdb'd with the
superuser `supabase_admin`, with Supabase's roles, memberships, default privileges, `auth` schema
owned by `supabase_auth_admin`, `extensions` schema, pg_cron enabled by supabase_admin where asked,
and a live platform created by `postgres` (tests/support/supabase_sql/*.sql say what each part is).

Lead Flow is then installed as `postgres`, the way an operator installs it on Supabase.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from glue.lab.stack import LocalPostgres, free_port

SQL = Path(__file__).parent / "supabase_sql"
SUPERUSER = "supabase_admin"
CRON_DATABASE = "postgres"


@dataclass
class SupabaseCluster(LocalPostgres):
    """LocalPostgres with Supabase's superuser and pg_cron serving the database `postgres`."""

    superuser = SUPERUSER
    cron_database = CRON_DATABASE
    max_connections = 100

    def start(self) -> None:
        self._start_server()
        with psycopg.connect(self.url("postgres", SUPERUSER), autocommit=True) as conn:
            if conn.execute("select count(*) from pg_roles where rolname = 'anon'").fetchone()[0] == 0:
                conn.execute((SQL / "roles.sql").read_text())

    def admin_url(self, database: str) -> str:
        return self.url(database, SUPERUSER)

    def postgres_url(self, database: str) -> str:
        return self.url(database, "postgres")

    def build_database(self, name: str, *, pg_cron: bool = False, platform: bool = True) -> str:
        """A Supabase project's database `name` (created unless it is `postgres`): Supabase's shape,
        pg_cron enabled by supabase_admin when asked (only in CRON_DATABASE), then the platform
        created by postgres. Returns postgres's URL for it."""
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            if name != "postgres":
                conn.execute(f'create database "{name}"')
            conn.execute(f'grant all on database "{name}" to postgres, dashboard_user')
        with psycopg.connect(self.admin_url(name), autocommit=True) as conn:
            conn.execute((SQL / "database.sql").read_text())
            if pg_cron:
                conn.execute((SQL / "pg_cron.sql").read_text())
        if platform:
            with psycopg.connect(self.postgres_url(name), autocommit=True) as conn:
                conn.execute((SQL / "platform.sql").read_text())
        return self.postgres_url(name)

    def copy_database(self, template: str, name: str) -> str:
        """A new database `name` as a copy of `template` (nobody may be connected to it)."""
        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'create database "{name}" template "{template}"')
            conn.execute(f'grant all on database "{name}" to postgres, dashboard_user')
        return self.postgres_url(name)


def start_cluster() -> SupabaseCluster:
    base = Path(tempfile.mkdtemp(prefix="leadflow-supabase-"))
    cluster = SupabaseCluster(base, free_port())
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return cluster


def remove_cluster(cluster: SupabaseCluster) -> None:
    cluster.stop()
    shutil.rmtree(cluster.base, ignore_errors=True)


# Everything an install could change about what exists, one row per item: (key, parent, value).
# parent is the relation (schema.name) for columns, constraints, indexes, triggers, policies and view
# definitions; the schema for relations and functions; 'database' / 'cluster' for the rest. Internal
# triggers (foreign keys' own) are left out: a new table's foreign key adds them to what it references.
FINGERPRINT = """
with rel as (
  select c.oid, c.oid::regclass::text as name, n.nspname, c.relkind, c.relowner, c.relacl, c.relrowsecurity,
         c.relforcerowsecurity, c.reloptions
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname in ('public', 'auth', 'extensions', 'cron', 'lead_flow')
     and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
)
select 'relation ' || r.name, r.nspname,
       format('%s owner=%s acl=%s rls=%s force=%s opts=%s', r.relkind, r.relowner::regrole, r.relacl,
              r.relrowsecurity, r.relforcerowsecurity, r.reloptions)
  from rel r
union all
select format('column %s.%s', r.name, a.attname), r.name,
       format('%s notnull=%s default=%s acl=%s generated=%s identity=%s',
              format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attacl,
              a.attgenerated, a.attidentity)
  from rel r join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
union all
select format('constraint %s.%s', r.name, con.conname), r.name,
       format('%s validated=%s', pg_get_constraintdef(con.oid), con.convalidated)
  from rel r join pg_constraint con on con.conrelid = r.oid
union all
select format('index %s.%s', r.name, ic.relname), r.name,
       format('%s valid=%s', pg_get_indexdef(i.indexrelid), i.indisvalid)
  from rel r join pg_index i on i.indrelid = r.oid join pg_class ic on ic.oid = i.indexrelid
union all
select format('trigger %s.%s', r.name, t.tgname), r.name,
       format('%s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
  from rel r join pg_trigger t on t.tgrelid = r.oid and not t.tgisinternal
union all
select format('policy %s.%s', r.name, p.polname), r.name,
       format('%s %s to %s using %s check %s', p.polcmd, p.polpermissive,
              (select string_agg(coalesce(rr.rolname, 'public'), ',' order by rr.rolname)
                 from unnest(p.polroles) pr (oid) left join pg_roles rr on rr.oid = pr.oid),
              pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
  from rel r join pg_policy p on p.polrelid = r.oid
union all
select 'viewdef ' || r.name, r.name, md5(pg_get_viewdef(r.oid))
  from rel r where r.relkind in ('v', 'm')
union all
select 'function ' || p.oid::regprocedure, n.nspname,
       format('owner=%s acl=%s definer=%s config=%s volatile=%s src=%s', p.proowner::regrole, p.proacl,
              p.prosecdef, p.proconfig, p.provolatile, md5(p.prosrc))
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname in ('public', 'auth', 'extensions', 'cron', 'lead_flow')
union all
select 'schema ' || n.nspname, 'database', format('owner=%s acl=%s', n.nspowner::regrole, n.nspacl)
  from pg_namespace n where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
union all
select 'role ' || r.rolname, 'cluster',
       format('super=%s inherit=%s createrole=%s createdb=%s login=%s repl=%s bypassrls=%s member_of=%s '
              'config=%s', r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
              r.rolreplication, r.rolbypassrls,
              (select string_agg(g.rolname || case when m.admin_option then '*' else '' end, ','
                                 order by g.rolname)
                 from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid),
              (select string_agg(array_to_string(s.setconfig, ';'), '|' order by s.setdatabase)
                 from pg_db_role_setting s where s.setrole = r.oid))
  from pg_roles r
union all
select format('default_acl %s %s %s', d.defaclrole::regrole, coalesce(n.nspname, '*'), d.defaclobjtype),
       'database', d.defaclacl::text
  from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
union all
select 'extension ' || e.extname, 'database', format('%s in %s', e.extversion, e.extnamespace::regnamespace)
  from pg_extension e
union all
select 'database ' || d.datname, 'cluster', format('owner=%s acl=%s', d.datdba::regrole, d.datacl)
  from pg_database d where d.datname = current_database()
union all
select 'event_trigger ' || e.evtname, 'database',
       format('%s %s %s', e.evtevent, e.evtfoid::regprocedure, e.evtenabled)
  from pg_event_trigger e
"""


def fingerprint(url: str) -> dict[str, tuple[str, str]]:
    """key -> (parent, value) for everything FINGERPRINT lists."""
    with psycopg.connect(url) as conn:
        conn.execute("set search_path = pg_catalog")  # names schema-qualified, whoever connects
        return {key: (parent, value) for key, parent, value in conn.execute(FINGERPRINT)}
