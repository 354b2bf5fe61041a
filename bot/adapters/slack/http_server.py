"""Slack's HTTP events served at `/slack/events` through Bolt's WSGI adapter, on a threaded server.

A standard-library server on a background thread: it serves a socket already listening (bound
at the very start of `qabot slack --http`, see `listening`) or binds the given host and port (0
picks a free one), takes a burst of connections (a deep backlog), logs requests only at debug
level, and stops cleanly; Bolt's own `App.start()` can do neither. Requests are acknowledged
before answers are worked out (`acks_first`). A port that cannot be bound raises `SetupError`.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.adapters.slack.acks_first import AcknowledgementsFirst
from bot.adapters.slack.listening import BACKLOG, listening_socket
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
    """Serves a socket that is already bound and listening (`listening.listening_socket`)."""

    # Slack can deliver a burst of events at once; the default backlog of 5 would refuse connections.
    request_queue_size = BACKLOG
    acknowledgements: AcknowledgementsFirst

    def __init__(self, listening: socket.socket, handler: type[WSGIRequestHandler]) -> None:
        self._listening = listening
        super().__init__(listening.getsockname()[:2], handler)

    def server_bind(self) -> None:
        # The socket TCPServer made is swapped for the one listening since the start (its
        # connections are queued there); the rest is what ThreadingWSGIServer.server_bind sets.
        self.socket.close()
        self.socket = self._listening
        host, port = self.server_address = self._listening.getsockname()[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()


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
    listening: socket.socket | None = None,
) -> HttpEventServer:
    """Serve `app` at http://host:port/slack/events until `stop()`; SetupError if it cannot bind.

    `listening`: a socket already bound and listening (then host and port are its own), whose
    queued connections are answered now. `acknowledgements` is the gate the app's listener
    executor waits on (see `acks_first`); with `health`, /healthz, /readyz and /metrics are
    served on the same port.
    """
    server = _ThreadingWSGIServer(listening or listening_socket(host, port), _QuietRequestHandler)
    server.acknowledgements = acknowledgements or AcknowledgementsFirst()
    events = SlackRequestHandler(app, path=EVENTS_PATH)
    server.set_app(health.around(events) if health is not None else events)
    # A short poll interval makes stop() quick; serving itself does not poll.
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="slack-http", daemon=True)
    thread.start()
    return HttpEventServer(server, thread)
