"""The Socket Mode connection: opened with the app-level token, and reopened at once when Slack closes it.

No public URL is needed: the app opens a websocket to Slack. A rejected token or an unreachable
Slack raises `SetupError` at start-up; later drops are reconnected in the background.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient

from bot.adapters.slack.credentials import error_code, unreachable
from bot.adapters.slack.web_client import SlackConfig, library_logger
from bot.errors import SetupError

log = logging.getLogger(__name__)

SOCKET_CONNECT_WAIT_SECONDS = 10.0
SOCKET_MODE_PING_SECONDS = 3.0
"""How often the Socket Mode client pings Slack and checks its connection (Bolt's default: 10).
A connection cut without a close frame is only noticed by these checks: slack_sdk's client
takes an end of stream for "no data yet". With 3 s it is replaced within about 3 to 18 s."""
RECONNECT_AFTER_CLOSE_SECONDS = 0.2


def connect_socket_mode(app: App, config: SlackConfig) -> SocketModeHandler:
    """Open the Socket Mode connection; SetupError if Slack rejects the app-level token."""
    handler = SocketModeHandler(
        app,
        app_token=config.app_token.reveal(),
        logger=library_logger(),
        ping_interval=SOCKET_MODE_PING_SECONDS,
    )
    reconnect_when_slack_closes(handler.client)
    try:
        handler.connect()
    except SlackApiError as exc:
        handler.close()
        raise SetupError(f"SLACK_APP_TOKEN was rejected by Slack ({error_code(exc)})") from None
    except OSError as exc:
        handler.close()
        raise SetupError(unreachable(config, exc)) from None
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
