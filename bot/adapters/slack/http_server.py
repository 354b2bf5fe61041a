"""Slack's HTTP events served at `/slack/events` through Bolt's WSGI adapter, on a threaded server.

A standard-library server on a background thread: it binds the given host and port (0 picks a
free one), takes a burst of connections (a deep backlog), logs requests only at debug level,
and stops cleanly; Bolt's own `App.start()` can do neither. Requests are acknowledged before
answers are worked out (`acks_first`). A port that cannot be bound raises `SetupError`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.adapters.slack.acks_first import AcknowledgementsFirst
from bot.errors import SetupError
from bot.service.health import ThreadingWSGIServer
from bot.service.health import Health

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class _QuietRequestHandler(WSGIRequestHandler):
    server: "_ThreadingWSGIServer"

    def handle(self) -> None:
        with self.server.acknowledgements.acknowledging():
            super().handle()

    def log_message(self, format: str, *args: object) -> None:
        # The default writes every request, with the caller's address, straight to stderr.
        log.debug("http: " + format, *args)


class _ThreadingWSGIServer(ThreadingWSGIServer):
    # Slack can deliver a burst of events at once; the default backlog of 5 would refuse connections.
    request_queue_size = 1024
    acknowledgements: AcknowledgementsFirst


@dataclass
class HttpEventServer:
    """Bolt's WSGI adapter served on a background thread; `stop()` shuts it down."""

    server: _ThreadingWSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.server.server_name}:{self.port}{EVENTS_PATH}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_http_server(
    app: App,
    host: str,
    port: int,
    acknowledgements: AcknowledgementsFirst | None = None,
    health: Health | None = None,
) -> HttpEventServer:
    """Serve `app` at http://host:port/slack/events until `stop()`; SetupError if it cannot bind.

    `acknowledgements` is the gate the app's listener executor waits on (see `acks_first`);
    with `health`, /healthz, /readyz and /metrics are served on the same port.
    """
    try:
        server = _ThreadingWSGIServer((host, port), _QuietRequestHandler)
    except OSError as exc:
        raise SetupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.acknowledgements = acknowledgements or AcknowledgementsFirst()
    events = SlackRequestHandler(app, path=EVENTS_PATH)
    server.set_app(health.around(events) if health is not None else events)
    # A short poll interval makes stop() quick; serving itself does not poll.
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="slack-http", daemon=True)
    thread.start()
    return HttpEventServer(server, thread)
