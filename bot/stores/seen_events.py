"""Remembering which events were already answered, so a retried or repeated
delivery never produces a second reply.

Event keys are platform event IDs (Slack's event_id, a Discord message ID),
not user data. The in-process store is the default; a shared one (for several
replicas) implements the same `SeenEvents` protocol.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Protocol


SEEN_EVENT_TTL_SECONDS = 3600.0
"""How long an event is remembered: Slack retries within minutes, a Discord resume replays
at most a few minutes of events, so an hour is ample."""


class SeenEvents(Protocol):
    def first_time(self, event_key: str) -> bool:
        """Atomically mark `event_key` as seen; True only for its first delivery."""
        ...


@dataclass
class InMemorySeenEvents:
    """Seen event keys for `ttl_seconds`, at most `max_keys` of them, in this process."""

    ttl_seconds: float = SEEN_EVENT_TTL_SECONDS
    max_keys: int = 100_000
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[str, float] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def first_time(self, event_key: str) -> bool:
        now = self.clock()
        with self._lock:
            while self._seen:
                oldest_key, seen_at = next(iter(self._seen.items()))
                if now - seen_at < self.ttl_seconds and len(self._seen) < self.max_keys:
                    break
                del self._seen[oldest_key]
            if event_key in self._seen:
                return False
            self._seen[event_key] = now
            return True


@dataclass(frozen=True)
class KeyedSeenEvents:
    """`SeenEvents` over another store, each event key (a platform event ID, a channel and
    timestamp) replaced by its keyed hash first (`bot.service.privacy.event_key_hasher`), so a
    shared store holds no platform ID."""

    inner: SeenEvents
    hash_key: Callable[[str], str] = field(repr=False)

    def first_time(self, event_key: str) -> bool:
        return self.inner.first_time(self.hash_key(event_key))
