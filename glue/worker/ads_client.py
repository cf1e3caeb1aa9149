"""Build a google-ads GoogleAdsClient offline, from google-ads.yaml or GOOGLE_ADS_* variables.

GoogleAdsClient.load_from_env/load_from_storage refresh the OAuth token over the network while
building the client; here the client is built directly and a refresh token is only used lazily, on
the first call against real Google. For the local fake, an access token placeholder
(GOOGLE_ADS_ACCESS_TOKEN / access_token) stands in for OAuth.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from importlib import import_module
from pathlib import Path
from typing import Any

import grpc
from google.ads.googleads import config as ads_config
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.errors import GoogleAdsException
from google.api_core.exceptions import GoogleAPICallError
from google.oauth2.credentials import Credentials

CONFIG_PATH_ENV = "GOOGLE_ADS_CONFIGURATION_FILE_PATH"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"
_ENV_PREFIX = "GOOGLE_ADS_"
_OAUTH_KEYS = ("client_id", "client_secret", "refresh_token")
_SECRETS = frozenset({"developer_token", "client_secret", "refresh_token", "access_token"})
_FAILURE_KEY = re.compile(r"^google\.ads\.googleads\.(v\d+)\.errors\.googleadsfailure-bin$")


@dataclass(frozen=True, repr=False)
class AdsConfig:
    """Client settings; keys match google-ads.yaml plus access_token and token_uri."""

    developer_token: str
    login_customer_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    access_token: str | None = None
    endpoint: str | None = None
    use_proto_plus: bool = False
    token_uri: str = GOOGLE_TOKEN_URI

    def __post_init__(self) -> None:
        if not self.developer_token:
            raise ValueError("a developer token is required")
        if self.login_customer_id is not None:
            customer_id = str(self.login_customer_id).replace("-", "")
            if not re.fullmatch(r"\d{10}", customer_id):
                raise ValueError("login_customer_id must be 10 digits")
            object.__setattr__(self, "login_customer_id", customer_id)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={self._shown(f.name)!r}" for f in fields(self))
        return f"AdsConfig({shown})"

    def _shown(self, name: str) -> Any:
        value = getattr(self, name)
        return "***" if name in _SECRETS and value else value

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], name: Callable[[str], str] = str) -> AdsConfig:
        """From google-ads.yaml style keys; keys this project does not use (e.g. logging) are ignored.

        A configuration the worker cannot use raises ValueError naming what is missing, each key as
        name(key) (e.g. GOOGLE_ADS_DEVELOPER_TOKEN for the variables).
        """
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known and value not in (None, "")}
        missing = missing_keys(values)
        if missing:
            names = ", ".join(name(key) for key in missing)
            hint = ""
            if any(key in _OAUTH_KEYS for key in missing):
                hint = f" (or {name('access_token')} instead of the OAuth keys, for the local fake)"
            raise ValueError(f"missing {names}{hint}")
        if "use_proto_plus" in values:
            values["use_proto_plus"] = ads_config.disambiguate_string_bool(values["use_proto_plus"])
        for key in ("developer_token", "login_customer_id", "client_id", "client_secret", "refresh_token"):
            if key in values:
                values[key] = str(values[key])
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> AdsConfig:
        # The library's YAML parser does not touch the network (unlike load_from_storage).
        data = ads_config.parse_yaml_document_to_dict(Path(path).read_bytes())
        if not isinstance(data, Mapping):
            raise ValueError(f"{path} is not a YAML mapping of google-ads.yaml keys")
        return cls.from_mapping(data)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AdsConfig:
        """GOOGLE_ADS_<KEY> variables, e.g. GOOGLE_ADS_DEVELOPER_TOKEN, GOOGLE_ADS_ENDPOINT."""
        env = os.environ if environ is None else environ
        return cls.from_mapping(
            {
                f.name: env[_ENV_PREFIX + f.name.upper()]
                for f in fields(cls)
                if _ENV_PREFIX + f.name.upper() in env
            },
            name=lambda key: _ENV_PREFIX + key.upper(),
        )


def missing_keys(values: Mapping[str, Any]) -> list[str]:
    """The keys a usable configuration lacks: developer_token, and credentials (an access_token, or
    client_id + client_secret + refresh_token for OAuth)."""
    missing = [] if values.get("developer_token") else ["developer_token"]
    if not values.get("access_token"):
        missing += [key for key in _OAUTH_KEYS if not values.get(key)]
    return missing


def load_ads_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> AdsConfig:
    """An explicit YAML path, else the file in GOOGLE_ADS_CONFIGURATION_FILE_PATH, else GOOGLE_ADS_* vars.

    As in the google-ads library, a configuration file replaces the variables; it is not merged.
    """
    env = os.environ if environ is None else environ
    config_path = path if path is not None else env.get(CONFIG_PATH_ENV)
    return AdsConfig.from_yaml(config_path) if config_path else AdsConfig.from_env(env)


def build_client(config: AdsConfig, version: str | None = None) -> GoogleAdsClient:
    """A GoogleAdsClient for config; version pins every service to one API version (default: v26)."""
    return GoogleAdsClient(
        credentials=_credentials(config),
        developer_token=config.developer_token,
        endpoint=config.endpoint,
        login_customer_id=config.login_customer_id,
        version=version,
        use_proto_plus=config.use_proto_plus,
    )


def google_ads_failure(error: BaseException) -> Any | None:
    """The GoogleAdsFailure behind a failed call, or None for transport-level errors.

    GoogleAdsException carries it as .failure. For INTERNAL and RESOURCE_EXHAUSTED the client raises
    google.api_core exceptions instead, and the failure sits in the gRPC call's trailing metadata.
    """
    if isinstance(error, GoogleAdsException):
        return error.failure
    call = error.response if isinstance(error, GoogleAPICallError) else error
    if not isinstance(call, grpc.Call):
        return None
    for key, value in call.trailing_metadata() or ():
        match = _FAILURE_KEY.match(key)
        if match:
            errors_module = import_module(f"google.ads.googleads.{match.group(1)}.errors.types.errors")
            return errors_module.GoogleAdsFailure.deserialize(value)
    return None


def _credentials(config: AdsConfig) -> Credentials:
    if config.access_token:
        # A fixed token without expiry is never refreshed: meant for the local fake.
        return Credentials(token=config.access_token)
    if config.client_id and config.client_secret and config.refresh_token:
        return Credentials(
            token=None,
            refresh_token=config.refresh_token,
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_uri=config.token_uri,
            scopes=[ADWORDS_SCOPE],
        )
    raise ValueError("credentials missing: set access_token, or client_id + client_secret + refresh_token")
