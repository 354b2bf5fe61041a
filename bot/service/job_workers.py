"""The threads that answer durable question jobs, on every replica sharing a Redis.

Each worker takes one job at a time (a job left by a stopped replica first, else a new one), so
a job in this replica's hands is always being worked on; a renewal thread keeps the claim on
every job in hand fresh, so only a replica that stopped has its jobs taken over. The platform
adapter's `handle(job)` answers and posts, and says what became of the job:

- `JobResult.DONE`: the reply is posted (or was already there, or the job is given up): acknowledged;
- `JobResult.RETRY`: nothing could be posted: left pending, delivered again after the claim expires;
- `JobResult.LOST_CLAIM`: another replica took it over meanwhile: left to that replica.

Failure behaviour: a Redis error in a worker is logged once per outage and retried every half
second; a job whose acknowledgement fails stays pending and is acknowledged by the replica that
takes it over (after finding its reply on the platform). An exception in `handle` is logged with
its traceback and the job is retried like RETRY. Stopping lets each worker finish its job.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from bot.stores.jobs import MAX_DELIVERIES, Job, QuestionJob, RedisJobQueue

# redis-py is imported by the workers' methods, not here: the adapters import `JobResult` whether
# or not the bot uses Redis, and workers run only with a queue, which has loaded it already.
if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

REDIS_RETRY_SECONDS = 0.5
TAKE_BLOCK_MS = 500


class JobResult(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    LOST_CLAIM = "lost claim"


@dataclass
class JobWorkers:
    """`count` threads answering jobs from `queue` with `handle`, until `stop()`."""

    queue: RedisJobQueue
    handle: Callable[[Job], JobResult]
    answer_here: Callable[[QuestionJob], None] = lambda job: None
    """Answers a question held through a long Redis outage, in this process (`resolve_held`)."""
    count: int = 4
    before_each: Callable[[], None] = lambda: None
    """Run before a job is answered (HTTP mode: wait for pending acknowledgements, `acks_first`)."""
    _stopping: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _threads: list[threading.Thread] = field(default_factory=list, init=False, repr=False)
    _in_hand: set[str] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _redis_down: bool = field(default=False, init=False, repr=False)

    def start(self) -> None:
        for number in range(self.count):
            thread = threading.Thread(target=self._work, name=f"qabot-jobs-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        for target, name in ((self._renew_claims, "qabot-jobs-renew"), (self._resolve_held, "qabot-jobs-held")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        import redis

        while not self._stopping.is_set():
            try:
                job = self.queue.take(TAKE_BLOCK_MS)
            except redis.RedisError as exc:
                self._redis_failed(exc)
                self._stopping.wait(REDIS_RETRY_SECONDS)
                continue
            self._redis_back()
            if job is not None:
                self._answer(job)

    def _answer(self, job: Job) -> None:
        import redis

        with self._lock:
            self._in_hand.add(job.job_id)
        try:
            if job.deliveries > MAX_DELIVERIES:
                log.error("gave up job %s after %d deliveries: its reply could not be posted", job.job_id, job.deliveries)
                self.queue.stats.given_up += 1
                result = JobResult.DONE
            else:
                self.before_each()
                try:
                    result = self.handle(job)
                except redis.RedisError:
                    raise  # Redis went away mid-job: nothing posted unless checked first; retried later
                except Exception:
                    log.exception("answering job %s failed; it is delivered again later", job.job_id)
                    result = JobResult.RETRY
            if result is JobResult.DONE:
                self.queue.done(job.job_id)
                self.queue.stats.answered += 1
        except redis.RedisError as exc:
            # Left pending: whoever takes it over looks for its reply first, and posts only if none.
            self._redis_failed(exc)
        finally:
            with self._lock:
                self._in_hand.discard(job.job_id)

    def _renew_claims(self) -> None:
        import redis

        # Four renewals per claim period: a replica busy for a moment still never misses its claim.
        while not self._stopping.wait(self.queue.claim_after_seconds / 4):
            with self._lock:
                in_hand = list(self._in_hand)
            for job_id in in_hand:
                try:
                    self.queue.renew(job_id)
                except redis.RedisError:
                    break  # the workers log the outage

    def _resolve_held(self) -> None:
        while not self._stopping.wait(REDIS_RETRY_SECONDS):
            if self.queue.held():
                self.queue.resolve_held(self.answer_here)

    def _redis_failed(self, exc: redis.RedisError) -> None:
        if not self._redis_down:
            self._redis_down = True
            log.warning(
                "Redis failed while answering jobs (%s: %s); retrying, and questions that arrive meanwhile "
                "are answered by the replica that receives them",
                type(exc).__name__,
                exc,
            )

    def _redis_back(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.info("Redis is back; answering queued jobs again")
