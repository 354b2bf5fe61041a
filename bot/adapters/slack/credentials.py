"""Checks of the Slack tokens and signing secret before the app starts, each failure one line.

Shapes first (a bot token starts with xoxb-, an app-level token with xapp-, a signing secret is
hexadecimal), then Slack is asked whether it accepts them. Every problem raises `SetupError`
naming the setting and where to find the right value; a value is never printed.
"""

from __future__ import annotations

import re

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack.web_client import SlackConfig, web_api_base_url
from bot.errors import SetupError

_SIGNING_SECRET = re.compile(r"[0-9a-fA-F]{16,}")


def check_credentials(config: SlackConfig, http: bool) -> None:
    """Raise SetupError naming the first missing or malformed token or secret for the chosen mode."""
    bot_token = config.bot_token.reveal()
    if not bot_token:
        raise SetupError(
            "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) "
            "from the app's OAuth & Permissions page"
        )
    if not bot_token.startswith("xoxb-"):
        raise SetupError(
            "SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb- (OAuth & Permissions > Bot User OAuth Token)"
        )
    if http:
        secret = config.signing_secret.reveal()
        if not secret:
            raise SetupError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs the Signing Secret "
                "from the app's Basic Information page"
            )
        if not _SIGNING_SECRET.fullmatch(secret):
            raise SetupError(
                "SLACK_SIGNING_SECRET is malformed: a signing secret is a string of hexadecimal digits "
                "(Basic Information > App Credentials > Signing Secret)"
            )
    else:
        app_token = config.app_token.reveal()
        if not app_token:
            raise SetupError(
                "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) with the "
                "connections:write scope (Basic Information > App-Level Tokens), or run with --http"
            )
        if not app_token.startswith("xapp-"):
            raise SetupError(
                "SLACK_APP_TOKEN is malformed: an app-level token starts with xapp- "
                "(Basic Information > App-Level Tokens)"
            )


def verify_bot_token(client: WebClient, config: SlackConfig) -> None:
    """Ask Slack whether it accepts the bot token (auth.test); SetupError if not."""
    try:
        client.auth_test()
    except SlackApiError as exc:
        raise SetupError(f"SLACK_BOT_TOKEN was rejected by Slack ({error_code(exc)})") from None
    except OSError as exc:  # URLError, refused connection, DNS failure, timeout
        raise SetupError(unreachable(config, exc)) from None


def verify_app_token(client: WebClient, config: SlackConfig) -> None:
    """Ask Slack whether it accepts the app-level token (apps.connections.open); SetupError if not.

    Checked here, before the index loads, because the Socket Mode client would
    only log a rejection (several lines) and go on retrying.
    """
    try:
        client.apps_connections_open(app_token=config.app_token.reveal())
    except SlackApiError as exc:
        raise SetupError(f"SLACK_APP_TOKEN was rejected by Slack ({error_code(exc)})") from None
    except OSError as exc:
        raise SetupError(unreachable(config, exc)) from None


def error_code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    except (AttributeError, TypeError, ValueError):  # a response that is not Slack's JSON
        return "no reason given"


def unreachable(config: SlackConfig, exc: OSError) -> str:
    where = web_api_base_url(config.api_url)
    named = " (QABOT_SLACK_API_URL)" if config.api_url else ""
    reason = getattr(exc, "reason", None) or exc
    return f"cannot reach the Slack Web API at {where}{named}: {reason}"
