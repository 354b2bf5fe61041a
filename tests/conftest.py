"""Shared fixtures: settings that never touch the user's own cache or .env, and a core on the bundled corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from bot.answering.core import AnsweringCore
from bot.app import load_core
from bot.settings import Settings
from corpus import BUNDLED_DIR
from tests.support.question_logs import LogPlace
from tests.support.postgres_server import PostgresServer, start_postgres
from tests.support.redis_server import RedisServer, start_redis

# No test reaches for a model hub (none is reachable; sentence-transformers would try one for a
# name it does not find). Set before anything imports huggingface_hub, which reads it once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval" / "dev.jsonl"


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings from an empty environment, caching under tmp_path (health endpoints on a free port)."""
    overrides.setdefault("cache_dir", tmp_path / "cache")
    overrides.setdefault("health_port", 0)
    return Settings.load(environ={}, dotenv_path=None, **overrides)


@pytest.fixture(scope="session", autouse=True)
def private_data_folder(tmp_path_factory: pytest.TempPathFactory):
    """The question log's default place is the user's data folder: in tests, a temporary one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A copy of the bundled articles this test may change: tmp_path/articles."""
    folder = tmp_path / "articles"
    shutil.copytree(BUNDLED_DIR, folder)
    return folder


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory) -> AnsweringCore:
    return load_core(make_settings(tmp_path_factory.mktemp("core")))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (skipped without one, failed in CI)."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (skipped without one, failed in CI)."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database of the session's PostgreSQL, for this test alone."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def log_place(request: pytest.FixtureRequest, tmp_path: Path) -> LogPlace:
    """The question log in a SQLite file, then (the same test again) in a PostgreSQL database."""
    path = tmp_path / "data" / "questions.sqlite3"
    if request.param == "sqlite":
        return LogPlace("sqlite", path)
    return LogPlace("postgresql", path, request.getfixturevalue("postgres_url"))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may stop and start (an outage)."""
    server = start_redis(tmp_path / "redis")
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the load tests recorded (`record_property("load figures", ...)`)."""
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "load figures"
    ]
    if lines:
        terminalreporter.section("load figures")
        for line in lines:
            terminalreporter.write_line(line)
