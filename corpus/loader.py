"""Loading a folder of article files, with a fingerprint of their bytes.

Failure behaviour: a missing folder, or one with no article file, is a CorpusError.
One broken article never stops loading: a file that cannot be read (too large, no
permission, a folder named like an article) or does not parse (bad header, bad date,
not UTF-8, empty) is set aside as a CorpusFileError naming the file, the line and the
problem, and every other article loads. Files are only ever read here, never changed.
Only when no article at all loads is it a CorpusError.
"""

from __future__ import annotations

import hashlib
import operator
import os
import stat as stat_module
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Mapping, NamedTuple, Sequence

from corpus.article import Article
from corpus.errors import CorpusError
from corpus.fileformat import CorpusFileError, parse_article

ARTICLE_SUFFIX = ".md"
MAX_FILE_BYTES = 5 * 1024 * 1024
FRESH_SECONDS = 2


@dataclass(frozen=True)
class Corpus:
    articles: tuple[Article, ...]
    fingerprint: str
    """SHA-256 over every file's name and bytes: changes whenever any article changes."""
    folder: Path
    broken: tuple[CorpusFileError, ...] = ()
    """Files that did not load, in name order; their articles are left out, nothing else."""


@dataclass(frozen=True)
class CorpusFiles:
    """What reading the folder found: each readable article file's bytes, and the unreadable ones."""

    files: list[tuple[Path, bytes]]
    """Readable files, sorted by name (whether they parse is not known yet)."""
    unreadable: tuple[CorpusFileError, ...] = ()
    """Entries named like an article that could not be read at all."""

    @property
    def fingerprint(self) -> str:
        """Changes whenever any file changes, a broken one included (so fixing it is noticed)."""
        return fingerprint_files(
            [(path.name, raw) for path, raw in self.files]
            + [(Path(error.path).name, b"\0unreadable\0" + error.problem.encode()) for error in self.unreadable]
        )


@dataclass(frozen=True)
class ParsedFiles:
    articles: tuple[Article, ...]
    broken: tuple[CorpusFileError, ...]
    """Every file set aside, unreadable or unparsable, in name order."""


def article_paths(folder: Path) -> list[Path]:
    """The article files in `folder`, sorted by name."""
    return [Path(entry.path) for entry in _article_entries(folder) if _is_file(entry)]


def _article_entries(folder: Path | str) -> list[os.DirEntry[str]]:
    """Every entry named like an article (`*.md`), files or not, sorted by name."""
    # os.scandir and plain name sorting: with tens of thousands of articles, Path.glob and
    # sorting Path objects took seconds of every start.
    with os.scandir(folder) as entries:
        found = [e for e in entries if e.name.endswith(ARTICLE_SUFFIX)]
    found.sort(key=_NAME)
    return found


_NAME = operator.attrgetter("name")


def _existing_article_entries(folder: Path) -> list[os.DirEntry[str]]:
    """`_article_entries`, raising CorpusError when the folder is missing or holds no such entry."""
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder of articles (check QABOT_CORPUS_DIR)")
    entries = _article_entries(folder)
    if not entries:
        raise CorpusError(f"{folder}: no article files (*{ARTICLE_SUFFIX}) found")
    return entries


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def stat_signature(folder: Path | str) -> str | None:
    """A cheap signature of the article files' names, sizes and modification times.

    Equal signatures mean (short of deliberate tampering with file times) equal files,
    so a cache can be trusted without reading a large corpus. None if unreadable, or if
    a file changed in the last FRESH_SECONDS: file times move in ticks of a few
    milliseconds, so a same-size rewrite within one tick would otherwise look unchanged.
    """
    look = folder_look(folder)
    return None if look is None or look.fresh else look.signature


@dataclass(frozen=True)
class FolderLook:
    """The article entries' names, kinds, sizes and modification times, hashed."""

    signature: str
    fresh: bool
    """Some entry changed in the last FRESH_SECONDS: an equal signature does not prove equal bytes."""


def folder_look(folder: Path | str) -> FolderLook | None:
    """A cheap look at the folder (no file is read); None if it cannot be listed."""
    try:
        listed = _stat_entries(str(folder), _article_entries(folder))
    except OSError:
        return None
    return FolderLook(listing_digest(listed), bool(fresh_names(listed)))


def listing_digest(listed: Sequence[FileStat]) -> str:
    """SHA-256 of the entries' names, kinds, sizes and modification times, in the listing's order:
    equal digests mean equal listings. Hashed column by column (names joined, the numbers as
    64-bit integers) rather than a line made per entry: 20,000 entries in ~3 ms instead of ~30,
    and a one-shot `qabot ask` or `qabot add` hashes a listing once or twice."""
    digest = hashlib.sha256()
    if listed:
        _, names, sizes, mtimes, kinds = zip(*listed)
        # A name never holds NUL, so the joined names split one way only; an undecodable
        # byte in a name (kept by os.scandir as a lone surrogate) is hashed as that byte.
        digest.update("\0".join(names).encode("utf-8", "surrogateescape"))
        digest.update(b"\0" + array("q", sizes).tobytes() + array("q", mtimes).tobytes() + bytes(kinds))
    return digest.hexdigest()


def fingerprint_files(named_bytes: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, raw in sorted(named_bytes):
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()


class FileDigests:
    """Fingerprints a folder as `CorpusFiles.fingerprint` does, reading only what changed: each
    article file's SHA-256 is remembered with the size and modification time it had, and read
    again only when either differs, or when it changed in the last FRESH_SECONDS (a same-size
    rewrite within one time tick keeps its time). Not thread-safe: one user at a time."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, int, bytes]] = {}

    def remember(self, known: Mapping[str, tuple[int, int, bytes]]) -> None:
        """Take each file's (size, modification time, SHA-256) as already read, for the files not
        yet seen (an index records them as it reads the files: a watcher that starts from the
        index's record need not read every file once to fingerprint the folder)."""
        for name, entry in known.items():
            self._known.setdefault(name, entry)

    def fingerprint(self, folder: Path | str) -> str:
        """Raises CorpusError when the folder is missing or holds no article entry."""
        return self.fingerprint_listed(list_folder(folder))

    def fingerprint_listed(self, listing: FolderListing) -> str:
        """`fingerprint` of the folder as `listing` saw it (a file fresh then is read again)."""
        known: dict[str, tuple[int, int, bytes]] = {}
        named: list[tuple[str, bytes]] = []
        for stat in listing.files:
            problem: str | None = None
            if not stat.is_file:
                problem = "is a folder, not an article file"
            elif stat.size > MAX_FILE_BYTES:
                problem = f"file is {stat.size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
            else:
                old = self._known.get(stat.name)
                try:
                    if old is not None and old[:2] == (stat.size, stat.mtime_ns) and stat.name not in listing.fresh:
                        digest = old[2]
                    else:
                        digest = hashlib.sha256(stat.path.read_bytes()).digest()
                    known[stat.name] = (stat.size, stat.mtime_ns, digest)
                except OSError as exc:  # gone since the listing, a dangling link, no permission
                    problem = f"cannot be read: {exc.strerror or exc}"
            if problem is not None:  # as read_corpus_files lists it, and fingerprint_files hashes it
                digest = hashlib.sha256(b"\0unreadable\0" + problem.encode()).digest()
            named.append((stat.name, digest))
        self._known = known
        combined = hashlib.sha256()
        for name, digest in sorted(named):
            combined.update(name.encode("utf-8") + b"\0")
            combined.update(digest)
        return combined.hexdigest()


def read_corpus_files(folder: Path | str) -> CorpusFiles:
    """The bytes of every article file in `folder`, sorted by name, and the entries that cannot be read.

    Raises CorpusError when the folder is missing or holds no article entry. A file too
    large or unreadable, or a folder named like an article, is listed in `unreadable`.
    """
    folder = Path(folder)
    entries = _existing_article_entries(folder)
    files: list[tuple[Path, bytes]] = []
    unreadable: list[CorpusFileError] = []
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir():
                unreadable.append(CorpusFileError(str(path), None, "is a folder, not an article file"))
                continue
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                unreadable.append(
                    CorpusFileError(str(path), None, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
                )
                continue
            files.append((path, path.read_bytes()))
        except OSError as exc:
            unreadable.append(CorpusFileError(str(path), None, f"cannot be read: {exc.strerror or exc}"))
    return CorpusFiles(files, tuple(unreadable))


def fingerprint_of(files: CorpusFiles) -> str:
    return files.fingerprint


def parse_each(files: CorpusFiles) -> ParsedFiles:
    """Parse every readable file; a file that does not parse is set aside, the others load. Never raises."""
    articles: list[Article] = []
    broken: list[CorpusFileError] = list(files.unreadable)
    for path, raw in files.files:
        try:
            articles.append(parse_article(str(path), raw, article_id=path.stem))
        except CorpusFileError as exc:
            broken.append(exc)
    broken.sort(key=lambda error: Path(error.path).name)
    return ParsedFiles(tuple(articles), tuple(broken))


def parse_files(files: CorpusFiles) -> ParsedFiles:
    """`parse_each`, for loading: raises CorpusError when not one article loads (naming the first broken file)."""
    parsed = parse_each(files)
    if not parsed.articles:
        count = len(parsed.broken)
        raise CorpusError(
            f"none of the {count:,} article file{'s' if count != 1 else ''} loads; the first: {parsed.broken[0]}"
        )
    return parsed


def load_corpus(folder: Path | str) -> Corpus:
    """Read and validate every article in `folder`; broken files are set aside in `broken`.

    Raises CorpusError when the folder is missing, holds no article, or none loads.
    """
    files = read_corpus_files(folder)
    parsed = parse_files(files)
    return Corpus(articles=parsed.articles, fingerprint=files.fingerprint, folder=Path(folder), broken=parsed.broken)


SHOWN_BROKEN_FILES = 10
"""A report names at most this many broken files; `qabot list` shows them all."""


def broken_file_lines(broken: tuple[CorpusFileError, ...], limit: int = SHOWN_BROKEN_FILES) -> list[str]:
    """One line per broken file (file, line, problem), at most `limit` and a count of the rest."""
    lines = [f"skipped a broken article (the others answer; fix it and it is read again): {error}"
             for error in broken[:limit]]
    if len(broken) > limit:
        lines.append(f"… and {len(broken) - limit:,} more broken article files (`qabot list` names them all)")
    return lines


class FileStat(NamedTuple):
    """One entry named like an article, as listed: its size and modification time (ns).
    (A NamedTuple: a listing makes one per article file, and a frozen dataclass took several
    times as long to make.)"""

    folder: str
    name: str
    size: int
    mtime_ns: int
    is_file: bool
    """False for a folder (or anything else) named like an article: broken, never read."""

    @property
    def path(self) -> Path:
        return Path(self.folder, self.name)  # made on demand: 20,000 Path objects take a second

    @property
    def fresh(self) -> bool:
        """Changed in the last FRESH_SECONDS: its size and time cannot vouch for its bytes (see
        `stat_signature`)."""
        return time.time_ns() - self.mtime_ns < FRESH_SECONDS * 1_000_000_000


def check_corpus_folder(folder: Path | str) -> None:
    """Raise CorpusError unless `folder` exists and holds an entry named like an article.

    Cheap at any size (it stops at the first such entry): a bot checks this before it starts
    serving, and reads the articles afterwards."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder of articles (check QABOT_CORPUS_DIR)")
    with os.scandir(folder) as entries:
        if not any(entry.name.endswith(ARTICLE_SUFFIX) for entry in entries):
            raise CorpusError(f"{folder}: no article files (*{ARTICLE_SUFFIX}) found")


def list_article_files(folder: Path | str) -> list[FileStat]:
    """The entries named like an article in `folder`, with sizes and times, sorted by name;
    no file is read. A dangling link is listed with size and time -1 (it cannot be read).

    Raises CorpusError when the folder is missing or holds no article entry.
    """
    if not os.path.isdir(folder):
        raise CorpusError(f"{folder}: no such folder of articles (check QABOT_CORPUS_DIR)")
    found = _stat_entries(str(folder), _article_entries(folder))
    if not found:
        raise CorpusError(f"{folder}: no article files (*{ARTICLE_SUFFIX}) found")
    return found


def _stat_entries(where: str, entries: list[os.DirEntry[str]]) -> list[FileStat]:
    """Each entry's size, time and kind (one stat each: what a listing costs at 20,000 files).
    A dangling link, or one we may not look at, gets size and time -1; an entry gone since it
    was listed is left out."""
    found: list[FileStat] = []
    append, new, is_regular = found.append, tuple.__new__, stat_module.S_ISREG  # ~20,000 calls
    for entry in entries:
        try:
            info = entry.stat()
        except OSError:
            if os.path.lexists(entry.path):
                found.append(FileStat(where, entry.name, -1, -1, True))
            continue
        # tuple.__new__: a NamedTuple's own __new__ is a Python function, a third of this loop.
        append(new(FileStat, (where, entry.name, info.st_size, info.st_mtime_ns, is_regular(info.st_mode))))
    return found


def read_article_file(stat: FileStat) -> bytes:
    """One article file's bytes. Raises CorpusFileError (as `read_corpus_files` would list it)
    if it is a folder, too large or unreadable."""
    path = stat.path
    if not stat.is_file:
        raise CorpusFileError(str(path), None, "is a folder, not an article file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusFileError(str(path), None, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
        return path.read_bytes()
    except OSError as exc:
        raise CorpusFileError(str(path), None, f"cannot be read: {exc.strerror or exc}") from None


def fresh_names(listed: list[FileStat]) -> frozenset[str]:
    """The names of the listed entries changed in the last FRESH_SECONDS (see `FileStat.fresh`),
    as of one moment."""
    cutoff = time.time_ns() - FRESH_SECONDS * 1_000_000_000
    return frozenset(stat.name for stat in listed if stat.mtime_ns > cutoff)


def signature_of(listed: list[FileStat]) -> str | None:
    """`stat_signature` of a folder from its listing (`list_article_files`), without looking again."""
    fresh_after = time.time_ns() - FRESH_SECONDS * 1_000_000_000
    if listed and max(stat.mtime_ns for stat in listed) > fresh_after:
        return None
    return listing_digest(listed)


@dataclass(frozen=True)
class FolderListing:
    """The article entries of a corpus folder as seen at one moment (`list_folder`): what an
    update goes by. A listing some time old is still safe to update with: the index records
    the sizes and times listed, so a change made since does not match them, and the next
    load updates the index again."""

    files: list[FileStat]
    """Sorted by name."""
    fresh: frozenset[str]
    """The entries changed in the FRESH_SECONDS before they were listed: their sizes and times
    do not vouch for their bytes (`fresh_names`), so they are hashed."""


def list_folder(corpus_dir: Path | str) -> FolderListing:
    """The folder's article entries now. Raises CorpusError when it is missing or holds none."""
    listed = list_article_files(corpus_dir)
    return FolderListing(listed, fresh_names(listed))


def with_files_now(listing: FolderListing, paths: Collection[Path]) -> FolderListing:
    """`listing` with each file at `paths` as it is now: looked at again (and fresh, see
    `FolderListing.fresh`) if it is there, left out if it is gone. What the folder holds after
    `qabot add` or `qabot remove` changed those files, without listing it again."""
    present = []
    gone = set()
    for path in paths:
        try:
            info = path.stat()
        except FileNotFoundError:
            gone.add(path.name)
            continue
        present.append(FileStat(str(path.parent), path.name, info.st_size, info.st_mtime_ns, stat_module.S_ISREG(info.st_mode)))
    names = {stat.name for stat in present} | gone
    files = sorted([*(s for s in listing.files if s.name not in names), *present], key=lambda stat: stat.name)
    return FolderListing(files, (listing.fresh - gone) | {stat.name for stat in present})


def look_of(listing: FolderListing) -> FolderLook:
    """What `folder_look` sees, from a listing already taken (no second look at the folder)."""
    return FolderLook(listing_digest(listing.files), bool(listing.fresh))
