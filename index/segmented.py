"""Several segments answered from in place: each term's postings read where they lie, with the
collection statistics of all live sentences, as Lucene and tantivy search their segments.

`in_place` makes the index `index.selection.rank` answers from, over segments opened by
`index.segments.open_segment` (memory-mapped) with their deleted articles, without copying
their postings, sentences or forward index:

- sentences are numbered segment after segment, deleted ones left out (as
  `index.segments.combine` numbers them when it copies); the small per-sentence arrays
  ranking reads in bulk (article, paragraph, position, flags, lengths) are put together in
  memory, a few bytes per sentence; each sentence's text and terms are read from its
  segment when asked for;
- the collection statistics are global: the live sentence count, their average length and
  each term's live document frequency (a segment's own, less the postings of its deleted
  sentences, found from their terms: the work of the deleted articles), hence every IDF;
- a term's postings are gathered from each segment holding it the first time a question
  uses it (renumbered, deleted sentences dropped) and its gains computed then, in
  rank-bm25's operation order, so every score equals a full rebuild's bit for bit; very
  common terms' impact lists are made from them likewise (`index.scoring`).

What a full rebuild would number differently: sentences (segment by segment here, file-name
order there), so two sentences of exactly equal score may come in the other order.

A corpus small enough for the dense gain table (`sentence_index.DENSE_GAIN_CELLS`) is left to
`combine`'s copy (`in_place` returns None): copying it costs little, and the table wants flat
postings.

Failure behaviour: works on segments already checked by `open_segment`; raises nothing of its own.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from index.analysis import Analyzer
from index.scoring import IMPACT_LIST, BM25PlusIndex, TermMatches, _ImpactLists
from index.segments import ArticleOrder, Segment, spelling_and_acronyms
from index.sentence_index import DENSE_GAIN_CELLS, SentenceIndex, TextStore, neighbours


@dataclass(frozen=True)
class _Part:
    """One segment as the whole sees it."""

    index: SentenceIndex
    base: int
    """Its first sentence's number in the whole."""
    count: int
    """Its live sentences."""
    kept: np.ndarray | None
    """Its live sentences' own numbers, in order (None: all of them live)."""
    to_chunk: np.ndarray | None
    """Each of its sentences' number in the whole, -1 for a deleted one (None: base + own number)."""
    to_global: np.ndarray | None
    """Each of its term ids' id in the whole (None: the same, as for the first segment)."""

    def local(self, chunk: int) -> int:
        own = chunk - self.base
        return int(self.kept[own]) if self.kept is not None else own


class SegmentTexts(TextStore):
    """The sentences of every part, numbered in the whole; each read from its own segment."""

    def __init__(self, parts: Sequence[_Part], size: int) -> None:  # no blob: nothing is copied
        self._parts = parts
        self._bases = [part.base for part in parts]
        self._size = size

    def _part(self, chunk: int) -> _Part:
        if not 0 <= chunk < self._size:
            raise IndexError(chunk)
        return self._parts[bisect.bisect_right(self._bases, chunk) - 1]

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, i: int) -> str:
        part = self._part(int(i))
        return part.index.texts[part.local(int(i))]

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(self._size))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextStore) and list(self) == list(other)


class SegmentedBM25(BM25PlusIndex):
    """`BM25PlusIndex`'s interface for ranking (vocabulary, idf, postings, impact lists,
    chunk_count) over the parts' postings as they lie on disk; see the module docstring."""

    def __init__(
        self,
        parts: Sequence[_Part],
        terms: list[str],
        vocabulary: dict[str, int],
        document_frequency: np.ndarray,
        chunk_length: np.ndarray,
    ) -> None:  # not BM25PlusIndex's: there are no flat postings to take
        self._parts = parts
        self._terms = terms
        self.vocabulary = vocabulary
        self.chunk_length = chunk_length
        self.k1, self.b, self.delta = parts[0].index.bm25.k1, parts[0].index.bm25.b, parts[0].index.bm25.delta
        self.chunk_count = int(len(chunk_length))
        self.average_length = int(chunk_length.sum(dtype=np.int64)) / self.chunk_count if self.chunk_count else 0.0
        self.common_df = max(IMPACT_LIST, self.chunk_count // 50)
        # As BM25PlusIndex: math.log((N + 1) / df) in Python floats (the division in float64 is the
        # same correctly rounded one, the numbers being exact; math.log mapped in C). A term only
        # deleted sentences held: 0, never asked for.
        ratio = (self.chunk_count + 1) / np.maximum(document_frequency, 1).astype(np.float64)
        self.idf = np.fromiter(map(math.log, ratio.tolist()), dtype=np.float64, count=len(ratio))
        self.idf[document_frequency == 0] = 0.0
        self.impact = _ImpactLists(self, np.flatnonzero(document_frequency > self.common_df))
        self._found: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        """Term id -> its chunks, tf and gains, gathered the first time a question asks."""

    def _gathered(self, term_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found = self._found.get(term_id)
        if found is not None:
            return found
        term = self._terms[term_id]
        chunks: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        for part in self._parts:
            bm25 = part.index.bm25
            own = term_id if part.to_global is None else bm25.vocabulary.get(term, -1)
            if own < 0 or (part.to_global is None and own >= len(bm25.vocabulary)):
                continue
            lo, hi = bm25.postings_start[own : own + 2].tolist()
            local_chunks, tf = bm25.postings_chunk[lo:hi], bm25.postings_tf[lo:hi]
            if part.to_chunk is not None:
                mapped = part.to_chunk[local_chunks]
                alive = mapped >= 0
                chunks.append(mapped[alive].astype(np.int32))
                tfs.append(tf[alive])
            else:
                chunks.append(local_chunks + np.int32(part.base) if part.base else np.asarray(local_chunks))
                tfs.append(np.asarray(tf))
        if not chunks:  # not a term of these segments (the vocabulary holds none such)
            chunks, tfs = [np.zeros(0, dtype=np.int32)], [np.zeros(0, dtype=np.uint16)]
        all_chunks = np.concatenate(chunks).astype(np.int32, copy=False)
        all_tf = np.concatenate(tfs)
        # BM25PlusIndex._fill_gains' operations, element by element: equal floats.
        tf64 = all_tf.astype(np.float64)
        norm = self.k1 * (1 - self.b + self.b * self.chunk_length[all_chunks].astype(np.int64) / self.average_length)
        gains = (self.idf[term_id] * (tf64 * (self.k1 + 1)) / (norm + tf64)).astype(np.float32)
        found = self._found[term_id] = (all_chunks, all_tf, gains)  # two threads may both make it: same values
        return found

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        chunks, _, gains = self._gathered(term_id)
        return chunks, gains

    def matches(self, term_id: int) -> TermMatches:
        chunks, tf, _ = self._gathered(term_id)
        tf64 = tf.astype(np.int64)
        idf = float(self.idf[term_id])
        norm = self.k1 * (1 - self.b + self.b * self.chunk_length[chunks].astype(np.int64) / self.average_length)
        part = (tf64 * (self.k1 + 1)) / (norm + tf64)
        return TermMatches(chunks=chunks, value=idf * (self.delta + part), idf=idf)

    def all_gains(self) -> np.ndarray:
        raise TypeError("an index of several segments has no flat postings; merge it to write it")


@dataclass
class SegmentedIndex(SentenceIndex):
    """A `SentenceIndex` over several segments in place: each sentence's terms read from its segment."""

    parts: tuple[_Part, ...] = field(default=(), repr=False)

    def chunk_terms(self, chunk: int) -> frozenset[int]:
        part = self.parts[bisect.bisect_right([p.base for p in self.parts], chunk) - 1]
        own = part.local(chunk)
        index = part.index
        lo, hi = index.terms_start[own : own + 2].tolist()
        ids = index.terms[lo:hi]
        return frozenset((ids if part.to_global is None else part.to_global[ids]).tolist())


def in_place(
    live: Sequence[tuple[Segment, frozenset[int]]], order: ArticleOrder, analyzer: Analyzer
) -> SegmentedIndex | None:
    """The index over `live` (segments and their deleted articles) in place; None when it is
    small enough for the dense gain table (see the module docstring)."""
    parts: list[_Part] = []
    terms: list[str] = []
    vocabulary: dict[str, int] = {}
    frequencies: list[tuple[np.ndarray | None, np.ndarray]] = []
    article: list[np.ndarray] = []
    paragraph: list[np.ndarray] = []
    position: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    length: list[np.ndarray] = []
    base = 0
    for s, (segment, deleted) in enumerate(live):
        index = segment.index
        bm25 = index.bm25
        chunk_article = order.to_number(s)[index.article] if index.size else np.zeros(0, dtype=np.int32)
        own_terms = [""] * len(bm25.vocabulary)
        for term, term_id in bm25.vocabulary.items():
            own_terms[term_id] = term
        if s == 0:
            terms.extend(own_terms)
            vocabulary.update(bm25.vocabulary)
            to_global = None
        else:
            known = len(vocabulary)
            to_global = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in own_terms], dtype=np.int64)
            terms.extend(t for t, g in zip(own_terms, to_global.tolist()) if g >= known)  # new ones, in id order
        df = np.diff(np.asarray(bm25.postings_start))
        if deleted:
            alive = chunk_article >= 0
            kept = np.flatnonzero(alive)
            to_chunk = np.full(index.size, -1, dtype=np.int64)
            to_chunk[kept] = np.arange(base, base + len(kept))
            # The deleted sentences' own terms (each once per sentence): their postings leave the counts.
            dead = np.flatnonzero(~alive).tolist()
            starts = index.terms_start
            dead_terms = [index.terms[starts[c] : starts[c + 1]] for c in dead]
            if dead_terms:
                df = df - np.bincount(np.concatenate(dead_terms), minlength=len(df))
            for values, out in (
                (chunk_article, article), (index.paragraph, paragraph), (index.position, position),
                (index.flags, flags), (bm25.chunk_length, length),
            ):  # fmt: skip
                out.append(np.asarray(values)[kept])
            parts.append(_Part(index, base, len(kept), kept, to_chunk, to_global))
        else:
            for values, out in (
                (chunk_article, article), (index.paragraph, paragraph), (index.position, position),
                (index.flags, flags), (bm25.chunk_length, length),
            ):  # fmt: skip
                out.append(np.asarray(values))
            parts.append(_Part(index, base, index.size, None, None, to_global))
        frequencies.append((to_global, df))
        base += parts[-1].count

    document_frequency = np.zeros(len(terms), dtype=np.int64)
    for to_global, df in frequencies:
        if to_global is None:
            document_frequency[: len(df)] += df
        else:
            document_frequency[to_global] += df  # a segment's term ids map to distinct ones
    gone = np.flatnonzero(document_frequency == 0).tolist()
    for term_id in gone:  # terms only deleted sentences held: unknown, as to a full rebuild
        del vocabulary[terms[term_id]]
    if len(vocabulary) * (base + 1) <= DENSE_GAIN_CELLS:
        return None

    chunk_length = _concat(length, np.int32)
    bm25 = SegmentedBM25(parts, terms, vocabulary, document_frequency, chunk_length)
    _, surface, acronyms = spelling_and_acronyms(live, order, analyzer)
    article_all = _concat(article, np.int32)
    paragraph_all = _concat(paragraph, np.int32)
    previous, following = neighbours(article_all, paragraph_all)
    return SegmentedIndex(
        analyzer=analyzer,
        texts=SegmentTexts(parts, base),
        article=article_all,
        paragraph=paragraph_all,
        position=_concat(position, np.int32),
        previous=previous,
        following=following,
        flags=_concat(flags, np.uint8),
        terms_start=np.zeros(1, dtype=np.int64),  # unused: chunk_terms reads each segment's own
        terms=np.zeros(0, dtype=np.int32),
        bm25=bm25,
        surface=surface,
        acronyms=acronyms,
        parts=tuple(parts),
    )


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)
