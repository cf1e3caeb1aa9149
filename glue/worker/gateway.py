"""The worker's calls to Google Ads: read budgets and campaign statuses, mutate budgets, pause
campaigns, stream metrics; errors classified.

Every call goes through the real google-ads client with a timeout (the library sets none) and is
retried here for transient errors with bounded exponential backoff plus jitter, honouring the
retry_delay Google sends with RESOURCE_TEMPORARILY_EXHAUSTED. The daily quota (RESOURCE_EXHAUSTED)
is never retried: it raises QuotaExhausted so the caller stops the run.

A mutate is the exception: after a transient error other than a rate-limit rejection (a deadline
exceeded, UNAVAILABLE, INTERNAL...) nobody knows whether Google applied it, and sending it again
blindly would apply it twice or overwrite a hand edit made in between. mutate_budgets and
pause_campaigns raise OutcomeUnknown instead; the caller re-reads the live values before anything is
sent again.

The request id of a successful unary call is not exposed by the library; a small client interceptor
(passed to get_service, so it sits outside the library's own) reads the `request-id` response header.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import import_module
from typing import Any, TypeVar

import grpc
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.api_core import exceptions as core_exceptions

from glue.worker.ads_client import google_ads_failure
from glue.worker.config import RetryPolicy

log = logging.getLogger("leadflow.worker")

REQUEST_ID_HEADER = "request-id"
DEFAULT_API_VERSION = "v26"
# gRPC statuses that mean "try again later" (RESOURCE_EXHAUSTED is decided by its QuotaError).
_TRANSIENT_STATUSES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "ABORTED"})
_TRANSIENT_ADS_CODES = frozenset(
    {("internal_error", "INTERNAL_ERROR"), ("internal_error", "TRANSIENT_ERROR"),
     ("internal_error", "DEADLINE_EXCEEDED"), ("quota_error", "RESOURCE_TEMPORARILY_EXHAUSTED")}
)
_DAILY_QUOTA = ("quota_error", "RESOURCE_EXHAUSTED")
_QUERY_CHUNK = 2_000  # resource names per GAQL IN list

T = TypeVar("T")


@dataclass(frozen=True)
class AdsError:
    """One classified failure: kind is 'transient', 'quota' (daily) or 'permanent'."""

    kind: str
    code: str  # e.g. "campaign_budget_error.BUDGET_BELOW_PER_DAY_MINIMUM" or a gRPC status name
    message: str
    request_id: str | None = None
    retry_delay: float | None = None  # seconds Google asked to wait


class AdsCallFailed(Exception):
    """A call that failed for good (permanent error, or transient after every retry)."""

    def __init__(self, error: AdsError, attempts: int) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error
        self.attempts = attempts


class QuotaExhausted(AdsCallFailed):
    """The daily operation quota is used up: stop, leave the rest for a later run."""


class OutcomeUnknown(AdsCallFailed):
    """A mutate failed in a way that leaves open whether Google applied it (never sent again blindly)."""


@dataclass(frozen=True)
class LiveBudget:
    resource_name: str
    amount_micros: int
    reference_count: int
    explicitly_shared: bool


@dataclass(frozen=True)
class LiveCampaign:
    resource_name: str
    status: str  # ENABLED, PAUSED, REMOVED (the enum's name)


@dataclass(frozen=True)
class OperationError:
    code: str
    message: str


@dataclass(frozen=True)
class MutateOutcome:
    """Per operation index: True when applied (or valid, for validate_only), or its error."""

    request_id: str | None
    errors: dict[int, OperationError]
    applied: set[int]


@dataclass(frozen=True)
class MetricRow:
    campaign_id: str
    day: date
    cost_micros: int
    clicks: int
    impressions: int
    conversions: float


class _RequestIdRecorder(grpc.UnaryUnaryClientInterceptor):
    """Remembers, per thread, the request id of the last unary call made through it."""

    def __init__(self) -> None:
        self._local = threading.local()

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        self._local.request_id = None
        response = continuation(client_call_details, request)
        self._local.request_id = _request_id(response)
        return response

    @property
    def last(self) -> str | None:
        return getattr(self._local, "request_id", None)


class AdsGateway:
    """What the worker needs from Google Ads, over one GoogleAdsClient."""

    def __init__(
        self,
        client: GoogleAdsClient,
        retry: RetryPolicy,
        timeout: float,
        sleep: Callable[[float], bool] | None = None,
    ) -> None:
        """sleep(seconds) waits and returns False when the worker is asked to stop meanwhile."""
        self._client = client
        self._retry = retry
        self._timeout = timeout
        self._sleep = sleep or _plain_sleep
        self._recorder = _RequestIdRecorder()
        self._version = client.version or DEFAULT_API_VERSION
        self._budget_service = client.get_service("CampaignBudgetService", interceptors=[self._recorder])
        self._campaign_service = client.get_service("CampaignService", interceptors=[self._recorder])
        # The service object must outlive every stream it opens (else the channel closes mid-stream).
        self._ads_service = client.get_service("GoogleAdsService")
        self._failure_type = import_module(
            f"google.ads.googleads.{self._version}.errors.types.errors"
        ).GoogleAdsFailure

    # -- calls -------------------------------------------------------------------------------------

    def read_campaign_budgets(self, customer_id: str, campaign_ids: Iterable[str]) -> dict[str, LiveBudget]:
        """Per campaign id: the budget the campaign uses now, live (absent campaigns are missing)."""
        found: dict[str, LiveBudget] = {}
        for listed in _in_lists(sorted({int(c) for c in campaign_ids}), str):
            query = (
                "SELECT campaign.id, campaign_budget.resource_name, campaign_budget.amount_micros, "
                "campaign_budget.reference_count, campaign_budget.explicitly_shared "
                f"FROM campaign WHERE campaign.id IN ({listed})"
            )
            for row in self._stream(customer_id, query):
                found[str(row.campaign.id)] = _live_budget(row.campaign_budget)
        return found

    def read_campaign_statuses(
        self, customer_id: str, campaign_ids: Iterable[str]
    ) -> dict[str, LiveCampaign]:
        """Per campaign id: its resource name and status, live (absent campaigns are missing)."""
        found: dict[str, LiveCampaign] = {}
        for listed in _in_lists(sorted({int(c) for c in campaign_ids}), str):
            query = ("SELECT campaign.id, campaign.resource_name, campaign.status FROM campaign "
                     f"WHERE campaign.id IN ({listed})")
            for row in self._stream(customer_id, query):
                campaign = row.campaign
                found[str(campaign.id)] = LiveCampaign(campaign.resource_name, _enum_name(campaign, "status"))
        return found

    def read_budgets(self, customer_id: str, resource_names: Iterable[str]) -> dict[str, LiveBudget]:
        """The live campaign_budget rows for these resource names (absent ones are missing)."""
        found: dict[str, LiveBudget] = {}
        for listed in _in_lists(sorted(set(resource_names)), _gaql_string):
            query = (
                "SELECT campaign_budget.resource_name, campaign_budget.amount_micros, "
                "campaign_budget.reference_count, campaign_budget.explicitly_shared "
                f"FROM campaign_budget WHERE campaign_budget.resource_name IN ({listed})"
            )
            for row in self._stream(customer_id, query):
                found[row.campaign_budget.resource_name] = _live_budget(row.campaign_budget)
        return found

    def mutate_budgets(
        self,
        customer_id: str,
        amounts: Sequence[tuple[str, int]],
        *,
        validate_only: bool,
        max_attempts: int | None = None,
    ) -> MutateOutcome:
        """Set each (budget resource name, amount_micros) in one request with partial_failure.

        Sent again only after errors that say nothing was applied (a rate-limit rejection); any
        other transient error raises OutcomeUnknown. A validate_only request applies nothing, so it
        is retried like a query. max_attempts: at most this many requests (default: the policy's).
        """
        return self._mutate(
            f"mutate {len(amounts)} budgets of {customer_id}", self._budget_service.mutate_campaign_budgets,
            "MutateCampaignBudgetsRequest", "CampaignBudgetOperation", "amount_micros", customer_id, amounts,
            validate_only, max_attempts)

    def pause_campaigns(
        self,
        customer_id: str,
        resource_names: Sequence[str],
        *,
        validate_only: bool,
        max_attempts: int | None = None,
    ) -> MutateOutcome:
        """Set each campaign's status to PAUSED in one CampaignService request with partial_failure;
        sent again only when nothing can have been applied, exactly as mutate_budgets."""
        paused = self._client.enums.CampaignStatusEnum.PAUSED
        what = f"pause {len(resource_names)} campaigns of {customer_id}"
        return self._mutate(
            what, self._campaign_service.mutate_campaigns,
            "MutateCampaignsRequest", "CampaignOperation", "status", customer_id,
            [(resource_name, paused) for resource_name in resource_names], validate_only, max_attempts)

    def _mutate(
        self,
        what: str,
        send: Callable[..., Any],
        request_type: str,
        operation_type: str,
        field: str,
        customer_id: str,
        updates: Sequence[tuple[str, Any]],
        validate_only: bool,
        max_attempts: int | None,
    ) -> MutateOutcome:
        """One partial-failure mutate request (send: the service's mutate method) with an update
        operation per (resource name, value) that sets only `field`: a validate_only one is retried
        like a query; a real one only after a rejection that applied nothing (else OutcomeUnknown)."""
        request = self._client.get_type(request_type)
        request.customer_id = customer_id
        request.partial_failure = True
        request.validate_only = validate_only
        for resource_name, value in updates:
            operation = self._client.get_type(operation_type)
            operation.update.resource_name = resource_name
            setattr(operation.update, field, value)
            operation.update_mask.paths.append(field)
            request.operations.append(operation)

        def call() -> tuple[Any, str | None]:
            return send(request=request, timeout=self._timeout), self._recorder.last

        if validate_only:
            response, request_id = self.with_retry(what, call, max_attempts=max_attempts)
        else:
            response, request_id = self.with_retry(
                what, call, max_attempts=max_attempts, may_resend=_rejected_before_applying)
        errors = self._partial_failures(response)
        if validate_only:
            applied = set(range(len(updates))) - set(errors)
        else:
            applied = {i for i, result in enumerate(response.results) if result.resource_name}
        return MutateOutcome(request_id, errors, applied)

    def campaign_metrics(
        self, customer_id: str, campaign_ids: Iterable[str], first: date, last: date
    ) -> list[MetricRow]:
        """Cost, clicks, impressions, conversions per campaign per segments.date in [first, last]."""
        rows: list[MetricRow] = []
        for listed in _in_lists(sorted({int(c) for c in campaign_ids}), str):
            query = (
                "SELECT campaign.id, segments.date, metrics.cost_micros, metrics.clicks, "
                "metrics.impressions, metrics.conversions FROM campaign "
                f"WHERE segments.date BETWEEN '{first.isoformat()}' AND '{last.isoformat()}' "
                f"AND campaign.id IN ({listed})"
            )
            rows.extend(
                MetricRow(
                    str(row.campaign.id), date.fromisoformat(row.segments.date), row.metrics.cost_micros,
                    row.metrics.clicks, row.metrics.impressions, row.metrics.conversions,
                )
                for row in self._stream(customer_id, query)
            )
        return rows

    # -- retries -----------------------------------------------------------------------------------

    def with_retry(
        self,
        what: str,
        call: Callable[[], T],
        *,
        max_attempts: int | None = None,
        may_resend: Callable[[AdsError], bool] = lambda error: True,
    ) -> T:
        """call() until it succeeds, a permanent error, the daily quota, or the attempts run out.

        A transient error for which may_resend says no raises OutcomeUnknown at once.
        """
        limit = self._retry.max_attempts if max_attempts is None else max_attempts
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except Exception as exc:  # noqa: BLE001 - classified below; unknown ones re-raised
                error = classify(exc)
                if error is None:
                    raise
            if error.kind == "quota":
                raise QuotaExhausted(error, attempt)
            if error.kind == "transient" and not may_resend(error):
                raise OutcomeUnknown(error, attempt)
            if error.kind == "permanent" or attempt >= limit:
                raise AdsCallFailed(error, attempt)
            if not self.pause(what, attempt, error):
                raise AdsCallFailed(error, attempt)

    def pause(self, what: str, attempt: int, error: AdsError) -> bool:
        """Back off after failed attempt number `attempt` (1-based) before the next one.

        False when the next attempt must not happen in this run: Google asked for a longer wait
        than max_retry_delay, or the worker was asked to stop meanwhile.
        """
        delay = self.backoff(attempt - 1, error.retry_delay)
        if delay is None:
            log.warning("%s: %s asks to wait %.0fs; left for a later run", what, error.code,
                        error.retry_delay or 0)
            return False
        log.info("%s: %s (attempt %d/%d), retrying in %.2fs", what, error.code, attempt,
                 self._retry.max_attempts, delay)
        return self._sleep(delay)

    @property
    def max_attempts(self) -> int:
        return self._retry.max_attempts

    def backoff(self, retry_index: int, requested: float | None) -> float | None:
        """Seconds to wait before retry number retry_index (0-based), or None if too long to wait."""
        if requested is not None and requested > self._retry.max_retry_delay:
            return None
        ceiling = min(self._retry.max_delay, self._retry.base_delay * 2**retry_index)
        jittered = random.uniform(ceiling / 2, ceiling)
        return max(jittered, requested or 0.0)

    # -- helpers -----------------------------------------------------------------------------------

    def _stream(self, customer_id: str, query: str) -> list[Any]:
        def call() -> list[Any]:
            stream = self._ads_service.search_stream(
                customer_id=customer_id, query=query, timeout=self._timeout
            )
            return [row for batch in stream for row in batch.results]

        return self.with_retry(f"query for {customer_id}", call)

    def _partial_failures(self, response: Any) -> dict[int, OperationError]:
        errors: dict[int, OperationError] = {}
        for detail in response.partial_failure_error.details:
            failure = self._failure_type.deserialize(detail.value)
            for error in failure.errors:
                elements = error.location.field_path_elements
                if not elements or elements[0].field_name != "operations":
                    continue
                index = elements[0].index
                if index not in errors:  # the first error of an operation says enough
                    errors[index] = OperationError(error_code_name(error), error.message)
        return errors


def classify(exc: BaseException) -> AdsError | None:
    """Sort a Google Ads failure into transient / quota / permanent; None if it is not one."""
    if isinstance(exc, GoogleAdsException):
        status = exc.error.code().name if isinstance(exc.error, grpc.Call) else "UNKNOWN"
        return _from_failure(exc.failure, status, exc.request_id)
    if isinstance(exc, core_exceptions.GoogleAPICallError):
        status = exc.grpc_status_code.name if exc.grpc_status_code else "UNKNOWN"
        failure = google_ads_failure(exc)
        request_id = _request_id(exc.response) if isinstance(exc.response, grpc.Call) else None
        if failure is not None and failure.errors:
            return _from_failure(failure, status, request_id or failure.request_id or None)
        kind = "transient" if status in _TRANSIENT_STATUSES else "permanent"
        if status == "RESOURCE_EXHAUSTED":
            kind = "quota"  # no QuotaError detail: treat as the daily quota, the safe reading
        return AdsError(kind, status, exc.message or str(exc), request_id)
    if isinstance(exc, grpc.RpcError) and isinstance(exc, grpc.Call):
        status = exc.code().name
        kind = "transient" if status in _TRANSIENT_STATUSES else "permanent"
        return AdsError(kind, status, exc.details() or status, _request_id(exc))
    return None


def _rejected_before_applying(error: AdsError) -> bool:
    """Whether a transient mutate error says nothing was applied: only a rate-limit rejection does.

    UNAVAILABLE can be a connection reset after the request went out, DEADLINE_EXCEEDED is the
    client giving up while Google may still apply, INTERNAL may come after part of the work.
    """
    return error.code == "quota_error.RESOURCE_TEMPORARILY_EXHAUSTED"


def error_code_name(error: Any) -> str:
    """'category.NAME' of a proto-plus GoogleAdsError, e.g. 'quota_error.RESOURCE_EXHAUSTED'."""
    code = type(error.error_code).pb(error.error_code)
    category = code.WhichOneof("error_code") or "unknown_error"
    value = getattr(code, category)
    enum_type = code.DESCRIPTOR.fields_by_name[category].enum_type
    known = enum_type is not None and value in enum_type.values_by_number
    name = enum_type.values_by_number[value].name if known else value
    return f"{category}.{name}"


def _from_failure(failure: Any, status: str, request_id: str | None) -> AdsError:
    codes = [(error_code_name(e), e) for e in failure.errors]
    first_code, first = codes[0]
    message = first.message or status
    for code, error in codes:
        if tuple(code.split(".", 1)) == _DAILY_QUOTA:
            return AdsError("quota", code, error.message, request_id)
    for code, error in codes:
        if tuple(code.split(".", 1)) in _TRANSIENT_ADS_CODES:
            delay = error.details.quota_error_details.retry_delay if "quota_error" in code else None
            seconds = delay.total_seconds() if delay else None
            return AdsError("transient", code, error.message, request_id, seconds or None)
    kind = "transient" if status in _TRANSIENT_STATUSES else "permanent"
    return AdsError(kind, first_code, message, request_id)


def _enum_name(message: Any, field: str) -> str:
    """The name of an enum field's value of a raw protobuf message (the client runs without proto-plus)."""
    enum_type = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = getattr(message, field)
    known = value in enum_type.values_by_number
    return enum_type.values_by_number[value].name if known else str(value)


def _live_budget(budget: Any) -> LiveBudget:
    return LiveBudget(budget.resource_name, budget.amount_micros, budget.reference_count,
                      budget.explicitly_shared)


def _request_id(call: Any) -> str | None:
    for getter in ("initial_metadata", "trailing_metadata"):
        try:
            metadata = getattr(call, getter)() or ()
        except Exception:  # noqa: BLE001 - a call without metadata simply has no request id
            continue
        for key, value in metadata:
            if key == REQUEST_ID_HEADER:
                return value.decode() if isinstance(value, bytes) else value
    return None


def _in_lists(values: Sequence[T], literal: Callable[[T], str]) -> Iterator[str]:
    """The values as GAQL `IN (...)` lists of at most _QUERY_CHUNK literals each."""
    for start in range(0, len(values), _QUERY_CHUNK):
        yield ", ".join(literal(v) for v in values[start : start + _QUERY_CHUNK])


def _gaql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _plain_sleep(seconds: float) -> bool:
    threading.Event().wait(seconds)
    return True


def iter_chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
