"""Following a story: the followed feeds and sitemaps, what each added, and checking them for new links.

The state is one small JSON file in the corpus folder, `.follow.json` (the corpus reader reads only
`*.md`, so it is never taken for an article), written whole (a temporary file, then a rename), so a
reader sees the old state or the new one. It holds each followed source (its filter, ETag and
Last-Modified, when it was last checked, what it added, its last error and failures in a row) and
every link already handled, so an article is fetched once however many feeds list it, and one the
admin removed is not added again.

A check fetches each source with a conditional request (304: nothing new, nothing read), reads its
links (`corpus.feeds`), keeps those whose title or summary names a `--match` word, and adds each new
link through `corpus.ingest.add_article`, the pipeline of `qabot add` (extraction, canonical URL,
duplicates refused, atomic write), so a running bot's live reload picks it up. Every request goes
through one `PoliteFetcher` (robots.txt, a pause per host, the size and time caps). A link that
failed (the site was down) is tried again on the next checks, up to `MAX_LINK_TRIES` times.

Failure behaviour: a source that fails (unreachable, slow, HTTP error, not a feed) is recorded with
its error, logged once when it starts failing (and once when it recovers), and checked again after a
back-off that doubles with each failure in a row (up to `MAX_BACKOFF_ROUNDS` intervals); it never
stops the other sources. One check round runs at a time per corpus folder (a lock file): a second
one finds the lock taken and checks nothing. A state file that is not valid JSON raises
FollowStateError and is never overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from corpus.errors import DuplicateArticleError, FetchError, IngestError, QabotError
from corpus.feeds import FeedError, FeedLink, read_feed
from corpus.fetch import FetchLimits, check_web_address
from corpus.ingest import add_article
from corpus.polite import PoliteFetcher
from corpus.store import comparable_url

log = logging.getLogger(__name__)

STATE_FILE = ".follow.json"
LOCK_FILE = ".follow.lock"
STATE_VERSION = 1
MAX_LINK_TRIES = 3
MAX_BACKOFF_ROUNDS = 32
MAX_CHILD_SITEMAPS = 20
"""A sitemap index names more sitemaps: at most this many are read (a news site's recent ones)."""


class FollowStateError(QabotError):
    """The follow state cannot be read or changed; the message names the file and why."""


@dataclass
class FollowedSource:
    url: str
    match: list[str] = field(default_factory=list)
    since: str = ""
    last_checked: str | None = None
    last_error: str | None = None
    failures: int = 0
    next_check: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    added: list[str] = field(default_factory=list)
    """The article IDs this source added, oldest first."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FollowedSource":
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass
class LinkRecord:
    outcome: str
    """'added', 'duplicate', 'refused' (robots.txt, not an article) or 'failed' (may be tried again)."""
    source: str
    article: str | None = None
    tries: int = 1
    detail: str = ""


@dataclass
class FollowState:
    sources: dict[str, FollowedSource] = field(default_factory=dict)
    links: dict[str, LinkRecord] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "sources": {url: vars(source) for url, source in self.sources.items()},
            "links": {link: vars(record) for link, record in self.links.items()},
        }


@dataclass(frozen=True)
class CheckReport:
    """What one check of one source did."""

    url: str
    checked: bool = True
    """False: not due yet (backing off, or checked recently)."""
    not_modified: bool = False
    links: int = 0
    added: tuple[str, ...] = ()
    duplicates: int = 0
    failed: tuple[str, ...] = ()
    """'link: why' for each link that could not be added."""
    error: str | None = None

    def line(self) -> str:
        """One line for `qabot follow --now`."""
        if not self.checked:
            return f"{self.url}: not due yet (backing off after failures)"
        if self.error:
            return f"{self.url}: failed: {self.error}"
        if self.not_modified:
            return f"{self.url}: unchanged (HTTP 304)"
        parts = [f"{self.links} link{'s' if self.links != 1 else ''}", f"{len(self.added)} added"]
        if self.duplicates:
            parts.append(f"{self.duplicates} already in the corpus")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return f"{self.url}: " + ", ".join(parts)


def state_path(folder: Path) -> Path:
    return Path(folder) / STATE_FILE


def load_state(folder: Path) -> FollowState:
    """The follow state of the corpus `folder` (empty when nothing is followed yet)."""
    path = state_path(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return FollowState()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FollowStateError(f"{path} cannot be read ({exc}); fix or delete it (it is never overwritten)") from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise FollowStateError(f"{path} is not a follow state this qabot knows (version {data.get('version')!r})")
    return FollowState(
        sources={url: FollowedSource.from_json(s) for url, s in data.get("sources", {}).items()},
        links={link: LinkRecord(**r) for link, r in data.get("links", {}).items()},
    )


def save_state(folder: Path, state: FollowState) -> None:
    """Write the state whole: a temporary file beside it, synced, renamed into place."""
    path = state_path(folder)
    fd, temp_name = tempfile.mkstemp(prefix=".follow.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state.to_json(), handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(folder: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the folder's follow lock for the block; yields False (without the lock) when `wait` is
    False and another check holds it."""
    with open(Path(folder) / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def follow(folder: Path, url: str, match: list[str], now: dt.datetime | None = None) -> tuple[FollowedSource, bool]:
    """Start following `url` (or change its filter). Returns the source and whether it is new."""
    try:
        check_web_address(url)
    except FetchError as exc:
        raise FollowStateError(str(exc)) from None
    with locked(folder):
        state = load_state(folder)
        existing = state.sources.get(url)
        if existing is not None:
            existing.match = match
            save_state(folder, state)
            return existing, False
        source = FollowedSource(url, match=match, since=_stamp(now or _now()))
        state.sources[url] = source
        save_state(folder, state)
        return source, True


def unfollow(folder: Path, url: str) -> FollowedSource:
    """Stop following `url`; the articles it added stay. Raises FollowStateError if not followed."""
    with locked(folder):
        state = load_state(folder)
        source = state.sources.pop(url, None)
        if source is None:
            followed = ", ".join(state.sources) or "nothing is followed"
            raise FollowStateError(f"{url} is not followed ({followed})")
        save_state(folder, state)
        return source


def check_sources(
    folder: Path,
    limits: FetchLimits,
    *,
    interval_seconds: float,
    host_delay: float = 1.0,
    due_only: bool = True,
    now: Callable[[], dt.datetime] | None = None,
) -> list[CheckReport] | None:
    """Check every followed source once (only those due, when `due_only`), adding new links to the
    corpus. None when another check of this folder is running."""
    clock = now or _now
    folder = Path(folder)
    if not state_path(folder).is_file():
        return []  # nothing followed: no lock file either (the folder may be the read-only bundled one)
    with locked(folder, wait=False) as have_lock:
        if not have_lock:
            return None
        state = load_state(folder)
        fetcher = PoliteFetcher(limits, host_delay)
        reports = []
        for url in list(state.sources):
            source = state.sources[url]
            if due_only and source.next_check and source.next_check > _stamp(clock()):
                reports.append(CheckReport(url, checked=False))
                continue
            report = _check_one(folder, state, source, fetcher, limits)
            _record(source, report, clock(), interval_seconds)
            save_state(folder, state)  # after each source: what was added is never forgotten
            reports.append(report)
        return reports


def _check_one(
    folder: Path, state: FollowState, source: FollowedSource, fetcher: PoliteFetcher, limits: FetchLimits
) -> CheckReport:
    try:
        if not fetcher.allowed(source.url):
            raise FetchError(f"robots.txt of {source.url} does not allow qabot to read it")
        headers = {}
        if source.etag:
            headers["If-None-Match"] = source.etag
        if source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
        fetched = fetcher.fetch(source.url, headers=headers)
        if fetched.not_modified:
            return CheckReport(source.url, not_modified=True)
        contents = read_feed(fetched.body, fetched.final_url)
        links = list(contents.links)
        for sitemap in contents.sitemaps[:MAX_CHILD_SITEMAPS]:
            if fetcher.allowed(sitemap):
                links += read_feed(fetcher.fetch(sitemap).body, sitemap).links
        source.etag, source.last_modified = fetched.etag, fetched.last_modified
    except (FetchError, FeedError) as exc:
        return CheckReport(source.url, error=str(exc))
    wanted = [link for link in links if link.mentions(tuple(source.match))]
    added: list[str] = []
    failed: list[str] = []
    duplicates = 0
    for link in wanted:
        outcome = _add_link(folder, state, source, link, fetcher, limits)
        if outcome is None:
            continue
        if outcome.outcome == "added" and outcome.article:
            added.append(outcome.article)
        elif outcome.outcome == "duplicate":
            duplicates += 1
        elif outcome.outcome in ("failed", "refused"):
            failed.append(f"{link.url}: {outcome.detail}")
    return CheckReport(source.url, links=len(wanted), added=tuple(added), duplicates=duplicates, failed=tuple(failed))


def _add_link(
    folder: Path, state: FollowState, source: FollowedSource, link: FeedLink, fetcher: PoliteFetcher, limits: FetchLimits
) -> LinkRecord | None:
    """Add one link unless it was handled before; the record of what happened, None if nothing was tried."""
    key = comparable_url(link.url)
    known = state.links.get(key)
    if known is not None and (known.outcome != "failed" or known.tries >= MAX_LINK_TRIES):
        return None
    tries = known.tries + 1 if known is not None else 1
    if not fetcher.allowed(link.url):
        record = LinkRecord("refused", source.url, tries=tries, detail="robots.txt does not allow qabot to read it")
    else:
        fetcher.wait_turn(link.url)
        try:
            added = add_article(link.url, folder, limits=limits)
        except DuplicateArticleError as exc:
            record = LinkRecord("duplicate", source.url, tries=tries, detail=str(exc).removeprefix("not added: "))
        except IngestError as exc:
            record = LinkRecord("failed", source.url, tries=tries, detail=str(exc).removeprefix("not added: "))
        else:
            record = LinkRecord("added", source.url, article=added.article.article_id, tries=tries)
            source.added.append(added.article.article_id)
            log.info("followed %s: added %s (%s)", source.url, added.path.name, added.article.label)
    state.links[key] = record
    return record


def _record(source: FollowedSource, report: CheckReport, now: dt.datetime, interval_seconds: float) -> None:
    source.last_checked = _stamp(now)
    if report.error:
        source.failures += 1
        if source.failures == 1:  # logged once when it starts failing, not on every round
            log.error("cannot check the followed %s: %s; trying again later, less often", source.url, report.error)
        rounds = min(2 ** (source.failures - 1), MAX_BACKOFF_ROUNDS)
        source.last_error = report.error
        source.next_check = _stamp(now + dt.timedelta(seconds=interval_seconds * rounds))
        return
    if source.failures:
        log.info("the followed %s answers again (after %d failed checks)", source.url, source.failures)
    source.failures, source.last_error, source.next_check = 0, None, None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
