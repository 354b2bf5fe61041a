"""Questions about recency ("what's the latest on X?", "any news today?", "what happened most recently?").

A small stage beside ranking: `recency_question` spots the question (general English phrases about
time, never one story's words) and returns what is left to search for; `newest_first` re-orders
ranked hits by their article's published date, newest first; `newest_leads` picks, when nothing
is left to search for, the opening sentence of each of the newest articles. An article with no
date is never treated as new: it comes after every dated one, and is never a lead.

Failure behaviour: pure functions over the index and the articles' dates; they never raise on
user input. A corpus where no article has a date gives no leads (the caller declines).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from index.features import IS_HEADLINE
from index.selection import Hit
from index.sentence_index import SentenceIndex

_RECENCY = re.compile(
    r"\b(?:the\s+)?(?:latest|newest|most\s+recent(?:ly)?|recently|lately|these\s+days|today|tonight|"
    r"yesterday|this\s+(?:morning|week|month)|last\s+(?:night|week)|any\s+news|"
    r"what'?s\s+new|any\s+updates?|updates?\s+on)\b",
    re.IGNORECASE,
)
_GENERIC = re.compile(
    r"\b(?:what|what's|whats|is|are|was|were|the|any|anything|something|on|about|with|in|of|for|there|"
    r"happen(?:ed|ing|s)?|going\s+on|new|news|story|stories|articles?|say|says|said|hear|heard|"
    r"tell\s+me|me|us|did|do|does|has|have|been)\b",
    re.IGNORECASE,
)
"""Words a recency question is made of besides its subject ("what happened", "any news on"): with
the recency phrase gone, a question of only these asks for the news in general."""


@dataclass(frozen=True)
class RecencyQuestion:
    subject: str
    """What is left to search for once the recency words are gone ('' for "any news today?")."""


def recency_question(question: str) -> RecencyQuestion | None:
    """The question's subject if it asks for the latest news, else None."""
    if not _RECENCY.search(question):
        return None
    rest = _RECENCY.sub(" ", question)
    if not re.search(r"\w", _GENERIC.sub(" ", rest)):
        return RecencyQuestion("")
    return RecencyQuestion(" ".join(rest.split()))


def newest_first(
    hits: Sequence[Hit], article_of: np.ndarray, published: Sequence[dt.date | None], k: int
) -> tuple[Hit, ...]:
    """The `k` hits whose articles are newest (by published date), in that order; among one date,
    and among undated articles (always last), the ranking's order is kept."""
    def age(position_and_hit: tuple[int, Hit]) -> tuple[int, int, int]:
        position, hit = position_and_hit
        date = published[int(article_of[hit.chunk])]
        return (0, -date.toordinal(), position) if date else (1, 0, position)

    return tuple(hit for _, hit in sorted(enumerate(hits), key=age)[:k])


def newest_leads(index: SentenceIndex, published: Sequence[dt.date | None], k: int) -> tuple[int, ...]:
    """The opening sentence (not the headline) of each of the `k` newest dated articles, newest first."""
    dated = sorted((date.toordinal(), -number) for number, date in enumerate(published) if date is not None)
    newest = [-number for _, number in reversed(dated)][:k]
    body = np.flatnonzero((index.flags & IS_HEADLINE) == 0)
    articles = index.article.take(body)
    leads = []
    for number in newest:
        found = np.flatnonzero(articles == number)
        if len(found):
            leads.append(int(body[found[0]]))  # chunks are in reading order: the first is the lead
    return tuple(leads)
