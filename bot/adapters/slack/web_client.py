"""The Slack Web API client the app and the start-up checks share, and what it is configured with.

`SlackConfig` is what the Slack adapter needs of the settings (the runner makes it); the client
retries a refused connection, a 429 (unless Slack asks for too long a wait) and one 5xx, and its
library logger speaks only at warning level and above (request bodies carry user IDs and text).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.secret import Secret

LIBRARY_LOGGER_NAME = "bot.adapters.slack.library"


@dataclass(frozen=True)
class SlackConfig:
    """The Slack side of the settings: tokens (never shown), the API address, who sees /ask answers."""

    bot_token: Secret
    app_token: Secret = Secret("")
    signing_secret: Secret = Secret("")
    api_url: str = ""
    """The Web API base URL; empty: Slack's own."""
    slash_response_type: str = "ephemeral"
    """Who sees /ask answers: "in_channel" (everyone) or "ephemeral" (the asker)."""


class _WithoutClientTokenNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused whenever it is in the environment and a client is
    given; the client is given on purpose (it carries the Web API URL and the same token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("As you gave `client` as well")


def library_logger() -> logging.Logger:
    """The logger handed to Bolt and slack_sdk.

    At info and debug level they log whole request bodies (user IDs, message text)
    and, for rejected signatures, the forged request; so they speak only at
    warning and above, whatever the bot's own level.
    """
    logger = logging.getLogger(LIBRARY_LOGGER_NAME)
    logger.setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    if not any(isinstance(f, _WithoutClientTokenNotice) for f in logger.filters):
        logger.addFilter(_WithoutClientTokenNotice())
    return logger


def web_api_base_url(api_url: str = "") -> str:
    """The Web API base URL (`api_url`, or Slack's own), ending in `/` (slack_sdk joins method names
    onto it as a relative URL)."""
    url = api_url or WebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


MAX_RETRY_AFTER_SECONDS = 30
"""A 429 asking to wait longer than this is not retried: the Bolt worker thread would be held
(and every question queued behind it) for as long as Slack says; the asker gets an apology."""


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retries a 429 after its Retry-After, unless that is longer than `max_wait_seconds`."""

    def __init__(self, max_retry_count: int = 2, max_wait_seconds: int = MAX_RETRY_AFTER_SECONDS) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:  # fmt: skip
        if response is None or response.status_code != 429:
            return False
        wait = next((v[0] for k, v in response.headers.items() if k.lower() == "retry-after" and v), "1")
        try:
            return int(wait) <= self.max_wait_seconds
        except ValueError:  # not a number of seconds: do not guess
            return False


class GatewayErrorRetryHandler(ServerErrorRetryHandler):
    """Retries once, after a short backoff, when Slack (or a proxy before it) answers 500, 502, 503 or 504.

    A 5xx usually means the call was not carried out; rarely, Slack may have posted the message
    before failing, and the retry posts it again. One retry keeps that rare case rare while an
    answer survives a passing outage.
    """

    def __init__(self) -> None:
        super().__init__(max_retry_count=1)

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:  # fmt: skip
        return response is not None and response.status_code in (500, 502, 503, 504)


def build_web_client(config: SlackConfig, logger: logging.Logger | None = None) -> WebClient:
    """A Web API client with the bot token, retrying what is safe to retry (see the handlers above)."""
    return WebClient(
        token=config.bot_token.reveal(),
        base_url=web_api_base_url(config.api_url),
        logger=logger or library_logger(),
        # A 429 means Slack did not take the call, so retrying after Retry-After cannot post twice.
        retry_handlers=[ConnectionErrorRetryHandler(), BoundedRateLimitRetryHandler(), GatewayErrorRetryHandler()],
    )
