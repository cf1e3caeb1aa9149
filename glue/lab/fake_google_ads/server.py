"""gRPC+TLS server speaking the Google Ads API subset the project uses, backed by FakeGoogleAds.

Serves CampaignBudgetService.MutateCampaignBudgets, CampaignService.MutateCampaigns (status updates),
GoogleAdsService.Search and SearchStream for every
API version the installed google-ads library ships (the version is part of the method path; the
message classes of a version are imported on its first call, as that takes about a second).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf.message import Message

from glue.lab.fake_google_ads import gaql
from glue.lab.fake_google_ads.control import start_control_server
from glue.lab.fake_google_ads.state import (
    LATE_ANSWER,
    AdsApiError,
    BudgetOperation,
    CampaignOperation,
    ErrorDetail,
    FakeGoogleAds,
    MutateOutcome,
    UpdateOperation,
    fault_error,
)
from glue.lab.fake_google_ads.tls import ensure_certificate

REQUEST_ID_KEY = "request-id"
LATE_ANSWER_MAX_SECONDS = 30.0  # a late answer to a client that set no deadline
ROWS_PER_PAGE = 10_000  # Search pages and SearchStream batches both hold 10,000 rows on Google
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_METHOD_PATH = re.compile(r"^/google\.ads\.googleads\.(v\d+)\.services\.(\w+)/(\w+)$")


class _Protos:
    """The raw protobuf classes (Type.pb()) of one API version."""

    def __init__(self, version: str) -> None:
        base = f"google.ads.googleads.{version}"
        budget_service = import_module(f"{base}.services.types.campaign_budget_service")
        campaign_service = import_module(f"{base}.services.types.campaign_service")
        ads_service = import_module(f"{base}.services.types.google_ads_service")
        errors = import_module(f"{base}.errors.types.errors")
        self.failure_key = f"{base}.errors.googleadsfailure-bin"
        self.mutate_request = budget_service.MutateCampaignBudgetsRequest.pb()
        self.mutate_response = budget_service.MutateCampaignBudgetsResponse.pb()
        self.campaigns_request = campaign_service.MutateCampaignsRequest.pb()
        self.campaigns_response = campaign_service.MutateCampaignsResponse.pb()
        self.search_request = ads_service.SearchGoogleAdsRequest.pb()
        self.search_response = ads_service.SearchGoogleAdsResponse.pb()
        self.stream_request = ads_service.SearchGoogleAdsStreamRequest.pb()
        self.stream_response = ads_service.SearchGoogleAdsStreamResponse.pb()
        self.row = ads_service.GoogleAdsRow.pb()
        self.failure = errors.GoogleAdsFailure.pb()


class _AdsServicer(grpc.GenericRpcHandler):
    def __init__(self, state: FakeGoogleAds) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._handlers: dict[str, dict[tuple[str, str], grpc.RpcMethodHandler]] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        match = _METHOD_PATH.match(handler_call_details.method)
        if not match:
            return None
        version, service, method = match.groups()
        return self._version_handlers(version).get((service, method))

    def _version_handlers(self, version: str) -> dict[tuple[str, str], grpc.RpcMethodHandler]:
        with self._lock:
            if version not in self._handlers:
                try:
                    protos = _Protos(version)
                except ImportError:
                    self._handlers[version] = {}  # a version the library does not ship: UNIMPLEMENTED
                else:
                    self._handlers[version] = self._build_handlers(protos)
            return self._handlers[version]

    def _build_handlers(self, p: _Protos) -> dict[tuple[str, str], grpc.RpcMethodHandler]:
        return {
            ("CampaignBudgetService", "MutateCampaignBudgets"): grpc.unary_unary_rpc_method_handler(
                lambda request, context: self._mutate_call(
                    p, request, context, "MutateCampaignBudgets", lambda rid: self._mutate(p, request, rid),
                    p.mutate_response),
                request_deserializer=p.mutate_request.FromString,
                response_serializer=p.mutate_response.SerializeToString,
            ),
            ("CampaignService", "MutateCampaigns"): grpc.unary_unary_rpc_method_handler(
                lambda request, context: self._mutate_call(
                    p, request, context, "MutateCampaigns",
                    lambda rid: self._mutate(p, request, rid, campaigns=True), p.campaigns_response),
                request_deserializer=p.campaigns_request.FromString,
                response_serializer=p.campaigns_response.SerializeToString,
            ),
            ("GoogleAdsService", "Search"): grpc.unary_unary_rpc_method_handler(
                lambda request, context: self._unary(
                    p, context, "Search", lambda rid: self._search(p, request)),
                request_deserializer=p.search_request.FromString,
                response_serializer=p.search_response.SerializeToString,
            ),
            ("GoogleAdsService", "SearchStream"): grpc.unary_stream_rpc_method_handler(
                lambda request, context: self._search_stream(p, request, context),
                request_deserializer=p.stream_request.FromString,
                response_serializer=p.stream_response.SerializeToString,
            ),
        }

    # -- call plumbing -----------------------------------------------------------------------------

    def _begin(self, context: grpc.ServicerContext, method: str) -> str:
        """Count the call, and give it a request id in both metadata sets, as Google does.

        GoogleAdsException.request_id comes from the trailing metadata; the client's success-path
        wrappers answer trailing_metadata() with the initial metadata, so both are needed.
        """
        self._state.count_call(method)
        request_id = self._state.new_request_id()
        context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
        context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
        return request_id

    def _unary(
        self, p: _Protos, context: grpc.ServicerContext, method: str, run: Callable[[str], Message]
    ) -> Message:
        request_id = self._begin(context, method)
        try:
            self._state.inject_faults()
            return run(request_id)
        except AdsApiError as error:
            _abort(p, context, error, request_id)

    def _mutate_call(
        self,
        p: _Protos,
        request: Any,
        context: grpc.ServicerContext,
        method: str,
        mutate: Callable[[str], Message],
        empty: Any,
    ) -> Message:
        """A mutate, unless one is scripted to go wrong (state.fault_next_mutates): then the operations
        are applied or not, the hand edits land, and the call fails or is answered too late."""
        request_id = self._begin(context, method)
        try:
            self._state.inject_faults()
            fault = self._state.take_mutate_fault()
            if fault is None:
                return mutate(request_id)
            response = mutate(request_id) if fault.apply else empty()
            for resource_name, value in fault.hand_edits:
                if isinstance(value, str):
                    self._state.set_campaign_status(resource_name, value)
                else:
                    self._state.set_budget_amount(resource_name, value)
            if fault.answer != LATE_ANSWER:
                raise fault_error(fault.answer)
        except AdsApiError as error:
            _abort(p, context, error, request_id)
        _wait_for_the_client_to_give_up(context)
        return response

    def _search_stream(self, p: _Protos, request: Any, context: grpc.ServicerContext) -> Iterator[Message]:
        request_id = self._begin(context, "SearchStream")
        try:
            self._state.inject_faults()
            fields, rows = self._run_query(request.customer_id, request.query)
        except AdsApiError as error:
            _abort(p, context, error, request_id)
        for start in range(0, max(len(rows), 1), ROWS_PER_PAGE):
            response = p.stream_response(request_id=request_id)
            response.field_mask.paths.extend(fields)
            response.results.extend(_row(p, values) for values in rows[start : start + ROWS_PER_PAGE])
            yield response

    # -- services ----------------------------------------------------------------------------------

    def _mutate(self, p: _Protos, request: Any, request_id: str, *, campaigns: bool = False) -> Message:
        """A MutateCampaigns (campaigns) or MutateCampaignBudgets request applied to the state."""
        mutate = self._state.mutate_campaigns if campaigns else self._state.mutate_budgets
        operation = _campaign_operation if campaigns else _budget_operation
        outcome = mutate(
            request.customer_id,
            [operation(op) for op in request.operations],
            partial_failure=request.partial_failure,
            validate_only=request.validate_only,
            request_id=request_id,
        )
        return self._mutate_response(p, request, outcome, request_id, campaigns=campaigns)

    def _mutate_response(
        self, p: _Protos, request: Any, outcome: MutateOutcome, request_id: str, *, campaigns: bool = False
    ) -> Message:
        response = p.campaigns_response() if campaigns else p.mutate_response()
        content_type = request.DESCRIPTOR.fields_by_name["response_content_type"].enum_type
        wants_resource = (
            content_type.values_by_number[request.response_content_type].name == "MUTABLE_RESOURCE"
        )
        for resource_name in outcome.results:
            result = response.results.add()
            if resource_name is not None:
                result.resource_name = resource_name
            if resource_name is not None and wants_resource and campaigns:
                _set_fields(result.campaign, _campaign_fields(self._state, resource_name))
            elif resource_name is not None and wants_resource:
                _set_fields(result.campaign_budget, _budget_fields(self._state, resource_name))
        if outcome.errors:
            status = response.partial_failure_error
            status.code = grpc.StatusCode.INVALID_ARGUMENT.value[0]
            status.message = _partial_failure_message(outcome.errors)
            status.details.add().Pack(_failure(p, outcome.errors, request_id))
        return response

    def _search(self, p: _Protos, request: Any) -> Message:
        if request.page_size:
            message = "Setting the page size is not supported."
            raise AdsApiError(
                "INVALID_ARGUMENT",
                message,
                [ErrorDetail("request_error", "PAGE_SIZE_NOT_SUPPORTED", message)],
            )
        fields, rows = self._run_query(request.customer_id, request.query)
        start = _page_start(request.page_token, len(rows))
        response = p.search_response()
        response.field_mask.paths.extend(fields)
        response.results.extend(_row(p, values) for values in rows[start : start + ROWS_PER_PAGE])
        if start + ROWS_PER_PAGE < len(rows):
            response.next_page_token = str(start + ROWS_PER_PAGE)
        return response

    def _run_query(self, customer_id: str, text: str) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        """(selected fields, rows); one report query counts one operation against the quota."""
        self._state.check_customer(customer_id)
        query = gaql.parse(text)
        self._state.charge_quota(1)
        return query.fields, gaql.execute(query, self._state.snapshot(customer_id))


# -- protobuf translation --------------------------------------------------------------------------


_Op = TypeVar("_Op", bound=UpdateOperation)


def _update_operation(op: Any, operation: type[_Op], fields: Callable[[Any], dict[str, Any]]) -> _Op:
    """The protobuf operation `op` as `operation`: its kind and, for an update, the resource name, the
    field mask and fields(op.update)."""
    kind = op.WhichOneof("operation") or ""
    if kind != "update":
        return operation(kind)
    return operation(
        kind,
        resource_name=op.update.resource_name,
        update_mask=tuple(op.update_mask.paths),
        **fields(op.update),
    )


def _budget_operation(op: Any) -> BudgetOperation:
    def fields(update: Any) -> dict[str, Any]:
        return {
            "amount_micros": update.amount_micros if update.HasField("amount_micros") else None,
            "name": update.name if update.HasField("name") else None,
        }

    return _update_operation(op, BudgetOperation, fields)


def _campaign_operation(op: Any) -> CampaignOperation:
    def fields(update: Any) -> dict[str, Any]:
        status_enum = update.DESCRIPTOR.fields_by_name["status"].enum_type
        return {"status": status_enum.values_by_number[update.status].name}

    return _update_operation(op, CampaignOperation, fields)


def _campaign_fields(state: FakeGoogleAds, resource_name: str) -> dict[str, Any]:
    campaign = state.campaign(resource_name)
    return {"resource_name": campaign.resource_name, "id": campaign.campaign_id, "name": campaign.name,
            "status": campaign.status}


def _budget_fields(state: FakeGoogleAds, resource_name: str) -> dict[str, Any]:
    budget = state.budget(resource_name)
    return {
        "resource_name": budget.resource_name,
        "id": budget.budget_id,
        "name": budget.name,
        "amount_micros": budget.amount_micros,
        "explicitly_shared": budget.explicitly_shared,
        "reference_count": budget.reference_count,
    }


def _row(p: _Protos, values: dict[str, Any]) -> Message:
    row = p.row()
    for path, value in values.items():
        resource, name = path.split(".")
        if value is not None:
            _set_fields(getattr(row, resource), {name: value})
    return row


def _set_fields(message: Any, values: dict[str, Any]) -> None:
    """Set scalar fields, translating enum value names to numbers."""
    for name, value in values.items():
        enum_type = message.DESCRIPTOR.fields_by_name[name].enum_type
        setattr(message, name, enum_type.values_by_name[value].number if enum_type else value)


def _failure(p: _Protos, errors: tuple[ErrorDetail, ...] | list[ErrorDetail], request_id: str) -> Message:
    failure = p.failure(request_id=request_id)
    for detail in errors:
        error = failure.errors.add(message=detail.message)
        _set_fields(error.error_code, {detail.category: detail.code})
        if detail.operation_index is not None:
            error.location.field_path_elements.add(field_name="operations", index=detail.operation_index)
            for name in detail.field_path:
                error.location.field_path_elements.add(field_name=name)
        if isinstance(detail.trigger, int):
            error.trigger.int64_value = detail.trigger
        elif isinstance(detail.trigger, str):
            error.trigger.string_value = detail.trigger
        if detail.quota is not None:
            quota = error.details.quota_error_details
            _set_fields(quota, {"rate_scope": detail.quota.rate_scope, "rate_name": detail.quota.rate_name})
            seconds = detail.quota.retry_delay_seconds
            quota.retry_delay.seconds = int(seconds)
            quota.retry_delay.nanos = round((seconds - int(seconds)) * 1e9)
        if detail.minimum_budget_micros is not None:
            minimum = error.details.budget_per_day_minimum_error_details
            minimum.currency_code = "EUR"
            minimum.minimum_budget_amount_micros = detail.minimum_budget_micros
            minimum.failed_budget_amount_micros = int(detail.trigger or 0)
    return failure


def _abort(p: _Protos, context: grpc.ServicerContext, error: AdsApiError, request_id: str) -> NoReturn:
    metadata: list[tuple[str, str | bytes]] = [(REQUEST_ID_KEY, request_id)]
    if error.errors:
        metadata.append((p.failure_key, _failure(p, error.errors, request_id).SerializeToString()))
    context.set_trailing_metadata(tuple(metadata))
    context.abort(grpc.StatusCode[error.status], error.message)
    raise AssertionError("context.abort returned")  # abort always raises


def _wait_for_the_client_to_give_up(context: grpc.ServicerContext) -> None:
    """Hold the answer until the call is over for the client (its deadline passed, or it cancelled).

    gRPC sends the client's deadline with the request, so the server ends the call when it passes;
    a client without a deadline gets the answer after LATE_ANSWER_MAX_SECONDS.
    """
    over = threading.Event()
    if context.add_callback(over.set):
        over.wait(LATE_ANSWER_MAX_SECONDS)


def _partial_failure_message(errors: list[ErrorDetail]) -> str:
    first = errors[0]
    prefix = f"{first.message}, at operations[{first.operation_index}]"
    return prefix if len(errors) == 1 else f"Multiple errors in 'details'. First error: {prefix}"


def _page_start(page_token: str, total: int) -> int:
    if not page_token:
        return 0
    if not page_token.isdigit() or int(page_token) >= total:
        message = "Page token is invalid."
        raise AdsApiError(
            "INVALID_ARGUMENT", message, [ErrorDetail("request_error", "INVALID_PAGE_TOKEN", message)]
        )
    return int(page_token)


# -- lifecycle -------------------------------------------------------------------------------------


@dataclass
class FakeGoogleAdsServer:
    """A running fake; `endpoint` goes into the client's endpoint setting."""

    state: FakeGoogleAds
    port: int
    cert_path: Path
    _server: grpc.Server

    @property
    def endpoint(self) -> str:
        return f"localhost:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        self._server.stop(grace).wait()

    def __enter__(self) -> FakeGoogleAdsServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_fake_google_ads(
    port: int = 0,
    cert_dir: str | os.PathLike[str] | None = None,
    state: FakeGoogleAds | None = None,
    seed: int = 0,
) -> FakeGoogleAdsServer:
    """Start the TLS gRPC server on 127.0.0.1 in background threads (port 0: pick a free one).

    The certificate comes from tls.ensure_certificate(cert_dir); clients must trust it with
    tls.trust_certificate(server.cert_path) before their first TLS channel.
    """
    paths = ensure_certificate(cert_dir)
    credentials = grpc.ssl_server_credentials([(paths.key_path.read_bytes(), paths.cert_path.read_bytes())])
    state = state if state is not None else FakeGoogleAds(seed=seed)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="fake-google-ads"),
        handlers=[_AdsServicer(state)],
        options=[
            ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
        ],
    )
    bound_port = server.add_secure_port(f"127.0.0.1:{port}", credentials)
    server.start()
    return FakeGoogleAdsServer(state, bound_port, paths.cert_path, server)


def main(argv: list[str] | None = None) -> int:
    """Run the fake and its HTTP control endpoint until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="fake-google-ads", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="gRPC port (0: pick a free one)")
    parser.add_argument("--control-port", type=int, default=0, help="HTTP control port (0: pick a free one)")
    parser.add_argument("--cert-dir", default=None, help="where the TLS cert/key live (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0, help="seed for faults and the default market model")
    args = parser.parse_args(argv)

    server = start_fake_google_ads(port=args.port, cert_dir=args.cert_dir, seed=args.seed)
    control = start_control_server(server.state, port=args.control_port)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"grpc_endpoint={server.endpoint}", flush=True)
    print(f"control_url={control.url}", flush=True)
    print(f"cert_path={server.cert_path}", flush=True)
    while not stopping.wait(timeout=1.0):  # a timed wait keeps the main thread responsive to signals
        pass
    control.stop()
    server.stop(grace=1.0)
    return 0
