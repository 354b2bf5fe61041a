"""What an extractor found in a source, before it becomes an article file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

MIN_WORDS = 30
"""Less text than this is a login wall, a cookie notice or an index page, not an article; a page
and a text file are held to the same minimum."""


@dataclass(frozen=True)
class ArticleDraft:
    """An article's text and what its source says about it. Unknown metadata is None."""

    paragraphs: tuple[str, ...]
    title: str | None = None
    publisher: str | None = None
    author: str | None = None
    published: dt.date | None = None
    url: str | None = None
    provenance: tuple[str, ...] = field(default=())
    """Where the metadata came from, in a few words each, for the file's `note` field."""
