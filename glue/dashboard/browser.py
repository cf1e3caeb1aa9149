"""Debian's headless chromium driven by selenium through chromedriver, as the browser test, its
benchmark (bench/bench_dashboard.py) and `make screenshots` open the Leadstroom page. Needs the test
extras (selenium) and chromium + chromium-driver (make deps installs them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def chrome(*switches: str) -> WebDriver:
    """A selenium WebDriver of headless chromium in a Dutch 1440x900 window, its console log readable
    (goog:loggingPrefs); `switches`: more command-line switches."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for switch in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1440,900",
        "--lang=nl-NL",
        *switches,
    ):
        options.add_argument(switch)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def console_errors(driver: WebDriver) -> list[str]:
    """What the page logged as errors (SEVERE) since the last call: reading the log empties it."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
