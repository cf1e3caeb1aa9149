"""Helpers for the Google Ads worker tests: queue budget changes, build a worker, read outcomes."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from google.ads.googleads.client import GoogleAdsClient
from psycopg.rows import dict_row

from glue.lab.fake_google_ads import FakeGoogleAds, FakeGoogleAdsServer
from glue.worker.config import RetryPolicy, WorkerSettings
from glue.worker.gateway import AdsGateway
from glue.worker.push import PushReport, push
from tests.support import create_user
from tests.support.fake_ads import FAKE_ACCESS_TOKEN, FAKE_DEVELOPER_TOKEN, fake_ads_config

CUSTOMER = "1234567890"
OTHER_CUSTOMER = "2345678901"
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01, max_retry_delay=5.0)
REGIONS = ["groningen", "friesland", "drenthe", "overijssel", "flevoland", "gelderland", "utrecht",
           "noord-holland", "zuid-holland", "zeeland", "noord-brabant", "limburg"]


@dataclass(frozen=True)
class Queued:
    """One pending change as seeded: its log row, segment, and the fake's campaign and budget."""

    log_id: uuid.UUID
    segment_id: uuid.UUID
    customer_id: str
    campaign_id: str
    budget_resource_name: str
    old_value: Decimal
    new_value: Decimal


def micros(eur: Decimal | float | str) -> int:
    return int(Decimal(str(eur)) * 1_000_000)


def settings_for(server: FakeGoogleAdsServer, db_url: str, **overrides: Any) -> WorkerSettings:
    settings = WorkerSettings(database_url=db_url, ads=fake_ads_config(server), name="test-worker",
                              retry=FAST_RETRY, request_timeout=5.0)
    return replace(settings, **overrides)


class RecordingSleep:
    """A backoff sleep that records the delays asked for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return True


def gateway_for(
    client: GoogleAdsClient, settings: WorkerSettings, sleep: RecordingSleep | None = None
) -> AdsGateway:
    return AdsGateway(client, settings.retry, settings.request_timeout, sleep=sleep)


@dataclass(frozen=True)
class Pusher:
    """`leadflow worker push` wired for a test: the committed database, the fake Google Ads and the
    real client. settings() gives the test settings with overrides; push() runs one push with them."""

    conn: psycopg.Connection
    server: FakeGoogleAdsServer
    client: GoogleAdsClient
    db_url: str

    @property
    def state(self) -> FakeGoogleAds:
        return self.server.state

    def settings(self, **overrides: Any) -> WorkerSettings:
        return settings_for(self.server, self.db_url, **overrides)

    def push(
        self, settings: WorkerSettings, sleep: RecordingSleep | None = None, *, dry_run: bool = False
    ) -> PushReport:
        return push(self.conn, gateway_for(self.client, settings, sleep), settings, dry_run=dry_run)


def queue_changes(
    conn: psycopg.Connection,
    state: FakeGoogleAds,
    count: int,
    *,
    customer_id: str = CUSTOMER,
    old: str = "10.00",
    new: str = "12.00",
    day: date = date(2025, 3, 3),
    live: str | None = None,
    shared: bool = False,
) -> list[Queued]:
    """`count` campaigns in the fake (budget `live`, default `old`), each mapped to a new segment,
    each with a pending google_ads change old -> new in channel_orchestration_log. shared: the budgets
    are explicitly shared (other campaigns can be attached to them)."""
    budgets = [
        state.add_campaign(customer_id, f"Campaign {uuid.uuid4().hex[:8]}", micros(live or old), shared)
        for _ in range(count)
    ]
    prefix = uuid.uuid4().hex[:8]
    branches = [f"w{prefix}{i}" for i in range(count)]
    regions = [REGIONS[i % len(REGIONS)] for i in range(count)]
    campaign_ids = [rn.rsplit("/", 1)[1] for rn, _ in budgets]
    budget_rns = [rn for _, rn in budgets]
    rows = conn.execute(
        """
        with segments as (
          insert into public.lead_segments (branch, region)
          select * from unnest(%(branches)s::text[], %(regions)s::text[])
          returning id, branch
        ), input as (
          select * from unnest(%(branches)s::text[], %(campaigns)s::text[], %(budgets)s::text[])
                 with ordinality as i(branch, campaign_id, budget_rn, n)
        ), mapped as (
          insert into public.lead_segment_campaigns
            (segment_id, customer_id, campaign_id, budget_resource_name, daily_budget)
          select s.id, %(customer)s, i.campaign_id, i.budget_rn, %(old)s::numeric
            from input i join segments s using (branch)
          returning segment_id, campaign_id, budget_resource_name
        )
        insert into public.channel_orchestration_log
          (date, segment_id, channel, action_type, old_value, new_value, reason, customer_id, campaign_id,
           budget_resource_name, status, created_at)
        select %(day)s, m.segment_id, 'google_ads',
               case when %(new)s::numeric >= %(old)s::numeric then 'budget_increase'
                    else 'budget_decrease' end,
               %(old)s::numeric, %(new)s::numeric, 'test', %(customer)s, m.campaign_id,
               m.budget_resource_name,
               'pending', now() + make_interval(secs => i.n / 1000.0)
          from mapped m join input i using (campaign_id)
        returning id, segment_id, campaign_id, budget_resource_name
        """,
        {"branches": branches, "regions": regions, "campaigns": campaign_ids, "budgets": budget_rns,
         "customer": customer_id, "old": old, "new": new, "day": day},
    ).fetchall()
    by_campaign = {r[2]: r for r in rows}
    return [
        Queued(by_campaign[c][0], by_campaign[c][1], customer_id, c, by_campaign[c][3], Decimal(old),
               Decimal(new))
        for c in campaign_ids
    ]


def log_rows(conn: psycopg.Connection, ids: list[uuid.UUID] | None = None) -> dict[uuid.UUID, dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        if ids is None:
            cur.execute("select * from public.channel_orchestration_log")
        else:
            cur.execute("select * from public.channel_orchestration_log where id = any(%s)", (ids,))
        return {row["id"]: row for row in cur.fetchall()}


def assert_final_states(rows: dict[uuid.UUID, dict[str, Any]]) -> None:
    """Every change ends in exactly one of success, failed, conflict, or pending with attempts."""
    for row in rows.values():
        assert row["status"] in ("success", "failed", "conflict", "pending"), row
        if row["status"] == "pending":
            assert row["attempts"] >= 1, row


def subprocess_env(server: FakeGoogleAdsServer, db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `leadflow worker` process talking to the fake (and only to it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_ADS_", "LEADFLOW_"))}
    env.update(
        DATABASE_URL=db_url,
        GOOGLE_ADS_DEVELOPER_TOKEN=FAKE_DEVELOPER_TOKEN,
        GOOGLE_ADS_ACCESS_TOKEN=FAKE_ACCESS_TOKEN,
        GOOGLE_ADS_ENDPOINT=server.endpoint,
        GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=str(server.cert_path),
        LEADFLOW_WORKER_BACKOFF_BASE_SECONDS="0.001",
        LEADFLOW_WORKER_BACKOFF_MAX_SECONDS="0.01",
        LEADFLOW_WORKER_TIMEOUT_SECONDS="10",
    )
    env.update(extra)
    return env


@dataclass(frozen=True)
class QueuedPause:
    """An approved pause_campaign recommendation: its queued log row, the partner's campaign row and
    the fake's campaign."""

    log_id: uuid.UUID
    recommendation_id: uuid.UUID
    partner_campaign_id: uuid.UUID
    partner_id: uuid.UUID
    campaign_id: str
    campaign_resource_name: str


def queue_pauses(
    conn: psycopg.Connection, state: FakeGoogleAds, count: int, *, customer_id: str = CUSTOMER
) -> list[QueuedPause]:
    """`count` partners, each with an active Google Ads campaign (live in the fake, ENABLED) and a
    pending pause_campaign recommendation, approved through decide_marketing_recommendation (this
    session is the trusted back end): each approval queues one campaign_pause change."""
    queued = []
    for _ in range(count):
        campaign_rn, budget_rn = state.add_campaign(
            customer_id, f"Partner {uuid.uuid4().hex[:8]}", micros("20.00"))
        campaign_id = campaign_rn.rsplit("/", 1)[1]
        partner = create_user(conn, primary_branch="dakdekker")
        camp = conn.execute(
            """insert into public.partner_marketing_campaigns
                 (partner_id, channel, name, status, external_campaign_id, customer_id, budget_resource_name,
                  daily_budget, ai_managed)
               values (%s, 'google_ads', 'burning', 'active', %s, %s, %s, 20, true) returning id""",
            (partner, campaign_id, customer_id, budget_rn),
        ).fetchone()[0]
        rec = conn.execute(
            """insert into public.ai_marketing_recommendations
                 (partner_id, campaign_id, type, for_date, reason, expires_at)
               values (%s, %s, 'pause_campaign', current_date, 'spent 70 without a lead',
                       now() + interval '1 day')
               returning id""",
            (partner, camp),
        ).fetchone()[0]
        payload = conn.execute(
            "select (lead_flow.decide_marketing_recommendation(%s, true, null)).payload", (rec,)
        ).fetchone()[0]
        queued.append(QueuedPause(uuid.UUID(payload["orchestration_log_id"]), rec, camp, partner, campaign_id,
                                  campaign_rn))
    return queued
