"""The worker's database connections, and the check that their role can work the queue at all.

The worker contract's functions run as the caller, so what the worker sees is what its role sees.
A role under row level security (no BYPASSRLS: membership of service_role does not pass the
attribute on) sees no queued change and would claim nothing, silently. So every connection is
checked with lead_flow.worker_role_check() and the worker refuses to start with one line saying
what is wrong and which role to use. LEADFLOW_WORKER_ROLE (settings.database_role) makes the worker
`set role` on every connection, e.g. to service_role, which Supabase's `postgres` is a member of.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from glue.errors import LeadflowError
from glue.worker.config import ROLE_ENV, WorkerSettings


class WorkerRoleError(LeadflowError):
    """The connection's role cannot work the queue; the message is one line for the operator."""


def connect(settings: WorkerSettings) -> psycopg.Connection:
    """An autocommit connection as settings.database_role (when set), checked with check_role."""
    conn = psycopg.connect(settings.database_url, autocommit=True)
    try:
        if settings.database_role:
            try:
                conn.execute(sql.SQL("set role {}").format(sql.Identifier(settings.database_role)))
            except psycopg.errors.InsufficientPrivilege as exc:
                raise WorkerRoleError(f"{ROLE_ENV}={settings.database_role}: {_first_line(exc)}") from None
        check_role(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def check_role(conn: psycopg.Connection) -> None:
    """Raise WorkerRoleError unless the connection's current role can claim and complete changes."""
    role = conn.execute("select current_user").fetchone()[0]
    try:
        problems, usable = conn.execute(
            "select problems, usable_roles from lead_flow.worker_role_check()").fetchone()
    except psycopg.errors.InsufficientPrivilege as exc:
        # Not even the check is granted: the role has none of service_role's grants.
        problems, usable = [_first_line(exc)], []
    except psycopg.errors.UndefinedFunction:
        raise WorkerRoleError(
            "the database has no Lead Flow worker contract (lead_flow.worker_role_check): "
            "run `leadflow migrate` first") from None
    if problems:
        raise WorkerRoleError(f'role "{role}" cannot work the budget queue: {"; ".join(problems)}. '
                              f"{_advice(usable)}")


def _advice(usable: list[str]) -> str:
    if usable:
        return (f"Set {ROLE_ENV}={usable[0]} (the worker then runs `set role {usable[0]}`), or connect "
                "as a role with BYPASSRLS and service_role's grants (docs/worker.md)")
    return (f"Connect as a role with BYPASSRLS and service_role's grants, or as a member of service_role "
            f"with {ROLE_ENV}=service_role (docs/worker.md)")


def _first_line(exc: psycopg.Error) -> str:
    return (exc.diag.message_primary or str(exc)).splitlines()[0]
