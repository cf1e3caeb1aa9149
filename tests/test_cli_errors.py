"""Every `leadflow` command says what is wrong in one line and exits non-zero, never with a traceback:
missing or broken configuration, and a database that cannot be reached. Run as a user runs it: the
installed `leadflow` command in a subprocess (no stack needed: nothing here reaches a database)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

LEADFLOW = str(Path(sys.executable).with_name("leadflow"))
REPO_ROOT = Path(__file__).resolve().parents[1]
FAKE_ADS = {"GOOGLE_ADS_DEVELOPER_TOKEN": "dev", "GOOGLE_ADS_ACCESS_TOKEN": "token",
            "GOOGLE_ADS_ENDPOINT": "localhost:1"}


def closed_port_url() -> str:
    """A database URL nobody listens on: a port just bound and released."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql://leadflow:s3cret-pw@127.0.0.1:{port}/leadflow"


def leadflow(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the command with only `env` (plus PATH, and this checkout on PYTHONPATH) in its environment."""
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), "HOME": os.environ.get("HOME", "/tmp")}
    command = [LEADFLOW, *args] if args[0] != "make" else list(args)
    return subprocess.run(command, env={**base, **env}, cwd=cwd, text=True, capture_output=True, timeout=120)


def one_line_error(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(prefix), line
    return line


@pytest.mark.parametrize(
    ("command", "args"),
    [("migrate", ()), ("nightly", ()), ("nightly", ("--from", "2025-01-01", "--to", "2025-01-02")),
     ("regions load", ("{csv}",)), ("worker push", ()), ("worker pull-metrics", ()), ("worker run", ())],
)
def test_an_unreachable_database_is_one_line(command: str, args: tuple[str, ...], tmp_path: Path) -> None:
    csv = tmp_path / "pc4.csv"
    csv.write_text("pc4,province\n1011,Noord-Holland\n")
    argv = [*command.split(), *(arg.format(csv=csv) for arg in args)]
    result = leadflow(*argv, DATABASE_URL=closed_port_url(), **FAKE_ADS)
    line = one_line_error(result, f"leadflow {command}: cannot reach the database: ")
    assert "Connection refused" in line
    assert "s3cret-pw" not in line


@pytest.mark.parametrize("args", [("migrate",), ("nightly",), ("worker", "push")])
def test_a_missing_or_malformed_database_url_is_one_line(args: tuple[str, ...]) -> None:
    command = f"leadflow {' '.join(args)}: "
    missing = one_line_error(leadflow(*args, **FAKE_ADS), command)
    assert "DATABASE_URL is not set" in missing
    for url in ("mysql://root:s3cret-pw@db/x", "not a url"):
        malformed = one_line_error(leadflow(*args, DATABASE_URL=url, **FAKE_ADS), command)
        assert "DATABASE_URL is not a PostgreSQL connection string" in malformed
        assert "s3cret-pw" not in malformed  # libpq's own message would echo it


@pytest.mark.parametrize("action", ["push", "pull-metrics", "run"])
def test_the_worker_without_google_ads_configuration_names_what_to_set(action: str) -> None:
    line = one_line_error(leadflow("worker", action, DATABASE_URL=closed_port_url()),
                          f"leadflow worker {action}: Google Ads is not configured: ")
    assert "GOOGLE_ADS_CONFIGURATION_FILE_PATH" in line and "GOOGLE_ADS_DEVELOPER_TOKEN" in line


def test_incomplete_google_ads_configuration_names_the_missing_keys(tmp_path: Path) -> None:
    url = closed_port_url()
    ads = {"GOOGLE_ADS_DEVELOPER_TOKEN": "dev", "GOOGLE_ADS_CLIENT_ID": "id"}
    partial = one_line_error(
        leadflow("worker", "push", DATABASE_URL=url, **ads),
        "leadflow worker push: Google Ads configuration (GOOGLE_ADS_* variables): missing ")
    assert "GOOGLE_ADS_CLIENT_SECRET, GOOGLE_ADS_REFRESH_TOKEN" in partial
    assert "GOOGLE_ADS_CLIENT_ID," not in partial  # it is set

    yaml_file = tmp_path / "google-ads.yaml"
    yaml_file.write_text("client_id: id\nclient_secret: s\nrefresh_token: r\nuse_proto_plus: False\n")
    from_file = one_line_error(
        leadflow("worker", "push", DATABASE_URL=url, GOOGLE_ADS_CONFIGURATION_FILE_PATH=str(yaml_file)),
        f"leadflow worker push: Google Ads configuration (GOOGLE_ADS_CONFIGURATION_FILE_PATH={yaml_file}): ")
    assert from_file.endswith("missing developer_token")

    nowhere = str(tmp_path / "nope.yaml")
    absent = one_line_error(
        leadflow("worker", "push", DATABASE_URL=url, GOOGLE_ADS_CONFIGURATION_FILE_PATH=nowhere),
        "leadflow worker push: GOOGLE_ADS_CONFIGURATION_FILE_PATH=")
    assert "cannot read it (No such file or directory)" in absent

    bad_knob = one_line_error(
        leadflow("worker", "push", DATABASE_URL=url, LEADFLOW_WORKER_CLAIM_SIZE="many", **FAKE_ADS),
        "leadflow worker push: ")
    assert "LEADFLOW_WORKER_CLAIM_SIZE must be an integer, got 'many'" in bad_knob


def test_make_migrate_with_an_unreachable_database_says_it_without_a_traceback() -> None:
    result = leadflow("make", "-s", "migrate", cwd=REPO_ROOT, DATABASE_URL=closed_port_url())
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("leadflow")]
    assert line.startswith("leadflow migrate: cannot reach the database: ")
