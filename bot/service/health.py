"""/healthz, /readyz and /metrics: what an orchestrator and a monitoring system ask a running bot.

- `/healthz` answers 200 "alive" whenever the process can answer HTTP at all (a liveness probe,
  the Docker HEALTHCHECK): nothing it depends on is consulted.
- `/readyz` runs every readiness check (the articles loaded, the platform connected, Redis and
  the database reachable when configured) and answers 200 "ready" with what it checked, or 503
  with the reasons, one per line ("building" while the first index is built).
- `/metrics` is the Prometheus text of `Metrics`.

`Health.wsgi_app` serves the three as a WSGI application; `Health.around(app)` serves them in
front of another one (Slack's HTTP mode puts them beside /slack/events); `start_health_server`
serves them alone on a port (Socket Mode, Discord).

Failure behaviour: a check that raises counts as "not ready" with the exception's type as the
reason (never its message: it may carry a URL with a password); a port that cannot be bound
raises OSError for the caller to report. Nothing here logs a request.
"""

from __future__ import annotations

import logging
import socketserver
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from bot.service.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

HEALTH_PATHS = ("/healthz", "/readyz", "/metrics")

Probe = Callable[[], "str | None"]
"""A readiness check: None when fine, else why not, in a few words."""

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checked: tuple[str, ...]
    """The names of the checks that passed."""
    reasons: tuple[str, ...]
    """'name: why', for each check that did not."""

    def to_text(self) -> str:
        if self.ready:
            return "ready: " + ", ".join(self.checked) + "\n"
        return "not ready\n" + "".join(f"{reason}\n" for reason in self.reasons)


@dataclass
class Health:
    """The readiness checks of one bot and its metrics."""

    metrics: Metrics
    checks: dict[str, Probe] = field(default_factory=dict)

    def add_check(self, name: str, probe: Probe) -> None:
        """Add (or replace) a readiness check, e.g. 'platform' once the adapter is built."""
        self.checks[name] = probe

    def readiness(self) -> Readiness:
        checked: list[str] = []
        reasons: list[str] = []
        for name, probe in list(self.checks.items()):
            try:
                reason = probe()
            except Exception as exc:  # a broken check is a reason, never a 500
                reason = f"the check failed ({type(exc).__name__})"
            if reason is None:
                checked.append(name)
            else:
                reasons.append(f"{name}: {reason}")
        return Readiness(not reasons, tuple(checked), tuple(reasons))

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _reply(start_response, "405 Method Not Allowed", b"use GET\n")
        if path == "/healthz":
            return _reply(start_response, "200 OK", b"alive\n")
        if path == "/readyz":
            readiness = self.readiness()
            status = "200 OK" if readiness.ready else "503 Service Unavailable"
            return _reply(start_response, status, readiness.to_text().encode("utf-8"))
        if path == "/metrics":
            return _reply(start_response, "200 OK", self.metrics.exposition(), CONTENT_TYPE)
        return _reply(start_response, "404 Not Found", b"not found: try /healthz, /readyz or /metrics\n")

    def around(self, app: WsgiApp) -> WsgiApp:
        """`app`, with /healthz, /readyz and /metrics answered here first."""

        def routed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO", "") in HEALTH_PATHS:
                return self.wsgi_app(environ, start_response)
            return app(environ, start_response)

        return routed


def _reply(
    start_response: Callable[..., Any], status: str, body: bytes, content_type: str = "text/plain; charset=utf-8"
) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")],
    )
    return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        # A monitoring system asks every few seconds: not worth a line each, even at debug.
        pass


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """A threaded standard-library WSGI server that binds without a DNS lookup (shared with `/slack/events`)."""

    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's full DNS name, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


@dataclass
class HealthServer:
    server: ThreadingWSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.server.server_name}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_health_server(health: Health, host: str, port: int) -> HealthServer:
    """Serve `health` at http://host:port (0: a free port) on a background thread; OSError if it cannot bind."""
    server = ThreadingWSGIServer((host, port), _QuietHandler)
    server.set_app(health.wsgi_app)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="qabot-health", daemon=True)
    thread.start()
    return HealthServer(server, thread)
