"""Stopping `qabot slack` lets the answers being worked out finish.

Bolt runs each listener on its executor's threads, after the request was acknowledged. On
SIGTERM the runner first stops taking requests, then `drain()`s this executor: it waits, up to a
bound, for the listeners already running or queued, so that their answers are posted and recorded
in the question log before the service closes it. A listener still running after the bound is
left to finish on its own (the pool's threads are not daemons); the runner logs how many.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Callable, TypeVar

T = TypeVar("T")

BOLT_DEFAULT_WORKERS = 5
DRAIN_SECONDS = 5.0
"""How long stopping waits for answers being worked out (as the Discord adapter's)."""


class DrainingExecutor(ThreadPoolExecutor):
    """A thread pool that knows its unfinished tasks, for `drain()`."""

    def __init__(self, max_workers: int = BOLT_DEFAULT_WORKERS) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="slack-answer")
        self._unfinished: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._unfinished.add(future)
        future.add_done_callback(self._forget)  # called at once if it is already done
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._unfinished.discard(future)

    def drain(self, timeout: float = DRAIN_SECONDS) -> int:
        """Wait up to `timeout` seconds for the tasks submitted so far; how many are unfinished."""
        with self._lock:
            unfinished = set(self._unfinished)
        if not unfinished:
            return 0
        _, still_running = wait(unfinished, timeout)
        return len(still_running)
