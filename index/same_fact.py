"""Whether two sentences state the same fact, so one may be credited as reporting the other.

An answer shows a statement once and lists the other articles that carry it as
"also reported by". That credit must be checkable: the other article's own
sentence has to say the same thing. Sharing many words is not enough (the
articles repeat one another's wording while disagreeing on a month), so two
sentences state the same fact only when both hold:

- **Their content words overlap in both directions**: the terms they share
  (index terms: stemmed, stopwords dropped) carry at least `MIN_OVERLAP` of each
  sentence's term weight (IDF). A sentence that only mentions the other's fact in
  passing, among much else, says something else. Two reports of one quotation
  (a shared run of `QUOTED_WORDS` words) need only share a third of their terms.
- **Their fact anchors agree**, the words where a near-copy can say a different
  thing:
  - numbers, spelled-out ones included, with their scale ("$5.8 million" is
    5800000, as is "5.8 million dollars"), and percent and currency signs;
  - months, weekdays and "today"/"yesterday"/"tomorrow"/"tonight";
  - negation ("not", "never", "didn't", "without", ...): present in both or in neither;
  - ordinals ("first", "21st"), vague amounts ("hundreds", "thousands" of ...) and
    the direction of a change or comparison ("rose"/"fell", "more"/"fewer",
    "before"/"after"): a near-copy with the opposite word says the opposite;
  - names: each name (a run of capitalised words that are not stopwords: people,
    firms, places, acronyms) must be found in the other sentence: all its words
    there in any case, or a name of the other's made of some of its words.
    "Flock Safety" meets "Flock", "Senator Ron Wyden" meets "Wyden" but not
    "Senator Ed Markey", "Jane Smith" does not meet "John Smith". (Words in any
    case, so a common word that opens one sentence, "Critics said ...", still
    meets "... critics said".)

This is a precision-first test: a pair that fails it is shown as two passages,
which is honest; a pair that passes wrongly would credit an article with a
claim it does not make.

Failure behaviour: pure functions of the text; any string (empty, odd Unicode,
no words) gives a `Facts` value, and `same_fact` never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import NamedTuple, TypeVar

from index.analysis import clean_text

MIN_OVERLAP = 0.5
"""Share of each sentence's content-term weight (IDF) the shared terms must carry. Chosen by
reading every pair of sentences from different bundled articles that shares a third of its
terms (the three real restatements weigh .52 to .81, the next pair .43), before the labelled
pair set existed; that set is reported on, not tuned on."""

QUOTED_WORDS = 6
"""Two sentences sharing a run of this many words quote the same words."""
MIN_SHARED_TERMS = 1 / 3
"""Share of the larger sentence's terms the pair must have in common, however rare they are."""

_TOKEN = re.compile(r"[$€£¥%]|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[^\W\d_]+(?:'[^\W\d_]+)*|[.,;:!?()\[\]\"]")
"""Currency and percent signs, numbers (with an ordinal suffix), words with inner apostrophes,
and the punctuation that ends a number ("five thousand, six" is two)."""
_BREAKS = frozenset('.,;:!?()[]"')
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "dozen": 12,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {
    "hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
    "m": 1e6, "bn": 1e9, "k": 1e3,
}
"""Words that multiply the number before them ("m", "bn", "k" only right after a number)."""
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}
_SIGNS = {
    "$": "$", "dollar": "$", "dollars": "$", "usd": "$",
    "€": "€", "euro": "€", "euros": "€", "eur": "€",
    "£": "£", "pound": "£", "pounds": "£", "gbp": "£",
    "¥": "¥", "yen": "¥",
    "%": "%", "percent": "%", "pct": "%",
}
_MONTHS = {
    "january": 1, "february": 2, "april": 4, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}
_CAPITALISED_MONTHS = {
    "march": 3, "may": 5, "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
"""Month names that are also common words ("may", "march", "dec"): a month only when capitalised."""
_DAYS = frozenset(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
     "today", "yesterday", "tomorrow", "tonight")
)
_NEGATIONS = frozenset(
    ("not", "no", "never", "nor", "neither", "none", "nobody", "nothing", "nowhere", "without",
     "cannot", "nope")
)
_VAGUE_AMOUNTS = {
    "dozens": "dozens", "scores": "dozens", "hundreds": "hundreds", "thousands": "thousands",
    "millions": "millions", "billions": "billions", "trillions": "trillions",
}
"""Amounts without a number: "thousands of requests" is not "hundreds of requests"."""
_DIRECTIONS = {
    **dict.fromkeys(("rise", "rises", "rose", "risen", "rising", "increase", "increases", "increased",
                     "increasing", "grew", "grow", "grows", "growing", "grown"), "up"),
    **dict.fromkeys(("fall", "falls", "fell", "fallen", "falling", "decrease", "decreases", "decreased",
                     "decreasing", "declined", "shrank", "shrunk"), "down"),
    **dict.fromkeys(("more", "higher", "greater", "larger", "most", "highest", "largest"), "more"),
    **dict.fromkeys(("less", "fewer", "lower", "smaller", "least", "fewest", "lowest", "smallest"), "less"),
    "before": "before", "after": "after",
}
"""Words for the direction of a change or a comparison: "rose to 27%" is not "fell to 27%"."""
_NOT_NAMES = frozenset((*_MONTHS, *_CAPITALISED_MONTHS, *_DAYS, *_NEGATIONS, *_ORDINALS, *_VAGUE_AMOUNTS, *_DIRECTIONS))
"""Capitalised, these are still anchors of their own kind, not names ("October", "Never")."""
NEGATED = "¬"
"""The anchor a sentence with any negation carries (presence, not count)."""


Term = TypeVar("Term", bound=Hashable)
"""A content term: the index's term ids, or any hashable stand-in (tests use the stems)."""


class Facts(NamedTuple):
    """What `same_fact` compares of one sentence, besides its content terms."""

    anchors: frozenset[str]
    """Numbers (canonical values), signs, months, days, ordinals, vague amounts, directions,
    and `NEGATED` if negated."""
    names: frozenset[frozenset[str]]
    """Each name (a run of capitalised non-stopwords) as its set of words, case-folded,
    possessive "'s" dropped."""
    words: frozenset[str]
    """Every word, case-folded, possessive dropped: where the other sentence's names are looked for."""
    runs: frozenset[str]
    """Every run of `QUOTED_WORDS` words (numbers included, punctuation aside), joined by spaces."""


def sentence_facts(text: str, stopwords: frozenset[str]) -> Facts:
    """The fact anchors, names and words of one sentence."""
    anchors: set[str] = set()
    names: set[frozenset[str]] = set()
    name: list[str] = []  # the name being read
    words: set[str] = set()
    sequence: list[str] = []  # the words in order, for the runs
    numbers = _NumberReader(anchors)
    for token in _TOKEN.findall(clean_text(text)):
        first = token[0]
        if first in _BREAKS or first.isdigit():
            _end_name(name, names)
            if first in _BREAKS:
                numbers.flush()
            else:
                sequence.append(token)
                numbers.digits(token)
            continue
        folded = token.casefold()
        possessive = folded.endswith("'s")
        if possessive:
            folded = folded[:-2]
        words.add(folded)
        sequence.append(folded)
        sign = _SIGNS.get(folded)
        if sign is not None:
            anchors.add(sign)
        if numbers.word(folded) or sign is not None:
            _end_name(name, names)
            continue
        capitalised = first.isupper()
        if capitalised and folded not in stopwords and folded not in _NOT_NAMES:
            name.append(folded)
            if possessive:
                _end_name(name, names)  # "Amazon's Ring": two names
        else:
            _end_name(name, names)
        if folded in _NEGATIONS or folded.endswith("n't"):
            anchors.add(NEGATED)
        elif folded in _MONTHS or (capitalised and folded in _CAPITALISED_MONTHS):
            anchors.add(f"month:{_MONTHS.get(folded) or _CAPITALISED_MONTHS[folded]}")
        elif folded in _DAYS:
            anchors.add(f"day:{folded}")
        elif folded in _ORDINALS:
            anchors.add(f"#{_ORDINALS[folded]}")
        elif folded in _VAGUE_AMOUNTS:
            anchors.add(f"~{_VAGUE_AMOUNTS[folded]}")
        elif folded in _DIRECTIONS:
            anchors.add(f"dir:{_DIRECTIONS[folded]}")
    numbers.flush()
    _end_name(name, names)
    runs = frozenset(" ".join(sequence[i : i + QUOTED_WORDS]) for i in range(len(sequence) - QUOTED_WORDS + 1))
    return Facts(frozenset(anchors), frozenset(names), frozenset(words), runs)


def _end_name(name: list[str], names: set[frozenset[str]]) -> None:
    if name:
        names.add(frozenset(name))
        name.clear()


class _NumberReader:
    """Reads numbers token by token: "5.8 million" and "twenty-five thousand" are one number
    each, "2026 five" two. Each finished number goes into `anchors` as its canonical value."""

    def __init__(self, anchors: set[str]) -> None:
        self._anchors = anchors
        self._total = 0.0
        self._current: float | None = None
        self._last = ""
        """What the number so far ended with: "digits", "unit", "tens", "hundred", "scale" or ""."""

    def digits(self, token: str) -> None:
        self.flush()
        body = token.rstrip("stndrh")  # "21st" is 21
        if _THOUSANDS.fullmatch(body):
            body = body.replace(",", "")  # "5,000"
        elif body.count(",") == 1 and "." not in body:
            body = body.replace(",", ".")  # "5,8": a decimal comma
        try:
            self._current = float(body)
        except ValueError:  # "1.2.3", "1,2,3": keep it as written
            self._anchors.add(body)
            return
        self._last = "digits"

    def word(self, folded: str) -> bool:
        """Read a word; False if it is not a number word (and then the number so far ends)."""
        scale = _SCALES.get(folded)
        if scale is not None and (len(folded) > 2 or self._last == "digits"):
            if scale == 100:
                self._current = (self._current or 1.0) * 100
                self._last = "hundred"
            else:
                self._total += (self._current or 1.0) * scale
                self._current = 0.0
                self._last = "scale"
            return True
        unit = _UNITS.get(folded)
        tens = _TENS.get(folded)
        if unit is None and tens is None:
            self.flush()
            return False
        joins = self._last in ("", "hundred", "scale") or (self._last == "tens" and unit is not None and unit < 10)
        if not joins:
            self.flush()  # "five six", "2026 five": two numbers
        self._current = (self._current or 0.0) + (unit if unit is not None else tens or 0)
        self._last = "unit" if unit is not None else "tens"
        return True

    def flush(self) -> None:
        if self._last:
            self._anchors.add(format(self._total + (self._current or 0.0), ".12g"))
        self._total = 0.0
        self._current = None
        self._last = ""


def same_fact(
    terms_a: frozenset[Term], facts_a: Facts, terms_b: frozenset[Term], facts_b: Facts, weight: Callable[[Term], float]
) -> bool:
    """Whether two sentences, given their content terms, `Facts` and each term's weight
    (its IDF), state the same fact.

    Both must share `MIN_SHARED_TERMS` of the larger one's terms (`share_terms`), agree on
    every fact anchor (`facts_agree`), and either overlap by `MIN_OVERLAP` of their weight
    (`words_overlap`) or quote the same words (a shared run of `QUOTED_WORDS` words: two
    reports of one statement, worded differently around the quotation)."""
    if not share_terms(terms_a, terms_b) or not facts_agree(facts_a, facts_b):
        return False
    return words_overlap(terms_a, terms_b, weight) or not facts_a.runs.isdisjoint(facts_b.runs)


def share_terms(terms_a: frozenset[Term], terms_b: frozenset[Term]) -> bool:
    """They share at least `MIN_SHARED_TERMS` of the larger one's terms, whatever their weights:
    one rare word in common is not a statement in common. (Cheap: it rules out most pairs first.)"""
    shared = len(terms_a & terms_b)
    return shared > 0 and shared >= MIN_SHARED_TERMS * max(len(terms_a), len(terms_b))


def words_overlap(terms_a: frozenset[Term], terms_b: frozenset[Term], weight: Callable[[Term], float]) -> bool:
    """The shared terms carry at least `MIN_OVERLAP` of each sentence's term weight.

    Weighted by IDF, so sharing the story's everyday words ("said", the firms' names)
    counts for little, and sharing its rarer words for much."""
    common = sum(map(weight, terms_a & terms_b))
    return common >= MIN_OVERLAP * sum(map(weight, terms_a)) and common >= MIN_OVERLAP * sum(map(weight, terms_b))


def facts_agree(facts_a: Facts, facts_b: Facts) -> bool:
    """Same numbers, dates, signs and negation; each one's names found in the other."""
    return facts_a.anchors == facts_b.anchors and _names_found(facts_a, facts_b) and _names_found(facts_b, facts_a)


def _names_found(facts: Facts, other: Facts) -> bool:
    """Every name of `facts` is in `other`: all its words (in any case), or one of `other`'s
    names is made of some of its words ("Flock Safety" is found in a sentence naming "Flock")."""
    return all(name <= other.words or any(theirs <= name for theirs in other.names) for name in facts.names)
