"""Cheap per-sentence features that say what kind of answer a sentence can give.

A "when" question is answered by a sentence with a date in it, a "how many" by
one with a number, a "why" by one that gives a reason, a "who" by one that names
someone. These flags are computed once per sentence when the index is built.
"""

from __future__ import annotations

import re

from index.analysis import clean_text
from index.query import QuestionKind

HAS_TIME = 1
HAS_NUMBER = 2
HAS_REASON = 4
HAS_NAME = 8
HAS_PLACE = 16

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_TIME = re.compile(
    rf"\b((19|20)\d\d|{_MONTHS}|{_DAYS}|yesterday|today|tomorrow|last (week|month|year)|this (week|month|year)"
    r"|(days?|weeks?|months?|years?) (ago|after|before|later|earlier)|recent months|decades?)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|dozens|hundreds?|thousands?|millions?"
    r"|billions?|half|twice|percent)\b",
    re.IGNORECASE,
)
_REASON = re.compile(
    r"\b(because|due to|reasons?|cited|citing|as a result|in order to|so that|therefore|thus|hence"
    r"|in response|response to|prompted|leading to|led to|determined|realised|realized|in an effort to)\b",
    re.IGNORECASE,
)
# A capitalised word that is not the sentence's first word: a name, a company, an agency.
_NAME = re.compile(r"(?<=[a-z,;:] )(?:[A-Z][a-z]+|[A-Z]{2,})\b")
_PLACE = re.compile(r"\b(in|at|outside|near|from|across) (the )?[A-Z][a-z]+")

_FLAG_FOR_KIND = {
    QuestionKind.TIME: HAS_TIME,
    QuestionKind.QUANTITY: HAS_NUMBER,
    QuestionKind.REASON: HAS_REASON,
    QuestionKind.PERSON: HAS_NAME,
    QuestionKind.PLACE: HAS_PLACE,
}


def sentence_flags(sentence: str) -> int:
    text = clean_text(sentence)
    flags = 0
    if _TIME.search(text):
        flags |= HAS_TIME
    if _NUMBER.search(text):
        flags |= HAS_NUMBER
    if _REASON.search(text):
        flags |= HAS_REASON
    if _NAME.search(text):
        flags |= HAS_NAME
    if _PLACE.search(text):
        flags |= HAS_PLACE
    return flags


def wanted_flag(kind: QuestionKind) -> int:
    """The flag a sentence needs to give this kind of answer (0: any sentence may)."""
    return _FLAG_FOR_KIND.get(kind, 0)


def answer_type_required(kind: QuestionKind) -> bool:
    """Kinds whose answer cannot exist without the flag (no date, no 'when' answer)."""
    return kind in (QuestionKind.TIME, QuestionKind.QUANTITY)
