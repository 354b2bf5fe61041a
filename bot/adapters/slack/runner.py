"""`qabot slack`: check the credentials, then serve the app in Socket Mode or over HTTP.

Socket Mode (the default) needs no public URL: the app opens a websocket to
Slack with the app-level token. `--http` serves Slack's HTTP requests at
`/slack/events` through Bolt's WSGI adapter on a threaded standard-library
server, which binds the given host and port (0 picks a free one) and stops
cleanly; Bolt's own `App.start()` can do neither.

Every startup problem with a token or secret ends in one line naming it, on
stderr, and a non-zero exit; values are never printed.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack.acks_first import AcknowledgementsFirst
from bot.adapters.slack.app import Asker, build_app, build_web_client, library_logger, web_api_base_url
from bot.dedup import SeenEvents
from bot.service import QuestionService
from bot.settings import Settings
from bot.stores import Stores, stores_for
from corpus import CorpusError, CorpusFileError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
EXIT_STARTUP_FAILED = 2
SOCKET_CONNECT_WAIT_SECONDS = 10.0
SOCKET_MODE_PING_SECONDS = 3.0
"""How often the Socket Mode client pings Slack and checks its connection (Bolt's default: 10).
A connection cut without a close frame is only noticed by these checks: slack_sdk's client
takes an end of stream for "no data yet". With 3 s it is replaced within about 3 to 18 s."""
RECONNECT_AFTER_CLOSE_SECONDS = 0.2

_SIGNING_SECRET = re.compile(r"[0-9a-fA-F]{16,}")


class StartupError(Exception):
    """The app cannot start; the message is the one line shown to the admin."""


# ---------------------------------------------------------------- credentials


def check_credentials(settings: Settings, http: bool) -> None:
    """Raise StartupError naming the first missing or malformed token or secret for the chosen mode."""
    bot_token = settings.slack_bot_token.reveal()
    if not bot_token:
        raise StartupError(
            "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) "
            "from the app's OAuth & Permissions page"
        )
    if not bot_token.startswith("xoxb-"):
        raise StartupError(
            "SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb- (OAuth & Permissions > Bot User OAuth Token)"
        )
    if http:
        secret = settings.slack_signing_secret.reveal()
        if not secret:
            raise StartupError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs the Signing Secret "
                "from the app's Basic Information page"
            )
        if not _SIGNING_SECRET.fullmatch(secret):
            raise StartupError(
                "SLACK_SIGNING_SECRET is malformed: a signing secret is a string of hexadecimal digits "
                "(Basic Information > App Credentials > Signing Secret)"
            )
    else:
        app_token = settings.slack_app_token.reveal()
        if not app_token:
            raise StartupError(
                "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) with the "
                "connections:write scope (Basic Information > App-Level Tokens), or run with --http"
            )
        if not app_token.startswith("xapp-"):
            raise StartupError(
                "SLACK_APP_TOKEN is malformed: an app-level token starts with xapp- "
                "(Basic Information > App-Level Tokens)"
            )


def verify_bot_token(client: WebClient, settings: Settings) -> None:
    """Ask Slack whether it accepts the bot token (auth.test); StartupError if not."""
    try:
        client.auth_test()
    except SlackApiError as exc:
        raise StartupError(f"SLACK_BOT_TOKEN was rejected by Slack ({_error_code(exc)})") from None
    except OSError as exc:  # URLError, refused connection, DNS failure, timeout
        raise StartupError(_unreachable(settings, exc)) from None


def verify_app_token(client: WebClient, settings: Settings) -> None:
    """Ask Slack whether it accepts the app-level token (apps.connections.open); StartupError if not.

    Checked here, before the index loads, because the Socket Mode client would
    only log a rejection (several lines) and go on retrying.
    """
    try:
        client.apps_connections_open(app_token=settings.slack_app_token.reveal())
    except SlackApiError as exc:
        raise StartupError(f"SLACK_APP_TOKEN was rejected by Slack ({_error_code(exc)})") from None
    except OSError as exc:
        raise StartupError(_unreachable(settings, exc)) from None


def _error_code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    except (AttributeError, TypeError, ValueError):  # a response that is not Slack's JSON
        return "no reason given"


def _unreachable(settings: Settings, exc: OSError) -> str:
    where = web_api_base_url(settings)
    named = " (QABOT_SLACK_API_URL)" if settings.slack_api_url else ""
    reason = getattr(exc, "reason", None) or exc
    return f"cannot reach the Slack Web API at {where}{named}: {reason}"


# ---------------------------------------------------------------- HTTP mode


class _QuietRequestHandler(WSGIRequestHandler):
    server: "_ThreadingWSGIServer"

    def handle(self) -> None:
        with self.server.acknowledgements.acknowledging():
            super().handle()

    def log_message(self, format: str, *args: object) -> None:
        # The default writes every request, with the caller's address, straight to stderr.
        log.debug("http: " + format, *args)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Slack can deliver a burst of events at once; the default backlog of 5 would refuse connections.
    request_queue_size = 1024
    acknowledgements: AcknowledgementsFirst

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's full DNS name, which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
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
    app: App, host: str, port: int, acknowledgements: AcknowledgementsFirst | None = None
) -> HttpEventServer:
    """Serve `app` at http://host:port/slack/events until `stop()`; StartupError if it cannot bind.

    `acknowledgements` is the gate the app's listener executor waits on (see `acks_first`).
    """
    try:
        server = _ThreadingWSGIServer((host, port), _QuietRequestHandler)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.acknowledgements = acknowledgements or AcknowledgementsFirst()
    server.set_app(SlackRequestHandler(app, path=EVENTS_PATH))
    # A short poll interval makes stop() quick; serving itself does not poll.
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="slack-http", daemon=True)
    thread.start()
    return HttpEventServer(server, thread)


# ---------------------------------------------------------------- Socket Mode


def connect_socket_mode(app: App, settings: Settings) -> SocketModeHandler:
    """Open the Socket Mode connection; StartupError if Slack rejects the app-level token."""
    handler = SocketModeHandler(
        app,
        app_token=settings.slack_app_token.reveal(),
        logger=library_logger(),
        ping_interval=SOCKET_MODE_PING_SECONDS,
    )
    reconnect_when_slack_closes(handler.client)
    try:
        handler.connect()
    except SlackApiError as exc:
        handler.close()
        raise StartupError(f"SLACK_APP_TOKEN was rejected by Slack ({_error_code(exc)})") from None
    except OSError as exc:
        handler.close()
        raise StartupError(_unreachable(settings, exc)) from None
    return handler


def reconnect_when_slack_closes(client: SocketModeClient) -> None:
    """Open a new connection as soon as Slack closes the current one.

    slack_sdk's own reconnect on a close frame does nothing (it runs before the closed
    connection is marked closed, so there seems to be one still), and the next connection
    check comes a ping interval later. Shortly after the close, the connection is marked
    closed and `connect_to_new_endpoint` opens a new one; when the close was of an old
    connection already replaced (Slack's refresh), it finds the new one open and does nothing.
    """

    def soon(code: int, reason: str | None) -> None:
        if client.closed or not client.auto_reconnect_enabled:
            return
        timer = threading.Timer(RECONNECT_AFTER_CLOSE_SECONDS, _reconnect_unless_closing, args=(client,))
        timer.daemon = True
        timer.start()

    client.on_close_listeners.append(soon)


def _reconnect_unless_closing(client: SocketModeClient) -> None:
    if client.closed or not client.auto_reconnect_enabled:
        return
    try:
        client.connect_to_new_endpoint()
    except Exception:  # Slack unreachable: the client's own checks keep trying
        log.warning("reconnecting to Slack after it closed the connection failed; retrying shortly", exc_info=True)


def wait_until_connected(handler: SocketModeHandler, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not handler.client.is_connected():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


# ---------------------------------------------------------------- the command


def run(args: argparse.Namespace, settings: Settings) -> int:
    """`qabot slack [--http] [--host H] [--port P]`: serve until SIGINT or SIGTERM; 0 on a clean stop."""
    service: QuestionService | None = None
    try:
        check_credentials(settings, http=args.http)
        client = build_web_client(settings, logger=_startup_check_logger())
        verify_bot_token(client, settings)
        if not args.http:
            verify_app_token(client, settings)
        stores = stores_for(settings)
        service = _load_service(settings, stores)
        # New and removed articles are picked up while running; SIGHUP checks at once.
        service.watch_corpus()
        # Over HTTP, Slack's requests are acknowledged before answers are worked out (acks_first).
        acknowledgements = AcknowledgementsFirst() if args.http else None
        app = _build_app(settings, service, stores.seen_events, acknowledgements)
        log.info("answered events and rate limits are kept %s", stores.description)
        if args.http:
            server = start_http_server(app, args.host, args.port, acknowledgements)
            stop = server.stop
            log.info("serving Slack events at %s", server.url)
        else:
            handler = connect_socket_mode(app, settings)
            stop = handler.close
            if wait_until_connected(handler, SOCKET_CONNECT_WAIT_SECONDS):
                log.info("connected to Slack in Socket Mode")
            else:
                log.warning("the Socket Mode connection is not open yet; retrying in the background")
    except StartupError as exc:
        if service is not None:
            service.close()
        print(f"qabot slack: {exc}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    try:
        _wait_for_stop_signal()
    finally:
        log.info("stopping")
        stop()
        if service is not None:
            service.close()
    return 0


def _startup_check_logger() -> logging.Logger:
    # The checks report a failure in one line themselves; slack_sdk would add its own lines first.
    logger = logging.getLogger(__name__ + ".startup_check")
    logger.disabled = True
    return logger


def _load_service(settings: Settings, stores: Stores) -> QuestionService:
    try:
        return QuestionService.from_settings(settings, stores)
    except (CorpusError, CorpusFileError) as exc:
        raise StartupError(str(exc)) from None


def _build_app(
    settings: Settings, service: Asker, seen_events: SeenEvents, acknowledgements: AcknowledgementsFirst | None
) -> App:
    executor = acknowledgements.executor() if acknowledgements is not None else None
    try:
        return build_app(settings, service, seen_events, executor)
    except BoltError:
        # verify_bot_token passed moments ago, so this is Slack changing its mind (a revoked token).
        raise StartupError("SLACK_BOT_TOKEN was rejected by Slack (auth.test failed)") from None


def _wait_for_stop_signal() -> None:
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping.wait(1.0):
        pass
