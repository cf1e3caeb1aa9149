"""`leadflow dashboard`: the Leadstroom page (static files) served on loopback, with PostgREST under /rest/v1.

The page is static: HTML, CSS, ES modules and two vendored library files (supabase-js, ECharts). Its
only configuration is `config.js` (the API URL supabase-js' createClient gets, the anon key, how users
sign in), which this module writes: served live for `leadflow dashboard`, or as a file by
`leadflow dashboard --export DIR` for a static host. Everything the page shows comes from PostgREST
with the signed-in user's JWT; the server adds no data and no rights of its own.

The local stack has no Supabase gateway, so the server also forwards `/rest/v1/...` to PostgREST
(the path supabase-js and supabase-py call): `createClient(URL, KEY)` then works unchanged against it.
"""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import urllib.parse
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).resolve().parent / "static"
REST_PREFIX = "/rest/v1"
SIGN_IN_KINDS = ("fragment", "supabase")
# Request and response headers a proxy must not pass on (RFC 9110 7.6.1) or that it sets itself.
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}


@dataclass(frozen=True)
class DashboardConfig:
    """What the page needs to know: the API URL (createClient's first argument), the anon key, and
    how users sign in: `fragment` (local stack: `#access_token=<jwt>`) or `supabase` (Supabase Auth)."""

    api_url: str
    anon_key: str
    sign_in: str = "fragment"

    def __post_init__(self) -> None:
        if self.sign_in not in SIGN_IN_KINDS:
            raise ValueError(f"sign_in must be one of {', '.join(SIGN_IN_KINDS)}, got {self.sign_in!r}")

    def to_js(self) -> str:
        body = json.dumps(
            {"apiUrl": self.api_url.rstrip("/"), "anonKey": self.anon_key, "signIn": self.sign_in}, indent=2
        )
        return f"// Written by leadflow dashboard: the page's only configuration.\nexport default {body};\n"


def export(target: Path, config: DashboardConfig) -> list[Path]:
    """Copy the page into `target` with its config.js; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for source in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):
        rel = source.relative_to(STATIC_DIR)
        if rel.name == "config.js":
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        written.append(dest)
    config_file = target / "config.js"
    config_file.write_text(config.to_js(), encoding="utf-8")
    written.append(config_file)
    return written


class DashboardHandler(SimpleHTTPRequestHandler):
    """Static files from STATIC_DIR, /config.js from the config, /rest/v1/* forwarded to PostgREST."""

    server: DashboardHTTPServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(STATIC_DIR), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            super().log_message(format, *args)

    def end_headers(self) -> None:
        if not self.path.startswith(REST_PREFIX):
            # The page is small and changes with the package: always revalidate.
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def guess_type(self, path: str | Path) -> str:
        if str(path).endswith((".js", ".mjs")):
            return "text/javascript; charset=utf-8"
        return super().guess_type(path)

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if self._is_rest():
            self._proxy()
        elif path == "/favicon.ico":  # the page declares none; a browser asks anyway
            self.send_response(204)
            self.end_headers()
        elif path == "/config.js":
            body = self.server.config_for(self.server.url).to_js().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._is_rest():
            self._proxy()
        else:
            super().do_HEAD()

    def _rest_only(self) -> None:
        if self._is_rest():
            self._proxy()
        else:
            self.send_error(405, "the dashboard's files are read-only; the API is under /rest/v1")

    do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = _rest_only

    def _is_rest(self) -> bool:
        path = urllib.parse.urlsplit(self.path).path
        return path == REST_PREFIX or path.startswith(REST_PREFIX + "/")

    def _proxy(self) -> None:
        upstream = urllib.parse.urlsplit(self.server.postgrest_url)
        target = self.path[len(REST_PREFIX):] or "/"
        if not target.startswith("/"):
            target = "/" + target
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        conn = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port or 80, timeout=120)
        try:
            try:
                conn.request(self.command, target, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except OSError as exc:
                self.send_error(502, f"PostgREST at {self.server.postgrest_url} did not answer: {exc}")
                return
            finally:
                conn.close()
            self.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser left (a new page load) before the answer came: nobody to tell


class DashboardHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], postgrest_url: str, anon_key: str, verbose: bool = False):
        super().__init__(address, DashboardHandler)
        self.postgrest_url = postgrest_url
        self.anon_key = anon_key
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def config_for(self, url: str) -> DashboardConfig:
        # The page reaches PostgREST through this server (URL/rest/v1), as on Supabase.
        return DashboardConfig(api_url=url, anon_key=self.anon_key, sign_in="fragment")


@dataclass
class RunningDashboard:
    """A dashboard server running in a background thread (tests, screenshots, the benchmark)."""

    server: DashboardHTTPServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(postgrest_url: str, anon_key: str, port: int = 0, verbose: bool = False) -> RunningDashboard:
    """Serve the page on 127.0.0.1 (a free port unless one is given) in a background thread."""
    server = DashboardHTTPServer(("127.0.0.1", port), postgrest_url, anon_key, verbose)
    thread = threading.Thread(target=partial(server.serve_forever, poll_interval=0.2), daemon=True)
    thread.start()
    return RunningDashboard(server, thread)


def sign_in_url(base_url: str, token: str, view: str = "") -> str:
    """The page's URL that signs in with `token` (the fragment supabase-js reads: #access_token=...)."""
    suffix = f"&view={view}" if view else ""
    return f"{base_url}/#access_token={token}{suffix}"
