"""Reading a feed or a sitemap into the article links it lists.

RSS and Atom go through feedparser, a well-kept library that copes with the many ways sites get
feeds wrong (and, unlike trafilatura's feed finder, takes links to any host); JSON Feed, which
feedparser 6.0 does not read, is a few lines of the json module.
Sitemaps (`<urlset>`, and `<sitemapindex>` naming more sitemaps) are read with lxml, with
entities and network access off, so a hostile file cannot pull in other files or addresses.

Failure behaviour: `read_feed` raises FeedError (one line) for a body that is neither a feed
nor a sitemap; items without a usable http(s) link are skipped, never an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from corpus.errors import QabotError

MAX_LINKS = 1000
"""More items than this in one feed or sitemap are ignored (the first ones are kept): a followed
story adds a few articles a day, and a site's whole archive is not one story."""

SITEMAP_TAG = re.compile(rb"<(?:[\w-]+:)?(urlset|sitemapindex)[\s>]")


class FeedError(QabotError):
    """The body is neither a feed nor a sitemap; the message says what was found."""


@dataclass(frozen=True)
class FeedLink:
    url: str
    title: str = ""
    summary: str = ""

    def mentions(self, words: tuple[str, ...]) -> bool:
        """Whether the title, summary or address names any of `words` (whole words, any case)."""
        if not words:
            return True
        text = " ".join((self.title, self.summary, urlsplit(self.url).path.replace("-", " ").replace("/", " ")))
        found = set(re.findall(r"\w+", text.casefold()))
        return any(word.casefold() in found for word in words)


@dataclass(frozen=True)
class FeedContents:
    kind: str
    """'rss', 'atom', 'json', 'sitemap' or 'sitemap index'."""
    links: tuple[FeedLink, ...]
    sitemaps: tuple[str, ...] = ()
    """For a sitemap index: the sitemaps it names."""


def read_feed(body: bytes, url: str) -> FeedContents:
    """The links in a feed or sitemap fetched from `url` (relative links resolved against it)."""
    head = body[:2048].lstrip()
    if SITEMAP_TAG.search(head) or SITEMAP_TAG.search(body[:20000]):
        return _read_sitemap(body, url)
    return _read_syndication(body, url)


def _read_syndication(body: bytes, url: str) -> FeedContents:
    import feedparser  # loaded only when a feed is read

    if body.lstrip()[:1] == b"{":
        return _read_json_feed(body, url)
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    version = str(parsed.get("version") or "")
    if not version:
        problem = parsed.get("bozo_exception")
        detail = f" ({' '.join(str(problem).split())[:120]})" if problem else ""
        raise FeedError(f"{url} is not an RSS, Atom or JSON feed, nor a sitemap{detail}")
    kind = "json" if version.startswith("json") else "atom" if version.startswith("atom") else "rss"
    links: list[FeedLink] = []
    for entry in parsed.entries[:MAX_LINKS]:
        link = _web_link(url, str(entry.get("link") or entry.get("id") or ""))
        if link:
            links.append(FeedLink(link, _plain(entry.get("title")), _plain(entry.get("summary"))))
    return FeedContents(kind, tuple(links))


def _read_json_feed(body: bytes, url: str) -> FeedContents:
    """JSON Feed (jsonfeed.org, versions 1 and 1.1): a small format, read with the json module
    (feedparser 6.0 does not read it)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"{url} is not an RSS, Atom or JSON feed, nor a sitemap (bad JSON: {exc})") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not str(data.get("version", "") if isinstance(data, dict) else "").startswith("https://jsonfeed.org/") or not isinstance(items, list):
        raise FeedError(f"{url} is JSON but not a JSON Feed (no jsonfeed.org version and items)")
    links: list[FeedLink] = []
    for item in items[:MAX_LINKS]:
        if not isinstance(item, dict):
            continue
        link = _web_link(url, str(item.get("url") or item.get("external_url") or ""))
        if link:
            summary = item.get("summary") or item.get("content_text") or item.get("content_html") or ""
            links.append(FeedLink(link, _plain(item.get("title")), _plain(summary)))
    return FeedContents("json", tuple(links))


def _read_sitemap(body: bytes, url: str) -> FeedContents:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"{url} looks like a sitemap but is not well-formed XML ({exc})") from None
    local = etree.QName(root).localname
    entries = [element for element in root if isinstance(element.tag, str)][:MAX_LINKS]

    def child_text(element: etree._Element, name: str) -> str:
        for child in element.iter():
            if isinstance(child.tag, str) and etree.QName(child).localname == name and child.text:
                return child.text.strip()
        return ""

    if local == "sitemapindex":
        sitemaps = tuple(link for e in entries if (link := _web_link(url, child_text(e, "loc"))))
        return FeedContents("sitemap index", (), sitemaps)
    links = tuple(
        FeedLink(link, child_text(e, "title"))  # news sitemaps give each page's title
        for e in entries
        if (link := _web_link(url, child_text(e, "loc")))
    )
    return FeedContents("sitemap", links)


def _web_link(base: str, link: str) -> str | None:
    link = link.strip()
    if not link:
        return None
    absolute = urljoin(base, link)
    parts = urlsplit(absolute)
    return absolute if parts.scheme in ("http", "https") and parts.hostname else None


def _plain(value: object) -> str:
    """Feed titles and summaries may hold markup: only their words matter here."""
    return " ".join(re.sub(r"<[^>]+>", " ", str(value or "")).split())
