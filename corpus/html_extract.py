"""A web page's article: its main text and metadata, through trafilatura.

trafilatura drops navigation, comments and page furniture and reads title,
author and date from the page's metadata. The article's own address is read
here rather than from trafilatura, on purpose: trafilatura 2.x falls back to the
address the page was fetched from (and to a `<base href>`, which is the site,
not the article) and prefers og:url to the canonical link; the corpus stores
the canonical URL or nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml.html import HtmlElement

from corpus.draft import MIN_WORDS, ArticleDraft
from corpus.errors import ExtractError
from corpus.web_address import is_web_address

BULLET = re.compile(r"^[-*•]\s+")
HOST_NAME = re.compile(r"^(www\.)?[\w-]+(\.[\w-]+)+$")


def extract_html(html: bytes | str, fetched_from: str | None = None) -> ArticleDraft:
    """The article in an HTML page. `fetched_from` resolves a relative canonical link only."""
    tree = trafilatura.load_html(html)
    if tree is None:
        raise ExtractError("the file is not an HTML page (or it is empty)")
    canonical, where = canonical_url(tree, fetched_from)
    document = trafilatura.bare_extraction(
        tree,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
        # Only dates the page states in its metadata or markup, not ones found by
        # scanning its text for anything date-like.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = getattr(document, "text", None) or ""
    title = _clean(getattr(document, "title", None))
    paragraphs = _paragraphs(text, title)
    words = sum(len(p.split()) for p in paragraphs)
    if words < MIN_WORDS:
        found = f"only {words} word{'s' if words != 1 else ''} of text" if words else "no article text"
        raise ExtractError(f"{found} found in the page; is it an article (and not a login or cookie page)?")
    provenance = ["text and metadata by trafilatura"]
    if canonical:
        provenance.append(f"url from {where}")
    return ArticleDraft(
        paragraphs=paragraphs,
        title=title,
        publisher=_publisher(getattr(document, "sitename", None)),
        author=_clean(getattr(document, "author", None)),
        published=_date(getattr(document, "date", None)),
        url=canonical,
        provenance=tuple(provenance),
    )


def canonical_url(tree: HtmlElement, fetched_from: str | None = None) -> tuple[str | None, str]:
    """The page's own address: `<link rel="canonical">`, else `og:url`; (None, '') when it names none."""
    for href in tree.xpath('//link[@href][contains(concat(" ", normalize-space(@rel), " "), " canonical ")]/@href'):
        url = _absolute(href, fetched_from)
        if url:
            return url, 'the page\'s <link rel="canonical">'
    for content in tree.xpath('//meta[@property="og:url" or @name="og:url"]/@content'):
        url = _absolute(content, fetched_from)
        if url:
            return url, "the page's og:url"
    return None, ""


def _absolute(href: str, base: str | None) -> str | None:
    href = href.strip()
    if not href:
        return None
    url = urljoin(base, href) if base else href
    if not is_web_address(url):
        return None
    return urlsplit(url)._replace(fragment="").geturl()


def _paragraphs(text: str, title: str | None) -> tuple[str, ...]:
    lines = [" ".join(BULLET.sub("", line).split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    # trafilatura keeps the headline as the first line; it is the title, not a sentence of the article.
    if lines and title and _same(lines[0], title):
        lines = lines[1:]
    return tuple(lines)


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _clean(value: str | None) -> str | None:
    value = " ".join(value.split()) if value else ""
    return value or None


def _publisher(sitename: str | None) -> str | None:
    """The site's name, unless it is only a link or a host name (which trafilatura falls back to)."""
    name = _clean(sitename)
    if not name or "://" in name or HOST_NAME.match(name):
        return None
    return name


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
