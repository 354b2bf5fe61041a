"""What the Slack stories share: the running app a test talks to, services that count or hold
questions, and ways to read what the bot posted."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answering.answer import Answer, Vote
from bot.service.questions import AskService, QuestionService
from bot.settings import Settings
from tests.support.slack_payloads import SignedSender
from tests.support.slack_server import FakeSlack, RecordedCall, texts_of

BBC_URL = "https://www.bbc.com/news/articles/cwy8dxz1g7zo"
SPOKESPERSON = "A Flock spokesperson said in an email to the BBC"


def everything_shown(call: RecordedCall) -> str:
    return "\n".join([call.params.get("text", ""), *texts_of(call.params.get("blocks", []))])


def section_quoting(call: RecordedCall, words: str) -> str:
    sections = [t for t in texts_of(call.params["blocks"]) if t.startswith(">") and words in t]
    assert sections, f"no passage quotes {words!r}: {texts_of(call.params['blocks'])}"
    return sections[0]


@dataclass
class CountingService:
    """A real service that also counts the questions it was asked (one question, one answer)."""

    inner: AskService
    questions: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ask(self, question: str, user_id: str, platform: str = "unknown", channel_id: str | None = None) -> Answer:
        with self._lock:
            self.questions.append(question)
        return self.inner.ask(question, user_id, platform, channel_id)

    def record_feedback(self, answer_id: int, user_id: str, vote: Vote, platform: str = "unknown") -> bool:
        return self.inner.record_feedback(answer_id, user_id, vote, platform)


@dataclass
class RunningSlackApp:
    fake: FakeSlack
    settings: Settings
    service: CountingService
    sender: SignedSender | None = None
    """HTTP mode only: sends signed requests to the app's /slack/events."""


AppStarter = Callable[..., RunningSlackApp]
ServiceMaker = Callable[[Settings], AskService]


@dataclass
class GatedService:
    """Holds every question until the test opens the gate: an answer that takes its time."""

    inner: QuestionService
    gate: threading.Event

    def ask(self, question: str, user_id: str, platform: str = "unknown", channel_id: str | None = None) -> Answer:
        assert self.gate.wait(10), "the test never opened the gate"
        return self.inner.ask(question, user_id, platform, channel_id)

    def record_feedback(self, answer_id: int, user_id: str, vote: Vote, platform: str = "unknown") -> bool:
        return self.inner.record_feedback(answer_id, user_id, vote, platform)
