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


@dataclass
class LocalSite:
    base_url: str
    pages: dict[str, Page] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

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
        try:
            self.send_response(page.status)
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
