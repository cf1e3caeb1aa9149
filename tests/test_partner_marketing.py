"""Partner marketing in the database: lead gaps per partner and segment, the recommendation rules,
approval into the worker's queue, what the worker's completion does, campaign totals, backfill, and
the schedule. Constructed cases, each asserting what could be false."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import psycopg
import pytest

from tests.support import create_segment, create_user
from tests.support.partner_marketing import (
    DAY,
    acting_as,
    add_leads,
    add_spend,
    create_campaign,
    marketing_partner,
    recommendations,
    run_night,
    set_marketing,
)


def gap_row(db: psycopg.Connection, partner, segment, day: dt.date = DAY) -> tuple:
    return db.execute(
        "select target_leads, platform_leads, own_campaign_leads, actual_leads, lead_gap "
        "from partner_lead_gaps where partner_id = %s and segment_id = %s and date = %s",
        (partner, segment, day),
    ).fetchone()


# --- lead stats and demand planning -----------------------------------------------------------


def test_gap_counts_platform_and_own_campaign_leads_on_the_amsterdam_day(db: psycopg.Connection) -> None:
    partner, seg, industry = marketing_partner(db, max_open_leads=10)
    create_campaign(db, partner, seg, ext="555")
    add_leads(db, industry, DAY, 2, user_id=partner)  # platform
    add_leads(db, industry, DAY, 1, user_id=partner, at=dt.time(23, 30))  # 22:30 UTC: still D
    add_leads(
        db, industry, DAY, 3, source_campaign_id="555", at=dt.time(0, 15)
    )  # own campaign, 23:15 UTC D-1
    add_leads(db, industry, DAY, 1, user_id=partner, source_campaign_id="555")  # own, counted once
    add_leads(db, industry, DAY + dt.timedelta(days=1), 4, user_id=partner, at=dt.time(0, 30))  # next day
    add_leads(db, industry, DAY, 5)  # unassigned
    run_night(db, recommend=False)
    assert gap_row(db, partner, seg) == (Decimal("10.00"), 3, 4, 7, Decimal("3.00"))


def test_a_second_run_of_the_night_gives_the_same_rows(db: psycopg.Connection) -> None:
    partner, seg, industry = marketing_partner(db, max_open_leads=6)
    add_leads(db, industry, DAY, 2, user_id=partner)
    run_night(db, recommend=False)
    first = db.execute("select id, target_leads, lead_gap, updated_at from partner_lead_gaps").fetchall()
    run_night(db, recommend=False)
    assert (
        db.execute("select id, target_leads, lead_gap, updated_at from partner_lead_gaps").fetchall() == first
    )
    assert len(first) == 1


def test_target_is_spread_over_explicit_segments_by_priority(db: psycopg.Connection) -> None:
    partner, seg, _ = marketing_partner(db, max_open_leads=8)
    other = create_segment(db, "schilder", "utrecht")
    # Explicit links win over the profile arrays (which match only noord-brabant).
    db.execute(
        "insert into partner_segments (partner_id, segment_id, priority, is_primary) values "
        "(%s, %s, 3, true), (%s, %s, 1, false)",
        (partner, seg, partner, other),
    )
    run_night(db, recommend=False)
    assert gap_row(db, partner, seg)[0] == Decimal("6.00")
    assert gap_row(db, partner, other)[0] == Decimal("2.00")
    # Deactivating a link removes that segment from the partner's plan on the next run.
    db.execute("update partner_segments set is_active = false where segment_id = %s", (other,))
    run_night(db, recommend=False)
    assert gap_row(db, partner, other) is None
    assert gap_row(db, partner, seg)[0] == Decimal("8.00")


# --- recommendation rules ---------------------------------------------------------------------


def test_budget_increase_within_the_daily_limit_and_landing_page_proposal(db: psycopg.Connection) -> None:
    partner, seg, industry = marketing_partner(db, max_open_leads=10)
    camp = create_campaign(db, partner, seg, daily=100, cpl_target=20)
    add_leads(db, industry, DAY, 2, user_id=partner)  # gap 8 at CPL 20 wants 260; +20% caps at 120
    run_night(db)
    recs = {r["type"]: r for r in recommendations(db, partner)}
    assert set(recs) == {"increase_budget", "create_landing_page"}
    inc = recs["increase_budget"]
    assert inc["campaign_id"] == camp and inc["status"] == "pending"
    assert Decimal(str(inc["payload"]["new_daily_budget"])) == Decimal("120.00")
    assert inc["payload"]["limited_by"] == "max_increase"
    assert "capped at +20% of 100.00" in inc["reason"]
    assert recs["create_landing_page"]["payload"]["suggested_path"].startswith("/schilder-noord-brabant/")


def test_decrease_when_the_partner_gets_more_than_its_target(db: psycopg.Connection) -> None:
    partner, seg, industry = marketing_partner(db, max_open_leads=2)
    create_campaign(db, partner, seg, daily=50, cpl_target=10)
    add_leads(db, industry, DAY, 5, user_id=partner)  # gap -3 at 10 wants 20; -20% floors at 40
    run_night(db)
    (rec,) = recommendations(db, partner)
    assert rec["type"] == "decrease_budget"
    assert Decimal(str(rec["payload"]["new_daily_budget"])) == Decimal("40.00")


def test_leads_only_and_non_automated_partners_get_no_recommendations(db: psycopg.Connection) -> None:
    leads_only, seg, industry = marketing_partner(db, mode="leads_only")
    manual, _, _ = marketing_partner(db, auto=False)
    create_campaign(db, leads_only, seg, ext="601")
    create_campaign(db, manual, seg, ext="602")
    add_spend(db, "601", DAY - dt.timedelta(days=20), DAY, 50)  # also a pause case if it were eligible
    run_night(db)
    assert gap_row(db, leads_only, seg) is not None  # they are planned ...
    assert recommendations(db) == []  # ... but nothing is proposed to them


def test_a_second_run_the_same_night_adds_nothing_even_after_a_decision(db: psycopg.Connection) -> None:
    partner, seg, industry = marketing_partner(db)
    create_campaign(db, partner, seg)
    run_night(db)
    recs = recommendations(db, partner)
    assert len(recs) == 2
    db.execute(
        "update ai_marketing_recommendations set status = 'rejected' where type = 'create_landing_page'"
    )
    run_night(db)
    assert len(recommendations(db, partner)) == 2
    # The next night may propose again; its budget proposal supersedes the older pending one.
    run_night(db, DAY + dt.timedelta(days=1))
    by_status = sorted((r["for_date"], r["type"], r["status"]) for r in recommendations(db, partner))
    nxt = DAY + dt.timedelta(days=1)
    assert by_status == [
        (DAY, "create_landing_page", "rejected"),
        (DAY, "increase_budget", "expired"),
        (nxt, "create_landing_page", "pending"),
        (nxt, "increase_budget", "pending"),
    ]


def test_pause_proposed_for_a_campaign_that_spends_without_leads(db: psycopg.Connection) -> None:
    partner, seg, industry = marketing_partner(db, max_open_leads=0)  # no gap: only the pause rule
    old = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    burning = create_campaign(db, partner, seg, ext="701", cpl_target=20, created_at=old)
    fine = create_campaign(db, partner, seg, ext="702", cpl_target=20, created_at=old)
    add_spend(db, "701", DAY - dt.timedelta(days=13), DAY, 5)  # 70 >= 3 x 20, no lead
    add_spend(db, "702", DAY - dt.timedelta(days=13), DAY, 5)
    add_leads(db, industry, DAY - dt.timedelta(days=3), 1, source_campaign_id="702")
    run_night(db)
    recs = [(r["type"], r["campaign_id"]) for r in recommendations(db, partner)]
    assert ("pause_campaign", burning) in recs and ("pause_campaign", fine) not in recs


def test_pause_reads_the_counted_nights_when_they_ran(db: psycopg.Connection) -> None:
    """When every night of the window ran, the no-lead evidence is the nights' count per campaign and
    day (partner_campaign_lead_days): the same proposals as from the leads themselves."""
    partner, seg, industry = marketing_partner(db, max_open_leads=0)  # no gap: only the pause rule
    old = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    # 14 days x 5 = 70 >= 3 x 23 only on night D: the rule can only fire that night.
    burning = create_campaign(db, partner, seg, ext="711", cpl_target=23, created_at=old)
    create_campaign(db, partner, seg, ext="712", cpl_target=23, created_at=old)  # a lead on D - 3
    create_campaign(db, partner, seg, ext="713", cpl_target=23, created_at=old)  # a lead on D
    for ext in ("711", "712", "713"):
        add_spend(db, ext, DAY - dt.timedelta(days=13), DAY, 5)
    for k in range(13, -1, -1):
        day = DAY - dt.timedelta(days=k)
        if k == 3:
            add_leads(db, industry, day, 1, source_campaign_id="712")
        if k == 0:
            add_leads(db, industry, day, 1, source_campaign_id="713")  # counted by night D itself
        run_night(db, day)
    assert db.execute(
        "select count(*) from lead_flow.partner_campaign_lead_nights where date between %s and %s",
        (DAY - dt.timedelta(days=13), DAY),
    ).fetchone() == (14,)
    recs = [(r["type"], r["campaign_id"], r["for_date"]) for r in recommendations(db, partner)]
    assert [(c, d) for t, c, d in recs if t == "pause_campaign"] == [(burning, DAY)]


def _month_total(db: psycopg.Connection, partner) -> Decimal:
    """The partner's November if every pending proposal were applied: spend to D + 10 days x budgets."""
    return db.execute(
        """select coalesce((select sum(m.cost) from campaign_daily_metrics m
                              join partner_marketing_campaigns c on c.external_campaign_id = m.campaign_id
                             where c.partner_id = %(p)s and m.date between '2026-11-01' and %(d)s), 0)
                  + 10 * (select sum(coalesce((r.payload ->> 'new_daily_budget')::numeric, c.daily_budget))
                            from partner_marketing_campaigns c
                            left join ai_marketing_recommendations r
                              on r.campaign_id = c.id and r.status = 'pending'
                             and r.type in ('increase_budget', 'decrease_budget')
                           where c.partner_id = %(p)s and c.status = 'active')""",
        {"p": partner, "d": DAY},
    ).fetchone()[0]


def test_a_budget_proposal_never_takes_the_month_over_the_monthly_budget(db: psycopg.Connection) -> None:
    rng = random.Random(7)
    capped = 0
    for case in range(30):
        with db.transaction(force_rollback=True):
            partner, seg, industry = marketing_partner(db, max_open_leads=rng.randint(5, 40))
            second = create_segment(db, "schilder", "utrecht")
            db.execute(
                "insert into partner_segments (partner_id, segment_id, priority) values (%s, %s, 1), "
                "(%s, %s, %s)",
                (partner, seg, partner, second, rng.randint(1, 5)),
            )
            spent, daily = 0.0, 0.0
            for i, s in enumerate([seg, second]):
                ext, budget, spend = f"9{case}{i}", rng.choice([10, 50, 100]), rng.choice([0, 10, 40])
                create_campaign(db, partner, s, ext=ext, daily=budget, cpl_target=rng.choice([5, 20, 60]))
                add_spend(db, ext, dt.date(2026, 11, 1), DAY, spend)
                spent, daily = spent + 20 * spend, daily + budget
            # Around the boundary: already over, exactly at it, a little and a lot of headroom.
            monthly = max(0, spent + 10 * daily + rng.choice([-100, 0, 5, 30, 80, 200, 5000]))
            db.execute("update profiles set monthly_marketing_budget = %s where id = %s", (monthly, partner))
            run_night(db)
            incs = [r for r in recommendations(db, partner) if r["type"] == "increase_budget"]
            assert _month_total(db, partner) <= monthly or not incs, (case, monthly, incs)
            capped += any(r["payload"]["limited_by"] == "monthly_marketing_budget" for r in incs)
    assert capped >= 3  # the cap really did the cutting in several cases


def test_the_monthly_cap_in_one_constructed_case(db: psycopg.Connection) -> None:
    # Spent 1000 in November to D; 10 days left at 100 a day = 2000; budget 2100 leaves +10 a day.
    partner, seg, industry = marketing_partner(db, monthly=2100, max_open_leads=10)
    create_campaign(db, partner, seg, ext="555", daily=100)
    add_spend(db, "555", dt.date(2026, 11, 1), DAY, 50)
    run_night(db)
    (inc,) = [r for r in recommendations(db, partner) if r["type"] == "increase_budget"]
    assert Decimal(str(inc["payload"]["new_daily_budget"])) == Decimal("110.00")
    assert inc["payload"]["limited_by"] == "monthly_marketing_budget"
    assert "month budget 2100" in inc["reason"]


# --- approval, the worker, expiry -------------------------------------------------------------


def _budget_rec(db: psycopg.Connection):
    partner, seg, industry = marketing_partner(db)
    camp = create_campaign(db, partner, seg)
    run_night(db)
    (rec,) = [r for r in recommendations(db, partner) if r["type"] == "increase_budget"]
    return partner, camp, rec


def _log_rows(db: psycopg.Connection, camp) -> list[tuple]:
    return db.execute(
        "select status, channel, customer_id, campaign_id, budget_resource_name, old_value, new_value, "
        "recommendation_id, segment_id from channel_orchestration_log where partner_campaign_id = %s",
        (camp,),
    ).fetchall()


def test_approval_queues_exactly_one_budget_change_and_the_worker_applies_it(db: psycopg.Connection) -> None:
    partner, camp, rec = _budget_rec(db)
    with acting_as(db, partner):
        row = db.execute(
            "select status, decided_by from approve_marketing_recommendation(%s)", (rec["id"],)
        ).fetchone()
    assert row == ("approved", partner)
    assert _log_rows(db, camp) == [
        (
            "pending",
            "google_ads",
            "1234567890",
            "555",
            "customers/1234567890/campaignBudgets/5550",
            Decimal("100.00"),
            Decimal("120.00"),
            rec["id"],
            None,
        )
    ]
    with (
        pytest.raises(psycopg.errors.InvalidParameterValue, match="already approved"),
        acting_as(db, partner),
    ):
        db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))
    assert len(_log_rows(db, camp)) == 1

    # The worker takes it like any other change and reports success.
    (log_id,) = db.execute(
        "select id from lead_flow.claim_budget_changes('test-worker', 10) where partner_campaign_id = %s",
        (camp,),
    ).fetchone()
    db.execute("select lead_flow.complete_budget_change(%s, 'success', 120, 'req-1')", (log_id,))
    budget, adjusted = db.execute(
        "select daily_budget, ai_last_adjusted_at from partner_marketing_campaigns where id = %s", (camp,)
    ).fetchone()
    assert budget == Decimal("120.00") and adjusted is not None
    assert db.execute(
        "select status from ai_marketing_recommendations where id = %s", (rec["id"],)
    ).fetchone() == ("applied",)
    logged = db.execute(
        "select count(*) from lead_flow_logs where details ->> 'partner_campaign_id' = %s", (str(camp),)
    ).fetchone()[0]
    assert logged >= 2  # the completion and the budget change itself


def test_a_failed_push_leaves_the_budget_and_the_recommendation_approved(db: psycopg.Connection) -> None:
    partner, camp, rec = _budget_rec(db)
    db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))  # superuser session: trusted
    (log_id,) = db.execute("select id from lead_flow.claim_budget_changes('w', 10)").fetchone()
    db.execute(
        "select lead_flow.complete_budget_change(%s, 'failed', null, null, 'budget removed', 'NOT_FOUND')",
        (log_id,),
    )
    assert db.execute(
        "select daily_budget from partner_marketing_campaigns where id = %s", (camp,)
    ).fetchone() == (Decimal("100.00"),)
    assert db.execute(
        "select status from ai_marketing_recommendations where id = %s", (rec["id"],)
    ).fetchone() == ("approved",)


def test_expired_recommendations_cannot_be_approved(db: psycopg.Connection) -> None:
    partner, camp, rec = _budget_rec(db)
    db.execute(
        "update ai_marketing_recommendations set expires_at = now() - interval '1 minute' where id = %s",
        (rec["id"],),
    )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="expired"), acting_as(db, partner):
        db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))
    assert db.execute("select lead_flow.expire_marketing_recommendations()").fetchone() == (1,)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="already expired"), acting_as(db, partner):
        db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))
    assert _log_rows(db, camp) == []


def test_another_partner_cannot_decide_and_an_admin_can(db: psycopg.Connection) -> None:
    partner, camp, rec = _budget_rec(db)
    stranger = create_user(db, primary_branch="dakdekker", regions=["utrecht"])
    admin = create_user(db, is_admin=True, is_active_for_routing=False)
    for fn in ("approve_marketing_recommendation(%s)", "reject_marketing_recommendation(%s, 'no')"):
        with (
            pytest.raises(psycopg.errors.InvalidParameterValue, match="does not exist"),
            acting_as(db, stranger),
        ):
            db.execute("select " + fn, (rec["id"],))
    with acting_as(db, admin):
        row = db.execute(
            "select status, decided_by, decision_reason from "
            "reject_marketing_recommendation(%s, 'too early')",
            (rec["id"],),
        ).fetchone()
    assert row == ("rejected", admin, "too early")
    assert _log_rows(db, camp) == []


def test_approval_is_refused_when_the_budget_moved_or_the_month_would_overflow(
    db: psycopg.Connection,
) -> None:
    partner, camp, rec = _budget_rec(db)
    db.execute("update partner_marketing_campaigns set daily_budget = 90 where id = %s", (camp,))
    with (
        pytest.raises(psycopg.errors.InvalidParameterValue, match="changed since this recommendation"),
        db.transaction(),
    ):
        db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))
    db.execute("update partner_marketing_campaigns set daily_budget = 100 where id = %s", (camp,))
    db.execute("update profiles set monthly_marketing_budget = 100 where id = %s", (partner,))
    with (
        pytest.raises(psycopg.errors.InvalidParameterValue, match="over the monthly marketing budget"),
        db.transaction(),
    ):
        db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))
    assert _log_rows(db, camp) == []


def test_approving_a_landing_page_proposal_creates_a_draft_page(db: psycopg.Connection) -> None:
    partner, seg, _ = marketing_partner(db)
    run_night(db)
    (rec,) = [r for r in recommendations(db, partner) if r["type"] == "create_landing_page"]
    with acting_as(db, partner):
        status = db.execute(
            "select status from approve_marketing_recommendation(%s)", (rec["id"],)
        ).fetchone()
    assert status == ("applied",)
    page = db.execute(
        "select path, status, source, segment_id from partner_landing_pages where partner_id = %s", (partner,)
    ).fetchone()
    assert page == (rec["payload"]["suggested_path"], "draft", "ai", seg)
    # With a page in place, the next night proposes none for that segment.
    run_night(db, DAY + dt.timedelta(days=1))
    assert not [
        r
        for r in recommendations(db, partner)
        if r["type"] == "create_landing_page" and r["status"] == "pending"
    ]


# --- campaign totals, backfill, schedule, validation -------------------------------------------


def test_campaign_totals_follow_the_pulled_metrics(db: psycopg.Connection) -> None:
    partner, seg, industry = marketing_partner(db)
    camp = create_campaign(db, partner, seg, ext="555")
    other = create_campaign(db, partner, seg, ext="556")
    record = "select lead_flow.record_campaign_metrics('1234567890', %s, %s, %s, %s, 100, 1)"
    totals = "select total_spend, total_clicks, total_leads, avg_cpl from partner_marketing_campaigns "
    totals += "where id = %s"
    # The worker's pull updates the totals as it records (insert, then a re-pull that corrects a day).
    db.execute(record, ("555", DAY, 12_500_000, 40))
    db.execute(record, ("555", DAY - dt.timedelta(days=1), 9_000_000, 10))
    assert db.execute(totals, (camp,)).fetchone() == (Decimal("21.50"), 50, 0, None)
    db.execute(record, ("555", DAY - dt.timedelta(days=1), 7_500_000, 10))
    assert db.execute(totals, (camp,)).fetchone() == (Decimal("20.00"), 50, 0, None)
    assert db.execute(totals, (other,)).fetchone() == (Decimal("0.00"), 0, 0, None)
    # Attributed leads arrive with the nightly refresh.
    add_leads(db, industry, DAY, 4, source_campaign_id="555")
    run_night(db)  # the recommendation step refreshes the totals before it reads them
    assert db.execute(totals, (camp,)).fetchone() == (Decimal("20.00"), 50, 4, Decimal("5.00"))
    assert db.execute("select lead_flow.sync_partner_campaign_totals()").fetchone() == (0,)


# The full recount of every campaign's totals, written independently of the functions under test.
FULL_RECOUNT = """
    select c.id,
           (c.total_spend, c.total_clicks, c.total_leads, c.avg_cpl)::text as kept,
           (coalesce(m.spend, 0)::numeric(14, 2), coalesce(m.clicks, 0), coalesce(l.n, 0),
            case when l.n > 0 and m.spend > 0 then round(m.spend / l.n, 2) end::numeric(12, 2))::text
             as recounted
      from partner_marketing_campaigns c
      left join lateral (select sum(x.cost) as spend, sum(x.clicks) as clicks from campaign_daily_metrics x
                          where c.channel = 'google_ads' and x.customer_id = c.customer_id
                            and x.campaign_id = c.external_campaign_id) m on true
      left join lateral (select count(*) as n from leads y
                          where y.source_campaign_id = c.external_campaign_id) l on true
     order by c.id"""


def assert_totals_are_the_full_recount(db: psycopg.Connection) -> list[tuple]:
    rows = db.execute(FULL_RECOUNT).fetchall()
    assert [r[1] for r in rows] == [r[2] for r in rows], rows
    return rows


def test_campaign_totals_kept_by_increments_equal_a_full_recount(db: psycopg.Connection) -> None:
    """Several nights (one missed, caught up by the next), a rerun of a night, leads that predate their
    campaign, a re-pulled (corrected) and a deleted metrics day, a deleted lead and a changed external id:
    the totals are always what a full recount of all metrics and leads gives, and the night reads only
    its days."""
    partner, seg, industry = marketing_partner(db)
    record = "select lead_flow.record_campaign_metrics('1234567890', %s, %s, %s, %s, 100, 1)"
    day = [DAY - dt.timedelta(days=k) for k in range(8)]  # day[0] = DAY, day[k] = DAY - k
    # Leads and metrics that arrive before their campaign is registered.
    add_leads(db, industry, day[7], 2, source_campaign_id="801")
    db.execute(record, ("801", day[7], 3_000_000, 4))
    a = create_campaign(db, partner, seg, ext="801")
    b = create_campaign(db, partner, seg, ext="802")
    m = create_campaign(db, partner, seg, ext="801", channel="meta")  # counts 801's leads, has no spend
    totals = "select total_spend, total_clicks, total_leads from partner_marketing_campaigns where id = %s"
    assert db.execute(totals, (a,)).fetchone() == (Decimal("3.00"), 4, 2)
    assert db.execute(totals, (m,)).fetchone() == (Decimal("0.00"), 0, 2)
    assert_totals_are_the_full_recount(db)

    run_night(db, day[6])  # a night without anything new
    # Nights 5 and 4 are missed: night 3 counts days 5 to 3.
    for k, n801, n802 in ((5, 1, 0), (4, 0, 3), (3, 2, 1)):
        add_leads(db, industry, day[k], n801, source_campaign_id="801")
        add_leads(db, industry, day[k], n802, source_campaign_id="802")
        db.execute(record, ("801", day[k], 10_000_000 + k, 20))
        db.execute(record, ("802", day[k], 7_500_000, 5))
    run_night(db, day[3])
    assert db.execute(totals, (a,)).fetchone() == (Decimal("33.00"), 64, 5)
    assert db.execute(totals, (b,)).fetchone() == (Decimal("22.50"), 15, 4)
    assert_totals_are_the_full_recount(db)

    for k in (2, 1):
        add_leads(db, industry, day[k], 3, source_campaign_id="802", at=dt.time(0, 5))
        add_leads(db, industry, day[k], 1, source_campaign_id="801", at=dt.time(23, 55))
        db.execute(record, ("801", day[k], 4_000_000, 2))
        db.execute(record, ("802", day[k], 6_000_000, 3))
        run_night(db, day[k])
        assert_totals_are_the_full_recount(db)

    # A rerun of the last night changes nothing: the same totals, the same ledger.
    ledger = "select campaign_id, date, leads from lead_flow.partner_campaign_lead_days order by 1, 2"
    before = (assert_totals_are_the_full_recount(db), db.execute(ledger).fetchall())
    synced = db.execute("select max(metrics_synced_at) from partner_marketing_campaigns").fetchone()
    run_night(db, day[1])
    assert (assert_totals_are_the_full_recount(db), db.execute(ledger).fetchall()) == before
    assert db.execute("select max(metrics_synced_at) from partner_marketing_campaigns").fetchone() == synced

    # The worker re-pulls earlier days and corrects them (the upsert updates the rows), a day's metrics
    # are deleted, a lead of day 2 is deleted and that night runs again, and campaign b moves to another
    # external id; every total follows.
    db.execute(record, ("801", day[3], 1_000_000, 1))
    db.execute(record, ("802", day[2], 0, 0))
    db.execute(
        "update campaign_daily_metrics set cost = cost + 1.25, clicks = clicks + 1 "
        "where campaign_id in ('801', '802') and date between %s and %s",
        (day[5], day[4]),
    )
    db.execute("delete from campaign_daily_metrics where campaign_id = '802' and date = %s", (day[1],))
    assert_totals_are_the_full_recount(db)
    db.execute(
        "delete from leads where id = (select id from leads where source_campaign_id = '802' and "
        "(created_at at time zone 'Europe/Amsterdam')::date = %s order by id limit 1)",
        (day[2],),
    )
    run_night(db, day[2])
    assert_totals_are_the_full_recount(db)
    db.execute(
        "update partner_marketing_campaigns set external_campaign_id = '803', "
        "budget_resource_name = 'customers/1234567890/campaignBudgets/8030' where id = %s",
        (b,),
    )
    add_leads(db, industry, day[0], 2, source_campaign_id="803")
    run_night(db, day[0])
    rows = assert_totals_are_the_full_recount(db)
    assert any(r[0] == b and r[1] == "(0.00,0,2,)" for r in rows), rows
    # What the nights kept is what the repair writes: the full recount changes nothing, ledger included.
    kept = db.execute(ledger).fetchall()
    assert db.execute("select lead_flow.sync_partner_campaign_totals()").fetchone() == (0,)
    assert db.execute(ledger).fetchall() == kept


def test_a_metric_pull_never_fails_on_totals_edited_by_hand(db: psycopg.Connection) -> None:
    """The increments keep totals at 0 or more (their checks), so a re-pull that lowers a day's cost
    goes through even when the totals were set to 0 by hand; the full recount puts them right."""
    partner, seg, _ = marketing_partner(db)
    camp = create_campaign(db, partner, seg, ext="901")
    record = "select lead_flow.record_campaign_metrics('1234567890', '901', %s, %s, %s, 100, 1)"
    db.execute(record, (DAY, 30_000_000, 12))
    db.execute(
        "update partner_marketing_campaigns set total_spend = 0, total_clicks = 0 where id = %s", (camp,)
    )
    db.execute(record, (DAY, 10_000_000, 2))  # new minus old: -20.00 EUR, -10 clicks
    totals = "select total_spend, total_clicks from partner_marketing_campaigns where id = %s"
    assert db.execute(totals, (camp,)).fetchone() == (Decimal("0.00"), 0)
    resync = "select lead_flow.sync_partner_campaign_totals(array[%s]::uuid[])"
    assert db.execute(resync, (camp,)).fetchone() == (1,)
    assert db.execute(totals, (camp,)).fetchone() == (Decimal("10.00"), 2)


def test_backfill_links_partners_from_their_profile_arrays_once(db: psycopg.Connection) -> None:
    partner, seg, _ = marketing_partner(db)
    create_segment(db, "schilder", "utrecht")  # not in the partner's regions
    linked = create_user(db, primary_branch="schilder", regions=["noord-brabant"])
    other = create_segment(db, "dakdekker", "zeeland")
    db.execute("insert into partner_segments (partner_id, segment_id) values (%s, %s)", (linked, other))
    db.execute("select lead_flow.backfill_partner_segments()")
    assert db.execute(
        "select segment_id, is_primary from partner_segments where partner_id = %s", (partner,)
    ).fetchall() == [(seg, True)]
    assert db.execute(
        "select count(*) from partner_segments where partner_id = %s", (linked,)
    ).fetchone() == (1,)
    assert db.execute("select lead_flow.backfill_partner_segments()").fetchone() == (0,)


def test_one_primary_segment_per_partner(db: psycopg.Connection) -> None:
    partner, seg, _ = marketing_partner(db)
    other = create_segment(db, "schilder", "utrecht")
    db.execute(
        "insert into partner_segments (partner_id, segment_id, is_primary) values (%s, %s, true)",
        (partner, seg),
    )
    db.execute(
        "insert into partner_segments (partner_id, segment_id, is_primary) values (%s, %s, true)",
        (partner, other),
    )
    assert db.execute(
        "select segment_id from partner_segments where partner_id = %s and is_primary", (partner,)
    ).fetchall() == [(other,)]
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("insert into partner_segments (partner_id, segment_id) values (%s, %s)", (partner, other))


def test_the_night_is_two_steps_of_the_pipeline_after_the_segment_steps(db: psycopg.Connection) -> None:
    """Partner marketing is registered in the one pipeline (lead_flow.pipeline_steps): lead gaps at
    04:00 once aggregate is done, recommendations at 05:00 once the gaps are, for yesterday only."""
    jobs = dict(db.execute("select jobname, command from cron.job where jobname like 'lead-flow-partner-%'"))
    assert jobs == {
        "lead-flow-partner-lead-gaps": "select lead_flow.run_due_steps('partner_lead_gaps')",
        "lead-flow-partner-recommendations": "select lead_flow.run_due_steps('partner_recommendations')",
    }
    day = dt.date(2026, 3, 28)  # the night into summer time: 29 March 04:00 CEST = 02:00 UTC

    def due(step: str, utc: str, on: dt.date = day) -> bool:
        query = "select %s::date in (select lead_flow.due_days(%s, %s::timestamptz))"
        return db.execute(query, (on, step, utc)).fetchone()[0]

    def succeeded(step: str, on: dt.date = day) -> None:
        db.execute(
            "insert into lead_flow.nightly_runs (step, date, status, started_at, finished_at) "
            "values (%s, %s, 'success', now(), now())",
            (step, on),
        )

    assert not due("partner_lead_gaps", "2026-03-29 02:00:00+00")  # aggregate not done yet
    succeeded("aggregate")
    assert not due("partner_lead_gaps", "2026-03-29 01:59:00+00")
    assert due("partner_lead_gaps", "2026-03-29 02:00:00+00")
    assert not due("partner_recommendations", "2026-03-29 03:00:00+00")  # gaps not done yet
    succeeded("partner_lead_gaps")
    assert not due("partner_recommendations", "2026-03-29 02:59:00+00")
    assert due("partner_recommendations", "2026-03-29 03:00:00+00")  # 05:00 CEST
    # The catch-up plans an older day's gaps but makes no recommendation for it.
    older = day - dt.timedelta(days=1)
    succeeded("aggregate", older)
    assert due("partner_lead_gaps", "2026-03-29 03:00:00+00", older)
    succeeded("partner_lead_gaps", older)
    assert not due("partner_recommendations", "2026-03-29 03:00:00+00", older)


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        (
            "insert into partner_landing_pages (partner_id, path) values (%s, '/schilder/../admin')",
            (),
            "path must be a safe URL path",
        ),
        (
            "insert into partner_landing_pages (partner_id, path) values (%s, '/schilder eindhoven')",
            (),
            "path must be a safe URL path",
        ),
        ("update profiles set brand_color = 'red' where id = %s", (), "brand_color must be a hex colour"),
        (
            "update profiles set monthly_marketing_budget = -5 where id = %s",
            (),
            "monthly_marketing_budget must be 0",
        ),
        (
            "update profiles set marketing_mode = 'aggressive' where id = %s",
            (),
            "marketing_mode must be one of",
        ),
        (
            "insert into partner_marketing_campaigns (partner_id, channel, daily_budget) "
            "values (%s, 'meta', -1)",
            (),
            "budgets must be 0 or more",
        ),
        (
            "insert into partner_marketing_campaigns (partner_id, channel) values (%s, 'myspace')",
            (),
            "channel must be one of",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(
    db: psycopg.Connection, sql: str, params: tuple, message: str
) -> None:
    partner, _, _ = marketing_partner(db)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=message), db.transaction():
        db.execute(sql, (partner, *params))


def test_a_partner_campaign_cannot_point_at_a_platform_campaign(db: psycopg.Connection) -> None:
    partner, seg, _ = marketing_partner(db)
    db.execute(
        "insert into lead_segment_campaigns (segment_id, customer_id, campaign_id, budget_resource_name, "
        "daily_budget) values (%s, '1234567890', '555', 'customers/1234567890/campaignBudgets/5550', 100)",
        (seg,),
    )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="platform's segment campaigns"):
        create_campaign(db, partner, seg, ext="555")


def test_leads_only_partner_mode_is_the_default(db: psycopg.Connection) -> None:
    partner = create_user(db)
    assert db.execute(
        "select marketing_mode, auto_marketing_enabled, monthly_marketing_budget from profiles where id = %s",
        (partner,),
    ).fetchone() == ("leads_only", False, Decimal("0.00"))
    set_marketing(db, partner, mode="full_marketing")


def _pause_recs(db: psycopg.Connection, count: int = 1) -> tuple:
    """A partner whose `count` campaigns spend without a lead: (partner, campaigns, their pause
    recommendations)."""
    partner, seg, _ = marketing_partner(db, max_open_leads=0)  # no gap: only the pause rule
    old = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    camps = [create_campaign(db, partner, seg, ext=f"70{n}", cpl_target=20, created_at=old)
             for n in range(count)]
    for n in range(count):
        add_spend(db, f"70{n}", DAY - dt.timedelta(days=13), DAY, 5)  # 70 >= 3 x 20, no lead
    run_night(db)
    by_campaign = {r["campaign_id"]: r for r in recommendations(db, partner) if r["type"] == "pause_campaign"}
    return partner, camps, [by_campaign[c] for c in camps]


def test_approving_a_pause_queues_one_campaign_pause_and_its_success_pauses_the_campaign(
    db: psycopg.Connection,
) -> None:
    partner, [camp], [rec] = _pause_recs(db)
    with acting_as(db, partner):
        approved = db.execute("select status, payload from approve_marketing_recommendation(%s)",
                              (rec["id"],)).fetchone()
    assert approved[0] == "approved"
    rows = db.execute(
        "select id, status, action_type, old_value, new_value, campaign_id, recommendation_id "
        "from channel_orchestration_log where partner_campaign_id = %s", (camp,)).fetchall()
    assert [r[1:] for r in rows] == [("pending", "campaign_pause", Decimal("100.00"), None, "700", rec["id"])]
    assert approved[1]["orchestration_log_id"] == str(rows[0][0])
    with (pytest.raises(psycopg.errors.InvalidParameterValue, match="already approved"),
          acting_as(db, partner)):
        db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))

    (log_id,) = db.execute(
        "select id from lead_flow.claim_budget_changes('w', 10) where partner_campaign_id = %s", (camp,)
    ).fetchone()
    db.execute("select lead_flow.complete_budget_change(%s, 'success', null, 'req-pause')", (log_id,))
    assert db.execute("select status, daily_budget from partner_marketing_campaigns where id = %s",
                      (camp,)).fetchone() == ("paused", Decimal("100.00"))
    assert db.execute("select status from ai_marketing_recommendations where id = %s",
                      (rec["id"],)).fetchone() == ("applied",)


def test_a_pause_is_refused_for_a_campaign_no_longer_active_or_with_a_change_waiting(
    db: psycopg.Connection,
) -> None:
    partner, [stopped, busy], [stopped_rec, busy_rec] = _pause_recs(db, 2)
    db.execute("update partner_marketing_campaigns set status = 'paused' where id = %s", (stopped,))
    db.execute(
        "insert into channel_orchestration_log (date, channel, action_type, old_value, new_value, "
        "customer_id, campaign_id, budget_resource_name, partner_campaign_id) "
        "select %s, 'google_ads', 'budget_decrease', 100, 80, customer_id, external_campaign_id, "
        "budget_resource_name, id from partner_marketing_campaigns where id = %s",
        (DAY, busy))
    for rec, message in ((stopped_rec, "is already paused; only an active campaign is paused"),
                         (busy_rec, "is already waiting for the worker")):
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=message), acting_as(db, partner):
            db.execute("select approve_marketing_recommendation(%s)", (rec["id"],))
    assert db.execute("select count(*) from channel_orchestration_log where action_type = 'campaign_pause'"
                      ).fetchone() == (0,)
