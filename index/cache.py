"""The built index, cached on disk outside the source tree.

The cache file is keyed by a fingerprint of the corpus files' bytes, the
analyzer's settings and this module's format version: change an article, the
stopwords or the stemmer and the next start rebuilds by itself. A damaged or
unreadable cache is rebuilt (and a warning logged), and an unwritable cache
folder only costs a rebuild at the next start: answers go on from memory.

A broken article file never stops loading: it is left out of the index and listed
in `LoadedIndex.broken` (file, line, problem), from the cache too, for the caller to
report. Only a missing folder, or one where no article loads, raises CorpusError.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from corpus import Article, CorpusFileError, parse_files, read_corpus_files, stat_signature
from index.analysis import Analyzer
from index.listing import LISTING_SUFFIX, listing_path, write_listing
from index.sentence_index import SentenceIndex

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MAGIC = b"QABOT-INDEX\n"


@dataclass(frozen=True)
class LoadedIndex:
    articles: tuple[Article, ...]
    """Metadata of every article; loaded from the cache, only the first paragraph of each
    is kept (the full text lives in the index's sentences)."""
    index: SentenceIndex
    key: str
    """Fingerprint of the corpus, analyzer and cache format."""
    from_cache: bool
    seconds: float
    """Wall time of the whole load, reading the files included."""
    build_seconds: float = 0.0
    """Time spent building (splitting, analysis, BM25); 0 when loaded from the cache."""
    broken: tuple[CorpusFileError, ...] = ()
    """Article files left out because they do not load, in name order (kept in the cache too)."""


@functools.cache
def code_fingerprint() -> str:
    """A hash of the index package's code and data: a new release never reads an old layout.
    Read once per process: the code does not change under a running bot."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted([*package.glob("*.py"), *package.glob("data/*.txt")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(corpus_fingerprint: str, analyzer: Analyzer) -> str:
    text = f"{corpus_fingerprint}|{analyzer.fingerprint}|{FORMAT_VERSION}|{code_fingerprint()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _folder_tag(corpus_dir: Path) -> str:
    return hashlib.sha256(str(Path(corpus_dir).resolve()).encode()).hexdigest()[:12]


def cache_path(cache_dir: Path, corpus_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"index-{_folder_tag(corpus_dir)}-{key[:24]}.pickle"


def load_or_build(corpus_dir: Path, cache_dir: Path, analyzer: Analyzer) -> LoadedIndex:
    """The index for the corpus in `corpus_dir`: from the cache when current, else built and cached.

    Raises CorpusError when the folder is missing or no article in it loads; a broken
    article file is left out and listed in `broken`.
    """
    started = time.perf_counter()
    signature = _files_signature(corpus_dir, analyzer)
    known = current_key(corpus_dir, cache_dir, analyzer)
    if known is not None:
        cached = _read(cache_path(cache_dir, corpus_dir, known), known)
        if cached is not None:
            articles, index, broken = cached
            return LoadedIndex(articles, index, known, True, time.perf_counter() - started, broken=broken)
    files = read_corpus_files(corpus_dir)
    key = cache_key(files.fingerprint, analyzer)
    path = cache_path(cache_dir, corpus_dir, key)
    cached = _read(path, key)
    if cached is not None:
        _remember(cache_dir, corpus_dir, signature, key)
        articles, index, broken = cached
        return LoadedIndex(articles, index, key, True, time.perf_counter() - started, broken=broken)
    parsed = parse_files(files)
    del files  # the raw bytes are not needed while building; a large corpus frees ~its size
    build_started = time.perf_counter()
    index = SentenceIndex.build(parsed.articles, analyzer)
    build_seconds = time.perf_counter() - build_started
    if _write(path, key, parsed.articles, index, parsed.broken):
        _remember(cache_dir, corpus_dir, signature, key)
    return LoadedIndex(
        parsed.articles, index, key, False, time.perf_counter() - started, build_seconds, parsed.broken
    )


def _files_signature(corpus_dir: Path, analyzer: Analyzer) -> str | None:
    files_signature = stat_signature(corpus_dir)
    # Also changes with the analyzer and the code, like the cache key itself.
    return cache_key(files_signature, analyzer) if files_signature else None


def current_key(corpus_dir: Path, cache_dir: Path, analyzer: Analyzer) -> str | None:
    """The key of the cached index, if it is current for the files, known from their names,
    sizes and times alone (nothing is read); None when that cannot be told so cheaply."""
    # Fast path: the files are as when the cache was written, so the cache is current
    # without reading (and hashing) every article.
    signature = _files_signature(corpus_dir, analyzer)
    return _manifest(cache_dir, corpus_dir).get(signature) if signature else None


def _read(path: Path, key: str) -> tuple[tuple[Article, ...], SentenceIndex, tuple[CorpusFileError, ...]] | None:
    """The cached articles, index and broken files, or None (and a warning) when unusable."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                raise ValueError("not an index cache file")
            stored_key, articles, index, broken_rows = pickle.load(handle)
        if stored_key != key or not isinstance(index, SentenceIndex):
            raise ValueError("cache does not match the corpus")
        broken = tuple(CorpusFileError(str(p), None if line is None else int(line), str(problem))
                       for p, line, problem in broken_rows)
        return articles, index, broken
    except Exception as exc:  # any damage at all means: rebuild
        log.warning("index cache %s is unusable (%s); rebuilding it", path, exc)
        return None


def _manifest_path(cache_dir: Path, corpus_dir: Path) -> Path:
    return Path(cache_dir) / f"index-{_folder_tag(corpus_dir)}.manifest"


def _manifest(cache_dir: Path, corpus_dir: Path) -> dict[str, str]:
    """File signature -> cache key, for the corpus folder's current cache."""
    try:
        signature, key = _manifest_path(cache_dir, corpus_dir).read_text(encoding="ascii").split()
        return {signature: key}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def _remember(cache_dir: Path, corpus_dir: Path, signature: str | None, key: str) -> None:
    if signature is None:
        return
    path = _manifest_path(cache_dir, corpus_dir)
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{signature} {key}\n", encoding="ascii")
        os.replace(tmp, path)
    except OSError:
        pass  # only the fast path is lost


def _write(
    path: Path,
    key: str,
    articles: tuple[Article, ...],
    index: SentenceIndex,
    broken: tuple[CorpusFileError, ...],
) -> bool:
    # The sentences hold the articles' text; the cache keeps their metadata and first
    # paragraph (which names an article that has no title or publisher).
    metadata = tuple(replace(a, paragraphs=a.paragraphs[:1]) for a in articles)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".index-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(MAGIC)
                # Broken files as plain (path, line, problem) rows: they are reported at every load.
                broken_rows = [(error.path, error.line, error.problem) for error in broken]
                pickle.dump((key, metadata, index, broken_rows), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)  # readers see the old file or the whole new one, never half
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _remove_stale(path)
        # What `qabot list` reads: each article's metadata and sentence count, the broken files.
        sentences = np.bincount(np.asarray(index.article), minlength=len(articles)).tolist()
        write_listing(listing_path(path), key, articles, sentences, broken)
        return True
    except Exception as exc:  # a cache that cannot be written only costs a rebuild next time
        log.warning("could not write the index cache to %s (%s); answering from memory", path.parent, exc)
        return False


def _remove_stale(current: Path) -> None:
    """Older caches of the same corpus folder are dead weight once a new one exists."""
    prefix = "-".join(current.name.split("-")[:2]) + "-"
    keep = {current, listing_path(current)}
    for other in [*current.parent.glob(prefix + "*.pickle"), *current.parent.glob(prefix + "*" + LISTING_SUFFIX)]:
        if other not in keep:
            other.unlink(missing_ok=True)
