"""Per-user rate limiting, shared by every adapter.

Users are identified by an opaque key (see `bot.privacy.user_key`), never a raw
platform ID. The in-process limiter below is the default; a shared one (for
several replicas) implements the same `RateLimiter` protocol.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

from bot.settings import RateLimit


class RateLimiter(Protocol):
    def allow(self, user_key: str) -> bool:
        """Record one question from `user_key`; False when it is over the limit."""
        ...


@dataclass
class SlidingWindowLimiter:
    """At most `limit.count` questions per `limit.seconds` for each user, in this process."""

    limit: RateLimit
    clock: Callable[[], float] = time.monotonic
    _events: dict[str, deque[float]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def allow(self, user_key: str) -> bool:
        if self.limit.count == 0:
            return True
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(user_key, deque())
            while events and now - events[0] >= self.limit.seconds:
                events.popleft()
            if len(events) >= self.limit.count:
                return False
            events.append(now)
            if len(self._events) > 10_000:  # forget idle users so memory stays bounded
                self._forget_idle(now)
            return True

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.limit.seconds]
        for key in idle:
            del self._events[key]
