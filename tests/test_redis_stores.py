"""Several replicas share answered events and rate limits through a real Redis; a Redis that
is down or silent never stops a replica from answering."""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import pytest

from bot.app import stores_for
from bot.stores.seen_events import KeyedSeenEvents
from bot.errors import SettingsError
from bot.settings import Settings
from bot.stores.ratelimit import RateLimit, SlidingWindowLimiter
from bot.stores.redis_stores import (
    OutageGuard,
    RedisRateLimiter,
    RedisSeenEvents,
    connect,
    describe,
)
from bot.stores.seen_events import InMemorySeenEvents
from tests.support.redis_server import PASSWORD, RedisServer


class Clock:
    """A monotonic clock the test moves by hand (for the outage cool-down)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def replica_stores(url: str, limit: RateLimit = RateLimit(5, 30), *, clock: Callable[[], float] = time.monotonic,
                   timeout: float = 0.5, prefix: str = "qabot") -> tuple[RedisSeenEvents, RedisRateLimiter]:
    """What one replica builds: its own client and guard, as `stores_for` does."""
    client = connect(url, timeout)
    guard = OutageGuard(describe(url), clock=clock)
    return RedisSeenEvents(client, guard, prefix=prefix), RedisRateLimiter(client, guard, limit, prefix=prefix)


# ---------------------------------------------------------------- answered events


def test_an_event_seen_by_one_replica_is_not_new_to_another(redis_url: str):
    seen_a, _ = replica_stores(redis_url)
    seen_b, _ = replica_stores(redis_url)
    assert seen_a.first_time("slack:event:Ev1") is True
    assert seen_b.first_time("slack:event:Ev1") is False
    assert seen_a.first_time("slack:event:Ev1") is False
    assert seen_b.first_time("slack:event:Ev2") is True


def test_replicas_claiming_the_same_events_at_once_each_get_each_event_exactly_once(redis_url: str):
    replicas = [replica_stores(redis_url)[0] for _ in range(3)]
    keys = [f"discord:message:{n}" for n in range(300)]
    claims: list[str] = []
    lock = threading.Lock()
    start_together = threading.Barrier(6)

    def claim_all(replica_number: int) -> None:
        start_together.wait()
        for key in keys:
            if replicas[replica_number].first_time(key):
                with lock:
                    claims.append(key)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(claim_all, [0, 1, 2, 0, 1, 2]))  # two threads per replica
    assert sorted(claims) == sorted(keys)


def test_a_seen_event_expires_after_an_hour_and_keys_carry_the_prefix(redis_url: str, redis_server: RedisServer):
    seen, _ = replica_stores(redis_url, prefix="newsbot")
    seen.first_time("slack:event:Ev9")
    client = redis_server.client()
    assert client.keys("*") == [b"newsbot:seen:slack:event:Ev9"]
    assert 3_590_000 < client.pttl("newsbot:seen:slack:event:Ev9") <= 3_600_000
    other_bot, _ = replica_stores(redis_url, prefix="otherbot")
    assert other_bot.first_time("slack:event:Ev9"), "another prefix is another bot"


# ---------------------------------------------------------------- the rate limit


def test_the_rate_limit_counts_questions_sent_to_every_replica(redis_url: str):
    _, limiter_a = replica_stores(redis_url, RateLimit(3, 60))
    _, limiter_b = replica_stores(redis_url, RateLimit(3, 60))
    allowed = [limiter_a.allow("alice"), limiter_b.allow("alice"), limiter_a.allow("alice"), limiter_b.allow("alice")]
    assert allowed == [True, True, True, False]
    assert limiter_a.allow("bob") and limiter_b.allow("bob")


def test_the_window_slides_and_refused_questions_do_not_count(redis_url: str):
    _, limiter = replica_stores(redis_url, RateLimit(2, 1.0))
    assert limiter.allow("alice")  # t = 0
    time.sleep(0.6)
    assert [limiter.allow("alice") for _ in range(3)] == [True, False, False]  # t = 0.6: full
    time.sleep(0.5)
    # t = 1.1: the first question left the window, the second is still in it; had the
    # refusals been recorded, the window would still be full.
    assert [limiter.allow("alice") for _ in range(2)] == [True, False]


def test_replicas_racing_for_the_last_places_never_exceed_the_limit(redis_url: str):
    limiters = [replica_stores(redis_url, RateLimit(10, 60))[1] for _ in range(2)]
    results: list[bool] = []
    lock = threading.Lock()

    def ask_many(number: int) -> None:
        for _ in range(15):
            allowed = limiters[number % 2].allow("alice")
            with lock:
                results.append(allowed)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(ask_many, range(4)))
    assert len(results) == 60 and results.count(True) == 10


def test_a_limit_of_zero_never_asks_redis():
    nothing_listens = f"redis://127.0.0.1:{closed_port()}/0"
    _, limiter = replica_stores(nothing_listens, RateLimit(0, 1))
    assert all(limiter.allow("alice") for _ in range(100))
    assert not limiter.guard.in_outage


def test_the_users_window_expires_with_the_limit(redis_url: str, redis_server: RedisServer):
    _, limiter = replica_stores(redis_url, RateLimit(5, 30))
    limiter.allow("alice")
    assert 29_000 < redis_server.client().pttl("qabot:rate:alice") <= 30_000


# ---------------------------------------------------------------- Redis down, slow or refusing


def test_while_redis_is_down_a_replica_answers_on_its_own_and_shares_again_when_it_is_back(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="bot.stores.redis_stores")
    clock = Clock()
    seen, limiter = replica_stores(private_redis.url, RateLimit(1, 60), clock=clock)
    other_replica, _ = replica_stores(private_redis.url)
    assert seen.first_time("before-outage")

    private_redis.stop()
    started = time.monotonic()
    assert seen.first_time("during-outage") is True
    assert seen.first_time("during-outage") is False, "still never twice on this replica"
    assert seen.first_time("before-outage") is False
    assert limiter.allow("alice") is True and limiter.allow("alice") is False, "the limit holds on this replica"
    assert time.monotonic() - started < 2.0, "a refused connection is not waited for"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "each replica answers on its own" in warnings[0].getMessage()

    private_redis.start()
    clock.now += 10  # past the cool-down: Redis is tried again
    assert seen.first_time("after-outage") is True
    assert other_replica.first_time("after-outage") is False, "shared again"
    assert seen.first_time("during-outage") is False, "answered during the outage, not again now"
    assert any("is back" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)


def test_a_redis_that_accepts_but_never_answers_costs_one_timeout_then_nothing(caplog: pytest.LogCaptureFixture):
    with silent_server() as port:
        clock = Clock()
        seen, limiter = replica_stores(f"redis://127.0.0.1:{port}/0", RateLimit(2, 60), clock=clock, timeout=0.2)
        started = time.monotonic()
        assert seen.first_time("e1") is True
        first_call = time.monotonic() - started
        started = time.monotonic()
        assert seen.first_time("e1") is False and limiter.allow("alice") and limiter.allow("alice")
        assert not limiter.allow("alice")
        later_calls = time.monotonic() - started
    assert first_call < 1.5, f"the first call waited {first_call:.2f} s"
    assert later_calls < 0.1, "during the cool-down Redis is not asked at all"
    assert "TimeoutError" in caplog.text


def test_a_wrong_redis_password_fails_open_without_showing_any_password(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-pass-1b2c3d"
    seen, limiter = replica_stores(f"redis://:{wrong}@127.0.0.1:{redis_server.port}/0")
    assert seen.first_time("e1") and limiter.allow("alice")
    assert "AuthenticationError" in caplog.text
    assert wrong not in caplog.text and PASSWORD not in caplog.text


# ---------------------------------------------------------------- chosen from settings


def test_without_a_redis_url_the_stores_are_this_processes_own():
    stores = stores_for(Settings.load(environ={}, dotenv_path=None))
    assert isinstance(stores.limiter, SlidingWindowLimiter)
    assert isinstance(stores.seen_events, KeyedSeenEvents) and isinstance(stores.seen_events.inner, InMemorySeenEvents)


def test_with_a_redis_url_both_stores_are_shared_and_the_description_hides_the_password(redis_url: str):
    settings = Settings.load(
        environ={"QABOT_REDIS_URL": redis_url, "QABOT_REDIS_PREFIX": "newsroom", "QABOT_RATE_LIMIT": "1/60"},
        dotenv_path=None,
    )
    stores = stores_for(settings)
    assert isinstance(stores.seen_events, KeyedSeenEvents)  # event keys hashed with the deployment secret
    assert isinstance(stores.limiter, RedisRateLimiter) and isinstance(stores.seen_events.inner, RedisSeenEvents)
    assert stores.limiter.guard is stores.seen_events.inner.guard, "one outage, one warning"
    assert PASSWORD not in stores.description and "127.0.0.1" in stores.description
    assert PASSWORD not in repr(stores) and PASSWORD not in repr(settings)
    replica_b = stores_for(settings)
    assert stores.limiter.allow("alice") and not replica_b.limiter.allow("alice")
    assert stores.seen_events.first_time("e") and not replica_b.seen_events.first_time("e")


@pytest.mark.parametrize("value", ["http://:hunter2-secret@example.com/0", "hunter2-secret@localhost"])
def test_a_bad_redis_url_is_named_without_showing_it(value: str):
    with pytest.raises(SettingsError) as caught:
        Settings.load(environ={"QABOT_REDIS_URL": value}, dotenv_path=None)
    assert "QABOT_REDIS_URL" in str(caught.value) and "redis://" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://:pw@10.0.0.5:6380/2", "redis://10.0.0.5:6380/2"),
        ("rediss://user:pw@cache.internal", "rediss://cache.internal:6379/0"),
        ("unix:///run/redis.sock?password=pw", "unix:/run/redis.sock"),
    ],
)
def test_describe_never_shows_user_or_password(url: str, shown: str):
    assert describe(url) == shown


# ---------------------------------------------------------------- helpers


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class silent_server:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""

    def __enter__(self) -> int:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return int(self.listener.getsockname()[1])

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        for connection in self.accepted:
            connection.close()
