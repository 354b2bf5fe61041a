"""Waiting for what a background thread does (a reload, a build, a watcher's first check).

`eventually(condition, what)` polls `condition` until it holds, and fails naming `what` after
`seconds`. The limit is only reached when a test fails, so it is generous: a loaded machine
slows a build or a reload down several times.
"""

from __future__ import annotations

import time
from typing import Callable

SECONDS = 60.0


def eventually(condition: Callable[[], bool], what: str, seconds: float = SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)
