"""`qabot add`: one source (a web address, a saved HTML page, a Markdown or text file) in,
one new validated article file in the corpus folder out, or a clear error and no change.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

from corpus.article import Article
from corpus.draft import ArticleDraft
from corpus.errors import DuplicateArticleError, ExtractError, FetchError, IngestError, TextFileError
from corpus.fetch import FetchLimits, check_web_address
from corpus.fileformat import MAX_FIELD_CHARS
from corpus.loader import ARTICLE_SUFFIX
from corpus.store import (
    KnownArticle,
    StoreError,
    check_article_id,
    find_duplicate,
    find_duplicate_among,
    read_folder,
    suggest_id,
    validated_file,
    write_new_file,
)
from corpus.text_extract import extract_text_file

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml"})
WEB_PREFIXES = ("http://", "https://")


@dataclass(frozen=True)
class MetadataFlags:
    """Metadata given on the command line. None: not given; '': given empty, i.e. unknown."""

    title: str | None = None
    publisher: str | None = None
    author: str | None = None
    published: str | None = None
    url: str | None = None
    article_id: str | None = None


NO_FLAGS = MetadataFlags()
DEFAULT_LIMITS = FetchLimits()


@dataclass(frozen=True)
class AddedArticle:
    article: Article
    path: Path
    words: int


def add_article(
    source: str,
    folder: Path,
    flags: MetadataFlags = NO_FLAGS,
    limits: FetchLimits = DEFAULT_LIMITS,
    today: dt.date | None = None,
    known: Callable[[], Sequence[KnownArticle] | None] | None = None,
) -> AddedArticle:
    """Read `source`, make it an article, refuse duplicates, and write it into `folder`.

    `known`, if given, lists the folder's articles with their text keys (an index's metadata,
    read without opening every file); when it gives None, every file is read and compared."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"{folder}: no such folder of articles (check QABOT_CORPUS_DIR)")
    draft, origin = read_source(source, limits)
    draft = apply_flags(draft, flags)
    listed = known() if known is not None else None
    contents = read_folder(folder) if listed is None else None
    try:
        article_id = (
            check_article_id(flags.article_id)
            if flags.article_id
            else suggest_id(folder, draft.publisher, draft.title or " ".join(draft.paragraphs[:1]))
        )
        note = _note(draft, origin, flags, today or dt.date.today())
        article = _normalized(draft.to_article(article_id, note))
        duplicate = (
            find_duplicate(article, contents.articles) if contents is not None else find_duplicate_among(article, listed or (), folder)
        )
        if duplicate:
            raise DuplicateArticleError(
                f"not added: {duplicate.existing.path.name} already has {duplicate.reason} "
                f"(“{duplicate.existing.article.label}”)"
            )
        path = folder / f"{article_id}{ARTICLE_SUFFIX}"
        raw = validated_file(article, path)
        write_new_file(path, raw)
    except (StoreError, OSError) as exc:
        raise IngestError(f"not added: {exc}") from None
    return AddedArticle(article, path, sum(len(p.split()) for p in article.paragraphs))


def read_source(source: str, limits: FetchLimits) -> tuple[ArticleDraft, str]:
    """The draft article in `source`, and a short description of where it came from."""
    try:
        if source.lower().startswith(WEB_PREFIXES):
            # Here, not at the top: the HTTP client and trafilatura (with lxml) took about a
            # second of every `qabot add`, and a Markdown or text file needs neither.
            from corpus.fetch import fetch_page
            from corpus.html_extract import extract_html

            page = fetch_page(source, limits)
            html: bytes | str = page.body
            if page.charset:
                try:
                    html = page.body.decode(page.charset)
                except (LookupError, UnicodeDecodeError):
                    html = page.body  # a wrong charset label: let the extractor detect it
            return extract_html(html, fetched_from=page.final_url), f"fetched from {_without_query(page.final_url)}"
        path = Path(source).expanduser()
        if not path.is_file():
            hint = "; a web address must start with http:// or https://" if "://" in source or "." in path.name else ""
            raise IngestError(f"{source}: no such file{hint}")
        raw = path.read_bytes()
        if _is_html(path, raw):
            from corpus.html_extract import extract_html

            return extract_html(raw), f"from the saved page {path.name}"
        return extract_text_file(path, raw), f"from the file {path.name}"
    except (FetchError, ExtractError, TextFileError) as exc:
        raise IngestError(f"not added: {exc}") from None
    except OSError as exc:
        raise IngestError(f"not added: {source}: cannot be read ({exc.strerror})") from None


def apply_flags(draft: ArticleDraft, flags: MetadataFlags) -> ArticleDraft:
    """The draft with the command line's metadata in place of the source's."""
    published = draft.published
    if flags.published is not None:
        published = _date_flag(flags.published)
    url = draft.url
    if flags.url is not None:
        url = _url_flag(flags.url)
    return replace(
        draft,
        title=_text_flag(flags.title, draft.title),
        publisher=_text_flag(flags.publisher, draft.publisher),
        author=_text_flag(flags.author, draft.author),
        published=published,
        url=url,
    )


def _text_flag(flag: str | None, found: str | None) -> str | None:
    if flag is None:
        return found
    return " ".join(flag.split()) or None


def _date_flag(text: str) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise IngestError(f"--published {text!r}: use YYYY-MM-DD, or '' for unknown") from None


def _url_flag(text: str) -> str | None:
    if not text.strip():
        return None
    try:
        return check_web_address(text.strip())
    except FetchError as exc:
        raise IngestError(f"--url: {exc}") from None


def _without_query(url: str) -> str:
    """The address without its query: that can hold a session or access token, which has no place
    in an article file."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _is_html(path: Path, raw: bytes) -> bool:
    if path.suffix.lower() in HTML_SUFFIXES:
        return True
    head = raw[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _note(draft: ArticleDraft, origin: str, flags: MetadataFlags, today: dt.date) -> str:
    given = [name for name in ("title", "publisher", "author", "published", "url") if getattr(flags, name) is not None]
    parts = [f"added with qabot add on {today.isoformat()}, {origin}", *draft.provenance]
    if given:
        parts.append("set on the command line: " + ", ".join(given))
    note = "; ".join(parts)
    return note if len(note) <= MAX_FIELD_CHARS else note[: MAX_FIELD_CHARS - 1] + "…"


def _normalized(article: Article) -> Article:
    """NFC text and single spaces, as the file reader returns them, so the file reads back equal."""

    def clean(value: str | None) -> str | None:
        if value is None:
            return None
        return unicodedata.normalize("NFC", " ".join(value.split())) or None

    return replace(
        article,
        paragraphs=tuple(p for p in (unicodedata.normalize("NFC", " ".join(p.split())) for p in article.paragraphs) if p),
        title=clean(article.title),
        publisher=clean(article.publisher),
        author=clean(article.author),
        url=clean(article.url),
        note=clean(article.note),
    )
