"""`make screenshots`: a PNG of each Leadstroom view of the demo marketplace, for the README.

Starts a throwaway stack, fills it with the demo marketplace as `leadflow demo --into-stack` does
(history up to yesterday, last night run, an admin and a partner running its own marketing), serves
the page with `leadflow dashboard`'s server and photographs every view in Debian's headless chromium.
Needs the test extras (selenium) and chromium + chromium-driver (make deps installs them).

Usage: python -m glue.dashboard.screenshots [DIR]   (default docs/screenshots)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from glue.dashboard import server
from glue.dashboard.browser import chrome, console_errors

WIDTH, MAX_HEIGHT = 1440, 2600
# file name -> (who, view)
SHOTS = [
    ("1-overview", "admin", "overview"),
    ("2-segment", "admin", "segment/{SEGMENT_ID}"),
    ("3-nights", "admin", "nights"),
    ("4-settings", "admin", "settings"),
    ("5-partner-marketing-admin", "admin", "partner/{PARTNER_ID}"),
    ("6-partner-portal-marketing", "partner", "marketing"),
]


def photograph(driver, url: str, tokens: dict[str, str], ids: dict[str, str], out: Path) -> list[Path]:  # noqa: ANN001
    written = []
    signed_in = None
    for name, who, view in SHOTS:
        if who != signed_in:
            driver.get(f"{url}/config.js")
            driver.execute_script("sessionStorage.clear()")
            driver.set_window_size(WIDTH, 900)
            driver.get(f"{url}/#access_token={tokens[who]}")
            _wait_ready(driver)
            signed_in = who
        driver.set_window_size(WIDTH, 900)
        driver.execute_script("location.hash = arguments[0]", "#/" + view.format(**ids))
        time.sleep(0.1)
        _wait_ready(driver)
        height = min(MAX_HEIGHT, int(driver.execute_script("return document.documentElement.scrollHeight")))
        driver.set_window_size(WIDTH, height)
        time.sleep(0.8)  # the charts resize to the new window
        path = out / f"{name}.png"
        driver.save_screenshot(str(path))
        errors = console_errors(driver)
        if errors:
            raise RuntimeError(f"{name}: the page logged errors: {errors}")
        written.append(path)
        print(f"wrote {path}", flush=True)
    return written


def _wait_ready(driver) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if driver.execute_script("return document.body.dataset.state") == "ready":
            return
        time.sleep(0.05)
    raise RuntimeError("the page did not become ready: " + driver.find_element("id", "main").text[:300])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", nargs="?", default="docs/screenshots", type=Path)
    args = parser.parse_args(argv)

    from glue.lab import demo
    from glue.lab import stack as glue_stack
    from glue.lab.tokens import anon_key, make_jwt

    args.out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="leadflow-screenshots-"))
    st = glue_stack.up(base)
    running = None
    driver = None
    try:
        cfg = demo.config_from(argparse.Namespace(seed=7, days=28, history_days=demo.STACK_HISTORY_DAYS))
        ids = demo.fill_stack(st.database_url, cfg, lambda text: print(text, file=sys.stderr, flush=True))
        running = server.start(st.rest.url, anon_key(st.base))
        tokens = {
            "admin": make_jwt(st.rest.jwt_secret, "authenticated", ids["ADMIN_ID"]),
            "partner": make_jwt(st.rest.jwt_secret, "authenticated", ids["PARTNER_ID"]),
        }
        driver = chrome("--hide-scrollbars")
        photograph(driver, running.url, tokens, ids, args.out)
    finally:
        if driver is not None:
            driver.quit()
        if running is not None:
            running.stop()
        st.remove()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
