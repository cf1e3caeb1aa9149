"""`leadflow`: the project's one command line. Each subcommand is a thin call into SQL or a glue module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

Handler = Callable[[argparse.Namespace], int]


def _up(args: argparse.Namespace) -> int:
    from glue.lab import stack

    print("\n".join(stack.up().exports()))
    return 0


def _down(args: argparse.Namespace) -> int:
    from glue.lab import stack

    stack.down()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from glue import db

    db.migrate()
    print("migrations applied", file=sys.stderr)
    return 0


def _regions_load(args: argparse.Namespace) -> int:
    from glue import db, regions

    try:
        loaded = regions.load_pc4_file(db.database_url(), args.file)
    except regions.PC4FileError as exc:
        print(f"leadflow regions load: {exc}", file=sys.stderr)
        return 2
    print(
        f"loaded {loaded.ranges} PC4 ranges covering {loaded.postcodes} postcodes; "
        f"{loaded.leads_assigned} leads newly assigned to a segment"
    )
    return 0


def _schedules_install(args: argparse.Namespace) -> int:
    from glue import db

    problem = db.install_schedules()
    if problem:
        print(f"leadflow schedules install: {problem}", file=sys.stderr)
        return 1
    print("schedules installed (pg_cron, hourly): a job lead-flow-<step> per lead_flow.pipeline_steps row")
    return 0


def _nightly(args: argparse.Namespace) -> int:
    from glue import nightly

    return nightly.main(args)


def _worker(args: argparse.Namespace) -> int:
    from glue.worker import cli as worker

    return worker.main(args)


def _fake_google_ads(args: argparse.Namespace) -> int:
    from glue.lab.fake_google_ads import server

    return server.main(args.rest)


def _simulate(args: argparse.Namespace) -> int:
    from glue.lab import simulate

    return simulate.main(args)


def _demo(args: argparse.Namespace) -> int:
    from glue.lab import demo

    return demo.main(args)


def _dashboard(args: argparse.Namespace) -> int:
    from glue.dashboard import cli as dashboard

    return dashboard.main(args)


def _token(args: argparse.Namespace) -> int:
    from glue.lab import tokens

    if args.anon == bool(args.user_id):
        raise SystemExit("give a USER_ID (a profile id) or --anon")
    print(tokens.anon_key() if args.anon else tokens.user_token(args.user_id))
    return 0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    command("up", _up, "start (or reuse) the embedded stack and print its environment as shell exports")
    command("down", _down, "stop the embedded stack")
    command("migrate", _migrate, "apply migrations and re-create the SQL objects on $DATABASE_URL")

    regions = sub.add_parser("regions", help="region reference data")
    regions_sub = regions.add_subparsers(dest="regions_command", required=True)
    load = regions_sub.add_parser("load", help="load a PC4 -> province CSV (per-PC4 or ranges)")
    load.add_argument("file", type=Path)
    load.set_defaults(handler=_regions_load)

    schedules = sub.add_parser("schedules", help="the pg_cron schedules of the nightly pipeline")
    schedules_sub = schedules.add_subparsers(dest="schedules_command", required=True)
    install = schedules_sub.add_parser(
        "install", help="install the schedules (once pg_cron is enabled; migrate does it when it can)"
    )
    install.set_defaults(handler=_schedules_install)

    nightly = command("nightly", _nightly, "run the nightly pipeline for a day, or backfill a range")
    nightly.add_argument("--date", type=_day, help="the day D to process (default: yesterday in Amsterdam)")
    nightly.add_argument(
        "--from", dest="date_from", type=_day, help="first day of a backfill (stats and plans)"
    )
    nightly.add_argument("--to", dest="date_to", type=_day, help="last day of a backfill")

    worker = command("worker", _worker, "push approved budget changes to Google Ads and pull metrics")
    worker.add_argument("action", choices=["push", "pull-metrics", "run"])
    worker.add_argument("--dry-run", action="store_true", help="validate_only: check, apply nothing")
    worker.add_argument("--date", type=_day, help="pull-metrics: one day")
    worker.add_argument("--days", type=int, help="pull-metrics: the last N days")
    worker.add_argument("--name", help="worker name recorded on claimed changes")

    fake = command("fake-google-ads", _fake_google_ads, "run the local fake Google Ads API server")
    fake.add_argument("rest", nargs=argparse.REMAINDER, help="options for the fake (see --help)")

    sim = command("simulate", _simulate, "run the simulated market with a controller and compare")
    sim.add_argument(
        "--controller",
        default="spec,smart",
        help="spec, smart, estimate, several comma-separated (side by side)",
    )
    sim.add_argument("--days", type=int, default=28)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument(
        "--seeds", default=None, help="several seeds comma-separated (1,2,3): the measures pooled over them"
    )
    sim.add_argument(
        "--market",
        default="standard",
        choices=("standard", "shapes"),
        help="standard (power curves) or shapes (ceiling, S-curve, lagged, drifting costs)",
    )

    token = command(
        "token", _token, "print a JWT for a user of the local stack (make up), or its anon key (--anon)"
    )
    token.add_argument("user_id", nargs="?", metavar="USER_ID", help="the profile id (role authenticated)")
    token.add_argument("--anon", action="store_true", help="the anon key (role anon) instead")

    from glue.dashboard.cli import add_arguments as dashboard_arguments

    dashboard_arguments(command(
        "dashboard", _dashboard,
        "serve the Leadstroom page against the local stack (prints sign-in URLs), or --export it",
    ))

    demo = command("demo", _demo, "seed a Dutch marketplace, run 28 nights, print and write a report")
    demo.add_argument("--days", type=int, default=28)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--report", type=Path, default=Path("reports/lead-flow-demo.html"))
    demo.add_argument(
        "--into-stack",
        action="store_true",
        help="fill the make-up stack with the demo marketplace (history to yesterday, last night run) "
        "and print ADMIN_ID, PARTNER_ID, SEGMENT_ID as KEY=value lines",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand. What the user must fix is said in one line on stderr, never a traceback:
    `leadflow <command>: <message>`, exit 2 (bad configuration, DATABASE_URL missing or invalid, the
    database unreachable); other database errors exit 1. LEADFLOW_DEBUG=1 shows the traceback."""
    args = build_parser().parse_args(argv)
    command = _command_name(args)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        if not isinstance(exc.code, str):  # argparse and handlers exiting with a number
            raise
        return _report(command, exc.code, 2)
    except Exception as exc:
        if os.environ.get("LEADFLOW_DEBUG"):
            raise
        problem = _user_facing(exc)
        if problem is None:
            raise
        return _report(command, *problem)


def _command_name(args: argparse.Namespace) -> str:
    """'worker push', 'regions load', 'nightly': the words the user typed to pick the subcommand."""
    words = [args.command]
    words += [v for k, v in vars(args).items() if k.endswith("_command") and isinstance(v, str)]
    if args.command == "worker":
        words.append(args.action)
    return " ".join(words)


def _user_facing(exc: Exception) -> tuple[str, int] | None:
    """(one-line message, exit code) for errors a user can act on; None for bugs (the traceback shows)."""
    from glue.errors import LeadflowError

    if isinstance(exc, LeadflowError):
        return _one_line(str(exc)), 2
    import psycopg

    if not isinstance(exc, psycopg.Error):
        return None
    message = _one_line(exc.diag.message_primary or str(exc))
    if isinstance(exc, psycopg.OperationalError) and (exc.sqlstate is None or exc.sqlstate.startswith("08")):
        return f"cannot reach the database: {message}", 2
    if exc.sqlstate is None:
        # Raised by psycopg itself: a connection string libpq cannot parse (its message echoes the
        # string, password and all, so it is not shown), or a bug (the traceback shows).
        if not _unparsable_database_url():
            return None
        return ("DATABASE_URL is not a PostgreSQL connection string: use "
                "postgresql://user:password@host:port/dbname (or libpq key=value pairs)", 2)
    return f"database error {exc.sqlstate}: {message}", 1


def _unparsable_database_url() -> bool:
    """Whether $DATABASE_URL is set and libpq cannot parse it."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(os.environ.get("DATABASE_URL") or "host=")
    except psycopg.ProgrammingError:
        return True
    return False


def _report(command: str, message: str, code: int) -> int:
    print(f"leadflow {command}: {_one_line(message)}", file=sys.stderr)
    return code


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
