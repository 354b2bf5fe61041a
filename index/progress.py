"""How far an index build has got, for progress bars, log lines and "still reading (62%)" replies.

The interface, for anything that shows a build's progress:

    def on_progress(progress: BuildProgress) -> None: ...
    load_or_build(corpus_dir, cache_dir, analyzer, progress=on_progress)

`on_progress` is called from the building thread (never from a worker process):
once with 0 articles done when the build starts, after each batch of articles is
analysed (every few hundred articles, or about 1% of the corpus), and once with
`finished=True` when the index is ready. It is not called at all when the index
comes whole from the cache. A callback that raises is logged and ignored: showing
progress must never stop a build. The one exception is `BuildStopped`, raised on purpose
(a bot stopping mid-build): the build removes what it had begun and raises it on.

Ready-made callbacks: `for_stream(sys.stderr)` (a tqdm bar on a terminal, a line every
few seconds otherwise) and `for_log(logger)` (a log line every few seconds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, TextIO

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildProgress:
    articles_done: int
    articles_total: int
    """Articles this build analyses: all of them for a first build, only the added and
    changed ones for an incremental update."""
    sentences_done: int
    seconds: float
    """Time since the build started."""
    finished: bool = False

    @property
    def fraction(self) -> float:
        """0.0 to 1.0; 1.0 for a build with nothing to analyse."""
        if self.finished or self.articles_total == 0:
            return 1.0
        return min(1.0, self.articles_done / self.articles_total)

    @property
    def seconds_left(self) -> float | None:
        """A linear estimate, None until something is done."""
        if self.finished:
            return 0.0
        if self.articles_done == 0 or self.seconds <= 0:
            return None
        return self.seconds * (self.articles_total - self.articles_done) / self.articles_done


ProgressCallback = Callable[[BuildProgress], None]


class BuildStopped(Exception):
    """Raised by a progress callback to stop the build it hears; `report` lets it through."""


def report(callback: ProgressCallback | None, progress: BuildProgress) -> None:
    """Call `callback`, if any; its failure is logged, never raised, except `BuildStopped`."""
    if callback is None:
        return
    try:
        callback(progress)
    except BuildStopped:
        raise
    except Exception:  # a broken progress display must not stop the build
        log.exception("showing the build's progress failed")


def describe(progress: BuildProgress) -> str:
    """One line: "read 1,234 of 20,005 articles (6%), 23,456 sentences; about 40 s left"."""
    if progress.finished:
        return (
            f"read {progress.articles_total:,} article{'s' if progress.articles_total != 1 else ''}, "
            f"{progress.sentences_done:,} sentences, in {progress.seconds:.1f} s"
        )
    line = (
        f"read {progress.articles_done:,} of {progress.articles_total:,} articles "
        f"({progress.fraction:.0%}), {progress.sentences_done:,} sentences"
    )
    left = progress.seconds_left
    return line + (f"; about {left:.0f} s left" if left is not None else "")


class ProgressLines:
    """A progress callback that emits a line (`describe`) at most every `interval` seconds.

    Nothing for a build shorter than `interval`; once a line was emitted, the last one too.
    For logs and for output that is not a terminal."""

    def __init__(self, emit: Callable[[str], None], interval: float = 5.0) -> None:
        self._emit = emit
        self._interval = interval
        self._last: float | None = None

    def __call__(self, progress: BuildProgress) -> None:
        if progress.finished:
            if self._last is not None:
                self._emit(describe(progress))
            return
        due = progress.seconds if self._last is None else progress.seconds - self._last
        if due >= self._interval:
            self._last = progress.seconds
            self._emit(describe(progress))


class ProgressBar:
    """A progress callback drawing a terminal progress bar (tqdm): articles done, sentences,
    time elapsed and left. Call `close()` when the build is over."""

    def __init__(self, stream: TextIO, description: str = "reading articles") -> None:
        self._stream = stream
        self._description = description
        self._bar: Any = None

    def __call__(self, progress: BuildProgress) -> None:
        if self._bar is None:
            from tqdm import tqdm  # only a terminal build needs it

            self._bar = tqdm(
                total=progress.articles_total, desc=self._description, unit=" articles", file=self._stream,
                dynamic_ncols=True, leave=True,
            )
        self._bar.n = progress.articles_total if progress.finished else progress.articles_done
        self._bar.set_postfix_str(f"{progress.sentences_done:,} sentences", refresh=False)
        self._bar.refresh()
        if progress.finished:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def for_stream(stream: TextIO, interval: float = 5.0) -> ProgressCallback:
    """A bar on a terminal, else a line every `interval` seconds (for a build that long)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return ProgressBar(stream)
    return ProgressLines(lambda line: print(line, file=stream, flush=True), interval)


def for_log(logger: logging.Logger, interval: float = 5.0) -> ProgressCallback:
    """A log line (info) every `interval` seconds while building, and when done."""
    return ProgressLines(lambda line: logger.info("building the index: %s", line), interval)
