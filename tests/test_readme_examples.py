"""Every ```sh and ```python example of the README runs, in order, on a fresh `make up` stack, and
succeeds: the walkthrough a newcomer follows cannot rot.

The stack is the README's own: `eval "$(make -s up)"` (the setup block) under a state folder of
this test's, then `leadflow demo --into-stack`. The shell blocks share one environment, as in one
terminal: each runs in bash with `set -e` and the variables of the blocks before it, and curl fails on
an HTTP error (--fail-with-body), so a 4xx is a failed example. Python blocks run in the
project's Python with that environment and nothing else: a snippet that misses an import fails.
A block right after `<!-- readme-test: skip (why) -->` is not run: only the install commands (make
demo, make test, a migrate onto Supabase) are marked so. JavaScript blocks are not run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from glue.lab import stack as glue_stack
from glue.paths import ROOT

README = ROOT / "README.md"
SKIP = re.compile(r"<!-- readme-test: skip \((?P<why>[^)]+)\) -->\s*$")
FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")
BLOCK_TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None  # why it is not run


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block of the README with its language and its skip marker, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        marker = SKIP.match(lines[i - 1]) if i > 0 else None
        blocks.append(Block(opening["lang"], i + 1, "\n".join(lines[i + 1 : end]),
                            marker["why"] if marker else None))
        i = end + 1
    return blocks


def runnable(blocks: list[Block]) -> list[Block]:
    return [b for b in blocks if b.lang in ("sh", "python") and b.skip is None]


def test_the_readme_is_read_as_its_blocks() -> None:
    """The extraction itself: languages, order, and only the marked install blocks skipped."""
    blocks = readme_blocks(README.read_text())
    skipped = [b for b in blocks if b.skip]
    assert all(b.lang == "sh" for b in skipped)
    assert any("make demo" in b.code for b in skipped)
    assert any("make migrate" in b.code for b in skipped)
    run = runnable(blocks)
    assert run[0].lang == "sh" and 'eval "$(make -s up)"' in run[0].code  # the setup comes first
    assert sum(b.lang == "python" for b in run) >= 8 and sum(b.lang == "sh" for b in run) >= 8
    for block in run:
        if block.lang == "python":
            assert re.search(r"^(import|from) ", block.code, re.M), f"line {block.line}: no imports"


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """The state folder of the README's `make up` stack; the stack and the folder go afterwards."""
    base = Path(tempfile.mkdtemp(prefix="leadflow-readme-"))
    try:
        yield base
    finally:
        glue_stack.load(base).remove()


def test_every_sh_and_python_example_runs_in_order_on_the_demo_stack(state_dir: Path) -> None:
    env_file = state_dir / "readme.env"
    env_file.write_text("")
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("LEADFLOW_", "PGRST_", "POSTGREST_")) and k != "DATABASE_URL"}
    base_env["LEADFLOW_STATE_DIR"] = str(state_dir)
    quoted = shlex.quote(str(env_file))
    ran = 0
    for block in runnable(readme_blocks(README.read_text())):
        if block.lang == "sh":
            script = (
                f"set -eo pipefail\nsource {quoted}\n"
                'curl() { command curl --fail-with-body --show-error "$@"; }\n'
                f"{block.code}\nexport -p > {quoted}\n"
            )
            command = ["bash", "-c", script]
        else:
            command = ["bash", "-c", f'source {quoted}; exec "{ROOT}/.venv/bin/python" -c "$0"', block.code]
        result = subprocess.run(command, cwd=ROOT, env=base_env, capture_output=True, text=True,
                                timeout=BLOCK_TIMEOUT_S)
        assert result.returncode == 0, (
            f"README line {block.line} ({block.lang}) failed with {result.returncode}:\n{block.code}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}")
        ran += 1
    # What the walkthrough did is in the stack: the partner's approvals became outcomes.
    check = subprocess.run(
        ["bash", "-c", f"source {quoted}; "
         'command curl -sf "$POSTGREST_URL/marketing_recommendation_outcomes?select=type,outcome&order=type" '
         '-H "$PARTNER"'],
        cwd=ROOT, env=base_env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert '{"type":"create_landing_page","outcome":"applied"}' in check.stdout
    assert '{"type":"pause_campaign","outcome":"waiting"}' in check.stdout
    assert ran == len(runnable(readme_blocks(README.read_text())))
