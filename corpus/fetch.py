"""Downloading one web page for `qabot add`, with a time limit, a size cap and clear errors.

urllib3 does the HTTP: it is what trafilatura itself uses, it follows redirects,
and its `Retry` retries refused connections and "try again later" answers (429,
502, 503, 504) with a backoff. A read that times out is not retried: the admin
asked for one page and should hear about a slow server within the time limit,
not after several of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from corpus.errors import FetchError, HTTPStatusError
from corpus.web_address import is_web_address

# urllib3 is imported where a page is fetched: `qabot add` of a file, and every module that only
# needs `FetchLimits` or `check_web_address`, should not pay for the HTTP client.
if TYPE_CHECKING:
    import urllib3

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
USER_AGENT = "qabot/0.1 (adds a news article to a question-answering bot's corpus)"
CHUNK_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class FetchLimits:
    timeout_seconds: float = 20.0
    """The longest the whole fetch (connecting, waiting, reading) may take."""
    max_bytes: int = 10_000_000
    """Pages larger than this (after decompression) are refused."""
    retries: int = 2


@dataclass(frozen=True)
class FetchedPage:
    requested_url: str
    final_url: str
    """Where the page was really found, after redirects."""
    content_type: str
    charset: str | None
    body: bytes


def check_web_address(url: str) -> str:
    """The URL, if it is one we can fetch; FetchError otherwise."""
    if not is_web_address(url):
        raise FetchError(f"{url!r} is not a valid http(s) web address")
    return url


def fetch_page(url: str, limits: FetchLimits | None = None) -> FetchedPage:
    """Fetch an HTML page. Raises FetchError for a bad URL, an unreachable or slow server,
    an error status, a page that is not HTML, or one larger than `limits.max_bytes`."""
    fetched = fetch(url, limits, accept=HTML_TYPES)
    return FetchedPage(url, fetched.final_url, fetched.content_type or "text/html", fetched.charset, fetched.body)


@dataclass(frozen=True)
class Fetched:
    """Whatever a server sent: a feed, a sitemap, a robots.txt, or nothing new (304)."""

    final_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(
    url: str,
    limits: FetchLimits | None = None,
    *,
    accept: frozenset[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET `url` within the limits. `accept`: the only content types taken (None: any);
    `headers`: extra request headers (If-None-Match, If-Modified-Since). A 304 comes back with
    an empty body; any other status of 400 or more raises FetchError, as do the failures
    `fetch_page` names."""
    import urllib3
    from urllib3.exceptions import HTTPError, LocationParseError, MaxRetryError

    limits = limits or FetchLimits()
    check_web_address(url)
    deadline = time.monotonic() + limits.timeout_seconds
    retry = urllib3.Retry(
        total=limits.retries + 5,  # the redirects below count against the total too
        connect=limits.retries,
        read=0,
        status=limits.retries,
        redirect=5,
        status_forcelist=RETRYABLE_STATUSES,
        backoff_factor=0.5,
        respect_retry_after_header=False,  # a Retry-After of an hour would outlast any time limit
        raise_on_status=False,
    )
    timeout = urllib3.Timeout(connect=min(limits.timeout_seconds, 10.0), read=limits.timeout_seconds)
    with urllib3.PoolManager(retries=retry, timeout=timeout, headers={"User-Agent": USER_AGENT}) as http:
        try:
            response = http.request("GET", url, headers=headers, preload_content=False, decode_content=True)
        except (MaxRetryError, HTTPError, LocationParseError) as exc:
            raise FetchError(_describe_failure(url, exc, limits)) from None
        try:
            return _read_response(url, response, limits, deadline, accept)
        finally:
            response.release_conn()


def _read_response(
    url: str,
    response: urllib3.BaseHTTPResponse,
    limits: FetchLimits,
    deadline: float,
    accept: frozenset[str] | None,
) -> Fetched:
    from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError
    from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

    # urllib3 reports the last address as a path when the host did not change.
    final_url = urljoin(url, response.geturl() or "")
    etag = response.headers.get("ETag") or None
    last_modified = response.headers.get("Last-Modified") or None
    if response.status == 304:
        return Fetched(final_url, 304, "", None, b"", etag, last_modified)
    if response.status >= 400:
        reason = f" {response.reason}" if response.reason else ""
        raise HTTPStatusError(f"{final_url} answered HTTP {response.status}{reason}", response.status)
    content_type, charset = _content_type(response.headers.get("Content-Type", ""))
    if accept is not None and content_type and content_type not in accept:
        raise FetchError(f"{final_url} is not an HTML page (Content-Type: {content_type})")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(_too_large(final_url, limits, f"{int(declared):,} bytes"))
    body = bytearray()
    try:
        # read1: whatever has arrived, so a server dripping bytes meets the deadline
        # (stream() would wait for a whole chunk however long that takes).
        while chunk := response.read1(CHUNK_BYTES):
            body += chunk
            if len(body) > limits.max_bytes:
                raise FetchError(_too_large(final_url, limits, "larger"))
            if time.monotonic() > deadline:
                raise FetchError(_timed_out(final_url, limits))
    except (ReadTimeoutError, Urllib3TimeoutError):
        raise FetchError(_timed_out(final_url, limits)) from None
    except (ProtocolError, HTTPError) as exc:
        raise FetchError(f"{final_url}: the connection broke while reading the page ({_reason(exc)})") from None
    if accept == HTML_TYPES and not content_type and not _looks_like_html(bytes(body[:1024])):
        raise FetchError(f"{final_url} did not say what it sent, and it does not look like an HTML page")
    return Fetched(final_url, response.status, content_type, charset, bytes(body), etag, last_modified)


def _content_type(header: str) -> tuple[str, str | None]:
    if not header.strip():
        return "", None
    message = Message()
    message["Content-Type"] = header
    return message.get_content_type().lower(), message.get_param("charset")  # type: ignore[return-value]


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start


def _too_large(url: str, limits: FetchLimits, size: str) -> str:
    return (
        f"{url} is too large ({size}; the limit is {limits.max_bytes:,} bytes, "
        "set by QABOT_FETCH_MAX_BYTES)"
    )


def _timed_out(url: str, limits: FetchLimits) -> str:
    return (
        f"{url} did not send the page within {limits.timeout_seconds:g} seconds "
        "(QABOT_FETCH_TIMEOUT); try again later, or save the page and add the file"
    )


def _describe_failure(url: str, exc: Exception, limits: FetchLimits) -> str:
    from urllib3.exceptions import (
        LocationParseError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
        ReadTimeoutError,
        SSLError,
    )
    from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

    reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
    host = urlsplit(url).hostname or url
    if isinstance(reason, NameResolutionError):
        return f"cannot find the server {host!r} (no such host name, or no network)"
    # Before the time-outs: urllib3 2.x makes NewConnectionError a subclass of ConnectTimeoutError.
    if isinstance(reason, NewConnectionError):
        return f"cannot connect to {host} ({_reason(reason)})"
    if isinstance(reason, (ReadTimeoutError, Urllib3TimeoutError)):
        return _timed_out(url, limits)
    if isinstance(reason, SSLError):
        return f"{host}: the secure connection failed ({_reason(reason)})"
    if isinstance(exc, MaxRetryError) and "redirect" in str(exc).lower():
        return f"{url} redirects too many times"
    if isinstance(reason, LocationParseError):
        return f"{url!r} is not a valid web address"
    return f"fetching {url} failed ({_reason(reason)})"


def _reason(exc: BaseException) -> str:
    """The last, most specific part of urllib3's nested messages."""
    text = str(exc)
    return text.rsplit(": ", 1)[-1] if ": " in text else text
