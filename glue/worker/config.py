"""The worker's settings: where the database is, how to reach Google Ads, and how patient to be.

Google Ads settings come the way google-ads users expect (glue.worker.ads_client.load_ads_config): a
google-ads.yaml named by GOOGLE_ADS_CONFIGURATION_FILE_PATH, else the GOOGLE_ADS_* variables.
GOOGLE_ADS_ENDPOINT, when set, overrides the endpoint of either (e.g. the local fake); use_proto_plus
is always False for the worker (raw protobuf messages). The worker's
own knobs are LEADFLOW_WORKER_* variables; none of them is a secret, and secrets are never logged
(AdsConfig's repr masks them, and the database URL is shown without its password). What is missing
or invalid raises ConfigError, whose message names the variables or google-ads.yaml keys.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlsplit, urlunsplit

from glue.errors import LeadflowError
from glue.worker.ads_client import CONFIG_PATH_ENV, AdsConfig, load_ads_config

ENDPOINT_ENV = "GOOGLE_ADS_ENDPOINT"
ROLE_ENV = "LEADFLOW_WORKER_ROLE"
MAX_OPERATIONS_PER_REQUEST = 10_000  # Google's limit for one mutate request


class ConfigError(LeadflowError, ValueError):
    """The worker's configuration is missing or invalid; the message names the variables or keys."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter for transient Google Ads errors.

    Attempt n (0-based) waits a random time in [d/2, d] with d = min(max_delay, base_delay * 2**n),
    or at least the retry_delay Google asked for. A requested delay longer than max_retry_delay is
    not waited for inside a run: the change goes back to the queue instead.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_delay: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_delay) < 0:
            raise ValueError("retry delays must not be negative")


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str
    ads: AdsConfig
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    claim_size: int = MAX_OPERATIONS_PER_REQUEST  # changes claimed at once (one request per customer)
    batch_size: int = MAX_OPERATIONS_PER_REQUEST  # operations per mutate request
    request_timeout: float = 60.0  # seconds per gRPC call (the library sets none)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll_seconds: float = 300.0  # `worker run`: push at least this often without a notification
    metrics_days: int = 3  # pull-metrics re-pulls this many days (conversions arrive late)
    metrics_at: time = time(0, 30)  # `worker run`: daily metrics pull after this Amsterdam time
    api_version: str | None = None  # None: the library's default (v26 in google-ads 34)
    database_role: str | None = None  # `set role` on every connection (LEADFLOW_WORKER_ROLE)

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_OPERATIONS_PER_REQUEST:
            raise ValueError(f"batch_size must be within 1..{MAX_OPERATIONS_PER_REQUEST}")
        if self.claim_size < 1 or self.metrics_days < 1:
            raise ValueError("claim_size and metrics_days must be at least 1")
        if self.request_timeout <= 0 or self.poll_seconds <= 0:
            raise ValueError("request_timeout and poll_seconds must be positive")

    def describe(self) -> str:
        """A loggable summary: no secrets (AdsConfig masks its own; the URL loses its password)."""
        role = f" role={self.database_role}" if self.database_role else ""
        return (
            f"worker={self.name} database={redact_url(self.database_url)}{role} ads={self.ads!r} "
            f"claim_size={self.claim_size} batch_size={self.batch_size} timeout={self.request_timeout}s "
            f"retry={self.retry} poll={self.poll_seconds}s metrics_days={self.metrics_days} "
            f"metrics_at={self.metrics_at.isoformat('minutes')}"
        )


def load_settings(environ: Mapping[str, str] | None = None, name: str | None = None) -> WorkerSettings:
    """Settings from the environment (DATABASE_URL, GOOGLE_ADS_*, LEADFLOW_WORKER_*).

    Raises ConfigError naming the variables (or google-ads.yaml keys) that are missing or invalid.
    """
    env = os.environ if environ is None else environ
    database_url = env.get("DATABASE_URL")
    if not database_url:
        raise ConfigError("DATABASE_URL is not set (the database whose budget queue the worker works)")
    ads = load_google_ads_config(env)
    try:
        base = RetryPolicy()
        retry = RetryPolicy(
            max_attempts=_int(env, "LEADFLOW_WORKER_MAX_ATTEMPTS", base.max_attempts),
            base_delay=_float(env, "LEADFLOW_WORKER_BACKOFF_BASE_SECONDS", base.base_delay),
            max_delay=_float(env, "LEADFLOW_WORKER_BACKOFF_MAX_SECONDS", base.max_delay),
            max_retry_delay=_float(env, "LEADFLOW_WORKER_MAX_RETRY_DELAY_SECONDS", base.max_retry_delay),
        )
        defaults = WorkerSettings(database_url=database_url, ads=ads)
        return WorkerSettings(
            database_url=database_url,
            ads=ads,
            name=name or env.get("LEADFLOW_WORKER_NAME") or defaults.name,
            claim_size=_int(env, "LEADFLOW_WORKER_CLAIM_SIZE", defaults.claim_size),
            batch_size=_int(env, "LEADFLOW_WORKER_BATCH_SIZE", defaults.batch_size),
            request_timeout=_float(env, "LEADFLOW_WORKER_TIMEOUT_SECONDS", defaults.request_timeout),
            retry=retry,
            poll_seconds=_float(env, "LEADFLOW_WORKER_POLL_SECONDS", defaults.poll_seconds),
            metrics_days=_int(env, "LEADFLOW_WORKER_METRICS_DAYS", defaults.metrics_days),
            metrics_at=_time(env, "LEADFLOW_WORKER_METRICS_AT", defaults.metrics_at),
            api_version=env.get("LEADFLOW_WORKER_API_VERSION") or None,
            database_role=env.get(ROLE_ENV) or None,
        )
    except ConfigError:
        raise
    except ValueError as exc:  # a value out of range, from the dataclasses' own checks
        raise ConfigError(f"LEADFLOW_WORKER_* settings: {exc}") from None


def load_google_ads_config(env: Mapping[str, str]) -> AdsConfig:
    """The Google Ads client settings (file or GOOGLE_ADS_* variables) the worker uses, or ConfigError."""
    path = env.get(CONFIG_PATH_ENV)
    if not path and not any(key.startswith("GOOGLE_ADS_") for key in env):
        raise ConfigError(
            f"Google Ads is not configured: set {CONFIG_PATH_ENV} to a google-ads.yaml, or "
            "GOOGLE_ADS_DEVELOPER_TOKEN, GOOGLE_ADS_CLIENT_ID, GOOGLE_ADS_CLIENT_SECRET and "
            "GOOGLE_ADS_REFRESH_TOKEN (docs/worker.md)")
    try:
        ads = load_ads_config(environ=env)
    except OSError as exc:
        raise ConfigError(f"{CONFIG_PATH_ENV}={path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, TypeError) as exc:  # includes the library's YAML errors (ValueError)
        source = f"{CONFIG_PATH_ENV}={path}" if path else "GOOGLE_ADS_* variables"
        raise ConfigError(f"Google Ads configuration ({source}): {_one_line(str(exc))}") from None
    if env.get(ENDPOINT_ENV):
        ads = dataclasses.replace(ads, endpoint=env[ENDPOINT_ENV])
    # Raw protobuf messages whatever the file says: cheaper for 10,000-operation requests.
    return dataclasses.replace(ads, use_proto_plus=False)


def redact_url(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db (key=value strings: dropped)."""
    parts = urlsplit(url)
    if not parts.scheme:
        return "<connection string>"
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    try:
        return int(env[key]) if env.get(key) else default
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {env[key]!r}") from None


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    try:
        return float(env[key]) if env.get(key) else default
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {env[key]!r}") from None


def _time(env: Mapping[str, str], key: str, default: time) -> time:
    try:
        return time.fromisoformat(env[key]) if env.get(key) else default
    except ValueError:
        raise ConfigError(f"{key} must be a time of day (HH:MM), got {env[key]!r}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())
