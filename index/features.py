"""Cheap per-sentence features that say what kind of answer a sentence can give.

A "when" question is answered by a sentence with a date in it, a "how many" by
one with a number, a "why" by one that gives a reason, a "who" by one that names
someone. These flags are computed once per sentence when the index is built,
mostly from the analyzer's words (set look-ups, not regular expressions, so a
million sentences stay quick).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from index.query import QuestionKind

HAS_TIME = 1
HAS_NUMBER = 2
HAS_REASON = 4
HAS_NAME = 8
HAS_PLACE = 16
IS_HEADLINE = 32
"""A headline: the first paragraph of an article, one sentence, no full stop."""
MAY_DEFINE = 64
"""The sentence has the shape of a definition somewhere ("Name, a ...", "Name is the ...",
"called Name", "Name (ABC)"): only these are checked against a "what is X" question's X."""

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
_CAPITAL = re.compile(r"[A-Z]")
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


_REASON_PHRASE_WORDS = frozenset("due result order so response leading led effort".split())
"""One word of each reason phrase: a sentence with none of them has none of the phrases."""


def _has_phrase(words: Sequence[str], phrases: tuple[str, ...]) -> bool:
    joined = " " + " ".join(words) + " "
    return any(phrase in joined for phrase in phrases)


REASON_PHRASE_WORD = 128
"""Not a flag of the index: what `word_flags` gives a word of some reason phrase ("due", "led"),
so that `sentence_flags_from` looks for the phrases only where one may be."""


def word_flags(word: str) -> int:
    """The flags one analyzer word gives every sentence it is in (a date word, a year, a number,
    a reason word), and REASON_PHRASE_WORD. A build computes them once per distinct word."""
    flags = 0
    if word in _TIME_WORDS or _is_year(word):
        flags |= HAS_TIME
    if word[:1].isdigit() or word in _NUMBER_WORDS:
        flags |= HAS_NUMBER
    if word in _REASON_WORDS:
        flags |= HAS_REASON
    if word in _REASON_PHRASE_WORDS:
        flags |= REASON_PHRASE_WORD
    return flags


def sentence_flags(sentence: str, words: Sequence[str]) -> int:
    """Flags for one sentence; `words` are its analyzer words (case-folded, stopwords kept)."""
    of_words = 0
    for word in set(words):
        of_words |= word_flags(word)
    return sentence_flags_from(sentence, words, of_words)


def sentence_flags_from(sentence: str, words: Sequence[str], of_words: int) -> int:
    """`sentence_flags`, given `of_words`: the `word_flags` of its words, or-ed together
    (`words` is read only when `of_words` has REASON_PHRASE_WORD)."""
    flags = of_words & (HAS_TIME | HAS_NUMBER | HAS_REASON)
    # The phrase test (a join and nine searches) only when a word of some phrase is there.
    if not flags & HAS_REASON and of_words & REASON_PHRASE_WORD and _has_phrase(words, _REASON_PHRASES):
        flags |= HAS_REASON
    # Each of _NAME, _PLACE and all but the start of a definition needs a capital after the
    # first character: many sentences have none, and one search for it is quicker than theirs.
    capital_later = _CAPITAL.search(sentence, 1) is not None
    if capital_later and _NAME.search(sentence):
        flags |= HAS_NAME
        # A place ("in Paris") is a lowercase letter, a space and a capital, so it is a name
        # too: without a name, there is no place to look for.
        if _PLACE.search(sentence):
            flags |= HAS_PLACE
    if may_define(sentence, capital_later):
        flags |= MAY_DEFINE
    return flags


_SENTENCE_END = (".", "!", "?", '"', "\u201d", "'", "\u2019", ")", ":")


def is_headline(sentence: str, paragraph: int, alone: bool) -> bool:
    """A sentence alone in an article's first paragraph, without a full stop: its headline."""
    return paragraph == 0 and alone and not sentence.rstrip().endswith(_SENTENCE_END)


_DEFINING_CUE = (
    r"(?:\s+\([^)]{0,80}\))?"  # "Flock Safety (Flock),"
    r"(?:\s*,\s*|\s+[\u2014\u2013-]+\s+|\s+(?:is|was|are|were|has been)\s+)"
    r"(?:(?:a|an|the|one of the|which|who|known as|described as)\b)"
    r"(?!\s+(?:move|decision|step|sign|shift|change|development|day|week|month|year|time)\b)"
)
"""What follows a name that says what it is. "X, a move that ..." speaks of the clause, not X."""
_NAME_TAIL = r"(?:\s+[A-Z][\w\u2019'&.-]*)*"
"""A name may go on past the question's words: "what is flock" -> "Flock Safety, a firm..."."""


# Any definition, in its three shapes: "Name, a ...", "called Name", "Name (ABC)". Three
# patterns rather than one alternation: each then skips ahead to where it can start, and the
# last two run only when their literal words are in the sentence (3x quicker on news text).
_NAME_DEFINED = re.compile(rf"[A-Z][\w\u2019'&.-]*{_NAME_TAIL}(?:\s+[a-z]+)?{_DEFINING_CUE}")
_CALLED = re.compile(r"\b(?:called|named|known as|dubbed)\s+[\"\u201c]?[A-Za-z]")
_ABBREVIATED = re.compile(r"\s\([A-Z][\w.&-]*\)")


def may_define(sentence: str, capital_later: bool = True) -> bool:
    """Whether the sentence says what something is, whatever it is (see MAY_DEFINE).
    `capital_later` False says it has no capital after its first character: then a definition
    can only begin at its start."""
    return (
        (_NAME_DEFINED.search if capital_later else _NAME_DEFINED.match)(sentence) is not None
        or (
            ("called" in sentence or "named" in sentence or "known as" in sentence or "dubbed" in sentence)
            and _CALLED.search(sentence) is not None
        )
        or ("(" in sentence and _ABBREVIATED.search(sentence) is not None)
    )


@lru_cache(maxsize=256)
def defining_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern that finds a sentence saying what the thing named by `words` is (each a
    word's start, any case): "X, a ...", "X is the ...", "X's feature, which ...",
    "X — the company ...", "a program called X", "Customs and Border Protection (X)"."""
    starts = [re.escape(w) for w in words if w]
    if not starts:
        return None
    name = r"\s+".join(rf"(?i:{w})\w*" for w in starts)
    return re.compile(
        rf"\b{name}{_NAME_TAIL}(?:\s+[a-z]+)?{_DEFINING_CUE}"
        rf"|\b(?:called|named|known as|dubbed)\s+[\"\u201c]?{name}"
        rf"|[A-Z]\w+(?:\s+(?:and\s+|of\s+|for\s+|the\s+)?[A-Z]\w+)+\s+\({name}\)"
    )


_CAPITALISED = re.compile(r"(?<=[\w,;:\u201d\"'] )[A-Z][\w\u2019'-]*")


def offers_answer(kind: QuestionKind, sentence: str, words: Sequence[str], asked: frozenset[str]) -> bool | None:
    """Whether the sentence holds an answer of the kind asked that the question does not
    already give: a date for "when", a number for "how many", a name for "who", a place for
    "where" other than the question's own words (`asked`, casefolded); a reason cue for "why".
    None for kinds with no such answer (yes/no, other, definitions)."""
    fresh = [w for w in words if w not in asked]
    if kind is QuestionKind.TIME:
        return any(w in _TIME_WORDS or _is_year(w) for w in fresh)
    if kind is QuestionKind.QUANTITY:
        return any(w[:1].isdigit() or w in _NUMBER_WORDS for w in fresh)
    if kind is QuestionKind.PERSON:
        return any(name.casefold().rstrip("\u2019's") not in asked for name in _CAPITALISED.findall(sentence))
    if kind is QuestionKind.PLACE:
        return any(m.group(0).split()[-1].casefold() not in asked for m in _PLACE.finditer(sentence))
    if kind is QuestionKind.REASON:
        vocabulary = set(words)
        return bool(vocabulary & _REASON_WORDS) or _has_phrase(words, _REASON_PHRASES)
    return None


def wanted_flag(kind: QuestionKind) -> int:
    """The flag a sentence needs to give this kind of answer (0: any sentence may)."""
    return _FLAG_FOR_KIND.get(kind, 0)


def answer_type_required(kind: QuestionKind) -> bool:
    """Kinds whose answer cannot exist without the flag (no date, no 'when' answer)."""
    return kind in (QuestionKind.TIME, QuestionKind.QUANTITY)
