"""The one place that chooses where answered events, rate limits and conversations are kept.

Without QABOT_REDIS_URL: in this process (one replica). With it: in Redis, shared
by every replica that uses the same Redis and QABOT_REDIS_PREFIX, so a question
delivered to two replicas is answered once, a user's rate limit counts the
questions sent to all of them, and a follow-up is read with its thread whichever
replica (or durable job) answers it. redis-py is imported only when Redis is used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from bot.stores.conversations import DEFAULT_MAX_CONVERSATIONS, ConversationStore, Conversations
from bot.stores.seen_events import InMemorySeenEvents, KeyedSeenEvents, SeenEvents
from bot.stores.ratelimit import RateLimit, RateLimiter, SlidingWindowLimiter

if TYPE_CHECKING:  # redis-py is imported only when Redis is used
    from bot.stores.jobs import RedisJobQueue

log = logging.getLogger(__name__)


def _nothing_shared(fingerprint: str) -> str | None:
    return None


@dataclass(frozen=True)
class Stores:
    """What the question service and an adapter share across questions."""

    limiter: RateLimiter
    seen_events: SeenEvents
    description: str
    """Where they are kept, for the start-up log line (never shows a password)."""
    jobs: "RedisJobQueue | None" = None
    """With Redis: the durable question jobs every replica answers from (`bot.stores.jobs`)."""
    compare_secret: Callable[[str], str | None] = _nothing_shared
    """Given this replica's secret fingerprint: None when the other replicas use the same secret
    (or it cannot be told yet), else a one-line reason this replica must not run."""
    conversations: Conversations = field(default_factory=ConversationStore)
    """Threads and reply chains for follow-ups: in memory, or in Redis shared by the replicas."""


def open_stores(
    rate_limit: RateLimit,
    redis_url: str = "",
    redis_prefix: str = "qabot",
    redis_timeout: float = 0.5,
    hash_event_key: Callable[[str], str] | None = None,
    consumer: str = "",
    job_claim_seconds: float = 10.0,
    conversation_idle_seconds: float = 30 * 60,
    max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
) -> Stores:
    """In-process stores, or Redis-backed ones when `redis_url` is set.

    `hash_event_key` turns every event key into a keyed hash before a store sees it (the
    deployment secret's); `consumer` names this replica in the job queue's consumer group.
    A conversation ends `conversation_idle_seconds` after its last question; at most
    `max_conversations` are kept (the least recently used go first).

    Opens no connection: a Redis that is down at start-up only shows on the first
    question, and the bot starts anyway (see `bot.stores.redis_stores`).
    """
    hashed = hash_event_key or (lambda key: key)
    if not redis_url:
        return Stores(
            limiter=SlidingWindowLimiter(rate_limit),
            seen_events=KeyedSeenEvents(InMemorySeenEvents(), hashed),
            description="in this process only",
            conversations=ConversationStore(idle_seconds=conversation_idle_seconds, max_conversations=max_conversations),
        )
    from bot.stores.jobs import RedisJobQueue
    from bot.stores.redis_conversations import RedisConversationStore
    from bot.stores.redis_stores import (
        OutageGuard,
        RedisRateLimiter,
        RedisSeenEvents,
        check_secret_fingerprint,
        connect,
        describe,
    )

    client = connect(redis_url, redis_timeout)
    # One guard for every store: one outage, one warning.
    guard = OutageGuard(describe(redis_url))

    def compare_secret(fingerprint: str) -> str | None:
        import redis

        try:
            return check_secret_fingerprint(client, redis_prefix, fingerprint, describe(redis_url))
        except redis.RedisError as exc:
            # The bot starts with Redis down (it answers on its own meanwhile); it cannot compare now.
            log.warning(
                "could not compare this replica's secret with the other replicas' (Redis at %s: %s); "
                "starting anyway",
                describe(redis_url),
                type(exc).__name__,
            )
            return None

    seen_events = RedisSeenEvents(client, guard, prefix=redis_prefix)
    return Stores(
        limiter=RedisRateLimiter(client, guard, rate_limit, prefix=redis_prefix),
        seen_events=KeyedSeenEvents(seen_events, hashed),
        jobs=RedisJobQueue(
            client,
            guard,
            consumer=consumer or "replica",
            # The same Redis key the seen-events store uses, so both paths agree on what was seen.
            seen_key=lambda event_key: seen_events.redis_key(hashed(event_key)),
            prefix=redis_prefix,
            claim_after_seconds=job_claim_seconds,
            command_timeout_seconds=redis_timeout,
        ),
        description=f"shared through Redis at {describe(redis_url)} (key prefix {redis_prefix!r})",
        compare_secret=compare_secret,
        conversations=RedisConversationStore(
            client,
            guard,
            prefix=redis_prefix,
            idle_seconds=conversation_idle_seconds,
            max_conversations=max_conversations,
        ),
    )
