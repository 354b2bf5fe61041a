"""An admin runs `qabot slack` as a real process: a wrong setup ends with one line naming the problem,
a right one answers questions in either mode and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from corpus import render_article
from tests.support.slack_payloads import ASKER, HttpResult, SignedSender, events_api_envelope, mention
from tests.support.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.support.slack_helpers import SPOKESPERSON, everything_shown
from tests.support.processes import run_qabot
from tests.support.synthetic import articles as synthetic_articles
from tests.support.waiting import accepts_connections
from tests.support.slack_processes import STARTUP_TIMEOUT, RunningQabot, environment

EVENTS_URL = r"serving Slack events at (http://127\.0\.0\.1:\d+/slack/events)"


def qabot_slack(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_qabot("slack", *args, env=env, cwd=cwd, timeout=STARTUP_TIMEOUT)  # cwd: a folder without a .env file


def free_port_in_use() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def run_qabot_slack(tmp_path: Path, index_cache_dir: Path):
    def run(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        return qabot_slack(list(args), environment(tmp_path, index_cache_dir, **settings), tmp_path)

    return run


@pytest.mark.parametrize(
    ("args", "settings", "problem"),
    [
        ([], {}, "SLACK_BOT_TOKEN is not set"),
        ([], {"SLACK_BOT_TOKEN": "hunter2-not-a-token"}, "SLACK_BOT_TOKEN is malformed"),
        ([], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN is not set"),
        (
            [],
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-pasted-in-the-wrong-box"},
            "SLACK_APP_TOKEN is malformed",
        ),
        # --port 0: HTTP mode binds its port before anything else (tests run side by side).
        (["--http", "--port", "0"], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET is not set"),
        (
            ["--http", "--port", "0"],
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "xoxb-not-a-secret"},
            "SLACK_SIGNING_SECRET is malformed",
        ),
    ],
)
def test_a_missing_or_malformed_token_or_secret_is_named_in_one_line(run_qabot_slack, args, settings, problem):
    result = run_qabot_slack(*args, **settings)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"qabot slack: {problem}")
    for value in settings.values():
        assert value not in result.stderr + result.stdout


def test_a_bot_token_slack_rejects_is_named(run_qabot_slack, fake_slack: FakeSlack):
    result = run_qabot_slack(
        SLACK_BOT_TOKEN="xoxb-revoked-token", SLACK_APP_TOKEN=APP_TOKEN, QABOT_SLACK_API_URL=fake_slack.api_url
    )
    assert result.returncode == 2
    assert result.stderr == "qabot slack: SLACK_BOT_TOKEN was rejected by Slack (invalid_auth)\n"
    assert [c.method for c in fake_slack.calls()] == ["auth.test"]


def test_an_app_token_slack_rejects_is_named(run_qabot_slack, fake_slack: FakeSlack):
    result = run_qabot_slack(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN="xapp-1-revoked", QABOT_SLACK_API_URL=fake_slack.api_url
    )
    assert result.returncode == 2
    assert result.stderr == "qabot slack: SLACK_APP_TOKEN was rejected by Slack (invalid_auth)\n"


def test_an_unreachable_web_api_is_named_with_the_setting_that_points_there(run_qabot_slack):
    [port] = list(free_port_in_use())  # bound then released: nothing listens there now
    result = run_qabot_slack(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, QABOT_SLACK_API_URL=f"http://127.0.0.1:{port}/api"
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"qabot slack: cannot reach the Slack Web API at http://127.0.0.1:{port}/api/ (QABOT_SLACK_API_URL): "
    )


def test_a_missing_corpus_folder_is_named_after_the_tokens_pass(run_qabot_slack, fake_slack: FakeSlack, tmp_path):
    result = run_qabot_slack(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        QABOT_SLACK_API_URL=fake_slack.api_url,
        QABOT_CORPUS_DIR=str(tmp_path / "no-such-folder"),
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"qabot slack: {tmp_path / 'no-such-folder'}: no such folder of articles (check QABOT_CORPUS_DIR)"
    )
    assert "Traceback" not in result.stderr


def test_a_port_already_in_use_is_named(run_qabot_slack, fake_slack: FakeSlack):
    for port in free_port_in_use():
        result = run_qabot_slack(
            "--http",
            "--port",
            str(port),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            QABOT_SLACK_API_URL=fake_slack.api_url,
        )
        assert result.returncode == 2
        assert (
            result.stderr.splitlines()[-1] == f"qabot slack: cannot listen on 127.0.0.1:{port}: Address already in use"
        )
        assert "Traceback" not in result.stderr


def serving_over_http(
    start_qabot_slack, fake_slack: FakeSlack, ready: bool = True, **settings: str
) -> tuple[RunningQabot, SignedSender]:
    """`qabot slack --http` on a free port with the fake's tokens, once it serves (and, with
    `ready`, once it has read the articles), and a sender of signed events to it."""
    qabot = start_qabot_slack(
        "--http", "--port", "0",
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, QABOT_SLACK_API_URL=fake_slack.api_url,
        **settings,
    )  # fmt: skip
    sender = SignedSender(qabot.wait_for_line(EVENTS_URL).group(1), SIGNING_SECRET)
    if ready:
        qabot.wait_for_line(r"ready: the articles are read")
    return qabot, sender


def test_qabot_slack_http_answers_a_signed_mention_and_stops_cleanly(start_qabot_slack, fake_slack: FakeSlack):
    qabot, sender = serving_over_http(start_qabot_slack, fake_slack)  # ready: before, questions would be told so
    assert sender.post_event(mention("What did the Flock spokesperson tell the BBC?")).status == 200
    [reply] = fake_slack.wait_for_calls("chat.postMessage")
    assert SPOKESPERSON in everything_shown(reply)
    assert qabot.stop() == 0
    logged = "\n".join(qabot.lines)
    assert "Traceback" not in logged
    # One line per question at info level, with an opaque request ID (no user, channel or question).
    assert re.search(r"\[[0-9a-f]{12}\]: question on slack: answered in \d+ ms \(answer \d+\)", logged)
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, ASKER):
        assert secret not in logged


def test_stopping_qabot_slack_lets_the_answers_being_worked_out_finish_and_be_logged(
    start_qabot_slack, fake_slack: FakeSlack
):
    qabot, sender = serving_over_http(start_qabot_slack, fake_slack)
    askers = [f"U{number:09d}" for number in range(40)]  # forty people: none is rate-limited
    for asker in askers:
        assert sender.post_event(mention("What did the Flock spokesperson tell the BBC?", user=asker)).status == 200
    assert qabot.stop() == 0  # SIGTERM as soon as the last one is acknowledged, most not yet answered

    replies = fake_slack.wait_for_calls("chat.postMessage", count=len(askers))
    assert all(SPOKESPERSON in everything_shown(reply) for reply in replies)
    logged = "\n".join(qabot.lines)
    assert "question log failed" not in logged and "Traceback" not in logged
    # Each one recorded before the question log closed: each has an answer ID for its votes.
    assert len(re.findall(r"question on slack: answered in \d+ ms \(answer \d+\)", logged)) == len(askers)


def test_qabot_slack_starts_and_answers_with_a_broken_article_in_the_folder(
    start_qabot_slack, fake_slack: FakeSlack, tmp_path: Path, articles: Path
):
    (articles / "draft.md").write_bytes(b"---\ntitle: Draft\npublished: 13 Feb\n---\n\nA draft.\n")
    qabot, sender = serving_over_http(start_qabot_slack, fake_slack, QABOT_CORPUS_DIR=str(articles))
    sender.post_event(mention("What did the Flock spokesperson tell the BBC?"))
    [reply] = fake_slack.wait_for_calls("chat.postMessage")
    assert SPOKESPERSON in everything_shown(reply)
    assert qabot.stop() == 0
    named = [line for line in qabot.lines if "draft.md" in line]
    assert len(named) == 1 and "ERROR" in named[0] and "line 3" in named[0] and "bad date" in named[0]


def test_qabot_slack_http_listens_at_once_and_says_it_is_still_reading_while_the_first_index_is_built(
    start_qabot_slack, fake_slack: FakeSlack, tmp_path: Path, articles: Path
):
    # 3,000 articles: a build of some seconds (the session cache has no index of this folder)
    for article in synthetic_articles(60_000):
        (articles / f"{article.article_id}.md").write_text(render_article(article), encoding="utf-8")
    qabot, sender = serving_over_http(start_qabot_slack, fake_slack, ready=False, QABOT_CORPUS_DIR=str(articles))
    assert sender.post_event(mention("What did the Flock spokesperson tell the BBC?")).status == 200
    [early] = fake_slack.wait_for_calls("chat.postMessage")
    assert "I'm still reading the articles" in everything_shown(early) and "ask again in a minute" in everything_shown(early)

    qabot.wait_for_line(r"ready: the articles are read")
    position = {what: next(i for i, line in enumerate(qabot.lines) if what in line) for what in ("serving", "ready:")}
    assert position["serving"] < position["ready:"], "listening came first, the index after"
    assert sender.post_event(mention("What did the Flock spokesperson tell the BBC?")).status == 200
    [_, later] = fake_slack.wait_for_calls("chat.postMessage", count=2)
    assert SPOKESPERSON in everything_shown(later)
    assert qabot.stop() == 0
    assert any("still being read" in line and "building" in line for line in qabot.lines)


def test_qabot_slack_in_socket_mode_answers_an_envelope_and_stops_cleanly(start_qabot_slack, fake_slack: FakeSlack):
    qabot = start_qabot_slack(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, QABOT_SLACK_API_URL=fake_slack.api_url
    )
    qabot.wait_for_line(r"connected to Slack in Socket Mode")
    qabot.wait_for_line(r"ready: the articles are read")
    envelope = events_api_envelope(mention("What did the Flock spokesperson tell the BBC?"))
    fake_slack.send_envelope(envelope)
    fake_slack.wait_for_ack(envelope["envelope_id"])
    [reply] = fake_slack.wait_for_calls("chat.postMessage")
    assert SPOKESPERSON in everything_shown(reply)
    assert qabot.stop() == 0
    logged = "\n".join(qabot.lines)
    assert "Traceback" not in logged
    # One line per question at info level, with an opaque request ID (no user, channel or question).
    assert re.search(r"\[[0-9a-f]{12}\]: question on slack: answered in \d+ ms \(answer \d+\)", logged)
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, ASKER):
        assert secret not in logged


def test_qabot_slack_http_takes_a_request_sent_while_it_is_still_starting_and_answers_it(
    start_qabot_slack, fake_slack: FakeSlack
):
    # The start is held at its check of the bot token with Slack (before the app and the service
    # exist): a request sent then waits in the listening socket's queue and is answered, not refused.
    release_auth = fake_slack.hold("auth.test")
    [port] = list(free_port_in_use())  # bound then released: free for the bot
    qabot = start_qabot_slack(
        "--http",
        "--port",
        str(port),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        QABOT_SLACK_API_URL=fake_slack.api_url,
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not accepts_connections(port):
        assert time.monotonic() < deadline and qabot.process.poll() is None, f"never listened: {qabot.lines}"
        time.sleep(0.02)
    replies: list[HttpResult] = []
    sender = SignedSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    asking = threading.Thread(
        target=lambda: replies.append(sender.post_event(mention("What did the Flock spokesperson tell the BBC?")))
    )
    asking.start()
    asking.join(timeout=1.0)
    assert asking.is_alive() and not any("serving Slack events" in line for line in qabot.lines), (
        "the request waits while the bot is still starting"
    )
    release_auth()
    asking.join(timeout=STARTUP_TIMEOUT)
    assert [reply.status for reply in replies] == [200]
    [posted] = fake_slack.wait_for_calls("chat.postMessage", timeout=STARTUP_TIMEOUT)
    shown = everything_shown(posted)
    assert SPOKESPERSON in shown or "I'm still reading the articles" in shown
    assert qabot.stop() == 0


SERVING_LIBRARIES = ("redis", "psycopg", "discord")


def test_qabot_slack_with_default_settings_imports_neither_redis_nor_psycopg(
    tmp_path: Path, index_cache_dir: Path, fake_slack: FakeSlack
):
    # Default settings: no QABOT_REDIS_URL (this process keeps the stores), the question log on
    # in its SQLite file (no QABOT_DATABASE_URL). Both libraries take ~0.3 s each to import.
    report = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(report)!r}, 'w').write(json.dumps(sorted("
        f"{{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {SERVING_LIBRARIES!r}}}))))\n"
        "from bot.cli.main import main\n"
        "sys.exit(main(['slack', '--http', '--port', '0']))\n"
    )
    question_log = tmp_path / "questions.sqlite3"
    env = environment(
        tmp_path, index_cache_dir,
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, QABOT_SLACK_API_URL=fake_slack.api_url,
        QABOT_QUESTION_LOG_PATH=str(question_log),
    )  # fmt: skip
    assert "QABOT_QUESTION_LOG" not in env and "QABOT_REDIS_URL" not in env and "QABOT_DATABASE_URL" not in env
    qabot = RunningQabot([], env, tmp_path, command=[sys.executable, "-c", code])
    url = qabot.wait_for_line(EVENTS_URL).group(1)
    qabot.wait_for_line(r"ready: the articles are read")
    SignedSender(url, SIGNING_SECRET).post_event(mention("What did the Flock spokesperson tell the BBC?"))
    [reply] = fake_slack.wait_for_calls("chat.postMessage")
    assert SPOKESPERSON in everything_shown(reply)
    assert question_log.exists()  # the question log is on, in its SQLite file
    assert qabot.stop() == 0
    assert json.loads(report.read_text()) == []
