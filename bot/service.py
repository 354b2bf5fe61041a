"""What every adapter calls: one question from one user in, one `Answer` out.

The service wraps the answering core with what all platforms share: the per-user
rate limit and turning an unexpected failure into an apology (logged with its
traceback) so a bot never goes down over one question.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.answer import Answer, Outcome
from bot.core import AnsweringCore
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from bot.stores import Stores, stores_for

log = logging.getLogger(__name__)

RATE_LIMITED_MESSAGE = (
    "You're asking faster than I can keep up. Please wait a few seconds and ask again."
)
ERROR_MESSAGE = "Sorry, something went wrong while looking that up. Please try again in a moment."


@dataclass
class QuestionService:
    core: AnsweringCore
    limiter: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings, stores: Stores | None = None) -> "QuestionService":
        """The service for `settings`; `stores` lets a runner share its stores with its adapter."""
        return cls(
            core=AnsweringCore.from_settings(settings),
            limiter=(stores or stores_for(settings)).limiter,
        )

    def ask(self, question: str, user_key: str) -> Answer:
        """Answer `question` for the user behind `user_key` (an opaque key, never a raw ID).

        Never raises: a rate-limited user gets Outcome.RATE_LIMITED, a failure inside
        the core gets Outcome.ERROR with an apology (and the traceback in the log).
        """
        if not self.limiter.allow(user_key):
            return Answer(question=question, outcome=Outcome.RATE_LIMITED, message=RATE_LIMITED_MESSAGE)
        started = time.perf_counter()
        try:
            return self.core.answer(question)
        except Exception:
            log.exception("answering failed")
            return Answer(
                question=question,
                outcome=Outcome.ERROR,
                message=ERROR_MESSAGE,
                latency_ms=(time.perf_counter() - started) * 1000,
            )
