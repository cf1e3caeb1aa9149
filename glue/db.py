"""Connecting and migrating: yoyo applies `migrations/`, then every file of `sql/` is re-applied.

Migrations are append-only history (tables, columns, indexes, constraints, the triggers on platform
tables). `sql/` holds the re-creatable objects (functions, views, policies, grants, schedules): each
file is idempotent and the whole folder is applied in name order, in one transaction, after a
migrate that applied a migration or finds `sql/` changed since it was last applied.

A live database keeps taking leads while this runs, so every migrating connection has a short
`lock_timeout`: a statement that cannot get its lock within it fails (and is retried a few times)
instead of queueing every lead insert behind its lock request.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from yoyo import get_backend, read_migrations
from yoyo.migrations import topological_sort

from glue.errors import LeadflowError
from glue.paths import MIGRATIONS_DIR, PC4_RANGES_CSV, SQL_DIR

INTERNAL_SCHEMA = "lead_flow"
# How long one statement of the install may wait for a lock, and how often a timed-out step is retried.
LOCK_TIMEOUT = "2s"
LOCK_RETRIES = 5
LOCK_RETRY_PAUSE_S = 2.0

SCHEDULES_NOTICE = """\
NOTICE: the nightly schedules are not installed: {problem}.
  Everything else is installed. To schedule the nightly pipeline, enable pg_cron
  (Supabase: Dashboard > Database > Extensions > pg_cron; elsewhere a superuser runs
  `create extension pg_cron with schema pg_catalog` in the database named by cron.database_name),
  then run: leadflow schedules install
  Until then, run `leadflow nightly` once a day after 03:00 Europe/Amsterdam."""

T = TypeVar("T")


class MigrateError(LeadflowError):
    """The install could not complete (the database stayed busy); the message says which step and why."""


@dataclass
class MigrateResult:
    """What one migrate did: the migrations it applied, whether it re-applied `sql/`, and why the
    schedules are not installed (None when they are, or when the migrate stopped early)."""

    migrations: list[str] = field(default_factory=list)
    sql_applied: bool = False
    schedules_problem: str | None = None


def database_url(url: str | None = None) -> str:
    """The database to work on: the argument, else $DATABASE_URL; a clear error when neither is set."""
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit('DATABASE_URL is not set (try: eval "$(make -s up)")')
    return url


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    return psycopg.connect(database_url(url), **kwargs)


def _yoyo_url(url: str) -> str:
    """yoyo wants the psycopg 3 driver named in the scheme, keeps its own tables internal, and every
    migration connection gets the install's lock_timeout."""
    parts = urlsplit(url)
    scheme = "postgresql+psycopg"
    query = dict(parse_qsl(parts.query))
    query["schema"] = INTERNAL_SCHEMA
    query["options"] = f"{query.get('options', '')} -c lock_timeout={LOCK_TIMEOUT}".strip()
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def sql_files() -> list[str]:
    return sorted(p.name for p in SQL_DIR.glob("*.sql"))


def sql_digest() -> str:
    """md5 over the names and contents of the `sql/` files, in apply order."""
    h = hashlib.md5()
    for name in sql_files():
        h.update(name.encode() + b"\0" + (SQL_DIR / name).read_bytes() + b"\0")
    return h.hexdigest()


def apply_sql(conn: psycopg.Connection, digest: str | None = None) -> None:
    """Re-create every object of `sql/`, in name order, atomically; records `digest` when given."""
    with conn.transaction():
        for name in sql_files():
            try:
                conn.execute((SQL_DIR / name).read_text())
            except psycopg.errors.LockNotAvailable:
                raise  # retried by the caller
            except psycopg.Error as exc:
                raise RuntimeError(f"sql/{name}: {exc}") from exc
        if digest is not None:
            conn.execute(
                "insert into lead_flow.applied_sql (digest) values (%s) "
                "on conflict (singleton) do update set digest = excluded.digest, applied_at = now()",
                (digest,),
            )
    # PostgREST caches the schema; new or changed functions 404 until it reloads.
    conn.execute("notify pgrst, 'reload schema'")


def _with_lock_retries(what: str, step: Callable[[], T]) -> T:
    """Run `step`; when it times out waiting for a lock, wait a little and run it again."""
    for attempt in range(1, LOCK_RETRIES + 1):
        try:
            return step()
        except psycopg.errors.LockNotAvailable as exc:
            if attempt == LOCK_RETRIES:
                raise MigrateError(
                    f"{what}: no lock within {LOCK_TIMEOUT} in {LOCK_RETRIES} tries "
                    f"({exc.diag.message_primary}); the database is busy and nothing is half-done: "
                    "run it again later"
                ) from exc
            print(
                f"migrate: {what} waited {LOCK_TIMEOUT} for a lock ({exc.diag.message_primary}); "
                f"retrying ({attempt}/{LOCK_RETRIES - 1})",
                file=sys.stderr,
            )
            time.sleep(LOCK_RETRY_PAUSE_S)
    raise AssertionError("unreachable")


def migration_ids() -> list[str]:
    """Every migration's id, in the order they are applied."""
    return [m.id for m in topological_sort(read_migrations(str(MIGRATIONS_DIR)))]


def apply_migrations(url: str, until: str | None = None) -> list[str]:
    """Apply the pending migrations (only those up to and including `until`, when given); returns
    the ids applied."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    if until is not None:
        ordered = list(topological_sort(migrations))
        ids = [m.id for m in ordered]
        if until not in ids:
            raise ValueError(f"no migration {until!r}; known: {', '.join(ids)}")
        migrations = migrations.__class__(ordered[: ids.index(until) + 1], migrations.post_apply)
    backend = get_backend(_yoyo_url(url))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    return [m.id for m in pending]


def install_schedules(url: str | None = None) -> str | None:
    """Install the pg_cron schedules (where missing); None when they are installed, else why not."""
    with psycopg.connect(database_url(url), autocommit=True) as conn:
        conn.execute(f"set lock_timeout = '{LOCK_TIMEOUT}'")
        return conn.execute("select lead_flow.install_schedules()").fetchone()[0]


def migrate(url: str | None = None, *, until: str | None = None, quiet: bool = False) -> MigrateResult:
    """Apply pending migrations, then the re-creatable objects. Safe to run any number of times; a
    run with nothing to do changes nothing. `until` stops after that migration (sql/ not applied).
    Prints a notice to stderr (unless `quiet`) when the schedules could not be installed."""
    url = database_url(url)
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("select to_regnamespace(%s)", (INTERNAL_SCHEMA,)).fetchone()[0] is None:
            conn.execute(f"create schema {INTERNAL_SCHEMA}")
    result = MigrateResult(_with_lock_retries("migrations", lambda: apply_migrations(url, until)))
    if until is not None:
        return result
    digest = sql_digest()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"set lock_timeout = '{LOCK_TIMEOUT}'")
        last = conn.execute("select digest from lead_flow.applied_sql").fetchone()
        if result.migrations or last is None or last[0] != digest:
            _with_lock_retries("sql/", lambda: apply_sql(conn, digest))
            result.sql_applied = True
        result.schedules_problem = conn.execute("select lead_flow.install_schedules()").fetchone()[0]
    if result.schedules_problem and not quiet:
        print(SCHEDULES_NOTICE.format(problem=result.schedules_problem), file=sys.stderr)
    return result


def load_default_reference_data(url: str | None = None) -> None:
    """Load the shipped-alongside PC4 ranges when they are there (a user loads the current CBS file)."""
    if PC4_RANGES_CSV.exists():
        from glue import regions

        regions.load_pc4_file(database_url(url), PC4_RANGES_CSV)
