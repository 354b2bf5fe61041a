"""Counting discord.py's REST calls that fail and the ones it retries, for /metrics.

discord.py retries inside `HTTPClient.request` (a 429 after its Retry-After, a 500/502/504
after a pause, a reset connection) and only raises once it gives up. So each logical call is
wrapped, and the HTTP requests it really sent are counted through an aiohttp trace (which runs
in the calling task, so a context variable ties each request to its call): every request after
the first is a retry; a call that raises is an error.

Failure behaviour: counting never changes what a call returns or raises.
"""

from __future__ import annotations

import contextvars
import functools
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord

from bot.service.metrics import Metrics

PLATFORM = "discord"

_sent_in_this_call: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "qabot_discord_requests_sent", default=None
)


async def _on_request_start(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
    sent = _sent_in_this_call.get()
    if sent is not None:
        sent[0] += 1


def count_api_calls(client: discord.Client, metrics: Metrics) -> None:
    """Make `client`'s REST calls count into `metrics`. Call before the client logs in
    (the trace is given to the HTTP session discord.py opens at login)."""
    http = client.http
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_on_request_start)
    http.http_trace = trace
    original = http.request

    @functools.wraps(original)
    async def counted(*args: Any, **kwargs: Any) -> Any:
        sent = [0]
        token = _sent_in_this_call.set(sent)
        try:
            return await original(*args, **kwargs)
        except (discord.HTTPException, aiohttp.ClientError, OSError):
            metrics.platform_error(PLATFORM)
            raise
        finally:
            _sent_in_this_call.reset(token)
            for _ in range(sent[0] - 1):
                metrics.platform_retry(PLATFORM)

    http.request = counted  # type: ignore[method-assign]
