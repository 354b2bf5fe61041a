"""What the corpus holds, for `qabot list`: read from the index's own metadata, not rebuilt.

Each cached index has a small JSON file of article metadata beside it: every
article's ID, label, title, publisher, date, link and sentence count, and the
broken files left out. `corpus_listing` reads it when the index is current:
from the files' names, sizes and times alone (the cache's fast path), nothing
else is read, so listing 20,000 articles costs a directory scan and one small
JSON file. When the files changed since (or no index was built), the files are
parsed and listed as they are, and the sentence counts are None: counting them
would mean building the index, which `qabot index` does.

Failure: a missing, damaged or mismatched metadata file is not an error; the
listing falls back to the files (and says the counts are unknown). Raises
CorpusError only when the folder is missing or holds no article file. Files are
only read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from corpus import Article, CorpusFileError, parse_each, read_corpus_files
from index.analysis import Analyzer

LISTING_SUFFIX = ".articles.json"


@dataclass(frozen=True)
class ListedArticle:
    article_id: str
    label: str
    title: str | None
    publisher: str | None
    published: dt.date | None
    url: str | None
    sentences: int | None
    """None when the index is not current for the files (not counted)."""


@dataclass(frozen=True)
class CorpusListing:
    folder: Path
    articles: tuple[ListedArticle, ...]
    """In file-name order."""
    broken: tuple[CorpusFileError, ...]
    counted: bool
    """The sentence counts come from an index built from exactly these files."""

    @property
    def sentences(self) -> int | None:
        return sum(a.sentences or 0 for a in self.articles) if self.counted else None

    def newest(self) -> ListedArticle | None:
        dated = [a for a in self.articles if a.published]
        return max(dated, key=lambda a: (a.published, a.article_id)) if dated else None

    def oldest(self) -> ListedArticle | None:
        dated = [a for a in self.articles if a.published]
        return min(dated, key=lambda a: (a.published, a.article_id)) if dated else None


def listing_path(index_path: Path) -> Path:
    """The metadata file that goes with the cached index at `index_path`."""
    return index_path.with_name(index_path.name.split(".")[0] + LISTING_SUFFIX)


def write_listing(
    path: Path,
    key: str,
    articles: Sequence[Article],
    sentences: Sequence[int],
    broken: Sequence[CorpusFileError],
) -> None:
    """Write the metadata of an index built under `key` (atomically). Raises OSError."""
    record = {
        "key": key,
        "articles": [
            {
                "id": a.article_id,
                "label": a.label,
                "title": a.title,
                "publisher": a.publisher,
                "published": a.published.isoformat() if a.published else None,
                "url": a.url,
                "sentences": int(count),
            }
            for a, count in zip(articles, sentences, strict=True)
        ],
        "broken": [[e.path, e.line, e.problem] for e in broken],
    }
    fd, temporary = tempfile.mkstemp(prefix=".listing-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_listing(path: Path, key: str, folder: Path) -> CorpusListing | None:
    """The metadata written for `key`, or None if missing, damaged or of another index."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("key") != key:
            return None
        articles = tuple(_listed(row) for row in record["articles"])
        broken = tuple(CorpusFileError(str(p), None if line is None else int(line), str(problem))
                       for p, line, problem in record["broken"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return CorpusListing(Path(folder), articles, broken, counted=True)


def _listed(row: dict[str, Any]) -> ListedArticle:
    published = row["published"]
    return ListedArticle(
        article_id=str(row["id"]),
        label=str(row["label"]),
        title=row["title"],
        publisher=row["publisher"],
        published=dt.date.fromisoformat(published) if published else None,
        url=row["url"],
        sentences=int(row["sentences"]),
    )


def corpus_listing(corpus_dir: Path, cache_dir: Path, analyzer: Analyzer) -> CorpusListing:
    """The articles in `corpus_dir` as they are now, with sentence counts when the index is current."""
    from index.cache import cache_key, cache_path, current_key  # index.cache writes listings: imported late

    folder = Path(corpus_dir)
    known = current_key(folder, cache_dir, analyzer)
    if known is not None:
        listed = read_listing(listing_path(cache_path(cache_dir, folder, known)), known, folder)
        if listed is not None:
            return listed
    files = read_corpus_files(folder)
    key = cache_key(files.fingerprint, analyzer)
    listed = read_listing(listing_path(cache_path(cache_dir, folder, key)), key, folder)
    if listed is not None:
        return listed
    parsed = parse_each(files)
    articles = tuple(
        ListedArticle(a.article_id, a.label, a.title, a.publisher, a.published, a.url, None)
        for a in parsed.articles
    )
    return CorpusListing(folder, articles, parsed.broken, counted=False)
