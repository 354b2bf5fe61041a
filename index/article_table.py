"""The articles' metadata as the index stores it: one list per field, an `Article` made when asked for.

A segment's `articles.json` holds, for each field, one list with a value per article (a
column), which parses several times faster than one JSON object per article; and `Article`
objects are made one at a time, the first time a passage cites one or a reply lists it, so a
start from the cache does not make 20,000 of them (it took about 0.35 s). Code that needs one
field of every article (every publisher, every date) reads its column.

What is kept of an article's text: for an article without title or publisher, the first words
of its first paragraph, as many as its label uses (`Article.label` names it by its first
`LABEL_WORDS` words); nothing for the others. The whole text lives in the index's sentences.
So `Article.paragraphs` of an article from the table is those words alone, or empty.

Failure behaviour: `ArticleTable.from_json` raises `StoreDamaged` for anything that is not a
table of this shape (a missing column, columns of unequal length, a value of the wrong type, a
bad date); after that no access raises.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterator, Mapping, Sequence, overload

from corpus import Article
from corpus.article import LABEL_WORDS
from index.store_files import StoreDamaged

COLUMNS = ("id", "title", "publisher", "author", "published", "url", "note", "label_words")
"""Each article's fields, in the order of `Article`'s; `label_words` stands for its paragraphs,
`published` is the date's proleptic Gregorian ordinal (`date.toordinal`: a number needs no
parsing at each start, and any number in range is a date)."""
_TEXT_OR_NONE = frozenset(COLUMNS) - {"id", "published"}
_LAST_DAY = dt.date.max.toordinal()


def label_words(article: Article) -> str | None:
    """As much of the first paragraph as `Article.label` can use: one word more than it shows,
    so it knows to add "…"; None when the label is the title or publisher (most articles)."""
    if not article.paragraphs or article.title or article.publisher:
        return None
    return " ".join(article.paragraphs[0].split()[: LABEL_WORDS + 1])


class ArticleTable(Sequence[Article]):
    """Articles as columns (see the module docstring); safe to share between threads (a race
    only makes one Article twice)."""

    def __init__(self, columns: Mapping[str, list[Any]]) -> None:
        self._columns = {name: columns[name] for name in COLUMNS}
        self._made: list[Article | None] = [None] * len(self._columns["id"])
        self._dates: tuple[dt.date | None, ...] | None = None

    @classmethod
    def from_articles(cls, articles: Sequence[Article]) -> "ArticleTable":
        if isinstance(articles, ArticleTable):
            return articles
        return cls(
            {
                "id": [a.article_id for a in articles],
                "title": [a.title for a in articles],
                "publisher": [a.publisher for a in articles],
                "author": [a.author for a in articles],
                "published": [a.published.toordinal() if a.published else None for a in articles],
                "url": [a.url for a in articles],
                "note": [a.note for a in articles],
                "label_words": [label_words(a) for a in articles],
            }
        )

    @classmethod
    def from_json(cls, value: Any, where: object) -> "ArticleTable":
        """The table in `value` (as `to_json` wrote it); StoreDamaged naming `where` if it is not one."""
        if not isinstance(value, dict):
            raise StoreDamaged(f"{where}: the articles are not a table")
        count = None
        for name in COLUMNS:
            column = value.get(name)
            if not isinstance(column, list) or (count is not None and len(column) != count):
                raise StoreDamaged(f"{where}: the articles' {name!r} column is missing or of another length")
            count = len(column)
            allowed = {int, type(None)} if name == "published" else {str, type(None)} if name in _TEXT_OR_NONE else {str}
            if not set(map(type, column)) <= allowed:  # exact types, in C: it runs at every start
                raise StoreDamaged(f"{where}: a value of the articles' {name!r} column is of the wrong type")
        days = [d for d in value["published"] if d is not None]
        if days and not (1 <= min(days) and max(days) <= _LAST_DAY):  # so reading an article never raises
            raise StoreDamaged(f"{where}: a published date out of range")
        return cls(value)

    def to_json(self) -> dict[str, list[Any]]:
        return {name: list(values) for name, values in self._columns.items()}

    def column(self, name: str) -> Sequence[Any]:
        """One field of every article, in the table's order (published: a date's ordinal, or None)."""
        return self._columns[name]

    def published_dates(self) -> tuple[dt.date | None, ...]:
        """Each article's published date (None: unknown), in the table's order."""
        if self._dates is None:
            from_ordinal = dt.date.fromordinal
            self._dates = tuple(from_ordinal(p) if p is not None else None for p in self._columns["published"])
        return self._dates

    def __len__(self) -> int:
        return len(self._made)

    @overload
    def __getitem__(self, i: int) -> Article: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Article]: ...

    def __getitem__(self, i: int | slice) -> Article | Sequence[Article]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        made = self._made[i]
        if made is None:
            c = self._columns
            words = c["label_words"][i]
            made = self._made[i] = Article(
                article_id=c["id"][i],
                paragraphs=(words,) if words else (),
                title=c["title"][i],
                publisher=c["publisher"][i],
                author=c["author"][i],
                published=dt.date.fromordinal(c["published"][i]) if c["published"][i] is not None else None,
                url=c["url"][i],
                note=c["note"][i],
            )
        return made

    def __iter__(self) -> Iterator[Article]:
        return (self[i] for i in range(len(self)))


def gathered(parts: Sequence[tuple[ArticleTable, list[int] | None]], order: Sequence[int]) -> ArticleTable:
    """A new table of some rows of several tables: each part's rows (`None`: all of them) laid
    end to end, then taken in `order` (places in that run). Column by column: no Article is made."""
    # Where each place of the run lies in the tables' whole columns laid end to end, worked out
    # once for all columns; then each column is one gather in C (a Python loop per column and
    # part took 0.05-0.1 s of each load of several segments at 20,000 articles).
    where: list[int] = []
    offset = 0
    for table, rows in parts:
        where.extend(range(offset, offset + len(table)) if rows is None else [offset + i for i in rows])
        offset += len(table)
    places = list(map(where.__getitem__, order))
    columns: dict[str, list[Any]] = {}
    for name in COLUMNS:
        whole: list[Any] = []
        for table, _ in parts:
            whole.extend(table.column(name))
        columns[name] = list(map(whole.__getitem__, places))
    return ArticleTable(columns)


def column_of(articles: Sequence[Article], name: str) -> Sequence[Any]:
    """One field of every article: the table's column when it is one, else read article by
    article (`published` as a date's ordinal or None, as in the table)."""
    if isinstance(articles, ArticleTable):
        return articles.column(name)
    table = ArticleTable.from_articles(articles)
    return table.column(name)


def published_dates(articles: Sequence[Article]) -> tuple[dt.date | None, ...]:
    """Each article's published date, without making every Article of a table."""
    if isinstance(articles, ArticleTable):
        return articles.published_dates()
    return tuple(a.published for a in articles)
