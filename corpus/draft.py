"""What an extractor found in a source, before it becomes an article file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from corpus.article import Article

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

    @classmethod
    def from_article(cls, article: Article) -> "ArticleDraft":
        """An article file read back as a draft: its note is where its metadata came from."""
        return cls(
            paragraphs=article.paragraphs,
            title=article.title,
            publisher=article.publisher,
            author=article.author,
            published=article.published,
            url=article.url,
            provenance=(article.note,) if article.note else (),
        )

    def to_article(self, article_id: str, note: str | None) -> Article:
        """The article this draft becomes, stored as `article_id` with `note` saying where it came from."""
        return Article(
            article_id=article_id,
            paragraphs=self.paragraphs,
            title=self.title,
            publisher=self.publisher,
            author=self.author,
            published=self.published,
            url=self.url,
            note=note,
        )
