"""orchestrate_budgets: one change per segment and day, within the day-start limits however often
the night runs, readable reasons, pause, unmapped segments, pushed rows left alone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg

from tests.support.pipeline import leads_at, segment, set_setting, snapshot, stats_history

D = date(2025, 10, 26)  # the 25-hour day


def override(db: psycopg.Connection, segment_id: object, target: int, day: date = D) -> None:
    """The segment's manual target for one day (replacing an earlier one for that day)."""
    db.execute("delete from public.lead_segment_target_overrides where segment_id = %s and valid_from = %s",
               (segment_id, day))
    db.execute("""insert into public.lead_segment_target_overrides (segment_id, valid_from, valid_to,
                                                                    target_leads_per_day, reason)
                  values (%s, %s, %s, %s, 'test')""", (segment_id, day, day, target))


def night(db: psycopg.Connection, day: date = D) -> list[tuple]:
    query = "select step, status, error from lead_flow.run_lead_flow_nightly(%s)"
    rows = db.execute(query, (day,)).fetchall()
    assert all(status == "success" for _, status, _ in rows), rows
    return rows


def changes(db: psycopg.Connection) -> dict:
    return {r[0]: r[1:] for r in db.execute(
        """select segment_id, old_value, new_value, action_type, status, reason
             from public.channel_orchestration_log order by segment_id""").fetchall()}


def plan(db: psycopg.Connection, segment_id: object, day: date = D) -> tuple:
    return db.execute(
        """select orchestration_status, orchestration_reason, target_daily_budget_google_ads,
                  actual_daily_budget_google_ads
             from public.lead_segment_plans where segment_id = %s and date = %s""",
        (segment_id, day)).fetchone()


def test_three_runs_give_identical_rows_and_one_change_within_the_day_limit(db: psycopg.Connection) -> None:
    budgets = [Decimal(100), Decimal(0), None, Decimal(4), Decimal(1200), Decimal("57.35")]
    segs = []
    for i, budget in enumerate(budgets):
        s = segment(db, "schilder", ["utrecht", "limburg", "zeeland", "drenthe", "groningen", "flevoland"][i],
                    budget=budget)
        override(db, s, [20, 3, 12, 0, 50, 1][i])
        leads_at(db, s, "2025-10-26 00:30", 2)
        leads_at(db, s, "2025-10-26 23:30", 1)
        segs.append(s)
    snapshots = []
    for _ in range(3):
        night(db)
        snapshots.append((snapshot(db, "public.lead_generation_stats", "segment_id, date"),
                          snapshot(db, "public.lead_segment_plans", "segment_id, date"),
                          snapshot(db, "public.channel_orchestration_log", "segment_id, date")))
    assert snapshots[0] == snapshots[1] == snapshots[2]

    per_segment = db.execute("""select segment_id, count(*) from public.channel_orchestration_log
                                 group by segment_id""").fetchall()
    assert all(n == 1 for _, n in per_segment)
    log = changes(db)
    for s, budget in zip(segs, budgets, strict=True):
        if s not in log:
            continue
        old, new, action, status, _ = log[s]
        assert status == "pending" and old == budget
        if budget is None or budget == 0:
            assert new == Decimal("10.00")                     # launch budget
        else:
            assert Decimal(5) <= new <= Decimal(1000)
            if Decimal(5) <= budget <= Decimal(1000):
                assert budget * Decimal("0.8") <= new <= budget * Decimal("1.2")
        assert action == ("budget_increase" if new > (old or 0) else "budget_decrease")
    # The gap-3-from-100 segment wanted +75 but got +20; gap -3 from 1200 is capped at the maximum.
    assert log[segs[0]][1] == Decimal("120.00")
    assert log[segs[4]][1] == Decimal("1000.00")
    assert log[segs[3]][1] == Decimal("5.00")


def test_rerun_uses_the_day_start_budget_and_never_compounds(db: psycopg.Connection) -> None:
    s = segment(db, "dakdekker", "utrecht", budget=100)
    override(db, s, 30)
    night(db)
    assert changes(db)[s][:2] == (Decimal("100.00"), Decimal("120.00"))
    # Something moved the live budget during the day (another change applied): the re-run still
    # measures its +-20% from the budget the day started with, and still has one row.
    db.execute("update public.lead_segment_campaigns set daily_budget = 120 where segment_id = %s", (s,))
    for _ in range(2):
        assert db.execute("select lead_flow.orchestrate_budgets(%s)", (D,)).fetchone()[0] == 0
    assert changes(db)[s][:2] == (Decimal("100.00"), Decimal("120.00"))
    # A different gap replaces the pending row (same base), it does not add one.
    override(db, s, 0)
    leads_at(db, s, "2025-10-26 10:00", 5)
    assert [r[0] for r in night(db)][:3] == ["aggregate", "plan", "orchestrate"]
    old, new, action, status, reason = changes(db)[s]
    assert (old, new, action, status) == (Decimal("100.00"), Decimal("80.00"), "budget_decrease", "pending")
    assert reason.endswith("capped at -20% of 100.00 -> 80.00")


def test_reason_text_shows_inputs_formula_and_limit(db: psycopg.Connection) -> None:
    s = segment(db, "loodgieter", "utrecht", budget=100)
    set_setting(db, "cpl_prior_leads", 0, s)
    leads_at(db, s, "2025-10-26 12:00", 4)
    db.execute("""insert into public.campaign_daily_metrics (customer_id, campaign_id, date, cost)
                  select customer_id, campaign_id, %s, 93.60 from public.lead_segment_campaigns
                   where segment_id = %s""", (D, s))
    override(db, s, 14)
    night(db)
    expected = "gap +10 leads at CPL 23.40 wants +234.00; capped at +20% of 100.00 -> 120.00"
    assert changes(db)[s][4] == expected
    status, reason, target_budget, live = plan(db, s)
    assert (status, reason) == ("pending", expected)
    assert (target_budget, live) == (Decimal("120.00"), Decimal("100.00"))


def test_pause_global_and_per_segment_plans_but_proposes_nothing(db: psycopg.Connection) -> None:
    a = segment(db, "schilder", "utrecht", budget=100)
    b = segment(db, "schilder", "limburg", budget=100)
    for s in (a, b):
        override(db, s, 10)
    night(db)
    assert set(changes(db)) == {a, b}
    set_setting(db, "paused", True, a)
    db.execute("select lead_flow.orchestrate_budgets(%s)", (D,))
    assert set(changes(db)) == {b}                      # a's pending change withdrawn
    assert plan(db, a)[0] == "paused" and plan(db, b)[0] == "pending"
    set_setting(db, "paused", True)                     # global stop wins over a segment's false
    set_setting(db, "paused", False, b)
    db.execute("select lead_flow.plan_lead_segments(%s)", (D,))
    db.execute("select lead_flow.orchestrate_budgets(%s)", (D,))
    assert changes(db) == {}
    assert plan(db, a)[0] == plan(db, b)[0] == "paused"
    assert plan(db, a)[1].startswith("paused (global emergency stop)")
    planned = db.execute("select count(*) from public.lead_segment_plans where date = %s", (D,)).fetchone()[0]
    assert planned == 2


def test_segment_without_campaign_gets_a_plan_status(db: psycopg.Connection) -> None:
    s = segment(db, "hovenier", "zeeland", campaign=False)
    override(db, s, 10)
    night(db)
    assert changes(db) == {}
    assert plan(db, s)[:2] == ("no_campaign", "no active Google Ads campaign is mapped to this segment")


def test_pushed_change_is_never_replaced(db: psycopg.Connection) -> None:
    s = segment(db, "schilder", "utrecht", budget=100)
    override(db, s, 10)
    night(db)
    (log_id,) = db.execute("select id from lead_flow.claim_budget_changes('w1', 10)").fetchone()
    db.execute("select lead_flow.complete_budget_change(%s, 'success', 120, 'req-1')", (log_id,))
    override(db, s, 0)                                   # the wish flips, but the change is done
    night(db)
    old, new, _, status, _ = changes(db)[s]
    assert (old, new, status) == (Decimal("100.00"), Decimal("120.00"), "success")
    assert plan(db, s)[0] == "success" and plan(db, s)[3] == Decimal("120.00")


def test_a_new_day_supersedes_an_unpushed_older_change(db: psycopg.Connection) -> None:
    s = segment(db, "schilder", "utrecht", budget=100)
    override(db, s, 10, date(2025, 10, 25))
    override(db, s, 10, D)
    night(db, date(2025, 10, 25))
    night(db, D)
    rows = db.execute("""select date, status, error_code, old_value, new_value
                           from public.channel_orchestration_log order by date""").fetchall()
    assert rows == [(date(2025, 10, 25), "failed", "superseded", Decimal("100.00"), Decimal("120.00")),
                    (D, "pending", None, Decimal("100.00"), Decimal("120.00"))]


def test_cost_per_lead_comes_from_the_data_not_a_constant(db: psycopg.Connection) -> None:
    cheap = segment(db, "elektricien", "utrecht", budget=100)
    costly = segment(db, "elektricien", "limburg", budget=100)
    fresh = segment(db, "elektricien", "zeeland", budget=100)
    stats_history(db, cheap, date(2025, 10, 25), [10] * 27, spend=[50.0] * 27)      # CPL 5
    stats_history(db, costly, date(2025, 10, 25), [2] * 27, spend=[160.0] * 27)     # CPL 80
    for s in (cheap, costly, fresh):
        override(db, s, 1)
    night(db)
    cpl = dict(db.execute("""select segment_id, (cost_per_lead, cost_per_lead_source)::text
                               from public.lead_segment_plans where date = %s""", (D,)).fetchall())
    # (own spend + 20 x branch CPL) / (own leads + 20); branch CPL = 5670 / 324 = 17.50.
    assert cpl[cheap] == "(5.86,segment+branch)"
    assert cpl[costly] == "(63.11,segment+branch)"
    assert cpl[fresh] == "(17.50,branch)"


def test_orchestrate_notifies_the_worker_with_the_pending_count(committed: psycopg.Connection,
                                                               db_url: str) -> None:
    s = segment(committed, "schilder", "utrecht", budget=100)
    override(committed, s, 10)
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute("listen lead_flow_budget_changes")
        committed.execute("select * from lead_flow.run_lead_flow_nightly(%s)", (D,))
        notes = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.payload for n in notes] == ["1"]


def test_a_later_nights_changes_get_later_time_ordered_ids(db: psycopg.Connection) -> None:
    """Change rows of a later night sort after an earlier night's by id (UUID version 7 layout:
    milliseconds first), so each night's ~one row per segment lands at the primary key's right edge
    instead of on a random leaf page each (migration 0085)."""
    segs = [segment(db, "schilder", region, budget=100) for region in ("utrecht", "limburg", "zeeland")]
    for day in (date(2025, 10, 25), D):
        for s in segs:
            override(db, s, 10, day)
        night(db, day)
        db.execute("select pg_sleep(0.002)")
    first, second, versions, n = db.execute(
        """select (array_agg(id order by id desc) filter (where date = '2025-10-25'))[1],
                  (array_agg(id order by id) filter (where date = %s))[1],
                  array_agg(distinct substr(id::text, 15, 1)), count(*)
             from public.channel_orchestration_log""",
        (D,),
    ).fetchone()
    assert n == 6
    assert first < second
    assert versions == ["7"]
