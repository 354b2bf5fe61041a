"""`qabot` run as a real process, as an admin runs it: the one way the tests and benchmarks start it.

The environment holds only what a test sets on top of this machine's own (PATH, locale, the
test session's XDG folders): a developer's own DISCORD_*, SLACK_* and QABOT_* variables never
leak in, HOME and the index cache are the test's, and the code is this checkout's. Run from a
folder without a .env file (the test's tmp_path), nothing of the developer's settings is read.

Every long-running child the tests start (qabot, redis-server, Chromium) is started with
`preexec_fn=ends_with_the_tests`: on Linux it gets SIGTERM when the test process dies, so a test
run killed by a timeout leaves no bot answering, no port taken and no CPU used behind it.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QABOT = (sys.executable, "-m", "bot.cli")
"""The command line of `qabot` for this checkout and this Python."""

PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
# Looked up here, in the test process: after fork, the child only makes the call.


def ends_with_the_tests() -> None:
    """A `preexec_fn`: the child is sent SIGTERM when the process that started it dies (Linux;
    elsewhere nothing). Start children from the test's main thread: the signal follows the thread."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def qabot_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This machine's environment without any bot setting; HOME and QABOT_CACHE_DIR under
    `tmp_path` and QABOT_HEALTH_PORT=0 (unless `settings` name them); then `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "QABOT_", "SLACK_"))}
    env.update(HOME=str(tmp_path / "home"), QABOT_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    # The health endpoints on a free port: tests run side by side (unless a test names one).
    env.update(QABOT_HEALTH_PORT="0")
    env.update(settings)
    return env


def run_qabot(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`qabot ARGS…` to the end, its output captured as text."""
    return subprocess.run(
        [*QABOT, *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


async def start_qabot(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """`qabot ARGS…` started in the background of an event loop, stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        *QABOT, *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        preexec_fn=ends_with_the_tests,
    )  # fmt: skip
