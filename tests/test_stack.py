"""`make up` prints three evaluable exports for a working stack; `make down` leaves no process behind;
both work in a clone the `postgres` user cannot enter (every clone under /root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx

from glue.lab import stack as glue_stack
from glue.paths import ROOT, SHARED_DATA_DIR
from tests.support import make_jwt


def _stack_processes(base: Path, cluster: Path | None = None) -> list[str]:
    """Live processes of the stack of state folder `base` (postgres names its cluster folder)."""
    marks = {str(base), str(cluster or glue_stack.cluster_dir(base))}
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True, check=True).stdout
    pids = {
        line.split()[0]
        for line in ps.splitlines()
        if any(m in line for m in marks) and " Z" not in line
    }
    pid_file = base / "stack.json"
    if pid_file.exists():
        import json

        pid = json.loads(pid_file.read_text()).get("pid")
        if pid and subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0:
            pids.add(str(pid))
    return sorted(pids)


def test_make_up_prints_exports_that_work_and_make_down_stops_everything() -> None:
    base = Path(tempfile.mkdtemp(prefix="leadflow-up-"))
    env = {**os.environ, "LEADFLOW_STATE_DIR": str(base)}
    try:
        out = subprocess.run(
            ["make", "-s", "up"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
        ).stdout
        lines = out.strip().splitlines()
        assert [line.split("=")[0] for line in lines] == [
            "export DATABASE_URL",
            "export POSTGREST_URL",
            "export PGRST_JWT_SECRET",
        ]

        # eval "$(make -s up)" then psql works, exactly as the README says.
        probe = subprocess.run(
            [
                "bash",
                "-c",
                f'eval "{out}"; psql "$DATABASE_URL" -Atc "select 1"; '
                'echo "$POSTGREST_URL"; echo "$PGRST_JWT_SECRET"',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert probe[0] == "1"
        url, secret = probe[1], probe[2]

        token = make_jwt(secret, "authenticated", uuid.uuid4())
        r = httpx.get(f"{url}/lead_segments", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json() == []

        # A second `make up` reuses the running stack.
        again = subprocess.run(
            ["make", "-s", "up"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
        ).stdout
        assert again == out
        assert _stack_processes(base), "expected the stack's processes to be running"
    finally:
        subprocess.run(["make", "-s", "down"], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert _stack_processes(base) == []
    shutil.rmtree(base, ignore_errors=True)


def _clone_into(dest: Path) -> None:
    """A fresh `git clone` of this checkout, with the working tree's uncommitted changes laid over it
    (the code under test), sharing this checkout's virtualenv and node_modules through symlinks."""
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    def listed(*args: str) -> list[str]:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return [name for name in out.split("\0") if name]

    # Against HEAD (what the clone has): changed, added or deleted, staged or not; and untracked files.
    changed = listed("diff", "--name-only", "-z", "HEAD") + listed("ls-files", "-z", "--others",
                                                                    "--exclude-standard")
    for name in changed:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
        elif (dest / name).exists():
            (dest / name).unlink()  # deleted in the working tree
    (dest / ".venv").symlink_to(ROOT / ".venv")
    (dest / "node_modules").symlink_to(ROOT / "node_modules")
    # Installed already: make must not reinstall into the shared virtualenv or node_modules.
    for name in ("pyproject.toml", "package.json", "package-lock.json"):
        os.utime(dest / name, (0, 0))


def test_make_up_and_down_work_in_a_clone_that_postgres_cannot_enter() -> None:
    """As under /root on a fresh machine: the clone's parent is mode 0700 and owned by root."""
    outer = Path(tempfile.mkdtemp(prefix="leadflow-private-"))
    outer.chmod(0o700)
    clone = outer / "clone"
    # The clone's own glue, not the editable install's (which points at this checkout).
    env = {k: v for k, v in os.environ.items() if k not in ("LEADFLOW_STATE_DIR", "DATABASE_URL")}
    env["PYTHONPATH"] = str(clone)
    env["LEADFLOW_DATA_DIR"] = str(SHARED_DATA_DIR)  # the PC4 files sit beside this checkout, not the clone
    state = clone / ".leadflow"
    cluster = glue_stack.relocated_dir(state)
    try:
        _clone_into(clone)
        if os.geteuid() == 0:
            refused = subprocess.run(
                ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", "test", "-x",
                 str(clone)], cwd="/",
            )
            assert refused.returncode != 0, "the postgres user can enter the clone: the test proves nothing"
        out = subprocess.run(
            ["make", "-s", "up"], cwd=clone, env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        probe = subprocess.run(
            ["bash", "-c", f'eval "{out.stdout}"; psql "$DATABASE_URL" -Atc "select count(*) > 0 from '
             'public.regions"; curl -s -o /dev/null -w "%{http_code}" "$POSTGREST_URL/regions?limit=1"'],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        assert probe == ["t", "200"]
        if os.geteuid() == 0:
            # The cluster lives outside the clone, owned by postgres and closed to others; the clone
            # points to it.
            assert (state / "cluster").resolve() == cluster
            assert cluster.stat().st_uid != 0 and (cluster.stat().st_mode & 0o077) == 0
            assert (cluster / "pgdata" / "PG_VERSION").exists()
        assert _stack_processes(state, cluster), "expected the stack's processes to be running"
        down = subprocess.run(["make", "-s", "down"], cwd=clone, env=env, capture_output=True, text=True,
                              timeout=120)
        assert down.returncode == 0, down.stderr
        assert _stack_processes(state, cluster) == []
        # `make clean` removes the relocated cluster as well as the clone's own folders.
        subprocess.run(["make", "-s", "clean"], cwd=clone, env=env, capture_output=True, timeout=120,
                       check=True)
        assert not cluster.exists() and not state.exists()
    finally:
        subprocess.run(["make", "-s", "down"], cwd=clone, env=env, capture_output=True, timeout=120)
        shutil.rmtree(cluster, ignore_errors=True)
        shutil.rmtree(outer, ignore_errors=True)
