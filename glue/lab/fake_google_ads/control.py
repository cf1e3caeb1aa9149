"""HTTP JSON control endpoint, so other processes can seed and steer a fake running on its own.

Routes (all bodies and answers are JSON):
  GET  /state                 summary of accounts, budgets, campaigns, faults and quota use
  GET  /mutations             budget updates applied through the API
  POST /customers             {"customer_id"?, "descriptive_name"?} -> {"customer_id"}
  POST /campaigns             {"customer_id", "name", "budget_micros" | "budget_resource_name",
                               "shared"?, "status"?} -> {"campaign", "budget"}
  POST /budgets/manual-edit   {"resource_name", "amount_micros"}  (an edit made in the Google Ads UI)
  POST /metrics               {"customer_id", "campaign_id", "date", "cost_micros", "clicks",
                               "impressions", "conversions"}
  POST /advance-day           {"date"} -> metrics per campaign (default market model)
  POST /faults                any of {"rates": {CODE: p}, "fail_next": {"code", "count"},
                               "mutates": {"count"?, "apply"?, "answer"? ("LATE" or a code),
                                           "hand_edits"?: {budget: micros, campaign: status}},
                               "latency_seconds", "daily_quota" (null: unlimited), "retry_delay_seconds",
                               "clear": true, "reset_quota": true}
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from glue.lab.fake_google_ads.state import LATE_ANSWER, FakeGoogleAds

Route = Callable[[FakeGoogleAds, dict[str, Any]], Any]


def _add_customer(state: FakeGoogleAds, body: dict[str, Any]) -> Any:
    return {"customer_id": state.add_customer(body.get("customer_id"), body.get("descriptive_name", ""))}


def _add_campaign(state: FakeGoogleAds, body: dict[str, Any]) -> Any:
    campaign, budget = state.add_campaign(
        body["customer_id"],
        body["name"],
        body.get("budget_micros"),
        bool(body.get("shared", False)),
        budget_resource_name=body.get("budget_resource_name"),
        status=body.get("status", "ENABLED"),
    )
    return {"campaign": campaign, "budget": budget}


def _manual_edit(state: FakeGoogleAds, body: dict[str, Any]) -> Any:
    state.set_budget_amount(body["resource_name"], int(body["amount_micros"]))
    budget = state.budget(body["resource_name"])
    return {**dataclasses.asdict(budget), "resource_name": budget.resource_name}


def _set_metrics(state: FakeGoogleAds, body: dict[str, Any]) -> Any:
    state.set_daily_metrics(
        body["customer_id"],
        int(body["campaign_id"]),
        datetime.date.fromisoformat(body["date"]),
        int(body["cost_micros"]),
        int(body["clicks"]),
        int(body["impressions"]),
        float(body["conversions"]),
    )
    return {"ok": True}


def _advance_day(state: FakeGoogleAds, body: dict[str, Any]) -> Any:
    produced = state.advance_day(datetime.date.fromisoformat(body["date"]))
    return {name: dataclasses.asdict(metrics) for name, metrics in produced.items()}


def _faults(state: FakeGoogleAds, body: dict[str, Any]) -> Any:
    if body.get("clear"):
        state.clear_faults()
    if "rates" in body:
        state.set_fault_rates({code: float(rate) for code, rate in body["rates"].items()})
    if "fail_next" in body:
        state.fail_next(int(body["fail_next"].get("count", 1)), body["fail_next"]["code"])
    if "mutates" in body:
        script = body["mutates"]
        state.fault_next_mutates(
            int(script.get("count", 1)),
            apply=bool(script.get("apply", True)),
            answer=script.get("answer", LATE_ANSWER),
            hand_edits={name: value if isinstance(value, str) else int(value)
                        for name, value in script.get("hand_edits", {}).items()},
        )
    if "latency_seconds" in body:
        state.set_latency(float(body["latency_seconds"]))
    if "daily_quota" in body:
        quota = body["daily_quota"]
        state.set_daily_quota(None if quota is None else int(quota))
    if "retry_delay_seconds" in body:
        state.set_retry_delay(float(body["retry_delay_seconds"]))
    if body.get("reset_quota"):
        state.reset_quota()
    return state.summary()["faults"]


def _mutations(state: FakeGoogleAds, body: dict[str, Any]) -> Any:
    return [{**dataclasses.asdict(m), "time": m.time.isoformat()} for m in state.mutations]


_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/state"): lambda state, body: state.summary(),
    ("GET", "/mutations"): _mutations,
    ("POST", "/customers"): _add_customer,
    ("POST", "/campaigns"): _add_campaign,
    ("POST", "/budgets/manual-edit"): _manual_edit,
    ("POST", "/metrics"): _set_metrics,
    ("POST", "/advance-day"): _advance_day,
    ("POST", "/faults"): _faults,
}


class _Handler(BaseHTTPRequestHandler):
    server: _ControlHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the fake's stdout carries its endpoint lines."""

    def _dispatch(self, method: str) -> None:
        route = _ROUTES.get((method, self.path.split("?")[0]))
        if route is None:
            self._reply(HTTPStatus.NOT_FOUND, {"error": f"no route {method} {self.path}"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            self._reply(HTTPStatus.OK, route(self.server.state, body))
        except (KeyError, ValueError, TypeError) as error:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": f"{type(error).__name__}: {error}"})

    def _reply(self, status: HTTPStatus, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _ControlHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state: FakeGoogleAds) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = state


@dataclass
class ControlServer:
    port: int
    _httpd: _ControlHTTPServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


def start_control_server(state: FakeGoogleAds, port: int = 0) -> ControlServer:
    """Serve the control routes on 127.0.0.1 from a background thread (port 0: pick a free one)."""
    httpd = _ControlHTTPServer(port, state)
    thread = threading.Thread(
        target=httpd.serve_forever, args=(0.1,), name="fake-google-ads-control", daemon=True
    )
    thread.start()
    return ControlServer(httpd.server_address[1], httpd, thread)
