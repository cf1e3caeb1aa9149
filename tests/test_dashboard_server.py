"""`leadflow dashboard`'s server and export: the page's files, config.js, PostgREST under /rest/v1,
and the vendored library files equal to the pinned npm packages' (no build step, nothing edited)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jwt
import psycopg
import pytest
from supabase import ClientOptions, create_client

from glue.dashboard import server
from glue.lab import stack as glue_stack
from glue.lab.tokens import anon_key, make_jwt
from glue.paths import ROOT
from tests.support import RestClients
from tests.support.api import seed

# vendored file -> (its npm package's folder, the file in it)
VENDORED = {
    "supabase.js": (ROOT / "node_modules/@supabase/supabase-js", "dist/umd/supabase.js"),
    "echarts.min.js": (ROOT / "node_modules/echarts", "dist/echarts.min.js"),
}


@pytest.fixture
def dashboard(stack: glue_stack.Stack) -> Iterator[server.RunningDashboard]:
    running = server.start(stack.rest.url, anon_key(stack.base))
    yield running
    running.stop()


def _get(
    url: str, token: str | None = None, method: str = "GET", body: bytes | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_vendored_libraries_are_the_pinned_npm_files() -> None:
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for name, (folder, file) in VENDORED.items():
        package = json.loads((folder / "package.json").read_text())
        assert package["version"] == pins[package["name"]], name
        assert (server.STATIC_DIR / "vendor" / name).read_bytes() == (folder / file).read_bytes(), name


def test_the_server_serves_the_page_its_config_and_postgrest_under_rest_v1(
    dashboard: server.RunningDashboard, stack: glue_stack.Stack, rest: RestClients
) -> None:
    status, page = _get(dashboard.url + "/")
    assert status == 200 and b'<script type="module" src="app.js">' in page
    status, config = _get(dashboard.url + "/config.js")
    assert status == 200
    assert json.loads(config.decode().split("export default ", 1)[1].rstrip().rstrip(";")) == {
        "apiUrl": dashboard.url, "anonKey": anon_key(stack.base), "signIn": "fragment",
    }
    # anon: the region reference only, 401 elsewhere, the status and body PostgREST gave.
    status, body = _get(dashboard.url + "/rest/v1/regions?limit=1")
    assert status == 200 and len(json.loads(body)) == 1
    status, body = _get(dashboard.url + "/rest/v1/lead_segment_overview")
    assert status == 401 and json.loads(body)["code"] == "42501"
    # an admin's JWT goes through, POST bodies too (an RPC's own 400 message comes back as it is).
    admin = make_jwt(stack.rest.jwt_secret, "authenticated", rest.admin_id)
    status, body = _get(dashboard.url + "/rest/v1/lead_segment_overview", admin)
    assert (status, json.loads(body)) == (200, [])
    status, body = _get(
        dashboard.url + "/rest/v1/rpc/set_target_override", admin, "POST",
        json.dumps({"segment_id": None, "valid_from": None, "valid_to": None,
                    "target_leads_per_day": 1, "reason": "x"}).encode(),
    )
    assert status == 400 and "valid_from and valid_to are required" in json.loads(body)["message"]
    # the files are read-only
    status, _ = _get(dashboard.url + "/index.html", method="POST", body=b"{}")
    assert status == 405


def test_export_writes_the_files_configured_for_a_static_host(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "glue.cli", "dashboard", "--export", str(out),
         "--api-url", "https://abc.supabase.co/", "--anon-key", "ANON"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    shipped = {p.relative_to(server.STATIC_DIR) for p in server.STATIC_DIR.rglob("*") if p.is_file()}
    written = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    assert written == shipped | {Path("config.js")}
    config = (out / "config.js").read_text()
    assert '"apiUrl": "https://abc.supabase.co"' in config and '"signIn": "supabase"' in config
    assert '"anonKey": "ANON"' in config
    missing = subprocess.run(
        [sys.executable, "-m", "glue.cli", "dashboard", "--export", str(tmp_path / "x"), "--anon-key", "A"],
        capture_output=True, text=True, check=False,
    )
    assert missing.returncode == 2 and "--api-url" in missing.stderr


def test_leadflow_dashboard_prints_its_url_and_a_sign_in_url_per_kind_of_user(
    stack: glue_stack.Stack, rest: RestClients, committed: psycopg.Connection
) -> None:
    seed(committed)
    env = {**os.environ, "LEADFLOW_STATE_DIR": str(stack.base)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "glue.cli", "dashboard"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = [proc.stdout.readline().strip() for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    url = lines[0].split(": ", 1)[1].split("/  ", 1)[0]
    assert lines[0].startswith("Leadstroom dashboard: http://127.0.0.1:")
    admin_line, partner_line = lines[1], lines[2]
    assert admin_line.startswith("sign in as beheerder") and partner_line.startswith("sign in as partner")
    # Both partners serve a segment of the seed; the first by company name is picked.
    partners = {rest.partner_id, rest.other_partner_id}
    for line, users in ((admin_line, {rest.admin_id}), (partner_line, partners)):
        link = line.split(": ", 1)[1]
        assert link.startswith(f"{url}/#access_token=")
        token = link.split("#access_token=", 1)[1]
        claims = jwt.decode(token, stack.rest.jwt_secret, algorithms=["HS256"])
        assert claims["role"] == "authenticated" and claims["sub"] in {str(u) for u in users}


def test_supabase_py_create_client_works_against_the_dashboards_url(
    dashboard: server.RunningDashboard,
    stack: glue_stack.Stack,
    rest: RestClients,
    committed: psycopg.Connection,
) -> None:

    s = seed(committed)
    key = anon_key(stack.base)
    anon = create_client(dashboard.url, key)
    assert len(anon.table("regions").select("*").limit(2).execute().data) == 2
    admin_jwt = make_jwt(stack.rest.jwt_secret, "authenticated", rest.admin_id)
    admin = create_client(dashboard.url, key, ClientOptions(headers={"Authorization": f"Bearer {admin_jwt}"}))
    rows = admin.table("lead_segment_overview").select("id,code").order("code").execute().data
    assert [r["id"] for r in rows] == [str(s.other_segment), str(s.segment)]  # dakdekker, schilder
