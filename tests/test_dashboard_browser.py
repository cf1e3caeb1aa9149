"""The Leadstroom page in a real browser: Debian's chromium driven by selenium through chromedriver,
against `leadflow dashboard`'s server, the test stack's PostgREST and committed data.

An admin signs in through the URL fragment, sees one heatmap cell per active segment, opens a segment,
adds a target override (in the list and in the database) and sees a bad override's message as
PostgREST gave it; a partner sees only its own rows and approves a recommendation, which queues one
pending budget change; anon sees the sign-in only; no view logs a console error.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from glue.dashboard import server
from glue.dashboard.browser import chrome, console_errors
from glue.lab import stack as glue_stack
from glue.lab.tokens import anon_key, make_jwt
from tests.support import RestClients
from tests.support.api import seed
from tests.support.partner_marketing import TwoPartners, seed_two_partners

WAIT_S = 20


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chrome()
    yield driver
    driver.quit()


@dataclass
class Page:
    driver: WebDriver
    url: str
    secret: str

    def token(self, user: uuid.UUID) -> str:
        return make_jwt(self.secret, "authenticated", user)

    def sign_in(self, user: uuid.UUID, view: str = "") -> None:
        self.fresh()
        suffix = f"&view={view}" if view else ""
        self.driver.get(f"{self.url}/#access_token={self.token(user)}{suffix}")
        self.wait_state()

    def fresh(self) -> None:
        """A new browser session: no token kept from an earlier test."""
        self.driver.get(f"{self.url}/config.js")  # the origin, without the app running
        self.driver.execute_script("sessionStorage.clear()")
        self.console_errors()  # drop what an earlier page logged

    def go(self, view: str) -> None:
        self.driver.execute_script("location.hash = arguments[0]", f"#/{view}")
        time.sleep(0.05)
        self.wait_state()

    def wait_state(self) -> str:
        """The page's state once it stops loading: ready, signed-out or error."""
        self.wait(lambda: self.js("return document.body.dataset.state") not in ("loading", None), "the page")
        return str(self.js("return document.body.dataset.state"))

    def wait(self, condition: Callable[[], Any], what: str = "condition") -> Any:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; page says: {self.main_text()[:500]}")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def main_text(self) -> str:
        return self.driver.find_element(By.ID, "main").text

    def view(self) -> str:
        return self.js("return document.body.dataset.view")

    def console_errors(self) -> list[str]:
        return console_errors(self.driver)

    def open_numbers(self, css: str = "details.numbers") -> None:
        """Open a chart's numbers table (built when opened) and wait for its rows."""
        self.driver.find_element(By.CSS_SELECTOR, f"{css} summary").click()
        self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, f"{css} tbody tr"), "the numbers table")

    def chart_data(self, name: str) -> list[dict[str, Any]]:
        self.wait(lambda: self.js(
            "const el = document.querySelector(`[data-chart='${arguments[0]}']`);"
            "return el && window.echarts.getInstanceByDom(el) !== undefined", name), f"chart {name}")
        return self.js(
            "const el = document.querySelector(`[data-chart='${arguments[0]}']`);"
            "return window.echarts.getInstanceByDom(el).getOption().series[0].data", name)


@pytest.fixture
def market(rest: RestClients, committed: psycopg.Connection) -> TwoPartners:
    """Two active segments (plans, stats, budget changes) and an inactive one; both partners with a
    marketing profile, a campaign, a landing page, a lead gap and a pending budget recommendation."""
    s = seed(committed)
    market = seed_two_partners(committed, rest, s.segment, s.other_segment)
    committed.execute(
        "update partner_marketing_campaigns set name = 'Eigen campagne ' || external_campaign_id"
    )
    return market


@pytest.fixture
def page(browser: WebDriver, stack: glue_stack.Stack) -> Iterator[Page]:
    running = server.start(stack.rest.url, anon_key(stack.base))
    yield Page(browser, running.url, stack.rest.jwt_secret)
    running.stop()


def test_anon_sees_the_sign_in_only(page: Page, market: TwoPartners) -> None:
    page.fresh()
    page.driver.get(f"{page.url}/#/overview")
    page.driver.refresh()
    assert page.wait_state() == "signed-out"
    assert page.driver.find_element(By.ID, "sign-in").is_displayed()
    assert page.driver.find_element(By.ID, "nav").text == ""
    assert "Inloggen" in page.main_text() and "Overzicht" not in page.main_text()
    assert page.console_errors() == []


def test_a_bad_token_becomes_a_clear_message(page: Page, market: TwoPartners) -> None:
    page.fresh()
    forged = make_jwt("not-the-secret-" * 4, "authenticated", uuid.uuid4())
    page.driver.get(f"{page.url}/#access_token={forged}")
    assert page.wait_state() == "signed-out"
    assert "Je sessie is verlopen of ongeldig (401)" in page.main_text()


def test_admin_overview_heatmap_has_one_cell_per_active_segment(
    page: Page, market: TwoPartners, committed: psycopg.Connection
) -> None:
    page.sign_in(market.rest.admin_id)
    assert page.view() == "overview"
    cells = page.chart_data("Gap % per branche × provincie")
    active = {str(r[0]) for r in committed.execute("select id from lead_segments where is_active")}
    assert len(cells) == len(active)
    assert sorted(page.js("return window.leadstroom.heatmapSegments")) == sorted(active)
    page.wait(lambda: page.js("return window.leadstroom.overviewDrawnAt"), "the heatmap's first draw")
    # Last night, then the 7 days: schilder x noord-brabant is 37.5% short last night, 62.5% over the week.
    seg = page.js("return window.leadstroom.heatmapSegments").index(str(market.segment))
    assert cells[seg][2] == 37.5
    page.driver.find_element(By.CSS_SELECTOR, "button[data-measure=week]").click()
    page.wait(lambda: page.chart_data("Gap % per branche × provincie")[seg][2] == 62.5, "the 7-day gap")
    # Its numbers as a table: one row per active segment, each a link to the segment.
    page.open_numbers()
    links = page.driver.find_elements(By.CSS_SELECTOR, "details.numbers tbody a")
    assert sorted(a.get_attribute("href").rsplit("/", 1)[1] for a in links) == sorted(active)
    assert page.console_errors() == []


def test_admin_opens_a_segment_adds_an_override_and_sees_a_bad_ones_message(
    page: Page, market: TwoPartners, committed: psycopg.Connection
) -> None:
    page.sign_in(market.rest.admin_id)
    page.open_numbers()
    page.driver.find_element(By.CSS_SELECTOR, f"details.numbers a[href='#/segment/{market.segment}']").click()
    page.wait(lambda: page.view() == "segment" and page.js("return document.body.dataset.state") == "ready",
              "the segment view")
    assert "schilder_noord_brabant" in page.driver.find_element(By.TAG_NAME, "h1").text
    assert page.console_errors() == []

    start = dt.date.today() + dt.timedelta(days=40)
    form = page.driver.find_element(By.ID, "override-form")

    def submit(first: dt.date, last: dt.date, target: int, reason: str) -> None:
        for name, value in (("valid_from", first.isoformat()), ("valid_to", last.isoformat()),
                            ("target", str(target)), ("reason", reason)):
            page.js("arguments[0].elements[arguments[1]].value = arguments[2]", form, name, value)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    submit(start, start + dt.timedelta(days=3), 17, "voorjaarsactie")
    overrides = page.driver.find_element(By.ID, "overrides-list")
    page.wait(lambda: "voorjaarsactie" in overrides.text, "the override")
    rows = committed.execute(
        "select valid_from, valid_to, target_leads_per_day from lead_segment_target_overrides "
        "where segment_id = %s and reason = 'voorjaarsactie'", (market.segment,)
    ).fetchall()
    assert rows == [(start, start + dt.timedelta(days=3), 17)]

    # An overlapping one: PostgREST's message as it is (409 from set_target_override).
    submit(start + dt.timedelta(days=1), start + dt.timedelta(days=5), 9, "overlap")
    message = page.wait(lambda: page.driver.find_element(By.ID, "override-message").text, "the message")
    assert message.startswith(
        f"the segment already has an override from {start.isoformat()} to "
        f"{(start + dt.timedelta(days=3)).isoformat()} (target 17) that overlaps"
    ), message
    assert "remove it with remove_target_override" in message  # the hint too
    assert "overlap" not in page.driver.find_element(By.ID, "overrides-list").text


def test_a_partner_sees_its_own_rows_and_approval_queues_one_pending_change(
    page: Page, market: TwoPartners, committed: psycopg.Connection
) -> None:
    me, other = market.rest.partner_id, market.rest.other_partner_id
    page.sign_in(me)
    assert page.view() == "marketing"
    text = page.main_text()
    assert "Eigen campagne 111" in text and "Eigen campagne 222" not in text
    assert "schilder_noord_brabant" in text and "dakdekker_utrecht" not in text
    nav = page.driver.find_element(By.ID, "nav").text
    assert "Marketing" in nav and "Overzicht" not in nav and "Instellingen" not in nav
    buttons = page.driver.find_elements(By.CSS_SELECTOR, "button[data-approve]")
    assert [b.get_attribute("data-approve") for b in buttons] == [str(market.rec[me])]
    assert page.console_errors() == []

    buttons[0].click()
    page.wait(lambda: "Goedgekeurd." in page.main_text(), "the approval")
    page.wait(lambda: "in de wachtrij" in page.main_text(), "what became of it")
    rows = committed.execute(
        "select status, recommendation_id, partner_campaign_id from channel_orchestration_log "
        "where recommendation_id is not null"
    ).fetchall()
    assert rows == [("pending", market.rec[me], market.campaign[me])]
    assert committed.execute(
        "select status from ai_marketing_recommendations where id = %s", (market.rec[other],)
    ).fetchone() == ("pending",)

    # What became of it, as the worker recorded it: a failed push shows with its message.
    committed.execute(
        "update channel_orchestration_log set status = 'failed', "
        "error_message = 'budget removed in Google Ads' where recommendation_id = %s",
        (market.rec[me],),
    )
    page.go("overview")  # a partner has no overview: back to its Marketing tab, drawn again
    page.go("marketing")
    assert "mislukt: budget removed in Google Ads" in page.main_text()

    # An admin view by URL: a clear message, not a blank and not the data.
    page.go("overview")
    assert "alleen voor beheerders" in page.main_text()


def test_no_view_logs_a_console_error(page: Page, market: TwoPartners) -> None:
    page.sign_in(market.rest.admin_id)
    for view in ("overview", f"segment/{market.segment}", "nights", "settings", "partners",
                 f"partner/{market.rest.partner_id}"):
        page.go(view)
        assert page.js("return document.body.dataset.state") == "ready", (view, page.main_text()[:300])
        time.sleep(0.2)
        assert page.console_errors() == [], view
    page.sign_in(market.rest.partner_id)
    assert page.js("return document.body.dataset.state") == "ready"
    time.sleep(0.2)
    assert page.console_errors() == []


def test_admin_edits_a_setting_within_its_definitions_range(
    page: Page, market: TwoPartners, committed: psycopg.Connection
) -> None:
    page.sign_in(market.rest.admin_id, "settings")
    assert page.view() == "settings"
    field = page.driver.find_element(By.CSS_SELECTOR, "input[name=max_budget]")
    cell = field.find_element(By.XPATH, "..")

    def save(value: str) -> str:
        page.js("arguments[0].value = arguments[1]", field, value)
        cell.find_element(By.TAG_NAME, "button").click()
        return page.wait(lambda: cell.find_element(By.TAG_NAME, "p").text if cell.find_elements(
            By.TAG_NAME, "p") else "", "the outcome")

    assert save("5000000") == 'setting "max_budget" must be between 0 and 1000000, got 5000000'
    assert save("750") == "Opgeslagen."
    assert committed.execute(
        "select value from lead_flow_settings where key = 'max_budget' and segment_id is null"
    ).fetchone() == (750,)


def test_a_partner_creates_edits_and_publishes_a_landing_page(
    page: Page, market: TwoPartners, committed: psycopg.Connection
) -> None:
    page.sign_in(market.rest.partner_id)
    form = page.driver.find_element(By.ID, "page-form")
    page.js("arguments[0].elements.path.value = '/de-kwast/schilder-breda'", form)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    page.wait(lambda: "/de-kwast/schilder-breda" in page.main_text(), "the new page")
    title = page.driver.find_element(By.CSS_SELECTOR, "input[aria-label='Titel /de-kwast/schilder-breda']")
    title.send_keys("Schilder in Breda")
    row = title.find_element(By.XPATH, "ancestor::tr")
    row.find_element(By.XPATH, ".//button[text()='Opslaan']").click()
    # The tab is drawn again with the saved title (the message shows first, in the old one).
    saved = "input[aria-label='Titel /de-kwast/schilder-breda'][value='Schilder in Breda']"
    page.wait(lambda: page.driver.find_elements(By.CSS_SELECTOR, saved), "the saved title")
    page.driver.find_element(By.CSS_SELECTOR, saved).find_element(
        By.XPATH, "ancestor::tr//button[text()='Publiceren']"
    ).click()
    page.wait(lambda: "Gepubliceerd." in page.main_text(), "the publication")
    assert committed.execute(
        "select partner_id, status, title from partner_landing_pages where path = '/de-kwast/schilder-breda'"
    ).fetchone() == (market.rest.partner_id, "published", "Schilder in Breda")


def test_signing_out_and_a_user_without_a_partner_or_admin_profile(page: Page, market: TwoPartners) -> None:
    page.sign_in(market.rest.admin_id)
    page.driver.find_element(By.XPATH, "//nav//button[text()='Uitloggen']").click()
    page.wait(lambda: page.driver.find_elements(By.ID, "sign-in"), "the sign-in")
    page.go("overview")
    assert page.driver.find_elements(By.ID, "sign-in") and "Overzicht" not in page.main_text()
    assert page.js("return sessionStorage.length") == 0

    page.sign_in(uuid.uuid4())  # a valid JWT whose sub has no profile
    assert page.wait_state() == "error"
    assert "geen partner of beheerder" in page.main_text()
    assert page.driver.find_element(By.ID, "nav").text == ""


def test_admin_pauses_a_segment_and_reruns_a_night(
    page: Page, market: TwoPartners, committed: psycopg.Connection
) -> None:
    page.sign_in(market.rest.admin_id, "settings")
    code = page.driver.find_element(By.CSS_SELECTOR, "input[name=code]")
    code.send_keys("dakdekker_utrecht")
    code.find_element(By.XPATH, "ancestor::form//button").click()
    page.wait(lambda: "dakdekker_utrecht" in page.main_text(), "the paused segment")
    paused = "select value from lead_flow_settings where key = 'paused' and segment_id = %s"
    assert committed.execute(paused, (market.other_segment,)).fetchone() == (True,)

    page.go("nights")
    form = page.driver.find_element(By.ID, "rerun-form")
    yesterday = committed.execute("select lead_flow.local_day(now()) - 1").fetchone()[0]
    page.js("arguments[0].elements.day.value = arguments[1]", form, yesterday.isoformat())
    form.find_element(By.TAG_NAME, "button").click()
    result = page.driver.find_element(By.ID, "rerun-result")
    page.wait(lambda: result.find_elements(By.CSS_SELECTOR, "tbody tr"), "the steps")
    rows = result.find_elements(By.CSS_SELECTOR, "tbody tr")
    steps = [tr.find_element(By.TAG_NAME, "td").text for tr in rows]
    registered = committed.execute("select step from lead_flow.pipeline_steps order by sort_order").fetchall()
    assert steps == [r[0] for r in registered]
    assert committed.execute(
        "select count(*) from lead_flow.nightly_runs where date = %s", (yesterday,)
    ).fetchone()[0] > 0
