"""A test run killed from outside (a CI timeout, Ctrl-C twice, `kill -9`) leaves nothing running
behind it: the bots, redis-server and Chromium the tests start end with the test process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import REPO

STARTS_A_CHILD = """
import subprocess, sys, time
from tests.support.processes import ends_with_the_tests
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], preexec_fn=ends_with_the_tests)
print(child.pid, flush=True)
time.sleep(120)
"""


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's first process may never reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_child_started_by_the_tests_ends_when_the_test_process_is_killed():
    tests = subprocess.Popen(
        [sys.executable, "-c", STARTS_A_CHILD], cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert tests.stdout is not None
        child = int(tests.stdout.readline())
        assert running(child)
        tests.kill()  # SIGKILL: no clean-up of its own runs
        tests.wait(timeout=10)
        deadline = time.monotonic() + 10
        while running(child):
            assert time.monotonic() < deadline, "the child outlived the process that started it"
            time.sleep(0.05)
    finally:
        if tests.poll() is None:
            tests.kill()
