"""The fake Google Ads server, exercised through the real google-ads client over gRPC+TLS."""

from __future__ import annotations

import datetime
import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as core_exceptions

from glue.lab.fake_google_ads import FakeGoogleAdsServer, gaql, start_control_server
from glue.lab.fake_google_ads import server as fake_server_module
from glue.lab.fake_google_ads.state import BudgetOperation, CampaignOperation, FakeGoogleAds
from glue.worker.ads_client import AdsConfig, build_client, google_ads_failure, load_ads_config

CUSTOMER = "1234567890"
REPO_ROOT = Path(__file__).resolve().parents[1]


# -- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def brand_budget(fake_ads_server: FakeGoogleAdsServer) -> str:
    """The budget of a campaign "Brand" at 50 EUR a day under CUSTOMER: where most tests start."""
    _, budget = fake_ads_server.state.add_campaign(CUSTOMER, "Brand", 50_000_000)
    return budget


def budget_operation(client: GoogleAdsClient, resource_name: str, amount_micros: int) -> Any:
    operation = client.get_type("CampaignBudgetOperation")
    operation.update.resource_name = resource_name
    operation.update.amount_micros = amount_micros
    operation.update_mask.paths.append("amount_micros")
    return operation


def mutate(client: GoogleAdsClient, operations: list[Any], timeout: float | None = None, **flags: Any) -> Any:
    """flags (partial_failure, validate_only, response_content_type) exist only on the request message:
    the service method accepts customer_id/operations keywords but not these."""
    request = client.get_type("MutateCampaignBudgetsRequest")
    request.customer_id = CUSTOMER
    request.operations.extend(operations)
    for name, value in flags.items():
        setattr(request, name, value)
    return client.get_service("CampaignBudgetService").mutate_campaign_budgets(
        request=request, timeout=timeout
    )


def search(client: GoogleAdsClient, query: str) -> list[Any]:
    return list(client.get_service("GoogleAdsService").search(customer_id=CUSTOMER, query=query))


def search_stream(client: GoogleAdsClient, query: str) -> list[Any]:
    # The service must outlive the stream: a collected service client closes the channel mid-stream.
    service = client.get_service("GoogleAdsService")
    stream = service.search_stream(customer_id=CUSTOMER, query=query)
    return [row for batch in stream for row in batch.results]


def error_codes(failure: Any) -> list[tuple[str, str]]:
    """(category, enum name) per error of a protobuf or proto-plus GoogleAdsFailure."""
    codes = []
    for error in failure.errors:
        code = (
            type(error.error_code).pb(error.error_code)
            if hasattr(error.error_code, "_pb")
            else error.error_code
        )
        category = code.WhichOneof("error_code")
        enum = code.DESCRIPTOR.fields_by_name[category].enum_type
        codes.append((category, enum.values_by_number[getattr(code, category)].name))
    return codes


def budget_query(*resource_names: str) -> str:
    names = ", ".join(f"'{name}'" for name in resource_names)
    return (
        "SELECT campaign_budget.resource_name, campaign_budget.amount_micros, "
        "campaign_budget.reference_count, campaign_budget.explicitly_shared FROM campaign_budget "
        f"WHERE campaign_budget.resource_name IN ({names})"
    )


# -- budgets ---------------------------------------------------------------------------------------


def test_mutate_one_budget_and_read_it_back(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    state = fake_ads_server.state

    response = mutate(fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 65_000_000)])

    assert [r.resource_name for r in response.results] == [brand_budget]
    assert not response.HasField("partial_failure_error")
    for rows in (
        search(fake_ads_client, budget_query(brand_budget)),
        search_stream(fake_ads_client, budget_query(brand_budget)),
    ):
        assert [(r.campaign_budget.resource_name, r.campaign_budget.amount_micros) for r in rows] == [
            (brand_budget, 65_000_000)
        ]
    [mutation] = state.mutations
    assert (mutation.resource_name, mutation.amount_micros) == (brand_budget, 65_000_000)
    assert mutation.request_id.startswith("fake-")


def test_amount_not_multiple_of_currency_unit_is_rejected(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    with pytest.raises(GoogleAdsException) as caught:
        mutate(fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 12_345_678)])

    assert error_codes(caught.value.failure) == [
        ("campaign_budget_error", "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT")
    ]
    assert caught.value.request_id.startswith("fake-")
    assert caught.value.failure.errors[0].trigger.int64_value == 12_345_678
    assert fake_ads_server.state.budget(brand_budget).amount_micros == 50_000_000
    assert fake_ads_server.state.mutations == []


def test_unknown_budget_is_rejected(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    fake_ads_server.state.add_customer(CUSTOMER)
    unknown = f"customers/{CUSTOMER}/campaignBudgets/999"

    with pytest.raises(GoogleAdsException) as caught:
        mutate(fake_ads_client, [budget_operation(fake_ads_client, unknown, 10_000_000)])

    assert error_codes(caught.value.failure) == [("mutate_error", "RESOURCE_NOT_FOUND")]


@pytest.mark.parametrize("kind", ["budget", "campaign"])
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kind": ""}, ("request_error", "OPERATION_REQUIRED", ())),
        (
            {"kind": "create"},
            ("operation_access_denied_error", "CREATE_OPERATION_NOT_PERMITTED", ("create",)),
        ),
        ({"resource_name": ""}, ("request_error", "RESOURCE_NAME_MISSING", ("update", "resource_name"))),
        (
            {"resource_name": "campaigns/1"},
            ("request_error", "RESOURCE_NAME_MALFORMED", ("update", "resource_name")),
        ),
        ({"resource_name": "other"}, ("mutate_error", "RESOURCE_NOT_FOUND", ("update", "resource_name"))),
        ({"update_mask": ()}, ("field_mask_error", "FIELD_MASK_MISSING", ("update_mask",))),
        ({"update_mask": ("explicitly_shared",)}, ("field_mask_error", "FIELD_NOT_FOUND", ("update_mask",))),
    ],
)
def test_budget_and_campaign_updates_are_checked_alike(
    kind: str, change: dict[str, Any], expected: tuple[str, str, tuple[str, ...]]
) -> None:
    """Both mutate services refuse an operation that is no update, does not name an existing resource of
    the customer by a well-formed name ("other": another customer's), or has no field mask of fields the
    fake updates; nothing is applied."""
    state = FakeGoogleAds()
    ours = dict(zip(("campaign", "budget"), state.add_campaign(CUSTOMER, "Brand", 50_000_000), strict=True))
    theirs = dict(
        zip(("campaign", "budget"), state.add_campaign("9876543210", "Other", 50_000_000), strict=True)
    )
    fields = {"kind": "update", "resource_name": ours[kind], **change}
    if fields["resource_name"] == "other":
        fields["resource_name"] = theirs[kind]
    if kind == "budget":
        op: Any = BudgetOperation(
            **{"update_mask": ("amount_micros",), "amount_micros": 60_000_000, **fields}
        )
        mutate_service = state.mutate_budgets
    else:
        op = CampaignOperation(**{"update_mask": ("status",), "status": "PAUSED", **fields})
        mutate_service = state.mutate_campaigns
    outcome = mutate_service(CUSTOMER, [op], partial_failure=True, validate_only=False, request_id="test")
    assert outcome.results == [None]
    assert [(e.category, e.code, e.field_path, e.operation_index) for e in outcome.errors] == [(*expected, 0)]
    assert state.mutations == [] and state.campaign_mutations == []


def test_partial_failure_applies_the_valid_operations(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    state = fake_ads_server.state
    budgets = [state.add_campaign(CUSTOMER, f"C{i}", 10_000_000)[1] for i in range(5)]
    amounts = [20_000_000, 20_005_000, 30_000_000, 0, 40_000_000]  # index 1 and 3 are invalid

    response = mutate(
        fake_ads_client,
        [budget_operation(fake_ads_client, b, a) for b, a in zip(budgets, amounts, strict=True)],
        partial_failure=True,
    )

    assert [r.resource_name for r in response.results] == [budgets[0], "", budgets[2], "", budgets[4]]
    assert [state.budget(b).amount_micros for b in budgets] == [
        20_000_000,
        10_000_000,
        30_000_000,
        10_000_000,
        40_000_000,
    ]
    failure_type = fake_ads_client.get_type("GoogleAdsFailure")
    [detail] = response.partial_failure_error.details
    failure = type(failure_type).FromString(detail.value)
    assert [e.location.field_path_elements[0].index for e in failure.errors] == [1, 3]
    assert {e.location.field_path_elements[0].field_name for e in failure.errors} == {"operations"}
    assert error_codes(failure) == [
        ("campaign_budget_error", "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT"),
        ("campaign_budget_error", "BUDGET_BELOW_PER_DAY_MINIMUM"),
    ]
    assert len(state.mutations) == 3


def test_validate_only_applies_nothing(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    state = fake_ads_server.state

    response = mutate(
        fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 70_000_000)], validate_only=True
    )
    with pytest.raises(GoogleAdsException):
        mutate(
            fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 70_000_001)], validate_only=True
        )

    assert list(response.results) == []
    assert state.budget(brand_budget).amount_micros == 50_000_000
    assert state.mutations == []


def test_2500_operations_in_one_request(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    state = fake_ads_server.state
    budgets = [state.add_budget(CUSTOMER, 10_000_000, shared=False) for _ in range(2_500)]

    response = mutate(fake_ads_client, [budget_operation(fake_ads_client, b, 11_000_000) for b in budgets])

    assert len(response.results) == 2_500
    assert len(state.mutations) == 2_500
    assert {state.budget(b).amount_micros for b in budgets} == {11_000_000}


def test_more_than_10000_operations_are_rejected(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    operation = budget_operation(fake_ads_client, brand_budget, 60_000_000)

    with pytest.raises(GoogleAdsException) as caught:
        mutate(fake_ads_client, [operation] * 10_001, partial_failure=True)

    assert error_codes(caught.value.failure) == [("request_error", "TOO_MANY_MUTATE_OPERATIONS")]
    assert fake_ads_server.state.mutations == []


def test_response_can_carry_the_mutated_budget(fake_ads_client: GoogleAdsClient, brand_budget: str) -> None:
    content_type = fake_ads_client.enums.ResponseContentTypeEnum.MUTABLE_RESOURCE

    response = mutate(
        fake_ads_client,
        [budget_operation(fake_ads_client, brand_budget, 60_000_000)],
        response_content_type=content_type,
    )

    assert response.results[0].campaign_budget.amount_micros == 60_000_000


def test_older_api_version_is_served(fake_ads_server: FakeGoogleAdsServer) -> None:
    config = AdsConfig(developer_token="dev", access_token="token", endpoint=fake_ads_server.endpoint)
    client = build_client(config, version="v23")
    _, budget = fake_ads_server.state.add_campaign(CUSTOMER, "Brand", 50_000_000)

    mutate(client, [budget_operation(client, budget, 60_000_000)])

    assert fake_ads_server.state.budget(budget).amount_micros == 60_000_000


# -- faults and quota ------------------------------------------------------------------------------


def test_injected_transport_faults_surface_as_api_core_exceptions(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    state = fake_ads_server.state
    operation = budget_operation(fake_ads_client, brand_budget, 60_000_000)
    expected = {
        "UNAVAILABLE": core_exceptions.ServiceUnavailable,
        "DEADLINE_EXCEEDED": core_exceptions.DeadlineExceeded,
        "INTERNAL": core_exceptions.InternalServerError,
    }
    for code, exception_type in expected.items():
        state.fail_next(1, code)
        with pytest.raises(exception_type) as caught:
            mutate(fake_ads_client, [operation])
        failure = google_ads_failure(caught.value)
        assert (failure and error_codes(failure)) == (
            [("internal_error", "INTERNAL_ERROR")] if code == "INTERNAL" else None
        )

    mutate(fake_ads_client, [operation])  # the queue is drained
    assert len(state.mutations) == 1


def test_fault_rates_apply_to_queries(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    state = fake_ads_server.state
    state.add_customer(CUSTOMER)
    state.set_fault_rates({"UNAVAILABLE": 1.0})
    with pytest.raises(core_exceptions.ServiceUnavailable):
        search_stream(fake_ads_client, "SELECT campaign.id FROM campaign")
    state.set_fault_rates({})
    assert search_stream(fake_ads_client, "SELECT campaign.id FROM campaign") == []


def test_temporarily_exhausted_carries_retry_delay(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    state = fake_ads_server.state
    state.add_customer(CUSTOMER)
    state.set_retry_delay(2.5)
    state.fail_next(1, "RESOURCE_TEMPORARILY_EXHAUSTED")

    with pytest.raises(core_exceptions.ResourceExhausted) as caught:
        search(fake_ads_client, "SELECT campaign.id FROM campaign")

    failure = google_ads_failure(caught.value)
    assert error_codes(failure) == [("quota_error", "RESOURCE_TEMPORARILY_EXHAUSTED")]
    # GoogleAdsFailure is proto-plus (even with use_proto_plus=False), so the Duration is a timedelta.
    delay = failure.errors[0].details.quota_error_details.retry_delay
    assert delay == datetime.timedelta(seconds=2.5)


def test_daily_quota_counts_mutate_items_and_queries(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    state = fake_ads_server.state
    state.set_daily_quota(3)
    operation = budget_operation(fake_ads_client, brand_budget, 60_000_000)

    mutate(fake_ads_client, [operation, operation])
    search(fake_ads_client, "SELECT campaign.id FROM campaign")
    with pytest.raises(core_exceptions.ResourceExhausted) as caught:
        mutate(fake_ads_client, [operation])

    assert error_codes(google_ads_failure(caught.value)) == [("quota_error", "RESOURCE_EXHAUSTED")]
    assert state.operations_today == 3
    state.advance_day(datetime.date(2026, 1, 1))  # a new day refills the quota
    mutate(fake_ads_client, [operation])


def test_latency_beyond_the_client_timeout_is_a_deadline(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    state = fake_ads_server.state
    state.set_latency(0.3)

    with pytest.raises(core_exceptions.DeadlineExceeded):
        mutate(fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 60_000_000)], timeout=0.1)


def test_a_scripted_mutate_applies_then_answers_after_the_client_deadline(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    state = fake_ads_server.state
    _, other = state.add_campaign(CUSTOMER, "Generic", 20_000_000)
    state.fault_next_mutates(1, hand_edits={other: 25_000_000})

    with pytest.raises(core_exceptions.DeadlineExceeded):
        mutate(fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 60_000_000)], timeout=0.3)

    assert state.budget(brand_budget).amount_micros == 60_000_000  # applied although the client gave up
    assert state.budget(other).amount_micros == 25_000_000  # the hand edit landed meanwhile
    assert [m.resource_name for m in state.mutations] == [brand_budget]  # hand edits are not API mutations
    # The script is used up: the next mutate is answered at once.
    mutate(fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 70_000_000)], timeout=5)
    assert state.calls("MutateCampaignBudgets") == 2
    assert state.calls("SearchStream") == 0


def test_a_scripted_mutate_can_fail_without_applying(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, brand_budget: str
) -> None:
    state = fake_ads_server.state
    state.fault_next_mutates(1, apply=False, answer="UNAVAILABLE")

    with pytest.raises(core_exceptions.ServiceUnavailable):
        mutate(fake_ads_client, [budget_operation(fake_ads_client, brand_budget, 60_000_000)], timeout=5)

    assert state.budget(brand_budget).amount_micros == 50_000_000
    assert state.mutations == []
    assert state.calls("MutateCampaignBudgets") == 1
    with pytest.raises(ValueError, match="LATE, UNAVAILABLE"):
        state.fault_next_mutates(1, answer="RESOURCE_EXHAUSTED")  # the outcome of that one is known


# -- queries ---------------------------------------------------------------------------------------


def test_metrics_by_date_range_give_rows_per_campaign_per_date(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    state = fake_ads_server.state
    campaigns = [state.campaign(state.add_campaign(CUSTOMER, name, 10_000_000)[0]) for name in ("A", "B")]
    start = datetime.date(2026, 1, 1)
    for offset in range(10):
        for number, campaign in enumerate(campaigns, start=1):
            day = start + datetime.timedelta(days=offset)
            state.set_daily_metrics(CUSTOMER, campaign.campaign_id, day, number * 1_000_000, 10, 100, 1.5)
    query = (
        "SELECT campaign.id, campaign.resource_name, segments.date, metrics.cost_micros, metrics.clicks, "
        "metrics.impressions, metrics.conversions FROM campaign "
        "WHERE segments.date BETWEEN '2026-01-01' AND '2026-01-07'"
    )

    rows = search_stream(fake_ads_client, query)

    assert len(rows) == 14
    assert {(r.campaign.id, r.segments.date) for r in rows} == {
        (c.campaign_id, (start + datetime.timedelta(days=d)).isoformat()) for c in campaigns for d in range(7)
    }
    first = next(r for r in rows if r.campaign.id == campaigns[1].campaign_id)
    assert (first.metrics.cost_micros, first.metrics.clicks, first.metrics.impressions) == (
        2_000_000,
        10,
        100,
    )
    assert first.metrics.conversions == 1.5
    narrowed = search(
        fake_ads_client,
        f"SELECT campaign.id, segments.date, metrics.cost_micros FROM campaign WHERE campaign.id IN "
        f"({campaigns[0].campaign_id}) AND segments.date >= '2026-01-09' ORDER BY segments.date DESC",
    )
    assert [r.segments.date for r in narrowed] == ["2026-01-10", "2026-01-09"]


def test_a_campaign_row_holds_every_field_of_its_campaign_budget_and_customer() -> None:
    state = FakeGoogleAds()
    state.add_customer(CUSTOMER, "Schilders NL")
    campaign_name, budget_name = state.add_campaign(CUSTOMER, "Brand", 50_000_000)
    campaign, budget = state.campaign(campaign_name), state.budget(budget_name)
    fields = [f for f in gaql.FIELDS_BY_RESOURCE["campaign"] if f != gaql.DATE_FIELD]

    [row] = gaql.execute(gaql.parse(f"SELECT {', '.join(fields)} FROM campaign"), state.snapshot(CUSTOMER))

    assert row == {
        "campaign.id": campaign.campaign_id,
        "campaign.resource_name": campaign_name,
        "campaign.name": "Brand",
        "campaign.status": "ENABLED",
        "campaign.campaign_budget": budget_name,
        "campaign_budget.id": budget.budget_id,
        "campaign_budget.resource_name": budget_name,
        "campaign_budget.name": budget.name,
        "campaign_budget.amount_micros": 50_000_000,
        "campaign_budget.explicitly_shared": False,
        "campaign_budget.reference_count": 1,
        "customer.id": int(CUSTOMER),
        "customer.resource_name": f"customers/{CUSTOMER}",
        "customer.descriptive_name": "Schilders NL",
        "customer.currency_code": "EUR",
        "metrics.cost_micros": 0,
        "metrics.clicks": 0,
        "metrics.impressions": 0,
        "metrics.conversions": 0.0,
    }


def test_reference_count_of_a_shared_budget(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    state = fake_ads_server.state
    shared = state.add_budget(CUSTOMER, 30_000_000, shared=True)
    state.add_campaign(CUSTOMER, "A", budget_resource_name=shared)
    state.add_campaign(CUSTOMER, "B", budget_resource_name=shared)
    _, own = state.add_campaign(CUSTOMER, "C", 10_000_000)

    rows = search(fake_ads_client, budget_query(shared, own))

    found = {r.campaign_budget.resource_name: r.campaign_budget for r in rows}
    assert (found[shared].reference_count, found[shared].explicitly_shared) == (2, True)
    assert (found[own].reference_count, found[own].explicitly_shared) == (1, False)


def test_search_pages_and_stream_batches(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_server_module, "ROWS_PER_PAGE", 2)  # Google's is 10,000
    state = fake_ads_server.state
    for name in "ABCDE":
        state.add_campaign(CUSTOMER, name, 10_000_000)
    query = "SELECT campaign.name FROM campaign ORDER BY campaign.name DESC LIMIT 4"

    service = fake_ads_client.get_service("GoogleAdsService")
    batches = list(service.search_stream(customer_id=CUSTOMER, query=query))

    assert [r.campaign.name for r in search(fake_ads_client, query)] == ["E", "D", "C", "B"]
    assert [len(b.results) for b in batches] == [2, 2]
    assert state.operations_today == 3  # two Search pages and one SearchStream


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT campaign.nope FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT ad_group.id FROM ad_group", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        ("SELECT campaign.id FROM campaign WHERE segments.date = '2026-13-01'", "INVALID_DATE_FORMAT"),
    ],
)
def test_bad_queries_raise_query_errors(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient, query: str, code: str
) -> None:
    fake_ads_server.state.add_customer(CUSTOMER)
    with pytest.raises(GoogleAdsException) as caught:
        search(fake_ads_client, query)
    assert error_codes(caught.value.failure) == [("query_error", code)]


def test_advance_day_uses_current_budgets(fake_ads_server: FakeGoogleAdsServer) -> None:
    state = fake_ads_server.state
    campaign, budget = state.add_campaign(CUSTOMER, "Brand", 100_000_000)
    day = datetime.date(2026, 2, 1)

    produced = state.advance_day(day)

    metrics = produced[campaign]
    assert 60_000_000 <= metrics.cost_micros <= 100_000_000
    assert state.daily_metrics(CUSTOMER, state.campaign(campaign).campaign_id, day) == metrics
    assert state.advance_day(day, lambda info, _: type(metrics)(cost_micros=info.budget_micros))[
        campaign
    ].cost_micros == (100_000_000)


# -- client configuration --------------------------------------------------------------------------


def test_config_repr_hides_secrets() -> None:
    config = AdsConfig(
        developer_token="dev-secret",
        client_id="client-id",
        client_secret="client-secret",
        refresh_token="refresh-secret",
        login_customer_id="123-456-7890",
    )
    text = repr(config)
    assert "dev-secret" not in text and "client-secret" not in text and "refresh-secret" not in text
    assert "client-id" in text and "1234567890" in text


def test_config_from_env_and_yaml(tmp_path: Path) -> None:
    env = {
        "GOOGLE_ADS_DEVELOPER_TOKEN": "dev",
        "GOOGLE_ADS_ACCESS_TOKEN": "token",
        "GOOGLE_ADS_ENDPOINT": "localhost:1",
        "GOOGLE_ADS_USE_PROTO_PLUS": "False",
        "GOOGLE_ADS_LOGIN_CUSTOMER_ID": "1234567890",
    }
    from_env = load_ads_config(environ=env)
    assert (from_env.endpoint, from_env.use_proto_plus, from_env.login_customer_id) == (
        "localhost:1",
        False,
        "1234567890",
    )
    path = tmp_path / "google-ads.yaml"
    path.write_text(
        "developer_token: dev\nclient_id: id\nclient_secret: s\nrefresh_token: r\n"
        "login_customer_id: 1234567890\nuse_proto_plus: true\n"
    )
    from_yaml = load_ads_config(environ={"GOOGLE_ADS_CONFIGURATION_FILE_PATH": str(path)})
    assert (from_yaml.refresh_token, from_yaml.use_proto_plus, from_yaml.login_customer_id) == (
        "r",
        True,
        "1234567890",
    )
    client = build_client(from_yaml)  # no token refresh (and no network) while building
    assert client.credentials.token is None and client.credentials.refresh_token == "r"


# -- running as its own process --------------------------------------------------------------------


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def test_control_endpoint_seeds_and_steers(
    fake_ads_server: FakeGoogleAdsServer, fake_ads_client: GoogleAdsClient
) -> None:
    control = start_control_server(fake_ads_server.state)
    try:
        created = post_json(
            f"{control.url}/campaigns", {"customer_id": CUSTOMER, "name": "X", "budget_micros": 5_000_000}
        )
        post_json(
            f"{control.url}/budgets/manual-edit",
            {"resource_name": created["budget"], "amount_micros": 7_000_000},
        )
        post_json(f"{control.url}/faults", {"fail_next": {"code": "UNAVAILABLE", "count": 1}})
        with pytest.raises(core_exceptions.ServiceUnavailable):
            search(fake_ads_client, budget_query(created["budget"]))
        [row] = search(fake_ads_client, budget_query(created["budget"]))
        post_json(f"{control.url}/faults", {"mutates": {"hand_edits": {created["budget"]: 8_000_000}}})
        with urllib.request.urlopen(f"{control.url}/state", timeout=5) as response:
            summary = json.load(response)
        with pytest.raises(core_exceptions.DeadlineExceeded):
            mutate(
                fake_ads_client,
                [budget_operation(fake_ads_client, created["budget"], 9_000_000)],
                timeout=0.3,
            )
    finally:
        control.stop()
    assert row.campaign_budget.amount_micros == 7_000_000
    assert [b["amount_micros"] for b in summary["budgets"]] == [7_000_000]
    assert summary["calls"] == {"Search": 2}
    assert summary["faults"]["mutates"] == [
        {"apply": True, "answer": "LATE", "hand_edits": [[created["budget"], 8_000_000]]}
    ]
    # Applied (9.00), then the hand edit (8.00) landed before the late answer.
    assert fake_ads_server.state.budget(created["budget"]).amount_micros == 8_000_000


def test_main_runs_until_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from glue.lab.fake_google_ads.server import main; sys.exit(main())",
        ],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(3))
        assert lines["grpc_endpoint"].startswith("localhost:")
        with urllib.request.urlopen(f"{lines['control_url']}/state", timeout=5) as response:
            assert json.load(response)["campaigns"] == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
