"""`leadflow worker pull-metrics`: daily cost, clicks, impressions, conversions per mapped campaign.

Which campaigns: what the contract function lead_flow.campaigns_to_pull() returns (the campaigns
mapped to segments and partners' own Google Ads campaigns). One GAQL search_stream per customer gives
a row per campaign per segments.date; days without a row had no activity and are recorded as zeros,
so a re-pull (conversions keep arriving for days) corrects every day of the window. Recorded through
lead_flow.record_campaign_metrics, in one transaction per customer.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from glue.worker.gateway import AdsCallFailed, AdsGateway, MetricRow

log = logging.getLogger("leadflow.worker")

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_RECORD_SQL = (
    "select lead_flow.record_campaign_metrics(p_customer_id => %s::text, p_campaign_id => %s::text, "
    "p_date => %s::date, p_cost_micros => %s::bigint, p_clicks => %s::bigint, p_impressions => %s::bigint, "
    "p_conversions => %s::numeric)"
)


@dataclass
class MetricsReport:
    first: date
    last: date
    campaigns: int = 0
    rows_recorded: int = 0
    failed_customers: int = 0

    def summary(self) -> str:
        failed = f"; {self.failed_customers} customers failed" if self.failed_customers else ""
        return (f"metrics {self.first}..{self.last}: {self.campaigns} campaigns, "
                f"{self.rows_recorded} campaign-days recorded{failed}")


def amsterdam_today(now: datetime | None = None) -> date:
    return (now or datetime.now(AMSTERDAM)).astimezone(AMSTERDAM).date()


def metrics_window(day: date | None, days: int, today: date | None = None) -> tuple[date, date]:
    """--date D: just D; else the `days` Amsterdam days up to and including yesterday."""
    if day is not None:
        return day, day
    if days < 1:
        raise ValueError("days must be at least 1")
    last = (today or amsterdam_today()) - timedelta(days=1)
    return last - timedelta(days=days - 1), last


def campaigns_to_pull(conn: psycopg.Connection) -> dict[str, set[str]]:
    """Campaign ids per customer id (lead_flow.campaigns_to_pull, the worker contract)."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for customer_id, campaign_id in conn.execute("select * from lead_flow.campaigns_to_pull()").fetchall():
        wanted[customer_id].add(campaign_id)
    return dict(wanted)


def pull_metrics(conn: psycopg.Connection, gateway: AdsGateway, first: date, last: date) -> MetricsReport:
    """Pull and record [first, last] for every campaign to pull; a failing customer does not stop the rest.

    Raises QuotaExhausted (from the gateway) when the daily quota is used up.
    """
    report = MetricsReport(first, last)
    for customer_id, campaign_ids in sorted(campaigns_to_pull(conn).items()):
        report.campaigns += len(campaign_ids)
        try:
            rows = gateway.campaign_metrics(customer_id, campaign_ids, first, last)
        except AdsCallFailed as failure:
            if failure.error.kind == "quota":
                raise
            report.failed_customers += 1
            error = failure.error
            log.error("metrics for customer %s: %s: %s", customer_id, error.code, error.message)
            continue
        values = _with_zero_days(customer_id, campaign_ids, rows, first, last)
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(_RECORD_SQL, values)
        report.rows_recorded += len(values)
    log.info("pull-metrics: %s", report.summary())
    return report


def _with_zero_days(
    customer_id: str, campaign_ids: set[str], rows: list[MetricRow], first: date, last: date
) -> list[tuple[str, str, date, int, int, int, float]]:
    reported = {(r.campaign_id, r.day): r for r in rows}
    values = []
    for campaign_id in sorted(campaign_ids):
        day = first
        while day <= last:
            row = reported.get((str(int(campaign_id)), day))
            if row is None:
                values.append((customer_id, campaign_id, day, 0, 0, 0, 0.0))
            else:
                values.append((customer_id, campaign_id, day, row.cost_micros, row.clicks, row.impressions,
                               row.conversions))
            day += timedelta(days=1)
    return values
