"""`leadflow worker pull-metrics`: GAQL search_stream over the real client against the fake, recorded via
record_campaign_metrics and visible in lead_generation_stats after aggregate_lead_stats."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest
from google.ads.googleads.client import GoogleAdsClient

from glue.lab.fake_google_ads import FakeGoogleAdsServer
from glue.worker.gateway import QuotaExhausted
from glue.worker.metrics import campaigns_to_pull, metrics_window, pull_metrics
from tests.support import create_user
from tests.support.worker import CUSTOMER, OTHER_CUSTOMER, gateway_for, queue_changes, settings_for

DAY = date(2025, 3, 10)


def test_metrics_window() -> None:
    assert metrics_window(DAY, 3) == (DAY, DAY)
    assert metrics_window(None, 3, today=DAY) == (date(2025, 3, 7), date(2025, 3, 9))
    assert metrics_window(None, 1, today=DAY) == (date(2025, 3, 9), date(2025, 3, 9))
    with pytest.raises(ValueError):
        metrics_window(None, 0, today=DAY)


def test_metrics_are_pulled_per_day_and_reach_lead_generation_stats(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    fake_ads_client: GoogleAdsClient,
) -> None:
    state = fake_ads_server.state
    [a, b] = queue_changes(committed, state, 2)
    [c] = queue_changes(committed, state, 1, customer_id=OTHER_CUSTOMER)
    unmapped, _ = state.add_campaign(CUSTOMER, "Not ours", 5_000_000)
    state.set_daily_metrics(CUSTOMER, int(a.campaign_id), DAY, 12_340_000, 30, 900, 2.5)
    state.set_daily_metrics(CUSTOMER, int(a.campaign_id), DAY - timedelta(days=1), 8_000_000, 20, 500, 1.0)
    state.set_daily_metrics(CUSTOMER, int(b.campaign_id), DAY, 1_000_000, 3, 80, 0.0)
    state.set_daily_metrics(OTHER_CUSTOMER, int(c.campaign_id), DAY, 7_770_000, 11, 300, 1.25)
    state.set_daily_metrics(CUSTOMER, int(unmapped.rsplit("/", 1)[1]), DAY, 99_000_000, 99, 999, 9.0)
    settings = settings_for(fake_ads_server, db_url)
    gateway = gateway_for(fake_ads_client, settings)

    report = pull_metrics(committed, gateway, DAY - timedelta(days=2), DAY)

    assert report.campaigns == 3
    assert report.rows_recorded == 9  # 3 campaigns x 3 days, days without activity as zeros
    metrics = {
        (r[0], r[1]): r[2:]
        for r in committed.execute(
            "select campaign_id, date, cost, clicks, impressions, conversions "
            "from public.campaign_daily_metrics"
        ).fetchall()
    }
    assert len(metrics) == 9
    assert metrics[(a.campaign_id, DAY)] == (Decimal("12.34"), 30, 900, Decimal("2.50"))
    assert metrics[(a.campaign_id, DAY - timedelta(days=1))] == (Decimal("8.00"), 20, 500, Decimal("1.00"))
    assert metrics[(a.campaign_id, DAY - timedelta(days=2))] == (Decimal("0.00"), 0, 0, Decimal("0.00"))
    assert metrics[(c.campaign_id, DAY)] == (Decimal("7.77"), 11, 300, Decimal("1.25"))

    committed.execute("select lead_flow.aggregate_lead_stats(%s)", (DAY,))
    stats = {
        r[0]: r[1:]
        for r in committed.execute(
            "select segment_id, google_ads_spend, google_ads_clicks, google_ads_impressions, "
            "google_ads_conversions from public.lead_generation_stats where date = %s", (DAY,)
        ).fetchall()
    }
    assert stats[a.segment_id] == (Decimal("12.34"), 30, 900, Decimal("2.50"))
    assert stats[b.segment_id] == (Decimal("1.00"), 3, 80, Decimal("0.00"))
    assert stats[c.segment_id] == (Decimal("7.77"), 11, 300, Decimal("1.25"))

    # Late conversions: a re-pull of the window revises the day, it does not add to it.
    state.set_daily_metrics(CUSTOMER, int(a.campaign_id), DAY, 12_340_000, 30, 900, 4.0)
    pull_metrics(committed, gateway, DAY - timedelta(days=2), DAY)
    committed.execute("select lead_flow.aggregate_lead_stats(%s)", (DAY,))
    assert committed.execute(
        "select google_ads_spend, google_ads_conversions from public.lead_generation_stats "
        "where segment_id = %s and date = %s", (a.segment_id, DAY)
    ).fetchone() == (Decimal("12.34"), Decimal("4.00"))


def test_partner_google_ads_campaigns_are_pulled_too(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    fake_ads_client: GoogleAdsClient,
) -> None:
    state = fake_ads_server.state
    campaign, budget = state.add_campaign(OTHER_CUSTOMER, "Partner's own", 20_000_000)
    campaign_id = campaign.rsplit("/", 1)[1]
    partner = create_user(committed)
    committed.execute(
        "insert into public.partner_marketing_campaigns "
        "(partner_id, channel, external_campaign_id, customer_id, budget_resource_name) "
        "values (%s, 'google_ads', %s, %s, %s), (%s, 'meta', 'm-1', null, null)",
        (partner, campaign_id, OTHER_CUSTOMER, budget, partner),
    )
    state.set_daily_metrics(OTHER_CUSTOMER, int(campaign_id), DAY, 5_550_000, 7, 70, 1.0)

    assert campaigns_to_pull(committed) == {OTHER_CUSTOMER: {campaign_id}}
    pull_metrics(committed, gateway_for(fake_ads_client, settings_for(fake_ads_server, db_url)), DAY, DAY)

    assert committed.execute(
        "select customer_id, campaign_id, cost, clicks from public.campaign_daily_metrics"
    ).fetchall() == [(OTHER_CUSTOMER, campaign_id, Decimal("5.55"), 7)]


def test_daily_quota_stops_the_metrics_pull(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    fake_ads_client: GoogleAdsClient,
) -> None:
    state = fake_ads_server.state
    queue_changes(committed, state, 1)
    state.set_daily_quota(0)
    with pytest.raises(QuotaExhausted):
        pull_metrics(committed, gateway_for(fake_ads_client, settings_for(fake_ads_server, db_url)), DAY, DAY)
    assert committed.execute("select count(*) from public.campaign_daily_metrics").fetchone() == (0,)
