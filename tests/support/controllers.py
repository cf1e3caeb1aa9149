"""Helpers for the controller tests (test_controller_smart, test_controller_estimate): a segment on a
controller with a level history up to the night they plan, and the budget change that night made."""

from __future__ import annotations

import datetime
import json
import uuid

import psycopg

from tests.support import create_segment

DAY = datetime.date(2025, 6, 10)  # the night the controller tests plan


def seed_controlled_segment(
    db: psycopg.Connection,
    *,
    controller: str,
    budget: float,
    target: int,
    leads_per_day: int,
    spend_per_day: float,
    paid_share: float = 0.7,
    days: int = 56,
    plan_days: int = 7,
    region: str = "utrecht",
) -> uuid.UUID:
    """A schilder segment in `region` on `controller`, with a Google Ads campaign at `budget`, `days`
    days of level history up to DAY (leads_per_day leads, paid_share of them conversions, at
    spend_per_day) and plans on the last `plan_days` of them: `target` a day and the budget in force
    (as orchestrate_budgets records it)."""
    seg = create_segment(db, "schilder", region)
    campaign = str(seg.int % 10**9)
    db.execute(
        "insert into public.lead_segment_campaigns (segment_id, customer_id, campaign_id, "
        "budget_resource_name, daily_budget) values (%s, '1234567890', %s, "
        "'customers/1234567890/campaignBudgets/' || %s, %s)",
        (seg, campaign, campaign, budget),
    )
    db.execute(
        """insert into public.lead_generation_stats (segment_id, date, leads_generated, google_ads_spend,
                                                   google_ads_conversions)
           select %s, d::date, %s, %s, %s
             from generate_series(%s::date - %s + 1, %s::date, interval '1 day') d""",
        (seg, leads_per_day, spend_per_day, leads_per_day * paid_share, DAY, days, DAY),
    )
    db.execute(
        """insert into public.lead_segment_plans (segment_id, date, target_leads_per_day, actual_leads,
                                                  lead_gap, actual_daily_budget_google_ads)
           select %s, d::date, %s, %s, %s, %s
             from generate_series(%s::date - %s + 1, %s::date, interval '1 day') d""",
        (seg, target, leads_per_day, target - leads_per_day, budget, DAY, plan_days, DAY),
    )
    db.execute(
        "insert into public.lead_flow_settings (key, segment_id, value) values ('controller', %s, %s)",
        (seg, json.dumps(controller)),
    )
    return seg


def change(db: psycopg.Connection, seg: uuid.UUID) -> tuple | None:
    """The segment's budget change planned on DAY: (old_value, new_value, controller, limited_by,
    reason), None when there is none."""
    return db.execute(
        "select old_value, new_value, controller, limited_by, reason from public.channel_orchestration_log "
        "where segment_id = %s and date = %s",
        (seg, DAY),
    ).fetchone()
