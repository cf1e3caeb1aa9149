"""Factories for the nightly pipeline's tests: segments with a campaign mapping, leads at local
times, stats history, and row snapshots for idempotency checks."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg

_campaign_ids = itertools.count(int(uuid.uuid4().int % 10**9) * 1000)

BRANCHES = ["schilder", "dakdekker", "loodgieter", "hovenier", "elektricien"]
REGIONS = ["noord-brabant", "utrecht", "limburg", "gelderland", "zeeland", "groningen", "friesland",
           "drenthe", "overijssel", "flevoland", "noord-holland", "zuid-holland"]


def segment(conn: psycopg.Connection, branch: str, region: str, *, budget: Decimal | float | None = None,
            campaign: bool = True) -> uuid.UUID:
    """An active segment, mapped to a Google Ads campaign with `budget` live unless campaign=False."""
    seg_id = conn.execute("insert into public.lead_segments (branch, region) values (%s, %s) returning id",
                          (branch, region)).fetchone()[0]
    if campaign:
        cid = next(_campaign_ids)
        conn.execute(
            """insert into public.lead_segment_campaigns (segment_id, customer_id, campaign_id,
                                                          budget_resource_name, daily_budget)
               values (%s, '1234567890', %s, %s, %s)""",
            (seg_id, str(cid), f"customers/1234567890/campaignBudgets/{cid}", budget))
    return seg_id


def campaign_of(conn: psycopg.Connection, segment_id: uuid.UUID) -> tuple[str, str]:
    query = "select customer_id, campaign_id from public.lead_segment_campaigns where segment_id = %s"
    return conn.execute(query, (segment_id,)).fetchone()


def leads_at(conn: psycopg.Connection, segment_id: uuid.UUID, local_time: str, n: int = 1,
             status: str = "new") -> None:
    """n leads created at an Europe/Amsterdam wall-clock time ('2025-03-30 00:30')."""
    conn.execute(
        """insert into public.leads (segment_id, status, created_at)
           select %s, %s, %s::timestamp at time zone 'Europe/Amsterdam' from generate_series(1, %s)""",
        (segment_id, status, local_time, n))


def stats_history(conn: psycopg.Connection, segment_id: uuid.UUID, last_day: date, leads: list[int], *,
                  capacity: int = 0, spend: list[float] | None = None) -> None:
    """Stats rows for the days ending last_day, oldest first (leads[i] leads, spend[i] EUR)."""
    first = last_day - timedelta(days=len(leads) - 1)
    for i, n in enumerate(leads):
        conn.execute(
            """insert into public.lead_generation_stats (segment_id, date, leads_generated, google_ads_spend,
                                                         capacity_total_leads)
               values (%s, %s, %s, %s, %s)
               on conflict (segment_id, date) do update
                  set leads_generated = excluded.leads_generated,
                      google_ads_spend = excluded.google_ads_spend,
                      capacity_total_leads = excluded.capacity_total_leads""",
            (segment_id, first + timedelta(days=i), n, (spend or [0] * len(leads))[i], capacity))


def set_setting(conn: psycopg.Connection, key: str, value: Any, segment_id: uuid.UUID | None = None) -> None:
    conn.execute(
        """insert into public.lead_flow_settings (key, segment_id, value) values (%s, %s, %s::jsonb)
           on conflict (key, segment_id) do update set value = excluded.value""",
        (key, segment_id, json.dumps(value)))


def snapshot(conn: psycopg.Connection, table: str, order_by: str) -> list[tuple]:
    """Every row and column of a table, for comparing runs (timestamps included)."""
    return conn.execute(f"select * from {table} order by {order_by}").fetchall()
