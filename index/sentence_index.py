"""The built index: every sentence of the corpus, its neighbours and flags, and BM25 postings.

Built once from a corpus (`SentenceIndex.build`), then read-only: safe to share
between threads and to load from the on-disk cache by any number of processes.

Building a large corpus splits the articles between worker processes (sentence
splitting and analysis are pure Python work, one core each); the workers'
results are merged with numpy. Sentences are kept as one UTF-8 block with
offsets, which loads from the cache in one read instead of a million objects.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np

from corpus import Article
from index.analysis import Analyzer
from index.impact_order import ImpactOrder
from index.postings_search import PostingsSearch
from index.chunking import Chunk, SentenceSplitter, split_sentences
from index.features import IS_HEADLINE, REASON_PHRASE_WORD, is_headline, sentence_flags_from, word_flags
from index.progress import BuildProgress, ProgressCallback, report
from index.query import Vocabulary
from index.same_fact import Facts, sentence_facts
from index.scoring import BM25PlusIndex

NO_NEIGHBOUR = -1
MEMO_SIZE = 50_000
DENSE_GAIN_CELLS = 4_000_000
"""An index with at most this many (term, sentence) cells keeps every gain in a dense table
(at most 16 MB): ranking then reads a question's gains in one step instead of searching."""
PARALLEL_FROM_CHARS = 5_000_000
"""Corpora with less text than this are built in-process: starting workers would cost more."""
BATCH_ARTICLES = 200
"""The fewest articles analysed between two progress reports."""


class TextStore:
    """Sentences as one UTF-8 block (a uint8 array, memory-mapped when loaded) plus offsets:
    a sequence of str, decoded on access."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> "TextStore":
        encoded = [t.encode("utf-8") for t in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        lo, hi = self.offsets[i : i + 2].tolist()
        return self.blob[lo:hi].tobytes().decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TextStore):
            return np.array_equal(self.blob, other.blob) and np.array_equal(self.offsets, other.offsets)
        return NotImplemented


class ChunkMemo:
    """Per-sentence values that answers need again and again (term sets, fact anchors),
    computed on first use and remembered, up to MEMO_SIZE sentences.

    Safe across threads: a race only computes a value twice.
    """

    def __init__(self, index: "SentenceIndex") -> None:
        self._index = index
        self._terms: dict[int, frozenset[int]] = {}
        self._facts: dict[int, Facts] = {}

    def terms(self, chunk: int) -> frozenset[int]:
        found = self._terms.get(chunk)
        if found is None:
            found = self._index.chunk_terms(chunk)
            self._remember(self._terms, chunk, found)
        return found

    def facts(self, chunk: int) -> Facts:
        """A sentence's fact anchors, names and words (see `index.same_fact`)."""
        found = self._facts.get(chunk)
        if found is None:
            found = sentence_facts(self._index.texts[chunk], self._index.analyzer.stopwords)
            self._remember(self._facts, chunk, found)
        return found

    @staticmethod
    def _remember(memo: dict, chunk: int, value: object) -> None:
        if len(memo) >= MEMO_SIZE:
            memo.clear()  # simple and bounded; the popular sentences come back quickly
        memo[chunk] = value


@dataclass
class SentenceIndex:
    analyzer: Analyzer
    texts: TextStore
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
    surface: Mapping[str, str]
    """Every surface word (casefolded) the articles use -> its index term, commonest first (a
    dict, or for several segments `index.segments.SurfaceTable`, ordered when first iterated)."""
    acronyms: dict[str, tuple[str, ...]]
    """"ftc" -> terms of "Federal Trade Commission": initials of capitalised names in the articles."""
    around: np.ndarray | None = None
    """The sentences around each chunk in its paragraph, as rows: previous, following,
    two before, two after. Where there is none: `size`, one past the last chunk, which
    holds no term, so ranking reads every candidate's context in one step, no checks.
    Computed when not given (a loaded index has it stored)."""
    surface_counts: dict[str, int] | None = None
    """How often each word of `surface` occurs: what combining indexes adds up. None when
    loaded for answering only."""
    article_acronyms: tuple[dict[str, tuple[str, ...]], ...] | None = None
    """Each article's own acronyms (the first meaning it gives each): combining indexes
    takes the first article's, in file-name order. None when loaded for answering only."""

    def __post_init__(self) -> None:
        self.memo = ChunkMemo(self)
        if self.around is None:
            self.around = around_rows(self.previous, self.following, missing=self.size)
        self.dense_gains = _dense_gains(self.bm25) if self.term_count * (self.size + 1) <= DENSE_GAIN_CELLS else None
        """For a small corpus: every term's gain in every chunk (terms, size + 1), 0 where absent
        (and in the last column, which stands for "no sentence"); None for a large one."""

    @property
    def size(self) -> int:
        return len(self.texts)

    @functools.cached_property
    def impact_order(self) -> ImpactOrder:
        """Each term's postings best gain first, computed as deep as questions need: how
        ranking a large corpus finds its best without scoring every match (`index.impact_order`)."""
        return ImpactOrder(self.bm25)

    @functools.cached_property
    def postings_search(self) -> PostingsSearch:
        """Finds many chunks in a long term's postings at once (`index.postings_search`)."""
        return PostingsSearch()

    @property
    def term_count(self) -> int:
        return len(self.bm25.vocabulary)

    def sentence(self, chunk: int) -> str:
        """The sentence's text, as the article has it."""
        return self.texts[chunk]

    def context(self, chunk: int) -> tuple[str, str]:
        """The sentences just before and after it in its paragraph ("" where there is none)."""
        before, after = int(self.previous[chunk]), int(self.following[chunk])
        return (
            self.texts[before] if before != NO_NEIGHBOUR else "",
            self.texts[after] if after != NO_NEIGHBOUR else "",
        )

    def article_of(self, chunk: int) -> int:
        """The number of the article the sentence is from (its place in the corpus's article order)."""
        return int(self.article[chunk])

    def chunk_terms(self, chunk: int) -> frozenset[int]:
        return frozenset(self.terms[self.terms_start[chunk] : self.terms_start[chunk + 1]].tolist())

    def vocabulary(self) -> Vocabulary:
        bm25 = self.bm25

        def commonest_first() -> list[str]:
            by_id = [""] * len(bm25.idf)
            for term, term_id in bm25.vocabulary.items():
                by_id[term_id] = term
            # The lowest idf is the commonest term; a stable sort keeps term ids in order among equals.
            return [by_id[i] for i in np.argsort(bm25.idf, kind="stable").tolist() if by_id[i]]

        vocabulary = Vocabulary(
            terms=frozenset(bm25.vocabulary), surface=self.surface, acronyms=self.acronyms,
            terms_by_frequency=commonest_first,
        )
        vocabulary.add_stopwords(self.analyzer.stopwords)
        return vocabulary

    @classmethod
    def build(
        cls,
        articles: Sequence[Article],
        analyzer: Analyzer,
        workers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> "SentenceIndex":
        """Index `articles` (numbered in the order given). `progress` hears after each batch
        of articles (see `index.progress`)."""
        started = time.perf_counter()
        total = len(articles)
        chars = sum(len(p) for a in articles for p in a.paragraphs)
        workers = workers or (min(os.cpu_count() or 1, 4) if chars >= PARALLEL_FROM_CHARS else 1)
        # Batches of about 1% of the corpus (at least BATCH_ARTICLES): progress is reported as
        # each is done, and in parallel builds they spread over the workers as they free up.
        size = max(BATCH_ARTICLES, -(-total // 100))
        batches = [(list(articles[lo : lo + size]), lo) for lo in range(0, total, size)]
        parts: list[AnalysedPart] = []
        done = sentences = 0
        report(progress, BuildProgress(0, total, 0, 0.0))

        def finished(part: AnalysedPart, count: int) -> None:
            nonlocal done, sentences
            parts.append(part)
            done += count
            sentences += len(part.article)
            report(progress, BuildProgress(done, total, sentences, time.perf_counter() - started))

        if workers <= 1 or len(batches) < 2:
            for batch, first in batches:
                finished(analyse_articles(batch, first, analyzer), len(batch))
        else:
            from concurrent.futures import ProcessPoolExecutor  # only large builds pay for importing it

            with ProcessPoolExecutor(max_workers=workers) as pool:
                # map() hands results back in order, each as soon as it and those before are done.
                results = pool.map(analyse_articles, *zip(*batches), [analyzer] * len(batches))
                try:
                    for (batch, _), part in zip(batches, results):
                        finished(part, len(batch))
                except BaseException:
                    pool.shutdown(cancel_futures=True)  # a stopped build does not wait for batches not begun
                    raise
        return cls._merge(parts, analyzer)

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk], analyzer: Analyzer) -> "SentenceIndex":
        """An index of ready-made chunks (tests, tools): no splitting, no workers."""
        return cls._merge([_analyse_chunks(chunks, analyzer)], analyzer)

    @classmethod
    def _merge(cls, parts: list["AnalysedPart"], analyzer: Analyzer) -> "SentenceIndex":
        vocabulary: dict[str, int] = {}
        term_ids = []
        for part in parts:
            to_global = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in part.vocabulary], dtype=np.int32)
            term_ids.append(to_global[part.term_ids] if len(part.term_ids) else part.term_ids)
        article = _concat([p.article for p in parts], np.int32)
        paragraph = _concat([p.paragraph for p in parts], np.int32)
        lengths = _concat([p.lengths for p in parts], np.int32)
        flat_terms = _concat(term_ids, np.int32)
        bm25 = BM25PlusIndex.from_flat(vocabulary, flat_terms, lengths)
        del flat_terms, term_ids
        terms_start, terms = _forward_index(bm25, len(article))

        previous, following = neighbours(article, paragraph)

        counts: Counter[str] = Counter()
        article_acronyms: list[dict[str, tuple[str, ...]]] = []
        for part in parts:
            counts.update(part.surface)
            article_acronyms.extend(part.acronyms)
        surface_counts = {w: c for w, c in counts.items() if len(w) >= 3 and w.isalpha() and analyzer.term(w)}
        surface = surface_table(surface_counts, analyzer)
        offsets = [np.zeros(1, dtype=np.int64)]
        base = 0
        for part in parts:
            offsets.append(part.offsets[1:] + base)
            base += len(part.blob)
        return cls(
            analyzer=analyzer,
            texts=TextStore(_concat([p.blob for p in parts], np.uint8), np.concatenate(offsets)),
            article=article,
            paragraph=paragraph,
            position=_concat([p.position for p in parts], np.int32),
            previous=previous,
            following=following,
            flags=_concat([p.flags for p in parts], np.uint8),
            terms_start=terms_start,
            terms=terms,
            bm25=bm25,
            surface=surface,
            acronyms=acronym_table(article_acronyms, surface),
            surface_counts=surface_counts,
            article_acronyms=tuple(article_acronyms),
        )


def neighbours(article: np.ndarray, paragraph: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each chunk's previous and following chunk in the same paragraph (NO_NEIGHBOUR if none);
    an article's chunks are consecutive."""
    n = len(article)
    same_paragraph = (article[1:] == article[:-1]) & (paragraph[1:] == paragraph[:-1])
    previous = np.full(n, NO_NEIGHBOUR, dtype=np.int32)
    following = np.full(n, NO_NEIGHBOUR, dtype=np.int32)
    ids = np.arange(n, dtype=np.int32)
    previous[1:][same_paragraph] = ids[:-1][same_paragraph]
    following[:-1][same_paragraph] = ids[1:][same_paragraph]
    return previous, following


def surface_table(
    counts: dict[str, int], analyzer: Analyzer, terms: dict[str, str] | None = None
) -> dict[str, str]:
    """Surface word -> its term (from `terms` when known), commonest first, equal counts in
    alphabetical order (an order that does not depend on which articles were indexed first:
    spelling repair takes the first of equally close words)."""
    term = terms.__getitem__ if terms is not None else analyzer.term
    return {word: term(word) for word, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))}  # type: ignore[misc]


def acronym_table(
    article_acronyms: Sequence[dict[str, tuple[str, ...]]], surface: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """Each acronym's meaning as the first article (in the order given) that spells it out
    gives it; not for a word the articles use as a word."""
    acronyms: dict[str, tuple[str, ...]] = {}
    for own in article_acronyms:
        for acronym, terms_of_name in own.items():
            acronyms.setdefault(acronym, terms_of_name)
    return {a: t for a, t in acronyms.items() if a not in surface and t}


@dataclass
class AnalysedPart:
    """What analysing one slice of the corpus gives (built in a worker process)."""

    blob: np.ndarray
    offsets: np.ndarray
    article: np.ndarray
    paragraph: np.ndarray
    position: np.ndarray
    flags: np.ndarray
    lengths: np.ndarray
    term_ids: np.ndarray
    """Flat, in chunk order; ids index `vocabulary`, this part's own."""
    vocabulary: list[str]
    surface: Counter[str]
    acronyms: list[dict[str, tuple[str, ...]]]
    """Per article of the slice, in order: its acronyms, each with the first meaning found."""
    acronyms_by_article: dict[int, dict[str, tuple[str, ...]]]


def analyse_articles(articles: list[Article], first_article: int, analyzer: Analyzer) -> AnalysedPart:
    splitter = SentenceSplitter()
    # The sentences as columns (what `chunk_article` gives, without a Chunk for each).
    texts: list[str] = []
    article_of: list[int] = []
    paragraph_of: list[int] = []
    position_of: list[int] = []
    for number, article in enumerate(articles, start=first_article):
        for p, paragraph in enumerate(article.paragraphs):
            sentences = split_sentences(paragraph, splitter)
            texts.extend(sentences)
            article_of.extend([number] * len(sentences))
            paragraph_of.extend([p] * len(sentences))
            position_of.extend(range(len(sentences)))
    part = _analyse(texts, article_of, paragraph_of, position_of, analyzer)
    by_article = part.acronyms_by_article
    part.acronyms = [by_article.get(number, {}) for number in range(first_article, first_article + len(articles))]
    return part


SLICE_SENTENCES = 8192
"""Sentences whose words are held at once while a part is numbered (bounds a worker's memory)."""


def _analyse_chunks(chunks: Sequence[Chunk], analyzer: Analyzer) -> AnalysedPart:
    return _analyse(
        [c.text for c in chunks], [c.article for c in chunks], [c.paragraph for c in chunks],
        [c.position for c in chunks], analyzer,
    )


def _analyse(
    texts: list[str], article_of: list[int], paragraph_of: list[int], position_of: list[int], analyzer: Analyzer
) -> AnalysedPart:
    """Sentence i is texts[i], sentence position_of[i] of paragraph paragraph_of[i] of article article_of[i]."""
    n = len(texts)
    vocabulary: dict[str, int] = {}
    # Each distinct surface word gets a number on first sight, and its term and flags are found
    # once; after that a word costs a dict look-up, done for many sentences at once, and
    # counting, terms and the word flags are numpy over the numbers (the same terms, counts and
    # order as sentence by sentence, word by word).
    word_number: dict[str, int] = {}
    word_term: list[int] = []  # term id of each numbered word, -1 for a stopword
    word_bits: list[int] = []  # features.word_flags of each numbered word
    term = analyzer.term
    words_of = analyzer.words
    number_of = word_number.__getitem__
    id_slices: list[np.ndarray] = []
    count_slices: list[np.ndarray] = []
    flags = np.zeros(n, dtype=np.uint8)
    for lo in range(0, n, SLICE_SENTENCES):
        # One flat list of words (not a list per sentence kept alive: a list is an object the
        # garbage collector follows, and 100,000 of them made it take a seventh of the time).
        flat: list[str] = []
        word_counts: list[int] = []
        extend, append = flat.extend, word_counts.append
        for text in texts[lo : lo + SLICE_SENTENCES]:
            words = words_of(text)
            extend(words)
            append(len(words))
        for word in dict.fromkeys(flat):  # the slice's distinct words, in order of first appearance
            if word not in word_number:
                word_number[word] = len(word_term)
                stem = term(word)
                word_term.append(-1 if stem is None else vocabulary.setdefault(stem, len(vocabulary)))
                word_bits.append(word_flags(word))
        ids = np.fromiter(map(number_of, flat), dtype=np.int64, count=len(flat))
        counts = np.array(word_counts, dtype=np.int64)
        id_slices.append(ids)
        count_slices.append(counts)
        of_words = _or_by_sentence(np.array(word_bits, dtype=np.uint8)[ids], counts)
        ends = np.cumsum(counts).tolist()
        for i, (text, bits, end, count) in enumerate(zip(texts[lo:], of_words.tolist(), ends, word_counts), start=lo):
            # Its words only where a reason phrase may be (see features.sentence_flags_from).
            flags[i] = sentence_flags_from(text, flat[end - count : end] if bits & REASON_PHRASE_WORD else (), bits)
    article = np.array(article_of, dtype=np.int32)
    paragraph = np.array(paragraph_of, dtype=np.int32)
    position = np.array(position_of, dtype=np.int32)
    # A headline is an article's first sentence, alone in its first paragraph.
    alone = np.ones(n, dtype=bool)
    if n > 1:
        alone[:-1] = (article[1:] != article[:-1]) | (paragraph[1:] != paragraph[:-1])
    for i in np.flatnonzero((position == 0) & (paragraph == 0) & alone).tolist():
        if is_headline(texts[i], 0, True):
            flags[i] |= IS_HEADLINE
    acronyms: dict[int, dict[str, tuple[str, ...]]] = {}
    for text, number in zip(texts, article_of):
        for acronym, name in name_initials(text):
            own = acronyms.setdefault(number, {})
            if acronym not in own:
                own[acronym] = tuple(analyzer.analyze(name))
    word_ids = _concat(id_slices, np.int64)
    all_terms = np.array(word_term, dtype=np.int32)[word_ids] if len(word_ids) else np.zeros(0, dtype=np.int32)
    kept = all_terms >= 0
    sentence_of = np.repeat(np.arange(n, dtype=np.int32), _concat(count_slices, np.int64))
    counts = np.bincount(word_ids, minlength=len(word_term)).tolist()
    store = TextStore.from_texts(texts)
    return AnalysedPart(
        blob=store.blob,
        offsets=store.offsets,
        article=article,
        paragraph=paragraph,
        position=position,
        flags=flags,
        lengths=np.bincount(sentence_of[kept], minlength=n).astype(np.int32),
        term_ids=all_terms[kept],
        vocabulary=list(vocabulary),
        surface=Counter(dict(zip(word_number, counts))),
        acronyms=[acronyms[a] for a in sorted(acronyms)],
        acronyms_by_article=acronyms,
    )


def _or_by_sentence(bits: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The bitwise or of each sentence's values (`counts[i]` consecutive values each; 0 for none)."""
    out = np.zeros(len(counts), dtype=bits.dtype)
    some = counts > 0
    if some.any():
        starts = np.cumsum(counts) - counts
        out[some] = np.bitwise_or.reduceat(bits, starts[some])
    return out


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)


def _dense_gains(bm25: BM25PlusIndex) -> np.ndarray:
    table = np.zeros((len(bm25.vocabulary), bm25.chunk_count + 1), dtype=np.float32)
    term_of_posting = np.repeat(np.arange(len(bm25.vocabulary)), np.diff(bm25.postings_start))
    table[term_of_posting, bm25.postings_chunk] = bm25.all_gains()
    return table


def around_rows(previous: np.ndarray, following: np.ndarray, missing: int) -> np.ndarray:
    two_before = np.where(previous != NO_NEIGHBOUR, previous[np.maximum(previous, 0)], NO_NEIGHBOUR)
    two_after = np.where(following != NO_NEIGHBOUR, following[np.maximum(following, 0)], NO_NEIGHBOUR)
    rows = np.stack([previous, following, two_before, two_after]).astype(np.int32, copy=False)
    rows[rows == NO_NEIGHBOUR] = missing
    return rows


def _forward_index(bm25: BM25PlusIndex, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each chunk's distinct term ids, from the term-major postings."""
    frequency = np.diff(bm25.postings_start)
    posting_term = np.repeat(np.arange(len(frequency), dtype=np.int32), frequency)
    order = np.argsort(bm25.postings_chunk, kind="stable")  # stable: term ids stay ascending per chunk
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(bm25.postings_chunk, minlength=n), out=start[1:])
    return start, posting_term[order]


# Two to six capitalised words, possibly joined by "and", "of", "for", "the":
# "Federal Trade Commission", "Immigration and Customs Enforcement".
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:(?:and|of|for|the)\s+)?[A-Z][a-z]+){1,5}\b")
_LEADING_ARTICLE = re.compile(r"^(?:The|A|An|This|That)\s+")
_CAPITAL = re.compile(r"[A-Z]")
"""_NAME holds two capitals, so one after the first character: many sentences have none, and
looking for one is ten times quicker than looking for _NAME."""


def name_initials(text: str) -> list[tuple[str, str]]:
    """(acronym, name) for each multi-word capitalised name: ("ftc", "Federal Trade Commission")."""
    if _CAPITAL.search(text, 1) is None:
        return []
    out = []
    for match in _NAME.finditer(text):
        name = _LEADING_ARTICLE.sub("", match.group(0))
        initials = "".join(w[0] for w in name.split() if w[0].isupper()).casefold()
        if len(initials) >= 2:
            out.append((initials, name))
    return out
