"""The real Slack app, served in HTTP or Socket Mode, against a fake Slack on 127.0.0.1.

Every app here is the real `slack_bolt` app from `bot.adapters.slack`, answering
with a real `QuestionService` over the bundled articles, its settings read from
environment variables the way `qabot slack` reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bot.adapters.slack.app import build_app
from bot.adapters.slack.http_server import HttpEventServer, start_http_server
from bot.adapters.slack.runner import slack_config
from bot.adapters.slack.socket_mode import connect_socket_mode, wait_until_connected
from bot.app import build_service
from bot.settings import Settings
from tests.support.slack_payloads import SignedSender
from tests.support.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.support.slack_helpers import (
    AppStarter,
    CountingService,
    RunningSlackApp,
    ServiceMaker,
)
from tests.support.slack_processes import RunningQabot, environment


@pytest.fixture(scope="session")
def index_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index cache for the session: the index is built once, each test still gets its own service."""
    return tmp_path_factory.mktemp("index-cache")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


def slack_environment(fake: FakeSlack, **extra: str) -> dict[str, str]:
    """The environment an admin would set, pointed at the fake."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "QABOT_SLACK_API_URL": fake.api_url,
        **extra,
    }


def _settings(fake: FakeSlack, cache_dir: Path, env: dict[str, str]) -> Settings:
    return Settings.load(environ=slack_environment(fake, **env), dotenv_path=None, cache_dir=cache_dir)


@pytest.fixture
def http_slack_app(fake_slack: FakeSlack, index_cache_dir: Path) -> Iterator[AppStarter]:
    """Start the app over HTTP on 127.0.0.1 (free port): `http_slack_app(make_service, **environment)`."""
    servers: list[HttpEventServer] = []

    def start(make_service: ServiceMaker = build_service, **env: str) -> RunningSlackApp:
        settings = _settings(fake_slack, index_cache_dir, env)
        counting = CountingService(make_service(settings))
        server = start_http_server(build_app(slack_config(settings), counting), "127.0.0.1", 0)
        servers.append(server)
        return RunningSlackApp(fake_slack, settings, counting, SignedSender(server.url, SIGNING_SECRET))

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def socket_mode_slack_app(fake_slack: FakeSlack, index_cache_dir: Path) -> Iterator[AppStarter]:
    """Connect the app to the fake's Socket Mode websocket: `socket_mode_slack_app(make_service, **environment)`."""
    handlers = []

    def start(make_service: ServiceMaker = build_service, **env: str) -> RunningSlackApp:
        settings = _settings(fake_slack, index_cache_dir, env)
        counting = CountingService(make_service(settings))
        handler = connect_socket_mode(build_app(slack_config(settings), counting), slack_config(settings))
        handlers.append(handler)
        assert wait_until_connected(handler, 10), "the app did not connect to the fake's websocket"
        return RunningSlackApp(fake_slack, settings, counting)

    yield start
    for handler in handlers:
        # Closing from the server side first: the client otherwise waits out its 3-second receive timeout.
        handler.client.auto_reconnect_enabled = False
        fake_slack.drop_socket_connections()
        handler.close()


@pytest.fixture
def start_qabot_slack(tmp_path: Path, index_cache_dir: Path) -> Iterator:
    started: list[RunningQabot] = []

    def start(*args: str, **settings: str) -> RunningQabot:
        running = RunningQabot(list(args), environment(tmp_path, index_cache_dir, **settings), tmp_path)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)
