"""The built index on disk, outside the source tree, kept up to date article by article.

Layout: one folder per corpus folder, `CACHE_DIR/index-<tag>/` (private, 0700):

    manifest.json   what the index is: format version, the index code's and the
                    analyzer's fingerprints, its segments (each file's size and
                    XXH3-128 checksum, the articles deleted from it), and every
                    article file it was built from (name, size, time, SHA-256)
    seg-…/          immutable segments (`index.segments`): `.npy` arrays, JSON
    lock            taken by whoever updates the manifest (readers never wait)

No pickle is read or written: arrays are memory-mapped with numpy (no objects
allowed), everything else is JSON. Anything that does not match (another format
or code version, a file of the wrong size or checksum, a missing segment, JSON
that does not parse) is rebuilt with a warning, never trusted and never a crash.
A damaged segment costs only its own articles' analysis; a damaged manifest, all.

Incremental updates: when the corpus folder changes, only the added and changed
files are read and analysed, into one new small segment; removed and changed
articles are marked deleted in their old segments. The collection statistics stay
global (see `index.segments.combine`), so rankings equal a full rebuild's. When
more than `MAX_SEGMENTS` pile up, or over `MAX_DELETED_SHARE` of the sentences
are deleted, the next update merges everything into one segment; `merge()` does
it on request (`qabot index`, or a running bot in the background).

Writes are atomic (a segment is written in a temporary folder and renamed; the
manifest is replaced by a rename), so processes sharing a cache folder never see
half an index. What a manifest stops naming is "retired" in it and stays on disk until
the update after next begins (a process that read the older manifest a moment ago may be
opening those files; one that maps them keeps them readable anyway); that update removes
it in a background thread while it does its own work. An unwritable cache folder only costs a rebuild at the next start:
answers go on from memory.

Interfaces for other modules: `load_or_build` (with a `progress` callback, see
`index.progress`), `refresh` (bring it up to date without putting it together),
`read_metadata` (article and sentence counts without loading the index),
`known_articles` (what the duplicate check of `qabot add` needs), `is_current`
(whether loading would build anything) and `has_index` (whether there is one to load). `refresh` returns the listing of the folder it
went by (`corpus.loader.FolderListing`), and takes one (a running bot's watcher lists the folder
once a round). `IndexFolder` asks several of these of one index, reading each segment's articles
once, and `IndexFolder.update_with` brings the index up to date with files one process changed
without listing the folder: what `qabot add` and `qabot remove` do.

Checked at every load: the manifest's format, code and analyzer, every file's size, and
each file's checksum the first time and whenever its identity (inode, size, times)
changes (see `index.store_files`). The article files are compared by name, size and
time; those changed in the 2 s before the index was written are recorded in the
manifest's "unsettled" with their SHA-256 and hashed again at each load until the next
update (a same-size rewrite within one clock tick keeps its time). A load with
`check_folder=False` (a bot's start, which then checks the folder in the background with
`refresh`) skips the article files: the index as last written, its own files checked as
above; with no usable index it checks the folder and builds as any load does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import gc
import hashlib
import logging
import secrets
import shutil
import stat as stat_module
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterator, Sequence

import numpy as np

from corpus import Article, CorpusError, CorpusFileError, parse_article
from corpus.loader import (
    FileStat,
    FolderListing,
    fresh_names,
    list_article_files,
    list_folder,
    read_article_file,
    signature_of,
    with_files_now,
)
from corpus.store import KnownArticle, text_key
from index.analysis import Analyzer
from index.location import MANIFEST, index_folder
from index.merging import BuiltSegment, Source, build_segment
from index.progress import BuildProgress, ProgressCallback, report
from index.article_table import ArticleTable, column_of
from index.segments import ARTICLE_SUFFIX, Segment, article_file_name, combine, open_segment, write_segment
from index.sentence_index import SentenceIndex
from index.store_files import (
    CHECKSUM,
    StoreDamaged,
    VerifiedFiles,
    describe,
    load_json,
    private_folder,
    verify,
    write_json_atomically,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 4
MAX_SEGMENTS = 8
"""More segments than this are merged into one by the next update."""
STREAMING_FROM_ARTICLES = 5_000
"""At least this many new article files are built on disk as they are read (`index.merging`),
by worker processes that also read them; fewer are read here and built in memory."""
MAX_DELETED_SHARE = 0.25
"""A larger share of deleted sentences is merged away by the next update."""
VERIFIED = "verified.json"
"""Which cache files were hashed in full, by identity (`index.store_files.VerifiedFiles`)."""
STALE_TEMPORARY_SECONDS = 3600
"""A temporary folder this old is a crashed writer's, not one being written."""


@dataclass(frozen=True)
class LoadedIndex:
    articles: Sequence[Article]
    """Metadata of every article, in the index's article order; loaded from the cache, an
    `index.article_table.ArticleTable` (Articles made on demand, only the first words of each
    text kept: the full text lives in the index's sentences)."""
    index: SentenceIndex
    key: str
    """Identifies what is indexed (segments and deletions): equal keys, equal indexes."""
    from_cache: bool
    """True when no article had to be analysed."""
    seconds: float
    """Wall time of the whole load, reading the files included."""
    build_seconds: float = 0.0
    """Time spent analysing articles (splitting, analysis, BM25); 0 when none was."""
    analysed_articles: int = 0
    """Articles analysed by this load: all for a first build, the changed ones for an update."""
    segments: int = 1
    location: Path | None = None
    """The index folder in the cache (None if it could not be written)."""
    broken: tuple[CorpusFileError, ...] = ()
    """Article files left out because they do not load, in name order (kept in the cache too)."""
    folder_checked: bool = True
    """False when loaded with `check_folder=False` as last written, the article files not
    looked at: it may be of an older state of the folder (`refresh` brings it up to date)."""


@dataclass(frozen=True)
class IndexedArticle:
    """One article as the index knows it, read from the index's metadata alone."""

    article_id: str
    sentences: int
    title: str | None
    publisher: str | None
    published: str | None
    """YYYY-MM-DD or None."""
    url: str | None
    label: str = ""
    """What to call it, as `Article.label` (its title, else publisher, else first words)."""
    text_key: str | None = None
    """`corpus.store.text_key` of the article's whole text."""


@dataclass(frozen=True)
class IndexMetadata:
    articles: tuple[IndexedArticle, ...]
    """In file-name order."""
    current: bool
    """True if the article files' names, sizes and times are those indexed (else the counts
    are those of the last index built, and the next load updates it)."""
    broken: tuple[CorpusFileError, ...] = ()
    """Article files left out of that index because they did not load, in name order."""

    @property
    def sentences(self) -> int:
        return sum(a.sentences for a in self.articles)


@functools.cache
def code_fingerprint() -> str:
    """A hash of the index package's code and data: a new release never reads an old layout.
    Read once per process: the code does not change under a running bot."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted([*package.glob("*.py"), *package.glob("data/*.txt")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def load_or_build(
    corpus_dir: Path,
    cache_dir: Path,
    analyzer: Analyzer,
    progress: ProgressCallback | None = None,
    listing: FolderListing | None = None,
    *,
    check_folder: bool = True,
) -> LoadedIndex:
    """The index for the corpus in `corpus_dir`: from the cache when current, else updated
    (only changed articles analysed) or built, and cached. `listing`: the folder as already
    listed (a running bot's watcher, see `corpus.loader.FolderListing`); by default it is listed now.

    With `check_folder=False`, a usable cached index is loaded as last written without
    looking at the article files (with 500,000 of them, stating each took 8-10 s of CPU):
    `folder_checked` is then False, and the caller brings it up to date later (`refresh`).

    A broken article file is left out and listed in `broken` (and remembered, so a start
    from the cache names it too); raises CorpusError only when the folder is missing or
    no article in it loads.
    """
    return _Store(Path(corpus_dir), Path(cache_dir), analyzer).load(progress, listing=listing, check_folder=check_folder)


def merge(corpus_dir: Path, cache_dir: Path, analyzer: Analyzer) -> LoadedIndex:
    """Bring the index up to date, then merge its segments into one (dropping deleted
    sentences), so processes can share it memory-mapped. Raises as `load_or_build`."""
    return _Store(Path(corpus_dir), Path(cache_dir), analyzer).load(None, merge=True)


@dataclass(frozen=True)
class Refreshed:
    analysed_articles: int
    """Articles read and analysed (added or changed since the index was last brought up to date)."""
    broken: tuple[CorpusFileError, ...]
    seconds: float
    listing: FolderListing | None = None
    """The listing of the folder the index is now up to date with."""
    key: str = ""
    """The `LoadedIndex.key` of the index as it now is: unchanged when the folder was as indexed."""


def refresh(
    corpus_dir: Path,
    cache_dir: Path,
    analyzer: Analyzer,
    progress: ProgressCallback | None = None,
    listing: FolderListing | None = None,
) -> Refreshed:
    """Bring the cached index up to date with the folder (analysing only changed articles),
    without putting it together for answering: what `qabot add` does, so that the next
    `qabot ask` and the running bots find it current. `listing`: the folder as already listed
    (see `FolderListing`; by default it is listed now). Raises as `load_or_build`."""
    return IndexFolder(Path(corpus_dir), Path(cache_dir), analyzer).refresh(progress, listing)


def read_metadata(corpus_dir: Path, cache_dir: Path, analyzer: Analyzer | None = None) -> IndexMetadata | None:
    """What the cached index holds, article by article, without loading its arrays or
    reading any article file. None when there is no usable index for this corpus folder
    (never built, another version, damaged): then only loading it can tell."""
    store = _Store(Path(corpus_dir), Path(cache_dir), analyzer or Analyzer())
    manifest = store.read_manifest(quiet=True)
    if manifest is None:
        return None
    found: list[IndexedArticle] = []
    try:
        for entry in manifest["segments"]:
            segment = store.segment_articles(entry)
            table = ArticleTable.from_articles(segment.articles)
            deleted = set(entry["deleted"])
            titles, publishers = table.column("title"), table.column("publisher")
            found.extend(
                IndexedArticle(
                    article_id=article_id,
                    sentences=sentences,
                    title=title,
                    publisher=publisher,
                    published=dt.date.fromordinal(published).isoformat() if published is not None else None,
                    url=url,
                    label=title or publisher or table[local].label,  # Article.label, without making each
                    text_key=key,
                )
                for local, (article_id, title, publisher, published, url, sentences, key) in enumerate(
                    zip(
                        table.column("id"), titles, publishers, table.column("published"), table.column("url"),
                        segment.sentences, segment.text_keys,
                    )
                )
                if local not in deleted
            )
    except (StoreDamaged, KeyError, TypeError, ValueError):
        return None
    store.verified.save()
    found.sort(key=lambda a: a.article_id + ".md")
    return IndexMetadata(articles=tuple(found), current=_folder_matches(corpus_dir, manifest), broken=_errors(manifest["broken"]))


def known_articles(corpus_dir: Path, cache_dir: Path, analyzer: Analyzer | None = None) -> list[KnownArticle] | None:
    """Every article of the cached index as the duplicate check needs it (see `IndexFolder.known_articles`)."""
    return IndexFolder(Path(corpus_dir), Path(cache_dir), analyzer).known_articles()


class IndexFolder:
    """The cached index of one corpus folder, for a command that asks it several things in
    turn (`qabot add`: the articles it knows, then an update with the new one): each
    segment's articles are read once, not once per question (at 20,000 articles, 35-50 ms
    each time). Raises as the module's functions of the same names."""

    def __init__(self, corpus_dir: Path, cache_dir: Path, analyzer: Analyzer | None = None) -> None:
        self._store = _Store(Path(corpus_dir), Path(cache_dir), analyzer or Analyzer())

    def refresh(self, progress: ProgressCallback | None = None, listing: FolderListing | None = None) -> Refreshed:
        """See the module's `refresh`."""
        store = self._store
        listing = listing or list_folder(store.corpus_dir)
        loaded = store.load(progress, want_index=False, listing=listing)
        return Refreshed(loaded.analysed_articles, loaded.broken, loaded.seconds, listing, loaded.key)

    def update_with(self, paths: Collection[Path], progress: ProgressCallback | None = None) -> Refreshed:
        """Bring the index up to date with the article files at `paths` (just written, rewritten
        or removed by this process), taking every other file as the index last recorded it: the
        folder is not listed (20,000 stat calls at 20,000 articles), so the work is that of the
        changed files. Sound all the same: the manifest then records exactly the files the index
        holds, and any load that lists the folder (`qabot ask`, a bot's watcher) finds a file
        changed by someone else meanwhile and updates for it. With no usable index to go by,
        the folder is listed (`refresh`). Raises as `load_or_build`."""
        recorded = self._store.recorded_listing()
        if recorded is None:
            return self.refresh(progress)
        return self.refresh(progress, with_files_now(recorded, paths))

    def known_articles(self) -> list[KnownArticle] | None:
        """Every article of the cached index as the duplicate check needs it (ID, URL, text key,
        label), read from the segments' metadata alone; None when there is no usable index or
        one of its articles has no text key. The index as last written, the folder not looked
        at: a duplicate found is confirmed by its file (`corpus.store.find_duplicate_among`)."""
        store = self._store
        manifest = store.read_manifest(quiet=True)
        if manifest is None:
            return None
        found: list[KnownArticle] = []
        try:
            for entry in manifest["segments"]:
                segment = store.segment_articles(entry)
                table = ArticleTable.from_articles(segment.articles)
                deleted = set(entry["deleted"])
                for local, (article_id, title, publisher, url, key) in enumerate(
                    zip(
                        table.column("id"), table.column("title"), table.column("publisher"), table.column("url"),
                        segment.text_keys,
                    )
                ):
                    if local in deleted:
                        continue
                    if key is None:
                        return None
                    found.append(KnownArticle(article_id, url, key, title or publisher or table[local].label))
        except (StoreDamaged, KeyError, TypeError, ValueError):
            return None
        store.verified.save()
        return found


def has_index(corpus_dir: Path, cache_dir: Path, analyzer: Analyzer | None = None) -> bool:
    """True when the cache holds an index for `corpus_dir` of this format, code and analyzer
    (current or not: the article files are not looked at). Reads only the manifest."""
    return _Store(Path(corpus_dir), Path(cache_dir), analyzer or Analyzer()).read_manifest(quiet=True) is not None


def indexed_file_digests(
    corpus_dir: Path, cache_dir: Path, analyzer: Analyzer | None = None
) -> dict[str, tuple[int, int, bytes]]:
    """Each article file the cached index was built from (broken ones included): name -> (size,
    modification time, SHA-256 of its bytes), as `corpus.loader.FileDigests` remembers files. Not
    those written in the moments before the index was (their times do not vouch for their
    bytes). Empty when there is no usable index. Reads the manifest and the files table only."""
    store = _Store(Path(corpus_dir), Path(cache_dir), analyzer or Analyzer())
    manifest = store.read_manifest(quiet=True)
    table = store.read_files_table(manifest) if manifest is not None else None
    if manifest is None or table is None:
        return {}
    unsettled = manifest["unsettled"]
    found = {
        name: (size, mtime, bytes.fromhex(digest))
        for name, (size, mtime, digest, *_) in table.items()
        if name not in unsettled
    }
    for name, (size, mtime, digest, *_) in manifest["broken"].items():
        if digest is not None and name not in unsettled:
            found[name] = (size, mtime, bytes.fromhex(digest))
    return found


def is_current(
    corpus_dir: Path, cache_dir: Path, analyzer: Analyzer | None = None, listing: FolderListing | None = None
) -> bool:
    """True when the cached index is of exactly the article files as they are now (their names,
    sizes and times; those changed in the moments before, their bytes too): loading it then
    reads no article and builds nothing. Reads only the manifest and the folder's listing
    (`listing`: as already listed); False when there is no usable index, or it must be updated."""
    store = _Store(Path(corpus_dir), Path(cache_dir), analyzer or Analyzer())
    manifest = store.read_manifest(quiet=True)
    if manifest is None:
        return False
    if listing is not None:
        return _listing_matches(listing.files, listing.fresh, manifest)
    return _folder_matches(corpus_dir, manifest)


class _CollectorPause:
    """Python's cycle collector off while an index is loaded or updated, back on (if it was on)
    after. A load makes a few hundred thousand lists, dicts and tuples (the listing, the files
    table, the articles and vocabulary), none of them in a cycle: the collector ran every 700
    of them and walked the whole growing heap every so often, for nothing (~9% of a one-shot
    `qabot ask` at 20,000 articles). Whatever cycles the load does make are collected after.
    A build inside it runs with the collector as it was (`lifted`): it can take minutes, while a
    bot's other threads answer ("still reading") and make their own garbage."""

    def __init__(self) -> None:
        self._was_enabled = False

    def __enter__(self) -> "_CollectorPause":
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._was_enabled:
            gc.enable()

    @contextlib.contextmanager
    def lifted(self) -> Iterator[None]:
        if self._was_enabled:
            gc.enable()
        try:
            yield
        finally:
            if self._was_enabled:
                gc.disable()


class _Store:
    """The index folder of one corpus folder."""

    def __init__(self, corpus_dir: Path, cache_dir: Path, analyzer: Analyzer) -> None:
        self.corpus_dir = corpus_dir
        self.cache_dir = cache_dir
        self.analyzer = analyzer
        self.folder = index_folder(cache_dir, corpus_dir)
        self.manifest_path = self.folder / MANIFEST
        self.verified = VerifiedFiles(self.folder / VERIFIED)
        """The cache files already hashed in full (see `index.store_files`); saved after each load."""
        self._pause = _CollectorPause()
        """The collector's pause of the load under way (`load`), lifted for a build."""
        self._articles_read: dict[tuple[str, str], Segment] = {}
        """Segments whose articles this store has read (`segment_articles`), by name and checksum."""
        self._files_table: tuple[tuple[str, str, int], dict[str, list[Any]]] | None = None
        """The files table this store read last (`read_files_table`), by name, checksum and segments."""

    def recorded_listing(self) -> FolderListing | None:
        """The corpus folder as the manifest last recorded it, without looking at it: each file
        the index holds and each broken one, by name, size and time (taken for regular files:
        the manifest does not say which broken entry was a folder, and a wrong guess only costs
        the next listing load an update). The files that were fresh when it was written are
        looked at now, and fresh again (their bytes are hashed by the update, as at a load).
        None when there is no usable index or files table."""
        manifest = self.read_manifest(quiet=True)
        table = self.read_files_table(manifest) if manifest is not None else None
        if manifest is None or table is None:
            return None
        where = str(self.corpus_dir)
        listed = {name: FileStat(where, name, record[0], record[1], True) for name, record in table.items()}
        for name, record in manifest["broken"].items():
            listed[name] = FileStat(where, name, record[0], record[1], True)
        unsettled: set[str] = set()
        for name in manifest["unsettled"]:
            listed.pop(name, None)
            try:
                info = (self.corpus_dir / name).stat()
            except OSError:
                continue  # gone: the update leaves it out
            listed[name] = FileStat(where, name, info.st_size, info.st_mtime_ns, stat_module.S_ISREG(info.st_mode))
            unsettled.add(name)
        return FolderListing(sorted(listed.values()), frozenset(unsettled))

    def segment_articles(self, entry: dict[str, Any]) -> Segment:
        """The segment a manifest entry names, its articles only (`open_segment` without arrays),
        read once per store: a segment's files never change once written, so the same name and
        recorded checksum are the same articles. Raises StoreDamaged."""
        files = entry["files"]
        recorded = files.get("articles.json") if isinstance(files, dict) else None
        key = (entry["name"], str(recorded.get(CHECKSUM)) if isinstance(recorded, dict) else "")
        segment = self._articles_read.get(key)
        if segment is None:
            segment = open_segment(self.folder / entry["name"], entry["name"], files, self.analyzer, arrays=False, verified=self.verified)
            self._articles_read[key] = segment
        return segment

    # -- reading --------------------------------------------------------------

    def read_manifest(self, quiet: bool = False) -> dict[str, Any] | None:
        """The manifest if it is one of ours, of this format, code and analyzer; else None."""
        if not self.manifest_path.exists():
            return None
        try:
            manifest = load_json(self.folder, "manifest.json")
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
                raise StoreDamaged("another format")
            if manifest.get("code") != code_fingerprint() or manifest.get("analyzer") != self.analyzer.fingerprint:
                if not quiet:
                    log.info("the index cache was built by another version; rebuilding it")
                return None
            for entry in manifest["segments"]:
                if not isinstance(entry["name"], str) or not entry["name"].startswith("seg-"):
                    raise StoreDamaged(f"bad segment name {entry['name']!r}")
                if not isinstance(entry["files"], dict) or not all(isinstance(d, int) for d in entry["deleted"]):
                    raise StoreDamaged("bad segment entry")
            if not isinstance(manifest["files_table"], dict):
                raise StoreDamaged("bad files table entry")
            for name, record in manifest["broken"].items():
                size, mtime, digest, line, problem, path = record
                if not (isinstance(problem, str) and isinstance(path, str) and isinstance(line, (int, type(None)))):
                    raise StoreDamaged(f"bad broken-file entry {name!r}")
            if not isinstance(manifest.get("signature"), (str, type(None))):
                raise StoreDamaged("bad signature")
            for name, record in manifest["unsettled"].items():
                size, mtime, digest = record
                if not (isinstance(size, int) and isinstance(mtime, int) and isinstance(digest, (str, type(None)))):
                    raise StoreDamaged(f"bad unsettled-file entry {name!r}")
            return manifest
        except (StoreDamaged, KeyError, TypeError, ValueError) as exc:
            if not quiet:
                log.warning("index cache manifest %s is unusable (%s); rebuilding it", self.manifest_path, exc)
            return None

    def read_files_table(self, manifest: dict[str, Any]) -> dict[str, list[Any]] | None:
        """Each article file the index was built from: name -> [size, mtime_ns, sha256, segment,
        article]. Kept beside the manifest (only an update reads it); None if unusable. Read
        once per store (a table file is never rewritten: each update writes a new one), so
        `qabot add`'s update, which reads it for the folder's record and again under the lock,
        parses the 2.5 MB of a 20,000-article table once; callers only read the table."""
        entry = manifest["files_table"]
        try:
            key = (entry["name"], str(entry["file"].get(CHECKSUM)), len(manifest["segments"]))
        except (KeyError, TypeError, AttributeError):
            key = None
        if key is not None and self._files_table is not None and self._files_table[0] == key:
            return self._files_table[1]
        table = self._read_files_table(manifest)
        self._files_table = (key, table) if key is not None and table is not None else None
        return table

    def _read_files_table(self, manifest: dict[str, Any]) -> dict[str, list[Any]] | None:
        entry = manifest["files_table"]
        try:
            verify(self.folder, {entry["name"]: entry["file"]}, self.verified)
            table = load_json(self.folder, entry["name"])
            # Checked column by column, in C (a record per article file: tens of thousands).
            records = list(table.values())
            if records:
                if set(map(type, records)) != {list} or set(map(len, records)) != {5}:
                    raise StoreDamaged("bad file entry")
                sizes, mtimes, digests, segments, numbers = zip(*records)
                if not (
                    set(map(type, sizes)) | set(map(type, mtimes)) | set(map(type, segments)) | set(map(type, numbers))
                    == {int} and set(map(type, digests)) == {str}
                ):
                    raise StoreDamaged("bad file entry")
                if min(segments) < 0 or max(segments) >= len(manifest["segments"]):
                    raise StoreDamaged("a file entry names no segment")
            return table
        except (StoreDamaged, KeyError, TypeError, ValueError) as exc:
            log.warning("index cache %s is unusable (%s); rebuilding it", self.folder, exc)
            return None

    def open_segments(self, manifest: dict[str, Any], arrays: bool = True) -> list[Segment | None]:
        """Each segment of the manifest, or None for one that is damaged (with a warning).
        Without `arrays`, only each segment's articles are read and checked."""
        opened: list[Segment | None] = []
        for entry in manifest["segments"]:
            folder = self.folder / entry["name"]
            try:
                segment = (
                    open_segment(folder, entry["name"], entry["files"], self.analyzer, verified=self.verified)
                    if arrays else self.segment_articles(entry)
                )
                if any(not 0 <= d < len(segment.articles) for d in entry["deleted"]):
                    raise StoreDamaged(f"{folder}: deleted article out of range")
                opened.append(segment)
            except StoreDamaged as exc:
                log.warning("index cache segment %s is unusable (%s); rebuilding its articles", folder, exc)
                opened.append(None)
        return opened

    # -- loading and updating ----------------------------------------------------

    def load(
        self,
        progress: ProgressCallback | None,
        merge: bool = False,
        want_index: bool = True,
        listing: FolderListing | None = None,
        check_folder: bool = True,
    ) -> LoadedIndex:
        with _CollectorPause() as pause:
            self._pause = pause
            return self._load(progress, merge, want_index, listing, check_folder)

    def _load(
        self,
        progress: ProgressCallback | None,
        merge: bool,
        want_index: bool,
        listing: FolderListing | None,
        check_folder: bool,
    ) -> LoadedIndex:
        started = time.perf_counter()
        if not check_folder and not merge and want_index:
            # The index as last written, the folder not looked at (see `load_or_build`).
            manifest = self.read_manifest()
            as_written = self._open_as_written(manifest, started, folder_checked=False) if manifest else None
            if as_written is not None:
                return as_written
        # Fast path: the files' names, sizes and times are as when the index was written (and
        # the few written just before it, their bytes too), so it is current without reading
        # (and hashing) any other article. One look at the folder serves both that check and,
        # if it fails, the update.
        listing = listing or list_folder(self.corpus_dir)
        listed, fresh = listing.files, listing.fresh  # one moment's view, used throughout
        manifest = self.read_manifest()
        if manifest is not None and not merge and _listing_matches(listed, fresh, manifest):
            if not want_index:
                return _unloaded(manifest, started, self.folder)
            as_written = self._open_as_written(manifest, started)
            if as_written is not None:
                return as_written
        with self._updating():
            # What earlier updates left behind is removed while this one works (unlinking a
            # segment's 25 files cost 0.1-0.25 s of each `qabot add` here; it waits on the disk).
            tidying = self._tidy_in_background()
            try:
                return self._update(listed, fresh, started, progress, merge, want_index)
            finally:
                if tidying is not None:
                    tidying.join()
                self.verified.save()

    def _open_as_written(
        self, manifest: dict[str, Any], started: float, folder_checked: bool = True
    ) -> LoadedIndex | None:
        """The manifest's index put together for answering, or None when a segment is damaged
        or they are due to be merged (an update does either)."""
        segments = self.open_segments(manifest)
        self.verified.save()
        live = [(s, frozenset(e["deleted"])) for s, e in zip(segments, manifest["segments"]) if s is not None]
        if len(live) != len(segments) or _needs_merge(live):
            return None
        articles, index = combine(live, self.analyzer)
        return LoadedIndex(
            articles, index, _key(manifest), True, time.perf_counter() - started,
            segments=len(live), location=self.folder, broken=_errors(manifest["broken"]), folder_checked=folder_checked,
        )

    @contextlib.contextmanager
    def _updating(self) -> Iterator[None]:
        """One updater at a time per index folder (other processes wait); readers never wait.
        An index folder that cannot be made still lets the update run (answers from memory)."""
        try:
            private_folder(self.folder)
            handle = open(self.folder / "lock", "a+b")
        except OSError:
            yield
            return
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _update(
        self,
        listed: list[FileStat],
        fresh: frozenset[str],
        started: float,
        progress: ProgressCallback | None,
        merge: bool,
        want_index: bool,
    ) -> LoadedIndex:
        manifest = self.read_manifest(quiet=True)  # again: another process may have updated it meanwhile
        recorded = self.read_files_table(manifest) if manifest else None
        if recorded is None:
            manifest = None  # without its table of files, an index cannot be updated: build anew
        entries: list[dict[str, Any]] = manifest["segments"] if manifest else []
        # An update that only records changes (refresh) needs no arrays, unless it must merge.
        segments: list[Segment | None] = self.open_segments(manifest, arrays=want_index or merge) if manifest else []
        known: dict[str, list[Any]] = (
            (recorded or {}) if all(s is not None for s in segments) else {
                name: record for name, record in (recorded or {}).items()
                if segments[record[3]] is not None  # record: size, mtime, sha256, segment, local
            }
        )
        deleted = [set(e["deleted"]) for e in entries]

        known_broken: dict[str, list[Any]] = manifest["broken"] if manifest else {}
        files: dict[str, list[Any]] = {}
        broken: dict[str, list[Any]] = {}
        changed: list[tuple[FileStat, str]] = []
        new_articles: list[Article] = []
        # Many new files: built on disk as they are read, by worker processes (index.merging),
        # rather than read here and built in memory.
        streaming = self._can_stream(listed, known, known_broken)
        sources: list[Source] = []
        for stat in listed:
            name = stat.name
            record = known.get(name)
            # Compared field by field: a slice and a list per file cost a third of this loop.
            if record is not None and record[0] == stat.size and record[1] == stat.mtime_ns and name not in fresh:
                files[name] = record
                continue
            was_broken = known_broken.get(name)
            if was_broken is not None and was_broken[:2] == [stat.size, stat.mtime_ns] and name not in fresh:
                broken[name] = was_broken
                continue
            if streaming and record is None and was_broken is None:
                sources.append(Source(stat))  # read, hashed and parsed by a worker
                continue
            if record is not None:
                deleted[record[3]].add(record[4])  # the old version goes (kept if it is unchanged)
            try:
                raw = read_article_file(stat)
            except CorpusFileError as exc:
                broken[name] = [stat.size, stat.mtime_ns, None, exc.line, exc.problem, exc.path]
                continue
            digest = hashlib.sha256(raw).hexdigest()
            if record is not None and record[2] == digest:
                deleted[record[3]].discard(record[4])
                files[name] = [stat.size, stat.mtime_ns, digest, record[3], record[4]]  # touched, not changed
                continue
            if was_broken is not None and was_broken[2] == digest:
                broken[name] = [stat.size, stat.mtime_ns, *was_broken[2:]]
                continue
            try:
                new_articles.append(parse_article(str(stat.path), raw, article_id=stat.path.stem))
            except CorpusFileError as exc:  # left out; the others load (see corpus.loader)
                broken[name] = [stat.size, stat.mtime_ns, digest, exc.line, exc.problem, exc.path]
                continue
            if streaming:
                sources.append(Source(stat, new_articles.pop(), digest))
                continue
            changed.append((stat, digest))
        for name in known.keys() - {stat.name for stat in listed}:
            record = known[name]
            deleted[record[3]].add(record[4])  # removed
        built_on_disk: BuiltSegment | None = None
        generation = int(manifest.get("generation", 0)) + 1 if manifest else 1
        disk_name = _segment_name(generation)
        if sources:
            built_on_disk = self._build_on_disk(sources, disk_name, progress)
            if built_on_disk is None:  # the cache folder cannot be written: read them here after all
                changed, new_articles = self._read_sources(sources, broken)
            else:
                broken.update(built_on_disk.broken)
        errors = _errors(broken)
        nothing_new = not new_articles and (built_on_disk is None or built_on_disk.segment_files is None)
        if nothing_new and all(len(d) >= len(s.articles) for s, d in zip(segments, deleted) if s is not None):
            count = len(errors)
            raise CorpusError(
                f"none of the {count:,} article file{'s' if count != 1 else ''} loads; the first: {errors[0]}"
            )

        # The segments that stay: usable ones with a live article.
        kept: list[tuple[Segment, dict[str, Any], set[int]]] = []
        renumber: dict[int, int] = {}
        for s, (segment, entry) in enumerate(zip(segments, entries)):
            if segment is not None and len(deleted[s]) < len(segment.articles):
                renumber[s] = len(kept)
                kept.append((segment, entry, deleted[s]))
        if any(s != k for s, k in renumber.items()) or len(renumber) < len(segments):  # else: each as it was
            files = {name: [*r[:3], renumber[r[3]], r[4]] for name, r in files.items() if r[3] in renumber}

        build_seconds = 0.0
        analysed_sentences = 0
        new_segment: tuple[Segment, dict[str, Any]] | None = None
        new_written = False
        if built_on_disk is not None and built_on_disk.segment_files is not None:
            build_seconds = built_on_disk.seconds
            analysed_sentences = built_on_disk.sentences
            segment = open_segment(self.folder / disk_name, disk_name, built_on_disk.segment_files, self.analyzer)
            new_segment = (segment, {"name": disk_name, "files": built_on_disk.segment_files, "deleted": []})
            new_written = True
            digests = built_on_disk.digests
            indexed = [source.stat for source in sources if source.stat.name in digests]  # in segment order
            for local, stat in enumerate(indexed):
                files[stat.name] = [stat.size, stat.mtime_ns, digests[stat.name], len(kept), local]
        elif new_articles:
            build_started = time.perf_counter()
            order = sorted(range(len(new_articles)), key=lambda i: article_file_name(new_articles[i]))
            ordered = [new_articles[i] for i in order]
            with self._pause.lifted():
                built = SentenceIndex.build(ordered, self.analyzer, progress=progress)
            build_seconds = time.perf_counter() - build_started
            analysed_sentences = built.size
            name = _segment_name(generation)
            segment = _as_segment(name, self.folder / name, built, ordered, [text_key(a) for a in ordered])
            new_segment = (segment, {"name": name, "files": None, "deleted": []})
            for local, i in enumerate(order):
                stat, digest = changed[i]
                files[stat.name] = [stat.size, stat.mtime_ns, digest, len(kept), local]

        live = [(s, frozenset(d)) for s, _, d in kept]
        if new_segment is not None:
            live.append((new_segment[0], frozenset()))
        must_merge = merge and (len(live) > 1 or bool(live[0][1])) or _needs_merge(live)
        if must_merge and not (want_index or merge):
            # Recording changes only (refresh): the next load merges, with the arrays at hand.
            must_merge = False
        articles, index = (
            combine(live, self.analyzer, for_writing=must_merge) if want_index or must_merge else ((), None)
        )
        if must_merge:
            log.debug("merging %d index segments into one", len(live))
            name = _segment_name(generation)
            keys = {i: k for s, _ in live for i, k in zip(column_of(s.articles, "id"), s.text_keys)}
            assert index is not None  # combined for writing above
            ids = column_of(articles, "id")
            merged = _as_segment(name, self.folder / name, index, articles, [keys[i] for i in ids])
            by_name = {i + ARTICLE_SUFFIX: n for n, i in enumerate(ids)}
            files = {n: [*r[:3], 0, by_name[n]] for n, r in files.items()}
            new_segment = (merged, {"name": name, "files": None, "deleted": []})
            kept = []
            live = [(merged, frozenset())]

        # Files changed in the last moments cannot be vouched for by their times alone (see
        # `corpus.loader.stat_signature`): they are recorded with their bytes' hash, which the
        # next load checks, and left out of the signature of the others.
        unsettled = {
            stat.name: [stat.size, stat.mtime_ns, (files.get(stat.name) or broken.get(stat.name) or [None] * 3)[2]]
            for stat in listed
            if stat.name in fresh
        }
        signature = _settled_signature(listed, unsettled)
        segment_entries = [{"name": e["name"], "files": e["files"], "deleted": sorted(d)} for _, e, d in kept]
        written = True
        if new_segment is not None:
            segment, entry = new_segment
            written = new_written or self._write_segment(segment, entry)
            segment_entries.append(entry)
        new_manifest = {
            "format": FORMAT_VERSION,
            "code": code_fingerprint(),
            "analyzer": self.analyzer.fingerprint,
            "corpus_dir": str(self.corpus_dir.resolve()),
            "generation": generation,
            "signature": signature,
            "unsettled": unsettled,
            "segments": segment_entries,
            "files_table": manifest["files_table"] if manifest and files == recorded else None,
            "broken": broken,
        }
        if written and new_manifest["files_table"] is None:
            new_manifest["files_table"] = self._write_files_table(files, generation)
            written = new_manifest["files_table"] is not None
        new_manifest["retired"] = _retired(new_manifest, manifest)
        if written and new_manifest != manifest:
            written = self._write_manifest(new_manifest)
        analysed = len(new_articles) + (len(built_on_disk.articles) if built_on_disk is not None else 0)
        if analysed:
            report(progress, BuildProgress(analysed, analysed, analysed_sentences, build_seconds, finished=True))
        return LoadedIndex(
            articles,
            index,  # type: ignore[arg-type]  # None only for refresh(), which does not return it
            _key(new_manifest),
            from_cache=not analysed,
            seconds=time.perf_counter() - started,
            build_seconds=build_seconds,
            analysed_articles=analysed,
            segments=len(live),
            location=self.folder if written else None,
            broken=errors,
        )

    def _can_stream(
        self, listed: list[FileStat], known: dict[str, list[Any]], known_broken: dict[str, list[Any]]
    ) -> bool:
        """Whether enough files are new to build them on disk (see `index.merging`)."""
        new = sum(1 for stat in listed if stat.name not in known and stat.name not in known_broken)
        return new >= STREAMING_FROM_ARTICLES

    def _build_on_disk(
        self, sources: list[Source], name: str, progress: ProgressCallback | None
    ) -> BuiltSegment | None:
        """The new articles built as segment `name`, or None if the cache folder cannot be
        written (then they are built in memory, and answers come from memory)."""
        try:
            private_folder(self.folder)
            with self._pause.lifted():
                return build_segment(sources, self.folder, name, self.analyzer, progress)
        except OSError as exc:
            log.warning("could not build the index in %s (%s); building it in memory", self.folder, exc)
            return None

    @staticmethod
    def _read_sources(
        sources: list[Source], broken: dict[str, list[Any]]
    ) -> tuple[list[tuple[FileStat, str]], list[Article]]:
        """Read and parse here the sources a build on disk would have read (adding the files
        that do not load to `broken`): the (file, sha256) and article of each that does."""
        changed: list[tuple[FileStat, str]] = []
        articles: list[Article] = []
        for source in sources:
            stat, digest = source.stat, source.digest
            article = source.article
            if article is None:
                digest = None
                try:
                    raw = read_article_file(stat)
                    digest = hashlib.sha256(raw).hexdigest()
                    article = parse_article(str(stat.path), raw, article_id=stat.path.stem)
                except CorpusFileError as exc:
                    broken[stat.name] = [stat.size, stat.mtime_ns, digest, exc.line, exc.problem, exc.path]
                    continue
            assert digest is not None  # given with every parsed article
            changed.append((stat, digest))
            articles.append(article)
        return changed, articles

    # -- writing ----------------------------------------------------------------

    def _write_segment(self, segment: Segment, entry: dict[str, Any]) -> bool:
        try:
            entry["files"] = write_segment(
                self.folder, segment.name, segment.index, segment.articles, segment.text_keys
            )
            return True
        except Exception as exc:  # a cache that cannot be written only costs a rebuild next time
            log.warning("could not write the index cache to %s (%s); answering from memory", self.folder, exc)
            return False

    def _write_files_table(self, files: dict[str, list[Any]], generation: int) -> dict[str, Any] | None:
        name = f"files-{generation:06d}-{secrets.token_hex(4)}.json"
        try:
            write_json_atomically(self.folder / name, files)
            return {"name": name, "file": describe(self.folder / name)}
        except Exception as exc:
            log.warning("could not write the index cache to %s (%s); answering from memory", self.folder, exc)
            return None

    def _write_manifest(self, manifest: dict[str, Any]) -> bool:
        try:
            write_json_atomically(self.manifest_path, manifest)
        except Exception as exc:
            log.warning("could not write the index cache to %s (%s); answering from memory", self.folder, exc)
            return False
        return True

    def _tidy_in_background(self) -> threading.Thread | None:
        """Start removing, in a thread, what no reader can still need (see `_unused`); the caller
        holds the update lock (so nothing is being written but its own new files, which do not
        exist yet when the doomed ones are chosen) and joins the thread before letting go."""
        doomed = self._unused()
        if not doomed:
            return None
        thread = threading.Thread(target=_remove_quietly, args=(doomed,), name="qabot-index-tidy", daemon=True)
        thread.start()
        return thread

    def _unused(self) -> list[Path]:
        """What the index folder holds that the current manifest names neither as its own nor as
        retired (named by the manifest before it: a process that read that one a moment ago may
        be opening its files): older segments and tables, crashed writers' temporary folders,
        and the pickle files of the old cache format, which are never read. Nothing when the
        manifest is unusable or says nothing of what it retired (then nothing is known to be dead)."""
        manifest = self.read_manifest(quiet=True)
        retired = manifest.get("retired") if manifest is not None else None
        if manifest is None or not isinstance(retired, list) or not all(isinstance(n, str) for n in retired):
            return []
        wanted = set(_named(manifest)) | set(retired)
        now = time.time()
        doomed: list[Path] = []
        try:
            for path in self.folder.iterdir():
                if path.name.startswith("seg-") and path.name not in wanted and path.is_dir():
                    doomed.append(path)
                elif path.name.startswith("files-") and path.name not in wanted:
                    doomed.append(path)
                elif path.name.startswith(".") and path.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        if now - path.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                            doomed.append(path)
            doomed.extend(self.cache_dir.glob("index-*.pickle"))
            doomed.extend(self.cache_dir.glob("index-*.manifest"))
        except OSError:
            pass  # tidying up is never worth failing over
        return doomed


def _named(manifest: dict[str, Any]) -> list[str]:
    """The segment folders and the files table a manifest names."""
    table = (manifest.get("files_table") or {}).get("name")
    return [e["name"] for e in manifest["segments"]] + ([table] if table else [])


def _retired(manifest: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """What `manifest` no longer names of what `previous` named: kept on disk until the update
    after it (see `_Store._unused`). When it retires nothing new, the previous one's retired
    names stay retired (kept longer, never shorter)."""
    if previous is None:
        return []
    named = set(_named(manifest))
    dropped = sorted(name for name in _named(previous) if name not in named)
    kept = previous.get("retired")
    return dropped or (kept if isinstance(kept, list) else [])


def _remove_quietly(paths: Sequence[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _as_segment(
    name: str, folder: Path, index: SentenceIndex, articles: Sequence[Article], text_keys: Sequence[str | None]
) -> Segment:
    """A segment about to be written (its index in memory)."""
    counts = np.bincount(index.article, minlength=len(articles)).tolist() if len(articles) else []
    return Segment(
        name=name, folder=folder, index=index, articles=articles, sentences=tuple(counts),
        text_keys=tuple(text_keys),
    )


def _needs_merge(live: Sequence[tuple[Segment, frozenset[int]]]) -> bool:
    """Too many segments, or too much deleted: time to merge them into one."""
    total = sum(sum(s.sentences) for s, _ in live)
    deleted = sum(sum(s.sentences[d] for d in dead) for s, dead in live)
    return len(live) > MAX_SEGMENTS or (len(live) > 1 and deleted > MAX_DELETED_SHARE * max(total, 1))


def _settled_signature(listed: Sequence[FileStat], unsettled: Collection[str]) -> str | None:
    """The names, sizes and times of the entries not in `unsettled`, hashed (None if one of them
    changed in the last moments)."""
    return signature_of([stat for stat in listed if stat.name not in unsettled])


def _listing_matches(listed: Sequence[FileStat], fresh: frozenset[str], manifest: dict[str, Any]) -> bool:
    """Whether the listed folder is exactly the one the manifest's index was built from: every
    entry by its name, size and time, and those that were fresh when the index was written
    (and any fresh now) also by their bytes' SHA-256, read again here (a handful of files)."""
    unsettled: dict[str, list[Any]] = manifest["unsettled"]
    if not fresh <= unsettled.keys():
        return False  # a file written since, or rewritten within the same tick: not vouched for
    signature = _settled_signature(listed, unsettled)
    if signature is None or signature != manifest["signature"]:
        return False
    by_name = {stat.name: stat for stat in listed if stat.name in unsettled}
    for name, (size, mtime, digest) in unsettled.items():
        stat = by_name.get(name)
        if stat is None or digest is None or [stat.size, stat.mtime_ns] != [size, mtime]:
            return False
        try:
            if hashlib.sha256(read_article_file(stat)).hexdigest() != digest:
                return False
        except CorpusFileError:
            return False
    return True


def _folder_matches(corpus_dir: Path, manifest: dict[str, Any]) -> bool:
    try:
        listed = list_article_files(corpus_dir)
    except CorpusError:
        return False
    return _listing_matches(listed, fresh_names(listed), manifest)


def _unloaded(manifest: dict[str, Any], started: float, folder: Path) -> LoadedIndex:
    """What `refresh` learns when the index is already current."""
    return LoadedIndex(
        (), None, _key(manifest), True, time.perf_counter() - started,  # type: ignore[arg-type]
        segments=len(manifest["segments"]), location=folder, broken=_errors(manifest["broken"]),
    )


def _errors(broken: dict[str, list[Any]]) -> tuple[CorpusFileError, ...]:
    """The broken files' errors (file, line, problem), in name order."""
    return tuple(CorpusFileError(r[5], r[3], r[4]) for _, r in sorted(broken.items()))


def _segment_name(generation: int) -> str:
    return f"seg-{generation:06d}-{secrets.token_hex(4)}"


def _key(manifest: dict[str, Any]) -> str:
    identity = [(e["name"], sorted(e["deleted"])) for e in manifest["segments"]]
    text = f"{identity}|{manifest['analyzer']}|{manifest['code']}|{CHECKSUM}"
    return hashlib.sha256(text.encode()).hexdigest()


