"""Run the `qabot` command as an admin would: a real subprocess with a clean environment and its own home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_qabot(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """`python -m bot.cli ARGS` with HOME=`home` (so the user data and cache folders are under it)
    and only `env` besides; no QABOT_CORPUS_DIR unless `env` names one."""
    home.mkdir(parents=True, exist_ok=True)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=home,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
