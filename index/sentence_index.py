"""The built index: every sentence of the corpus, its neighbours and flags, and BM25 postings.

Built once from a corpus (`SentenceIndex.build`), then read-only: safe to share
between threads and to load from the on-disk cache by any number of processes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from corpus import Article
from index.analysis import Analyzer
from index.chunking import Chunk, chunk_articles
from index.features import sentence_flags
from index.query import Vocabulary
from index.scoring import BM25PlusIndex

NO_NEIGHBOUR = -1


@dataclass
class SentenceIndex:
    analyzer: Analyzer
    texts: list[str]
    """Sentence text, verbatim, by chunk number."""
    article: np.ndarray
    paragraph: np.ndarray
    position: np.ndarray
    previous: np.ndarray
    """The chunk before in the same paragraph, or NO_NEIGHBOUR."""
    following: np.ndarray
    """The chunk after in the same paragraph, or NO_NEIGHBOUR."""
    flags: np.ndarray
    """features.HAS_* bits by chunk."""
    terms_start: np.ndarray
    terms: np.ndarray
    """The distinct term ids of chunk i are terms[terms_start[i]:terms_start[i + 1]]."""
    bm25: BM25PlusIndex
    surface: dict[str, str]
    """Every surface word (casefolded) the articles use -> its index term."""
    acronyms: dict[str, tuple[str, ...]]
    """"ftc" -> terms of "Federal Trade Commission": initials of capitalised names in the articles."""

    @property
    def size(self) -> int:
        return len(self.texts)

    @property
    def term_count(self) -> int:
        return len(self.bm25.vocabulary)

    def chunk_terms(self, chunk: int) -> frozenset[int]:
        return frozenset(self.terms[self.terms_start[chunk] : self.terms_start[chunk + 1]].tolist())

    def vocabulary(self) -> Vocabulary:
        return Vocabulary(terms=frozenset(self.bm25.vocabulary), surface=self.surface, acronyms=self.acronyms)

    @classmethod
    def build(cls, articles: Sequence[Article], analyzer: Analyzer) -> "SentenceIndex":
        chunks = chunk_articles(articles)
        return cls.from_chunks(chunks, analyzer)

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk], analyzer: Analyzer) -> "SentenceIndex":
        n = len(chunks)
        article = np.fromiter((c.article for c in chunks), dtype=np.int32, count=n)
        paragraph = np.fromiter((c.paragraph for c in chunks), dtype=np.int32, count=n)
        position = np.fromiter((c.position for c in chunks), dtype=np.int32, count=n)
        same_paragraph = (article[1:] == article[:-1]) & (paragraph[1:] == paragraph[:-1])
        previous = np.full(n, NO_NEIGHBOUR, dtype=np.int32)
        following = np.full(n, NO_NEIGHBOUR, dtype=np.int32)
        ids = np.arange(n, dtype=np.int32)
        previous[1:][same_paragraph] = ids[:-1][same_paragraph]
        following[:-1][same_paragraph] = ids[1:][same_paragraph]

        acronyms: dict[str, tuple[str, ...]] = {}
        surface_counts: Counter[str] = Counter()
        vocabulary: dict[str, int] = {}
        term_ids: list[list[int]] = []
        flags = np.zeros(n, dtype=np.uint8)
        term = analyzer.term
        word_ids: dict[str, int] = {}
        """Surface word -> term id, or -1 for a stopword: one look-up per word instead of two."""

        def resolve(word: str) -> int:
            stem = term(word)
            word_ids[word] = found = -1 if stem is None else vocabulary.setdefault(stem, len(vocabulary))
            return found

        for i, chunk in enumerate(chunks):
            words = analyzer.words(chunk.text)
            surface_counts.update(words)
            get = word_ids.get
            ids = [get(w, -2) for w in words]
            if -2 in ids:
                ids = [resolve(w) if i_ == -2 else i_ for w, i_ in zip(words, ids)]
            term_ids.append([i_ for i_ in ids if i_ >= 0])
            flags[i] = sentence_flags(chunk.text, words)
            for acronym, name in name_initials(chunk.text):
                if acronym not in acronyms:
                    acronyms[acronym] = tuple(analyzer.analyze(name))
        surface = {}
        for word, _ in surface_counts.most_common():
            stem = term(word)
            if stem is not None and len(word) >= 3 and word.isalpha():
                surface[word] = stem
        bm25 = BM25PlusIndex.from_term_ids(vocabulary, term_ids)
        terms_start = np.zeros(n + 1, dtype=np.int64)
        distinct = [sorted(set(ids)) for ids in term_ids]
        np.cumsum([len(d) for d in distinct], out=terms_start[1:])
        terms = np.fromiter((t for d in distinct for t in d), dtype=np.int32, count=int(terms_start[-1]))
        return cls(
            analyzer=analyzer,
            texts=[c.text for c in chunks],
            article=article,
            paragraph=paragraph,
            position=position,
            previous=previous,
            following=following,
            flags=flags,
            terms_start=terms_start,
            terms=terms,
            bm25=bm25,
            surface=surface,
            acronyms={a: t for a, t in acronyms.items() if a not in surface and t},
        )


# Two to six capitalised words, possibly joined by "and", "of", "for", "the":
# "Federal Trade Commission", "Immigration and Customs Enforcement".
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:(?:and|of|for|the)\s+)?[A-Z][a-z]+){1,5}\b")


def name_initials(text: str) -> list[tuple[str, str]]:
    """(acronym, name) for each multi-word capitalised name: ("ftc", "Federal Trade Commission")."""
    out = []
    for match in _NAME.finditer(text):
        name = re.sub(r"^(?:The|A|An|This|That)\s+", "", match.group(0))
        initials = "".join(w[0] for w in name.split() if w[0].isupper()).casefold()
        if len(initials) >= 2:
            out.append((initials, name))
    return out
