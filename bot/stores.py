"""The one place that chooses where answered events and rate limits are kept.

Without QABOT_REDIS_URL: in this process (one replica). With it: in Redis, shared
by every replica that uses the same Redis and QABOT_REDIS_PREFIX, so a question
delivered to two replicas is answered once and a user's rate limit counts the
questions sent to all of them. redis-py is imported only when Redis is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.dedup import InMemorySeenEvents, SeenEvents
from bot.ratelimit import RateLimiter, SlidingWindowLimiter
from bot.settings import Settings


@dataclass(frozen=True)
class Stores:
    """What the question service and an adapter share across questions."""

    limiter: RateLimiter
    seen_events: SeenEvents
    description: str
    """Where they are kept, for the start-up log line (never shows a password)."""


def stores_for(settings: Settings) -> Stores:
    """In-process stores, or Redis-backed ones when `settings.redis_url` is set.

    Opens no connection: a Redis that is down at start-up only shows on the first
    question, and the bot starts anyway (see `bot.redis_stores`).
    """
    if not settings.redis_url:
        return Stores(
            limiter=SlidingWindowLimiter(settings.rate_limit),
            seen_events=InMemorySeenEvents(),
            description="in this process only",
        )
    from bot.redis_stores import OutageGuard, RedisRateLimiter, RedisSeenEvents, connect, describe

    url = settings.redis_url.reveal()
    client = connect(url, settings.redis_timeout)
    # One guard for both stores: one outage, one warning.
    guard = OutageGuard(describe(url))
    return Stores(
        limiter=RedisRateLimiter(client, guard, settings.rate_limit, prefix=settings.redis_prefix),
        seen_events=RedisSeenEvents(client, guard, prefix=settings.redis_prefix),
        description=f"shared through Redis at {describe(url)} (key prefix {settings.redis_prefix!r})",
    )
