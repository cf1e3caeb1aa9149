"""Supabase's database linter (splinter), as catalog queries over the migrated database.

Each check is one SQL query that returns one text row per finding; the test prints the findings and
expects none. The exposed schema is `public` (what PostgREST serves); `lead_flow` is the internal
schema, whose functions must still have a fixed search_path and whose foreign keys need indexes.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# What clients call lives in the API files; everything else in `lead_flow` (issue 14 item 3).
API_FILES = ("91_api.sql", "93_partner_marketing_api.sql")

# Functions that belong to an extension are the extension's business, not ours.
_NOT_EXTENSION_MEMBER = """
  not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                                        and d.deptype = 'e')"""

# Policy expressions that call a per-request function (auth.uid(), auth.jwt(), current_setting(),
# lead_flow.is_admin()) without wrapping it as (select ...), which re-evaluates it for every row.
_AUTH_CALL = r"(auth\.(uid|role|jwt)|current_setting|lead_flow\.is_admin)\("

# The platform's tables in `public` (created by the platform, or by migration 0002 where it is absent).
PLATFORM_TABLES = ("industries", "profiles", "leads", "system_logs")

CHECKS: dict[str, str] = {
    # 0013 rls_disabled_in_public
    "rls_disabled_in_public": """
        select format('table %s has row level security disabled', c.oid::regclass)
          from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
           and not c.relrowsecurity""",
    # 0007 policy_exists_rls_disabled
    "policy_exists_rls_disabled": """
        select distinct format('table %s has policies but row level security is disabled', c.oid::regclass)
          from pg_policy pol join pg_class c on c.oid = pol.polrelid
         where not c.relrowsecurity""",
    # 0010 security_definer_view
    "security_definer_view": """
        select format('view %s runs as its owner (no security_invoker), bypassing the caller''s RLS',
                      c.oid::regclass)
          from pg_class c
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'v'
           and coalesce((select lower(o.option_value) from pg_options_to_table(c.reloptions) o
                          where o.option_name = 'security_invoker'), 'false')
               not in ('true', 'on', '1', 'yes')""",
    # 0011 function_search_path_mutable
    "function_search_path_mutable": f"""
        select format('function %s has no fixed search_path', p.oid::regprocedure)
          from pg_proc p
         where p.pronamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
           and p.prokind in ('f', 'p')
           and not exists (select from unnest(p.proconfig) cfg where cfg like 'search\\_path=%')
           and {_NOT_EXTENSION_MEMBER}""",
    # 0003 auth_rls_initplan
    "auth_rls_initplan": f"""
        select format('policy %s on %s.%s calls %s per row: wrap it as (select ...)', pol.policyname,
                      pol.schemaname, pol.tablename, expr)
          from pg_policies pol
         cross join lateral (values (pol.qual), (pol.with_check)) e (expr)
         where pol.schemaname in ('public', 'lead_flow') and expr is not null
           and regexp_count(expr, '{_AUTH_CALL}') > regexp_count(expr, 'SELECT {_AUTH_CALL}')""",
    # 0024 rls_policy_always_true (permissive writes)
    "rls_policy_always_true": """
        select format('policy %s on %s.%s allows every row for %s (using/with check true)', pol.policyname,
                      pol.schemaname, pol.tablename, pol.cmd)
          from pg_policies pol
         where pol.schemaname in ('public', 'lead_flow') and pol.cmd in ('INSERT', 'UPDATE', 'DELETE', 'ALL')
           and pol.permissive = 'PERMISSIVE'
           and (btrim(pol.qual) = 'true' or btrim(pol.with_check) = 'true')""",
    # 0006 multiple_permissive_policies (each one is evaluated for every row)
    "multiple_permissive_policies": """
        select format('table %s.%s has %s permissive %s policies for %s: %s', pol.schemaname, pol.tablename,
                      count(*), c.command, r.role, string_agg(pol.policyname, ', ' order by pol.policyname))
          from pg_policies pol
         cross join lateral unnest(pol.roles) r (role)
         cross join lateral unnest(case pol.cmd when 'ALL' then array['SELECT', 'INSERT', 'UPDATE', 'DELETE']
                                                else array[pol.cmd] end) c (command)
         where pol.schemaname in ('public', 'lead_flow') and pol.permissive = 'PERMISSIVE'
         group by pol.schemaname, pol.tablename, r.role, c.command
        having count(*) > 1""",
    # 0014 extension_in_public
    "extension_in_public": """
        select format('extension %s is installed in schema public', e.extname)
          from pg_extension e
         where e.extnamespace = 'public'::regnamespace""",
    # 0001 unindexed_foreign_keys
    "unindexed_foreign_keys": """
        select format('foreign key %s on %s (%s) has no index starting with its columns', con.conname,
                      con.conrelid::regclass,
                      (select string_agg(a.attname, ', ') from unnest(con.conkey) k (attnum)
                         join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum))
          from pg_constraint con
          join pg_class c on c.oid = con.conrelid
         where con.contype = 'f' and c.relnamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
           and not exists (
             select from pg_index i
              where i.indrelid = con.conrelid
                and (select array_agg(x order by x)
                       from unnest((i.indkey::int2[])[0:cardinality(con.conkey) - 1]) x)
                    = (select array_agg(x order by x) from unnest(con.conkey) x))""",
    # 0028/0029 anon/authenticated_security_definer_function_executable
    "security_definer_function_executable": """
        select format('SECURITY DEFINER function %s in the exposed schema is executable by %s',
                      p.oid::regprocedure, r.rolname)
          from pg_proc p
         cross join (values ('anon'), ('authenticated')) r (rolname)
         where p.pronamespace = 'public'::regnamespace and p.prosecdef
           and has_function_privilege(r.rolname, p.oid, 'EXECUTE')""",
    # 0016 materialized_view_in_api
    "materialized_view_in_api": """
        select format('materialized view %s is readable by %s through the API', c.oid::regclass, r.rolname)
          from pg_class c
         cross join (values ('anon'), ('authenticated')) r (rolname)
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'm'
           and has_table_privilege(r.rolname, c.oid, 'SELECT')""",
    # 0009 duplicate_index
    "duplicate_index": """
        select format('indexes %s on %s are identical', string_agg(i.indexrelid::regclass::text, ', '),
                      i.indrelid::regclass)
          from pg_index i
          join pg_class c on c.oid = i.indrelid
         where c.relnamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
         group by i.indrelid, i.indkey::text, i.indclass::text, i.indcollation::text,
                  coalesce(pg_get_expr(i.indexprs, i.indrelid), ''),
                  coalesce(pg_get_expr(i.indpred, i.indrelid), '')
        having count(*) > 1""",
    # The API documents itself: PostgREST's OpenAPI shows these comments (for what API roles may use:
    # a table or view they may read or write, a function they may execute). The platform's tables are
    # the platform's to describe: Lead Flow never comments them.
    "exposed_object_without_comment": f"""
        select format('%s %s has no COMMENT', kind, name)
          from (select case when c.relkind in ('r', 'p') then 'table' else 'view' end as kind,
                       c.oid::regclass::text as name, obj_description(c.oid, 'pg_class') as doc
                  from pg_class c
                 where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
                   and c.relname not in ({", ".join(f"'{t}'" for t in PLATFORM_TABLES)})
                   and (has_table_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, DELETE')
                        or has_table_privilege('authenticated', c.oid, 'SELECT, INSERT, UPDATE, DELETE'))
                union all
                select 'function', p.oid::regprocedure::text, obj_description(p.oid, 'pg_proc')
                  from pg_proc p
                 where p.pronamespace = 'public'::regnamespace and p.prokind in ('f', 'p')
                   and p.prorettype <> 'trigger'::regtype and {_NOT_EXTENSION_MEMBER}
                   and (has_function_privilege('anon', p.oid, 'EXECUTE')
                        or has_function_privilege('authenticated', p.oid, 'EXECUTE'))) o
         where coalesce(btrim(doc), '') = ''""",
}


# plpgsql_check over every PL/pgSQL function and trigger function of ours (installed by the test
# stack in `extensions`: tests/conftest.py). Apart from CHECKS, which also run on a Supabase-shaped
# install that lacks the extension (tests/test_supabase_install.py).
#
# Every warning class is on, each for a reason:
#   other_warnings       assignments between different types, variables that shadow others;
#   extra_warnings       dead code: variables never read, parameters never used, no RETURN;
#   performance_warnings hidden casts (an index not used, a conversion per row), wrong volatility;
#   security_warnings    EXECUTE of text that was not built with format's %I/%L or quote_*();
#   compatibility_warnings constructs newer PostgreSQL versions drop.
# fatal_errors off: a function's every error is listed, not only its first. A temporary table made at
# run time is declared to the checker where it is made, by a pragma that costs nothing at run time
# and needs no extension: `perform 'PRAGMA:TABLE: pg_temp.name (col type, ...)'`.
# A trigger function is checked against each table it is attached to, with the transition tables
# (REFERENCING NEW/OLD TABLE) its triggers there name; one attached to no table is reported, since
# nothing calls it and it cannot be checked.
PLPGSQL_CHECK = f"""
    with targets as (
      select p.oid as fn, p.prorettype = 'trigger'::regtype as is_trigger,
             coalesce(t.relid, 0) as relid, t.oldtable, t.newtable
        from pg_proc p
        join pg_language l on l.oid = p.prolang and l.lanname = 'plpgsql'
        left join lateral (select tg.tgrelid as relid, max(tg.tgoldtable::text)::name as oldtable,
                                  max(tg.tgnewtable::text)::name as newtable
                             from pg_trigger tg where tg.tgfoid = p.oid
                            group by tg.tgrelid) t on p.prorettype = 'trigger'::regtype
       where p.pronamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
         and p.prokind in ('f', 'p') and {_NOT_EXTENSION_MEMBER}
    )
    select format('%s%s line %s: %s %s: %s%s', x.fn::regprocedure,
                  case when x.relid <> 0 then ' on ' || x.relid::regclass::text else '' end,
                  coalesce(r.lineno::text, '-'), r.level, r.sqlstate, r.message,
                  coalesce(' (' || r.detail || ')', '') || coalesce(' [' || left(r.query, 80) || ']', ''))
      from targets x
     cross join lateral extensions.plpgsql_check_function_tb(
             x.fn, x.relid, fatal_errors => false, other_warnings => true, extra_warnings => true,
             performance_warnings => true, security_warnings => true, compatibility_warnings => true,
             oldtable => x.oldtable, newtable => x.newtable) r
     where not (x.is_trigger and x.relid = 0)
    union all
    select format('trigger function %s is attached to no table: nothing calls it, and it cannot be checked',
                  x.fn::regprocedure)
      from targets x
     where x.is_trigger and x.relid = 0"""


def plpgsql_check(conn: psycopg.Connection) -> list[str]:
    """PLPGSQL_CHECK's findings, and the checker's own warnings (a pragma it could not read: its table
    or option silently does not apply)."""
    warnings: list[str] = []

    def on_notice(diag: psycopg.errors.Diagnostic) -> None:
        if diag.severity_nonlocalized == "WARNING":
            warnings.append(
                f"plpgsql_check warns: {diag.message_primary} {diag.message_detail or ''}".strip()
            )

    conn.add_notice_handler(on_notice)
    try:
        return [row[0] for row in conn.execute(PLPGSQL_CHECK).fetchall()] + warnings
    finally:
        conn.remove_notice_handler(on_notice)


def test_plpgsql_check_finds_nothing(db: psycopg.Connection) -> None:
    findings = plpgsql_check(db)
    for finding in findings:
        print(f"plpgsql_check: {finding}")
    assert findings == [], f"plpgsql_check: {len(findings)} finding(s):\n" + "\n".join(findings)


def lint_trigger(db: psycopg.Connection, name: str, body: str, *, new_table: str | None = None,
                 row: bool = False) -> None:
    """A trigger function lead_flow.<name> (its body between begin and end) and a trigger of that name
    on lead_flow.zz_lint_t: before insert for each row, or after insert for each statement with its
    transition table called new_table; neither: the function alone."""
    db.execute(
        f"create function lead_flow.{name}() returns trigger language plpgsql set search_path = '' "
        f"as $$ begin {body} end $$"
    )
    if row:
        when = "before insert on lead_flow.zz_lint_t for each row"
    elif new_table:
        when = f"after insert on lead_flow.zz_lint_t referencing new table as {new_table} for each statement"
    else:
        return
    db.execute(f"create trigger {name} {when} execute function lead_flow.{name}()")


def test_plpgsql_check_detects_what_it_claims_to(db: psycopg.Connection) -> None:
    """Dead code, a missing column, an unchecked temporary table, a pragma the checker cannot read (a
    newline in it), a wrong column in a trigger and in its transition table, unsanitized dynamic SQL
    and an unattached trigger function are findings; the same code written right, or with its
    temporary table declared by a pragma, is not."""
    db.execute("create table lead_flow.zz_lint_t (id int primary key, amount numeric)")
    db.execute(
        """create function lead_flow.zz_lint_dead(p_unused int) returns int
             language plpgsql set search_path = '' as $$
             declare v_never_read int := 1;
             begin return (select count(*)::int from lead_flow.zz_lint_t t where t.no_such_column); end $$"""
    )
    db.execute(
        """create function lead_flow.zz_lint_temp() returns int
             language plpgsql set search_path = '' as $$
             begin
               create temp table zz_lint_scratch (id int) on commit drop;
               return (select count(*)::int from pg_temp.zz_lint_scratch);
             end $$"""
    )
    db.execute(
        """create function lead_flow.zz_lint_temp_declared() returns int
             language plpgsql set search_path = '' as $$
             begin
               create temp table zz_lint_scratch2 (id int) on commit drop;
               perform 'PRAGMA:TABLE: pg_temp.zz_lint_scratch2 (id int)';
               return (select count(*)::int from pg_temp.zz_lint_scratch2);
             end $$"""
    )
    db.execute(
        """create function lead_flow.zz_lint_bad_pragma() returns int
             language plpgsql set search_path = '' as $$
             begin
               perform 'PRAGMA:TABLE: pg_temp.zz_lint_scratch3 (id int,
                        note text)';
               return 1;
             end $$"""
    )
    db.execute(
        """create function lead_flow.zz_lint_dynamic(p_table text) returns bigint
             language plpgsql set search_path = '' as $$
             declare v_n bigint;
             begin execute 'select count(*) from ' || p_table into v_n; return v_n; end $$"""
    )
    db.execute(
        """create function lead_flow.zz_lint_dynamic_safe(p_table text) returns bigint
             language plpgsql stable set search_path = '' as $$
             declare v_n bigint;
             begin
               execute format('select count(*) from lead_flow.%I', p_table) into v_n;
               return v_n;
             end $$"""
    )
    lint_trigger(db, "zz_lint_tg_row", "new.no_such_column := 1; return new;", row=True)
    lint_trigger(
        db, "zz_lint_tg_transition", "perform sum(n.no_such_column) from zz_lint_new n; return null;",
        new_table="zz_lint_new",
    )
    lint_trigger(db, "zz_lint_tg_fine", "perform sum(n.amount) from zz_lint_new2 n; return null;",
                 new_table="zz_lint_new2")
    lint_trigger(db, "zz_lint_tg_orphan", "return new;")
    findings = plpgsql_check(db)
    assert any('Pragma "table"' in f and "not processed" in f for f in findings), findings
    findings = [f for f in findings if "zz_lint" in f]
    expected = {
        "zz_lint_dead": [
            'unused parameter "p_unused"',
            'never read variable "v_never_read"',
            "no_such_column",
        ],
        "zz_lint_temp()": ['"pg_temp.zz_lint_scratch" does not exist'],
        "zz_lint_dynamic(": ["not sanitized"],
        "zz_lint_tg_row()": ["no_such_column"],
        "zz_lint_tg_transition()": ["no_such_column"],
        "zz_lint_tg_orphan()": ["attached to no table"],
    }
    for name, messages in expected.items():
        for message in messages:
            assert any(name in f and message in f for f in findings), f"{name}: {message} missed: {findings}"
    for fine in ("zz_lint_temp_declared", "zz_lint_dynamic_safe", "zz_lint_tg_fine"):
        assert not any(fine in f for f in findings), [f for f in findings if fine in f]


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_database_lint_finds_nothing(db: psycopg.Connection, check: str) -> None:
    findings = [row[0] for row in db.execute(CHECKS[check]).fetchall()]
    for finding in findings:
        print(f"{check}: {finding}")
    assert findings == [], f"{check}: {len(findings)} finding(s):\n" + "\n".join(findings)


def test_lint_detects_what_it_claims_to(db: psycopg.Connection) -> None:
    """Each check fires on a deliberately bad object (rolled back), so an empty result means something."""
    db.execute("create table public.zz_lint_parent (id int primary key)")
    db.execute(
        "create table public.zz_lint_child (id int primary key, parent int references public.zz_lint_parent)"
    )
    db.execute("create view public.zz_lint_view as select 1 as x")
    db.execute("grant select on public.zz_lint_view to authenticated")
    db.execute("create function public.zz_lint_fn() returns int language sql security definer as 'select 1'")
    db.execute("grant execute on function public.zz_lint_fn() to authenticated")
    # No exemption from a fixed search_path: not for a SQL-standard body (parsed at creation, but
    # Supabase's linter flags it all the same), a string body, or one that reads a table.
    db.execute(
        "create function lead_flow.zz_lint_reads_table() returns bigint language sql immutable "
        "begin atomic select count(*) from public.zz_lint_parent; end"
    )
    db.execute(
        "create function lead_flow.zz_lint_string_body(x numeric) returns numeric "
        "language sql immutable as 'select x + 1'"
    )
    db.execute(
        "create function lead_flow.zz_lint_pure(x numeric) returns numeric language sql immutable "
        "return x + 1"
    )
    db.execute(
        "create function lead_flow.zz_lint_fixed(x numeric) returns numeric language sql immutable "
        "set search_path = '' return x + 1"
    )
    db.execute("alter table public.zz_lint_parent enable row level security")
    db.execute(
        "create policy zz_bare on public.zz_lint_parent for update to authenticated "
        "using (auth.uid() is not null) with check (true)"
    )
    db.execute("create policy zz_lint_orphan on public.zz_lint_child for select using (false)")
    db.execute("create policy zz_second on public.zz_lint_parent for update to authenticated using (false)")
    db.execute("create materialized view public.zz_lint_mv as select 1 as x")
    db.execute("grant select on public.zz_lint_mv to authenticated")
    db.execute("create index zz_lint_dup1 on public.zz_lint_parent (id)")
    db.execute("create index zz_lint_dup2 on public.zz_lint_parent (id)")
    expected = {
        "rls_disabled_in_public": "zz_lint_child",
        "policy_exists_rls_disabled": "zz_lint_child",
        "materialized_view_in_api": "zz_lint_mv",
        "security_definer_view": "zz_lint_view",
        "function_search_path_mutable": "zz_lint_fn",
        "auth_rls_initplan": "zz_bare",
        "rls_policy_always_true": "zz_bare",
        "unindexed_foreign_keys": "zz_lint_child",
        "security_definer_function_executable": "zz_lint_fn",
        "duplicate_index": "zz_lint_dup",
        "multiple_permissive_policies": "zz_lint_parent",
        "exposed_object_without_comment": "zz_lint_view",
    }
    for check, name in expected.items():
        findings = [row[0] for row in db.execute(CHECKS[check]).fetchall()]
        assert any(name in f for f in findings), f"{check} missed {name}: {findings}"
    # A table clients may use needs a comment too; the platform's tables are not ours to describe.
    db.execute("grant select on public.zz_lint_parent to authenticated")
    comment_findings = [row[0] for row in db.execute(CHECKS["exposed_object_without_comment"]).fetchall()]
    assert "table zz_lint_parent has no COMMENT" in comment_findings, comment_findings
    assert not any("zz_lint_child" in f for f in comment_findings)  # no API role may use it
    db.execute("comment on table public.zz_lint_parent is 'described'")
    comment_findings = [row[0] for row in db.execute(CHECKS["exposed_object_without_comment"]).fetchall()]
    assert not any("zz_lint_parent" in f for f in comment_findings)
    search_path_findings = [row[0] for row in db.execute(CHECKS["function_search_path_mutable"]).fetchall()]
    for name in ("zz_lint_reads_table", "zz_lint_string_body", "zz_lint_pure"):
        assert any(name in f for f in search_path_findings), f"{name} not flagged: {search_path_findings}"
    assert not any("zz_lint_fixed" in f for f in search_path_findings)
    # A wrapped call is fine: (select auth.uid()) is evaluated once per statement.
    db.execute("drop policy zz_bare on public.zz_lint_parent")
    db.execute(
        "create policy zz_wrapped on public.zz_lint_parent for update to authenticated "
        "using ((select auth.uid()) is not null)"
    )
    findings = [row[0] for row in db.execute(CHECKS["auth_rls_initplan"]).fetchall()]
    assert not any("zz_wrapped" in f for f in findings)


def test_public_functions_and_views_are_created_only_in_the_api_files() -> None:
    """`grep "create or replace function public\\." sql/*` finds the API files only: the pipeline, the
    worker contract, the maths and the helpers live in lead_flow."""
    public_ddl = re.compile(r"create\s+(or\s+replace\s+)?(function|view)\s+public\.", re.IGNORECASE)
    found = {f.name: len(public_ddl.findall(f.read_text())) for f in sorted(SQL_DIR.glob("*.sql"))}
    assert {name for name, n in found.items() if n} == set(API_FILES), found


def test_client_functions_take_bare_argument_names(db: psycopg.Connection) -> None:
    """PostgREST passes arguments by name: a client sends {"segment_id": ...} to every function in
    public, never {"p_segment_id": ...} to one of them."""
    prefixed = db.execute(
        """select p.oid::regprocedure::text, a.name
             from pg_proc p
            cross join lateral unnest(p.proargnames) with ordinality a (name, n)
            where p.pronamespace = 'public'::regnamespace
              and coalesce(p.proargmodes[a.n], 'i') in ('i', 'b', 'v') and a.name like 'p\\_%'
              and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass
                                                        and d.objid = p.oid and d.deptype = 'e')"""
    ).fetchall()
    assert prefixed == []
