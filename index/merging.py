"""A large index built straight to disk, with memory bounded by a few batches, not the corpus.

`build_segment` indexes many articles as one segment (`index.segments`) without ever
holding the whole index in memory, so that ten million sentences build on one machine:

1. Batches of article files go to worker processes, which read, parse and analyse them
   (the main process never holds the corpus's text). Each batch comes back as an
   `AnalysedPart`, in corpus order.
2. The main process gives the batch's terms their global numbers (in order of first
   appearance, as `SentenceIndex.build` does), appends its sentences' text and distinct
   terms to files at once, keeps its per-sentence values (about 20 bytes a sentence), and
   adds its postings to a run. A run that reaches RUN_POSTINGS is sorted by term and
   written to a temporary file.
3. At the end the runs are merged term range by term range (a k-way merge by term: each
   run holds a range's postings in one slice, in corpus order), MERGE_POSTINGS at a time;
   each range's BM25 gains and impact lists are computed there, with the collection
   statistics of the whole corpus, and appended to the segment's files.

The segment written is the one `write_segment(SentenceIndex.build(...))` writes for the
same articles: the same arrays and tables, element for element (tests compare them), so
rankings cannot tell which way an index was built.

Failure: a file that cannot be read or parsed is left out and reported in
`BuiltSegment.broken` (never raised); with no article left, nothing is written and
`segment_files` is None. Any error while writing (a full disk) removes what was written
and is raised; temporary run files are removed in every case.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from corpus import Article, CorpusFileError, parse_article
from corpus.loader import FileStat, read_article_file
from corpus.store import text_key
from index.analysis import Analyzer
from index.progress import BuildProgress, ProgressCallback, report
from index.scoring import K1, common_df, idf_values, impact_list, length_norm, posting_gains
from index.segments import STORED_ARRAYS, write_tables
from index.sentence_index import (
    BATCH_ARTICLES,
    AnalysedPart,
    acronym_table,
    around_rows,
    analyse_articles,
    neighbours,
    surface_table,
)
from index.store_files import ArrayAppender, FolderWriter, save_array

RUN_POSTINGS = 16_000_000
"""Postings gathered in memory (10 bytes each) before they are sorted and written as a run."""
MERGE_POSTINGS = 8_000_000
"""Postings merged, scored and written in one step at the end (about 40 bytes each)."""
WORKERS = 4
"""At most this many worker processes (and no more than the machine's cores)."""


@dataclass(frozen=True)
class Source:
    """One article to index: a file to read and parse, or (`article` given) one already
    parsed, with its file's SHA-256."""

    stat: FileStat
    article: Article | None = None
    digest: str | None = None


@dataclass(frozen=True)
class BuiltSegment:
    segment_files: dict[str, Any] | None
    """Each file written with its size and checksum, for the manifest; None if no article loaded."""
    articles: tuple[Article, ...]
    """The articles indexed, in the order given, with their first paragraph only."""
    digests: dict[str, str]
    """File name -> SHA-256 of each file indexed."""
    broken: dict[str, list[Any]]
    """File name -> [size, mtime_ns, sha256 or None, line, problem, path] of each file left out."""
    sentences: int
    seconds: float


def build_segment(
    sources: Sequence[Source],
    parent: Path,
    name: str,
    analyzer: Analyzer,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    run_postings: int = RUN_POSTINGS,
    merge_postings: int = MERGE_POSTINGS,
) -> BuiltSegment:
    """Index `sources` (numbered in the order given) as segment `name` under `parent`.
    `progress` hears after each batch (see `index.progress`)."""
    started = time.perf_counter()
    total = len(sources)
    workers = workers or min(os.cpu_count() or 1, WORKERS)
    size = max(BATCH_ARTICLES, -(-total // 100))  # about 1% of the corpus per batch, as SentenceIndex.build
    batches = [list(sources[lo : lo + size]) for lo in range(0, total, size)]
    report(progress, BuildProgress(0, total, 0, 0.0))
    articles: list[Article] = []
    text_keys: list[str] = []
    digests: dict[str, str] = {}
    broken: dict[str, list[Any]] = {}
    done = 0
    with FolderWriter(parent, name) as out, tempfile.TemporaryDirectory(prefix=".runs-", suffix=".tmp", dir=parent) as scratch:
        writer = _SegmentWriter(out.path, Path(scratch), analyzer, run_postings)
        for batch, analysed in zip(batches, _analysed(batches, analyzer, workers)):
            for source, digest in zip(batch, analysed.digests):
                if digest is not None:
                    digests[source.stat.name] = digest
            broken.update(analysed.broken)
            articles.extend(analysed.articles)
            text_keys.extend(analysed.text_keys)
            if analysed.part is not None:
                writer.add(analysed.part)
            done += len(batch)
            report(progress, BuildProgress(done, total, writer.sentences, time.perf_counter() - started))
        if not articles:
            return BuiltSegment(None, (), digests, broken, 0, time.perf_counter() - started)
        writer.finish(articles, text_keys, merge_postings)
        files = out.commit()
    return BuiltSegment(files, tuple(articles), digests, broken, writer.sentences, time.perf_counter() - started)


@dataclass
class _Analysed:
    """What a worker makes of one batch of sources."""

    part: AnalysedPart | None
    """Articles numbered from 0 within the batch; None if none of the batch loaded."""
    articles: list[Article]
    text_keys: list[str]
    digests: list[str | None]
    """Per source: the file's SHA-256 if it was indexed, else None."""
    broken: dict[str, list[Any]] = field(default_factory=dict)


def _analysed(batches: list[list[Source]], analyzer: Analyzer, workers: int) -> Iterator[_Analysed]:
    if workers <= 1 or len(batches) < 2:
        yield from (_read_and_analyse(batch, analyzer) for batch in batches)
        return
    import gc
    from concurrent.futures import ProcessPoolExecutor

    # The workers without Python's cycle collector: a batch's analysis makes hundreds of
    # thousands of lists and tuples and no cycle, and the collector's walks over them took
    # 0.1-0.3 s of each batch. The 560 s 10M build ran its workers so (they inherited the
    # pause of the load that started it, `index.cache`, which a build now lifts).
    with ProcessPoolExecutor(max_workers=workers, initializer=gc.disable) as pool:
        # In order, each as soon as it and those before it are done; at most a few batches
        # ahead of the one being written, so finished batches do not pile up in memory.
        pending = [pool.submit(_read_and_analyse, batch, analyzer) for batch in batches[: 2 * workers]]
        following = 2 * workers
        while pending:
            result = pending.pop(0).result()
            if following < len(batches):
                pending.append(pool.submit(_read_and_analyse, batches[following], analyzer))
                following += 1
            yield result


def _read_and_analyse(batch: list[Source], analyzer: Analyzer) -> _Analysed:
    """Read, parse and analyse one batch (in a worker process). A file that does not load is
    reported in `broken`, as `index.cache` records it."""
    analyzer = _process_analyzer(analyzer)
    loaded: list[Article] = []
    digests: list[str | None] = []
    broken: dict[str, list[Any]] = {}
    for source in batch:
        stat = source.stat
        if source.article is not None:
            loaded.append(source.article)
            digests.append(source.digest)
            continue
        digest = None
        try:
            raw = read_article_file(stat)
            digest = hashlib.sha256(raw).hexdigest()
            path = stat.path  # made once (a Path is made anew each time it is asked for)
            loaded.append(parse_article(str(path), raw, article_id=path.stem))
            digests.append(digest)
        except CorpusFileError as exc:
            broken[stat.name] = [stat.size, stat.mtime_ns, digest, exc.line, exc.problem, exc.path]
            digests.append(None)
    part = analyse_articles(loaded, 0, analyzer) if loaded else None
    return _Analysed(
        part=part,
        # Only what the segment keeps of each article travels back: its metadata and first paragraph.
        articles=[_first_paragraph_only(a) for a in loaded],
        text_keys=[text_key(a) for a in loaded],
        digests=digests,
        broken=broken,
    )


@functools.lru_cache(maxsize=4)
def _process_analyzer(analyzer: Analyzer) -> Analyzer:
    """The first analyzer equal to `analyzer` this process has seen. Each batch brings a fresh
    copy (an analyzer travels without its caches); keeping one per process keeps its stem
    cache warm from batch to batch (the same terms either way)."""
    return analyzer


def _first_paragraph_only(article: Article) -> Article:
    return replace(article, paragraphs=article.paragraphs[:1])


@dataclass
class _Run:
    """Postings of some consecutive sentences, sorted by term, in two raw files."""

    chunks: Path
    tf: Path
    start: np.ndarray
    """Where each term's postings begin (over the terms known when the run was written)."""

    def slice(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        return _read(self.chunks, np.int32, lo, hi), _read(self.tf, np.uint16, lo, hi)


def _read(path: Path, dtype: type, lo: int, hi: int) -> np.ndarray:
    """Entries lo..hi-1 of a raw file, read (not memory-mapped: only what is read is in memory)."""
    with open(path, "rb") as handle:
        handle.seek(lo * np.dtype(dtype).itemsize)
        return np.fromfile(handle, dtype=dtype, count=hi - lo)


class _SegmentWriter:
    """Takes analysed parts in corpus order and writes one segment's files (see the module
    docstring for the steps)."""

    def __init__(self, folder: Path, scratch: Path, analyzer: Analyzer, run_postings: int) -> None:
        self.folder = folder
        self.scratch = scratch
        self.analyzer = analyzer
        self.run_postings = run_postings
        self.vocabulary: dict[str, int] = {}
        self.sentences = 0
        self.articles = 0
        self.text = open(scratch / "text.raw", "wb")
        self.forward = open(scratch / "terms.raw", "wb")
        self.text_sizes: list[np.ndarray] = []
        self.columns: dict[str, list[np.ndarray]] = {
            "article": [], "paragraph": [], "position": [], "flags": [], "chunk_length": [], "forward_counts": []
        }
        self.surface: Counter[str] = Counter()
        self.article_acronyms: list[dict[str, tuple[str, ...]]] = []
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.pending_postings = 0
        self.runs: list[_Run] = []

    def add(self, part: AnalysedPart) -> None:
        vocabulary = self.vocabulary
        to_global = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in part.vocabulary], dtype=np.int64)
        n = len(part.article)
        terms = to_global[part.term_ids] if len(part.term_ids) else np.zeros(0, dtype=np.int64)
        # Each sentence's distinct terms, ascending, with their counts: the forward index
        # (sentence-major) and, re-sorted by term, the postings.
        chunk_of = np.repeat(np.arange(n, dtype=np.int64), part.lengths)
        pairs, tf = np.unique(chunk_of * len(vocabulary) + terms, return_counts=True)
        pair_chunk = pairs // max(len(vocabulary), 1)
        pair_term = (pairs - pair_chunk * len(vocabulary)).astype(np.int32)
        if len(tf) and int(tf.max()) > np.iinfo(np.uint16).max:
            raise ValueError("a term repeated over 65,535 times in one sentence")  # as write_segment
        self.forward.write(pair_term.data)
        self.columns["forward_counts"].append(np.bincount(pair_chunk, minlength=n))
        self.pending.append((pair_term, (pair_chunk + self.sentences).astype(np.int32), tf.astype(np.uint16)))
        self.pending_postings += len(tf)
        self.text.write(np.ascontiguousarray(part.blob).data)
        self.text_sizes.append(np.diff(part.offsets))
        self.columns["article"].append(part.article + self.articles)
        for column, values in (
            ("paragraph", part.paragraph), ("position", part.position), ("flags", part.flags),
            ("chunk_length", part.lengths),
        ):
            self.columns[column].append(values)
        self.surface.update(part.surface)
        self.article_acronyms.extend(part.acronyms)
        self.sentences += n
        self.articles += len(part.acronyms)  # one entry per article of the part
        if self.pending_postings >= self.run_postings:
            self._write_run()

    def _write_run(self) -> None:
        if not self.pending:
            return
        term = np.concatenate([p[0] for p in self.pending])
        chunks = np.concatenate([p[1] for p in self.pending])
        tf = np.concatenate([p[2] for p in self.pending])
        self.pending, self.pending_postings = [], 0
        order = np.argsort(term, kind="stable")  # stable: each term's chunks stay in corpus order
        number = len(self.runs)
        run = _Run(self.scratch / f"run-{number}.chunks", self.scratch / f"run-{number}.tf", np.zeros(1, dtype=np.int64))
        chunks[order].tofile(run.chunks)
        tf[order].tofile(run.tf)
        run.start = np.zeros(len(self.vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=len(self.vocabulary)), out=run.start[1:])
        self.runs.append(run)

    def finish(self, articles: Sequence[Article], text_keys: Sequence[str], merge_postings: int) -> None:
        self._write_run()
        self.text.close()
        self.forward.close()
        written: set[str] = set()

        def save(name: str, array: np.ndarray) -> None:
            dtype, ndim = STORED_ARRAYS[name]
            assert array.ndim == ndim
            save_array(self.folder, name, array.astype(dtype, copy=False))
            written.add(name)

        def appender(name: str, length: int) -> ArrayAppender:
            written.add(name)
            return ArrayAppender(self.folder, name, STORED_ARRAYS[name][0], length)

        # Per-sentence arrays, neighbours and text.
        columns = {name: np.concatenate(values) for name, values in self.columns.items()}
        article, paragraph = columns["article"].astype(np.int32), columns["paragraph"].astype(np.int32)
        previous, following = neighbours(article, paragraph)
        for name, values in (
            ("article", article), ("paragraph", paragraph), ("position", columns["position"]),
            ("flags", columns["flags"]), ("chunk_length", columns["chunk_length"]),
            ("previous", previous), ("following", following),
            ("around", around_rows(previous, following, missing=self.sentences)),
        ):
            save(name, values)
        offsets = np.zeros(self.sentences + 1, dtype=np.int64)
        np.cumsum(np.concatenate(self.text_sizes), out=offsets[1:])
        save("text_offsets", offsets)
        text = appender("text_blob", int(offsets[-1]))
        text.append_file(self.scratch / "text.raw")
        text.close()
        terms_start = np.zeros(self.sentences + 1, dtype=np.int64)
        np.cumsum(columns["forward_counts"], out=terms_start[1:])
        save("terms_start", terms_start)
        forward = appender("terms", int(terms_start[-1]))
        forward.append_file(self.scratch / "terms.raw")
        forward.close()
        del columns, previous, following, offsets, terms_start

        # Postings: the runs merged by term, with global statistics.
        term_count = len(self.vocabulary)
        starts = [np.concatenate([r.start, np.full(term_count + 1 - len(r.start), r.start[-1])]) for r in self.runs]
        frequency = np.zeros(term_count, dtype=np.int64)
        for start in starts:
            frequency += np.diff(start)
        postings_start = np.zeros(term_count + 1, dtype=np.int64)
        np.cumsum(frequency, out=postings_start[1:])
        save("postings_start", postings_start)
        idf = idf_values(frequency, self.sentences)
        save("idf", idf)
        norm = length_norm(np.concatenate(self.columns["chunk_length"]).astype(np.int32))
        common = common_df(self.sentences)
        total = int(postings_start[-1])
        out_chunks = appender("postings_chunk", total)
        out_tf = appender("postings_tf", total)
        out_gain = appender("postings_gain", total)
        impact_terms: list[int] = []
        impact_lists: list[np.ndarray] = []
        for lo_term, hi_term in _term_ranges(postings_start, merge_postings):
            lo, hi = int(postings_start[lo_term]), int(postings_start[hi_term])
            chunks = np.empty(hi - lo, dtype=np.int32)
            tf = np.empty(hi - lo, dtype=np.uint16)
            filled = postings_start[lo_term:hi_term] - lo  # next free place of each term in the range
            for run, start in zip(self.runs, starts):
                run_lo, run_hi = int(start[lo_term]), int(start[hi_term])
                if run_hi == run_lo:
                    continue
                run_chunks, run_tf = run.slice(run_lo, run_hi)
                counts = np.diff(start[lo_term : hi_term + 1])
                destination = np.arange(run_hi - run_lo, dtype=np.int64)
                destination += np.repeat(filled - (start[lo_term:hi_term] - run_lo), counts)
                chunks[destination] = run_chunks
                tf[destination] = run_tf
                filled = filled + counts
            term_idf = np.repeat(idf[lo_term:hi_term], frequency[lo_term:hi_term])
            gains = posting_gains(term_idf, tf, norm[chunks], K1).astype(np.float32)
            for term in (lo_term + np.flatnonzero(frequency[lo_term:hi_term] > common)).tolist():
                a, b = int(postings_start[term]) - lo, int(postings_start[term + 1]) - lo
                impact_terms.append(term)
                impact_lists.append(impact_list(chunks[a:b], gains[a:b]))
            out_chunks.append(chunks)
            out_tf.append(tf)
            out_gain.append(gains)
        for appended in (out_chunks, out_tf, out_gain):
            appended.close()
        impact_start = np.zeros(len(impact_lists) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in impact_lists], out=impact_start[1:])
        save("impact_terms", np.array(impact_terms, dtype=np.int32))
        save("impact_start", impact_start)
        save("impact_chunks", np.concatenate(impact_lists) if impact_lists else np.zeros(0, dtype=np.int32))
        missing = set(STORED_ARRAYS) - written
        assert not missing, f"arrays not written: {sorted(missing)}"

        # Tables, as SentenceIndex.build makes them.
        analyzer = self.analyzer
        surface_counts = {
            w: c for w, c in self.surface.items() if len(w) >= 3 and w.isalpha() and analyzer.term(w)
        }
        surface = surface_table(surface_counts, analyzer)
        vocabulary = [""] * term_count
        for term_name, term_id in self.vocabulary.items():
            vocabulary[term_id] = term_name
        sentences = np.bincount(article, minlength=len(articles)).tolist()
        write_tables(
            self.folder, vocabulary, surface, surface_counts, self.article_acronyms,
            acronym_table(self.article_acronyms, surface), articles, sentences, text_keys,
        )


def _term_ranges(postings_start: np.ndarray, most: int) -> list[tuple[int, int]]:
    """Consecutive term ranges of about `most` postings each (a more common term alone)."""
    terms = len(postings_start) - 1
    bounds = np.searchsorted(postings_start, np.arange(0, int(postings_start[-1]), max(most, 1)), side="right") - 1
    cuts = sorted({0, terms, *(min(max(int(x), 0), terms) for x in bounds)})
    return list(zip(cuts[:-1], cuts[1:]))
