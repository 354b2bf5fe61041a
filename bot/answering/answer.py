"""The one neutral value the core hands to every adapter.

The core never formats for a platform; an adapter never searches. Everything a
reply needs (the passages, their sources, whether the articles really answer)
travels in an `Answer`, and each adapter turns it into its own markup.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from corpus import Article


class Outcome(str, enum.Enum):
    """Why the answer looks the way it does; adapters may style each differently."""

    ANSWERED = "answered"
    """The best passages answer the question with enough confidence."""
    NOT_FOUND = "not_found"
    """The articles do not answer; `passages` may hold the closest ones, marked as such."""
    CHAT = "chat"
    """Chat noise ("help", "thanks", "lol", "quit", "?"): not searched; the message says what
    the bot answers from, with an example question."""
    INVALID_QUESTION = "invalid_question"
    """Empty, too long, or nothing searchable left after cleaning."""
    RATE_LIMITED = "rate_limited"
    """The asker sent too many questions too quickly."""
    ERROR = "error"
    """Something failed inside the bot; the user gets an apology."""
    NOT_READY = "not_ready"
    """The bot has just started and is still reading the articles (its first index is being
    built), or could not read them at all; the message says which, and to ask again later."""


@dataclass(frozen=True)
class Source:
    """Where a passage comes from. Unknown metadata stays None, never guessed."""

    article_id: str
    label: str
    """What to call the article: its title, else its publisher, else its first words."""
    title: str | None = None
    publisher: str | None = None
    author: str | None = None
    published: str | None = None
    """ISO date (YYYY-MM-DD) or None."""
    url: str | None = None
    sentence: str | None = None
    """For a source listed under a passage's `also_reported_by`: its own sentence, verbatim,
    that states the passage's fact, so anyone can check the credit. None for a passage's own
    source (its sentence is the passage's)."""

    @classmethod
    def of(cls, article: Article, sentence: str | None = None) -> "Source":
        """The source of a passage from `article` (with its own `sentence` when it is an
        "also reported by" credit)."""
        return cls(
            article_id=article.article_id,
            label=article.label,
            title=article.title,
            publisher=article.publisher,
            author=article.author,
            published=article.published.isoformat() if article.published else None,
            url=article.url,
            sentence=sentence,
        )

    @property
    def name(self) -> str:
        """How a reply names the source: "label · publisher", or the label alone when the
        publisher is unknown or is the label."""
        if self.publisher and self.publisher != self.label:
            return f"{self.label} · {self.publisher}"
        return self.label

@dataclass(frozen=True)
class Passage:
    """A matched sentence with its neighbouring sentences, quoted verbatim from an article."""

    sentence: str
    """The sentence that matched the question, exactly as in the article."""
    before: str
    """The sentence(s) just before it in the same paragraph ('' if none)."""
    after: str
    """The sentence(s) just after it in the same paragraph ('' if none)."""
    score: float
    source: Source
    also_reported_by: tuple[Source, ...] = ()
    """Other articles whose own sentence (each one's `Source.sentence`) states the same fact."""
    similarity: float | None = None
    """Cosine of question and sentence under the semantic model (QABOT_SEMANTIC_MODEL); None when off."""

    @property
    def text(self) -> str:
        """The whole passage as it reads in the article."""
        return " ".join(part for part in (self.before, self.sentence, self.after) if part)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "sentence": self.sentence,
            "before": self.before,
            "after": self.after,
            "score": round(self.score, 4),
            "similarity": None if self.similarity is None else round(self.similarity, 4),
            "title": self.source.title,
            "publisher": self.source.publisher,
            "url": self.source.url,
            "label": self.source.label,
            "author": self.source.author,
            "published": self.source.published,
            "article_id": self.source.article_id,
            "also_reported_by": [
                {
                    "title": s.title,
                    "publisher": s.publisher,
                    "url": s.url,
                    "label": s.label,
                    "article_id": s.article_id,
                    "sentence": s.sentence,
                }
                for s in self.also_reported_by
            ],
        }


@dataclass(frozen=True)
class Answer:
    """The core's reply to one question."""

    question: str
    """The question as the core understood it (cleaned, possibly shortened for display)."""
    outcome: Outcome
    message: str
    """One plain sentence for the user: what the passages are, or why there are none."""
    passages: tuple[Passage, ...] = ()
    coverage: str = ""
    """What the corpus is about, offered when the question is not answered."""
    confidence: float = 0.0
    """0..1: how much of the question's weight the best passage covers."""
    latency_ms: float = 0.0
    signals: dict[str, float] = field(default_factory=dict, compare=False)
    """What the decline decision was made from (`index.decline`), for fitting it and for `qabot eval`;
    empty when no passage was ranked."""
    answer_id: int | None = None
    """The question log's ID for this answer, for 👍/👎 feedback; None when it was not logged."""
    follow_up_of: str | None = None
    """For a follow-up in a conversation ("why?", "tell me more"): the earlier question it was
    read with, for adapters to show "(about: …)"; None for a question read on its own."""

    @property
    def answered(self) -> bool:
        return self.outcome is Outcome.ANSWERED

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answered": self.answered,
            "outcome": self.outcome.value,
            "message": self.message,
            "coverage": self.coverage,
            "confidence": round(self.confidence, 4),
            "passages": [p.to_dict() for p in self.passages],
        }


_SKIN_TONES = re.compile("[\U0001F3FB-\U0001F3FF\uFE0F]")


class Vote(enum.IntEnum):
    UP = 1
    DOWN = -1

    @classmethod
    def parse(cls, value: "Vote | int | str") -> "Vote":
        if isinstance(value, Vote):
            return value
        # Reactions may carry a skin tone: Slack's "+1::skin-tone-3", or a modifier after the emoji.
        text = _SKIN_TONES.sub("", str(value).strip().lower().split("::")[0])
        if text in {"1", "+1", "up", "👍", "thumbsup"}:
            return cls.UP
        if text in {"-1", "down", "👎", "thumbsdown"}:
            return cls.DOWN
        raise ValueError(f"not a vote: {value!r}; use up or down")
