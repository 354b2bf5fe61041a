"""The one place that chooses where answered events and rate limits are kept.

Without QABOT_REDIS_URL: in this process (one replica). With it: in Redis, shared
by every replica that uses the same Redis and QABOT_REDIS_PREFIX, so a question
delivered to two replicas is answered once and a user's rate limit counts the
questions sent to all of them. redis-py is imported only when Redis is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.stores.seen_events import InMemorySeenEvents, SeenEvents
from bot.stores.ratelimit import RateLimit, RateLimiter, SlidingWindowLimiter


@dataclass(frozen=True)
class Stores:
    """What the question service and an adapter share across questions."""

    limiter: RateLimiter
    seen_events: SeenEvents
    description: str
    """Where they are kept, for the start-up log line (never shows a password)."""


def open_stores(rate_limit: RateLimit, redis_url: str = "", redis_prefix: str = "qabot", redis_timeout: float = 0.5) -> Stores:
    """In-process stores, or Redis-backed ones when `redis_url` is set.

    Opens no connection: a Redis that is down at start-up only shows on the first
    question, and the bot starts anyway (see `bot.stores.redis_stores`).
    """
    if not redis_url:
        return Stores(
            limiter=SlidingWindowLimiter(rate_limit),
            seen_events=InMemorySeenEvents(),
            description="in this process only",
        )
    from bot.stores.redis_stores import OutageGuard, RedisRateLimiter, RedisSeenEvents, connect, describe

    client = connect(redis_url, redis_timeout)
    # One guard for both stores: one outage, one warning.
    guard = OutageGuard(describe(redis_url))
    return Stores(
        limiter=RedisRateLimiter(client, guard, rate_limit, prefix=redis_prefix),
        seen_events=RedisSeenEvents(client, guard, prefix=redis_prefix),
        description=f"shared through Redis at {describe(redis_url)} (key prefix {redis_prefix!r})",
    )
