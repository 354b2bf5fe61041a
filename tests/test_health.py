"""An operator watches a running bot: /healthz says it is alive, /readyz whether it can answer (and
why not), /metrics what it did. Here the bot is assembled as the runners assemble it, with a real
Redis and a real PostgreSQL, and both are taken away to see /readyz say so."""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

from bot.app import running, serving_health
from bot.settings import Secret
from corpus import BUNDLED_DIR
from tests.conftest import make_settings
from tests.support.health_client import get, metric
from tests.support.readiness import until_the_articles_are_read
from tests.support.postgres_server import PASSWORD as DATABASE_PASSWORD
from tests.support.postgres_server import start_postgres
from tests.support.redis_server import PASSWORD as REDIS_PASSWORD
from tests.support.redis_server import RedisServer

SECRET = "a deployment secret long enough to be a key, 0123456789"


def test_readyz_says_what_is_down_and_healthz_stays_alive(tmp_path: Path, private_redis: RedisServer):
    database = start_postgres()
    try:
        settings = make_settings(
            tmp_path,
            reload_seconds=0,
            secret=Secret(SECRET),
            redis_url=Secret(private_redis.url),
            database_url=Secret(database.new_database()),
        )
        with running(settings) as bot, serving_health(settings, bot.health) as server:
            assert server is not None
            base = server.url
            ready = get(base + "/readyz")
            deadline = time.monotonic() + 60
            while ready.status != 200 and time.monotonic() < deadline:
                # No index in this test's cache: the bot builds it while serving ("building").
                assert ready.body.startswith("not ready\nindex: building: the articles are being indexed")
                time.sleep(0.05)
                ready = get(base + "/readyz")
            assert (ready.status, ready.body) == (200, "ready: index, redis, database\n")

            private_redis.stop()
            database.stop()
            down = get(base + "/readyz")
            assert down.status == 503
            lines = down.body.splitlines()
            assert lines[0] == "not ready"
            assert any(line.startswith("redis: Redis does not answer") for line in lines)
            assert any(line.startswith("database: the question log PostgreSQL 127.0.0.1:") for line in lines)
            for secret in (REDIS_PASSWORD, DATABASE_PASSWORD):
                assert secret not in down.body
            alive = get(base + "/healthz")
            assert (alive.status, alive.body) == (200, "alive\n")  # alive, though not ready

            private_redis.start()
            assert get(base + "/readyz").body.startswith("not ready\ndatabase:")  # Redis is back
    finally:
        database.stop()


def test_metrics_count_questions_by_platform_and_outcome_with_their_latency(tmp_path: Path):
    settings = make_settings(tmp_path, reload_seconds=0, question_log=False)
    with running(settings) as bot, serving_health(settings, bot.health) as server:
        assert server is not None
        until_the_articles_are_read(bot)
        bot.service.ask("Why did Ring drop Flock?", "U1", platform="slack")
        bot.service.ask("what's the capital of australia", "U1", platform="slack")
        bot.service.ask("Why did Ring drop Flock?", "1", platform="discord")
        reply = get(server.url + "/metrics")
    assert reply.status == 200 and reply.content_type.startswith("text/plain; version=0.0.4")
    text = reply.body
    assert metric(text, "qabot_questions_total", platform="slack", outcome="answered") == 1
    assert metric(text, "qabot_questions_total", platform="slack", outcome="not_found") == 1
    assert metric(text, "qabot_questions_total", platform="discord", outcome="answered") == 1
    assert metric(text, "qabot_answer_seconds_count", platform="slack") == 2
    assert metric(text, "qabot_answer_seconds_bucket", platform="slack", le="+Inf") == 2
    assert (metric(text, "qabot_answer_seconds_sum", platform="slack") or 0) > 0
    assert metric(text, "qabot_reloads_total", result="loaded") == 0
    assert "U1" not in text and "australia" not in text  # no user, no question in a label


def test_reloads_are_counted_as_loaded_or_failed(tmp_path: Path):
    articles = tmp_path / "articles"
    shutil.copytree(BUNDLED_DIR, articles)
    settings = make_settings(tmp_path, reload_seconds=0, question_log=False, corpus_dir=articles)
    with running(settings) as bot, serving_health(settings, bot.health) as server:
        assert server is not None
        until_the_articles_are_read(bot)
        watcher = bot.service.watcher
        assert watcher is not None
        (articles / "broken.md").write_bytes(b"---\ntitle: Draft\npublished: 13 Feb\n---\n\nA draft.\n")
        watcher.wake()  # what SIGHUP does: the others load, the broken one is left out
        wait_for_metric(server.url, "qabot_reloads_total", 1, result="loaded")
        for article in articles.iterdir():
            article.unlink()  # no article left: the reload fails, the old articles keep answering
        watcher.wake()
        wait_for_metric(server.url, "qabot_reloads_total", 1, result="failed")


def wait_for_metric(base: str, name: str, value: float, **labels: str) -> None:
    deadline = time.monotonic() + 30
    while metric(get(base + "/metrics").body, name, **labels) != value:
        assert time.monotonic() < deadline, f"{name} {labels} never reached {value}"
        time.sleep(0.1)


def test_only_get_on_the_three_paths(tmp_path: Path):
    settings = make_settings(tmp_path, reload_seconds=0, question_log=False)
    with running(settings) as bot, serving_health(settings, bot.health) as server:
        assert server is not None
        assert get(server.url + "/slack/events").status == 404
        assert get(server.url + "/").status == 404


def test_a_health_port_in_use_is_one_error_and_the_bot_runs_on(tmp_path: Path, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(tmp_path, reload_seconds=0, question_log=False, health_port=port)
        with running(settings) as bot, serving_health(settings, bot.health) as server:
            assert server is None
            until_the_articles_are_read(bot)
            assert bot.service.ask("Why did Ring drop Flock?", "U1", platform="slack").answered
    [error] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert f"cannot serve /healthz, /readyz and /metrics on 127.0.0.1:{port}" in error
