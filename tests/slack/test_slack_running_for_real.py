"""The whole admin story with real processes: `qabot slack` runs, the admin adds an article with
`qabot add` and sends SIGHUP, people ask and vote 👎, and `qabot report` shows it."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.support.processes import run_qabot
from tests.support.slack_payloads import (
    ASKER,
    OTHER_ASKER,
    SignedSender,
    button_click,
    mention,
)
from tests.support.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.support.local_site import article_html
from tests.support.slack_helpers import everything_shown
from tests.support.slack_processes import RunningQabot, environment

CANONICAL = "https://tribune.example/2026/02/20/flock-drones"


def qabot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_qabot(*args, env=env, cwd=cwd)


def test_an_article_added_to_a_running_slack_bot_is_quoted_after_sighup_and_a_thumbs_down_is_reported(
    tmp_path: Path, index_cache_dir: Path, fake_slack: FakeSlack, articles: Path
):
    log = tmp_path / "private" / "questions.sqlite3"
    env = environment(
        tmp_path,
        index_cache_dir,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        QABOT_SLACK_API_URL=fake_slack.api_url,
        QABOT_CORPUS_DIR=str(articles),
        QABOT_QUESTION_LOG_PATH=str(log),
        QABOT_RELOAD_SECONDS="0",  # only the signal makes it look
    )
    running = RunningQabot(["--http", "--port", "0"], env, tmp_path)
    try:
        url = running.wait_for_line(r"serving Slack events at (http://127\.0\.0\.1:\d+/slack/events)").group(1)
        sender = SignedSender(url, SIGNING_SECRET)

        page = tmp_path / "drones.html"
        page.write_bytes(article_html())
        added = qabot("add", str(page), env=env, cwd=tmp_path)
        assert added.returncode == 0, added.stderr
        running.process.send_signal(signal.SIGHUP)
        running.wait_for_line(r"reloaded the articles")

        sender.post_event(mention("How many more cities will get Flock's drones?"))
        [reply] = fake_slack.wait_for_calls("chat.postMessage")
        shown = everything_shown(reply)
        assert "forty more cities" in shown and CANONICAL in shown
        down = next(
            e for b in reply.params["blocks"] if b["type"] == "actions" for e in b["elements"] if "down" in e["action_id"]
        )
        assert sender.post_interaction(
            button_click(down["action_id"], down["value"], fake_slack.response_url("vote"), user=OTHER_ASKER)
        ).status == 200
        fake_slack.wait_for_calls("response_url")  # the thanks: the vote is in
        assert running.stop() == 0
    finally:
        if running.process.poll() is None:
            running.process.kill()

    report = qabot("report", env=env, cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    downvoted = report.stdout.split("Answers marked 👎")[1]
    assert "How many more cities will get Flock's drones?" in downvoted and "👎 1" in downvoted
    assert "shown: example-tribune-flock-safety-expands-drone-program: Flock Safety said" in downvoted
    logged = "\n".join(running.lines)
    assert "Traceback" not in logged
    for raw in (ASKER, OTHER_ASKER, BOT_TOKEN, SIGNING_SECRET):
        assert raw not in logged
        assert raw.encode() not in log.read_bytes()
