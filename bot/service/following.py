"""The running bot's follower: a background thread that checks the followed feeds and sitemaps.

Every `interval_seconds` (QABOT_FOLLOW_MINUTES) it calls `check` once (bot/app.py's
`follow_round`: new links go through the pipeline of `qabot add`, and the corpus watcher's live
reload then picks the new article files up). The first check comes soon after start, so a bot
started after a while down catches up at once.

Failure behaviour: a check that raises is logged (once per distinct message) and the thread goes
on to the next round; `stop` ends the thread within one wait, whatever a check is doing after its
current request (it is a daemon thread, so it never keeps the process alive).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)

FIRST_CHECK_SECONDS = 1.0
"""The first check waits this long: the bot answers first, then catches up."""


class Follower:
    def __init__(self, check: Callable[[], object], interval_seconds: float) -> None:
        self._check = check
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_failure = ""
        self.rounds = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="qabot-follow", daemon=True)
        self._thread.start()
        log.info("checking followed feeds and sitemaps every %g minutes", self.interval_seconds / 60)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        wait = min(FIRST_CHECK_SECONDS, self.interval_seconds)
        while not self._stop.wait(wait):
            wait = self.interval_seconds
            try:
                self._check()
                self._last_failure = ""
            except Exception as exc:  # never let one bad round end the following
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_failure:
                    log.error("checking the followed sources failed (%s); trying again next round", message)
                self._last_failure = message
            self.rounds += 1
