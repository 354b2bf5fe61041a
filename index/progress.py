"""How far an index build has got, for progress bars, log lines and "still reading (62%)" replies.

The interface, for anything that shows a build's progress:

    def on_progress(progress: BuildProgress) -> None: ...
    load_or_build(corpus_dir, cache_dir, analyzer, progress=on_progress)

`on_progress` is called from the building thread (never from a worker process):
once with 0 articles done when the build starts, after each batch of articles is
analysed (every few hundred articles, or about 1% of the corpus), and once with
`finished=True` when the index is ready. It is not called at all when the index
comes whole from the cache. A callback that raises is logged and ignored: showing
progress must never stop a build.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

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


def report(callback: ProgressCallback | None, progress: BuildProgress) -> None:
    """Call `callback`, if any; its failure is logged, never raised."""
    if callback is None:
        return
    try:
        callback(progress)
    except Exception:  # a broken progress display must not stop the build
        log.exception("showing the build's progress failed")
