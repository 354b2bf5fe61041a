"""In HTTP mode, acknowledging Slack's requests comes before answering them.

A burst of events is acknowledged by the HTTP server's threads and answered by Bolt's
worker threads. In one Python process they share one interpreter lock, so the answering
slows down the acknowledgements, which Slack wants within 3 seconds (else it sends the
event again). An answer therefore starts only once no request is waiting to be
acknowledged, or after `max_wait_seconds`, so that answers never stall under a steady load.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, TypeVar

from bot.adapters.slack.draining import BOLT_DEFAULT_WORKERS, DrainingExecutor

T = TypeVar("T")


@dataclass
class AcknowledgementsFirst:
    """Counts requests being acknowledged; `wait_for_acknowledgements` holds an answer back."""

    max_wait_seconds: float = 1.0
    _pending: int = field(default=0, init=False)
    _changed: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)

    @contextlib.contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Around the handling of one HTTP request, from its arrival to its response."""
        with self._changed:
            self._pending += 1
        try:
            yield
        finally:
            with self._changed:
                self._pending -= 1
                if self._pending == 0:
                    self._changed.notify_all()

    def wait_for_acknowledgements(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._pending == 0, timeout=self.max_wait_seconds)

    def executor(self, max_workers: int = BOLT_DEFAULT_WORKERS) -> DrainingExecutor:
        """Bolt's listener executor, its tasks started after the acknowledgements."""
        return _AnsweringAfterAcknowledgements(self, max_workers)


class _AnsweringAfterAcknowledgements(DrainingExecutor):
    def __init__(self, gate: AcknowledgementsFirst, max_workers: int) -> None:
        super().__init__(max_workers)
        self._gate = gate

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        def after_acknowledgements() -> T:
            self._gate.wait_for_acknowledgements()
            return fn(*args, **kwargs)

        return super().submit(after_acknowledgements)
