"""`leadflow token`: JWTs for the local stack (`make up`), which has no auth server.

The tokens are signed with the secret the local stack's PostgREST was started with, read from the
stack's own state (stack.json under LEADFLOW_STATE_DIR, default .leadflow/), never from an argument
or the environment: so this never signs anything a Supabase install would accept. On Supabase the
signed-in session's access token (supabase-js) and the project's anon key take their place.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt

from glue.errors import LeadflowError
from glue.paths import STATE_DIR

USER_TOKEN_TTL_S = 8 * 3600  # a working day
LOCAL_ISSUER = "leadflow-local"


def make_jwt(secret: str, role: str, sub: uuid.UUID | str | None = None, ttl_s: int | None = 3600) -> str:
    """A signed JWT as PostgREST/Supabase take it; sub may be any string (a garbage one included).
    ttl_s None: no exp (an anon key, like Supabase's, does not run out within a session)."""
    claims: dict[str, Any] = {"role": role}
    if ttl_s is not None:
        claims["exp"] = int(time.time()) + ttl_s
    if sub is not None:
        claims["sub"] = str(sub)
    return jwt.encode(claims, secret, algorithm="HS256")


def local_stack_secret(base: Path = STATE_DIR) -> str:
    """The JWT secret of the local stack recorded under `base`; LeadflowError when there is none."""
    state = base / "stack.json"
    try:
        secret = json.loads(state.read_text()).get("jwt_secret")
    except (OSError, ValueError):
        secret = None
    if not secret:
        raise LeadflowError(
            f"no local stack under {base} (no {state.name} with a JWT secret): start one with "
            '`eval "$(make -s up)"`; on Supabase use the signed-in session\'s access token and the anon key'
        )
    return str(secret)


def user_token(user_id: str, base: Path = STATE_DIR, ttl_s: int = USER_TOKEN_TTL_S) -> str:
    """A JWT for profile `user_id` (role authenticated) on the local stack, valid for ttl_s."""
    try:
        sub = uuid.UUID(user_id)
    except ValueError:
        raise LeadflowError(f"USER_ID must be a uuid (a profile id), got {user_id!r}") from None
    return make_jwt(local_stack_secret(base), "authenticated", sub, ttl_s)


def anon_key(base: Path = STATE_DIR) -> str:
    """The local stack's anon key: a JWT with role anon and no expiry, the same on every call."""
    secret = local_stack_secret(base)
    return jwt.encode({"iss": LOCAL_ISSUER, "role": "anon"}, secret, algorithm="HS256")
