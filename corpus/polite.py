"""Fetching as a good citizen of other people's sites: robots.txt, and a pause between requests to a host.

One `PoliteFetcher` serves one round of checks, in one thread, so requests to a host go one at a
time; before each it waits until `host_delay` seconds have passed since the last request to that
host. Each host's robots.txt (urllib.robotparser) is read once per round: a path it disallows for
qabot is not fetched. As RFC 9309 says, a robots.txt that is missing (4xx) allows everything, and
one that cannot be had (5xx, unreachable) disallows everything for the round.

Failure behaviour: `allowed` never raises; `fetch` raises FetchError as `corpus.fetch.fetch` does.
"""

from __future__ import annotations

import time
import urllib.robotparser
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

from corpus.errors import FetchError, HTTPStatusError
from corpus.fetch import Fetched, FetchLimits, fetch

ROBOTS_AGENT = "qabot"
ROBOTS_MAX_BYTES = 500_000  # Google's own limit; the rest of a larger file is ignored by them too


class PoliteFetcher:
    def __init__(
        self,
        limits: FetchLimits,
        host_delay: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.host_delay = host_delay
        self._clock = clock
        self._sleep = sleep
        self._last_request: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | bool] = {}

    def allowed(self, url: str) -> bool:
        """Whether the site's robots.txt lets qabot fetch `url`."""
        site = _site(url)
        rules = self._robots.get(site)
        if rules is None:
            rules = self._robots[site] = self._read_robots(site)
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(ROBOTS_AGENT, url)

    def wait_turn(self, url: str) -> None:
        """Sleep until this host may be asked again, and note the request about to be made."""
        host = _site(url)
        last = self._last_request.get(host)
        if last is not None:
            pause = last + self.host_delay - self._clock()
            if pause > 0:
                self._sleep(pause)
        self._last_request[host] = self._clock()

    def fetch(self, url: str, *, headers: dict[str, str] | None = None) -> Fetched:
        """GET `url` (any content type) after this host's pause."""
        self.wait_turn(url)
        return fetch(url, self.limits, headers=headers)

    def _read_robots(self, site: str) -> urllib.robotparser.RobotFileParser | bool:
        url = site + "/robots.txt"
        limits = FetchLimits(self.limits.timeout_seconds, ROBOTS_MAX_BYTES, retries=0)
        self.wait_turn(url)
        try:
            fetched = fetch(url, limits)
        except HTTPStatusError as exc:
            return exc.status < 500  # missing: all allowed; a server error: nothing, this round
        except FetchError:
            return False
        parser = urllib.robotparser.RobotFileParser(url)
        parser.parse(fetched.body.decode("utf-8", "replace").splitlines())
        return parser


def _site(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
