"""A chat question -> weighted concepts to search for, plus what kind of answer it wants.

People type "why'd ring bail on the flock thing" or "what percent of american
housholds have a doorbell cam". Each content word of the question becomes a
`Concept`: the index terms that would satisfy it, with weights. In order:

1. the word's own stem, if the articles use it;
2. joined or split compounds ("superbowl" / "Super Bowl") found in the articles;
3. a spelling correction against the articles' own words (and the stopwords, so
   "realy" becomes "really" and is dropped rather than "real");
4. the expansion lexicon (`data/lexicon_en.txt`): chat shorthand and paraphrases
   mapped to news words, weighted below the question's own words.

A concept none of whose terms occurs in the articles stays in the query as
*unknown*: it matches nothing, but it counts when judging how much of the
question a passage covers, so "capital of australia" is not "answered" by a
passage that merely shares one common word.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from index.analysis import Analyzer, clean_text

OWN_WEIGHT = 1.0
REPAIRED_WEIGHT = 0.9
"""A compound or spelling repair: very likely what was meant."""
STAND_IN_WEIGHT = 0.8
"""An expansion standing in for a word the articles never use."""
EXPANSION_WEIGHT = 0.45
"""An expansion next to a word the articles do use."""
MAX_CONCEPTS = 40
"""Questions longer than this (in content words) are cut; nobody asks that much at once."""
COMMON_WORDS = 2000
COMMON_SHARE = 0.05
"""A four-letter question word the articles lack is corrected only to one of their most frequent
words: the first COMMON_SHARE of their vocabulary, at most COMMON_WORDS."""


class QuestionKind(str, enum.Enum):
    DEFINITION = "definition"
    """"what is X", "who is X": the answer says what X is."""
    REASON = "reason"
    TIME = "time"
    QUANTITY = "quantity"
    PERSON = "person"
    PLACE = "place"
    YES_NO = "yes_no"
    OTHER = "other"


_DEFINITION = re.compile(
    r"^\s*(?:so\s+)?(?:what|wat|wut|who)(?:'s|s|\s+is|\s+are|\s+was|\s+were)\s+(?:the\s+|a\s+|an\s+)?"
    r"(?P<subject>[^\s?!.,]+(?:\s+[^\s?!.,]+){0,3}?)\s*(?:exactly|again|anyway)?\s*[?!.]*\s*$"
)
"""The whole question is "what is X" / "who's X" (X up to four words): X is to be defined."""


def definition_subject(question: str) -> str | None:
    """X in "what is X?", "whats X", "who is X" (casefolded), else None."""
    match = _DEFINITION.match(clean_text(question).casefold())
    if not match:
        return None
    subject = match.group("subject")
    words = subject.split()
    # "what is France a region of": X would end in a preposition or hold an article, so the
    # question asks something about X, not what X is.
    if words[-1] in _NOT_SUBJECT_END or any(w in ("a", "an", "the") for w in words[1:]):
        return None
    return subject


_NOT_SUBJECT_END = frozenset("of in on at to for from with by about into than as a an the".split())


_KIND_PATTERNS: list[tuple[QuestionKind, re.Pattern[str]]] = [
    (QuestionKind.REASON, re.compile(r"\b(why|why'd|whyd|how come|what made|reason|reasons|because)\b")),
    (
        QuestionKind.QUANTITY,
        re.compile(
            r"\b(how (many|much|big|large|long|far|often)|what (percent|percentage|share|number|amount|price|fraction)"
            r"|what did .* (pay|cost)|how much)\b"
        ),
    ),
    (
        QuestionKind.TIME,
        re.compile(
            r"\b(when|what (year|month|day|date|time)|which (year|month|day|date)|what day of|since when|how long ago)\b"
        ),
    ),
    (QuestionKind.PERSON, re.compile(r"\b(who|whom|whose|who's|which (senator|person|people|company|companies|organi[sz]ation|group|firm|official|founder|ceo))\b")),
    (QuestionKind.PLACE, re.compile(r"\b(where|which (city|country|state|place|town))\b")),
    (
        QuestionKind.YES_NO,
        re.compile(r"^(is|was|are|were|did|does|do|can|could|will|would|has|have|had|should|isnt|wasnt|didnt|doesnt)\b"),
    ),
]


# In "what month did ...", "month" names the kind of answer, not something to search for.
_ANSWER_TYPE_NOUNS = re.compile(
    r"\b(?:what|which|what's the|whats the)\s+(?:day of the week|year|month|day|date|time of day"
    r"|percent|percentage|share|proportion|number|amount|fraction)\b(?:\s+of\b)?"
)


_CATEGORY = re.compile(r"^\s*(?:which|what)\s+([^\W\d_]+)\b")
"""The noun right after an opening "which" / "what": often the category of the answer."""


def strip_answer_type_words(question: str) -> str:
    return _ANSWER_TYPE_NOUNS.sub(" ", question)


def question_kind(question: str) -> QuestionKind:
    text = clean_text(question).casefold()
    if definition_subject(text) is not None:
        return QuestionKind.DEFINITION
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return QuestionKind.OTHER


class Concept(NamedTuple):
    """One thing the question asks about, and the index terms that satisfy it.
    (A NamedTuple: a question makes several, and a frozen dataclass costs more to make.)"""

    text: str
    """The question's own word(s), for messages."""
    terms: Mapping[str, float]
    """Index term -> weight (0..1]. Empty when the articles never mention it."""
    additive: bool = False
    """The terms spell out one name together ("FTC" -> federal, trade, commission): their
    gains add up instead of the best one counting."""

    @property
    def known(self) -> bool:
        return bool(self.terms)


@dataclass(frozen=True)
class Query:
    question: str
    kind: QuestionKind
    concepts: tuple[Concept, ...]

    @cached_property
    def known_concepts(self) -> tuple[Concept, ...]:
        return tuple(c for c in self.concepts if c.known)

    @property
    def unknown_words(self) -> list[str]:
        return [c.text for c in self.concepts if not c.known]


@dataclass(frozen=True)
class Lexicon:
    """Expansions: question phrase (tuple of casefolded words) -> phrases to search for."""

    entries: Mapping[tuple[str, ...], tuple[str, ...]]
    longest: int

    @classmethod
    def parse(cls, text: str) -> "Lexicon":
        entries: dict[tuple[str, ...], list[str]] = {}

        def add(source: str, targets: Iterable[str]) -> None:
            key = tuple(source.casefold().split())
            if key:
                bucket = entries.setdefault(key, [])
                bucket.extend(t.strip() for t in targets if t.strip() and t.strip() not in bucket)

        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "->" in line:
                left, right = line.split("->", 1)
                targets = [t for t in right.split(",")]
                for source in left.split(","):
                    add(source, targets)
            elif "=" in line:
                members = [m.strip() for m in line.split("=") if m.strip()]
                for member in members:
                    add(member, [m for m in members if m != member])
            else:
                raise ValueError(f"lexicon line without '->' or '=': {raw!r}")
        longest = max((len(k) for k in entries), default=1)
        return cls({k: tuple(v) for k, v in entries.items()}, longest)

    @cached_property
    def phrase_starts(self) -> frozenset[str]:
        """First words of the entries of more than one word: only there is a phrase looked up."""
        return frozenset(key[0] for key in self.entries if len(key) > 1)

    @classmethod
    @lru_cache(maxsize=4)
    def bundled(cls, name: str = "lexicon_en.txt") -> "Lexicon":
        return cls.parse(resources.files("index").joinpath("data").joinpath(name).read_text("utf-8"))


@dataclass
class Vocabulary:
    """What the articles contain, for repairing question words."""

    terms: frozenset[str]
    """Every index term."""
    surface: Mapping[str, str]
    """Surface word (casefolded) -> its index term, for words the articles use, commonest first."""
    acronyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Acronym -> the index terms of the name it abbreviates."""
    terms_by_frequency: Callable[[], Sequence[str]] | None = field(default=None, repr=False, compare=False)
    """Every index term, commonest first (asked for when a term is first repaired): of two
    repairs equally close, the commoner term wins. Without it, name order."""
    _stopwords: list[str] = field(default_factory=list, repr=False)

    def add_stopwords(self, stopwords: frozenset[str]) -> None:
        """Let corrections land on stopwords too, so "realy" becomes "really", not "real"."""
        words = [word for word in stopwords if word.isalpha()]
        self._stopwords.extend(words)
        if "_buckets" in self.__dict__:  # already built: add them as building would have
            for word in words:
                self._buckets.setdefault((word[:1], len(word)), []).append(word)

    @cached_property
    def _buckets(self) -> dict[tuple[str, int], list[str]]:
        """Candidates by first letter and length: a correction is within two edits, so only
        words of nearly the same length, starting alike, are compared. Built when a word first
        needs repair (most questions need none; at 20,000 articles it took 0.1-0.3 s of a start)."""
        buckets: dict[tuple[str, int], list[str]] = {}
        for word in self.surface:
            buckets.setdefault((word[:1], len(word)), []).append(word)
        for word in self._stopwords:
            buckets.setdefault((word[:1], len(word)), []).append(word)
        return buckets

    @cached_property
    def common(self) -> frozenset[str]:
        """The articles' most frequent words (`surface` is in frequency order):
        short words are corrected only to these, where a one-letter slip is likely a typo."""
        return frozenset(list(self.surface)[: min(COMMON_WORDS, int(COMMON_SHARE * len(self.surface)))])

    def correct(self, word: str) -> str | None:
        """The closest article word (or stopword) to a misspelt `word`, or None.

        Words of 5 letters or more: within one edit (two from 8 letters). Four-letter words:
        one edit from one of the articles' common words (or a stopword), same first letter."""
        if len(word) < 4 or not word.isalpha():
            return None
        # Imported here: most questions need no spelling repair, and start-up time matters.
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        limit = 1 if len(word) < 8 else 2
        candidates = [
            w for size in range(len(word) - limit, len(word) + limit + 1)
            for w in self._buckets.get((word[:1], size), ())
        ]
        if len(word) == 4:
            common = self.common
            candidates = [w for w in candidates if w in common or w not in self.surface]
        found = process.extract(word, candidates, scorer=Levenshtein.distance, score_cutoff=limit, limit=None)
        if not found:
            return None
        # Equally close: a stopword first ("realy" is "really", not "real"), then the commoner word.
        rank = self._frequency_rank
        return min(found, key=lambda f: (f[1], rank.get(f[0], -1)))[0]

    @cached_property
    def _frequency_rank(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.surface)}

    def correct_term(self, term: str) -> str | None:
        """An index term one edit from a misspelt word's stem ("anounc" -> "announc": the
        misspelling is two edits from "announced" but one from its stem), or None."""
        if len(term) < 5 or not term.isalpha():
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        buckets = self._term_buckets
        candidates = [t for size in (len(term) - 1, len(term), len(term) + 1) for t in buckets.get((term[:1], size), ())]
        best = process.extractOne(term, candidates, scorer=Levenshtein.distance, score_cutoff=1)
        return best[0] if best else None

    @cached_property
    def _term_buckets(self) -> dict[tuple[str, int], list[str]]:
        # In a fixed order (`extractOne` keeps the first of equally close candidates): iterating
        # the frozenset went by string hashes, which differ from process to process, so two
        # replicas, or two runs, could repair the same word differently.
        ordered = self.terms_by_frequency() if self.terms_by_frequency is not None else sorted(self.terms)
        buckets: dict[tuple[str, int], list[str]] = {}
        for term in ordered:
            if term.isalpha():
                buckets.setdefault((term[:1], len(term)), []).append(term)
        return buckets


def parse_question(
    question: str, analyzer: Analyzer, vocabulary: Vocabulary, lexicon: Lexicon | None = None
) -> Query:
    """Turn a question into concepts with weighted index terms."""
    lexicon = lexicon or Lexicon.bundled()
    text = strip_answer_type_words(clean_text(question).casefold())
    words = analyzer.words(text)
    category = _CATEGORY.match(text)
    if category and words and words[0] in ("which", "what"):
        # "which river flows through paris": the articles name the river ("the Seine") without
        # calling it one; a category word they never use is the kind of answer, not a missing word.
        noun = category.group(1)
        if analyzer.term(noun) not in vocabulary.terms and noun not in lexicon.entries and len(words) > 2:
            del words[1]
    concepts: list[Concept] = []
    i = 0
    phrase_starts = lexicon.phrase_starts
    while i < len(words) and len(concepts) < MAX_CONCEPTS:
        # A lexicon phrase of several words ("pay for", "tie up") is one concept.
        for n in range(min(lexicon.longest, len(words) - i) if words[i] in phrase_starts else 1, 1, -1):
            key = tuple(words[i : i + n])
            if key in lexicon.entries:
                terms: dict[str, float] = {}
                for word in key:
                    term = analyzer.term(word)
                    if term in vocabulary.terms:
                        terms[term] = OWN_WEIGHT
                _add_expansions(terms, lexicon.entries[key], analyzer, vocabulary)
                concepts.append(Concept(" ".join(key), terms))
                i += n
                break
        else:
            concept = _word_concept(words, i, analyzer, vocabulary, lexicon)
            if concept is not None:
                concepts.append(concept)
            i += 1
    return Query(question=question, kind=question_kind(question), concepts=tuple(concepts))


def _word_concept(
    words: list[str], i: int, analyzer: Analyzer, vocabulary: Vocabulary, lexicon: Lexicon
) -> Concept | None:
    word = words[i]
    term = analyzer.term(word)
    expansions = lexicon.entries.get((word,), ())
    if term is None and not expansions:
        return None  # a stopword
    if expansions and term not in vocabulary.terms and not any(analyzer.phrase_terms(p) for p in expansions):
        return None  # chat shorthand for a stopword ("u" -> you, "wat" -> what)
    terms: dict[str, float] = {}
    if term is not None and term in vocabulary.terms:
        terms[term] = OWN_WEIGHT
    elif term is not None:
        spelled_out = vocabulary.acronyms.get(word, ())
        if spelled_out and not expansions:
            return Concept(word, {t: REPAIRED_WEIGHT for t in spelled_out}, additive=True)
        for repaired in _repairs(words, i, analyzer, vocabulary) + _agent_noun_stem(word, analyzer, vocabulary):
            terms.setdefault(repaired, REPAIRED_WEIGHT)
        if not terms and not expansions:
            corrected = vocabulary.correct(word)
            if corrected is not None:
                fixed = analyzer.term(corrected)
                if fixed is None:
                    return None  # a misspelt stopword ("realy")
                terms[fixed] = REPAIRED_WEIGHT
                expansions = lexicon.entries.get((corrected,), ())
            else:
                fixed = vocabulary.correct_term(term)
                if fixed is not None:
                    terms[fixed] = REPAIRED_WEIGHT
    _add_expansions(terms, expansions, analyzer, vocabulary)
    if term is None and not terms:
        return None
    return Concept(word, terms)


def _repairs(words: list[str], i: int, analyzer: Analyzer, vocabulary: Vocabulary) -> list[str]:
    """Compound repairs: "superbowl" -> "super" + "bowl"; "super bowl" -> "superbowl"."""
    word = words[i]
    out: list[str] = []
    if i + 1 < len(words):
        joined = analyzer.term(word + words[i + 1])
        if joined in vocabulary.terms:
            out.append(joined)
    if i > 0:
        joined = analyzer.term(words[i - 1] + word)
        if joined in vocabulary.terms:
            out.append(joined)
    for cut in range(3, len(word) - 2):
        left, right = analyzer.term(word[:cut]), analyzer.term(word[cut:])
        if left in vocabulary.terms and right in vocabulary.terms:
            out.extend([left, right])
            break
    return out


def _agent_noun_stem(word: str, analyzer: Analyzer, vocabulary: Vocabulary) -> list[str]:
    """"finder" -> "find", "trackers" -> "track": the verb behind an agent noun the articles lack."""
    for suffix in ("ers", "er"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            verb = analyzer.term(word[: -len(suffix)])
            if verb in vocabulary.terms:
                return [verb]
    return []


def _add_expansions(
    terms: dict[str, float], phrases: Iterable[str], analyzer: Analyzer, vocabulary: Vocabulary
) -> None:
    weight = EXPANSION_WEIGHT if terms else STAND_IN_WEIGHT
    for phrase in phrases:
        for term in analyzer.phrase_terms(phrase):
            if term in vocabulary.terms and term not in terms:
                terms[term] = weight
