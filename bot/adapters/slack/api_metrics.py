"""Counting Slack Web API calls that fail and the ones slack_sdk retries, for /metrics.

slack_sdk retries through its retry handlers (a 429 after Retry-After, a gateway error, a
dropped connection: see `web_client`); each handler is wrapped so that every retry it grants
is counted. `WebClient.api_call` is the one door every method goes through, so a call that
raises (a Slack error such as `invalid_auth`, or no answer at all) is counted there. Bolt
hands each request a fresh client (with copies of the app client's retry handlers), so
`count_each_request` wraps that one's `api_call` too.

Failure behaviour: counting never changes what a call returns or raises, nor whether it is retried.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from slack_bolt.context.context import BoltContext
from slack_sdk import WebClient
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.service.metrics import Metrics

PLATFORM = "slack"


class CountedRetries(RetryHandler):
    """`inner`, calling `on_retry()` each time it decides to retry."""

    def __init__(self, inner: RetryHandler, on_retry: Callable[[], None]) -> None:
        super().__init__(max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator)
        self.inner = inner
        self.on_retry = on_retry

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: Optional[HttpResponse] = None,
        error: Optional[Exception] = None,
    ) -> bool:
        return self.inner.can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: Optional[HttpResponse] = None,
        error: Optional[Exception] = None,
    ) -> None:
        self.on_retry()
        self.inner.prepare_for_next_attempt(state=state, request=request, response=response, error=error)


def count_api_calls(client: WebClient, metrics: Metrics, *, retries: bool = True) -> WebClient:
    """`client`, its failed calls (and, with `retries`, its retries) counted into `metrics`."""
    if retries:
        client.retry_handlers = [
            CountedRetries(handler, lambda: metrics.platform_retry(PLATFORM)) for handler in client.retry_handlers
        ]
    original = client.api_call

    @functools.wraps(original)
    def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except Exception:
            metrics.platform_error(PLATFORM)
            raise

    client.api_call = counted  # type: ignore[method-assign]
    return client


def count_each_request(metrics: Metrics) -> Callable[..., None]:
    """A Bolt middleware counting the failed calls of each request's own client (its retry
    handlers are the app client's, counted already)."""

    def middleware(context: BoltContext, next: Callable[[], None]) -> None:
        if context.client is not None:
            count_api_calls(context.client, metrics, retries=False)
        next()

    return middleware
