"""What every adapter calls: one question from one user in, one `Answer` out.

The service wraps the answering core with what all platforms share: the per-user
rate limit, turning an unexpected failure into an apology (logged with its
traceback) so a bot never goes down over one question, the live reload of the
articles, and the private question log with 👍/👎 feedback.

A bot serves while its first index is built (`load_in_background`): until the core
is ready, a question gets "I'm still reading the articles (62%); ask again in a
minute" (Outcome.NOT_READY, not logged as a question) and a log line with the
percentage; if the articles cannot be read at all, it is told so, and the watcher
loads them as soon as they are fixed.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from bot.answering.answer import Answer, Outcome
from bot.answering.messages import ERROR_MESSAGE, NOT_LOADED_MESSAGE, RATE_LIMITED_MESSAGE, STILL_READING_MESSAGE
from bot.answering.answer import Vote
from bot.answering.conversation import Conversation
from bot.stores.conversations import ConversationStore, Conversations
from bot.stores.questionlog.store import QuestionLog
from bot.stores.ratelimit import RateLimiter
from bot.service.privacy import user_key
from bot.service.metrics import Metrics
from bot.service.reload import CorpusWatcher
from bot.service.request_ids import request_scope
from corpus import CorpusError
from index.progress import BuildProgress, BuildStopped

log = logging.getLogger(__name__)


RELOAD_SIGNAL: int | None = getattr(signal, "SIGHUP", None)
"""The signal that makes a running bot look at its articles at once (none on Windows)."""


class Answerer(Protocol):
    """What the service needs of the answering core (`bot.answering.core.AnsweringCore` is one).
    `conversation` is passed only for a question asked in a conversation."""

    def answer(self, question: str, conversation: Conversation | None = ...) -> Answer: ...


class AskService(Protocol):
    """What every adapter needs of the service: `QuestionService` is one; tests wrap it."""

    def ask(
        self,
        question: str,
        user_id: str,
        platform: str = ...,
        channel_id: str | None = ...,
        conversation: str | None = ...,
    ) -> Answer: ...

    def in_conversation(self, platform: str, conversation: str, max_questions: int | None = ...) -> bool: ...

    def link_conversation(self, platform: str, conversation: str, message: str) -> None: ...

    def link_message(self, answer_id: int, platform: str, message_ref: str) -> None: ...

    def answer_for_message(self, platform: str, message_ref: str) -> int | None: ...

    def record_feedback(self, answer_id: int, user_id: str, vote: Vote, platform: str = ...) -> bool: ...

    def withdraw_feedback(
        self, answer_id: int, user_id: str, vote: Vote | None = ..., platform: str = ...
    ) -> bool: ...


class JobAskService(AskService, Protocol):
    """What answering durable jobs needs besides `AskService`: asking by keys, not raw IDs."""

    def pseudonyms(self, platform: str, user_id: str, channel_id: str | None = ...) -> tuple[str, str | None]: ...

    def conversation_key(self, platform: str, conversation: str) -> str: ...

    def ask_as(
        self,
        question: str,
        user_key: str,
        platform: str,
        channel_key: str | None = ...,
        conversation_key: str | None = ...,
    ) -> Answer: ...

    def link_conversation_key(self, platform: str, conversation_key: str, message: str) -> None: ...


class IndexReadiness(str, enum.Enum):
    """Whether the service answers from the articles yet (/readyz's "index" check, `bot.app`)."""

    BUILDING = "building"
    """The first index is being built (or loaded); questions are told to ask again shortly."""
    READY = "ready"
    FAILED = "failed"
    """The articles could not be loaded at start; the watcher loads them once they are fixed."""


FIRST_LOAD_STOP_SECONDS = 10.0
"""How long `close()` waits for the first load to stop: a build stops within a batch (about 1%
of the articles), a load from the cache takes well under this."""


@dataclass
class QuestionService:
    core: Answerer | None
    """The core answering now; replaced whole (one assignment) when the articles reload.
    None until the first one is built (see `load_in_background`)."""
    limiter: RateLimiter
    question_log: QuestionLog | None = None
    watcher: CorpusWatcher[Any] | None = None
    id_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    """Keys the hashes of platform IDs: the deployment secret (`bot.app.deployment_secret`). A
    service built without one (a test, a tool) hashes with a random key of its own."""
    metrics: Metrics | None = None
    """Where questions and their latency are counted, for /metrics (none: not counted)."""
    conversations: Conversations = field(default_factory=ConversationStore)
    """Threads and reply chains under hashed keys, for follow-up questions: in this process's
    memory, or in Redis shared by the replicas (`bot.stores.choice`)."""
    _previous_handler: Any = field(default=None, init=False, repr=False)
    _installed_signal: int | None = field(default=None, init=False, repr=False)
    _progress: BuildProgress | None = field(default=None, init=False, repr=False)
    _load_error: str | None = field(default=None, init=False, repr=False)
    _first_load: threading.Thread | None = field(default=None, init=False, repr=False)
    _closing: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def ask(
        self,
        question: str,
        user_id: str,
        platform: str = "unknown",
        channel_id: str | None = None,
        conversation: str | None = None,
    ) -> Answer:
        """Answer `question` for the platform user `user_id`, asked in channel `channel_id`,
        as part of `conversation` (a thread or reply chain, named by the adapter) if given.

        The IDs are the platform's raw ones; they are turned into opaque keys here, before
        the rate limit, the question log or the conversation store sees them, and never kept
        as they are. The answer's `answer_id` is set when the question was logged, for
        `record_feedback`; its `follow_up_of` when it was read as a follow-up.

        Never raises: a rate-limited user gets Outcome.RATE_LIMITED, a failure inside
        the core gets Outcome.ERROR with an apology (and the traceback in the log).
        One line at info level says how it went, with the request's opaque ID (never the
        question, the user or the channel).
        """
        user_key, channel_key = self.pseudonyms(platform, user_id, channel_id)
        conversation_key = self.conversation_key(platform, conversation) if conversation is not None else None
        return self.ask_as(question, user_key, platform, channel_key, conversation_key)

    def pseudonyms(self, platform: str, user_id: str, channel_id: str | None = None) -> tuple[str, str | None]:
        """The keyed hashes the service knows a platform user and channel by (for a durable job,
        which must not carry the raw IDs)."""
        channel_key = self._key(platform, f"channel:{channel_id}") if channel_id is not None else None
        return self._key(platform, user_id), channel_key

    def ask_as(
        self,
        question: str,
        user_key: str,
        platform: str,
        channel_key: str | None = None,
        conversation_key: str | None = None,
    ) -> Answer:
        """`ask` for an asker already known by their keys (`pseudonyms`): a durable job's question,
        and every question `ask` is given. Logs the one info line per question. `conversation_key`
        is a conversation's hashed key (`conversation_key`, as `ask` makes it): the question is
        read as a follow-up there, and its turn kept there, whichever replica asks."""
        with request_scope():  # the ID is on every line logged meanwhile (bot.logging_setup)
            answer = self._answer_keyed(question, user_key, platform, channel_key, conversation_key)
            log.info(
                "question on %s: %s in %.0f ms%s",
                platform,
                answer.outcome.value,
                answer.latency_ms,
                f" (answer {answer.answer_id})" if answer.answer_id is not None else "",
                extra={
                    "event": "question",
                    "platform": platform,
                    "outcome": answer.outcome.value,
                    "latency_ms": round(answer.latency_ms, 1),
                    "answer_id": answer.answer_id,
                },
            )
            return answer

    def _answer_keyed(
        self, question: str, user_key: str, platform: str, channel_key: str | None, conversation_key: str | None
    ) -> Answer:
        self._start_background_work()
        if not self.limiter.allow(user_key):
            # Not logged: a flood of refused questions would tell nothing about the articles.
            if self.metrics is not None:
                self.metrics.question(platform, Outcome.RATE_LIMITED.value, None)
            return Answer(question=question, outcome=Outcome.RATE_LIMITED, message=RATE_LIMITED_MESSAGE)
        started = time.perf_counter()
        core = self.core  # one read: a reload swapping the core mid-question changes nothing here
        if core is None:
            return self._not_ready(question)
        conversation = self._open_conversation(conversation_key)
        try:
            if conversation is None:
                answer = core.answer(question)
            else:
                answer = core.answer(question, conversation)
        except Exception:
            log.exception("answering failed")
            answer = Answer(question=question, outcome=Outcome.ERROR, message=ERROR_MESSAGE)
        else:
            if conversation is not None and conversation_key is not None:
                self._save_conversation(conversation_key, conversation)
        latency_ms = (time.perf_counter() - started) * 1000
        answer = dataclasses.replace(answer, latency_ms=latency_ms)
        if self.metrics is not None:
            self.metrics.question(platform, answer.outcome.value, latency_ms / 1000)
        answer_id = self._log(answer, question, platform, user_key, channel_key, latency_ms)
        return dataclasses.replace(answer, answer_id=answer_id) if answer_id is not None else answer

    # -- serving while the first index is built ------------------------------------

    @property
    def readiness(self) -> IndexReadiness:
        if self.core is not None:
            return IndexReadiness.READY
        return IndexReadiness.FAILED if self._load_error is not None else IndexReadiness.BUILDING

    @property
    def build_percent(self) -> int | None:
        """How far the running build has got (0..100), None before it reports."""
        progress = self._progress
        if progress is None or progress.finished:
            return None
        return int(progress.fraction * 100)

    def load_in_background(self) -> None:
        """Build the first core in a background thread (the watcher's `load`); returns at once."""
        self._first_load = threading.Thread(target=self._load_first, name="qabot-first-load", daemon=True)
        self._first_load.start()

    def _load_first(self) -> None:
        assert self.watcher is not None
        started = time.perf_counter()
        try:
            core = self.watcher.load()
        except BuildStopped:
            log.info("stopped before the articles were read")
            return
        except Exception as exc:  # CorpusError (no article loads), or a bug: never kill the bot
            log.error(
                "the articles could not be loaded (%s); questions are told so, and the articles are "
                "loaded as soon as they are fixed",
                exc,
                exc_info=not isinstance(exc, CorpusError),
            )
            # After the log line: whoever sees the bot failed (readiness, a reply) finds why in the log.
            self._load_error = str(exc)
        else:
            self._swap_core(core)
            log.info("ready: the articles are read (%.1f s); answering questions", time.perf_counter() - started)
        if self._closing.is_set():
            return  # closed meanwhile: no watcher and no purging after close()
        self._start_background_work()  # watch the folder: a fix is picked up, as any change

    def build_progress(self, progress: BuildProgress) -> None:
        """Hears the index build's progress (see `index.progress`), for the replies while building;
        stops the build once the service is closing."""
        if self._closing.is_set():
            raise BuildStopped("the bot is stopping")
        self._progress = progress

    def _not_ready(self, question: str) -> Answer:
        """The reply while there is no core yet. Not logged as a question: it says nothing of the articles."""
        if self._load_error is not None:
            log.info("a question came while the articles cannot be loaded (readiness: failed)")
            return Answer(question=question, outcome=Outcome.NOT_READY, message=NOT_LOADED_MESSAGE)
        percent = self.build_percent
        shown = f" ({percent}%)" if percent is not None else ""
        log.info("a question came while the articles are still being read%s (readiness: building)", shown or "")
        return Answer(question=question, outcome=Outcome.NOT_READY, message=STILL_READING_MESSAGE.format(progress=shown))

    def _key(self, platform: str, raw_id: str) -> str:
        return user_key(platform, str(raw_id), self.id_secret)

    def conversation_key(self, platform: str, conversation: str) -> str:
        """The keyed hash a conversation (a thread, a reply chain; raw IDs) is kept under: what a
        durable job carries instead of the thread's IDs."""
        return self._key(platform, f"conversation:{conversation}")

    # -- conversations ------------------------------------------------------------

    def _open_conversation(self, conversation_key: str | None) -> Conversation | None:
        # The stores never raise by contract (Redis down: this replica's own memory); should one
        # break it, the question is answered on its own rather than not at all.
        if conversation_key is None:
            return None
        try:
            return self.conversations.open(conversation_key)
        except Exception:
            log.warning("the conversation store failed; answering the question on its own", exc_info=True)
            return None

    def _save_conversation(self, conversation_key: str, conversation: Conversation) -> None:
        try:
            self.conversations.save(conversation_key, conversation)
        except Exception:
            log.warning("the conversation store failed; this turn is not remembered", exc_info=True)

    def in_conversation(self, platform: str, conversation: str, max_questions: int | None = None) -> bool:
        """Whether `conversation` is one the bot answered in and has not expired (and, with
        `max_questions`, has had fewer questions than that): where a message with no mention
        is still a follow-up."""
        found = self.conversations.find(self.conversation_key(platform, conversation))
        return found is not None and found.questions > 0 and (max_questions is None or found.questions < max_questions)

    def link_conversation(self, platform: str, conversation: str, message: str) -> None:
        """The bot posted `message` in `conversation`: asking with `message` as the conversation
        (a reply to it) continues `conversation`. Both are raw references; kept hashed."""
        self.link_conversation_key(platform, self.conversation_key(platform, conversation), message)

    def link_conversation_key(self, platform: str, conversation_key: str, message: str) -> None:
        """`link_conversation` for a conversation known by its hashed key (a durable job's)."""
        self.conversations.link(self.conversation_key(platform, message), conversation_key)

    def record_feedback(self, answer_id: int, user_id: str, vote: Vote | int | str, platform: str = "unknown") -> bool:
        """Record a 👍 (Vote.UP) or 👎 (Vote.DOWN) by platform user `user_id` on a logged answer;
        voting again changes it.

        False when there is nothing to vote on (no question log, or the answer is unknown or
        expired). Never raises on a log failure; an unknown vote value raises ValueError.
        """
        parsed = Vote.parse(vote)
        if self.question_log is None:
            return False
        key = self._key(platform, user_id)
        with request_scope():
            recorded = bool(self._guarded(lambda log_: log_.record_feedback(answer_id, key, parsed), False))
            log.info(
                "vote on %s: %s on answer %s %s",
                platform,
                parsed.name.lower(),
                answer_id,
                "recorded" if recorded else "not recorded (unknown or expired answer)",
                extra={"event": "vote", "platform": platform, "vote": parsed.name.lower(), "answer_id": answer_id},
            )
        return recorded

    def withdraw_feedback(
        self, answer_id: int, user_id: str, vote: Vote | int | str | None = None, platform: str = "unknown"
    ) -> bool:
        """Forget a user's vote (a removed reaction); with `vote`, only if it was that vote."""
        if self.question_log is None:
            return False
        key = self._key(platform, user_id)
        return self._guarded(lambda log_: log_.withdraw_feedback(answer_id, key, vote), False)

    def link_message(self, answer_id: int, platform: str, message_ref: str) -> None:
        """Remember that chat message `message_ref` shows answer `answer_id` (for reactions on it).
        `message_ref` may hold raw IDs (Slack's channel and timestamp): the log keeps it hashed."""
        if self.question_log is not None:
            self._guarded(lambda log_: log_.link_message(answer_id, platform, message_ref), None)

    def answer_for_message(self, platform: str, message_ref: str) -> int | None:
        if self.question_log is None:
            return None
        return self._guarded(lambda log_: log_.answer_for_message(platform, message_ref), None)

    # -- live reload ------------------------------------------------------------

    def watch_corpus(self, reload_signal: int | None = RELOAD_SIGNAL) -> None:
        """Start watching the articles now, and reload at once on `reload_signal` (SIGHUP).

        Runners call this from the main thread; asking also starts the watching, but
        without the signal. The signal handler only wakes the watcher thread.
        """
        self._start_background_work()
        if (
            self.watcher is not None
            and reload_signal is not None
            and self._installed_signal is None
            and threading.current_thread() is threading.main_thread()  # where Python allows handlers
        ):
            watcher = self.watcher
            self._previous_handler = signal.signal(reload_signal, lambda _signum, _frame: watcher.wake())
            self._installed_signal = reload_signal

    def close(self) -> None:
        """Stop the first load (a build stops at its next batch; loading from the cache and the
        model's file is waited for, up to FIRST_LOAD_STOP_SECONDS), stop watching, put the previous
        signal handler back, close the question log.

        The first load is waited for because a daemon thread still inside a native library
        (safetensors, when the process exits) can abort the whole process at exit, exit code -6
        instead of the command's own."""
        self._closing.set()
        first_load = self._first_load
        if first_load is not None and first_load is not threading.current_thread():
            first_load.join(FIRST_LOAD_STOP_SECONDS)
            if first_load.is_alive():
                log.warning("stopping although the articles are still being read")
        if self.watcher is not None:
            self.watcher.stop()
        if self._installed_signal is not None and threading.current_thread() is threading.main_thread():
            signal.signal(self._installed_signal, self._previous_handler or signal.SIG_DFL)
            self._installed_signal = None
        if self.question_log is not None:
            self.question_log.close()

    def _start_background_work(self) -> None:
        """Watching the articles, and deleting expired questions: idempotent, cheap when running."""
        if self.watcher is not None and not self.watcher.watching:
            self.watcher.start(self._swap_core)
        if self.question_log is not None:
            self.question_log.start_purging()

    def _swap_core(self, core: Answerer) -> None:
        if self.core is None and self._load_error is not None:
            log.info("ready: the articles load now; answering questions")
        self._load_error = None
        self.core = core

    # -- the question log -----------------------------------------------------------

    def _log(
        self,
        answer: Answer,
        question: str,
        platform: str,
        user_key: str,
        channel_key: str | None,
        latency_ms: float,
    ) -> int | None:
        if self.question_log is None:
            return None
        return self._guarded(
            lambda log_: log_.record(
                answer,
                question=question if isinstance(question, str) else "",
                platform=platform,
                user_key=user_key,
                channel_key=channel_key,
                latency_ms=latency_ms,
            ),
            None,
        )

    def _guarded(self, action: Callable[[QuestionLog], Any], failed: Any) -> Any:
        """Run a question-log action; a log failure is logged (without the data) and never reaches the user."""
        assert self.question_log is not None
        try:
            return action(self.question_log)
        except Exception as exc:
            log.warning("the question log failed (%s); answering goes on", type(exc).__name__)
            return failed
