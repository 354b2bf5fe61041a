"""Changing the corpus folder: adding an article file atomically, finding duplicates, removing one.

A running bot reloads the folder when it changes, so a file must never be
seen half-written: new files are written beside their final name under a name
the loader ignores (it reads only `*.md`), synced, and renamed into place.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from corpus.article import Article
from corpus.errors import StoreError
from corpus.fileformat import CorpusFileError, parse_article, render_article
from corpus.loader import (
    ARTICLE_SUFFIX,
    MAX_FILE_BYTES,
    CorpusError,
    article_paths,
    read_corpus_files,
)

ARTICLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ID_WORDS_CHARS = 60
TRACKING_PARAMETERS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid)$", re.IGNORECASE)


@dataclass(frozen=True)
class StoredArticle:
    article: Article
    path: Path


@dataclass(frozen=True)
class FolderContents:
    articles: tuple[StoredArticle, ...]
    broken: tuple[CorpusFileError, ...]
    """Files that do not parse; listed, never silently dropped."""


@dataclass(frozen=True)
class Duplicate:
    existing: StoredArticle
    reason: str
    """'the same URL' or 'the same text'."""


def read_folder(folder: Path) -> FolderContents:
    """Every article file in `folder`, parsed; broken files are reported beside the good ones.

    A missing or empty folder holds nothing (no error); the files are only read.
    """
    try:
        files = read_corpus_files(folder)
    except CorpusError:
        return FolderContents((), ())
    articles: list[StoredArticle] = []
    broken: list[CorpusFileError] = list(files.unreadable)
    for path, raw in files.files:
        try:
            articles.append(StoredArticle(parse_article(str(path), raw, article_id=path.stem), path))
        except CorpusFileError as exc:
            broken.append(exc)
    broken.sort(key=lambda error: Path(error.path).name)
    return FolderContents(tuple(articles), tuple(broken))


def comparable_url(url: str) -> str:
    """A URL reduced to what identifies the page: no scheme, www., fragment, tracking or trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port and parts.port not in (80, 443) else ""
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not TRACKING_PARAMETERS.match(k)))
    return urlunsplit(("", host + port, parts.path.rstrip("/"), query, ""))


_ASCII_WORD_CHARS = bytes(c + 32 if 65 <= c <= 90 else c if chr(c).isalnum() and c < 128 or c == 95 else 32 for c in range(256))
"""For bytes.translate of ASCII text: a letter -> its lower case, a digit or "_" kept (what \\w
matches in ASCII), anything else -> a space."""


def comparable_text(article: Article) -> str:
    """The article's words only: the same text with other quotes, spacing or case compares equal."""
    text = article.text
    if text.isascii():
        # NFKC keeps ASCII as it is and casefold is lower(): the words are the runs of \w
        # characters, which bytes.translate and split find ten times faster than the pattern.
        return " ".join(text.encode("ascii").translate(_ASCII_WORD_CHARS).decode("ascii").split())
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def text_key(article: Article) -> str:
    """A short fingerprint of `comparable_text`: what an index keeps to find the same text again."""
    return hashlib.sha256(comparable_text(article).encode("utf-8")).hexdigest()[:32]


class KnownArticle(NamedTuple):
    """An article already in the folder, as the duplicate check needs it: its URL and text key
    (from the index's metadata, without reading the file). A NamedTuple: a folder has
    tens of thousands."""

    article_id: str
    url: str | None
    text_key: str
    label: str


def find_duplicate_among(article: Article, known: Sequence[KnownArticle], folder: Path) -> Duplicate | None:
    """`find_duplicate` against articles known by their URL and text key (an index's record,
    which may be older than the folder): each one that matches is confirmed by reading its
    file as it is now, so an article removed or rewritten since it was recorded is no duplicate."""
    url = comparable_url(article.url) if article.url else None
    key = text_key(article)
    # Lazily, URL matches first: the search stops at the first match its file confirms.
    matching = itertools.chain(
        (entry for entry in known if url and entry.url and comparable_url(entry.url) == url),
        (entry for entry in known if entry.text_key == key),
    )
    for entry in matching:
        path = folder / f"{entry.article_id}{ARTICLE_SUFFIX}"
        try:
            stored = StoredArticle(parse_article(str(path), path.read_bytes(), article_id=entry.article_id), path)
        except (OSError, CorpusFileError):
            continue  # gone, unreadable or broken since it was recorded: not an article to match
        duplicate = find_duplicate(article, (stored,))
        if duplicate is not None:
            return duplicate
    return None


def find_duplicate(article: Article, existing: tuple[StoredArticle, ...]) -> Duplicate | None:
    url = comparable_url(article.url) if article.url else None
    text = comparable_text(article)
    for stored in existing:
        if url and stored.article.url and comparable_url(stored.article.url) == url:
            return Duplicate(stored, "the same URL")
    for stored in existing:
        if comparable_text(stored.article) == text:
            return Duplicate(stored, "the same text")
    return None


def check_article_id(article_id: str) -> str:
    article_id = article_id.removesuffix(ARTICLE_SUFFIX)
    if not ARTICLE_ID.match(article_id):
        raise StoreError(
            f"{article_id!r} is not a usable article ID; use letters, digits, '-', '_' and '.', "
            "starting with a letter or digit"
        )
    return article_id


def suggest_id(folder: Path, *parts: str | None) -> str:
    """A readable file name from the publisher and title (or first words), unused in `folder`."""
    words: list[str] = []
    for part in parts:
        if not part:
            continue
        ascii_text = unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
        words += re.findall(r"[a-z0-9]+", ascii_text.lower())
    base = ""
    for word in words:
        if len(base) + len(word) + 1 > ID_WORDS_CHARS:
            break
        base = f"{base}-{word}" if base else word
    base = base or "article"
    candidate, number = base, 2
    while (folder / f"{candidate}{ARTICLE_SUFFIX}").exists():
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def validated_file(article: Article, path: Path) -> bytes:
    """The file bytes for `article`, proven to read back as the same article."""
    raw = render_article(article).encode("utf-8")
    if len(raw) > MAX_FILE_BYTES:
        raise StoreError(f"the article is {len(raw):,} bytes; the corpus limit is {MAX_FILE_BYTES:,}")
    try:
        parsed = parse_article(str(path), raw, article_id=article.article_id)
    except CorpusFileError as exc:
        raise StoreError(f"the new article file would be invalid: {exc}") from None
    if parsed != article:
        raise StoreError("the new article file would not read back as the same article; nothing was written")
    return raw


def write_new_file(path: Path, raw: bytes) -> None:
    """Create `path` with `raw`, all at once: readers see no file or the whole file."""
    if path.exists():
        raise StoreError(f"{path} already exists; choose another --id")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes 0600; an article is no secret, and the bot may run as another user
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def copy_articles(source: Path, target: Path) -> int:
    """Copy every article file of `source` into the new folder `target`, all at once: the files go
    into a hidden folder beside it, which is renamed into place, so `target` never exists half-full
    (and a reader seeing it knows it is whole). Returns how many files were copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        count = 0
        for path in article_paths(source):
            (temp / path.name).write_bytes(path.read_bytes())
            os.chmod(temp / path.name, 0o644)
            count += 1
        os.chmod(temp, 0o755)  # mkdtemp makes 0700; articles are no secret, and a bot may run as another user
        os.rename(temp, target)  # fails if another process made `target` meanwhile: theirs is kept
    except BaseException:
        for leftover in temp.glob("*"):
            leftover.unlink(missing_ok=True)
        temp.rmdir()
        raise
    _sync_folder(target.parent)
    return count


def remove_file(folder: Path, article_id: str) -> StoredArticle | Path:
    """Delete one article file; returns what it held (or just its path, when it did not parse)."""
    article_id = check_article_id(article_id)
    path = folder / f"{article_id}{ARTICLE_SUFFIX}"
    if not path.is_file():
        known = ", ".join(p.stem for p in article_paths(folder)[:10]) if folder.is_dir() else ""
        raise StoreError(f"no article {article_id!r} in {folder}" + (f" (some IDs: {known})" if known else ""))
    if not _another_article(folder, path.name):
        raise StoreError(f"{article_id!r} is the only article in {folder}; the bot needs at least one")
    try:
        removed: StoredArticle | Path = StoredArticle(parse_article(str(path), path.read_bytes(), article_id), path)
    except CorpusFileError:
        removed = path  # a broken file can still be removed
    path.unlink()
    _sync_folder(folder)
    return removed


def _another_article(folder: Path, name: str) -> bool:
    """Whether `folder` holds an article file besides `name`: it stops at the first one (listing
    all 20,000 to count them took 30 ms of each `qabot remove`)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name != name and entry.name.endswith(ARTICLE_SUFFIX):
                try:
                    if entry.is_file():
                        return True
                except OSError:
                    continue
    return False


def _sync_folder(folder: Path) -> None:
    """Make the rename or deletion itself durable (POSIX); harmless where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
