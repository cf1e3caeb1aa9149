"""The fake Google Ads server's credentials and client configuration for tests (the fixtures
`fake_ads_server` and `fake_ads_client` are in tests/conftest.py)."""

from __future__ import annotations

from glue.lab.fake_google_ads import FakeGoogleAdsServer
from glue.worker.ads_client import AdsConfig

FAKE_DEVELOPER_TOKEN = "fake-developer-token"
FAKE_ACCESS_TOKEN = "fake-access-token"


def fake_ads_config(server: FakeGoogleAdsServer, login_customer_id: str | None = None) -> AdsConfig:
    return AdsConfig(
        developer_token=FAKE_DEVELOPER_TOKEN,
        access_token=FAKE_ACCESS_TOKEN,
        endpoint=server.endpoint,
        login_customer_id=login_customer_id,
    )
