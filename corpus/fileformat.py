"""Reading and writing one article file, with errors that name the file and line.

The format, chosen so a person can read and edit it in any text editor:

    ---
    title: Amazon's Ring ends deal with surveillance firm after backlash
    publisher: BBC News
    author: Kali Hays
    published: 2026-02-13
    url: https://www.bbc.com/news/articles/cwy8dxz1g7zo
    note: where the metadata came from
    ---

    First paragraph of the article.

    Second paragraph; a paragraph may span several lines.

A field left empty (or left out) is unknown. Lines starting with '#' in the
header are comments.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

from corpus.article import Article
from corpus.errors import CorpusFileError
from corpus.web_address import is_web_address

FENCE = "---"
FIELDS = ("title", "publisher", "author", "published", "url", "note")
MAX_FIELD_CHARS = 2000


def _decode(path: str, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusFileError(
            path, line, f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):  # a byte-order mark some editors add
        text = text[1:]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise CorpusFileError(path, line, "contains a NUL byte; is this a text file?")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_value(path: str, line: int, name: str, value: str) -> object:
    if len(value) > MAX_FIELD_CHARS:
        raise CorpusFileError(path, line, f"'{name}' is longer than {MAX_FIELD_CHARS} characters")
    if name == "published":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise CorpusFileError(
                path, line, f"bad date {value!r} for 'published'; use YYYY-MM-DD or leave it empty"
            ) from None
    if name == "url":
        if not is_web_address(value):
            raise CorpusFileError(
                path, line, f"bad URL {value!r}; use an http(s) address or leave it empty"
            )
    return value


def parse_article(path: str, raw: bytes, article_id: str) -> Article:
    """Parse one article file. Raises CorpusFileError with the file and line on any problem."""
    text = _decode(path, raw)
    lines = text.split("\n")
    if not lines or lines[0].strip() != FENCE:
        raise CorpusFileError(path, 1, f"the file must start with a '{FENCE}' header line")
    meta: dict[str, object] = {}
    end = None
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if stripped == FENCE:
            end = number
            break
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name or " " in name:
            raise CorpusFileError(
                path, number, f"bad header line {line.strip()[:60]!r}; expected 'field: value'"
                f" (or is the closing '{FENCE}' line missing?)"
            )
        if name not in FIELDS:
            raise CorpusFileError(
                path, number, f"unknown field {name!r}; known fields: {', '.join(FIELDS)}"
            )
        if name in meta:
            raise CorpusFileError(path, number, f"field {name!r} is given twice")
        value = unicodedata.normalize("NFC", value.strip())
        meta[name] = _parse_value(path, number, name, value) if value else None
    if end is None:
        last_line = len(text.rstrip("\n").split("\n"))
        raise CorpusFileError(path, last_line, f"the header is never closed with a '{FENCE}' line")
    paragraphs = _paragraphs("\n".join(lines[end:]))
    if not paragraphs:
        raise CorpusFileError(path, end + 1, "the article has no text after the header")
    return Article(article_id=article_id, paragraphs=paragraphs, **meta)  # type: ignore[arg-type]


def _paragraphs(body: str) -> tuple[str, ...]:
    """Blank lines separate paragraphs; the lines of one paragraph are joined by spaces."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in body.split("\n"):
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return tuple(unicodedata.normalize("NFC", p) for p in paragraphs)


def render_article(article: Article) -> str:
    """The file text for an article; `parse_article` reads it back to an equal Article."""
    out = [FENCE]
    for name in FIELDS:
        value = getattr(article, name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        value = " ".join(str(value).split()) if value else ""
        out.append(f"{name}: {value}" if value else f"{name}:")
    out.append(FENCE)
    for paragraph in article.paragraphs:
        out.append("")
        out.append(paragraph)
    return "\n".join(out) + "\n"
