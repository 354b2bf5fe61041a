"""Shared fixtures: settings that never touch the user's own cache or .env, and a core on the bundled corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import AnsweringCore
from bot.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval" / "dev.jsonl"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings from an empty environment, caching under tmp_path."""
    overrides.setdefault("cache_dir", tmp_path / "cache")
    return Settings.load(environ={}, dotenv_path=None, **overrides)


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory) -> AnsweringCore:
    return AnsweringCore.from_settings(make_settings(tmp_path_factory.mktemp("core")))
