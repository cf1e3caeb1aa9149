"""In-memory state of the fake Google Ads API: accounts, budgets, campaigns, metrics and faults.

Everything here is plain Python and independent of the API version; server.py translates to and
from the versioned protobuf messages. Errors are raised as AdsApiError, which describes a Google Ads
failure (gRPC status + GoogleAdsError list) without protobuf types.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The Google Ads API's limits, from Google's documentation: at most 10,000 operations in one mutate
# request; amounts in micros (1,000,000 = 1 EUR), a multiple of the currency's minimum unit.
MAX_MUTATE_OPERATIONS = 10_000
CURRENCY_UNIT_MICROS = 10_000  # EUR: amounts must be whole cents
# Chosen for the fake: Google's real per-day minimum depends on currency; one cent keeps tests simple.
DEFAULT_MIN_BUDGET_MICROS = 10_000
DAILY_QUOTA_RETRY_DELAY_SECONDS = 86_400

FAULT_CODES = (
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "INTERNAL",
    "RESOURCE_TEMPORARILY_EXHAUSTED",
    "RESOURCE_EXHAUSTED",
)
# How a scripted mutate is answered: only after the client's deadline passed, or with one of the
# errors after which a client cannot know whether the change was applied.
LATE_ANSWER = "LATE"
UNKNOWN_OUTCOME_CODES = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL")
CAMPAIGN_STATUSES = ("ENABLED", "PAUSED", "REMOVED")
MUTABLE_BUDGET_FIELDS = ("amount_micros", "name")
MUTABLE_CAMPAIGN_FIELDS = ("status",)
SETTABLE_CAMPAIGN_STATUSES = ("ENABLED", "PAUSED")  # REMOVED is a remove operation, not an update

_BUDGET_RN = re.compile(r"^customers/(\d+)/campaignBudgets/(\d+)$")
_CAMPAIGN_RN = re.compile(r"^customers/(\d+)/campaigns/(\d+)$")


@dataclass(frozen=True)
class QuotaDetail:
    rate_scope: str  # QuotaRateScope enum name: ACCOUNT or DEVELOPER
    rate_name: str
    retry_delay_seconds: float


@dataclass(frozen=True)
class ErrorDetail:
    """One GoogleAdsError, version-agnostic."""

    category: str  # the ErrorCode oneof field, e.g. "campaign_budget_error"
    code: str  # the enum value name, e.g. "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT"
    message: str
    operation_index: int | None = None
    field_path: tuple[str, ...] = ()  # below operations[index], e.g. ("update", "amount_micros")
    trigger: int | str | None = None
    quota: QuotaDetail | None = None
    minimum_budget_micros: int | None = None


class AdsApiError(Exception):
    """A failed call: gRPC status name plus the Google Ads errors (empty for transport-level faults)."""

    def __init__(self, status: str, message: str, errors: Iterable[ErrorDetail] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = tuple(errors)


def query_error(code: str, message: str) -> AdsApiError:
    return AdsApiError("INVALID_ARGUMENT", message, [ErrorDetail("query_error", code, message)])


def _operation_error(index: int) -> Callable[..., list[ErrorDetail]]:
    """error(category, code, message, *field_path, **extra): the one error of operation `index`."""

    def error(category: str, code: str, message: str, *path: str, **extra: Any) -> list[ErrorDetail]:
        return [ErrorDetail(category, code, message, index, path, **extra)]

    return error


@dataclass(frozen=True)
class Customer:
    customer_id: str
    descriptive_name: str
    currency_code: str = "EUR"

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}"


@dataclass(frozen=True)
class Budget:
    customer_id: str
    budget_id: int
    name: str
    amount_micros: int
    explicitly_shared: bool
    reference_count: int = 0  # campaigns (not removed) using the budget

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/campaignBudgets/{self.budget_id}"


@dataclass(frozen=True)
class Campaign:
    customer_id: str
    campaign_id: int
    name: str
    status: str
    budget_resource_name: str

    @property
    def resource_name(self) -> str:
        return f"customers/{self.customer_id}/campaigns/{self.campaign_id}"


@dataclass(frozen=True)
class DailyMetrics:
    cost_micros: int = 0
    clicks: int = 0
    impressions: int = 0
    conversions: float = 0.0

    def __add__(self, other: DailyMetrics) -> DailyMetrics:
        return DailyMetrics(
            self.cost_micros + other.cost_micros,
            self.clicks + other.clicks,
            self.impressions + other.impressions,
            self.conversions + other.conversions,
        )


@dataclass(frozen=True)
class CampaignInfo:
    """What a market model sees about a campaign on a simulated day."""

    campaign: Campaign
    budget_micros: int
    budget_reference_count: int


MetricsModel = Callable[[CampaignInfo, datetime.date], DailyMetrics]


@dataclass(frozen=True)
class BudgetMutation:
    """One budget update applied through the API (manual edits are not recorded)."""

    resource_name: str
    amount_micros: int
    request_id: str
    time: datetime.datetime


@dataclass(frozen=True)
class UpdateOperation:
    """A mutate operation as received; kind is "update", "create", "remove" or "" (none set). The fake
    applies updates only: of the resource named, the fields of update_mask (a subclass holds them)."""

    kind: str
    resource_name: str = ""
    update_mask: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetOperation(UpdateOperation):
    """A CampaignBudgetOperation as received."""

    amount_micros: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class CampaignOperation(UpdateOperation):
    """A CampaignOperation as received (status updates only)."""

    status: str | None = None


@dataclass(frozen=True)
class CampaignMutation:
    """One campaign status update applied through the API (manual edits are not recorded)."""

    resource_name: str
    status: str
    request_id: str
    time: datetime.datetime


@dataclass(frozen=True)
class MutateOutcome:
    results: list[str | None]  # resource name per operation, None where it failed; empty if validate_only
    errors: list[ErrorDetail]  # per-operation failures (only with partial_failure)


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of one customer's data for query evaluation."""

    customer: Customer
    budgets: tuple[Budget, ...]
    campaigns: tuple[Campaign, ...]
    metrics: Mapping[tuple[int, datetime.date], DailyMetrics]


@dataclass(frozen=True)
class MutateFault:
    """How one MutateCampaignBudgets call goes wrong when its outcome must stay unknown to the client.

    apply: whether the operations are applied before the call goes wrong (Google may apply a change
    and still fail to deliver the answer). hand_edits: budget amounts set "in the Google Ads UI"
    (budget resource name, micros) after the request arrived and before the client can try again.
    answer: LATE_ANSWER holds the answer until the client's deadline has passed (the client sees
    DEADLINE_EXCEEDED), or an UNKNOWN_OUTCOME_CODES code fails the call with that error.
    """

    apply: bool
    answer: str = LATE_ANSWER
    hand_edits: tuple[tuple[str, int | str], ...] = ()  # budget -> micros, or campaign -> status


@dataclass
class _Faults:
    rates: dict[str, float] = field(default_factory=dict)
    queued: deque[str] = field(default_factory=deque)
    mutates: deque[MutateFault] = field(default_factory=deque)
    latency_seconds: float = 0.0
    daily_quota: int | None = None
    retry_delay_seconds: float = 30.0


class RandomSpendModel:
    """Default market: spends 60-100% of the campaign's share of its budget at random CPC/CTR/CVR."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self, info: CampaignInfo, day: datetime.date) -> DailyMetrics:
        share = info.budget_micros / max(info.budget_reference_count, 1)
        cost = round(share * self._rng.uniform(0.6, 1.0) / CURRENCY_UNIT_MICROS) * CURRENCY_UNIT_MICROS
        clicks = int(cost / (self._rng.uniform(0.4, 1.5) * 1_000_000))
        impressions = int(clicks / self._rng.uniform(0.02, 0.08))
        conversions = round(clicks * self._rng.uniform(0.02, 0.1), 2)
        return DailyMetrics(cost, clicks, impressions, conversions)


class FakeGoogleAds:
    """Thread-safe state shared by the gRPC servicer, the control endpoint and tests."""

    def __init__(self, seed: int = 0, min_budget_micros: int = DEFAULT_MIN_BUDGET_MICROS) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._default_model = RandomSpendModel(random.Random(seed + 1))
        self.min_budget_micros = min_budget_micros
        self._customers: dict[str, Customer] = {}
        self._budgets: dict[str, Budget] = {}
        self._campaigns: dict[str, Campaign] = {}
        self._metrics: dict[tuple[str, int, datetime.date], DailyMetrics] = {}
        self._mutations: list[BudgetMutation] = []
        self._campaign_mutations: list[CampaignMutation] = []
        self._calls: Counter[str] = Counter()  # RPCs received per method, whatever became of them
        self._faults = _Faults()
        self._operations_today = 0
        self._next_customer = 1_000_000_001
        self._next_budget_id = 30_000_000_001
        self._next_campaign_id = 20_000_000_001
        self._next_request = 1

    # -- accounts, budgets, campaigns --------------------------------------------------------------

    def add_customer(self, customer_id: str | int | None = None, descriptive_name: str = "") -> str:
        """Register an account; returns its 10-digit id (dashes are accepted and removed)."""
        with self._lock:
            if customer_id is None:
                cid = str(self._next_customer)
                self._next_customer += 1
            else:
                cid = normalize_customer_id(customer_id)
            if cid not in self._customers:
                self._customers[cid] = Customer(cid, descriptive_name or f"Fake account {cid}")
            return cid

    def add_budget(
        self, customer_id: str | int, amount_micros: int, *, shared: bool = True, name: str | None = None
    ) -> str:
        """Create a budget without campaigns (attach them with add_campaign(budget_resource_name=...))."""
        _check_amount(amount_micros, self.min_budget_micros)
        with self._lock:
            cid = self.add_customer(customer_id)
            budget_id = self._next_budget_id
            self._next_budget_id += 1
            budget = Budget(cid, budget_id, name or f"Budget {budget_id}", amount_micros, shared)
            self._budgets[budget.resource_name] = budget
            return budget.resource_name

    def add_campaign(
        self,
        customer_id: str | int,
        name: str,
        budget_micros: int | None = None,
        shared: bool = False,
        *,
        budget_resource_name: str | None = None,
        status: str = "ENABLED",
    ) -> tuple[str, str]:
        """Create a campaign with a new budget (budget_micros) or on an existing explicitly shared one.

        The customer is registered if unknown. Returns (campaign resource name, budget resource name).
        """
        if (budget_micros is None) == (budget_resource_name is None):
            raise ValueError("give exactly one of budget_micros and budget_resource_name")
        if status not in CAMPAIGN_STATUSES:
            raise ValueError(f"unknown campaign status {status!r}")
        with self._lock:
            cid = self.add_customer(customer_id)
            if budget_resource_name is None:
                assert budget_micros is not None
                budget_resource_name = self.add_budget(cid, budget_micros, shared=shared)
            budget = self._existing_budget(budget_resource_name)
            if budget.customer_id != cid:
                raise ValueError(f"{budget_resource_name} belongs to another customer")
            if budget.reference_count and not budget.explicitly_shared:
                raise ValueError(f"{budget_resource_name} is not explicitly shared")
            campaign = Campaign(cid, self._next_campaign_id, name, status, budget_resource_name)
            self._next_campaign_id += 1
            self._campaigns[campaign.resource_name] = campaign
            if status != "REMOVED":
                self._replace_budget(budget, reference_count=budget.reference_count + 1)
            return campaign.resource_name, budget_resource_name

    def set_budget_amount(self, budget_resource_name: str, amount_micros: int) -> None:
        """Simulate a manual edit in the Google Ads UI (not recorded in mutations)."""
        _check_amount(amount_micros, self.min_budget_micros)
        with self._lock:
            self._replace_budget(self._existing_budget(budget_resource_name), amount_micros=amount_micros)

    def set_campaign_status(self, campaign_resource_name: str, status: str) -> None:
        """Simulate pausing, enabling or removing a campaign by hand in the Google Ads UI (not recorded).
        A removed campaign stops counting in its budget's reference_count, and stays removed."""
        if status not in CAMPAIGN_STATUSES:
            raise ValueError(f"unknown campaign status {status!r}")
        with self._lock:
            campaign = self.campaign(campaign_resource_name)
            if campaign.status == "REMOVED" and status != "REMOVED":
                raise ValueError(f"{campaign_resource_name} is removed; a removed campaign stays removed")
            if status == "REMOVED" and campaign.status != "REMOVED":
                budget = self._existing_budget(campaign.budget_resource_name)
                self._replace_budget(budget, reference_count=budget.reference_count - 1)
            self._campaigns[campaign_resource_name] = dataclasses.replace(campaign, status=status)

    def customers(self) -> list[Customer]:
        with self._lock:
            return list(self._customers.values())

    def budget(self, resource_name: str) -> Budget:
        with self._lock:
            return self._existing_budget(resource_name)

    def budgets(self, customer_id: str | None = None) -> list[Budget]:
        with self._lock:
            return [b for b in self._budgets.values() if customer_id in (None, b.customer_id)]

    def campaign(self, resource_name: str) -> Campaign:
        with self._lock:
            if resource_name not in self._campaigns:
                raise KeyError(resource_name)
            return self._campaigns[resource_name]

    def campaigns(self, customer_id: str | None = None) -> list[Campaign]:
        with self._lock:
            return [c for c in self._campaigns.values() if customer_id in (None, c.customer_id)]

    # -- metrics -----------------------------------------------------------------------------------

    def set_daily_metrics(
        self,
        customer_id: str | int,
        campaign_id: int,
        day: datetime.date,
        cost_micros: int,
        clicks: int,
        impressions: int,
        conversions: float,
    ) -> None:
        """Set (or revise, e.g. late conversions) one campaign's metrics for one day."""
        cid = normalize_customer_id(customer_id)
        with self._lock:
            self.campaign(f"customers/{cid}/campaigns/{campaign_id}")
            self._metrics[(cid, int(campaign_id), day)] = DailyMetrics(
                cost_micros, clicks, impressions, conversions
            )

    def daily_metrics(self, customer_id: str | int, campaign_id: int, day: datetime.date) -> DailyMetrics:
        with self._lock:
            return self._metrics.get(
                (normalize_customer_id(customer_id), int(campaign_id), day), DailyMetrics()
            )

    def advance_day(self, day: datetime.date, model: MetricsModel | None = None) -> dict[str, DailyMetrics]:
        """Simulate one day for every enabled campaign with its current budget; starts a new quota day.

        model(info, day) returns the day's metrics; the default is RandomSpendModel (seeded).
        Returns the metrics per campaign resource name.
        """
        model = model or self._default_model
        produced: dict[str, DailyMetrics] = {}
        with self._lock:
            for campaign in self._campaigns.values():
                if campaign.status != "ENABLED":
                    continue
                budget = self._budgets[campaign.budget_resource_name]
                metrics = model(CampaignInfo(campaign, budget.amount_micros, budget.reference_count), day)
                self._metrics[(campaign.customer_id, campaign.campaign_id, day)] = metrics
                produced[campaign.resource_name] = metrics
            self._operations_today = 0
        return produced

    def snapshot(self, customer_id: str) -> Snapshot:
        with self._lock:
            customer = self._customers[customer_id]
            return Snapshot(
                customer,
                tuple(self.budgets(customer_id)),
                tuple(self.campaigns(customer_id)),
                {(k[1], k[2]): v for k, v in self._metrics.items() if k[0] == customer_id},
            )

    # -- faults and quota --------------------------------------------------------------------------

    def set_fault_rates(self, rates: Mapping[str, float]) -> None:
        """Fail each call at random with these probabilities per code (replaces earlier rates)."""
        for code, rate in rates.items():
            _check_fault_code(code)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate for {code} must be within [0, 1]")
        with self._lock:
            self._faults.rates = dict(rates)

    def fail_next(self, count: int, code: str) -> None:
        """Deterministically fail the next `count` calls with `code` (queued after earlier ones)."""
        _check_fault_code(code)
        with self._lock:
            self._faults.queued.extend([code] * count)

    def fault_next_mutates(
        self,
        count: int = 1,
        *,
        apply: bool = True,
        answer: str = LATE_ANSWER,
        hand_edits: Mapping[str, int | str] | None = None,
    ) -> None:
        """Script the next `count` mutate calls, MutateCampaignBudgets or MutateCampaigns (see MutateFault);
        queued after earlier ones. hand_edits: budget resource name -> micros, campaign -> status.

        The default is the unknown outcome that matters most: applied, then answered too late.
        """
        if answer != LATE_ANSWER and answer not in UNKNOWN_OUTCOME_CODES:
            known = ", ".join((LATE_ANSWER, *UNKNOWN_OUTCOME_CODES))
            raise ValueError(f"a scripted mutate answers {known}; not {answer!r}")
        edits = tuple((hand_edits or {}).items())
        for name, value in edits:
            if isinstance(value, str):
                if not _CAMPAIGN_RN.match(name) or value not in CAMPAIGN_STATUSES:
                    raise ValueError(
                        f"a hand edit of a campaign sets {CAMPAIGN_STATUSES}: {name} {value}")
            else:
                _check_amount(value, self.min_budget_micros)
        with self._lock:
            self._faults.mutates.extend([MutateFault(apply, answer, edits)] * count)

    def take_mutate_fault(self) -> MutateFault | None:
        """The script for the mutate call at hand, if one is queued."""
        with self._lock:
            return self._faults.mutates.popleft() if self._faults.mutates else None

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._faults.latency_seconds = seconds

    def set_daily_quota(self, operations: int | None) -> None:
        """Operations allowed per (simulated) day; None is unlimited."""
        with self._lock:
            self._faults.daily_quota = operations

    def set_retry_delay(self, seconds: float) -> None:
        """retry_delay sent with RESOURCE_TEMPORARILY_EXHAUSTED."""
        with self._lock:
            self._faults.retry_delay_seconds = seconds

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()

    def reset_quota(self) -> None:
        with self._lock:
            self._operations_today = 0

    @property
    def operations_today(self) -> int:
        with self._lock:
            return self._operations_today

    def inject_faults(self) -> None:
        """Called at the start of every RPC: sleep the added latency, then maybe raise a fault."""
        with self._lock:
            latency = self._faults.latency_seconds
            code = self._faults.queued.popleft() if self._faults.queued else self._roll_fault()
            retry_delay = self._faults.retry_delay_seconds
        if latency:
            time.sleep(latency)
        if code:
            raise fault_error(code, retry_delay)

    def charge_quota(self, operations: int) -> None:
        """Count operations against the daily quota, or raise QuotaError RESOURCE_EXHAUSTED."""
        with self._lock:
            limit = self._faults.daily_quota
            if limit is not None and self._operations_today + operations > limit:
                raise fault_error("RESOURCE_EXHAUSTED", self._faults.retry_delay_seconds)
            self._operations_today += operations

    # -- API entry points -----------------------------------------------------------------------------

    def count_call(self, method: str) -> None:
        """Count an RPC as received (before faults, so calls that fail or answer late count too)."""
        with self._lock:
            self._calls[method] += 1

    def calls(self, method: str) -> int:
        """RPCs received for `method`, e.g. "MutateCampaignBudgets" or "SearchStream"."""
        with self._lock:
            return self._calls[method]

    def new_request_id(self) -> str:
        with self._lock:
            request_id = f"fake-{self._next_request:08d}-{self._rng.getrandbits(32):08x}"
            self._next_request += 1
            return request_id

    def check_customer(self, customer_id: str) -> None:
        """Raise the error Google gives for a malformed or inaccessible customer id."""
        if not re.fullmatch(r"\d{10}", customer_id):
            message = f"Invalid customer ID '{customer_id}'."
            raise AdsApiError(
                "INVALID_ARGUMENT", message, [ErrorDetail("request_error", "INVALID_CUSTOMER_ID", message)]
            )
        with self._lock:
            if customer_id not in self._customers:
                message = "User doesn't have permission to access customer."
                raise AdsApiError(
                    "PERMISSION_DENIED",
                    message,
                    [ErrorDetail("authorization_error", "USER_PERMISSION_DENIED", message)],
                )

    def mutate_budgets(
        self,
        customer_id: str,
        operations: list[BudgetOperation],
        *,
        partial_failure: bool,
        validate_only: bool,
        request_id: str,
    ) -> MutateOutcome:
        """CampaignBudgetService.MutateCampaignBudgets semantics (updates only)."""
        return self._mutate(customer_id, operations, self._validate_update,
                            lambda op: self._apply_update(op, request_id), partial_failure, validate_only)

    def mutate_campaigns(
        self,
        customer_id: str,
        operations: list[CampaignOperation],
        *,
        partial_failure: bool,
        validate_only: bool,
        request_id: str,
    ) -> MutateOutcome:
        """CampaignService.MutateCampaigns semantics for status updates (ENABLED, PAUSED) only."""
        now = datetime.datetime.now(datetime.UTC)
        return self._mutate(customer_id, operations, self._validate_campaign_update,
                            lambda op: self._apply_campaign_update(op, request_id, now), partial_failure,
                            validate_only)

    def _mutate(
        self,
        customer_id: str,
        operations: Sequence[Any],
        validate: Callable[[str, int, Any], list[ErrorDetail]],
        apply: Callable[[Any], None],
        partial_failure: bool,
        validate_only: bool,
    ) -> MutateOutcome:
        """One mutate request: every operation validated first; without partial_failure one error
        fails them all; validate_only applies nothing; else each valid operation is applied."""
        self.check_customer(customer_id)
        _check_operation_count(len(operations))
        self.charge_quota(len(operations))
        with self._lock:
            errors = [e for i, op in enumerate(operations) for e in validate(customer_id, i, op)]
            if errors and not partial_failure:
                raise AdsApiError("INVALID_ARGUMENT", _summary_message(errors), errors)
            if validate_only:
                return MutateOutcome([], errors)
            failed = {e.operation_index for e in errors}
            results: list[str | None] = []
            for index, op in enumerate(operations):
                if index in failed:
                    results.append(None)
                else:
                    apply(op)
                    results.append(op.resource_name)
            return MutateOutcome(results, errors)

    # -- summaries ---------------------------------------------------------------------------------

    @property
    def campaign_mutations(self) -> list[CampaignMutation]:
        with self._lock:
            return list(self._campaign_mutations)

    @property
    def mutations(self) -> list[BudgetMutation]:
        with self._lock:
            return list(self._mutations)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly overview (the control endpoint's GET /state)."""
        with self._lock:
            return {
                "customers": [dataclasses.asdict(c) for c in self._customers.values()],
                "budgets": [
                    {**dataclasses.asdict(b), "resource_name": b.resource_name}
                    for b in self._budgets.values()
                ],
                "campaigns": [
                    {**dataclasses.asdict(c), "resource_name": c.resource_name}
                    for c in self._campaigns.values()
                ],
                "metric_days": len(self._metrics),
                "mutations": len(self._mutations),
                "campaign_mutations": len(self._campaign_mutations),
                "calls": dict(self._calls),
                "operations_today": self._operations_today,
                "faults": {
                    "rates": dict(self._faults.rates),
                    "queued": list(self._faults.queued),
                    "mutates": [dataclasses.asdict(f) for f in self._faults.mutates],
                    "latency_seconds": self._faults.latency_seconds,
                    "daily_quota": self._faults.daily_quota,
                    "retry_delay_seconds": self._faults.retry_delay_seconds,
                },
            }

    # -- internals ---------------------------------------------------------------------------------

    def _existing_budget(self, resource_name: str) -> Budget:
        if resource_name not in self._budgets:
            raise KeyError(resource_name)
        return self._budgets[resource_name]

    def _replace_budget(self, budget: Budget, **changes: Any) -> None:
        self._budgets[budget.resource_name] = dataclasses.replace(budget, **changes)

    def _roll_fault(self) -> str | None:
        draw = self._rng.random()
        for code, rate in self._faults.rates.items():
            if draw < rate:
                return code
            draw -= rate
        return None

    def _validate_update(self, customer_id: str, index: int, op: BudgetOperation) -> list[ErrorDetail]:
        error = _operation_error(index)
        problem = self._check_update(
            customer_id, op, error, "budget updates", _BUDGET_RN, self._budgets, MUTABLE_BUDGET_FIELDS
        )
        if problem:
            return problem
        if "amount_micros" in op.update_mask:
            return self._validate_amount(op.amount_micros or 0, error)
        return []

    def _validate_campaign_update(
        self, customer_id: str, index: int, op: CampaignOperation
    ) -> list[ErrorDetail]:
        error = _operation_error(index)
        problem = self._check_update(
            customer_id,
            op,
            error,
            "campaign status updates",
            _CAMPAIGN_RN,
            self._campaigns,
            MUTABLE_CAMPAIGN_FIELDS,
        )
        if problem:
            return problem
        if self._campaigns[op.resource_name].status == "REMOVED":
            return error(
                "operation_access_denied_error",
                "OPERATION_NOT_PERMITTED_FOR_REMOVED_RESOURCE",
                "Operation is not permitted on a removed resource.",
                "update",
                "status",
            )
        if op.status not in SETTABLE_CAMPAIGN_STATUSES:
            return error(
                "campaign_error",
                "INVALID_STATUS_CHANGE",
                "The status change is not allowed.",
                "update",
                "status",
                trigger=str(op.status),
            )
        return []

    @staticmethod
    def _check_update(
        customer_id: str,
        op: UpdateOperation,
        error: Callable[..., list[ErrorDetail]],
        supported: str,
        resource_name: re.Pattern[str],
        existing: Mapping[str, Any],
        mutable: tuple[str, ...],
    ) -> list[ErrorDetail]:
        """What every update operation of the fake must be, whatever it updates: an update (the fake
        supports `supported` only), naming a well-formed (`resource_name`), existing resource of the
        customer, with a field mask of fields the fake can update (`mutable`). The first error, or []."""
        if op.kind != "update":
            if not op.kind:
                return error(
                    "request_error", "OPERATION_REQUIRED", "Mutate operations must have an operation."
                )
            code = f"{op.kind.upper()}_OPERATION_NOT_PERMITTED"
            return error(
                "operation_access_denied_error", code, f"The fake supports {supported} only.", op.kind
            )
        if not op.resource_name:
            return error(
                "request_error",
                "RESOURCE_NAME_MISSING",
                "Resource name is missing.",
                "update",
                "resource_name",
            )
        match = resource_name.match(op.resource_name)
        if not match:
            return error(
                "request_error",
                "RESOURCE_NAME_MALFORMED",
                "Resource name is malformed.",
                "update",
                "resource_name",
                trigger=op.resource_name,
            )
        if match.group(1) != customer_id or op.resource_name not in existing:
            return error(
                "mutate_error",
                "RESOURCE_NOT_FOUND",
                "Resource was not found.",
                "update",
                "resource_name",
                trigger=op.resource_name,
            )
        if not op.update_mask:
            return error(
                "field_mask_error", "FIELD_MASK_MISSING", "The field mask must be set.", "update_mask"
            )
        unknown = [p for p in op.update_mask if p not in mutable]
        if unknown:
            return error(
                "field_mask_error",
                "FIELD_NOT_FOUND",
                f"The field mask names a field the fake cannot update: {unknown[0]}.",
                "update_mask",
            )
        return []

    def _validate_amount(self, amount: int, error: Callable[..., list[ErrorDetail]]) -> list[ErrorDetail]:
        path = ("update", "amount_micros")
        if amount < 0:
            return error(
                "campaign_budget_error",
                "NEGATIVE_MONEY_AMOUNT",
                "A money amount was negative.",
                *path,
                trigger=amount,
            )
        if amount % CURRENCY_UNIT_MICROS:
            return error(
                "campaign_budget_error",
                "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT",
                "A money amount was not a multiple of a minimum unit.",
                *path,
                trigger=amount,
            )
        if amount < self.min_budget_micros:
            return error(
                "campaign_budget_error",
                "BUDGET_BELOW_PER_DAY_MINIMUM",
                "The budget amount is below the minimum per-day budget.",
                *path,
                trigger=amount,
                minimum_budget_micros=self.min_budget_micros,
            )
        return []

    def _apply_update(self, op: BudgetOperation, request_id: str) -> None:
        budget = self._budgets[op.resource_name]
        changes: dict[str, Any] = {}
        if "name" in op.update_mask:
            changes["name"] = op.name or ""
        if "amount_micros" in op.update_mask:
            changes["amount_micros"] = op.amount_micros or 0
            now = datetime.datetime.now(datetime.UTC)
            self._mutations.append(
                BudgetMutation(op.resource_name, changes["amount_micros"], request_id, now)
            )
        self._replace_budget(budget, **changes)

    def _apply_campaign_update(self, op: CampaignOperation, request_id: str, now: datetime.datetime) -> None:
        campaign = self._campaigns[op.resource_name]
        status = op.status or campaign.status
        self._campaigns[op.resource_name] = dataclasses.replace(campaign, status=status)
        self._campaign_mutations.append(CampaignMutation(op.resource_name, status, request_id, now))


def normalize_customer_id(customer_id: str | int) -> str:
    cid = str(customer_id).replace("-", "")
    if not re.fullmatch(r"\d{10}", cid):
        raise ValueError(f"customer id must have 10 digits: {customer_id!r}")
    return cid


def _check_amount(amount_micros: int, minimum: int) -> None:
    if amount_micros < minimum or amount_micros % CURRENCY_UNIT_MICROS:
        raise ValueError(f"budget must be >= {minimum} and a multiple of {CURRENCY_UNIT_MICROS} micros")


def _check_fault_code(code: str) -> None:
    if code not in FAULT_CODES:
        raise ValueError(f"unknown fault code {code!r}; known: {', '.join(FAULT_CODES)}")


def _check_operation_count(count: int) -> None:
    if count == 0:
        message = "At least one operation is required."
        raise AdsApiError(
            "INVALID_ARGUMENT", message, [ErrorDetail("request_error", "OPERATION_REQUIRED", message)]
        )
    if count > MAX_MUTATE_OPERATIONS:
        message = f"Too many mutate operations: {count} (at most {MAX_MUTATE_OPERATIONS})."
        raise AdsApiError(
            "INVALID_ARGUMENT", message, [ErrorDetail("request_error", "TOO_MANY_MUTATE_OPERATIONS", message)]
        )


def _summary_message(errors: list[ErrorDetail]) -> str:
    if len(errors) == 1:
        return errors[0].message
    return f"Multiple errors in 'details'. First error: {errors[0].message}"


def fault_error(code: str, short_term_retry_delay: float = 30.0) -> AdsApiError:
    """The error Google sends for a fault code (daily quota errors ask to retry after a day)."""
    if code == "UNAVAILABLE":
        return AdsApiError("UNAVAILABLE", "The service is currently unavailable (injected).")
    if code == "DEADLINE_EXCEEDED":
        return AdsApiError("DEADLINE_EXCEEDED", "Deadline exceeded (injected).")
    if code == "INTERNAL":
        message = "Internal error encountered (injected)."
        return AdsApiError("INTERNAL", message, [ErrorDetail("internal_error", "INTERNAL_ERROR", message)])
    if code == "RESOURCE_TEMPORARILY_EXHAUSTED":
        message = f"Too many requests. Retry in {short_term_retry_delay:g} seconds."
        quota = QuotaDetail("ACCOUNT", "Requests per account per minute", short_term_retry_delay)
    else:
        message = "Number of operations for basic access exceeded for today."
        quota = QuotaDetail(
            "DEVELOPER", "Number of operations for basic access", DAILY_QUOTA_RETRY_DELAY_SECONDS
        )
    return AdsApiError(
        "RESOURCE_EXHAUSTED", message, [ErrorDetail("quota_error", code, message, quota=quota)]
    )
