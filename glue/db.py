"""Connecting and migrating: yoyo applies `migrations/`, then every file of `sql/` is re-applied.

Migrations are append-only history (tables, columns, indexes, constraints). `sql/` holds the
re-creatable objects (functions, views, policies, grants, schedules): each file is idempotent and
the whole folder is applied in name order, in one transaction, after every migrate.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from yoyo import get_backend, read_migrations

from glue.paths import MIGRATIONS_DIR, PC4_RANGES_CSV, SQL_DIR

INTERNAL_SCHEMA = "lead_flow"


def database_url(url: str | None = None) -> str:
    """The database to work on: the argument, else $DATABASE_URL; a clear error when neither is set."""
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit('DATABASE_URL is not set (try: eval "$(make -s up)")')
    return url


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    return psycopg.connect(database_url(url), **kwargs)


def _yoyo_url(url: str) -> str:
    """yoyo wants the psycopg 3 driver named in the scheme, and keeps its own tables internal."""
    parts = urlsplit(url)
    scheme = "postgresql+psycopg"
    query = dict(parse_qsl(parts.query))
    query["schema"] = INTERNAL_SCHEMA
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def sql_files() -> list[str]:
    return sorted(p.name for p in SQL_DIR.glob("*.sql"))


def apply_sql(conn: psycopg.Connection) -> None:
    """Re-create every object of `sql/`, in name order, atomically."""
    with conn.transaction():
        for name in sql_files():
            try:
                conn.execute((SQL_DIR / name).read_text())
            except psycopg.Error as exc:
                raise RuntimeError(f"sql/{name}: {exc}") from exc
    # PostgREST caches the schema; new or changed functions 404 until it reloads.
    conn.execute("notify pgrst, 'reload schema'")


def migrate(url: str | None = None) -> None:
    """Apply pending migrations, then the re-creatable objects. Safe to run any number of times."""
    url = database_url(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"create schema if not exists {INTERNAL_SCHEMA}")
    backend = get_backend(_yoyo_url(url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(migrations))
    with psycopg.connect(url, autocommit=True) as conn:
        apply_sql(conn)


def load_default_reference_data(url: str | None = None) -> None:
    """Load the shipped-alongside PC4 ranges when they are there (a user loads the current CBS file)."""
    if PC4_RANGES_CSV.exists():
        from glue import regions

        regions.load_pc4_file(database_url(url), PC4_RANGES_CSV)
