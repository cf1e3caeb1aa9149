"""Pytest fixtures for the fake Google Ads server (import them into a conftest or a test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.ads.googleads.client import GoogleAdsClient

from glue.ads_client import AdsConfig, build_client
from glue.fake_google_ads import FakeGoogleAdsServer, start_fake_google_ads, trust_certificate

FAKE_DEVELOPER_TOKEN = "fake-developer-token"
FAKE_ACCESS_TOKEN = "fake-access-token"


def fake_ads_config(server: FakeGoogleAdsServer, login_customer_id: str | None = None) -> AdsConfig:
    return AdsConfig(
        developer_token=FAKE_DEVELOPER_TOKEN,
        access_token=FAKE_ACCESS_TOKEN,
        endpoint=server.endpoint,
        login_customer_id=login_customer_id,
    )


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
