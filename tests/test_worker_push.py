"""`leadflow worker push` in-process: the real google-ads client over gRPC+TLS against the fake, and the
real database through claim_budget_changes / complete_budget_change."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest
from google.ads.googleads.client import GoogleAdsClient

from glue.lab.fake_google_ads import FakeGoogleAdsServer
from glue.worker.metrics import AMSTERDAM
from glue.worker.push import to_micros
from tests.support.worker import (
    CUSTOMER,
    FAST_RETRY,
    OTHER_CUSTOMER,
    Pusher,
    QueuedPause,
    RecordingSleep,
    assert_final_states,
    log_rows,
    micros,
    queue_changes,
    queue_pauses,
)


@pytest.fixture
def pusher(
    committed: psycopg.Connection, db_url: str, fake_ads_server: FakeGoogleAdsServer,
    fake_ads_client: GoogleAdsClient,
) -> Pusher:
    return Pusher(committed, fake_ads_server, fake_ads_client, db_url)


@pytest.mark.parametrize(
    ("eur", "expected"),
    [("12.00", 12_000_000), ("0.01", 10_000), ("12.345", 12_350_000), ("12.3449", 12_340_000),
     ("0", 0), ("-1.00", None), (None, None), ("NaN", None), ("1e30", None)],
)
def test_amounts_become_valid_micros_rounded_to_whole_cents(eur: str | None, expected: int | None) -> None:
    assert to_micros(None if eur is None else Decimal(eur)) == expected


def test_a_batch_of_2500_changes_goes_in_one_request(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    queued = queue_changes(committed, state, 2500, old="10.00", new="12.50")
    settings = pusher.settings()

    report = pusher.push(settings)

    assert report.requests == 1
    mutations = state.mutations
    assert len(mutations) == 2500
    assert len({m.request_id for m in mutations}) == 1
    assert {m.resource_name for m in mutations} == {q.budget_resource_name for q in queued}
    assert all(state.budget(q.budget_resource_name).amount_micros == 12_500_000 for q in queued)
    rows = log_rows(committed)
    assert {r["status"] for r in rows.values()} == {"success"}
    assert {r["applied_value"] for r in rows.values()} == {Decimal("12.50")}
    assert {r["request_id"] for r in rows.values()} == {mutations[0].request_id}
    assert {r["attempts"] for r in rows.values()} == {1}
    daily = committed.execute("select distinct daily_budget from public.lead_segment_campaigns").fetchall()
    assert daily == [(Decimal("12.50"),)]


def test_partial_failure_applies_and_logs_the_rest(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    state.min_budget_micros = 5_000_000  # the fake's per-day minimum: 5 EUR
    good = queue_changes(committed, state, 3, old="10.00", new="11.00")
    too_low = queue_changes(committed, state, 2, old="10.00", new="4.00")
    settings = pusher.settings()

    report = pusher.push(settings)

    assert report.requests == 1
    [request_id] = {m.request_id for m in state.mutations}
    assert sorted(m.resource_name for m in state.mutations) == sorted(q.budget_resource_name for q in good)
    rows = log_rows(committed)
    for q in good:
        assert rows[q.log_id]["status"] == "success"
        assert rows[q.log_id]["applied_value"] == Decimal("11.00")
    for q in too_low:
        row = rows[q.log_id]
        assert row["status"] == "failed"
        assert row["error_code"] == "campaign_budget_error.BUDGET_BELOW_PER_DAY_MINIMUM"
        assert "minimum" in row["error_message"]
        assert row["request_id"] == request_id
        assert row["applied_value"] is None
        assert state.budget(q.budget_resource_name).amount_micros == 10_000_000


def test_transient_errors_are_retried_with_backoff_then_succeed(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    queued = queue_changes(committed, state, 4)
    for code in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_TEMPORARILY_EXHAUSTED"):
        state.fail_next(1, code)  # the next four calls fail, each once
    state.set_retry_delay(0.25)  # sent with RESOURCE_TEMPORARILY_EXHAUSTED
    settings = pusher.settings(retry=replace(FAST_RETRY, max_attempts=5))
    sleep = RecordingSleep()

    report = pusher.push(settings, sleep)

    assert len(sleep.delays) == 4
    # Exponential backoff with jitter within [d/2, d], d = 0.001 * 2**n capped at 0.01 ...
    for n, delay in enumerate(sleep.delays[:3]):
        ceiling = min(0.01, 0.001 * 2**n)
        assert ceiling / 2 <= delay <= ceiling
    # ... and the retry_delay Google asked for is honoured.
    assert sleep.delays[3] >= 0.25
    assert report.requests == 1
    assert len(state.mutations) == 4
    rows = log_rows(committed)
    assert {rows[q.log_id]["status"] for q in queued} == {"success"}


def test_transient_errors_that_persist_leave_changes_pending_with_attempts(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    queued = queue_changes(committed, state, 3)
    state.fail_next(10, "UNAVAILABLE")
    settings = pusher.settings()
    sleep = RecordingSleep()

    report = pusher.push(settings, sleep)

    assert len(sleep.delays) == settings.retry.max_attempts - 1  # bounded
    assert report.outcomes == {"pending": 3}
    rows = log_rows(committed)
    for q in queued:
        assert rows[q.log_id]["status"] == "pending"
        assert rows[q.log_id]["attempts"] == 1
        assert rows[q.log_id]["error_code"] == "UNAVAILABLE"
    assert state.mutations == []

    state.clear_faults()
    pusher.push(settings)
    rows = log_rows(committed)
    assert {(rows[q.log_id]["status"], rows[q.log_id]["attempts"]) for q in queued} == {("success", 2)}


def test_daily_quota_stops_the_run_and_leaves_the_rest_pending(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    first = queue_changes(committed, state, 3, customer_id=CUSTOMER)
    second = queue_changes(committed, state, 3, customer_id=OTHER_CUSTOMER)
    state.set_daily_quota(4)  # one live read + three updates for the first customer, nothing more
    settings = pusher.settings()
    sleep = RecordingSleep()

    report = pusher.push(settings, sleep)

    assert report.quota_exhausted
    assert sleep.delays == []  # the daily quota is not retried
    rows = log_rows(committed)
    assert {rows[q.log_id]["status"] for q in first} == {"success"}
    for q in second:
        assert rows[q.log_id]["status"] == "pending"
        assert rows[q.log_id]["attempts"] == 1
        assert rows[q.log_id]["error_code"] == "quota_error.RESOURCE_EXHAUSTED"
    assert len(state.mutations) == 3

    state.reset_quota()
    state.set_daily_quota(None)
    pusher.push(settings)
    assert {log_rows(committed)[q.log_id]["status"] for q in second} == {"success"}


def test_a_manual_change_in_google_ads_is_a_conflict(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    today = datetime.now(AMSTERDAM).date()
    [edited, untouched] = queue_changes(committed, state, 2, old="10.00", new="12.00", day=today)
    state.set_budget_amount(edited.budget_resource_name, micros("15.30"))  # someone in the Google Ads UI
    settings = pusher.settings()

    pusher.push(settings)

    rows = log_rows(committed)
    conflict = rows[edited.log_id]
    assert conflict["status"] == "conflict"
    assert conflict["live_value"] == Decimal("15.30")
    assert conflict["old_value"] == Decimal("10.00")
    assert "15.30" in conflict["error_message"] and "10.00" in conflict["error_message"]
    assert state.budget(edited.budget_resource_name).amount_micros == micros("15.30")
    assert rows[untouched.log_id]["status"] == "success"
    assert [m.resource_name for m in state.mutations] == [untouched.budget_resource_name]
    alerts = committed.execute(
        "select kind, segment_id, details ->> 'live_value' from public.lead_flow_alerts "
        "where kind like 'budget_change%'"
    ).fetchall()
    assert alerts == [("budget_change_conflict", edited.segment_id, "15.30")]


def test_a_shared_budget_is_never_changed(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    [change] = queue_changes(committed, state, 1, shared=True)
    state.add_campaign(CUSTOMER, "Another campaign", budget_resource_name=change.budget_resource_name)
    settings = pusher.settings()

    pusher.push(settings)

    row = log_rows(committed)[change.log_id]
    assert row["status"] == "failed"
    assert row["error_code"] == "SHARED_BUDGET"
    assert "shared by 2 campaigns" in row["error_message"]
    assert state.mutations == []
    assert state.budget(change.budget_resource_name).amount_micros == micros("10.00")


def test_dry_run_validates_and_changes_nothing(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    state.min_budget_micros = 5_000_000
    good = queue_changes(committed, state, 2, old="10.00", new="12.00")
    [bad] = queue_changes(committed, state, 1, old="10.00", new="1.00")
    settings = pusher.settings()

    report = pusher.push(settings, dry_run=True)

    assert report.requests == 1
    assert state.mutations == []
    assert all(state.budget(q.budget_resource_name).amount_micros == micros("10.00") for q in good + [bad])
    rows = log_rows(committed)
    for q in good + [bad]:
        assert rows[q.log_id]["status"] == "pending"
        assert rows[q.log_id]["attempts"] == 0
        assert rows[q.log_id]["applied_value"] is None
    assert all(rows[q.log_id]["validated_at"] is not None for q in good)
    assert rows[bad.log_id]["validated_at"] is None
    assert rows[bad.log_id]["error_code"] == "campaign_budget_error.BUDGET_BELOW_PER_DAY_MINIMUM"
    assert committed.execute(
        "select count(*) from public.lead_segment_campaigns where daily_budget <> 10.00").fetchone() == (0,)

    pusher.push(settings)  # for real now
    assert sorted(m.resource_name for m in state.mutations) == sorted(q.budget_resource_name for q in good)


def test_a_budget_already_at_the_new_value_completes_without_a_push(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    """What a crash between Google's answer and the database write leaves behind."""
    state = pusher.state
    [change] = queue_changes(committed, state, 1, old="10.00", new="12.00", live="12.00")
    settings = pusher.settings()

    report = pusher.push(settings)

    assert report.requests == 0
    assert state.mutations == []
    row = log_rows(committed)[change.log_id]
    assert (row["status"], row["applied_value"]) == ("success", Decimal("12.00"))


def test_under_random_faults_every_change_ends_in_one_known_state(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    state.min_budget_micros = 5_000_000
    queued = (queue_changes(committed, state, 30, new="12.00")
              + queue_changes(committed, state, 10, customer_id=OTHER_CUSTOMER, new="3.00")
              + queue_changes(committed, state, 10, new="12.00", live="11.00"))
    state.set_fault_rates({"UNAVAILABLE": 0.3, "INTERNAL": 0.2, "RESOURCE_TEMPORARILY_EXHAUSTED": 0.1})
    state.set_retry_delay(0.001)
    settings = pusher.settings(batch_size=5)

    for _ in range(3):
        pusher.push(settings)
        rows = log_rows(committed)
        assert len(rows) == len(queued)
        assert_final_states(rows)

    rows = log_rows(committed)
    applied = [m.resource_name for m in state.mutations]
    assert len(applied) == len(set(applied))  # never pushed twice
    for q in queued:
        row = rows[q.log_id]
        live = state.budget(q.budget_resource_name).amount_micros
        if row["status"] == "success":
            assert live == micros(q.new_value)
        elif row["status"] == "conflict":
            assert live == micros("11.00")
        else:
            assert q.budget_resource_name not in applied


def test_a_campaign_moved_to_another_budget_is_a_conflict(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    """The change names a budget the campaign no longer uses (moved in the Google Ads UI): nothing is sent."""
    state = pusher.state
    [change] = queue_changes(committed, state, 1, old="10.00", new="12.00")
    old_budget = state.add_budget(CUSTOMER, micros("10.00"), shared=False)
    committed.execute("update public.channel_orchestration_log set budget_resource_name = %s where id = %s",
                      (old_budget, change.log_id))
    settings = pusher.settings()

    pusher.push(settings)

    row = log_rows(committed)[change.log_id]
    assert (row["status"], row["error_code"]) == ("conflict", "CAMPAIGN_BUDGET_CHANGED")
    assert change.budget_resource_name in row["error_message"]
    assert state.mutations == []


def test_permanent_errors_and_bad_targets_are_failed_with_code_and_message(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    [no_access, mismatched, fine] = queue_changes(committed, state, 3)
    # An account this login cannot access (Google answers PERMISSION_DENIED for the whole request) ...
    committed.execute(
        "update public.channel_orchestration_log set customer_id = '9876543210', "
        "budget_resource_name = 'customers/9876543210/campaignBudgets/1' where id = %s", (no_access.log_id,))
    # ... and a budget that does not belong to the change's customer (never sent anywhere).
    committed.execute(
        "update public.channel_orchestration_log "
        "set budget_resource_name = 'customers/1111111111/campaignBudgets/1' where id = %s",
        (mismatched.log_id,),
    )
    settings = pusher.settings()
    sleep = RecordingSleep()

    pusher.push(settings, sleep)

    rows = log_rows(committed)
    assert rows[no_access.log_id]["status"] == "failed"
    assert rows[no_access.log_id]["error_code"] == "authorization_error.USER_PERMISSION_DENIED"
    assert "permission" in rows[no_access.log_id]["error_message"]
    assert rows[no_access.log_id]["request_id"].startswith("fake-")
    assert (rows[mismatched.log_id]["status"], rows[mismatched.log_id]["error_code"]) == (
        "failed", "INVALID_TARGET")
    assert rows[fine.log_id]["status"] == "success"
    assert sleep.delays == []  # permanent errors are not retried
    assert [m.resource_name for m in state.mutations] == [fine.budget_resource_name]


# -- unknown outcomes: re-read before any resend ---------------------------------------------------


def test_a_mutate_applied_but_answered_too_late_is_applied_once_and_recorded_as_success(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    """Google applies the request, the answer comes after the client's deadline: DEADLINE_EXCEEDED.
    A blind resend would push the change again; the re-read finds it live and records it."""
    state = pusher.state
    [change] = queue_changes(committed, state, 1, old="10.00", new="12.00")
    state.fault_next_mutates(1)  # applied, then answered after the deadline
    settings = pusher.settings(request_timeout=0.5)
    sleep = RecordingSleep()

    report = pusher.push(settings, sleep)

    assert state.calls("MutateCampaignBudgets") == 1
    assert state.calls("SearchStream") == 2  # the first live read, and the one after the unknown outcome
    assert [(m.resource_name, m.amount_micros) for m in state.mutations] == [
        (change.budget_resource_name, micros("12.00"))]
    assert len(sleep.delays) == 1  # backed off once before the re-read
    assert report.requests == 1
    assert report.outcomes == {"success": 1}
    row = log_rows(committed)[change.log_id]
    assert (row["status"], row["applied_value"], row["attempts"]) == ("success", Decimal("12.00"), 1)
    assert state.budget(change.budget_resource_name).amount_micros == micros("12.00")


def test_a_hand_edit_after_a_late_applied_mutate_is_a_conflict_and_stays(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    """Applied, then someone edits one budget by hand before the worker's retry: the edit wins."""
    state = pusher.state
    [edited, other] = queue_changes(committed, state, 2, old="10.00", new="12.00")
    state.fault_next_mutates(1, hand_edits={edited.budget_resource_name: micros("15.30")})
    settings = pusher.settings(request_timeout=0.5)

    pusher.push(settings, RecordingSleep())

    assert state.calls("MutateCampaignBudgets") == 1
    assert sorted(m.resource_name for m in state.mutations) == sorted(
        [edited.budget_resource_name, other.budget_resource_name])  # each applied once, by the first request
    assert state.budget(edited.budget_resource_name).amount_micros == micros("15.30")  # not overwritten
    rows = log_rows(committed)
    conflict = rows[edited.log_id]
    assert (conflict["status"], conflict["error_code"], conflict["live_value"]) == (
        "conflict", "LIVE_BUDGET_CHANGED", Decimal("15.30"))
    assert "not sent again" in conflict["error_message"]
    success = rows[other.log_id]
    assert (success["status"], success["applied_value"]) == ("success", Decimal("12.00"))


def test_a_hand_edit_between_attempts_after_a_lost_request_is_a_conflict(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    """The request is lost (UNAVAILABLE, nothing applied) and a hand edit lands before the retry:
    the retry re-reads, sends only the untouched budget, and records the edit as a conflict."""
    state = pusher.state
    [edited, untouched] = queue_changes(committed, state, 2, old="10.00", new="12.00")
    state.fault_next_mutates(1, apply=False, answer="UNAVAILABLE",
                             hand_edits={edited.budget_resource_name: micros("9.50")})
    settings = pusher.settings()

    report = pusher.push(settings, RecordingSleep())

    assert state.calls("MutateCampaignBudgets") == 2
    assert report.requests == 2
    assert [m.resource_name for m in state.mutations] == [untouched.budget_resource_name]
    assert state.budget(edited.budget_resource_name).amount_micros == micros("9.50")
    rows = log_rows(committed)
    assert (rows[edited.log_id]["status"], rows[edited.log_id]["live_value"]) == ("conflict", Decimal("9.50"))
    assert rows[untouched.log_id]["status"] == "success"
    daily = committed.execute("select daily_budget from public.lead_segment_campaigns where segment_id = %s",
                              (edited.segment_id,)).fetchone()
    assert daily == (Decimal("9.50"),)  # the conflict makes the live value the known budget


def test_an_outcome_that_stays_unknown_is_bounded_and_the_next_run_checks_live_first(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    [change] = queue_changes(committed, state, 1, old="10.00", new="12.00")
    attempts = FAST_RETRY.max_attempts
    state.fault_next_mutates(attempts, apply=False, answer="DEADLINE_EXCEEDED")
    settings = pusher.settings()

    report = pusher.push(settings, RecordingSleep())

    assert state.calls("MutateCampaignBudgets") == attempts
    assert state.calls("SearchStream") == attempts  # a live read before every request
    assert state.mutations == []
    assert report.outcomes == {"pending": 1}
    row = log_rows(committed)[change.log_id]
    assert (row["status"], row["error_code"], row["attempts"]) == ("pending", "DEADLINE_EXCEEDED", 1)
    assert f"after {attempts} attempts" in row["error_message"]
    assert "unknown" in row["error_message"]

    # Google applied the last one after all (the fake only says so now): the next run finds it live.
    state.set_budget_amount(change.budget_resource_name, micros("12.00"))
    pusher.push(settings)
    assert state.calls("MutateCampaignBudgets") == attempts  # no further push
    row = log_rows(committed)[change.log_id]
    assert (row["status"], row["applied_value"], row["attempts"]) == ("success", Decimal("12.00"), 2)


# --- campaign pauses (approved pause_campaign recommendations) ------------------------------------


def _pause_state(conn: psycopg.Connection, pause: QueuedPause) -> tuple:
    """(log status, action_type, partner campaign status, recommendation status) of one queued pause."""
    return conn.execute(
        """select l.status, l.action_type, c.status, r.status
             from channel_orchestration_log l
             join partner_marketing_campaigns c on c.id = l.partner_campaign_id
             join ai_marketing_recommendations r on r.id = l.recommendation_id
            where l.id = %s""",
        (pause.log_id,),
    ).fetchone()


def test_an_approved_pause_is_pushed_once_and_the_partner_campaign_follows(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    pauses = queue_pauses(committed, state, 2)
    settings = pusher.settings()

    report = pusher.push(settings)

    assert state.calls("MutateCampaigns") == 1 and state.calls("MutateCampaignBudgets") == 0
    assert sorted((m.resource_name, m.status) for m in state.campaign_mutations) == sorted(
        (p.campaign_resource_name, "PAUSED") for p in pauses)
    assert report.outcomes == {"success": 2}
    rows = log_rows(committed)
    for pause in pauses:
        assert state.campaign(pause.campaign_resource_name).status == "PAUSED"
        assert _pause_state(committed, pause) == ("success", "campaign_pause", "paused", "applied")
        assert rows[pause.log_id]["request_id"] == state.campaign_mutations[0].request_id
        assert rows[pause.log_id]["new_value"] is None and rows[pause.log_id]["attempts"] == 1

    pusher.push(settings)  # nothing left: no second request
    assert state.calls("MutateCampaigns") == 1


def test_a_pause_applied_but_answered_too_late_is_pushed_once_and_recorded_as_success(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    [pause] = queue_pauses(committed, state, 1)
    state.fault_next_mutates(1)  # applied, then answered after the client's deadline
    sleep = RecordingSleep()

    report = pusher.push(pusher.settings(request_timeout=0.5), sleep)

    assert state.calls("MutateCampaigns") == 1
    assert state.calls("SearchStream") == 2  # the first live read, and the one after the unknown outcome
    assert [m.resource_name for m in state.campaign_mutations] == [pause.campaign_resource_name]
    assert len(sleep.delays) == 1 and report.outcomes == {"success": 1}
    assert _pause_state(committed, pause) == ("success", "campaign_pause", "paused", "applied")


def test_a_campaign_changed_by_hand_decides_its_pause_without_a_push(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    """Paused by hand already: success, nothing sent. Removed by hand: a conflict the partner sees,
    its campaign stays active in Lead Flow and the recommendation approved, not applied. A request
    that is lost, with a removal landing before the retry: the retry re-reads and sends nothing."""
    state = pusher.state
    paused, removed, lost = queue_pauses(committed, state, 3)
    state.set_campaign_status(paused.campaign_resource_name, "PAUSED")
    state.set_campaign_status(removed.campaign_resource_name, "REMOVED")
    state.fault_next_mutates(1, apply=False, answer="UNAVAILABLE",
                             hand_edits={lost.campaign_resource_name: "REMOVED"})

    report = pusher.push(pusher.settings(), RecordingSleep())

    assert state.calls("MutateCampaigns") == 1  # only `lost` was sent, once; its retry found it removed
    assert state.campaign_mutations == []
    assert report.outcomes == {"success": 1, "conflict": 2}
    assert _pause_state(committed, paused) == ("success", "campaign_pause", "paused", "applied")
    rows = log_rows(committed)
    for pause, sent in ((removed, "not sent"), (lost, "not sent again")):
        assert _pause_state(committed, pause) == ("conflict", "campaign_pause", "active", "approved")
        assert rows[pause.log_id]["error_code"] == "CAMPAIGN_STATUS_CHANGED"
        assert f"is REMOVED (changed outside the pipeline); the pause is {sent}" in rows[pause.log_id][
            "error_message"]


def test_a_dry_run_validates_a_pause_and_changes_nothing(
    committed: psycopg.Connection, pusher: Pusher
) -> None:
    state = pusher.state
    [pause] = queue_pauses(committed, state, 1)

    pusher.push(pusher.settings(), dry_run=True)

    assert state.calls("MutateCampaigns") == 1 and state.campaign_mutations == []
    assert state.campaign(pause.campaign_resource_name).status == "ENABLED"
    row = log_rows(committed)[pause.log_id]
    assert (row["status"], row["attempts"], row["validated_at"] is not None) == ("pending", 0, True)
