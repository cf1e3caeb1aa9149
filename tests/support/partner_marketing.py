"""Helpers for the partner marketing tests: a partner with a marketing profile, a Google Ads campaign,
leads on an Amsterdam day, running the partner night, and acting as a user inside a transaction; the
two REST partners each marketing in a segment of its own (the API and browser tests' dataset)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from tests.support import RestClients, create_industry, create_segment, create_user

AMS = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2026, 11, 20)  # night D; proposals are for 21 Nov, 10 days left in November
CUSTOMER = "1234567890"


def set_marketing(
    conn: psycopg.Connection,
    partner: uuid.UUID,
    *,
    mode: str = "hybrid",
    auto: bool = True,
    monthly: float = 100_000,
) -> None:
    conn.execute(
        "update profiles set marketing_mode = %s, auto_marketing_enabled = %s, monthly_marketing_budget = %s "
        "where id = %s",
        (mode, auto, monthly, partner),
    )


def create_campaign(
    conn: psycopg.Connection,
    partner: uuid.UUID,
    segment: uuid.UUID | None,
    *,
    ext: str = "555",
    daily: float | None = 100,
    cpl_target: float | None = 20,
    ai_managed: bool = True,
    channel: str = "google_ads",
    status: str = "active",
    created_at: dt.datetime | None = None,
) -> uuid.UUID:
    google = channel == "google_ads"
    row = conn.execute(
        """insert into partner_marketing_campaigns
             (partner_id, segment_id, channel, name, status, external_campaign_id, customer_id,
              budget_resource_name, daily_budget, cpl_target, ai_managed, created_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now())) returning id""",
        (
            partner,
            segment,
            channel,
            f"campaign {ext}",
            status,
            ext,
            CUSTOMER if google else None,
            f"customers/{CUSTOMER}/campaignBudgets/{ext}0" if google else None,
            daily,
            cpl_target,
            ai_managed,
            created_at,
        ),
    ).fetchone()
    return row[0]


@dataclass
class TwoPartners:
    """The REST clients' partner and other partner, each marketing in its own segment; its landing page,
    campaign and pending recommendation by partner id."""

    rest: RestClients
    segment: uuid.UUID
    other_segment: uuid.UUID
    page: dict[uuid.UUID, uuid.UUID]
    campaign: dict[uuid.UUID, uuid.UUID]
    rec: dict[uuid.UUID, uuid.UUID]


def seed_partner(
    conn: psycopg.Connection, partner: uuid.UUID, segment: uuid.UUID, ext: str
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A hybrid marketing partner in `segment` (primary): a landing page, an AI-managed Google Ads campaign
    `ext`, a lead gap of 10 on DAY and a pending budget increase. Returns (page, campaign, recommendation)."""
    set_marketing(conn, partner, mode="hybrid", monthly=100_000)
    conn.execute("update profiles set brand_color = '#112233' where id = %s", (partner,))
    conn.execute(
        "insert into partner_segments (partner_id, segment_id, is_primary) values (%s, %s, true)",
        (partner, segment),
    )
    page = conn.execute(
        "insert into partner_landing_pages (partner_id, segment_id, path, title) "
        "values (%s, %s, %s, 'Schilder') returning id",
        (partner, segment, f"/p{ext}/schilder"),
    ).fetchone()[0]
    camp = conn.execute(
        "insert into partner_marketing_campaigns (partner_id, segment_id, channel, external_campaign_id, "
        "customer_id, budget_resource_name, daily_budget, ai_managed) "
        "values (%s, %s, 'google_ads', %s, %s, %s, 100, true) returning id",
        (partner, segment, ext, CUSTOMER, f"customers/{CUSTOMER}/campaignBudgets/{ext}"),
    ).fetchone()[0]
    conn.execute(
        "insert into partner_lead_gaps (partner_id, segment_id, date, target_leads, lead_gap) "
        "values (%s, %s, %s, 10, 10)",
        (partner, segment, DAY),
    )
    rec = conn.execute(
        "insert into ai_marketing_recommendations (partner_id, segment_id, campaign_id, type, for_date, "
        "payload, reason, expires_at) values (%s, %s, %s, 'increase_budget', %s, "
        "'{\"old_daily_budget\": 100, \"new_daily_budget\": 110}', 'gap 10', now() + interval '1 day') "
        "returning id",
        (partner, segment, camp, DAY),
    ).fetchone()[0]
    return page, camp, rec


def seed_two_partners(
    conn: psycopg.Connection, rest: RestClients, segment: uuid.UUID, other_segment: uuid.UUID
) -> TwoPartners:
    """seed_partner for rest's partner in `segment` (campaign 111) and its other partner in
    `other_segment` (campaign 222)."""
    seeded = {
        rest.partner_id: seed_partner(conn, rest.partner_id, segment, "111"),
        rest.other_partner_id: seed_partner(conn, rest.other_partner_id, other_segment, "222"),
    }
    return TwoPartners(
        rest,
        segment,
        other_segment,
        page={partner: ids[0] for partner, ids in seeded.items()},
        campaign={partner: ids[1] for partner, ids in seeded.items()},
        rec={partner: ids[2] for partner, ids in seeded.items()},
    )


def add_leads(
    conn: psycopg.Connection,
    industry: uuid.UUID,
    day: dt.date,
    n: int,
    *,
    user_id: uuid.UUID | None = None,
    province: str = "Noord-Brabant",
    source_campaign_id: str | None = None,
    at: dt.time = dt.time(12, 0),
) -> None:
    """n leads created at local time `at` of Amsterdam day `day`."""
    created = dt.datetime.combine(day, at, tzinfo=AMS)
    for _ in range(n):
        conn.execute(
            "insert into leads (industry_id, province, status, user_id, source_campaign_id, created_at) "
            "values (%s, %s, 'accepted', %s, %s, %s)",
            (industry, province, user_id, source_campaign_id, created),
        )


def add_spend(conn: psycopg.Connection, ext: str, first: dt.date, last: dt.date, cost_per_day: float) -> None:
    conn.execute(
        "insert into campaign_daily_metrics (customer_id, campaign_id, date, cost, clicks) "
        "select %s, %s, d::date, %s, 10 from generate_series(%s::date, %s::date, interval '1 day') d",
        (CUSTOMER, ext, cost_per_day, first, last),
    )


def run_night(conn: psycopg.Connection, day: dt.date = DAY, recommend: bool = True) -> dict[str, Any]:
    """Partner marketing's registered nightly steps for `day`, as the pipeline runs them (run_step):
    lead gaps, then (recommend) campaign totals and recommendations. Returns rows per step."""
    steps = ["partner_lead_gaps"] + (["partner_recommendations"] if recommend else [])
    result: dict[str, Any] = {}
    for step in steps:
        status, rows, error = conn.execute(
            "select status, rows, error from lead_flow.run_step(%s, %s)", (step, day)
        ).fetchone()
        assert status == "success", (step, error)
        result[step] = rows
    return result


def recommendations(conn: psycopg.Connection, partner: uuid.UUID | None = None) -> list[dict[str, Any]]:
    cur = conn.execute(
        "select id, partner_id, segment_id, campaign_id, type, status, payload, reason, for_date "
        "from ai_marketing_recommendations where %s::uuid is null or partner_id = %s "
        "order by created_at, type",
        (partner, partner),
    )
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


@contextmanager
def acting_as(
    conn: psycopg.Connection, user: uuid.UUID | None, role: str = "authenticated"
) -> Iterator[None]:
    """Run statements as PostgREST would for this user (role + JWT claims), inside a savepoint."""
    claims = {"role": role} | ({"sub": str(user)} if user else {})
    # An error inside rolls the savepoint back, and with it the role and the claims; put
    # pytest.raises outside this block.
    with conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        conn.execute(f"set local role {role}")
        yield
        conn.execute("reset role")
        conn.execute("select set_config('request.jwt.claims', '', true)")


def marketing_partner(
    conn: psycopg.Connection,
    *,
    mode: str = "hybrid",
    auto: bool = True,
    monthly: float = 100_000,
    max_open_leads: int = 10,
    branch: str = "schilder",
    region: str = "noord-brabant",
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A partner serving branch x region with a marketing profile; returns (partner, segment, industry)."""
    industry = create_industry(conn, branch)
    segment = conn.execute(
        "select id from lead_segments where branch = %s and region = %s", (branch, region)
    ).fetchone()
    segment_id = segment[0] if segment else create_segment(conn, branch, region)
    partner = create_user(conn, primary_branch=branch, regions=[region], max_open_leads=max_open_leads)
    set_marketing(conn, partner, mode=mode, auto=auto, monthly=monthly)
    return partner, segment_id, industry
