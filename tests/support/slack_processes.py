"""`qabot slack` as a real process, for the tests that run it the way an admin does."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.support.processes import QABOT, ends_with_the_tests, qabot_environment

STARTUP_TIMEOUT = 60


def environment(home: Path, cache: Path, **settings: str) -> dict[str, str]:
    """Only what the test sets: a developer's own SLACK_* variables must not leak in."""
    return qabot_environment(home, HOME=str(home), QABOT_CACHE_DIR=str(cache), **settings)


class RunningQabot:
    """`qabot slack` in the background, its stderr collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [*QABOT, "slack", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=ends_with_the_tests,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for_line(self, pattern: str, timeout: float = STARTUP_TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if found := re.search(pattern, line):
                        return found
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no line matching {pattern!r} in: {self.lines}")
                self._changed.wait(min(left, 0.2))

    def exit_code_and_lines(self, timeout: float = STARTUP_TIMEOUT) -> tuple[int, list[str]]:
        """Wait for the process to end by itself; its exit code and every line it wrote."""
        code = self.process.wait(timeout=timeout)
        self._collector.join(timeout=10)  # the last lines are read after the process has gone
        return code, list(self.lines)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
