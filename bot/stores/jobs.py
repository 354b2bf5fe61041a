"""Durable question jobs in a Redis Stream, so a replica that dies loses no accepted question.

Each accepted question is added to one stream (`XADD`) before the platform is told it arrived,
together with its answered-event keys in one Lua script: either the job is queued and the event
marked seen, or neither (a replica dying in between cannot leave an event marked but unqueued).
Every replica reads the stream through one consumer group (`XREADGROUP`), acknowledges a job
(`XACK`, then `XDEL`: answered jobs keep no question text) once its reply is posted, and takes
over (`XAUTOCLAIM`) jobs left idle longer than `claim_after_seconds` by a replica that stopped.

A taken-over job may already have been answered (its replica died between posting and
acknowledging), so the caller checks the platform for a reply tagged with the job's ID before
posting again (`Job.deliveries > 1` says when). While working on a job a replica renews its
claim every few seconds (`renew`, an `XCLAIM` by its owner only), so a slow answer is never
taken over; and just before posting it checks it still owns the job (`still_mine`).

Failure behaviour: when Redis cannot be reached (through the shared `OutageGuard`: one warning
per outage), `submit` holds the question in this process and returns None; `resolve_held` queues
it once Redis answers (unless its call did queue it after all), or, after `HOLD_SECONDS`, has it
answered by this replica. A held question dies with its replica. Reading, acknowledging and renewing raise `redis.RedisError`; the worker loop waits and retries.
A job acknowledged while Redis was down stays pending and is checked and acknowledged by whoever
takes it over. Entries carry no raw user ID: the asker, channel and conversation are keyed
hashes (where to reply, the platform's channel and thread, is all that is kept as it is).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from bot.stores.seen_events import SEEN_EVENT_TTL_SECONDS

# redis-py (0.3 s of a start) is imported by the queue's methods, not here: the adapters import
# this module for `QuestionJob` and `Job` whether or not the bot uses Redis, and a queue exists
# only once `bot.stores.choice` has connected to one (so redis is loaded by then).
if TYPE_CHECKING:
    import redis

    from bot.stores.redis_stores import OutageGuard

log = logging.getLogger(__name__)

CLAIM_AFTER_SECONDS = 10.0
"""A job idle this long (no renewal) belongs to a replica that stopped: another takes it over."""
HOLD_SECONDS = 20.0
"""A question that could not be queued (Redis down) is held this long for Redis to come back,
then answered by the replica that received it."""
MAX_DELIVERIES = 5
"""A job delivered this often (its replies kept failing) is given up, with an error line."""

# KEYS: the stream, then the seen keys. ARGV: the job's fields as JSON, the seen keys' TTL (ms),
# the stream's approximate maximum length. Returns the new entry's ID, or false for a repeat.
SUBMIT_SCRIPT = """
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return false end
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], '1', 'PX', ARGV[2])
end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'job', ARGV[1])
"""

# KEYS[1]: the stream. ARGV: group, consumer, entry ID. Renews the claim only for its owner.
RENEW_SCRIPT = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #pending == 0 or pending[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""


@dataclass(frozen=True)
class QuestionJob:
    """What answering one question needs, whichever replica does it. Grows by adding fields with
    defaults: an entry written by an older replica lacks them, and unknown ones are ignored."""

    platform: str
    surface: str
    """How it was asked, for the log line: "mention", "direct message"."""
    question: str
    user_key: str
    """The asker as the service's keyed hash, never the platform's ID."""
    channel_key: str | None = None
    reply_to: Mapping[str, str] = field(default_factory=dict)
    """Where the reply goes, in the platform's own terms (Slack: channel, thread_ts, ts)."""
    received_at: float = 0.0
    conversation_key: str | None = None
    """The thread or reply chain the question belongs to, as the service's keyed hash (never the
    thread's IDs): the worker answers it as a follow-up there. Worked out on receipt, where it is
    known whether the message replies to the bot or is in a thread; None: answered on its own
    (and so is a job written by a replica older than conversations in jobs)."""

    def encode(self) -> str:
        # ASCII: a lone surrogate (odd Unicode a platform can send) survives the trip through Redis.
        return json.dumps(dataclasses.asdict(self), ensure_ascii=True)

    @classmethod
    def decode(cls, text: str) -> "QuestionJob":
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Job:
    """One job as a replica read it: the stream entry's ID, its question, how often delivered."""

    job_id: str
    question: QuestionJob
    deliveries: int = 1


@dataclass
class JobQueueStats:
    """Counters for the metrics: read with `snapshot()` (thread-safe enough for counters)."""

    submitted: int = 0
    answered: int = 0
    reclaimed: int = 0
    found_already_answered: int = 0
    given_up: int = 0
    held: int = 0
    """Questions received while Redis was unreachable (held, then queued or answered here)."""


@dataclass(frozen=True)
class HeldQuestion:
    job: QuestionJob
    redis_keys: list[str]
    since: float


@dataclass
class RedisJobQueue:
    """The stream `<prefix>:jobs` and its consumer group `<prefix>:answerers`."""

    client: redis.Redis = field(repr=False)
    guard: OutageGuard
    consumer: str
    """This replica's name in the group (unique per process)."""
    seen_key: Callable[[str], str] = field(repr=False, default=lambda key: key)
    """Turns an event key into its Redis key (the keyed hash the seen-events store uses)."""
    prefix: str = "qabot"
    claim_after_seconds: float = CLAIM_AFTER_SECONDS
    command_timeout_seconds: float | None = None
    """The client's wait per command (QABOT_REDIS_TIMEOUT): a blocking read waits at most half of
    it, or every quiet read would time out, be retried and be logged as an outage."""
    max_length: int = 100_000
    stats: JobQueueStats = field(default_factory=JobQueueStats)
    clock: Callable[[], float] = time.monotonic
    _held: list[HeldQuestion] = field(default_factory=list, init=False, repr=False)
    _held_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._submit = self.client.register_script(SUBMIT_SCRIPT)
        self._renew = self.client.register_script(RENEW_SCRIPT)

    @property
    def stream(self) -> str:
        return f"{self.prefix}:jobs"

    @property
    def group(self) -> str:
        return f"{self.prefix}:answerers"

    def submit(self, job: QuestionJob, event_keys: Iterable[str]) -> str | bool | None:
        """Queue `job` unless one of `event_keys` was seen: its ID, or False for a repeat.

        None: Redis could not be asked, and the job is held in this process (`resolve_held`).
        It is not answered here at once: a call that failed may still have queued it (Redis
        going down after running the script, before its reply), and answering it here too
        would answer it twice."""
        keys = [self.stream, *(self.seen_key(k) for k in event_keys)]

        def hold() -> None:
            with self._held_lock:
                self._held.append(HeldQuestion(job, keys, self.clock()))
                self.stats.held += 1
            return None

        return self.guard.call(lambda: self._run_submit(job, keys), hold)

    def _run_submit(self, job: QuestionJob, keys: list[str]) -> str | bool:
        entry = self._submit(keys=keys, args=[job.encode(), int(SEEN_EVENT_TTL_SECONDS * 1000), self.max_length])
        if not entry:
            return False
        self.stats.submitted += 1
        return entry.decode("ascii") if isinstance(entry, bytes) else str(entry)

    def resolve_held(self, answer_here: Callable[[QuestionJob], None], hold_seconds: float = HOLD_SECONDS) -> None:
        """Settle the questions held while Redis was unreachable: once it answers, one whose
        answered-event key is there was queued after all (or delivered again to another replica)
        and is dropped, any other is queued now; one held longer than `hold_seconds` is answered
        here, by `answer_here`."""
        import redis

        with self._held_lock:
            held, self._held = self._held, []
        keep: list[HeldQuestion] = []
        queued = found = 0
        for item in held:
            try:
                queued_already = len(item.redis_keys) > 1 and bool(self.client.exists(item.redis_keys[1]))
                if not queued_already:
                    self._run_submit(item.job, item.redis_keys)
                queued, found = queued + (not queued_already), found + queued_already
            except redis.RedisError:
                if self.clock() - item.since < hold_seconds:
                    keep.append(item)
                    continue
                log.warning("Redis unreachable for %.0f s: answering a held question here", hold_seconds)
                try:
                    answer_here(item.job)
                except Exception:
                    log.exception("answering a held question failed")
        if keep:
            with self._held_lock:
                self._held[:0] = keep
        if queued or found:
            log.info("Redis answers again: queued %d held question(s); %d had been queued after all", queued, found)

    def held(self) -> int:
        with self._held_lock:
            return len(self._held)

    def ensure_group(self) -> None:
        import redis

        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def take(self, block_ms: int) -> Job | None:
        """A job left by a stopped replica, else a new one (waiting up to `block_ms`), else None."""
        import redis

        try:
            return self._take(block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_group()  # a Redis restarted without its data: start the group again
            return None

    def _take(self, block_ms: int) -> Job | None:
        idle_ms = int(self.claim_after_seconds * 1000)
        claimed = self.client.xautoclaim(self.stream, self.group, self.consumer, idle_ms, "0-0", count=1)
        entries = claimed[1] if len(claimed) > 1 else []
        for entry_id, fields in entries:
            job = self._job(entry_id, fields, reclaimed=True)
            if job is not None:
                return job
        if self.command_timeout_seconds is not None:
            block_ms = max(1, min(block_ms, int(self.command_timeout_seconds * 1000 / 2)))
        # redis-py types the reply loosely; it is [[stream, [(entry ID, fields), ...]], ...].
        read: list[Any] = self.client.xreadgroup(  # type: ignore[assignment]
            self.group, self.consumer, {self.stream: ">"}, count=1, block=block_ms
        )
        for _stream, stream_entries in read or []:
            for entry_id, fields in stream_entries:
                job = self._job(entry_id, fields, reclaimed=False)
                if job is not None:
                    return job
        return None

    def _job(self, entry_id: Any, fields: Mapping[bytes, bytes] | None, *, reclaimed: bool) -> Job | None:
        job_id = entry_id.decode("ascii") if isinstance(entry_id, bytes) else str(entry_id)
        if not fields or b"job" not in fields:  # deleted meanwhile, or not ours: nothing to answer
            self.done(job_id)
            return None
        try:
            question = QuestionJob.decode(fields[b"job"].decode("utf-8"))
        except (ValueError, TypeError) as exc:
            log.error("dropped job %s that cannot be read (%s)", job_id, type(exc).__name__)
            self.done(job_id)
            return None
        deliveries = 1
        if reclaimed:
            self.stats.reclaimed += 1
            deliveries = self._deliveries(job_id)
        return Job(job_id, question, deliveries)

    def _deliveries(self, job_id: str) -> int:
        pending = self.client.xpending_range(self.stream, self.group, min=job_id, max=job_id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 2

    def renew(self, job_id: str) -> bool:
        """Keep the claim on a job being worked on; False when another replica has taken it."""
        return bool(self._renew(keys=[self.stream], args=[self.group, self.consumer, job_id]))

    still_mine = renew
    """Just before posting: renew the claim, and learn whether it is still this replica's."""

    def done(self, job_id: str) -> None:
        """The job's reply is posted (or it needs none): acknowledge and delete it."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, job_id)
            pipe.xdel(self.stream, job_id)
            pipe.execute()

    def waiting(self) -> int:
        """Jobs queued or being answered (for the metrics); raises redis.RedisError."""
        return int(self.client.xlen(self.stream))
