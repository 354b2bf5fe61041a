"""Waiting for what a background thread or process does (a reload, a build, a watcher's first
check, a port to listen).

`eventually(condition, what)` polls `condition` until it holds, and fails naming `what` after
`seconds`; `accepts_connections(port)` says whether something listens on 127.0.0.1:`port`. The limit is only reached when a test fails, so it is generous: a loaded machine
slows a build or a reload down several times.
"""

from __future__ import annotations

import socket
import time
from typing import Callable

SECONDS = 60.0


def eventually(condition: Callable[[], bool], what: str, seconds: float = SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


def accepts_connections(port: int) -> bool:
    """Whether a TCP connection to 127.0.0.1:`port` is accepted now (within 0.2 s)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
