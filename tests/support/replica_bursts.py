"""Slack delivering a burst of events to several replicas behind a load balancer.

Each event goes to the next replica in turn; a delivery that fails (the replica refuses the
connection, drops it, or answers anything but 200) is sent again to another replica with
`X-Slack-Retry-Num`, as Slack retries an event it got no 200 for. What reached whom is counted.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from tests.support.slack_payloads import SignedSender

MAX_ATTEMPTS = 6


@dataclass
class Delivery:
    """How one event was delivered: the replicas tried, in order, and the one that said 200."""

    tried: list[int] = field(default_factory=list)
    accepted_by: int | None = None


@dataclass
class BurstDelivery:
    senders: Sequence[SignedSender]
    alive: Callable[[int], bool] = lambda index: True
    """Whether replica `index` is still up (a load balancer stops sending to a dead one)."""
    accepted: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _turn: Any = field(default_factory=lambda: itertools.count())

    def deliver_all(self, events: list[dict[str, Any]], concurrency: int = 12) -> list[Delivery]:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            return list(pool.map(self.deliver, events))

    def deliver(self, event: dict[str, Any]) -> Delivery:
        delivery = Delivery()
        first = next(self._turn)
        for attempt in range(MAX_ATTEMPTS):
            index = (first + attempt) % len(self.senders)
            if attempt and not self.alive(index):
                index = (index + 1) % len(self.senders)
            delivery.tried.append(index)
            try:
                status = self.senders[index].post_event(event, retry_num=attempt or None).status
            except (OSError, http.client.HTTPException):
                status = 0  # refused, reset or cut off: Slack saw no 200
            if status == 200:
                delivery.accepted_by = index
                with self._lock:
                    self.accepted += 1
                return delivery
            time.sleep(0.2 * (attempt + 1))
        return delivery
