"""The answering core: a question in, the best passages with their sources out.

`AnsweringCore.answer()` never raises on user input. It cleans the question,
refuses what cannot be searched (empty, too long, nothing left but stopwords),
ranks sentences with the index, and says plainly when the articles do not
answer, offering the closest passages only as "not an answer".
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Sequence

from bot.answering.answer import Answer, Outcome, Passage, Source
from bot.answering.conversation import (
    Conversation,
    FollowUp,
    follow_up_query,
    is_more_request,
    passage_keys,
    read_follow_up,
    remember,
)
from bot.answering.help import GENERIC_EXAMPLE, chat_reply, example_question, is_chat_noise
from bot.answering.messages import (
    ANSWERED_MESSAGE,
    LATEST_MESSAGE,
    MORE_MESSAGE,
    NOTHING_MORE_MESSAGE,
    NOTHING_TO_CONTINUE,
)
from corpus import Article, CorpusFileError
from index.analysis import clean_text
from index.article_table import column_of, published_dates
from index.decline import DeclineModel, signals
from index.query import Lexicon, Query, Vocabulary, parse_question
from index.recency import RecencyQuestion, newest_first, newest_leads, recency_question
from index.reranking import Reranker
from index.selection import Hit, rank
from index.sentence_index import SentenceIndex

log = logging.getLogger(__name__)

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

SHOWN_QUESTION_CHARS = 300
"""Echoed questions are cut to this length."""
_MENTION = re.compile(r"<[@#!][^>\s]*>|(?<!\w)@(?:everyone|here|channel)\b", re.IGNORECASE)
"""Chat mention markup (Discord <@123>, <@&role>, <#channel>, @everyone; Slack <@U…>, <!channel>):
who was pinged is not part of the question."""


RECENCY_POOL = 4
"""A question about the latest news ranks this many times `top_k` passages, then keeps the newest."""


@dataclass(frozen=True)
class AnsweringCore:
    articles: Sequence[Article]
    """In the index's article order; from the cache, a table that makes each Article when first used."""
    index: SentenceIndex
    vocabulary: Vocabulary
    lexicon: Lexicon
    top_k: int = 3
    min_confidence: float | None = None
    """Below this probability that the passages answer, decline; None: the decline model's own
    threshold (fitted for a stated precision)."""
    decline_model: DeclineModel = field(default_factory=DeclineModel.bundled)
    """The decision to decline; `from_index` takes the one fitted on answers ranked as this core
    ranks them (`DeclineModel.for_ranking`: re-ranked by the static model, or lexical alone)."""
    max_question_chars: int = 1000
    coverage: str = ""
    """What the corpus is about, for declines; computed once (it walks every article)."""
    broken_files: tuple[CorpusFileError, ...] = ()
    """Article files left out because they do not load; the others answer (see corpus.loader)."""
    reranker: Reranker | None = None
    """Semantic re-ranking of the best candidates (QABOT_SEMANTIC_MODEL); None: lexical ranking only."""
    _sources: dict[int, Source] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Each article's Source, made the first time a passage cites it (Sources are immutable)."""
    _examples: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    """The example question, found the first time a reply needs it (it asks the corpus)."""

    @property
    def _published(self) -> tuple[dt.date | None, ...]:
        """Each article's published date, by article number (None: unknown, never taken as new)."""
        return published_dates(self.articles)  # a column: no Article made for each

    @property
    def example_question(self) -> str:
        """A question these articles answer, made from them (for help replies and hints)."""
        if not self._examples:
            # A stand-in while the example is found: finding it asks questions, and a reply to one
            # of those may itself want the example.
            self._examples.append(GENERIC_EXAMPLE)
            self._examples[0] = example_question(self)
        return self._examples[0]

    @classmethod
    def from_index(
        cls,
        articles: Sequence[Article],
        index: SentenceIndex,
        *,
        top_k: int = 3,
        min_confidence: float | None = None,
        max_question_chars: int = 1000,
        broken_files: tuple[CorpusFileError, ...] = (),
        reranker: Reranker | None = None,
    ) -> "AnsweringCore":
        """The core answering from `index`, built over `articles` (in the index's article order)."""
        return cls(
            articles=articles,
            index=index,
            vocabulary=index.vocabulary(),
            lexicon=Lexicon.bundled(),
            top_k=top_k,
            min_confidence=min_confidence,
            max_question_chars=max_question_chars,
            coverage=describe_corpus(articles),
            broken_files=broken_files,
            reranker=reranker,
            decline_model=DeclineModel.for_ranking(None if reranker is None else reranker.encoder.kind),
        )

    def answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        """Answer `question`; in `conversation` (a thread, a reply chain), a follow-up is read
        with the earlier questions (see `bot.answering.conversation`), and the turn is added."""
        started = time.perf_counter()
        text = question if isinstance(question, str) else ""
        # A lone UTF-16 surrogate (JSON from a platform may carry one) cannot be encoded to be
        # sent back, and the question is echoed in replies: it becomes U+FFFD like any bad byte.
        answer = self._answer(_LONE_SURROGATE.sub("\ufffd", text), conversation)
        return replace(answer, latency_ms=(time.perf_counter() - started) * 1000)

    def _answer(self, question: str, conversation: Conversation | None = None) -> Answer:
        if len(question) > 4 * self.max_question_chars:
            # Refuse a flood before cleaning it: normalising megabytes costs real time.
            return self._invalid(
                _shorten(" ".join(question[:SHOWN_QUESTION_CHARS * 2].split()), SHOWN_QUESTION_CHARS),
                f"That question is {len(question):,} characters long; please ask it in under "
                f"{self.max_question_chars:,} characters.",
            )
        cleaned = " ".join(clean_text(question).split())
        shown = _shorten(cleaned, SHOWN_QUESTION_CHARS)
        searchable = _MENTION.sub(" ", cleaned)
        if not cleaned:
            return self._invalid(shown, f"Please ask a question, for example: “{self.example_question}”")
        if is_chat_noise(searchable):
            return Answer(question=shown, outcome=Outcome.CHAT, message=chat_reply(self, searchable), coverage=self.coverage)
        if len(cleaned) > self.max_question_chars:
            return self._invalid(
                shown,
                f"That question is {len(cleaned):,} characters long; please ask it in under "
                f"{self.max_question_chars:,} characters.",
            )
        if conversation is None and is_more_request(searchable):
            return self._invalid(shown, NOTHING_TO_CONTINUE)
        recency = recency_question(searchable)
        if recency is not None:
            latest = self._latest(shown, recency)
            if latest is not None:
                return latest
        query = parse_question(searchable, self.index.analyzer, self.vocabulary, self.lexicon)
        follow_up = read_follow_up(searchable, query, conversation)
        if follow_up is not None:
            # Conversation hook: the follow-up's query, answered and remembered in follow_ups.
            return self._follow_up(shown, follow_up)
        answer = self._search(shown, query)
        if conversation is not None:
            remember(conversation, shown, (searchable,), shown, answer)
        return answer

    def _search(self, shown: str, query: Query, exclude: frozenset[str] = frozenset()) -> Answer:
        """Rank the sentences for `query` and answer, or decline; leaves out the passages
        whose keys are in `exclude` (shown earlier in the conversation)."""
        if not query.concepts:
            return self._invalid(
                shown,
                "I couldn't find any words to search for in that question. "
                f"Try asking with a few specific words, for example: “{self.example_question}”",
            )
        if not query.known_concepts:
            return self._not_found(shown, query, (), 0.0)
        ranking = rank(self.index, query, self.top_k + len(exclude), self.reranker)
        passages = tuple(self._passage(hit) for hit in ranking.hits)
        # The decision: several signals of whether the passage answers, one fitted probability
        # (for "more", of the question's best passages, including those shown before).
        values = signals(self.index, query, ranking, _first_similarity(ranking.hits))
        confidence = self.decline_model.probability(values)
        if exclude:
            passages = tuple(p for p in passages if exclude.isdisjoint(passage_keys(p)))[: self.top_k]
            if not passages:
                return Answer(question=shown, outcome=Outcome.NOT_FOUND, message=NOTHING_MORE_MESSAGE)
        if not passages or confidence < self.threshold:
            return self._not_found(shown, query, passages, confidence, values)
        return Answer(
            question=shown,
            outcome=Outcome.ANSWERED,
            message=MORE_MESSAGE if exclude else ANSWERED_MESSAGE,
            passages=passages,
            confidence=confidence,
            signals=values,
        )

    def _follow_up(self, shown: str, follow_up: FollowUp) -> Answer:
        """A follow-up: the earlier question's words carried over below its own, or "more"."""
        query = follow_up_query(follow_up, self.index.analyzer, self.vocabulary, self.lexicon)
        answer = replace(self._search(shown, query, follow_up.exclude), follow_up_of=follow_up.of)
        follow_up.remember(shown, answer)
        return answer

    def _latest(self, shown: str, recency: RecencyQuestion) -> Answer | None:
        """A question about the latest news: the newest articles' passages first, with the date said.
        None when the question is better answered the usual way (no article has a date, or its
        subject is not in the articles: then the usual answer says so)."""
        published = self._published
        if not any(published):
            return None
        if not recency.subject:
            # "Any news today?": the opening sentence of each of the newest articles.
            leads = newest_leads(self.index, published, self.top_k)
            hits: tuple[Hit, ...] = tuple(Hit(chunk, 0.0, 0.0) for chunk in leads)
            confidence = 1.0  # nothing to weigh: the question asks for the newest articles, and these are they
            values: dict[str, float] = {}
        else:
            query = parse_question(recency.subject, self.index.analyzer, self.vocabulary, self.lexicon)
            if not query.known_concepts:
                return None
            ranking = rank(self.index, query, self.top_k * RECENCY_POOL)
            values = signals(self.index, query, ranking)
            confidence = self.decline_model.probability(values)
            if not ranking.hits or confidence < self.threshold:
                return None  # the articles do not answer this subject: the usual decline says so
            hits = newest_first(ranking.hits, self.index.article, published, self.top_k)
        passages = tuple(self._passage(hit) for hit in hits)
        newest = max((p.source.published for p in passages if p.source.published), default=None)
        if not passages or newest is None:
            return None
        return Answer(
            question=shown,
            outcome=Outcome.ANSWERED,
            message=LATEST_MESSAGE.format(date=newest),
            passages=passages,
            confidence=confidence,
            signals=values,
        )

    @property
    def threshold(self) -> float:
        """The probability below which the core declines."""
        return self.decline_model.threshold if self.min_confidence is None else self.min_confidence

    def _invalid(self, shown: str, message: str) -> Answer:
        return Answer(
            question=shown, outcome=Outcome.INVALID_QUESTION, message=message, coverage=self.coverage
        )

    def _not_found(
        self,
        shown: str,
        query: Query,
        closest: tuple[Passage, ...],
        confidence: float,
        decision_signals: dict[str, float] | None = None,
    ) -> Answer:
        unknown = query.unknown_words
        if unknown and not query.known_concepts:
            words = ", ".join(f"“{w}”" for w in unknown[:5])
            message = f"The articles don't mention {words}, so I can't answer that from them."
        else:
            message = "I couldn't find an answer to that in the articles."
        if closest:
            message += " The closest passages are below, but they may not answer your question."
        return Answer(
            question=shown,
            outcome=Outcome.NOT_FOUND,
            message=message,
            passages=closest,
            coverage=self.coverage,
            confidence=confidence,
            signals=decision_signals or {},
        )

    def _passage(self, hit: Hit) -> Passage:
        index = self.index
        chunk = hit.chunk
        before, after = index.context(chunk)
        return Passage(
            sentence=index.sentence(chunk),
            before=before,
            after=after,
            score=hit.score,
            source=self._source(index.article_of(chunk)),
            # Each crediting article with its own sentence, which states the same fact.
            also_reported_by=tuple(
                replace(self._source(index.article_of(c)), sentence=index.sentence(c)) for c in hit.also
            ),
            similarity=hit.similarity,
        )

    def _source(self, article_number: int) -> Source:
        found = self._sources.get(article_number)
        if found is None:
            found = self._sources[article_number] = Source.of(self.articles[article_number])
        return found


def _first_similarity(hits: tuple[Hit, ...]) -> float | None:
    """The first passage's cosine with the question (a decline signal), None without re-ranking."""
    return hits[0].similarity if hits else None


def describe_corpus(articles: Sequence[Article]) -> str:
    """What the corpus is about, in the articles' own words: their titles and publishers."""
    count = len(articles)
    publishers = sorted({p for p in column_of(articles, "publisher") if p})
    note = f"I answer from {count:,} article{'s' if count != 1 else ''}"
    if publishers:
        shown = publishers[:6]
        more = len(publishers) - len(shown)
        note += " from " + ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")
    titled = next((t for t in column_of(articles, "title") if t), None)
    if titled:
        note += f", such as “{titled}”"
    return note + "."


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + "…"
