"""Per-user rate limiting, shared by every adapter.

Users are identified by an opaque key (see `bot.service.privacy.user_key`), never a raw
platform ID. The in-process limiter below is the default; a shared one (for
several replicas) implements the same `RateLimiter` protocol.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol



@dataclass(frozen=True)
class RateLimit:
    """At most `count` questions per user in `seconds`."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> "RateLimit":
        try:
            count_text, seconds_text = text.strip().split("/")
            count, seconds = int(count_text), float(seconds_text)
        except ValueError:
            raise ValueError("expected COUNT/SECONDS, for example 5/30") from None
        if count < 0 or seconds <= 0:
            raise ValueError("COUNT must be 0 or more (0 turns the limit off) and SECONDS above 0")
        return cls(count, seconds)

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}"


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
