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


@pytest.fixture(scope="session", autouse=True)
def private_data_folder(tmp_path_factory: pytest.TempPathFactory):
    """The question log's default place is the user's data folder: in tests, a temporary one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory) -> AnsweringCore:
    return AnsweringCore.from_settings(make_settings(tmp_path_factory.mktemp("core")))
