"""A local fake of the Google Ads API (gRPC+TLS) for tests and the demo.

Typical in-process use:
    server = start_fake_google_ads()
    trust_certificate(server.cert_path)  # before the process opens its first TLS channel
    campaign, budget = server.state.add_campaign("1234567890", "Brand", budget_micros=50_000_000)
    ... build a GoogleAdsClient with endpoint=server.endpoint (see glue.worker.ads_client) ...
    server.stop()
"""

from glue.lab.fake_google_ads.control import ControlServer, start_control_server
from glue.lab.fake_google_ads.server import FakeGoogleAdsServer, main, start_fake_google_ads
from glue.lab.fake_google_ads.state import (
    FAULT_CODES,
    LATE_ANSWER,
    UNKNOWN_OUTCOME_CODES,
    AdsApiError,
    Budget,
    BudgetMutation,
    Campaign,
    CampaignInfo,
    CampaignMutation,
    Customer,
    DailyMetrics,
    FakeGoogleAds,
    MetricsModel,
    MutateFault,
    RandomSpendModel,
)
from glue.lab.fake_google_ads.tls import ensure_certificate, trust_certificate

__all__ = [
    "FAULT_CODES",
    "LATE_ANSWER",
    "UNKNOWN_OUTCOME_CODES",
    "AdsApiError",
    "Budget",
    "BudgetMutation",
    "CampaignMutation",
    "Campaign",
    "CampaignInfo",
    "ControlServer",
    "Customer",
    "DailyMetrics",
    "FakeGoogleAds",
    "FakeGoogleAdsServer",
    "MetricsModel",
    "MutateFault",
    "RandomSpendModel",
    "ensure_certificate",
    "main",
    "start_control_server",
    "start_fake_google_ads",
    "trust_certificate",
]
