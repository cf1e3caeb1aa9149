"""Installing onto a database shaped the way Supabase builds one, with a live platform in it, as
Supabase's `postgres` role (not a superuser). See tests/support/supabase.py for the fixture.

- the migrate passes, a second run is a no-op, and nothing of Supabase's or the platform's changed
  except what the README says the install adds (ADDED_TO_PLATFORM);
- the platform's write paths still work; the linter finds nothing Lead Flow added; anon executes no
  Lead Flow function but the region ones;
- a migrate stopped after any migration leaves nothing of Lead Flow to anon or a partner;
- without pg_cron the migrate completes with a notice, and `leadflow schedules install` adds the
  schedules once pg_cron is enabled;
- lead inserts keep flowing while the install runs on a million-lead table.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from glue import cli
from glue import db as glue_db
from tests.support import supabase as supabase_shape
from tests.support.supabase import SupabaseCluster, fingerprint
from tests.test_db_lint import CHECKS

PARTNER = "00000000-0000-0000-0000-000000000001"
CUSTOMER = "00000000-0000-0000-0000-000000000003"
TEMPLATE = "platform_template"
# One job per step registered in lead_flow.pipeline_steps (partner marketing's steps among them).
SCHEDULES = {"lead-flow-aggregate", "lead-flow-plan", "lead-flow-orchestrate", "lead-flow-partner-lead-gaps",
             "lead-flow-partner-recommendations"}

# What the install adds to objects that existed before it, as the README lists it: nothing else of a
# pre-existing object may appear or change.
ADDED_TO_PLATFORM = {
    "column public.leads.segment_id",
    "column public.leads.source_channel",
    "column public.leads.source_campaign_id",
    "column public.leads.source_keyword",
    "constraint public.leads.leads_segment_id_fkey",
    "index public.leads.leads_segment_id_created_at_idx",
    "index public.leads.leads_source_channel_idx",
    "index public.leads.leads_created_at_segment_idx",
    "index public.leads.leads_source_campaign_id_idx",
    "trigger public.leads.tg_leads__assign_segment",
    "trigger public.leads.tg_leads__reassign_segment",
    # profiles: the partner fields Lead Flow reads, where the platform lacks them ...
    "column public.profiles.lead_industries",
    "column public.profiles.lead_locations",
    # ... and the marketing profile.
    "column public.profiles.marketing_mode",
    "column public.profiles.auto_marketing_enabled",
    "column public.profiles.monthly_marketing_budget",
    "column public.profiles.preferred_channels",
    "column public.profiles.brand_color",
    "column public.profiles.logo_url",
    "column public.profiles.tone_of_voice",
    "constraint public.profiles.profiles_marketing_mode_known",
    "constraint public.profiles.profiles_monthly_marketing_budget_nonnegative",
    "constraint public.profiles.profiles_brand_color_hex",
    "constraint public.profiles.profiles_logo_url_https",
    "constraint public.profiles.profiles_tone_of_voice_length",
    "trigger public.profiles.tg_profiles__segment_codes_insert",
    "trigger public.profiles.tg_profiles__segment_codes_update",
    "trigger public.profiles.tg_profiles__validate_marketing",
    "trigger public.profiles.tg_profiles__log_capacity_change",
}
# Schemas whose new top-level objects (tables, views, functions) are Lead Flow's own.
LEAD_FLOW_SCHEMAS = {"public", "lead_flow"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[SupabaseCluster]:
    c = supabase_shape.start_cluster()
    try:
        c.build_database(TEMPLATE)
        yield c
    finally:
        supabase_shape.remove_cluster(c)


def lint(url: str) -> set[str]:
    """The findings of tests/test_db_lint.py's checks (which name lead_flow: made, and rolled back,
    where it does not exist yet)."""
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regnamespace('lead_flow')").fetchone()[0] is None:
            conn.execute("create schema lead_flow")
        findings = {f"{name}: {row[0]}" for name, sql in CHECKS.items() for row in conn.execute(sql)}
        conn.rollback()
        return findings


@pytest.fixture(scope="module")
def installed(cluster: SupabaseCluster) -> dict:
    """The `postgres` database with pg_cron enabled and the platform live, before and after two migrates."""
    url = cluster.build_database("postgres", pg_cron=True)
    admin = cluster.admin_url("postgres")
    before, lint_before = fingerprint(admin), lint(admin)
    first = glue_db.migrate(url)
    after_first = fingerprint(admin)
    second = glue_db.migrate(url)
    return {
        "url": url,
        "admin": admin,
        "before": before,
        "lint_before": lint_before,
        "first": first,
        "after_first": after_first,
        "second": second,
        "after": fingerprint(admin),
    }


def test_migrate_as_postgres_passes_and_a_second_run_is_a_no_op(installed: dict) -> None:
    with psycopg.connect(installed["url"]) as conn:
        assert conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone() == (
            False,
        )
    assert installed["first"].migrations and installed["first"].sql_applied
    assert installed["first"].schedules_problem is None
    assert installed["second"].migrations == [] and not installed["second"].sql_applied
    changed = {
        k for k in installed["after_first"].keys() | installed["after"].keys()
        if installed["after_first"].get(k) != installed["after"].get(k)
    }  # fmt: skip
    assert changed == set()


def test_nothing_of_supabase_or_the_platform_changes_but_what_the_readme_lists(installed: dict) -> None:
    before, after = installed["before"], installed["after"]
    changed = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
    assert changed == {}, json.dumps(changed, indent=1, default=str)
    pre_existing_relations = {k.removeprefix("relation ") for k in before if k.startswith("relation ")}
    added = {k: parent for k, (parent, _) in after.items() if k not in before}
    on_platform = {k for k, parent in added.items() if parent in pre_existing_relations}
    elsewhere = {
        k for k, parent in added.items()
        if parent not in pre_existing_relations and parent not in LEAD_FLOW_SCHEMAS
        and not any(parent == k2.removeprefix("relation ") for k2 in added if k2.startswith("relation "))
    }  # fmt: skip
    # The lead_flow schema itself is Lead Flow's; nothing else outside public/lead_flow is new.
    assert elsewhere == {"schema lead_flow"}, sorted(elsewhere)
    assert on_platform == ADDED_TO_PLATFORM, (
        sorted(on_platform - ADDED_TO_PLATFORM),
        sorted(ADDED_TO_PLATFORM - on_platform),
    )


def test_the_platforms_write_paths_still_work(installed: dict) -> None:
    with psycopg.connect(installed["url"]) as conn:
        # anon submits a lead through the platform's RPC; Lead Flow's trigger gives it a segment.
        conn.execute("set role anon")
        conn.execute("select set_config('request.jwt.claims', '{\"role\": \"anon\"}', false)")
        lead = conn.execute(
            "select public.submit_lead('Schilder', 'Noord-Brabant', '5611 AB', 'Anna', 'anna@example.nl',"
            " 'gevel')"
        ).fetchone()[0]
        conn.execute("reset role")
        segment = conn.execute(
            "select s.code from public.leads l join public.lead_segments s on s.id = l.segment_id"
            " where l.id = %s",
            (lead,),
        ).fetchone()
        assert segment == ("schilder_noord_brabant",)
        # A signed-in customer inserts a lead directly, and writes its own system_logs line.
        conn.execute("set role authenticated")
        claims = json.dumps({"role": "authenticated", "sub": CUSTOMER})
        conn.execute("select set_config('request.jwt.claims', %s, false)", (claims,))
        conn.execute(
            "insert into public.leads (industry_id, province, postcode, customer_name)"
            " values ('00000000-0000-0000-0000-0000000000a2', 'Utrecht', '3511 AA', 'Bert')"
        )
        conn.execute("insert into public.system_logs (type, message) values ('info', 'client line')")
        assert conn.execute("select count(*) from public.system_logs").fetchone() == (2,)
        conn.rollback()


def test_the_linter_finds_nothing_lead_flow_added(installed: dict) -> None:
    # The platform's one finding is its own (anon's SECURITY DEFINER lead form), from before the install.
    assert installed["lint_before"] == {
        "security_definer_function_executable: SECURITY DEFINER function "
        "submit_lead(text,text,text,text,text,text) in the exposed schema is executable by " + role
        for role in ("anon", "authenticated")
    }
    new = lint(installed["admin"]) - installed["lint_before"]
    assert new == set(), "\n".join(sorted(new))


def test_anon_executes_no_lead_flow_function_but_the_region_ones(installed: dict) -> None:
    before = {k.removeprefix("function ") for k in installed["before"] if k.startswith("function ")}
    with psycopg.connect(installed["admin"]) as conn:
        conn.execute("set search_path = pg_catalog")
        executable = {
            r[0]
            for r in conn.execute(
                "select p.oid::regprocedure::text from pg_proc p"
                " where p.pronamespace = 'public'::regnamespace"
                " and has_function_privilege('anon', p.oid, 'EXECUTE')"
            )
        }
    # The README's access table: anon may use nothing of Lead Flow but the region reference.
    assert executable - before <= {"public.normalize_region(text)", "public.extract_region(text,text)"}


def test_the_schedules_are_installed_as_postgres(installed: dict) -> None:
    with psycopg.connect(installed["admin"]) as conn:
        jobs = {r[0] for r in conn.execute("select jobname from cron.job where username = 'postgres'")}
    assert jobs == SCHEDULES


# Every kind of access anon or a partner could have to a relation or function.
ACCESS = """
select format('%%s %%s on %%s', r.rolname, x.priv, c.oid::regclass)
  from pg_class c
 cross join (values ('anon'), ('authenticated')) r (rolname)
 cross join (values ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'),
                    ('TRIGGER')) x (priv)
 where c.relnamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
   and c.relkind in ('r', 'p', 'v', 'm', 'f') and not (c.oid::regclass::text = any (%(before)s))
   and (has_table_privilege(r.rolname, c.oid, x.priv)
        or case when x.priv in ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                then has_any_column_privilege(r.rolname, c.oid, x.priv) else false end)
union all
select format('%%s USAGE on sequence %%s', r.rolname, c.oid::regclass)
  from pg_class c cross join (values ('anon'), ('authenticated')) r (rolname)
 where c.relnamespace in ('public'::regnamespace, 'lead_flow'::regnamespace) and c.relkind = 'S'
   and not (c.oid::regclass::text = any (%(before)s))
   and (has_sequence_privilege(r.rolname, c.oid, 'USAGE')
        or has_sequence_privilege(r.rolname, c.oid, 'SELECT'))
union all
select format('%%s EXECUTE on %%s', r.rolname, p.oid::regprocedure)
  from pg_proc p cross join (values ('anon'), ('authenticated')) r (rolname)
 where p.pronamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)
   and not (p.oid::regprocedure::text = any (%(before)s))
   -- the baseline policies' helper: the caller's own admin flag
   and p.oid::regprocedure::text <> 'lead_flow.is_admin()'
   and has_function_privilege(r.rolname, p.oid, 'EXECUTE')
"""


def test_a_migrate_stopped_after_any_migration_leaves_nothing_of_lead_flow_to_anon_or_a_partner(
    cluster: SupabaseCluster,
) -> None:
    url = cluster.copy_database(TEMPLATE, "stopped_migrate")
    with psycopg.connect(url) as conn:
        before = [
            r[0]
            for r in conn.execute(
                "select c.oid::regclass::text from pg_class c where c.relnamespace = 'public'::regnamespace"
                " union all select p.oid::regprocedure::text from pg_proc p"
                " where p.pronamespace = 'public'::regnamespace"
            )
        ]
    ids = glue_db.migration_ids()
    checked = 0
    for migration in ids:
        glue_db.migrate(url, until=migration)
        with psycopg.connect(url) as conn:
            if conn.execute("select to_regnamespace('lead_flow')").fetchone()[0] is None:
                continue
            grants = [r[0] for r in conn.execute(ACCESS, {"before": before})]
            assert grants == [], f"after {migration}: {grants}"
            tables = [
                (r[0], r[1])
                for r in conn.execute(
                    "select c.oid::regclass::text, c.relkind = 'r' from pg_class c"
                    " where c.relnamespace in ('public'::regnamespace, 'lead_flow'::regnamespace)"
                    " and c.relkind in ('r', 'v', 'm') and not (c.oid::regclass::text = any (%s))",
                    (before,),
                )
            ]
            # And in fact: as anon and as a partner, every read and write of them is refused.
            for role, claims in [
                ("anon", {"role": "anon"}),
                ("authenticated", {"role": "authenticated", "sub": PARTNER}),
            ]:
                conn.execute(f"set role {role}")
                conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps(claims),))
                for table, writable in tables:
                    statements = [f"select from {table} limit 1"]
                    if writable:  # a view that cannot take writes says so before any privilege check
                        statements += [f"insert into {table} default values", f"delete from {table}"]
                    for statement in statements:
                        with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                            conn.execute(statement)
                conn.execute("reset role")
            conn.rollback()
        checked += 1
    assert checked >= len(ids) - 1  # every migration from the one that creates lead_flow's first objects


def test_without_pg_cron_the_migrate_completes_and_schedules_install_adds_them_later(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = supabase_shape.start_cluster()
    try:
        url = c.build_database("postgres", pg_cron=False)
        result = glue_db.migrate(url)
        assert result.schedules_problem is not None and "may not enable it" in result.schedules_problem
        err = capsys.readouterr().err
        assert "leadflow schedules install" in err and "pg_cron" in err
        with psycopg.connect(c.admin_url("postgres"), autocommit=True) as conn:
            assert conn.execute("select count(*) from pg_extension where extname = 'pg_cron'").fetchone() == (
                0,
            )
            # The operator enables pg_cron in the dashboard (supabase_admin), then installs the schedules.
            conn.execute((supabase_shape.SQL / "pg_cron.sql").read_text())
        monkeypatch.setenv("DATABASE_URL", url)
        assert cli.main(["schedules", "install"]) == 0
        with psycopg.connect(c.admin_url("postgres")) as conn:
            jobs = {r[0] for r in conn.execute("select jobname from cron.job where username = 'postgres'")}
        assert jobs == SCHEDULES
        assert glue_db.install_schedules(url) is None
    finally:
        supabase_shape.remove_cluster(c)


LEADS_ROWS = 1_000_000


def test_lead_inserts_keep_flowing_while_migrate_runs_on_a_million_leads(cluster: SupabaseCluster) -> None:
    url = cluster.copy_database(TEMPLATE, "million_leads")
    admin = cluster.admin_url("million_leads")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("set session_replication_role = replica")  # a bulk load: no triggers, no FK checks
        conn.execute(
            "insert into public.leads (industry_id, province, postcode, customer_name, status, created_at)"
            " select ('{00000000-0000-0000-0000-0000000000a1,"
            "00000000-0000-0000-0000-0000000000a2}'::uuid[])[1 + g %% 2],"
            " (array['Noord-Brabant', 'Utrecht', 'Zeeland'])[1 + g %% 3], '5611 AB', 'k' || g,"
            " (array['new', 'accepted', 'rejected'])[1 + g %% 3], now() - make_interval(mins => g)"
            " from generate_series(1, %s) g",
            (LEADS_ROWS,),
        )
        conn.execute("vacuum analyze public.leads")
        assert conn.execute("select count(*) >= %s from public.leads", (LEADS_ROWS,)).fetchone() == (True,)

    waits: list[float] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def insert_leads() -> None:
        """The platform's lead form, one lead per transaction, as fast as it can go."""
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("set role anon")
                while not stop.is_set():
                    t0 = time.perf_counter()
                    conn.execute("select public.submit_lead('Schilder', 'Noord-Brabant', '5611 AB', 'live')")
                    waits.append(time.perf_counter() - t0)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    inserter = threading.Thread(target=insert_leads)
    inserter.start()
    try:
        time.sleep(0.3)
        t0 = time.perf_counter()
        result = glue_db.migrate(url)
        took = time.perf_counter() - t0
        time.sleep(0.3)
    finally:
        stop.set()
        inserter.join()
    assert errors == []
    assert result.sql_applied
    longest = max(waits)
    print(
        f"\nmigrate on {LEADS_ROWS:,} leads took {took:.1f} s; {len(waits)} leads inserted meanwhile, "
        f"longest insert {longest * 1000:.0f} ms, median {sorted(waits)[len(waits) // 2] * 1000:.1f} ms"
    )
    assert len(waits) > 100
    assert longest < 1.0
    with psycopg.connect(admin) as conn:
        # The indexes were built and are valid; the foreign key is validated.
        invalid = conn.execute(
            "select count(*) from pg_index where indrelid = 'public.leads'::regclass and not indisvalid"
        ).fetchone()
        assert invalid == (0,)
        assert conn.execute(
            "select convalidated from pg_constraint where conname = 'leads_segment_id_fkey'"
        ).fetchone() == (True,)
        # The checks on the marketing columns of profiles were added NOT VALID and then validated.
        assert conn.execute(
            "select count(*), bool_and(convalidated) from pg_constraint "
            "where conrelid = 'public.profiles'::regclass and conname like 'profiles\\_%' and contype = 'c'"
        ).fetchone() == (5, True)
