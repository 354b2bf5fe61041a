"""Live reload: a running bot picks up added, edited and removed articles without a restart.

A background thread looks at the corpus folder every `QABOT_RELOAD_SECONDS` (or
at once when woken, e.g. by SIGHUP). Looking is cheap: the names, sizes and
modification times of the article files. One listing serves a whole reload (the look,
the fingerprint and the build, `corpus.loader.FolderListing`): at 20,000 articles
each listing costs 0.15-0.3 s, and a reload used to list the folder four times.
A change is acted on only once it has settled: the next look, a moment later (at most
SETTLE_SECONDS), must see the same thing, so a file an editor or a script is still
writing is never read half-written; unless the index was already brought up to date with exactly these files (what `qabot
add` does: it writes the file whole, then updates the index), which is acted on at once.
Then the folder is fingerprinted, reading only the files whose size or time changed
since the last look (each file's hash is remembered with them: at 20,000 articles,
reading every file took about 0.5 s of each reload), and only a new fingerprint builds
a new core (from the index cache, updated with the changed articles only, going by the
same listing: a change made since does not match it, so the next look sees it and
reloads again). Questions never wait for this: they are answered by the current core
until the new one is swapped in whole.

A core built without looking at the folder (a bot's start from its cached index, see
`load(first_check=...)`) is checked against the folder by the watcher's first pass, at
once rather than after the interval: `first_check` compares the folder with the index
(and updates it with what changed while the bot was stopped), and a new core is swapped
in if anything did.

A broken article file (bad header, bad date, not UTF-8, emptied...) is left out
of the new core and the others answer; the file is named, with its line and
problem, in one error line, not at every look, and once more only when its
problem changes or on a wake-up. When it is fixed it is read again, and a line
says so. A corpus that fails to load as a whole (the folder emptied or gone, no
article that loads) leaves the old core answering, with one error line too.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable, Generic, Mapping, Sequence, TypeVar

from corpus import CorpusError, CorpusFileError, FolderLook, folder_look
from corpus.loader import FileDigests, FolderListing, list_folder, look_of

log = logging.getLogger(__name__)

CoreT = TypeVar("CoreT")

SETTLE_SECONDS = 0.5
"""After a look sees a change, the next look comes this soon (or at the usual interval if shorter)."""


def corpus_fingerprint(
    folder: Path, digests: FileDigests | None = None, listing: FolderListing | None = None
) -> str:
    """Fingerprint of every article file's bytes, broken ones included; with `digests`, only
    the files whose size or time changed since it last saw them are read; with `listing`, the
    folder as listed there (not listed again). Raises CorpusError."""
    digests = digests or FileDigests()
    return digests.fingerprint_listed(listing) if listing is not None else digests.fingerprint(folder)


def _no_broken_files(core: object) -> Sequence[CorpusFileError]:
    return ()


class CorpusWatcher(Generic[CoreT]):
    """Builds the answering core for a corpus folder, and a new one whenever the folder changes."""

    def __init__(
        self,
        folder: Path,
        build: Callable[[FolderListing | None], CoreT],
        interval_seconds: float = 5.0,
        broken_files: Callable[[CoreT], Sequence[CorpusFileError]] = _no_broken_files,
        known_digests: Callable[[], Mapping[str, tuple[int, int, bytes]]] | None = None,
        indexed: Callable[[FolderListing], bool] | None = None,
    ) -> None:
        """`build(listing)`: a core for the folder as `listing` saw it (None: as it is now).
        `broken_files(core)`: the article files a core was built without, to report them.
        `known_digests()`: the files' SHA-256 as the index recorded them (see
        `index.cache.indexed_file_digests`), so that the first fingerprint reads only the files
        changed since, not all of them (3 s at 20,000 articles, where a reload should take 1).
        `indexed(listing)`: whether the index was already brought up to date with exactly these
        files (`index.cache.is_current`, as `qabot add` leaves it): then a change needs no
        settling, since no writer is mid-file in what was read and indexed whole."""
        self.folder = Path(folder)
        self.interval_seconds = interval_seconds
        self._build = build
        self._broken_files = broken_files
        self._check_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_look: FolderLook | None = None
        """What the previous look saw: a change is acted on when two looks in a row agree."""
        self._loaded_look: FolderLook | None = None
        """What the folder looked like when the current core was built (None: not known)."""
        self._loaded_fingerprint: str | None = None
        self._digests = FileDigests()
        """Each file's hash as last read: a look after a change reads only the changed files."""
        self._known_digests = known_digests
        """Called once, before the first fingerprint, to fill `_digests` (then None)."""
        self._indexed = indexed
        self._last_error: str | None = None
        self._reported_broken: dict[str, str] = {}
        """Path -> problem of each broken file already named in the log."""
        self.settling = False
        """The last look saw a change that has not settled yet: look again soon."""
        self.reloads_loaded = 0
        self.reloads_failed = 0
        """How many reloads built a new core, and how many failed (for /metrics)."""
        self._first_check: Callable[[FolderListing], CoreT | None] | None = None
        """Set by `load(first_check=...)`: what the first pass runs instead of looking for a change."""

    @property
    def first_check_pending(self) -> bool:
        """A core was loaded without looking at the folder, and the folder is not checked yet."""
        return self._first_check is not None

    def load(
        self,
        build: Callable[[], CoreT] | None = None,
        first_check: Callable[[FolderListing], CoreT | None] | None = None,
    ) -> CoreT:
        """The core for the folder as it is now; broken files are logged and left out.

        `build`: how to make this first core, instead of the watcher's own. With `first_check`,
        that core was made without looking at the folder (its files are not even listed here),
        and the watcher's first pass calls `first_check(listing)` with its listing of the folder:
        a new core when the folder is not what the first one was made from, else None.

        Raises CorpusError if the folder is missing or no article in it loads."""
        with self._check_lock:
            look = None if first_check is not None else folder_look(self.folder)
            try:
                core = build() if build is not None else self._build(None)
            except CorpusError as exc:
                # Remembered, so a watcher started anyway says it once (the caller reports it
                # now) and builds again as soon as the folder changes.
                self._last_look, self._loaded_look, self._last_error = look, None, str(exc)
                raise
            # The fingerprint is taken later, by the watcher (see `check`): reading every
            # article here would undo the index cache's fast start on a large corpus.
            self._last_look = self._loaded_look = look
            self._loaded_fingerprint, self._last_error = None, None
            self._first_check = first_check
            self._report_broken(core, force=True)
            return core

    def check(self, force: bool = False) -> CoreT | None:
        """A new core if the corpus changed, the change has settled, and it loads; else None.

        `force` (a wake-up) acts on the folder as it is now, settled or not, and names
        the broken files again even when nothing changed."""
        with self._check_lock:
            if self._first_check is not None:
                return self._check_first(self._first_check)
            listing, look, problem = self._look()
            # None (the folder could not be listed) never counts as settled or unchanged.
            settled = look == self._last_look or (listing is not None and not force and self._already_indexed(listing))
            self._last_look = look
            self.settling = not settled and not force
            if self.settling:
                return None  # a writer may be mid-file: look again in a moment
            unchanged = look is not None and look == self._loaded_look and not look.fresh
            if unchanged and look is not None and self._loaded_fingerprint is None:
                # The files are as they were when the core was built: their fingerprint is the loaded one.
                self._loaded_fingerprint = self._fingerprint_if_unchanged(look)
            if unchanged and not force:
                return None
            try:
                if listing is None:
                    raise problem or CorpusError(f"{self.folder}: cannot be listed")
                self._remember_indexed_digests()
                fingerprint = corpus_fingerprint(self.folder, self._digests, listing)
                if fingerprint == self._loaded_fingerprint:
                    self._loaded_look = look
                    if self._last_error is not None:
                        log.info("the articles in %s are back as they were loaded; still answering from them", self.folder)
                        self._last_error = None
                    if force:
                        for message in sorted(self._reported_broken.values()):
                            log.error("an article file is still broken and left out: %s", message)
                    return None
                started = time.perf_counter()
                # Built from this listing: a file changed since (by its size or time) does not
                # match what the core is recorded as built from, so the next look reloads.
                core = self._build(listing)
            except CorpusError as exc:
                self._failed(str(exc), force)
                return None
            except Exception as exc:  # a bug must not stop the bot; the old core keeps answering
                self._failed(f"{type(exc).__name__}: {exc}", force, with_traceback=True)
                return None
            self._loaded_look, self._loaded_fingerprint = look, fingerprint
            self._last_error = None
            self.reloads_loaded += 1
            log.info(
                "reloaded the articles in %s (%.1f s); answering from the new ones",
                self.folder,
                time.perf_counter() - started,
            )
            self._report_broken(core, force)
            return core

    def _check_first(self, first_check: Callable[[FolderListing], CoreT | None]) -> CoreT | None:
        """The first pass after a load that did not look at the folder: `first_check` compares
        one listing of it with the index (updating the index with what changed), at once,
        settled or not (a file being written now is seen by the next looks, as always)."""
        self._first_check = None
        listing, look, problem = self._look()
        started = time.perf_counter()
        try:
            if listing is None:
                raise problem or CorpusError(f"{self.folder}: cannot be listed")
            core = first_check(listing)
        except CorpusError as exc:  # the folder gone or emptied meanwhile: the loaded core answers on
            self._last_look, self._loaded_look = look, None
            self._failed(str(exc), force=True)
            return None
        except Exception as exc:  # a bug must not stop the bot; the loaded core keeps answering
            self._last_look, self._loaded_look = look, None
            self._failed(f"{type(exc).__name__}: {exc}", force=True, with_traceback=True)
            return None
        # Checked (and built) from this listing: a file changed since does not match what the
        # index records, so the next look reloads (as in `check`). Its fingerprint is not known yet.
        self._last_look = self._loaded_look = look
        self._loaded_fingerprint = None
        log.info(
            "checked the articles in %s against the index the bot started from (%.1f s); %s",
            self.folder,
            time.perf_counter() - started,
            "answering from the updated index" if core is not None else "they are as indexed",
        )
        if core is None:
            return None
        self.reloads_loaded += 1
        self._report_broken(core, force=False)
        return core

    def _already_indexed(self, listing: FolderListing) -> bool:
        """A change `qabot add` (or any other loader) has already read and indexed whole: acted on
        at once, without the look a moment later (half a second and one more listing)."""
        if self._indexed is None or look_of(listing) == self._loaded_look:
            return False
        try:
            return self._indexed(listing)
        except Exception:  # only a shortcut: the change settles the usual way
            log.debug("could not compare the folder with the index", exc_info=True)
            return False

    def _remember_indexed_digests(self) -> None:
        known, self._known_digests = self._known_digests, None
        if known is None:
            return
        try:
            self._digests.remember(known())
        except Exception:  # only a shortcut: without it every file is read once
            log.debug("the index's record of the article files could not be read", exc_info=True)

    def _look(self) -> tuple[FolderListing | None, FolderLook | None, CorpusError | None]:
        """The folder's listing and what it looks like; or, when it cannot be listed or holds no
        article, no listing, the look `folder_look` has of it (None if none), and why."""
        try:
            listing = list_folder(self.folder)
        except CorpusError as exc:  # missing, or no article file in it
            return None, folder_look(self.folder), exc
        except OSError as exc:  # no permission to list it, say
            return None, None, CorpusError(f"{self.folder}: cannot be listed: {exc.strerror or exc}")
        return listing, look_of(listing), None

    def _fingerprint_if_unchanged(self, look: FolderLook) -> str | None:
        """The corpus fingerprint, if no file changed while it was read (else None: not known yet)."""
        self._remember_indexed_digests()
        try:
            fingerprint = corpus_fingerprint(self.folder, self._digests)
        except (CorpusError, OSError):
            return None
        return fingerprint if folder_look(self.folder) == look else None

    def _report_broken(self, core: CoreT, force: bool) -> None:
        """One error line per newly broken file (or changed problem); one info line per mended one.

        `force` (a load, a wake-up): every broken file is named again."""
        broken = {error.path: str(error) for error in self._broken_files(core)}
        for path, message in sorted(broken.items()):
            if force or self._reported_broken.get(path) != message:
                log.error("skipped a broken article file; answering from the others until it is fixed: %s", message)
        for path in sorted(self._reported_broken.keys() - broken.keys()):
            log.info("%s is no longer broken (fixed or removed); answering from the articles as they are", path)
        self._reported_broken = broken

    def _failed(self, message: str, force: bool, with_traceback: bool = False) -> None:
        self.reloads_failed += 1
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
            wait = self.interval_seconds if self.interval_seconds > 0 else None
            if self.settling and wait is not None:
                wait = min(wait, SETTLE_SECONDS)
            if self._first_check is not None:
                wait = 0  # the folder was not looked at when the core was loaded: check it now
            woken = self._wake.wait(wait)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                core = self.check(force=woken)
                if core is not None:
                    on_reload(core)
            except Exception:  # keep watching whatever happens
                log.exception("checking the articles for changes failed")
