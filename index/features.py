"""Cheap per-sentence features that say what kind of answer a sentence can give.

A "when" question is answered by a sentence with a date in it, a "how many" by
one with a number, a "why" by one that gives a reason, a "who" by one that names
someone. These flags are computed once per sentence when the index is built,
mostly from the analyzer's words (set look-ups, not regular expressions, so a
million sentences stay quick).
"""

from __future__ import annotations

import re
from typing import Sequence

from index.query import QuestionKind

HAS_TIME = 1
HAS_NUMBER = 2
HAS_REASON = 4
HAS_NAME = 8
HAS_PLACE = 16

_TIME_WORDS = frozenset(
    "january february march april june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday yesterday today tomorrow "
    "decade decades week weeks month months year years day days ago".split()
)
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve dozen dozens hundred hundreds "
    "thousand thousands million millions billion billions trillion half twice percent dollar".split()
)
_REASON_WORDS = frozenset(
    "because reason reasons cited citing therefore thus hence prompted determined realised realized".split()
)
_REASON_PHRASES = (
    " due to ", " as a result ", " in order to ", " so that ", " in response ", " response to ",
    " leading to ", " led to ", " in an effort to ",
)
# A capitalised word that is not the sentence's first word: a name, a company, an agency.
_NAME = re.compile(r"[a-z,;:] [A-Z]")
_PLACE = re.compile(r"\b(?:in|at|outside|near|from|across) (?:the )?[A-Z][a-z]+")

_FLAG_FOR_KIND = {
    QuestionKind.TIME: HAS_TIME,
    QuestionKind.QUANTITY: HAS_NUMBER,
    QuestionKind.REASON: HAS_REASON,
    QuestionKind.PERSON: HAS_NAME,
    QuestionKind.PLACE: HAS_PLACE,
}


def _is_year(word: str) -> bool:
    return len(word) == 4 and word.isdigit() and word[:2] in ("19", "20")


def _has_phrase(words: Sequence[str], phrases: tuple[str, ...]) -> bool:
    joined = " " + " ".join(words) + " "
    return any(phrase in joined for phrase in phrases)


def sentence_flags(sentence: str, words: Sequence[str]) -> int:
    """Flags for one sentence; `words` are its analyzer words (case-folded, stopwords kept)."""
    flags = 0
    vocabulary = set(words)
    numbers = [w for w in vocabulary if w[:1].isdigit()]
    if vocabulary & _TIME_WORDS or any(_is_year(w) for w in numbers):
        flags |= HAS_TIME
    if numbers or vocabulary & _NUMBER_WORDS:
        flags |= HAS_NUMBER
    if vocabulary & _REASON_WORDS or _has_phrase(words, _REASON_PHRASES):
        flags |= HAS_REASON
    if _NAME.search(sentence):
        flags |= HAS_NAME
    if _PLACE.search(sentence):
        flags |= HAS_PLACE
    return flags


def wanted_flag(kind: QuestionKind) -> int:
    """The flag a sentence needs to give this kind of answer (0: any sentence may)."""
    return _FLAG_FOR_KIND.get(kind, 0)


def answer_type_required(kind: QuestionKind) -> bool:
    """Kinds whose answer cannot exist without the flag (no date, no 'when' answer)."""
    return kind in (QuestionKind.TIME, QuestionKind.QUANTITY)
