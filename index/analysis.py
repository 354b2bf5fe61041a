"""One text analyzer for sentences and questions alike.

    text -> Unicode clean-up (NFKC, curly quotes, invisible characters)
         -> case folding
         -> tokens: words, numbers, money and percentages
         -> English stopwords removed
         -> Snowball (Porter2) stems

Numbers survive as terms: "$839 million" gives ["dollar", "839", "million"] and
"27%" gives ["27", "percent"], so "how much" and "what percent" questions can
meet them. The settings that change what terms come out are part of
`Analyzer.fingerprint`, which keys the index cache.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources

import Stemmer

ANALYZER_VERSION = "3"

# Curly quotes and dashes people paste from articles and phones.
_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u2013": "-", "\u2014": " - ", "\u2212": "-",
    }
)
# Zero-width and bidirectional control characters: invisible, never part of a word.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# A number (with $ or %), or a word with inner apostrophes ("ring's", "didn't").
_TOKEN = re.compile(r"\$?\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:'[^\W\d_]+)*")
_NEEDS_CARE = re.compile(r"[\d'\u2018-\u201b\u2032\u00b4\uff10-\uff19\uff07]")
"""Digits (also full-width) or apostrophes (also curly) in the raw text: tokens need a second look."""
_ASCII_TOKEN = re.compile(r"\$?[0-9]+(?:[.,][0-9]+)*%?|[a-z]+(?:'[a-z]+)*")
"""_TOKEN for lower-case ASCII text, where it finds the same tokens (a letter is a-z, a digit 0-9)."""
_NEEDS_CARE_MARK = 1
_ASCII_FOLD = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else _NEEDS_CARE_MARK if chr(c) in "0123456789'" else 32
    for c in range(256)
)
"""For bytes.translate of ASCII text: a letter -> its lower case, a digit or apostrophe -> byte 1,
anything else -> a space. With no byte 1 in the result (no digit, no apostrophe), _TOKEN's tokens
are exactly its runs of letters, which bytes.translate and str.split find about three times
faster than str.translate with a table (a dict look-up per character) did."""
_ASCII_TOKEN_CHARS = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or chr(c) in "0123456789$%.,'" else 32 for c in range(256)
)
"""For bytes.translate of ASCII text: a letter -> its lower case; a digit or one of "$%.,'" kept;
anything else -> a space (no token holds it)."""


def clean_text(text: str) -> str:
    """Unicode clean-up shared by everything that compares text: NFKC, plain quotes, no invisibles."""
    if text.isascii() and text.isprintable():
        return text  # nothing to normalise: the common case, kept fast
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    return text.translate(_QUOTES)


def _load_words(name: str) -> frozenset[str]:
    data = resources.files("index").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    words = set()
    for line in data.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.update(line.lower().split())
    return frozenset(words)


@dataclass(frozen=True)
class Analyzer:
    """Turns text into index terms. Immutable; safe to share between threads."""

    language: str = "english"
    stopword_file: str = "stopwords_en.txt"
    _stem_cache: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)
    _phrase_cache: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __reduce__(self) -> tuple:
        # Pickled only to reach build workers: the settings, not the caches or the stemmer.
        return (Analyzer, (self.language, self.stopword_file))

    @cached_property
    def stopwords(self) -> frozenset[str]:
        return _load_words(self.stopword_file)

    @cached_property
    def _stemmer(self) -> Stemmer.Stemmer:
        return Stemmer.Stemmer(self.language)

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever the terms this analyzer produces could change."""
        digest = hashlib.sha256()
        digest.update(f"v{ANALYZER_VERSION}|{self.language}|{Stemmer.version()}|".encode())
        digest.update(" ".join(sorted(self.stopwords)).encode())
        return digest.hexdigest()[:16]

    def words(self, text: str) -> list[str]:
        """Case-folded surface tokens, before stopwords and stemming (numbers expanded)."""
        if text.isascii():
            # Most sentences. Clean-up keeps ASCII as it is (a control character becomes a space,
            # which no token holds either) and casefold is lower().
            folded = text.encode("ascii").translate(_ASCII_FOLD)
            if _NEEDS_CARE_MARK not in folded:
                return folded.decode("ascii").split()  # no number, money or apostrophe: runs of letters
            return _ascii_words(text)
        else:
            plain = not _NEEDS_CARE.search(text)
            tokens = _TOKEN.findall(clean_text(text).casefold())
            if plain:
                return tokens  # no number, money or apostrophe: the tokens are the words
        out: list[str] = []
        append = out.append
        for token in tokens:
            first = token[0]
            if first.isdigit() or first == "$":
                out.extend(_number_terms(token))
            elif token.endswith("'s"):
                append(token[:-2])
            else:
                append(token)
        return out

    def term(self, word: str) -> str | None:
        """The index term for one surface word: its stem, or None for a stopword."""
        cache = self._stem_cache
        try:
            return cache[word]
        except KeyError:
            pass
        if word in self.stopwords or word.replace("'", "") in self.stopwords:
            result = None
        elif word[0].isdigit() or word in ("dollar", "percent"):
            result = word
        else:
            result = self._stemmer.stemWord(word.replace("'", ""))
        if len(cache) < 500_000:
            cache[word] = result
        return result

    def analyze(self, text: str) -> list[str]:
        """The index terms of `text`, in order, stopwords dropped."""
        term = self.term
        return [t for t in map(term, self.words(text)) if t is not None]

    def phrase_terms(self, phrase: str) -> tuple[str, ...]:
        """`analyze` for the few short phrases used again and again (the expansion lexicon's),
        remembered."""
        found = self._phrase_cache.get(phrase)
        if found is None:
            found = tuple(self.analyze(phrase))
            if len(self._phrase_cache) < 50_000:
                self._phrase_cache[phrase] = found
        return found


def _ascii_words(text: str) -> list[str]:
    """`Analyzer.words` of ASCII text with a digit or an apostrophe. A token holds only letters,
    digits and "$%.,'", so the text is cut at every other character first (bytes.translate and
    split, quick) and _ASCII_TOKEN looks only into the pieces that are not plain letters: the
    same tokens as _TOKEN over the whole text, in half the time."""
    out: list[str] = []
    append = out.append
    for piece in text.encode("ascii").translate(_ASCII_TOKEN_CHARS).decode("ascii").split():
        if piece.isalpha():
            append(piece)  # a plain word: neither a number nor a "'s" to take off
            continue
        for token in _ASCII_TOKEN.findall(piece):
            first = token[0]
            if first.isdigit() or first == "$":
                out.extend(_number_terms(token))
            elif token.endswith("'s"):
                append(token[:-2])
            else:
                append(token)
    return out


def _number_terms(token: str) -> list[str]:
    terms: list[str] = []
    if token.startswith("$"):
        terms.append("dollar")
        token = token[1:]
    percent = token.endswith("%")
    token = token.rstrip("%")
    # "5,000" is five thousand; "5.8" keeps its decimal point.
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):
        token = token.replace(",", "")
    terms.append(token.rstrip(".,"))
    if percent:
        terms.append("percent")
    return terms
