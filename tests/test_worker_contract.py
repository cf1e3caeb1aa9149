"""The worker's contract: claim (SKIP LOCKED, leases, pause), complete (success, failed, conflict,
pending, dry run; only in_progress rows), record_campaign_metrics; and who may call them."""

from __future__ import annotations

import threading
import uuid
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from tests.support import RestClients
from tests.support.pipeline import campaign_of, segment, set_setting

D = date(2025, 3, 30)


def queue(conn: psycopg.Connection, n: int, budget: float = 100) -> list[uuid.UUID]:
    """n segments, each with a plan for D and a pending +20% change, the way orchestrate leaves them."""
    ids = []
    for i in range(n):
        s = segment(conn, f"branche{i}", "utrecht", budget=budget)
        customer, campaign = campaign_of(conn, s)
        plan_id = conn.execute(
            """insert into public.lead_segment_plans (segment_id, date, orchestration_status)
               values (%s, %s, 'pending') returning id""", (s, D)).fetchone()[0]
        ids.append(conn.execute(
            """insert into public.channel_orchestration_log (date, segment_id, plan_id, action_type,
                                                             old_value, new_value, customer_id, campaign_id)
               values (%s, %s, %s, 'budget_increase', %s, %s, %s, %s) returning id""",
            (D, s, plan_id, budget, budget * 1.2, customer, campaign)).fetchone()[0])
    return ids


def claim(conn: psycopg.Connection, worker: str, n: int, dry_run: bool = False) -> list[tuple]:
    query = "select id, status, claimed_by, attempts from lead_flow.claim_budget_changes(%s, %s, %s)"
    return conn.execute(query, (worker, n, dry_run)).fetchall()


def complete(conn: psycopg.Connection, log_id: uuid.UUID, status: str, **kw: object) -> tuple:
    args = {"p_applied_amount": None, "p_request_id": None, "p_error_message": None, "p_error_code": None,
            "p_live_value": None, "p_dry_run": False, **kw}
    return conn.execute(
        """select status, applied_value, live_value, error_code, attempts, validated_at is not null,
                  claimed_by
             from lead_flow.complete_budget_change(%s, %s, %s::numeric, %s, %s, %s, %s::numeric, %s)""",
        (log_id, status, *args.values())).fetchone()


def test_two_concurrent_claimers_never_get_the_same_row(committed: psycopg.Connection, db_url: str) -> None:
    ids = queue(committed, 20)
    with psycopg.connect(db_url) as a, psycopg.connect(db_url) as b:
        got_a = claim(a, "worker-a", 8)             # a's transaction still open, rows locked
        got_b = claim(b, "worker-b", 50)            # b skips a's rows instead of waiting
        a.commit()
        b.commit()
    ids_a, ids_b = {r[0] for r in got_a}, {r[0] for r in got_b}
    assert len(ids_a) == 8 and len(ids_b) == 12
    assert ids_a.isdisjoint(ids_b) and ids_a | ids_b == set(ids)
    assert {r[2] for r in got_a} == {"worker-a"} and all(r[1] == "in_progress" and r[3] == 1 for r in got_a)


def test_many_threads_claiming_share_the_queue_exactly_once(committed: psycopg.Connection,
                                                            db_url: str) -> None:
    ids = queue(committed, 30)
    taken: list[uuid.UUID] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        with psycopg.connect(db_url, autocommit=True) as conn:
            while rows := claim(conn, name, 3):
                with lock:
                    taken.extend(r[0] for r in rows)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(taken) == sorted(ids)


def test_success_updates_the_log_the_campaign_and_the_plan(db: psycopg.Connection) -> None:
    (log_id,) = queue(db, 1)
    claim(db, "w", 10)
    status, applied, *_ = complete(db, log_id, "success", p_applied_amount=Decimal("120.004"),
                                   p_request_id="req-9")
    assert (status, applied) == ("success", Decimal("120.00"))
    seg, plan_id = db.execute(
        "select segment_id, plan_id from public.channel_orchestration_log where id = %s",
        (log_id,)).fetchone()
    assert db.execute("select daily_budget from public.lead_segment_campaigns where segment_id = %s",
                      (seg,)).fetchone()[0] == Decimal("120.00")
    assert db.execute("""select orchestration_status, actual_daily_budget_google_ads
                           from public.lead_segment_plans where id = %s""", (plan_id,)).fetchone() == \
        ("success", Decimal("120.00"))
    # Done is done: a second completion is refused with a message, nothing changes.
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="is success, only an in_progress"):
        complete(db, log_id, "failed")


def test_failed_conflict_and_transient_outcomes(db: psycopg.Connection) -> None:
    failed, conflict, transient = queue(db, 3)
    claim(db, "w", 10)
    assert complete(db, failed, "failed", p_error_code="BUDGET_ERROR", p_error_message="rejected")[:4] == \
        ("failed", None, None, "BUDGET_ERROR")
    assert complete(db, conflict, "conflict", p_live_value=150)[:3] == ("conflict", None, Decimal("150.00"))
    seg = db.execute("select segment_id from public.channel_orchestration_log where id = %s",
                     (conflict,)).fetchone()[0]
    assert db.execute("select daily_budget from public.lead_segment_campaigns where segment_id = %s",
                      (seg,)).fetchone()[0] == Decimal("150.00")   # the live value is now the known budget
    status, _, _, code, attempts, _, claimed_by = complete(db, transient, "pending",
                                                           p_error_code="UNAVAILABLE")
    assert (status, code, attempts, claimed_by) == ("pending", "UNAVAILABLE", 1, None)
    again = claim(db, "w2", 10)
    assert [(r[0], r[3]) for r in again] == [(transient, 2)]       # back in the queue, attempt counted
    plans = dict(db.execute("""select l.id, p.orchestration_status from public.channel_orchestration_log l
                                 join public.lead_segment_plans p on p.id = l.plan_id""").fetchall())
    assert (plans[failed], plans[conflict]) == ("failed", "conflict")


def test_dry_run_validates_without_counting_or_applying(db: psycopg.Connection) -> None:
    ok, bad = queue(db, 2)
    rows = claim(db, "w", 10, dry_run=True)
    assert all(r[3] == 0 for r in rows)
    assert complete(db, ok, "success", p_dry_run=True)[:6] == ("pending", None, None, None, 0, True)
    assert complete(db, bad, "failed", p_dry_run=True, p_error_code="INVALID")[:4] == \
        ("pending", None, None, "INVALID")
    moved = db.execute("select count(*) from public.lead_segment_campaigns where daily_budget <> 100")
    moved = moved.fetchone()
    assert moved == (0,)


def test_bad_completion_requests_are_clear_errors(db: psycopg.Connection) -> None:
    (log_id,) = queue(db, 1)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="only an in_progress"):
        complete(db, log_id, "success", p_applied_amount=1)           # never claimed
    db.rollback()
    (log_id,) = queue(db, 1)
    claim(db, "w", 1)
    for status, kw, message in [("done", {}, "must be one of"), ("success", {}, "needs p_applied_amount"),
                                ("success", {"p_applied_amount": -1}, "finite amount >= 0")]:
        db.execute("savepoint s")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=message):
            complete(db, log_id, status, **kw)
        db.execute("rollback to savepoint s")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="no budget change with id"):
        complete(db, uuid.uuid4(), "failed")


def test_expired_lease_is_claimed_again_and_paused_segments_stay(db: psycopg.Connection) -> None:
    stale, paused = queue(db, 2)
    # Both rows were queued in one transaction (same created_at): make the claim order explicit.
    db.execute("update public.channel_orchestration_log set created_at = created_at + interval '1 second' "
               "where id = %s", (paused,))
    claim(db, "w-old", 1)
    db.execute("update public.channel_orchestration_log set claimed_at = now() - interval '16 minutes' "
               "where id = %s", (stale,))
    seg = db.execute("select segment_id from public.channel_orchestration_log where id = %s",
                     (paused,)).fetchone()
    set_setting(db, "paused", True, seg[0])
    assert [(r[0], r[2], r[3]) for r in claim(db, "w-new", 10)] == [(stale, "w-new", 2)]
    set_setting(db, "paused", False, seg[0])
    set_setting(db, "paused", True)
    db.execute("update public.channel_orchestration_log set status = 'pending'")
    assert claim(db, "w", 10) == []                                    # global stop: nothing leaves


def test_claim_input_is_checked(db: psycopg.Connection) -> None:
    for worker, n in [("", 5), ("w", 0), ("w", 100000)]:
        db.execute("savepoint s")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            claim(db, worker, n)
        db.execute("rollback to savepoint s")


def test_record_campaign_metrics_upserts_one_day(db: psycopg.Connection) -> None:
    def record(cost_micros: int, clicks: int) -> tuple:
        return db.execute(
            """select cost, clicks, impressions, conversions
                 from lead_flow.record_campaign_metrics('1234567890', '42', %s, %s, %s, 1000, 2.5)""",
            (D, cost_micros, clicks)).fetchone()

    assert record(12_345_678, 10) == (Decimal("12.35"), 10, 1000, Decimal("2.50"))
    assert record(20_000_000, 11) == (Decimal("20.00"), 11, 1000, Decimal("2.50"))
    assert db.execute("select count(*) from public.campaign_daily_metrics").fetchone() == (1,)
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="must be finite and >= 0"):
        record(-1, 0)


CONTRACT = ["lead_flow.claim_budget_changes(text, integer, boolean)",
            "lead_flow.complete_budget_change(uuid, text, numeric, text, text, text, numeric, boolean)",
            "lead_flow.record_campaign_metrics(text, text, date, bigint, bigint, bigint, numeric)",
            "lead_flow.campaigns_to_pull()"]


def test_only_the_service_role_may_call_the_contract(rest: RestClients, db: psycopg.Connection) -> None:
    """The contract is internal (lead_flow, which PostgREST does not expose): no client reaches it over
    the API, not even service_role; in the database only service_role (the worker's role) executes it."""
    for client in (rest.anon, rest.partner, rest.admin, rest.service):
        with pytest.raises(Exception) as err:
            client.rpc("claim_budget_changes", {"p_worker": "w"}).execute()
        assert getattr(err.value, "code", None) in ("42501", "PGRST202")
    roles = ("anon", "authenticated", "service_role")
    may = "select %s, has_function_privilege(%s, %s, 'execute')"
    assert [db.execute(may, (role, role, f)).fetchone() for f in CONTRACT for role in roles] == \
        [(role, role == "service_role") for _ in CONTRACT for role in roles]
    assert db.execute("select to_regprocedure('public.claim_budget_changes(text, integer, boolean)')"
                      ).fetchone() == (None,)
    db.execute("set local role service_role")
    record = ("select cost from lead_flow.record_campaign_metrics('1234567890', '7', '2025-03-30', "
              "1000000, 1, 2, 0)")
    assert db.execute(record).fetchone() == (Decimal("1.00"),)
    assert db.execute("select * from lead_flow.claim_budget_changes('w', 5)").fetchall() == []
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="must be one of"):
        db.execute("select lead_flow.complete_budget_change(%s, 'nope')", (uuid.uuid4(),))
