"""Test support: data factories, JWTs and PostgREST clients per role. Plain functions, no magic."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from postgrest import SyncPostgrestClient

from glue.lab.stack import Stack
from glue.lab.tokens import make_jwt

# Data tables wiped between committed tests; settings go back to their defaults.
_DATA_TABLES = [
    "auth.users",
    "public.industries",
    "public.leads",
    "public.profiles",
    "public.lead_segments",
    "public.campaign_daily_metrics",
    "public.lead_flow_logs",
    "lead_flow.nightly_runs",
    "lead_flow.partner_campaign_lead_nights",
    "lead_flow.capacity_trust_days",
]


def reset_data(conn: psycopg.Connection) -> None:
    """Remove every row a test may have committed, keeping reference data (regions, PC4, settings)."""
    existing = [t for t in _DATA_TABLES if conn.execute("select to_regclass(%s)", (t,)).fetchone()[0]]
    conn.execute("delete from public.lead_flow_settings")
    conn.execute("truncate " + ", ".join(existing) + " restart identity cascade")
    conn.execute(
        "insert into public.lead_flow_settings (key, value) "
        "select key, default_value from public.lead_flow_setting_definitions"
    )


def create_user(
    conn: psycopg.Connection,
    *,
    is_admin: bool = False,
    company_name: str | None = None,
    primary_branch: str | None = None,
    regions: list[str] | None = None,
    lead_industries: list[str] | None = None,
    lead_locations: list[str] | None = None,
    max_open_leads: int = 0,
    is_active_for_routing: bool = True,
) -> uuid.UUID:
    """An auth user with its profile (a partner unless is_admin)."""
    user_id = uuid.uuid4()
    conn.execute(
        "insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id.hex[:12]}@example.nl")
    )
    conn.execute(
        """insert into public.profiles (id, company_name, is_admin, primary_branch, regions, lead_industries,
                                        lead_locations, max_open_leads, is_active_for_routing)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            user_id,
            company_name or f"Partner {user_id.hex[:6]}",
            is_admin,
            primary_branch,
            regions or [],
            lead_industries or [],
            lead_locations or [],
            max_open_leads,
            is_active_for_routing,
        ),
    )
    return user_id


def create_industry(conn: psycopg.Connection, name: str) -> uuid.UUID:
    row = conn.execute(
        "insert into public.industries (name) values (%s) "
        "on conflict (name) do update set name = excluded.name "
        "returning id",
        (name,),
    ).fetchone()
    return row[0]


def create_segment(
    conn: psycopg.Connection, branch: str, region: str, *, is_active: bool = True
) -> uuid.UUID:
    row = conn.execute(
        "insert into public.lead_segments (branch, region, is_active) values (%s, %s, %s) returning id",
        (branch, region, is_active),
    ).fetchone()
    return row[0]


@dataclass
class RestClients:
    """One postgrest-py client per role, plus the user ids behind the partner and admin tokens. Besides
    anon, two partners, an admin and service_role: three signed-in callers that are neither partner
    nor admin (no sub, a sub without a profile, a sub that is not a uuid)."""

    url: str
    secret: str
    partner_id: uuid.UUID
    other_partner_id: uuid.UUID
    admin_id: uuid.UUID

    @classmethod
    def create(cls, stack: Stack, conn: psycopg.Connection) -> RestClients:
        return cls(
            url=stack.rest.url,
            secret=stack.rest.jwt_secret,
            partner_id=create_user(
                conn, primary_branch="schilder", regions=["noord-brabant"], max_open_leads=10
            ),
            other_partner_id=create_user(
                conn, primary_branch="dakdekker", regions=["utrecht"], max_open_leads=5
            ),
            admin_id=create_user(conn, is_admin=True, is_active_for_routing=False),
        )

    def client(self, role: str, sub: uuid.UUID | str | None = None) -> SyncPostgrestClient:
        headers = {} if role == "anon" else {"Authorization": f"Bearer {make_jwt(self.secret, role, sub)}"}
        return SyncPostgrestClient(self.url, headers=headers)

    @property
    def anon(self) -> SyncPostgrestClient:
        return self.client("anon")

    @property
    def partner(self) -> SyncPostgrestClient:
        return self.client("authenticated", self.partner_id)

    @property
    def other_partner(self) -> SyncPostgrestClient:
        return self.client("authenticated", self.other_partner_id)

    @property
    def admin(self) -> SyncPostgrestClient:
        return self.client("authenticated", self.admin_id)

    @property
    def service(self) -> SyncPostgrestClient:
        return self.client("service_role")

    @property
    def no_sub(self) -> SyncPostgrestClient:
        """role authenticated, no sub claim at all."""
        return self.client("authenticated")

    @property
    def no_profile(self) -> SyncPostgrestClient:
        """role authenticated, a well-formed sub that no profile has (a consumer's account, say)."""
        return self.client("authenticated", NO_PROFILE_ID)

    @property
    def garbage_sub(self) -> SyncPostgrestClient:
        """role authenticated, sub "alice": not a uuid (auth.uid() would raise on it)."""
        return self.client("authenticated", "alice")


# The user id behind RestClients.no_profile: nothing in the database has it.
NO_PROFILE_ID = uuid.UUID("00000000-0000-4000-8000-0000000000a1")

# Signed-in callers who are neither partner nor admin, by RestClients attribute.
NOT_PARTNER_OR_ADMIN = ["no_sub", "no_profile", "garbage_sub"]
