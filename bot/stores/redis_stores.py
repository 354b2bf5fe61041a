"""Answered events and rate limits shared through Redis, so several replicas act as one bot.

Two replicas that both receive an event (a Slack retry sent to the other one, or
both Discord sessions of one bot token) ask Redis first: `SET key NX` lets
exactly one of them answer. The per-user rate limit is a sliding window kept in
a sorted set per user and checked and updated by one Lua script, so replicas
asking at the same moment cannot both take the last place; it uses Redis's own
clock, so replicas whose clocks disagree still count one window.

A Redis that is down or slow must not take the bot down. Every call waits at
most the configured timeout; on failure the store fails open to this replica's
own in-process store (logged once per outage, and once when Redis is back), and
Redis is left alone for a few seconds so that each question does not wait for
the timeout again. During an outage a replica still never answers an event
twice itself, but two replicas may each answer it once, and each applies the
rate limit on its own.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.stores.seen_events import SEEN_EVENT_TTL_SECONDS, InMemorySeenEvents
from bot.stores.ratelimit import SlidingWindowLimiter
from bot.stores.ratelimit import RateLimit

log = logging.getLogger(__name__)

T = TypeVar("T")

OUTAGE_COOLDOWN_SECONDS = 5.0
"""After a failed call, how long to use the in-process stores before trying Redis again."""

# KEYS[1]: the user's window. ARGV: limit, window in microseconds, a unique member.
# Remove what left the window, refuse if it is full, else record this question.
# A refused question is not recorded, like the in-process limiter.
SLIDING_WINDOW_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
return 1
"""


def connect(url: str, timeout_seconds: float) -> redis.Redis:
    """A Redis client that never waits long: `timeout_seconds` to connect and per command.

    No connection is opened until the first command. One immediate retry lets a pooled
    connection that died with a restarted Redis be replaced without counting as an outage.
    """
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
    )


def describe(url: str) -> str:
    """Where `url` points, for logs: host, port and database, never the user name or password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    port: int | str
    try:
        port = parts.port or 6379
    except ValueError:
        port = "?"
    database = parts.path.lstrip("/") or "0"
    return f"{parts.scheme}://{parts.hostname or 'localhost'}:{port}/{database}"


@dataclass
class OutageGuard:
    """Runs Redis calls; on failure logs once, answers from a fallback, and skips Redis for a while."""

    where: str
    """The Redis being guarded, as `describe` shows it."""
    cooldown_seconds: float = OUTAGE_COOLDOWN_SECONDS
    clock: Callable[[], float] = time.monotonic
    _retry_at: float | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def in_outage(self) -> bool:
        with self._lock:
            return self._retry_at is not None

    def call(self, shared: Callable[[], T], fallback: Callable[[], T]) -> T:
        with self._lock:
            skip = self._retry_at is not None and self.clock() < self._retry_at
        if skip:
            return fallback()
        try:
            result = shared()
        except redis.RedisError as exc:
            self._failed(exc)
            return fallback()
        self._succeeded()
        return result

    def _failed(self, exc: redis.RedisError) -> None:
        with self._lock:
            first = self._retry_at is None
            self._retry_at = self.clock() + self.cooldown_seconds
        if first:
            # The message of a redis-py error names host and port, never the password.
            log.warning(
                "Redis at %s failed (%s: %s); each replica answers on its own (own duplicate check, "
                "own rate limit, own conversations) until it is back",
                self.where,
                type(exc).__name__,
                exc,
            )

    def _succeeded(self) -> None:
        with self._lock:
            recovered = self._retry_at is not None
            self._retry_at = None
        if recovered:
            log.info("Redis at %s is back; duplicate checks and rate limits are shared again", self.where)


SECRET_FINGERPRINT_KEY = "secret-fingerprint"


def check_secret_fingerprint(client: redis.Redis, prefix: str, fingerprint: str, where: str) -> str | None:
    """Record `fingerprint` (of this replica's secret) in Redis if none is there; compare it if one is.

    Returns None when they match (or this is the first replica), else a one-line reason to refuse
    to start: replicas with different secrets would hash one user to two keys, splitting the rate
    limit without a word. Raises redis.RedisError when Redis cannot be reached.
    """
    key = f"{prefix}:{SECRET_FINGERPRINT_KEY}"
    client.set(key, fingerprint.encode("ascii"), nx=True)  # the first replica records its own
    recorded = client.get(key)
    if isinstance(recorded, bytes):  # a client made with decode_responses returns str already
        recorded = recorded.decode("ascii", "replace")
    if recorded is None or recorded == fingerprint:
        return None
    return (
        f"QABOT_SECRET differs from the secret the other replicas use (Redis at {where} records another "
        f"key's fingerprint under {key!r}): give every replica the same QABOT_SECRET; when replacing it on "
        f"all of them at once, delete that Redis key first"
    )


@dataclass
class RedisSeenEvents:
    """`SeenEvents` shared by every replica using the same Redis and key prefix."""

    client: redis.Redis = field(repr=False)
    guard: OutageGuard
    prefix: str = "qabot"
    ttl_seconds: float = SEEN_EVENT_TTL_SECONDS
    local: InMemorySeenEvents = field(default_factory=InMemorySeenEvents, repr=False)
    """This replica's own record, kept always: it answers alone while Redis is down, and
    stops an event answered during an outage from being answered again once Redis is back."""

    def first_time(self, event_key: str) -> bool:
        if not self.local.first_time(event_key):
            # Already taken on this replica (maybe by another thread claiming it in Redis right
            # now): claiming it again could win Redis for a delivery that will not be answered.
            return False
        return self.guard.call(lambda: self._claim(event_key), lambda: True)

    def redis_key(self, event_key: str) -> str:
        return f"{self.prefix}:seen:{event_key}"

    def _claim(self, event_key: str) -> bool:
        # SET NX is atomic: of several replicas claiming one key, exactly one gets True.
        claimed = self.client.set(
            self.redis_key(event_key), b"1", nx=True, px=max(1, int(self.ttl_seconds * 1000))
        )
        return bool(claimed)


@dataclass
class RedisRateLimiter:
    """`RateLimiter` whose sliding window per user is shared by every replica."""

    client: redis.Redis = field(repr=False)
    guard: OutageGuard
    limit: RateLimit
    prefix: str = "qabot"
    local: SlidingWindowLimiter | None = field(default=None, repr=False)
    """Used only while Redis is unreachable."""

    def __post_init__(self) -> None:
        if self.local is None:
            self.local = SlidingWindowLimiter(self.limit)
        # register_script sends EVALSHA and loads the script again after a Redis restart.
        self._script = self.client.register_script(SLIDING_WINDOW_SCRIPT)

    def allow(self, user_key: str) -> bool:
        if self.limit.count == 0:
            return True
        local = self.local
        assert local is not None
        return self.guard.call(lambda: self._allow_shared(user_key), lambda: local.allow(user_key))

    def _allow_shared(self, user_key: str) -> bool:
        window_us = max(1, int(self.limit.seconds * 1_000_000))
        member = uuid.uuid4().hex  # two questions in the same microsecond are still two
        allowed = self._script(keys=[f"{self.prefix}:rate:{user_key}"], args=[self.limit.count, window_us, member])
        return int(allowed) == 1
