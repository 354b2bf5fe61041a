"""Loading a folder of article files, all validated, with a fingerprint of their bytes."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from corpus.article import Article
from corpus.fileformat import CorpusFileError, parse_article

ARTICLE_SUFFIX = ".md"
MAX_FILE_BYTES = 5 * 1024 * 1024
FRESH_SECONDS = 2


class CorpusError(ValueError):
    """The corpus folder cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Corpus:
    articles: tuple[Article, ...]
    fingerprint: str
    """SHA-256 over every file's name and bytes: changes whenever any article changes."""
    folder: Path


def article_paths(folder: Path) -> list[Path]:
    """The article files in `folder`, sorted by name."""
    return [Path(entry.path) for entry in _article_entries(folder)]


def _article_entries(folder: Path | str) -> list[os.DirEntry[str]]:
    # os.scandir and plain name sorting: with tens of thousands of articles, Path.glob and
    # sorting Path objects took seconds of every start.
    with os.scandir(folder) as entries:
        found = [e for e in entries if e.name.endswith(ARTICLE_SUFFIX) and e.is_file()]
    found.sort(key=lambda entry: entry.name)
    return found


def stat_signature(folder: Path | str) -> str | None:
    """A cheap signature of the article files' names, sizes and modification times.

    Equal signatures mean (short of deliberate tampering with file times) equal files,
    so a cache can be trusted without reading a large corpus. None if unreadable, or if
    a file changed in the last FRESH_SECONDS: file times move in ticks of a few
    milliseconds, so a same-size rewrite within one tick would otherwise look unchanged.
    """
    digest = hashlib.sha256()
    now = time.time_ns()
    try:
        for entry in _article_entries(folder):
            info = entry.stat()
            if now - info.st_mtime_ns < FRESH_SECONDS * 1_000_000_000:
                return None
            digest.update(f"{entry.name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode("utf-8"))
    except OSError:
        return None
    return digest.hexdigest()


def fingerprint_files(named_bytes: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    for name, raw in sorted(named_bytes):
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(raw).digest())
    return digest.hexdigest()


def read_corpus_files(folder: Path | str) -> list[tuple[Path, bytes]]:
    """The bytes of every article file in `folder`, sorted by name.

    Raises CorpusError when the folder is missing or holds no article, and
    CorpusFileError for a file that is too large or unreadable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder of articles (check QABOT_CORPUS_DIR)")
    paths = article_paths(folder)
    if not paths:
        raise CorpusError(f"{folder}: no article files (*{ARTICLE_SUFFIX}) found")
    files: list[tuple[Path, bytes]] = []
    for path in paths:
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise CorpusFileError(str(path), None, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
            files.append((path, path.read_bytes()))
        except OSError as exc:
            raise CorpusFileError(str(path), None, f"cannot be read: {exc.strerror}") from None
    return files


def fingerprint_of(files: list[tuple[Path, bytes]]) -> str:
    return fingerprint_files([(path.name, raw) for path, raw in files])


def parse_files(files: list[tuple[Path, bytes]]) -> tuple[Article, ...]:
    return tuple(parse_article(str(path), raw, article_id=path.stem) for path, raw in files)


def load_corpus(folder: Path | str) -> Corpus:
    """Read and validate every article in `folder`.

    Raises CorpusFileError (file, line, problem) for a broken file and CorpusError
    when the folder is missing or holds no article.
    """
    files = read_corpus_files(folder)
    return Corpus(articles=parse_files(files), fingerprint=fingerprint_of(files), folder=Path(folder))


@dataclass(frozen=True)
class FileStat:
    """One article file as listed: its name, size and modification time (ns)."""

    path: Path
    size: int
    mtime_ns: int

    @property
    def fresh(self) -> bool:
        """Changed in the last FRESH_SECONDS: its size and time cannot vouch for its bytes (see
        `stat_signature`)."""
        return time.time_ns() - self.mtime_ns < FRESH_SECONDS * 1_000_000_000


def list_article_files(folder: Path | str) -> list[FileStat]:
    """The article files in `folder` with their sizes and times, sorted by name, reading none.

    Raises CorpusError when the folder is missing or holds no article.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder of articles (check QABOT_CORPUS_DIR)")
    found = []
    for entry in _article_entries(folder):
        try:
            info = entry.stat()
        except OSError:
            continue  # removed while listing: it is not there
        found.append(FileStat(Path(entry.path), info.st_size, info.st_mtime_ns))
    if not found:
        raise CorpusError(f"{folder}: no article files (*{ARTICLE_SUFFIX}) found")
    return found


def read_article_file(path: Path) -> bytes:
    """One article file's bytes. Raises CorpusFileError if it is too large or unreadable."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CorpusFileError(str(path), None, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
        return path.read_bytes()
    except OSError as exc:
        raise CorpusFileError(str(path), None, f"cannot be read: {exc.strerror}") from None
