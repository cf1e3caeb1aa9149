"""Shared fixtures: one real PostgreSQL + PostgREST stack per test session, and the fake Google Ads.

Isolation: `db` gives a connection whose work is rolled back after the test (fast, most tests);
tests that must commit (PostgREST, workers, cron) use `committed`, which wipes the data afterwards.
Helpers the tests call are plain functions in the package tests/support/.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from google.ads.googleads.client import GoogleAdsClient

from glue.lab import stack as glue_stack
from glue.lab.fake_google_ads import FakeGoogleAdsServer, start_fake_google_ads, trust_certificate
from glue.worker.ads_client import build_client
from tests.support import RestClients, reset_data
from tests.support.fake_ads import fake_ads_config

# Extensions only the tests use, in `extensions` (PostgREST serves `public` alone). The test stack
# installs them, never a migration: an install onto Supabase must not need them.
TEST_EXTENSIONS = (
    "plpgsql_check",  # the PL/pgSQL checker of tests/test_db_lint.py
    "pgtap",  # the specifications under tests/pgtap/
)


def install_test_extensions(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in TEST_EXTENSIONS:
            conn.execute(f"create extension if not exists {name} with schema extensions")


@pytest.fixture(scope="session")
def stack() -> Iterator[glue_stack.Stack]:
    # A folder of our own for the state; the cluster goes where postgres can reach it (the folder
    # itself, or one under /var/tmp when TMPDIR is private), and remove() deletes both.
    s = glue_stack.up(Path(tempfile.mkdtemp(prefix="leadflow-test-")))
    try:
        install_test_extensions(s.database_url)
        yield s
    finally:
        s.remove()


@pytest.fixture(scope="session")
def db_url(stack: glue_stack.Stack) -> str:
    return stack.database_url


@pytest.fixture
def fresh_database(stack: glue_stack.Stack) -> Iterator[str]:
    """An empty database in the session's cluster, dropped afterwards."""
    name = f"migr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.pg.url("postgres"), autocommit=True) as conn:
        conn.execute(f"create database {name}")
    try:
        yield stack.pg.url(name)
    finally:
        with psycopg.connect(stack.pg.url("postgres"), autocommit=True) as conn:
            conn.execute(f"drop database {name} with (force)")


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection (as the superuser) inside a transaction that is rolled back after the test."""
    with psycopg.connect(db_url) as conn:
        yield conn
        conn.rollback()


@pytest.fixture
def committed(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection for tests whose data must be visible to other sessions; wiped after."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        try:
            yield conn
        finally:
            reset_data(conn)


@pytest.fixture
def rest(stack: glue_stack.Stack, committed: psycopg.Connection) -> RestClients:
    """PostgREST clients for anon, a partner, an admin and service_role (users created and committed)."""
    return RestClients.create(stack, committed)


@pytest.fixture
def fake_ads_server() -> Iterator[FakeGoogleAdsServer]:
    """A fresh fake (own state, seed 7) per test; all share the default certificate, trusted here."""
    server = start_fake_google_ads(seed=7)
    trust_certificate(server.cert_path)
    yield server
    server.stop()


@pytest.fixture
def fake_ads_client(fake_ads_server: FakeGoogleAdsServer) -> GoogleAdsClient:
    """A real GoogleAdsClient (protobuf messages, API v26) pointed at fake_ads_server."""
    return build_client(fake_ads_config(fake_ads_server))
