"""Helpers for the API tests: a committed Lead Flow dataset, and raw HTTP calls through postgrest-py's
own session when a test needs the status code (postgrest-py's APIError carries only the body)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from postgrest import SyncPostgrestClient

from tests.support import create_segment

DAY = dt.date(2026, 11, 20)


@dataclass
class Seeded:
    """Ids of the committed dataset: two segments with stats, plans, budget changes and an override."""

    segment: uuid.UUID
    other_segment: uuid.UUID
    inactive_segment: uuid.UUID
    override: uuid.UUID


def seed(conn: psycopg.Connection) -> Seeded:
    """Five days of stats and plans for schilder x noord-brabant, one day for dakdekker x utrecht,
    a succeeded, a failed and a conflicted budget change on DAY, and one target override."""
    seg = create_segment(conn, "schilder", "noord-brabant")
    other = create_segment(conn, "dakdekker", "utrecht")
    inactive = create_segment(conn, "loodgieter", "zeeland", is_active=False)
    for offset in range(5):
        day = DAY - dt.timedelta(days=4 - offset)
        conn.execute(
            "insert into lead_generation_stats (segment_id, date, leads_generated) values (%s, %s, %s)",
            (seg, day, offset + 1),
        )
        conn.execute(
            "insert into lead_segment_plans (segment_id, date, target_leads_per_day, actual_leads, lead_gap, "
            "lead_gap_percentage, target_daily_budget_google_ads, actual_daily_budget_google_ads, "
            "orchestration_status) values (%s, %s, 8, %s, %s, %s, 50, 40, 'success')",
            (seg, day, offset + 1, 8 - offset - 1, round((8 - offset - 1) * 100 / 8, 2)),
        )
    conn.execute(
        "insert into lead_generation_stats (segment_id, date, leads_generated) values (%s, %s, 7)",
        (other, DAY),
    )
    plan_other = conn.execute(
        "insert into lead_segment_plans (segment_id, date, target_leads_per_day, actual_leads, lead_gap, "
        "orchestration_status) values (%s, %s, 4, 7, -3, 'failed') returning id",
        (other, DAY),
    ).fetchone()[0]
    conn.execute(
        "insert into channel_orchestration_log (date, segment_id, action_type, old_value, new_value, status, "
        "applied_value) values (%s, %s, 'budget_increase', 40, 48, 'success', 48)",
        (DAY, seg),
    )
    conn.execute(
        "insert into channel_orchestration_log (date, segment_id, plan_id, action_type, old_value, "
        "new_value, status, error_code, error_message) values (%s, %s, %s, 'budget_decrease', 30, 24, "
        "'failed', 'RESOURCE_NOT_FOUND', 'campaign budget was removed in Google Ads')",
        (DAY, other, plan_other),
    )
    conn.execute(
        "insert into channel_orchestration_log (date, segment_id, channel, action_type, old_value, "
        "new_value, status, live_value) values (%s, %s, 'meta', 'budget_increase', 10, 12, 'conflict', 15)",
        (DAY, other),
    )
    override = conn.execute(
        "insert into lead_segment_target_overrides (segment_id, valid_from, valid_to, target_leads_per_day, "
        "reason) values (%s, %s, %s, 3, 'winter stop') returning id",
        (seg, DAY, DAY + dt.timedelta(days=6)),
    ).fetchone()[0]
    return Seeded(seg, other, inactive, override)


def add_failed_change_last_night(conn: psycopg.Connection, segment: uuid.UUID) -> None:
    """A budget change of last night (Amsterdam) that failed: lead_flow_alerts shows it to admins."""
    conn.execute(
        "insert into channel_orchestration_log (date, segment_id, channel, action_type, old_value, "
        "new_value, status, error_message) values (lead_flow.local_day(now()) - 1, %s, 'seo', "
        "'budget_increase', 1, 2, 'failed', 'quota exhausted')",
        (segment,),
    )


def http(client: SyncPostgrestClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request through the client's own session (its base URL and JWT); returns the raw response."""
    return client.session.request(method, path, **kwargs)
