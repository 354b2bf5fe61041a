"""A small web site on 127.0.0.1 for the `qabot add` tests: pages, slow pages, huge pages, errors."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Page:
    body: bytes
    content_type: str | None = "text/html; charset=utf-8"
    status: int = 200
    delay_seconds: float = 0.0
    """Wait this long before answering at all."""
    drip_seconds: float = 0.0
    """Send the body in small pieces, this long apart."""
    declared_length: int | None = None
    """Content-Length to announce instead of the real one; None announces none (body until close)."""
    announce_length: bool = True
    redirect_to: str | None = None
    etag: str | None = None
    """Sent as ETag; a request with the same If-None-Match is answered 304 Not Modified."""
    last_modified: str | None = None
    """Sent as Last-Modified; a request with the same If-Modified-Since is answered 304."""


@dataclass
class LocalSite:
    base_url: str
    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    answers: list[tuple[str, int]] = field(default_factory=list)
    """(path, status) of every answer sent, in order."""

    def url(self, path: str) -> str:
        return self.base_url + path


def article_html(
    *,
    title: str = "Flock Safety expands drone program",
    canonical: str | None = "https://tribune.example/2026/02/20/flock-drones",
    og_url: str | None = None,
    site_name: str | None = "Example Tribune",
    author: str | None = "Maria Lopez",
    published: str | None = "2026-02-20T08:00:00Z",
    paragraphs: tuple[str, ...] = (
        "Flock Safety said on Friday that it will expand its drone program to forty more cities by "
        "the end of the year, a week after Ring cancelled their planned integration.",
        "The company's chief executive, Garrett Langley, said the drones respond to emergency calls "
        "within ninety seconds and are operated by trained pilots.",
        "Civil liberties groups criticised the expansion, saying the drones could be used to track "
        "residents without a warrant.",
    ),
) -> bytes:
    """A news page as sites make them: navigation, the article, reader comments, a footer."""
    head = [f"<title>{title} | Example Tribune</title>"]
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    if og_url:
        head.append(f'<meta property="og:url" content="{og_url}">')
    if site_name:
        head.append(f'<meta property="og:site_name" content="{site_name}">')
    if author:
        head.append(f'<meta name="author" content="{author}">')
    if published:
        head.append(f'<meta property="article:published_time" content="{published}">')
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">{''.join(head)}</head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/login">Subscribe now</a></li></ul></nav>
<article><h1>{title}</h1>
{body}</article>
<section class="comments"><h2>Comments</h2>
<p>Reader123 wrote: Great, more surveillance in our neighbourhood. Just what everybody needed this year.</p>
</section>
<footer>Copyright 2026 Example Tribune. All rights reserved. Privacy policy. Cookie settings.</footer>
</body></html>""".encode()


def news_article(number: int, topic: str = "Flock") -> bytes:
    """A distinct article page (its own title, canonical link, date and sentences) for feed tests."""
    return article_html(
        title=f"{topic} story part {number}",
        canonical=f"https://news.example/{topic.lower()}/{number}",
        published=f"2026-02-{10 + number:02d}T09:00:00Z",
        paragraphs=(
            f"Part {number} of the {topic} story: the city council of Town{number} voted {number} times on "
            f"whether to keep its licence plate cameras, and residents filled the hall each evening.",
            f"Officials in Town{number} said the cameras cost {number * 1000} dollars a year and that a decision "
            "on the contract will come before the summer recess, after a public hearing.",
        ),
    )


def rss_feed(site: "LocalSite", items: list[tuple[str, str]], title: str = "Local news") -> bytes:
    """An RSS 2.0 feed of (path, title) items on `site`."""
    entries = "".join(
        f"<item><title>{t}</title><link>{site.url(path)}</link><description>About {t}</description></item>"
        for path, t in items
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>{site.base_url}</link>{entries}</channel></rss>").encode()


def atom_feed(site: "LocalSite", items: list[tuple[str, str]]) -> bytes:
    """An Atom feed of (path, title) items on `site`."""
    entries = "".join(
        f'<entry><title>{t}</title><link href="{site.url(path)}"/><id>{site.url(path)}</id>'
        f"<updated>2026-02-20T00:00:00Z</updated><summary>About {t}</summary></entry>"
        for path, t in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Wire</title><id>{site.base_url}/atom</id><updated>2026-02-20T00:00:00Z</updated>"
            f"{entries}</feed>").encode()


def sitemap(site: "LocalSite", paths: list[str]) -> bytes:
    """A sitemap (urlset) of `paths` on `site`."""
    urls = "".join(f"<url><loc>{site.url(path)}</loc></url>" for path in paths)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>").encode()


LOGIN_WALL = b"""<!doctype html><html><head><title>Sign in</title></head>
<body><nav><a href="/">Home</a></nav><form><p>Please log in.</p><input name="user"></form></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    site: LocalSite

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.site.requests.append(self.path)
        page = self.site.pages.get(self.path)
        if page is None:
            page = Page(b"<html><body><p>Not found</p></body></html>", status=404)
        time.sleep(page.delay_seconds)
        status = page.status
        if (page.etag and self.headers.get("If-None-Match") == page.etag) or (
            page.last_modified and self.headers.get("If-Modified-Since") == page.last_modified
        ):
            status = 304
        self.site.answers.append((self.path, status))
        try:
            self.send_response(status)
            if page.etag:
                self.send_header("ETag", page.etag)
            if page.last_modified:
                self.send_header("Last-Modified", page.last_modified)
            if status == 304:
                self.end_headers()
                return
            if page.redirect_to:
                self.send_header("Location", page.redirect_to)
            if page.content_type:
                self.send_header("Content-Type", page.content_type)
            if page.announce_length:
                length = page.declared_length if page.declared_length is not None else len(page.body)
                self.send_header("Content-Length", str(length))
            self.end_headers()
            if page.drip_seconds:
                for start in range(0, len(page.body), 64):
                    self.wfile.write(page.body[start : start + 64])
                    self.wfile.flush()
                    time.sleep(page.drip_seconds)
            else:
                self.wfile.write(page.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (too slow, too large)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@contextlib.contextmanager
def local_site() -> Iterator[LocalSite]:
    """Serve `site.pages` on 127.0.0.1 on a free port for the duration of the block."""
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    site = LocalSite(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    handler.site = site  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
