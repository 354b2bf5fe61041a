"""Segments: immutable pieces of the index on disk, and the one index answered from.

A segment is one folder of `.npy` arrays and JSON files (see `index.store_files`)
holding a `SentenceIndex` of some articles, numbered from 0 within the segment, and
those articles' metadata. It is never changed once written: a removed or edited
article is marked deleted in the manifest (`index.cache`), and its new version goes
into a new segment, as in Lucene and tantivy.

`open_segment` maps a segment's arrays read-only, so processes on one host share
their pages. `combine` makes the index that answers questions:

- one segment with nothing deleted is used as it is, memory-mapped, with the BM25
  gains, impact lists and neighbour rows stored beside its postings;
- otherwise the live sentences of all segments are put together in memory: the
  per-sentence arrays and postings are concatenated (copying, about 40 bytes per
  sentence and 10 per posting), and the collection statistics (sentence count,
  average length, document frequencies, hence IDF and every gain) are computed
  over all live sentences, exactly as a full rebuild computes them. No sentence is
  split or analysed again; only a deleted article's words are counted again, to
  take them out of the spelling-repair table.

The result equals a full rebuild of the same articles, except that sentences are
numbered segment by segment: two sentences with exactly equal scores may come in the
other order. Articles are listed in file-name order, as a full rebuild lists them.

Failure: `open_segment` raises `StoreDamaged` for any file that is missing, damaged
or not of the expected shape; it never returns a half-read segment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from corpus import Article
from index.analysis import Analyzer
from index.article_table import ArticleTable, gathered
from index.scoring import BM25Derived, BM25PlusIndex
from index.sentence_index import (
    NO_NEIGHBOUR,
    SentenceIndex,
    TextStore,
    acronym_table,
    neighbours,
)
from index.store_files import (
    FolderWriter,
    StoreDamaged,
    VerifiedFiles,
    load_array,
    load_json,
    save_array,
    save_json,
    verify,
)

ARTICLE_SUFFIX = ".md"

# name -> (dtype, dimensions) of every stored array.
_ARRAYS: dict[str, tuple[str, int]] = {
    "text_blob": ("uint8", 1),
    "text_offsets": ("int64", 1),
    "article": ("int32", 1),
    "paragraph": ("int32", 1),
    "position": ("int32", 1),
    "previous": ("int32", 1),
    "following": ("int32", 1),
    "around": ("int32", 2),
    "flags": ("uint8", 1),
    "terms_start": ("int64", 1),
    "terms": ("int32", 1),
    "postings_start": ("int64", 1),
    "postings_chunk": ("int32", 1),
    "postings_tf": ("uint16", 1),
    "chunk_length": ("int32", 1),
    "idf": ("float64", 1),
    "postings_gain": ("float32", 1),
    "impact_terms": ("int32", 1),
    "impact_start": ("int64", 1),
    "impact_chunks": ("int32", 1),
}
STORED_ARRAYS = _ARRAYS
"""Every array a segment stores: name -> (dtype, dimensions)."""


@dataclass(frozen=True)
class Segment:
    name: str
    folder: Path
    index: SentenceIndex
    """Numbered within the segment. Its stored gains are the segment's own statistics'.
    (None only for a segment opened without its arrays, see `open_segment`.)"""
    articles: Sequence[Article]
    """Metadata of each article, in the segment's order: as built (a new segment) or an
    `ArticleTable` (read from disk: only the first words of the text, see `index.article_table`)."""
    sentences: tuple[int, ...]
    """Sentences of each article."""
    text_keys: tuple[str | None, ...]
    """Each article's `corpus.store.text_key` (its whole text's), for finding duplicates."""

    surface_rows: list[list[Any]] | None = field(default=None, repr=False, compare=False)
    """surface.json as read by `open_segment`: [word, term, count] in the table's order."""

    def surface_words(self) -> list[list[Any]]:
        """Each spelling-repair word's [word, term, count], commonest first (as stored: answering
        from one segment does not need the counts)."""
        index = self.index
        if index.surface_counts is not None:
            return [[w, t, index.surface_counts.get(w, 0)] for w, t in index.surface.items()]
        if self.surface_rows is not None:
            return self.surface_rows
        return load_json(self.folder, "surface.json")

    def article_acronyms(self) -> list[dict[str, tuple[str, ...]]]:
        """Each article's own acronyms (read from disk, like `surface_words`)."""
        if self.index.article_acronyms is not None:
            return list(self.index.article_acronyms)
        return [{a: tuple(t) for a, t in own.items()} for own in load_json(self.folder, "acronyms.json")]

    def first_acronyms(self, deleted: frozenset[int]) -> dict[str, tuple[int, tuple[str, ...]]]:
        """Acronym -> (article, meaning) of the first live article of the segment that spells it
        out. Stored for the whole segment; recomputed only when a deleted article was first."""
        if self.index.article_acronyms is None:
            stored = load_json(self.folder, "meta.json")["first_acronyms"]
            first = {a: (int(n), tuple(t)) for a, (n, t) in stored.items()}
            if not any(n in deleted for n, _ in first.values()):
                return first
        return first_acronyms(self.article_acronyms(), deleted)


def first_acronyms(
    article_acronyms: Sequence[dict[str, tuple[str, ...]]], deleted: frozenset[int] = frozenset()
) -> dict[str, tuple[int, tuple[str, ...]]]:
    first: dict[str, tuple[int, tuple[str, ...]]] = {}
    for number, own in enumerate(article_acronyms):
        if number not in deleted:
            for acronym, terms in own.items():
                first.setdefault(acronym, (number, terms))
    return first


def article_file_name(article: Article) -> str:
    return article.article_id + ARTICLE_SUFFIX


def write_segment(
    parent: Path, name: str, index: SentenceIndex, articles: Sequence[Article], text_keys: Sequence[str | None]
) -> dict[str, Any]:
    """Write `index` (with its `articles`) as segment `name` under `parent`, whole or not at all.
    Returns the files written with their sizes and checksums, for the manifest."""
    assert index.surface_counts is not None and index.article_acronyms is not None, "a built index"
    bm25 = index.bm25
    impact_terms = np.array(sorted(bm25.impact), dtype=np.int32)
    impact_lists = [bm25.impact[int(t)] for t in impact_terms]
    impact_start = np.zeros(len(impact_lists) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in impact_lists], out=impact_start[1:])
    if int(bm25.postings_tf.max(initial=0)) > np.iinfo(np.uint16).max:
        raise ValueError("a term repeated over 65,535 times in one sentence")  # sentences are cut at 1,200 chars
    arrays = {
        "text_blob": index.texts.blob,
        "text_offsets": index.texts.offsets,
        "article": index.article,
        "paragraph": index.paragraph,
        "position": index.position,
        "previous": index.previous,
        "following": index.following,
        "around": index.around,
        "flags": index.flags,
        "terms_start": index.terms_start,
        "terms": index.terms,
        "postings_start": bm25.postings_start,
        "postings_chunk": bm25.postings_chunk,
        "postings_tf": bm25.postings_tf,
        "chunk_length": bm25.chunk_length,
        "idf": bm25.idf,
        "postings_gain": bm25.all_gains(),
        "impact_terms": impact_terms,
        "impact_start": impact_start,
        "impact_chunks": np.concatenate(impact_lists) if impact_lists else np.zeros(0, dtype=np.int32),
    }
    sentences = np.bincount(index.article, minlength=len(articles)).tolist() if len(articles) else []
    with FolderWriter(parent, name) as out:
        for array_name, (dtype, ndim) in _ARRAYS.items():
            array = np.asarray(arrays[array_name])
            assert array.ndim == ndim
            save_array(out.path, array_name, array.astype(dtype, copy=False))
        vocabulary = [""] * len(bm25.vocabulary)
        for term, term_id in bm25.vocabulary.items():
            vocabulary[term_id] = term
        write_tables(
            out.path, vocabulary, index.surface, index.surface_counts, index.article_acronyms, index.acronyms,
            articles, sentences, text_keys,
        )
        return out.commit()


def write_tables(
    folder: Path,
    vocabulary: Sequence[str],
    surface: Mapping[str, str],
    surface_counts: dict[str, int],
    article_acronyms: Sequence[dict[str, tuple[str, ...]]],
    answer_acronyms: dict[str, tuple[str, ...]],
    articles: Sequence[Article],
    sentences: Sequence[int],
    text_keys: Sequence[str | None],
) -> None:
    """A segment's JSON files (`write_segment` writes them, and so does an on-disk build,
    `index.merging`): the terms by id, the spelling-repair and acronym tables, the articles."""
    save_json(folder, "vocabulary.json", list(vocabulary))
    save_json(folder, "surface.json", [[w, t, surface_counts.get(w, 0)] for w, t in surface.items()])
    save_json(folder, "acronyms.json", [{a: list(t) for a, t in own.items()} for own in article_acronyms])
    save_json(
        folder,
        "meta.json",
        {
            "answer_acronyms": {a: list(t) for a, t in answer_acronyms.items()},
            "first_acronyms": {a: [n, list(t)] for a, (n, t) in first_acronyms(article_acronyms).items()},
        },
    )
    if len(sentences) != len(articles) or len(text_keys) != len(articles):
        raise ValueError("one sentence count and one text key per article")
    table = ArticleTable.from_articles(articles).to_json()
    save_json(folder, "articles.json", {**table, "sentences": list(sentences), "text_key": list(text_keys)})


def open_segment(
    folder: Path,
    name: str,
    files: dict[str, Any],
    analyzer: Analyzer,
    arrays: bool = True,
    verified: VerifiedFiles | None = None,
) -> Segment:
    """The segment in `folder`, its arrays memory-mapped, after checking every file against
    `files` (`verified`: files already hashed, see `index.store_files`). Without `arrays`, only
    its articles (checked likewise): what an update needs to know of a segment it does not
    answer from; its `index` is then None."""
    if not arrays:
        if not isinstance(files, dict) or "articles.json" not in files:
            raise StoreDamaged(f"{folder}: no articles recorded")
        verify(folder, {"articles.json": files["articles.json"]}, verified)
        articles, sentences, text_keys = _articles_of(folder)
        return Segment(name, folder, None, articles, sentences, text_keys)  # type: ignore[arg-type]
    verify(folder, files, verified)
    loaded = {n: load_array(folder, n, dtype, ndim) for n, (dtype, ndim) in _ARRAYS.items()}
    try:
        vocabulary_list = load_json(folder, "vocabulary.json")
        surface_rows = load_json(folder, "surface.json")
        surface = {w: t for w, t, _ in surface_rows}
        meta = load_json(folder, "meta.json")
        acronyms = {a: tuple(t) for a, t in meta["answer_acronyms"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreDamaged(f"{folder}: {type(exc).__name__}: {exc}") from None
    articles, sentences, text_keys = _articles_of(folder)
    n = len(loaded["article"])
    _check_shapes(folder, loaded, n, len(vocabulary_list))
    impact = {
        int(t): loaded["impact_chunks"][lo:hi]
        for t, lo, hi in zip(
            loaded["impact_terms"].tolist(), loaded["impact_start"][:-1].tolist(), loaded["impact_start"][1:].tolist()
        )
    }
    bm25 = BM25PlusIndex(
        {term: i for i, term in enumerate(vocabulary_list)},
        loaded["postings_start"],
        loaded["postings_chunk"],
        loaded["postings_tf"],
        loaded["chunk_length"],
        derived=BM25Derived(loaded["idf"], loaded["postings_gain"], impact),
    )
    index = SentenceIndex(
        analyzer=analyzer,
        texts=TextStore(loaded["text_blob"], loaded["text_offsets"]),
        article=loaded["article"],
        paragraph=loaded["paragraph"],
        position=loaded["position"],
        previous=loaded["previous"],
        following=loaded["following"],
        flags=loaded["flags"],
        terms_start=loaded["terms_start"],
        terms=loaded["terms"],
        bm25=bm25,
        surface=surface,
        acronyms=acronyms,
        around=loaded["around"],
    )
    return Segment(
        name=name, folder=folder, index=index, articles=articles, sentences=sentences, text_keys=text_keys,
        surface_rows=surface_rows,
    )


def _articles_of(folder: Path) -> tuple[ArticleTable, tuple[int, ...], tuple[str | None, ...]]:
    try:
        stored = load_json(folder, "articles.json")
        articles = ArticleTable.from_json(stored, folder)
        sentences, text_keys = stored["sentences"], stored["text_key"]
        if len(sentences) != len(articles) or len(text_keys) != len(articles):
            raise StoreDamaged(f"{folder}: the articles' sentence counts or text keys do not match them")
        if not set(map(type, sentences)) <= {int} or not set(map(type, text_keys)) <= {str, type(None)}:
            raise StoreDamaged(f"{folder}: a sentence count or text key of the wrong type")
        return articles, tuple(sentences), tuple(text_keys)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, StoreDamaged):
            raise
        raise StoreDamaged(f"{folder}: {type(exc).__name__}: {exc}") from None


def _check_shapes(folder: Path, arrays: dict[str, np.ndarray], n: int, terms: int) -> None:
    """Lengths that must agree, so that a consistent-looking but wrong file cannot index out of range."""
    postings = len(arrays["postings_chunk"])
    expected = {
        "text_offsets": n + 1,
        "paragraph": n,
        "position": n,
        "previous": n,
        "following": n,
        "flags": n,
        "chunk_length": n,
        "terms_start": n + 1,
        "terms": postings,
        "postings_start": terms + 1,
        "postings_tf": postings,
        "postings_gain": postings,
        "idf": terms,
    }
    for array_name, length in expected.items():
        if len(arrays[array_name]) != length:
            raise StoreDamaged(f"{folder}: {array_name} has {len(arrays[array_name])} entries, expected {length}")
    if arrays["around"].shape != (4, n) or len(arrays["impact_start"]) != len(arrays["impact_terms"]) + 1:
        raise StoreDamaged(f"{folder}: neighbour rows or impact lists do not match")
    ends = (arrays["text_offsets"][-1:], arrays["postings_start"][-1:], arrays["terms_start"][-1:])
    if (int(ends[0][0]) if n + 1 else 0) != len(arrays["text_blob"]) or int(ends[1][0]) != postings or int(
        ends[2][0]
    ) != postings:
        raise StoreDamaged(f"{folder}: offsets do not end where their arrays do")


def combine(
    live: Sequence[tuple[Segment, frozenset[int]]], analyzer: Analyzer, for_writing: bool = False
) -> tuple[Sequence[Article], SentenceIndex]:
    """The articles and the index to answer from: segments with their deleted articles
    (numbers within the segment) left out. See the module docstring. `for_writing`: also
    everything needed to write the result as one segment (each article's acronyms, every
    gain); otherwise gains are computed term by term as questions need them."""
    if len(live) == 1 and not live[0][1]:
        segment = live[0][0]
        return segment.articles, segment.index
    order = article_order(live)
    if not for_writing:
        from index.segmented import in_place  # imported here: it builds on this module

        found = in_place(live, order, analyzer)
        if found is not None:
            return order.articles, found
    articles = order.articles

    texts_blob: list[np.ndarray] = []
    texts_offsets: list[np.ndarray] = []
    article: list[np.ndarray] = []
    paragraph: list[np.ndarray] = []
    position: list[np.ndarray] = []
    flags: list[np.ndarray] = []
    length: list[np.ndarray] = []
    terms_start, terms = [], []
    vocabulary: dict[str, int] = {}
    per_segment_postings = []
    chunk_base = blob_base = terms_base = 0
    for s, (segment, deleted) in enumerate(live):
        index = segment.index
        bm25 = index.bm25
        to_number = order.to_number(s)
        chunk_article = to_number[index.article] if len(index.article) else np.zeros(0, dtype=np.int32)
        offsets = np.asarray(index.texts.offsets)
        postings_chunk = np.asarray(bm25.postings_chunk)
        frequency = np.diff(np.asarray(bm25.postings_start))
        posting_term = np.repeat(np.arange(len(frequency), dtype=np.int32), frequency)
        forward_counts = np.diff(np.asarray(index.terms_start))
        local_terms = [""] * len(frequency)
        for term, term_id in bm25.vocabulary.items():
            local_terms[term_id] = term
        if deleted:
            alive = chunk_article >= 0
            kept = np.flatnonzero(alive)
            to_chunk = np.full(index.size, -1, dtype=np.int64)
            to_chunk[kept] = np.arange(chunk_base, chunk_base + len(kept))
            texts_blob.append(np.asarray(index.texts.blob)[np.repeat(alive, np.diff(offsets))])
            sizes = np.diff(offsets)[kept]
            for values, out in ((index.paragraph, paragraph), (index.position, position), (index.flags, flags)):
                out.append(np.asarray(values)[kept])
            length.append(np.asarray(bm25.chunk_length)[kept])
            article.append(chunk_article[kept])
            posting_alive = alive[postings_chunk]
            live_term = posting_term[posting_alive]
            live_chunks = to_chunk[postings_chunk[posting_alive]]
            live_tf = np.asarray(bm25.postings_tf)[posting_alive]
            forward = np.asarray(index.terms)[np.repeat(alive, forward_counts)]
            forward_counts = forward_counts[kept]
            live_df = np.bincount(live_term, minlength=len(frequency))
        else:
            # Nothing deleted: the segment's arrays as they are (no masks over every byte).
            kept_count = index.size
            texts_blob.append(index.texts.blob)
            sizes = np.diff(offsets)
            for values, out in ((index.paragraph, paragraph), (index.position, position), (index.flags, flags)):
                out.append(values)
            length.append(bm25.chunk_length)
            article.append(chunk_article)
            live_chunks = postings_chunk if chunk_base == 0 else postings_chunk.astype(np.int64) + chunk_base
            live_term, live_tf = posting_term, bm25.postings_tf
            forward = index.terms
            live_df = frequency
        to_term = np.full(len(frequency), -1, dtype=np.int64)
        for term_id in np.flatnonzero(live_df).tolist():
            to_term[term_id] = vocabulary.setdefault(local_terms[term_id], len(vocabulary))
        if s == 0 and not deleted:
            # The first segment, whole: its term numbers are the combined ones (no remapping
            # of its postings, which are most of them).
            per_segment_postings.append((live_term, live_chunks, live_tf))
            terms.append(np.asarray(forward))
        else:
            per_segment_postings.append((to_term[live_term], live_chunks, live_tf))
            terms.append(to_term[np.asarray(forward)].astype(np.int32))
        texts_offsets.append(blob_base + np.cumsum(sizes))
        blob_base += int(sizes.sum())
        terms_start.append(terms_base + np.cumsum(forward_counts))
        terms_base += int(forward_counts.sum())
        chunk_base += len(kept) if deleted else kept_count

    start = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    df = np.zeros(len(vocabulary), dtype=np.int64)
    for term_ids, _, _ in per_segment_postings:
        df += np.bincount(term_ids, minlength=len(vocabulary))
    np.cumsum(df, out=start[1:])
    total = int(start[-1])
    postings_chunk_all = np.empty(total, dtype=np.int32)
    postings_tf_all = np.empty(total, dtype=np.uint16)
    # Each term's postings: segment by segment, so chunk numbers stay ascending within a term.
    filled = start[:-1].copy()
    for term_ids, chunks, tf in per_segment_postings:
        if not len(term_ids):
            continue
        # Postings arrive grouped by (local) term; each group goes to the next free place of its term.
        group_start = np.flatnonzero(np.r_[True, term_ids[1:] != term_ids[:-1]])
        group_term = term_ids[group_start]
        group_size = np.diff(np.r_[group_start, len(term_ids)])
        destination = np.arange(len(term_ids), dtype=np.int64)
        destination += np.repeat(filled[group_term] - group_start, group_size)
        postings_chunk_all[destination] = chunks
        postings_tf_all[destination] = tf
        filled[group_term] += group_size
    del per_segment_postings

    bm25 = BM25PlusIndex(
        vocabulary, start, postings_chunk_all, postings_tf_all, _concat(length, np.int32), lazy=not for_writing
    )
    article_all = _concat(article, np.int32)
    paragraph_all = _concat(paragraph, np.int32)
    previous, following = neighbours(article_all, paragraph_all)
    words, surface, acronyms = spelling_and_acronyms(live, order, analyzer, with_counts=for_writing)
    article_acronyms: list[dict[str, tuple[str, ...]]] | None = None
    if for_writing:
        article_acronyms = [{} for _ in range(len(articles))]
        for s, (segment, _) in enumerate(live):
            for local, own in enumerate(segment.article_acronyms()):
                number = int(order.numbers[s][local])
                if number >= 0:
                    article_acronyms[number] = own
        assert acronym_table(article_acronyms, surface) == acronyms
    index = SentenceIndex(
        analyzer=analyzer,
        texts=TextStore(
            _concat(texts_blob, np.uint8), np.concatenate([np.zeros(1, dtype=np.int64), *texts_offsets])
        ),
        article=article_all,
        paragraph=paragraph_all,
        position=_concat(position, np.int32),
        previous=previous,
        following=following,
        flags=_concat(flags, np.uint8),
        terms_start=np.concatenate([np.zeros(1, dtype=np.int64), *terms_start]),
        terms=_concat(terms, np.int32),
        bm25=bm25,
        surface=surface,
        acronyms=acronyms,
        surface_counts=words if for_writing else None,
        article_acronyms=tuple(article_acronyms) if article_acronyms is not None else None,
    )
    return articles, index


@dataclass(frozen=True)
class ArticleOrder:
    """The articles of several segments in file-name order, as a full rebuild lists them."""

    tables: list[ArticleTable]
    """Each segment's articles, in its own order."""
    numbers: list[np.ndarray]
    """Each segment's articles' numbers in the whole (int32), -1 for a deleted one."""
    articles: ArticleTable
    """Every live article, by its number in the whole."""

    def to_number(self, s: int) -> np.ndarray:
        """Each article of segment `s`: its number in the whole, -1 for a deleted one."""
        return self.numbers[s]


def article_order(live: Sequence[tuple[Segment, frozenset[int]]]) -> ArticleOrder:
    tables = [ArticleTable.from_articles(segment.articles) for segment, _ in live]
    # Every live article, segment after segment: which of each segment's own are live, and their file names.
    kept_of: list[list[int] | None] = []
    names: list[str] = []
    for (_, deleted), table in zip(live, tables):
        column = table.column("id")
        kept = [i for i in range(len(column)) if i not in deleted] if deleted else None
        kept_of.append(kept)
        names.extend(column[i] + ARTICLE_SUFFIX for i in (kept if kept is not None else range(len(column))))
    # File-name order. Each segment is in that order already, so the sort merges a few runs.
    order = sorted(range(len(names)), key=names.__getitem__)
    number = np.empty(len(names), dtype=np.int32)
    number[np.array(order, dtype=np.int64)] = np.arange(len(names), dtype=np.int32)
    numbers = []
    start = 0
    for kept, table in zip(kept_of, tables):
        count = len(kept) if kept is not None else len(table)
        of_segment = np.full(len(table), -1, dtype=np.int32)
        of_segment[np.array(kept, dtype=np.int64) if kept is not None else slice(None)] = number[start : start + count]
        numbers.append(of_segment)
        start += count
    return ArticleOrder(tables, numbers, gathered(list(zip(tables, kept_of)), order))


def spelling_and_acronyms(
    live: Sequence[tuple[Segment, frozenset[int]]], order: ArticleOrder, analyzer: Analyzer, with_counts: bool = False
) -> tuple[dict[str, int] | None, Mapping[str, str], dict[str, tuple[str, ...]]]:
    """The spelling-repair words of the live articles (word -> count, in the table's order; only
    `with_counts`, for writing them), their table (`SurfaceTable`: in `sentence_index.surface_table`'s
    frequency order) and the acronyms, as a full rebuild finds them: each segment's counts less
    those of its deleted articles (their sentences analysed again: the work of those articles),
    each acronym as the first live article by file name spells it out."""
    terms: dict[str, str] = {}
    """Word -> term: the first segment's table as it is, then the words the others add."""
    first_terms: Mapping[str, str] = {}
    first_rows: list[list[Any]] = []
    change: dict[str, int] = {}
    """Word -> what the other segments add to its count in the first one's, less what deleted articles take."""
    acronym_candidates: dict[str, tuple[str, tuple[str, ...]]] = {}
    for s, (segment, deleted) in enumerate(live):
        rows = segment.surface_words()
        if not first_rows:  # the first (usually by far the largest) segment: its table as it is
            first_rows = rows
            own = segment.index.surface
            terms = dict(own) if isinstance(own, dict) and len(own) == len(rows) else {w: t for w, t, _ in rows}
            first_terms = own if isinstance(own, dict) and len(own) == len(rows) else dict(terms)
        else:
            for word, stem, count in rows:
                change[word] = change.get(word, 0) + count
                terms.setdefault(word, stem)
        if deleted:
            index = segment.index
            alive = order.to_number(s)[index.article] >= 0
            for word, count in _deleted_words(index, alive, analyzer).items():
                if word in terms:
                    change[word] = change.get(word, 0) - count
        ids = order.tables[s].column("id")
        for acronym, (local, meaning) in segment.first_acronyms(deleted).items():
            name = ids[local] + ARTICLE_SUFFIX
            known = acronym_candidates.get(acronym)
            if known is None or name < known[0]:
                acronym_candidates[acronym] = (name, meaning)
    # Words a deleted article took away: gone if no live sentence has them any more.
    first_counts: dict[str, int] | None = None
    for word, count in change.items():
        if count > 0:
            continue
        if word not in first_terms:
            del terms[word]  # only the other segments had it, and their deleted articles took it all
        elif count < 0:
            if first_counts is None:
                first_counts = {w: c for w, _, c in first_rows}
            if first_counts[word] + count <= 0:
                del terms[word]

    def counts() -> dict[str, int]:
        found = first_counts if first_counts is not None else {w: c for w, _, c in first_rows}
        return {w: found.get(w, 0) + change.get(w, 0) for w in terms}

    surface = SurfaceTable(terms, counts, first_rows if not change else None)
    acronyms = {a: meaning for a, (_, meaning) in acronym_candidates.items() if a not in surface and meaning}
    if not with_counts:
        return None, surface, acronyms
    every = counts()
    ordered = {w: every[w] for w in surface}
    return ordered, {w: terms[w] for w in ordered}, acronyms


class SurfaceTable(Mapping[str, str]):
    """The spelling-repair table of several segments (word -> its term), looked up at once;
    iterated in `sentence_index.surface_table`'s order (commonest first, equal counts
    alphabetical), which is sorted out the first time it is iterated. Only spelling repair
    iterates it and most questions need none: sorting the 100,000 words of 20,000 articles
    took 0.07-0.1 s of every load of several segments. Safe to share between threads (two
    first iterations at once sort it twice, to the same order)."""

    def __init__(
        self, terms: dict[str, str], counts: Callable[[], dict[str, int]], ordered: list[list[Any]] | None = None
    ) -> None:
        """`counts()`: each word's count, when the order is first needed; `ordered`: rows
        [word, term, count] already in that order, when no count changed."""
        self._terms = terms
        self._counts = counts
        self._order: list[str] | None = [w for w, _, _ in ordered] if ordered is not None else None

    def __getitem__(self, word: str) -> str:
        return self._terms[word]

    def __contains__(self, word: object) -> bool:
        return word in self._terms

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self) -> Iterator[str]:
        order = self._order
        if order is None:
            counts = self._counts()
            order = sorted(self._terms, key=lambda w: (-counts[w], w))
            self._order = order
        return iter(order)


def _deleted_words(index: SentenceIndex, alive: np.ndarray, analyzer: Analyzer) -> Counter[str]:
    """The spelling-repair words of the deleted sentences (the work of one article each)."""
    counts: Counter[str] = Counter()
    for chunk in np.flatnonzero(~alive).tolist():
        counts.update(w for w in analyzer.words(index.texts[chunk]) if len(w) >= 3 and w.isalpha())
    return counts


def _concat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)


__all__ = ["NO_NEIGHBOUR", "Segment", "combine", "open_segment", "write_segment"]
