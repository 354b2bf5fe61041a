"""Live reload: a running bot picks up added, edited and removed articles without a restart.

A background thread looks at the corpus folder every `QABOT_RELOAD_SECONDS` (or
at once when woken, e.g. by SIGHUP). Looking is cheap: the names, sizes and
modification times of the article files. Only when those change are the files
read and fingerprinted, and only a new fingerprint builds a new core (from the
index cache when one is current). Questions never wait for this: they are
answered by the current core until the new one is swapped in whole.

A corpus that fails to load (a broken file, an emptied folder) leaves the old
core answering. Its error, naming the file and line, is logged once, not at
every look; it is logged again only when the problem changes or on a wake-up
(an admin sending SIGHUP is asking to hear about it).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable, Generic, TypeVar

from corpus import CorpusError, fingerprint_of, read_corpus_files, stat_signature

log = logging.getLogger(__name__)

CoreT = TypeVar("CoreT")


def corpus_fingerprint(folder: Path) -> str:
    return fingerprint_of(read_corpus_files(folder))


class CorpusWatcher(Generic[CoreT]):
    """Builds the answering core for a corpus folder, and a new one whenever the folder changes."""

    def __init__(
        self,
        folder: Path,
        build: Callable[[], CoreT],
        interval_seconds: float = 5.0,
    ) -> None:
        self.folder = Path(folder)
        self.interval_seconds = interval_seconds
        self._build = build
        self._check_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: str | None = None
        self._loaded_fingerprint: str | None = None
        self._last_error: str | None = None

    def load(self) -> CoreT:
        """The core for the folder as it is now. Raises CorpusError / CorpusFileError if it is broken."""
        with self._check_lock:
            signature = stat_signature(self.folder)
            core = self._build()
            # The fingerprint is taken later, by the watcher (see `check`): reading every
            # article here would undo the index cache's fast start on a large corpus.
            self._seen, self._loaded_fingerprint, self._last_error = signature, None, None
            return core

    def check(self, force: bool = False) -> CoreT | None:
        """A new core if the corpus changed and loads; None if it did not change or is broken."""
        with self._check_lock:
            # None (a file vanished mid-look) never counts as unchanged.
            signature = stat_signature(self.folder)
            unchanged = signature is not None and signature == self._seen
            if unchanged and self._loaded_fingerprint is None:
                # The files are as they were when the core was built: their fingerprint is the loaded one.
                self._loaded_fingerprint = self._fingerprint_if_unchanged(signature)
            if unchanged and not force:
                return None
            # Seen before reading, so a change made while we read is noticed next time.
            self._seen = signature
            try:
                fingerprint = corpus_fingerprint(self.folder)
                if fingerprint == self._loaded_fingerprint:
                    if self._last_error is not None:
                        log.info("the articles in %s are back as they were loaded; still answering from them", self.folder)
                        self._last_error = None
                    return None
                started = time.perf_counter()
                core = self._build()
            except CorpusError as exc:
                self._failed(str(exc), force)
                return None
            except Exception as exc:  # a bug must not stop the bot; the old core keeps answering
                self._failed(f"{type(exc).__name__}: {exc}", force, with_traceback=True)
                return None
            self._loaded_fingerprint, self._last_error = fingerprint, None
            log.info(
                "reloaded the articles in %s (%.1f s); answering from the new ones",
                self.folder,
                time.perf_counter() - started,
            )
            return core

    def _fingerprint_if_unchanged(self, signature: str | None) -> str | None:
        """The corpus fingerprint, if no file changed while it was read (else None: not known yet)."""
        try:
            fingerprint = corpus_fingerprint(self.folder)
        except (CorpusError, OSError):
            return None
        return fingerprint if stat_signature(self.folder) == signature else None

    def _failed(self, message: str, force: bool, with_traceback: bool = False) -> None:
        if message == self._last_error and not force:
            log.debug("the articles still do not load: %s", message)
            return
        self._last_error = message
        log.error(
            "the changed articles could not be loaded, so the bot keeps answering from the previous "
            "ones: %s",
            message,
            exc_info=with_traceback,
        )

    # -- the background thread --------------------------------------------------

    def start(self, on_reload: Callable[[CoreT], None]) -> None:
        """Watch in a background thread, calling `on_reload(new_core)` after each successful reload.

        Idempotent. With an interval of 0 the thread only checks when woken.
        """
        with self._thread_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, args=(on_reload,), name="qabot-corpus-watcher", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        """Check now (from any thread, or a signal handler: it only sets an event)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        with self._thread_lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def watching(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self, on_reload: Callable[[CoreT], None]) -> None:
        while not self._stopping.is_set():
            woken = self._wake.wait(self.interval_seconds if self.interval_seconds > 0 else None)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                core = self.check(force=woken)
                if core is not None:
                    on_reload(core)
            except Exception:  # keep watching whatever happens
                log.exception("checking the articles for changes failed")
