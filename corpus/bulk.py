"""`qabot add` of several sources at once: files, folders of saved pages and web addresses.

Each source is added on its own through `corpus.ingest.add_article` (extraction, canonical URL,
duplicates refused, atomic write), so one that fails changes nothing and never stops the others.
A folder stands for the article files in it (saved pages, Markdown and text files, searched in
sub-folders too, hidden ones left out), in name order.

Failure behaviour: never raises for a source; every source gets one `SourceOutcome`
(added, duplicate, or failed with the one-line reason).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from corpus.errors import DuplicateArticleError, IngestError
from corpus.fetch import FetchLimits
from corpus.ingest import (
    DEFAULT_LIMITS,
    HTML_SUFFIXES,
    NO_FLAGS,
    WEB_PREFIXES,
    AddedArticle,
    MetadataFlags,
    add_article,
)

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text"})
SOURCE_SUFFIXES = HTML_SUFFIXES | TEXT_SUFFIXES
"""The files a folder's sources are made of; anything else in it (images, JSON) is not an article."""


class Status(enum.Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass(frozen=True)
class SourceOutcome:
    source: str
    status: Status
    detail: str
    """The new file's name when added; otherwise why not, in one line."""
    added: AddedArticle | None = None

    def line(self) -> str:
        """What `qabot add` prints for this source."""
        return f"{self.status.value}: {self.source}: {self.detail}"


def expand_sources(sources: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """(source, None) for each file or web address, and for each file a folder holds; a folder with
    no article file in it comes out as (folder, why)."""
    for source in sources:
        path = Path(source).expanduser()
        if source.lower().startswith(WEB_PREFIXES) or not path.is_dir():
            yield source, None
            continue
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in SOURCE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            yield source, f"no saved pages or text files ({', '.join(sorted(SOURCE_SUFFIXES))}) in this folder"
        for file in files:
            yield str(file), None


def add_sources(
    sources: Iterable[str],
    folder: Path,
    flags: MetadataFlags = NO_FLAGS,
    limits: FetchLimits = DEFAULT_LIMITS,
    add: Callable[[str, Path, MetadataFlags, FetchLimits], AddedArticle] = add_article,
) -> Iterator[SourceOutcome]:
    """Add every source (folders expanded), one outcome each, as each is done."""
    for source, problem in expand_sources(sources):
        if problem is not None:
            yield SourceOutcome(source, Status.FAILED, problem)
            continue
        try:
            added = add(source, folder, flags, limits)
        except DuplicateArticleError as exc:
            yield SourceOutcome(source, Status.DUPLICATE, _reason(exc))
        except IngestError as exc:
            yield SourceOutcome(source, Status.FAILED, _reason(exc))
        else:
            yield SourceOutcome(source, Status.ADDED, added.path.name, added)


def _reason(exc: Exception) -> str:
    # The line already says the source was not added; the reason alone follows it.
    return str(exc).removeprefix("not added: ")
