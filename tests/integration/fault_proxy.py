"""A tiny HTTP proxy on 127.0.0.1 in front of a real server, for faults a healthy server never shows.

It can answer 503 (with ``Retry-After: 1``) for the first requests, answer slowly, or refuse
requests without the expected ``Authorization`` header, and records every request it sees. The
answers it makes up itself are in the server's own error format (``Dialect``), so the collector
under test reads them as it would read the real server's: a protocol-boundary test, not a mock.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Dialect:
    """How the proxied server words a refusal and an overload, and headers it always sends."""

    unauthorized: dict
    overloaded: Callable[[str | None], dict]  # the request's Authorization -> the 503 body
    headers: dict[str, str] = field(default_factory=dict)


PROMETHEUS = Dialect(
    unauthorized={"status": "error", "error": "unauthorized"},
    # A careless server that echoes the request's credentials in its error text.
    overloaded=lambda auth: {"status": "error", "error": f"overloaded (request had {auth})"},
)
ELASTICSEARCH = Dialect(
    unauthorized={"error": {"type": "security_exception", "reason": "unauthorized"}},
    overloaded=lambda auth: {
        "error": {"type": "overloaded", "reason": f"overloaded (request had {auth})"},
        "status": 503,
    },
    # The Elasticsearch client (8+) checks for it on successful answers; the real server sends it on all.
    headers={"X-Elastic-Product": "Elasticsearch"},
)


class Seen(NamedTuple):
    at: float  # time.monotonic() on arrival
    request: str  # method and path, e.g. "GET /api/v1/query_range?..."
    auth: str | None  # the Authorization header as sent


class FaultProxy:
    """Forwards requests to ``target``; can answer 503 first, answer slowly, or demand ``auth``
    (the whole Authorization header value)."""

    def __init__(
        self,
        target: str,
        dialect: Dialect,
        *,
        fail_first: int = 0,
        delay_s: float = 0.0,
        auth: str | None = None,
    ):
        self.target, self.dialect = target, dialect
        self.fail_first, self.delay_s, self.auth = fail_first, delay_s, auth
        self.seen: list[Seen] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                auth = self.headers.get("Authorization")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen.append(Seen(time.monotonic(), f"{self.command} {self.path}", auth))
                if proxy.auth and auth != proxy.auth:
                    return self._answer(401, proxy.dialect.unauthorized)
                if len(proxy.seen) <= proxy.fail_first:
                    return self._answer(503, proxy.dialect.overloaded(auth), {"Retry-After": "1"})
                time.sleep(proxy.delay_s)
                request = urllib.request.Request(
                    proxy.target + self.path, data=body or None, method=self.command
                )
                request.add_header("Content-Type", "application/json")
                try:
                    with urllib.request.urlopen(request, timeout=30) as upstream:
                        self._answer(upstream.status, upstream.read(), dict(upstream.headers))
                except urllib.error.HTTPError as refused:
                    self._answer(refused.code, refused.read(), dict(refused.headers))

            do_GET = do_POST = do_DELETE = do_PUT = _forward

            def _answer(self, status, body, headers=None):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                always = {"Content-Type": "application/json", **proxy.dialect.headers}
                for name, value in {**always, **(headers or {})}.items():
                    # The body is re-sent whole, so upstream's framing headers no longer apply.
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # The client may have given up waiting (the timeout tests).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def fault_proxies(target: str, dialect: Dialect) -> Iterator[Callable[..., FaultProxy]]:
    """A factory of proxies in front of ``target`` (``make(fail_first=…, delay_s=…, auth=…)``),
    all closed on exit: the body of each test module's ``proxy`` fixture."""
    made: list[FaultProxy] = []

    def make(**behaviour) -> FaultProxy:
        made.append(FaultProxy(target, dialect, **behaviour))
        return made[-1]

    try:
        yield make
    finally:
        for proxy in made:
            proxy.close()
