"""`leadflow token`: JWTs for the local stack only, signed with the secret its PostgREST runs with."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time

import httpx
import jwt
import psycopg

from glue.lab import stack as glue_stack
from glue.paths import ROOT
from tests.support import create_segment, create_user

LEADFLOW = str(ROOT / ".venv" / "bin" / "leadflow")


def _token(state_dir: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADFLOW_", "PGRST_"))}
    env["LEADFLOW_STATE_DIR"] = state_dir
    return subprocess.run([LEADFLOW, "token", *args], env=env, capture_output=True, text=True, timeout=60)


def test_tokens_are_signed_with_the_stacks_secret_and_work_against_its_postgrest(
    stack: glue_stack.Stack, committed: psycopg.Connection
) -> None:
    admin = create_user(committed, is_admin=True)
    create_segment(committed, "schilder", "utrecht")
    url = stack.rest.url

    admin_token = _token(str(stack.base), str(admin))
    assert admin_token.returncode == 0, admin_token.stderr
    token = admin_token.stdout.strip()
    claims = jwt.decode(token, stack.rest.jwt_secret, algorithms=["HS256"])
    assert (claims["role"], claims["sub"]) == ("authenticated", str(admin))
    assert 7.9 * 3600 < claims["exp"] - time.time() <= 8 * 3600  # a working day
    segments = httpx.get(f"{url}/lead_segments?select=code", headers={"Authorization": f"Bearer {token}"})
    assert (segments.status_code, segments.json()) == (200, [{"code": "schilder_utrecht"}])

    anon = _token(str(stack.base), "--anon")
    assert anon.returncode == 0 and anon.stdout == _token(str(stack.base), "--anon").stdout  # one anon key
    key = {"Authorization": f"Bearer {anon.stdout.strip()}"}
    assert jwt.decode(anon.stdout.strip(), stack.rest.jwt_secret, algorithms=["HS256"])["role"] == "anon"
    assert httpx.get(f"{url}/regions?limit=1", headers=key).status_code == 200
    assert httpx.get(f"{url}/lead_segments", headers=key).status_code == 401


def test_token_refuses_without_a_local_stack_or_with_a_bad_user_id(stack: glue_stack.Stack) -> None:
    with tempfile.TemporaryDirectory(prefix="leadflow-no-stack-") as empty:
        refused = _token(empty, "00000000-0000-0000-0000-000000000001")
    assert refused.returncode == 2 and refused.stdout == ""
    assert f"leadflow token: no local stack under {empty}" in refused.stderr
    bad = _token(str(stack.base), "not-a-uuid")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert "USER_ID must be a uuid" in bad.stderr
    neither = _token(str(stack.base))
    assert neither.returncode == 2 and "give a USER_ID (a profile id) or --anon" in neither.stderr
