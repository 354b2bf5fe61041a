"""Follow-up questions: how a message is read in the light of the conversation it belongs to.

People in a chat ask "why did ring drop flock?", read the answer, then type "why?",
"when was that?", "who said that?", "what about axon?" or "tell me more". A `Conversation`
holds the last few questions of one thread or reply chain (each as the texts it was read
with) and the passages already shown; `read_follow_up` decides how a new message is read:

- "tell me more", "more", "anything else?": the previous reading again, showing the
  next-best passages not shown yet (`FollowUp.exclude`);
- a short or anaphoric follow-up ("why?", "who said that?", "and ring?", "what about
  X?"): its own words at full weight, the earlier question's words carried over below
  them (`CARRY_WEIGHT`), and its own kind (why, when, who, how much), when it has one,
  deciding what kind of sentence answers (`follow_up_query`);
- anything else, a complete question: read on its own.

Nothing here searches or writes: every word shown is still a quoted passage. A conversation
is kept by a store (`bot.stores.conversations`, in memory; `bot.stores.redis_conversations`,
shared by replicas), bounded to `MAX_TURNS` questions.

Failure behaviour: nothing here raises on any text. `Conversation` is safe to share between
threads (a lock guards its turns); two messages answered at once in one thread may both be
read against the same earlier turn, which is harmless.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import deque
from dataclasses import dataclass

from bot.answering.answer import Answer, Outcome, Passage
from index.analysis import Analyzer
from index.query import (
    MAX_CONCEPTS,
    Concept,
    Lexicon,
    Query,
    QuestionKind,
    Vocabulary,
    parse_question,
)

MAX_TURNS = 5
"""Questions kept per conversation: a follow-up refers to the last one, rarely further."""
MAX_READING = 3
"""Texts a follow-up is read with: its own and at most two earlier ones ("who said that?"
after "why?" after the first question)."""
CARRY_WEIGHT = 0.5
"""An earlier question's words weigh this much of their own weight in a follow-up, so the
follow-up's new words decide between passages that both match the earlier topic."""
MAX_SHOWN = 200
"""Passages remembered as shown per conversation (a few per answer; a bound on memory)."""
COMPLETE_CONCEPTS = 2
"""A message with this many searchable words of its own is a complete question..."""
ANAPHORIC_COMPLETE_CONCEPTS = 3
"""...unless it points back ("it", "that", "they"): then it needs this many."""

_MORE = re.compile(
    r"^(?:(?:and|ok|okay|so|please)\s+)?(?:tell me more|more|any ?more|anything else|what else|something else"
    r"|go on|continue|keep going|more please|please continue|more info|more details|and|and then|say more"
    r"|tell me more (?:about )?(?:it|that|this|them)|what more|else|more of that|next)"
    r"(?:\s+please)?[\s?!.…]*$",
    re.IGNORECASE,
)
"""A request for more of the same: the next-best passages of the previous question."""
_CONTINUES = re.compile(
    r"^(?:what about|how about|and what about|and how about|what of|and|also|same for|same with|or|but)\b",
    re.IGNORECASE,
)
"""A message that continues the previous question with a new subject: "what about axon?"."""
_POINTS_BACK = re.compile(
    r"\b(?:it|its|it's|that|this|they|them|their|theirs|those|these|he|she|him|her|his|there|then|the same)\b",
    re.IGNORECASE,
)
"""Words that refer to something said before."""


@dataclass(frozen=True)
class Turn:
    """One question of a conversation, as it was read."""

    question: str
    """The question as shown (cleaned)."""
    reading: tuple[str, ...]
    """The texts searched for it: its own first (when it had words of its own), then the
    earlier ones carried over, most recent first."""
    topic: str
    """The complete question this turn is about: its own, or the one it followed up."""
    shown: frozenset[str]
    """Keys (`passage_key`) of the passages it showed."""


class Conversation:
    """The last few questions of one thread or reply chain, and the passages shown in it."""

    def __init__(self, max_turns: int = MAX_TURNS) -> None:
        self._turns: deque[Turn] = deque(maxlen=max_turns)
        self._lock = threading.Lock()
        self.questions = 0
        """How many questions were answered in it (all of them, not only the turns kept)."""

    def turns(self) -> tuple[Turn, ...]:
        with self._lock:
            return tuple(self._turns)

    def last(self) -> Turn | None:
        with self._lock:
            return self._turns[-1] if self._turns else None

    def shown(self) -> frozenset[str]:
        """Every passage shown in the turns kept (bounded by `MAX_SHOWN`, newest kept)."""
        with self._lock:
            keys: list[str] = []
            for turn in reversed(self._turns):
                keys.extend(turn.shown)
            return frozenset(keys[:MAX_SHOWN])

    def add(self, turn: Turn) -> None:
        with self._lock:
            self._turns.append(turn)
            self.questions += 1

    def count_question(self) -> None:
        """Count a message answered without a search (help, chat): it keeps the thread alive,
        but changes no reading."""
        with self._lock:
            self.questions += 1


_QUESTION_START = re.compile(
    r"^(?:what|what's|whats|why|when|who|whom|whose|where|which|how|is|are|was|were|did|does|do|can|could"
    r"|will|would|should|has|have|had|isn't|wasn't|didn't|doesn't|tell me|explain)\b",
    re.IGNORECASE,
)


def asks_a_question(text: str) -> bool:
    """Whether a message in a channel that answers by itself is a question: it ends with "?"
    or starts with a question word. "lol nice" is not; "why did ring drop flock" is."""
    stripped = text.strip()
    return bool(stripped) and (stripped.rstrip(")]\"'”’ ").endswith("?") or bool(_QUESTION_START.match(stripped)))


def passage_key(article_id: str, sentence: str) -> str:
    """What identifies a shown passage across reloads: its article and its sentence, as a short
    digest (a conversation remembers dozens of them; the sentences themselves are long)."""
    return hashlib.blake2b(f"{article_id}\x00{sentence}".encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def passage_keys(passage: Passage) -> frozenset[str]:
    """A passage's own sentence and those of the articles credited with the same fact."""
    return frozenset(
        [passage_key(passage.source.article_id, passage.sentence)]
        + [passage_key(s.article_id, s.sentence or "") for s in passage.also_reported_by]
    )


def is_more_request(text: str) -> bool:
    return bool(_MORE.match(text.strip()))


@dataclass(frozen=True)
class FollowUp:
    """A message read as a follow-up of an earlier question of its conversation."""

    conversation: Conversation
    texts: tuple[str, ...]
    """What to search for: the message's own text at full weight, then the earlier ones
    carried over (`CARRY_WEIGHT`); for "more", the previous turn's texts unchanged."""
    of: str
    """The earlier question it was read with (`Answer.follow_up_of`)."""
    exclude: frozenset[str] = frozenset()
    """For "more": the passages already shown, left out."""

    def remember(self, shown_question: str, answer: Answer) -> None:
        # A "more" turn carries what was shown before, so a long run of "more" never repeats
        # a passage that has left the last few turns.
        remember(self.conversation, shown_question, self.texts, self.of, answer, self.exclude)


def read_follow_up(text: str, own: Query, conversation: Conversation | None) -> FollowUp | None:
    """`text` (cleaned, mentions removed; parsed as `own`) as a follow-up in `conversation`,
    or None when it is read on its own (no conversation yet, or a complete question)."""
    previous = conversation.last() if conversation is not None else None
    if previous is None or conversation is None:
        return None
    if is_more_request(text):
        return FollowUp(conversation, previous.reading, previous.topic, exclude=conversation.shown())
    if is_complete_question(text, len(own.known_concepts)):
        return None
    return FollowUp(conversation, ((text,) + previous.reading)[:MAX_READING], previous.topic)


def is_complete_question(text: str, own_known_concepts: int) -> bool:
    """Whether a message asks a whole question by itself, rather than following one up."""
    if _CONTINUES.match(text.strip()):
        return False
    needed = ANAPHORIC_COMPLETE_CONCEPTS if _POINTS_BACK.search(text) else COMPLETE_CONCEPTS
    return own_known_concepts >= needed


def follow_up_query(
    follow_up: FollowUp, analyzer: Analyzer, vocabulary: Vocabulary, lexicon: Lexicon
) -> Query:
    """The follow-up's own words at full weight, then each earlier text's known words at
    `CARRY_WEIGHT` (a word already asked for is not asked twice). The kind of answer wanted
    is the follow-up's own when it has one ("why?", "when?", "who said that?"), else the
    earlier question's ("what about axon?")."""
    parsed = [parse_question(text, analyzer, vocabulary, lexicon) for text in follow_up.texts]
    own, earlier = parsed[0], parsed[1:]
    concepts: list[Concept] = list(own.concepts)
    asked = {term for concept in own.concepts for term in concept.terms}
    weight = 1.0
    for query in earlier:
        weight *= CARRY_WEIGHT
        for concept in query.known_concepts:
            if asked.isdisjoint(concept.terms):
                concepts.append(
                    concept._replace(terms={t: w * weight for t, w in concept.terms.items()})
                )
                asked.update(concept.terms)
    kind = next((q.kind for q in parsed if q.kind is not QuestionKind.OTHER), QuestionKind.OTHER)
    return Query(question=own.question, kind=kind, concepts=tuple(concepts[:MAX_CONCEPTS]))


SEARCHED = (Outcome.ANSWERED, Outcome.NOT_FOUND)
"""Answers that come from a search, and so are turns a later message can follow up."""


def remember(
    conversation: Conversation,
    shown_question: str,
    texts: tuple[str, ...],
    topic: str,
    answer: Answer,
    shown_before: frozenset[str] = frozenset(),
) -> None:
    """Add the turn `answer` makes to `conversation` (only a search's answer makes one)."""
    if answer.outcome not in SEARCHED:
        conversation.count_question()
        return
    shown: set[str] = set(shown_before)
    for passage in answer.passages:
        shown |= passage_keys(passage)
    conversation.add(Turn(question=shown_question, reading=texts, topic=topic, shown=frozenset(shown)))
