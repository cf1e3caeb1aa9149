"""`pip install .` gives a working product without the checkout: the wheel, installed (not editable) into
a fresh virtualenv, runs `leadflow worker --help`, and `leadflow migrate` finds the migrations and sql/
it carries. No network: the wheel is built without build isolation, and the new virtualenv borrows this
one's third-party packages (a path line in a .pth file, added after the install: pip never sees them).
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import psycopg
import pytest

from glue import db as glue_db
from glue.paths import PC4_RANGES_CSV, ROOT

# What a wheel is built from: the package and the schema folders pyproject.toml maps into it.
SOURCES = ("pyproject.toml", "glue", "migrations", "sql")


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with the project installed from its wheel; returns the virtualenv's folder."""
    tmp = tmp_path_factory.mktemp("install")
    # A copy of the sources, so the build's build/ and egg-info never land in (or come from) the checkout.
    src = tmp / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input")
    run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", src)
    [wheel] = (tmp / "dist").glob("*.whl")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    run(*pip, "--python", venv / "bin" / "python", "install", "-q", "--no-deps", "--no-index", wheel)
    target = Path(run(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
                  .stdout.strip())
    (target / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def installed_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH, no checkout on the path: what the installed package finds is its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LEADFLOW_DATA_DIR")}
    return {**env, **extra}


def test_the_installed_leadflow_runs_the_worker_command(installed: Path, tmp_path: Path) -> None:
    result = run(installed / "bin" / "leadflow", "worker", "--help", cwd=tmp_path, env=installed_env())
    assert result.stdout.startswith("usage: leadflow worker"), result.stdout
    assert "push" in result.stdout and "pull-metrics" in result.stdout and "run" in result.stdout
    # Production code stands without the lab: the worker and the operations import none of it.
    probe = ("import sys, glue.cli, glue.db, glue.nightly, glue.regions, glue.worker.cli; "
             "print(sorted(m for m in sys.modules if m.startswith('glue.lab')))")
    assert run(installed / "bin" / "python", "-c", probe, cwd=tmp_path, env=installed_env()).stdout == "[]\n"


def test_the_installed_package_carries_its_schema_and_finds_the_pc4_reference(
    installed: Path, tmp_path: Path
) -> None:
    probe = ("import json, glue, glue.paths as p; print(json.dumps({'package': glue.__file__, "
             "'migrations': str(p.MIGRATIONS_DIR), 'sql': str(p.SQL_DIR), 'pc4': str(p.PC4_RANGES_CSV)}))")
    data_dir = PC4_RANGES_CSV.parent
    found = json.loads(run(installed / "bin" / "python", "-c", probe, cwd=tmp_path,
                           env=installed_env(LEADFLOW_DATA_DIR=str(data_dir))).stdout)
    package = Path(found["package"]).parent
    assert package.is_relative_to(installed), f"glue was imported from {package}, not the installed copy"
    for name in ("migrations", "sql"):
        shipped = Path(found[name])
        assert shipped == package / name, f"{name} resolved to {shipped}, not inside the installed package"
        repo_files = sorted(p.name for p in (ROOT / name).iterdir() if p.is_file())
        assert sorted(p.name for p in shipped.iterdir() if p.is_file()) == repo_files
        _, mismatch, errors = filecmp.cmpfiles(ROOT / name, shipped, repo_files, shallow=False)
        assert not mismatch and not errors, f"{name}: {mismatch or errors} differ from the checkout"
    # The PC4 file is not shipped (a user brings the current CBS file): it is found where pointed to.
    assert Path(found["pc4"]) == PC4_RANGES_CSV and PC4_RANGES_CSV.exists()


def test_the_installed_leadflow_migrates_and_loads_regions(
    installed: Path, fresh_database: str, tmp_path: Path
) -> None:
    env = installed_env(DATABASE_URL=fresh_database)
    migrate = run(installed / "bin" / "leadflow", "migrate", cwd=tmp_path, env=env)
    assert "migrations applied" in migrate.stderr
    with psycopg.connect(fresh_database) as conn:
        applied = conn.execute("select count(*) from lead_flow._yoyo_migration").fetchone()[0]
        digest = conn.execute("select digest from lead_flow.applied_sql").fetchone()[0]
    assert applied == len([p for p in (ROOT / "migrations").iterdir() if p.suffix in (".sql", ".py")])
    assert digest == glue_db.sql_digest(), "the installed package applied other sql/ than the checkout's"
    loaded = run(installed / "bin" / "leadflow", "regions", "load", PC4_RANGES_CSV, cwd=tmp_path, env=env)
    assert loaded.stdout.startswith("loaded 110 PC4 ranges"), loaded.stdout
