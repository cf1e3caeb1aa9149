"""`leadflow worker run`: the long-running worker.

It LISTENs on 'lead_flow_budget_changes' (orchestrate_budgets notifies there when it queued changes)
and pushes when notified, and at least every poll interval anyway (a missed notification, changes
left pending by an earlier run). Once per Amsterdam day, after settings.metrics_at, it pulls the
last days' metrics. SIGTERM/SIGINT set the stop event: the current batch is finished and recorded,
backoff waits are cut short (their changes go back to the queue), and the loop returns.
A lost database connection is re-opened after a pause; nothing claimed is lost (unrecorded claims
are taken again after the lease). A database that cannot be reached at the very start is not
waited for: the error goes to the caller (one line, exit 2; a service manager restarts the worker).
Every connection is checked like push's (glue.worker.db): a role that cannot work the queue stops
the loop with WorkerRoleError instead of idling without a word.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from glue.worker import db as worker_db
from glue.worker.config import WorkerSettings
from glue.worker.gateway import AdsGateway, QuotaExhausted
from glue.worker.metrics import AMSTERDAM, metrics_window, pull_metrics
from glue.worker.push import push

log = logging.getLogger("leadflow.worker")

CHANNEL = "lead_flow_budget_changes"
QUOTA_PAUSE_SECONDS = 3600.0  # after the daily quota ran out, Google is not asked again for this long
RECONNECT_PAUSE_SECONDS = 5.0
_WAIT_SLICE_SECONDS = 1.0  # how often the wait for a notification looks at the stop event


@dataclass
class LoopState:
    next_push: float = 0.0  # monotonic time; 0 = push at once
    push_blocked_until: float = 0.0
    metrics_day: object = None  # the Amsterdam day metrics were last pulled for
    metrics_blocked_until: float = 0.0
    pushes: int = 0
    metrics_pulls: int = 0


def run(
    settings: WorkerSettings,
    gateway: AdsGateway,
    stop: threading.Event,
    *,
    dry_run: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(AMSTERDAM),
) -> LoopState:
    """Loop until stop is set; returns what it did (for logs and tests)."""
    state = LoopState()
    listen: psycopg.Connection | None = None
    work: psycopg.Connection | None = None
    log.info("worker running: %s", settings.describe())
    connected = False  # once the database was reached, a lost connection is waited for
    while not stop.is_set():
        try:
            if listen is None or listen.closed:
                listen = worker_db.connect(settings)
                listen.execute(f"listen {CHANNEL}")
                state.next_push = 0.0  # anything queued while we were away
            if work is None or work.closed:
                work = worker_db.connect(settings)
            connected = True
            _step(settings, gateway, stop, work, state, dry_run, clock)
            if _wait_for_notification(listen, stop, max(0.0, state.next_push - time.monotonic())):
                state.next_push = 0.0
        except psycopg.OperationalError as exc:
            if not connected:
                _close(listen, work)
                raise
            log.error("database connection lost (%s); reconnecting in %.0fs", exc, RECONNECT_PAUSE_SECONDS)
            _close(listen, work)
            listen = work = None
            stop.wait(RECONNECT_PAUSE_SECONDS)
        except worker_db.WorkerRoleError:
            _close(listen, work)
            raise
    _close(listen, work)
    log.info("worker stopped after %d pushes and %d metrics pulls", state.pushes, state.metrics_pulls)
    return state


def _close(*conns: psycopg.Connection | None) -> None:
    for conn in conns:
        if conn is not None:
            conn.close()


def _step(
    settings: WorkerSettings,
    gateway: AdsGateway,
    stop: threading.Event,
    work: psycopg.Connection,
    state: LoopState,
    dry_run: bool,
    clock: Callable[[], datetime],
) -> None:
    now = time.monotonic()
    if now >= state.next_push and now >= state.push_blocked_until:
        report = push(work, gateway, settings, dry_run=dry_run, should_stop=stop.is_set)
        state.pushes += 1
        state.next_push = time.monotonic() + settings.poll_seconds
        if report.quota_exhausted:
            state.push_blocked_until = time.monotonic() + QUOTA_PAUSE_SECONDS
            log.warning("daily quota exhausted: no pushes for %.0f minutes", QUOTA_PAUSE_SECONDS / 60)
    local_now = clock()
    if (
        not stop.is_set()
        and state.metrics_day != local_now.date()
        and local_now.time() >= settings.metrics_at
        and time.monotonic() >= state.metrics_blocked_until
    ):
        first, last = metrics_window(None, settings.metrics_days, today=local_now.date())
        try:
            pull_metrics(work, gateway, first, last)
            state.metrics_day = local_now.date()
            state.metrics_pulls += 1
        except QuotaExhausted:
            state.metrics_blocked_until = time.monotonic() + QUOTA_PAUSE_SECONDS
            log.warning("daily quota exhausted during the metrics pull; trying again later")


def _wait_for_notification(listen: psycopg.Connection, stop: threading.Event, seconds: float) -> bool:
    """Wait up to `seconds` for a NOTIFY on CHANNEL; True if one came. Returns early on stop."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        for notify in listen.notifies(timeout=min(_WAIT_SLICE_SECONDS, remaining), stop_after=1):
            log.info("notified on %s (%s pending changes)", notify.channel, notify.payload or "?")
            return True
    return False
