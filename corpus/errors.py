"""Every error the corpus package raises, under one base shared with the bot (`bot.errors`).

    QabotError                 anything qabot refuses to do; str() is one line for a person
     +-- CorpusError           the corpus folder cannot be used
     |    +-- CorpusFileError  one article file is broken (names the file, the line, the problem)
     +-- FetchError            a web page could not be fetched
     |    +-- HTTPStatusError  the server answered 4xx or 5xx
     +-- ExtractError          no article could be read from a page
     +-- TextFileError         a Markdown or text file cannot be read as an article
     +-- IngestError           `qabot add` did not add the article (the corpus is unchanged)
     |    +-- DuplicateArticleError  the corpus already has it
     +-- StoreError            the corpus folder cannot be changed as asked

The base lives here, in the lowest layer, because corpus must not import the bot; `bot.errors`
re-exports it with the bot's own errors, so callers catch `QabotError` or one branch of it.
"""

from __future__ import annotations

from dataclasses import dataclass


class QabotError(Exception):
    """The base of every error qabot raises on purpose; its message is meant for a person."""


class CorpusError(QabotError, ValueError):
    """The corpus folder cannot be used; the message says which file and why."""


@dataclass
class CorpusFileError(CorpusError):
    """An article file is broken. `str()` names the file, the line and the problem."""

    path: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line else self.path
        return f"{where}: {self.problem}"


class FetchError(QabotError):
    """The page could not be fetched; the message says why in one line."""


class HTTPStatusError(FetchError):
    """The server answered with an error status (`status`: 404, 500, ...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ExtractError(QabotError, ValueError):
    """No article could be read from the page; the message says why."""


class TextFileError(QabotError, ValueError):
    """The file cannot be read as an article; the message names it."""


class IngestError(QabotError):
    """The article was not added; the message says why. The corpus is unchanged."""


class DuplicateArticleError(IngestError):
    """The article is already in the corpus (the same URL or the same text); nothing was added."""


class StoreError(QabotError):
    """The corpus folder cannot be changed as asked; the message says why."""
