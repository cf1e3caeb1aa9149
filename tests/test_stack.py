"""`make up` prints three evaluable exports for a working stack; `make down` leaves no process behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx

from glue.paths import ROOT
from tests.support import make_jwt


def _stack_processes(base: Path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True, check=True).stdout
    pids = {line.split()[0] for line in ps.splitlines() if str(base) in line and " Z" not in line}
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
