"""`leadflow dashboard`: serve the page against the running local stack, or `--export DIR` it for a static
host."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

from glue.dashboard import server
from glue.errors import LeadflowError
from glue.paths import STATE_DIR


@dataclass(frozen=True)
class SignInUser:
    kind: str  # "beheerder" (admin) or "partner"
    user_id: str
    name: str


def sign_in_users(database_url: str) -> list[SignInUser]:
    """One existing user per kind: the first admin profile; the first partner serving a segment,
    one with its own marketing first (its Marketing tab has the most to show: the demo's De Kwast)."""
    with psycopg.connect(database_url) as conn:
        admin = conn.execute(
            "select id::text, coalesce(company_name, '') from public.profiles where is_admin"
            " order by created_at, id limit 1"
        ).fetchone()
        partner = conn.execute(
            """select p.id::text, coalesce(p.company_name, '') from public.profiles p
                where not p.is_admin
                  and exists (select from lead_flow.partner_segment_matches m where m.partner_id = p.id)
                order by exists (select from public.partner_marketing_campaigns c
                                  where c.partner_id = p.id) desc,
                         p.company_name, p.id limit 1"""
        ).fetchone()
    users = []
    if admin:
        users.append(SignInUser("beheerder", admin[0], admin[1]))
    if partner:
        users.append(SignInUser("partner", partner[0], partner[1]))
    return users


def _export(args: argparse.Namespace) -> int:
    from glue.lab import tokens

    anon_key = args.anon_key or tokens.anon_key(STATE_DIR)
    if not args.api_url:
        raise LeadflowError(
            "--export needs --api-url: the Supabase project URL (https://PROJECT.supabase.co), "
            "or the URL of a running `leadflow dashboard`"
        )
    config = server.DashboardConfig(args.api_url, anon_key, args.sign_in)
    written = server.export(Path(args.export), config)
    print(f"wrote {len(written)} files to {args.export} (API {config.api_url}, sign-in: {config.sign_in})")
    return 0


def main(args: argparse.Namespace) -> int:
    if args.export:
        return _export(args)
    from glue.lab import stack as lab_stack
    from glue.lab import tokens

    local = lab_stack.load(STATE_DIR)
    if not (local.pg.is_running() and local.rest.is_ready()):
        raise LeadflowError('the local stack is not running: start it with `eval "$(make -s up)"`')
    running = server.start(local.rest.url, tokens.anon_key(STATE_DIR), port=args.port, verbose=args.verbose)
    print(f"Leadstroom dashboard: {running.url}/  (PostgREST under {running.url}{server.REST_PREFIX})")
    users = sign_in_users(local.database_url)
    if not users:
        print("no admin or partner in the database yet: fill it with the demo marketplace", file=sys.stderr)
    for user in users:
        token = tokens.user_token(user.user_id, STATE_DIR)
        print(f"sign in as {user.kind} {user.name}: {server.sign_in_url(running.url, token)}")
    sys.stdout.flush()
    try:
        running.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--export", metavar="DIR", help="write the configured files to DIR for a static host")
    p.add_argument("--api-url", help="--export: the API URL (the Supabase project URL)")
    p.add_argument("--anon-key", help="--export: the anon key (default: the local stack's)")
    p.add_argument(
        "--sign-in", choices=server.SIGN_IN_KINDS, default="supabase",
        help="--export: Supabase Auth (default) or the local stack's #access_token fragment",
    )
    p.add_argument("--verbose", action="store_true", help="log every request")
