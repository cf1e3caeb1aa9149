"""`leadflow worker push`: send the budget changes SQL approved to Google Ads, record every outcome.

The worker decides nothing about budgets. It claims pending changes (claim_budget_changes), groups
them per customer, reads each budget live (GAQL) and then:
  - a budget shared by several campaigns (reference_count > 1) -> failed, never changed;
  - live amount already equal to the new value -> success without a push (a crash between Google's
    answer and the database write is recovered this way, with no second push);
  - live amount different from the change's old value -> conflict (someone edited it by hand);
  - otherwise the change is sent: mutate_campaign_budgets, partial_failure=True, at most 10,000
    operations a request, amounts in micros rounded to 10,000. A request whose outcome is unknown
    (deadline exceeded, UNAVAILABLE, INTERNAL) is never sent again blindly: the live budgets are
    read again first and decide as above, so a change reaches Google at most once per attempt whose
    outcome is known, and a hand edit made meanwhile ends as a conflict.
A campaign pause (action_type campaign_pause: an approved pause_campaign recommendation) follows the
same rules with the campaign's live status instead of a budget: already PAUSED -> success without a
push; REMOVED -> conflict (changed outside the pipeline); ENABLED -> CampaignService mutate_campaigns,
status PAUSED, partial_failure=True; an unknown outcome is followed by a fresh read of the status.
Every claimed change is completed exactly once through complete_budget_change: success, failed,
conflict, or pending (transient trouble or the daily quota; the attempt is counted by the claim).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from glue.worker.config import WorkerSettings
from glue.worker.gateway import (
    AdsCallFailed,
    AdsGateway,
    LiveBudget,
    LiveCampaign,
    MutateOutcome,
    OutcomeUnknown,
    QuotaExhausted,
    iter_chunks,
)

log = logging.getLogger("leadflow.worker")

MICROS_PER_EUR = 1_000_000
MICROS_UNIT = 10_000  # EUR amounts must be whole cents
MAX_MICROS = 2**63 - 1
_BUDGET_RN = re.compile(r"^customers/(\d{10})/campaignBudgets/\d+$")
PAUSE = "campaign_pause"  # the action_type of a campaign pause; the others are budget changes


@dataclass(frozen=True)
class Change:
    """A claimed row of channel_orchestration_log, as far as the worker needs it."""

    id: UUID
    customer_id: str | None
    campaign_id: str | None
    budget_resource_name: str | None
    old_value: Decimal | None
    new_value: Decimal | None
    order: tuple[Any, ...] = ()  # (date, created_at): the order changes to one budget are applied in
    action_type: str = "budget_increase"

    @property
    def is_pause(self) -> bool:
        return self.action_type == PAUSE

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Change:
        return cls(row["id"], row["customer_id"], row["campaign_id"], row["budget_resource_name"],
                   row["old_value"], row["new_value"], (row["date"], row["created_at"]), row["action_type"])


@dataclass(frozen=True)
class Completion:
    change_id: UUID
    status: str  # success, failed, conflict, pending
    applied_amount: Decimal | None = None
    request_id: str | None = None
    error_message: str | None = None
    error_code: str | None = None
    live_value: Decimal | None = None


@dataclass
class PushReport:
    claimed: int = 0
    requests: int = 0  # mutate requests sent
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quota_exhausted: bool = False

    def summary(self) -> str:
        counts = ", ".join(f"{status} {n}" for status, n in sorted(self.outcomes.items())) or "nothing"
        quota = "; daily quota exhausted, the rest stays pending" if self.quota_exhausted else ""
        return f"claimed {self.claimed}, {self.requests} mutate requests: {counts}{quota}"


def to_micros(amount: Decimal | None) -> int | None:
    """EUR -> micros rounded to 10,000 (whole cents); None when it is not a valid micros value."""
    if amount is None or not Decimal(amount).is_finite():
        return None
    try:
        units = (Decimal(amount) * MICROS_PER_EUR / MICROS_UNIT).quantize(Decimal(1), ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None
    micros = int(units) * MICROS_UNIT
    return micros if 0 <= micros <= MAX_MICROS else None


def to_eur(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_EUR).quantize(Decimal("0.01"))


def push(
    conn: psycopg.Connection,
    gateway: AdsGateway,
    settings: WorkerSettings,
    *,
    dry_run: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> PushReport:
    """Claim and push until the queue is empty, the daily quota is hit, or a stop is asked.

    A batch that left changes pending ends the run (they would be claimed again at once); so does a
    dry run after its one claim (dry-run claims return rows to pending).
    """
    report = PushReport()
    while not should_stop():
        rows = claim(conn, settings.name, settings.claim_size, dry_run)
        if not rows:
            break
        report.claimed += len(rows)
        _Batch(conn, gateway, settings, dry_run, report).run(rows)
        left_pending = report.quota_exhausted or report.outcomes.get("pending")
        if dry_run or left_pending or len(rows) < settings.claim_size:
            break
    log.info("push%s: %s", " (dry run)" if dry_run else "", report.summary())
    return report


def claim(conn: psycopg.Connection, worker: str, max_rows: int, dry_run: bool) -> list[Change]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "select * from lead_flow.claim_budget_changes(p_worker => %s, p_max_rows => %s, p_dry_run => %s)",
            (worker, max_rows, dry_run),
        )
        return [Change.from_row(row) for row in cur.fetchall()]


def record(conn: psycopg.Connection, completions: Sequence[Completion], dry_run: bool) -> int:
    """Complete the changes in one transaction; if that fails, one by one. Returns how many were written."""
    if not completions:
        return 0
    params = [_params(c, dry_run) for c in completions]
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(_COMPLETE_SQL, params)
        return len(completions)
    except psycopg.Error as exc:
        if conn.broken:
            raise
        log.warning("completing %d changes together failed (%s); completing one by one", len(params), exc)
    written = 0
    for completion, values in zip(completions, params, strict=True):
        try:
            with conn.transaction():
                conn.execute(_COMPLETE_SQL, values)
            written += 1
        except psycopg.Error as exc:
            if conn.broken:
                raise
            log.error("could not complete change %s as %s: %s", completion.change_id, completion.status, exc)
    return written


_COMPLETE_SQL = (
    "select lead_flow.complete_budget_change(p_log_id => %s::uuid, p_status => %s::text, "
    "p_applied_amount => %s::numeric, p_request_id => %s::text, p_error_message => %s::text, "
    "p_error_code => %s::text, p_live_value => %s::numeric, p_dry_run => %s::boolean)"
)


def _params(c: Completion, dry_run: bool) -> tuple[Any, ...]:
    return (c.change_id, c.status, c.applied_amount, c.request_id, c.error_message, c.error_code,
            c.live_value, dry_run)


# What _send sends: (change, micros) for budgets, (change, campaign resource name) for pauses;
# mutate(chunk, max_attempts) sends it, recheck(chunk) reads it live again after an unknown outcome.
Chunk = Sequence[tuple[Change, Any]]
Mutate = Callable[[Chunk, int], MutateOutcome]
Recheck = Callable[[Chunk], Chunk]


class _Batch:
    """One claimed batch: every change in it is completed exactly once."""

    def __init__(
        self, conn: psycopg.Connection, gateway: AdsGateway, settings: WorkerSettings, dry_run: bool,
        report: PushReport,
    ) -> None:
        self._conn = conn
        self._gateway = gateway
        self._settings = settings
        self._dry_run = dry_run
        self._report = report
        self._done: set[UUID] = set()

    def run(self, changes: list[Change]) -> None:
        try:
            groups = _by_customer(changes)
            for customer_id in sorted(groups, key=lambda c: (c is None, c or "")):
                group = groups[customer_id]
                if self._report.quota_exhausted:
                    self._leave_pending_for_quota(group)
                else:
                    self._push_customer(customer_id, [c for c in group if not c.is_pause])
                    self._pause_customer(customer_id, [c for c in group if c.is_pause])
        finally:
            # Whatever went wrong, no claimed change stays in_progress: back to the queue.
            left = [c for c in changes if c.id not in self._done]
            if left:
                log.error("%d claimed changes unfinished after an error; back to the queue", len(left))
                self._complete([Completion(c.id, "pending", error_code="WORKER_ERROR",
                                           error_message="the worker stopped before finishing this change")
                                for c in left])

    def _pause_customer(self, customer_id: str | None, changes: list[Change]) -> None:
        """The campaign pauses of one customer: checked against the live status, the rest sent."""
        if not changes:
            return
        rejected = [Completion(c.id, "failed", error_code="INVALID_TARGET", error_message=problem)
                    for c in changes if (problem := _pause_target_problem(c, customer_id))]
        self._complete(rejected)
        valid = [c for c in changes if c.id not in self._done]
        if not valid or self._report.quota_exhausted:
            self._leave_pending_for_quota(valid)
            return
        cid = str(customer_id)
        self._send_in_chunks(
            cid, self._check_pauses_against_live(cid, valid), "pause {n} campaigns of {customer_id}",
            lambda items, attempts: self._gateway.pause_campaigns(
                cid, [str(rn) for _, rn in items], validate_only=self._dry_run, max_attempts=attempts),
            lambda items: self._check_pauses_against_live(cid, [c for c, _ in items], sent_before=True))

    def _check_pauses_against_live(
        self, customer_id: str, changes: Sequence[Change], *, sent_before: bool = False
    ) -> list[tuple[Change, str]]:
        """Read the campaigns' statuses live, complete the pauses they decide, return (change, campaign
        resource name) for the ones still to send."""
        try:
            live = self._gateway.read_campaign_statuses(customer_id, [c.campaign_id or "" for c in changes])
        except AdsCallFailed as failure:
            self._call_failed(list(changes), failure)
            return []
        decided: list[Completion] = []
        to_send: list[tuple[Change, str]] = []
        for change in changes:
            completion = _check_pause(change, live.get(change.campaign_id or ""), sent_before)
            if completion is None:
                to_send.append((change, live[change.campaign_id or ""].resource_name))
            else:
                decided.append(completion)
        self._complete(decided)
        return to_send

    def _push_customer(self, customer_id: str | None, changes: list[Change]) -> None:
        valid: list[tuple[Change, int]] = []
        rejected: list[Completion] = []
        for change in changes:
            micros = to_micros(change.new_value)
            problem = _target_problem(change, customer_id)
            if problem:
                rejected.append(
                    Completion(change.id, "failed", error_code="INVALID_TARGET", error_message=problem))
            elif micros is None:
                rejected.append(Completion(
                    change.id, "failed", error_code="INVALID_AMOUNT",
                    error_message=f"new value {change.new_value!r} is not a valid amount in micros"))
            else:
                valid.append((change, micros))
        self._complete(rejected)
        assert customer_id is not None or not valid
        # Changes to one budget go in successive waves, each checked against the live value.
        for wave in _waves(valid):
            if self._report.quota_exhausted:
                self._leave_pending_for_quota([c for c, _ in wave])
                continue
            self._push_wave(str(customer_id), wave)

    def _push_wave(self, customer_id: str, wave: list[tuple[Change, int]]) -> None:
        to_send = self._check_against_live(customer_id, wave)
        self._send_in_chunks(
            customer_id, to_send, "mutate {n} budgets of {customer_id}",
            lambda items, attempts: self._gateway.mutate_budgets(
                customer_id, [(c.budget_resource_name or "", int(m)) for c, m in items],
                validate_only=self._dry_run, max_attempts=attempts),
            lambda items: self._check_against_live(
                customer_id, [(c, int(m)) for c, m in items], sent_before=True))

    def _check_against_live(
        self, customer_id: str, items: Sequence[tuple[Change, int]], *, sent_before: bool = False
    ) -> list[tuple[Change, int]]:
        """Read the budgets live, complete every change they decide, return the ones still to send.

        sent_before: the changes went out in a request whose outcome is unknown (see _send).
        """
        by_campaign = [c.campaign_id for c, _ in items if c.campaign_id]
        by_budget = [c.budget_resource_name or "" for c, _ in items if not c.campaign_id]
        try:
            gateway = self._gateway
            live_campaigns = gateway.read_campaign_budgets(customer_id, by_campaign) if by_campaign else {}
            live_budgets = gateway.read_budgets(customer_id, by_budget) if by_budget else {}
        except AdsCallFailed as failure:
            self._call_failed([c for c, _ in items], failure)
            return []
        decided: list[Completion] = []
        to_send: list[tuple[Change, int]] = []
        for change, micros in items:
            if change.campaign_id:
                completion = _check_campaign(change, micros, live_campaigns.get(change.campaign_id),
                                             sent_before)
            else:
                completion = _check_live(change, micros, live_budgets.get(change.budget_resource_name or ""),
                                         sent_before)
            if completion is None:
                to_send.append((change, micros))
            else:
                decided.append(completion)
        self._complete(decided)
        return to_send

    def _send_in_chunks(
        self, customer_id: str, items: Chunk, what: str, mutate: Mutate, recheck: Recheck
    ) -> None:
        """_send for each batch_size chunk of the items (what: a format with {n} and {customer_id});
        once the daily quota is exhausted, the remaining chunks stay pending."""
        for chunk in iter_chunks(items, self._settings.batch_size):
            if self._report.quota_exhausted:
                self._leave_pending_for_quota([c for c, _ in chunk])
            else:
                what_chunk = what.format(n=len(chunk), customer_id=customer_id)
                self._send(chunk, what_chunk, mutate, recheck)

    def _send(self, chunk: Chunk, what: str, mutate: Mutate, recheck: Recheck) -> None:
        """One mutate request for the chunk (budgets: (change, micros); pauses: (change, campaign
        resource name)); after an unknown outcome, never a blind resend.

        When Google may or may not have applied the request (deadline exceeded, UNAVAILABLE,
        INTERNAL), the worker backs off, then checks the chunk against the live values as a new run
        would (recheck): already at the new value (or paused) -> success without a push; changed by
        hand -> conflict; still at the old value -> sent again. At most max_attempts requests in all;
        what is left then goes back to the queue, and the next run starts with the same live check.
        """
        attempts = 0
        while chunk:
            try:
                outcome = mutate(chunk, self._gateway.max_attempts - attempts)
            except OutcomeUnknown as failure:
                attempts += failure.attempts
                self._report.requests += failure.attempts
                log.warning("%s: %s, so whether Google applied it is unknown; the live values are read "
                            "again before anything is sent again", what, failure.error.code)
                if attempts >= self._gateway.max_attempts or not self._gateway.pause(
                        what, attempts, failure.error):
                    self._call_failed([c for c, _ in chunk], OutcomeUnknown(failure.error, attempts))
                    return
                chunk = recheck(chunk)
                continue
            except AdsCallFailed as failure:
                self._report.requests += failure.attempts
                self._call_failed([c for c, _ in chunk], failure)
                return
            self._report.requests += 1
            self._record_outcome(chunk, outcome)
            return

    def _record_outcome(self, chunk: Sequence[tuple[Change, Any]], outcome: MutateOutcome) -> None:
        completions = []
        for index, (change, payload) in enumerate(chunk):
            error = outcome.errors.get(index)
            if error is not None:
                completions.append(Completion(change.id, "failed", request_id=outcome.request_id,
                                              error_code=error.code, error_message=error.message))
            elif index in outcome.applied:
                amount = None if change.is_pause else to_eur(payload)
                completions.append(Completion(change.id, "success", applied_amount=amount,
                                              request_id=outcome.request_id))
            else:
                completions.append(Completion(
                    change.id, "pending", request_id=outcome.request_id, error_code="NO_RESULT",
                    error_message="Google Ads returned neither a result nor an error for this operation"))
        self._complete(completions)

    def _call_failed(self, changes: list[Change], failure: AdsCallFailed) -> None:
        error = failure.error
        if isinstance(failure, QuotaExhausted):
            self._report.quota_exhausted = True
        status = "failed" if error.kind == "permanent" else "pending"
        message = error.message
        if status == "pending":
            message = f"{message} (after {failure.attempts} attempt{'s' if failure.attempts > 1 else ''})"
        if isinstance(failure, OutcomeUnknown):
            message += "; whether Google applied it is unknown: the next run reads the live budget first"
        self._complete([Completion(c.id, status, request_id=error.request_id, error_code=error.code,
                                   error_message=message) for c in changes])

    def _leave_pending_for_quota(self, changes: Iterable[Change]) -> None:
        self._complete([Completion(c.id, "pending", error_code="quota_error.RESOURCE_EXHAUSTED",
                                   error_message="daily operation quota exhausted earlier in this run")
                        for c in changes])

    def _complete(self, completions: list[Completion]) -> None:
        if not completions:
            return
        record(self._conn, completions, self._dry_run)
        for completion in completions:
            self._done.add(completion.change_id)
            self._report.outcomes[completion.status] += 1


def _check_campaign(
    change: Change, micros: int, live: LiveBudget | None, sent_before: bool = False
) -> Completion | None:
    """As _check_live, after checking that the campaign still uses the budget the change is for."""
    if live is None:
        return Completion(
            change.id, "failed", error_code="CAMPAIGN_NOT_FOUND",
            error_message=f"campaign {change.campaign_id} not found in customer {change.customer_id}")
    if live.resource_name != change.budget_resource_name:
        live_eur = to_eur(live.amount_micros)
        return Completion(
            change.id, "conflict", live_value=live_eur, error_code="CAMPAIGN_BUDGET_CHANGED",
            error_message=f"campaign {change.campaign_id} now uses budget {live.resource_name} "
                          f"({live_eur} EUR), not {change.budget_resource_name} "
                          "(changed outside the pipeline); "
                          f"new value {change.new_value} EUR {_not_sent(sent_before)}")
    return _check_live(change, micros, live, sent_before)


def _check_live(
    change: Change, micros: int, live: LiveBudget | None, sent_before: bool = False
) -> Completion | None:
    """The outcome decided by the live budget alone, or None when the change must be sent."""
    if live is None:
        return Completion(change.id, "failed", error_code="BUDGET_NOT_FOUND",
                          error_message=f"campaign budget {change.budget_resource_name} not found in "
                                        f"customer {change.customer_id}")
    live_eur = to_eur(live.amount_micros)
    if live.reference_count > 1:
        return Completion(change.id, "failed", error_code="SHARED_BUDGET", live_value=live_eur,
                          error_message=f"budget {live.resource_name} is shared by {live.reference_count} "
                                        "campaigns; changing it would change them all, so it is not changed")
    if live.amount_micros == micros:
        # Already live: applied earlier (the worker died before recording it, or Google applied a
        # request whose answer never arrived). No second push.
        return Completion(change.id, "success", applied_amount=to_eur(micros), live_value=live_eur)
    old_micros = to_micros(change.old_value)
    if old_micros is not None and live.amount_micros != old_micros:
        return Completion(change.id, "conflict", live_value=live_eur, error_code="LIVE_BUDGET_CHANGED",
                          error_message=f"live budget {live_eur} EUR differs from the expected old value "
                                        f"{change.old_value} EUR (changed outside the pipeline); "
                                        f"new value {change.new_value} EUR {_not_sent(sent_before)}")
    return None


def _check_pause(change: Change, live: LiveCampaign | None, sent_before: bool = False) -> Completion | None:
    """The outcome of a pause decided by the campaign's live status, or None when it must be sent."""
    if live is None:
        return Completion(
            change.id, "failed", error_code="CAMPAIGN_NOT_FOUND",
            error_message=f"campaign {change.campaign_id} not found in customer {change.customer_id}")
    if live.status == "PAUSED":
        # Paused already: by an earlier request whose answer was lost, or by hand. No second push.
        return Completion(change.id, "success")
    if live.status != "ENABLED":
        return Completion(
            change.id, "conflict", error_code="CAMPAIGN_STATUS_CHANGED",
            error_message=f"campaign {change.campaign_id} is {live.status} (changed outside the pipeline); "
                          f"the pause is {_not_sent(sent_before)}")
    return None


def _pause_target_problem(change: Change, customer_id: str | None) -> str | None:
    if not customer_id or not re.fullmatch(r"\d{10}", customer_id):
        return f"customer id {customer_id!r} is not a 10-digit Google Ads customer id"
    if not change.campaign_id or not re.fullmatch(r"\d{1,19}", change.campaign_id):
        return f"campaign id {change.campaign_id!r} is not a Google Ads campaign id"
    return None


def _not_sent(sent_before: bool) -> str:
    return "not sent again (an earlier request's outcome was unknown)" if sent_before else "not sent"


def _target_problem(change: Change, customer_id: str | None) -> str | None:
    if not customer_id or not re.fullmatch(r"\d{10}", customer_id):
        return f"customer id {customer_id!r} is not a 10-digit Google Ads customer id"
    if change.campaign_id is not None and not re.fullmatch(r"\d{1,19}", change.campaign_id):
        return f"campaign id {change.campaign_id!r} is not a Google Ads campaign id"
    match = _BUDGET_RN.match(change.budget_resource_name or "")
    if not match:
        name = change.budget_resource_name
        return f"budget resource name {name!r} is not customers/<id>/campaignBudgets/<id>"
    if match.group(1) != customer_id:
        return f"budget {change.budget_resource_name} does not belong to customer {customer_id}"
    return None


def _by_customer(changes: Iterable[Change]) -> dict[str | None, list[Change]]:
    groups: dict[str | None, list[Change]] = defaultdict(list)
    for change in changes:
        groups[change.customer_id].append(change)
    return dict(groups)


def _waves(changes: list[tuple[Change, int]]) -> list[list[tuple[Change, int]]]:
    """Wave k holds the k-th change (by date) of every budget, so a request never sets one budget twice."""
    waves: list[list[tuple[Change, int]]] = []
    seen: dict[str | None, int] = defaultdict(int)
    for item in sorted(changes, key=lambda item: item[0].order):
        k = seen[item[0].budget_resource_name]
        seen[item[0].budget_resource_name] += 1
        if k == len(waves):
            waves.append([])
        waves[k].append(item)
    return waves
