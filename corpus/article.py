"""The article value: text plus what is known of its source."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

LABEL_WORDS = 8


@dataclass(frozen=True)
class Article:
    """One article. Unknown metadata is None; nothing is ever guessed."""

    article_id: str
    paragraphs: tuple[str, ...]
    title: str | None = None
    publisher: str | None = None
    author: str | None = None
    published: dt.date | None = None
    url: str | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        """How to name the article: its title, else its publisher, else its first words."""
        if self.title:
            return self.title
        if self.publisher:
            return self.publisher
        words = " ".join(self.paragraphs[:1]).split()
        head = " ".join(words[:LABEL_WORDS])
        return head + ("…" if len(words) > LABEL_WORDS else "")

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)
