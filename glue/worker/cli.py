"""`leadflow worker push | pull-metrics | run`: the Google Ads worker (see docs/worker.md).

Exit codes: 0 done; 75 (EX_TEMPFAIL) when changes were left pending or the daily quota ran out, so
a later run is needed; 1 when metrics of some customer could not be pulled; 2 when it cannot start:
bad arguments, configuration missing or invalid (ConfigError), the database unreachable, or a
database role that cannot work the queue (WorkerRoleError). glue.cli prints those in one line.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from glue.worker import db as worker_db
from glue.worker.ads_client import build_client
from glue.worker.config import WorkerSettings, load_settings
from glue.worker.gateway import AdsGateway, QuotaExhausted
from glue.worker.loop import run
from glue.worker.metrics import metrics_window, pull_metrics
from glue.worker.push import push

log = logging.getLogger("leadflow.worker")

EX_TEMPFAIL = 75


def main(args: argparse.Namespace) -> int:
    _configure_logging()
    problem = _argument_problem(args)
    if problem:
        print(f"leadflow worker {args.action}: {problem}", file=sys.stderr)
        return 2
    settings = load_settings(name=args.name)
    # Before anything is logged, so what keeps the worker from starting (the database unreachable,
    # a role that cannot work the queue) is the one line on stderr.
    with worker_db.connect(settings) as conn:
        stop = _stop_on_signals()
        gateway = make_gateway(settings, stop)
        log.info("worker %s%s: %s", args.action, " (dry run)" if args.dry_run else "", settings.describe())
        if args.action == "run":
            conn.close()  # the loop opens (and re-opens) its own connections
            run(settings, gateway, stop, dry_run=args.dry_run)
            return 0
        if args.action == "push":
            report = push(conn, gateway, settings, dry_run=args.dry_run, should_stop=stop.is_set)
            print(report.summary())
            return EX_TEMPFAIL if report.quota_exhausted or report.outcomes.get("pending") else 0
        first, last = metrics_window(args.date, args.days or settings.metrics_days)
        try:
            metrics = pull_metrics(conn, gateway, first, last)
        except QuotaExhausted as exc:
            print(f"daily quota exhausted: {exc}", file=sys.stderr)
            return EX_TEMPFAIL
        print(metrics.summary())
        return 1 if metrics.failed_customers else 0


def _argument_problem(args: argparse.Namespace) -> str | None:
    if args.action != "pull-metrics" and (args.date is not None or args.days is not None):
        return "--date and --days belong to pull-metrics"
    if args.date is not None and args.days is not None:
        return "give --date or --days, not both"
    if args.days is not None and args.days < 1:
        return "--days must be at least 1"
    return None


def make_gateway(settings: WorkerSettings, stop: threading.Event) -> AdsGateway:
    """A gateway over a real GoogleAdsClient; backoff waits end early when stop is set."""
    client = build_client(settings.ads, settings.api_version)
    return AdsGateway(client, settings.retry, settings.request_timeout, sleep=lambda s: not stop.wait(s))


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s received: finishing the current batch, then stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


def _configure_logging() -> None:
    level = os.environ.get("LEADFLOW_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # The library's request logs carry full request headers at INFO/DEBUG: keep them to summaries.
    logging.getLogger("google.ads.googleads").setLevel(logging.WARNING)
