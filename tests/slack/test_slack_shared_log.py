"""Two `qabot slack --http` processes writing one PostgreSQL question log: a vote reaches the log
whichever replica receives it, and `qabot report` reads every replica's questions at once; a
replica hashing IDs with another key is refused at start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bot.adapters.slack.formatting import VOTE_DOWN_ACTION
from tests.slack.test_slack_replicas import EVENTS_URL, stop_all
from tests.support.postgres_server import PASSWORD as DATABASE_PASSWORD
from tests.support.slack_payloads import OTHER_ASKER, SignedSender, button_click, mention
from tests.support.slack_processes import environment
from tests.support.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack

LOG_SECRET = "one-secret-every-replica-shares-0a9f3c"


def replica(start_qabot_slack, fake_slack: FakeSlack, database_url: str, secret: str = LOG_SECRET):
    return start_qabot_slack(
        "--http",
        "--port",
        "0",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        QABOT_SLACK_API_URL=fake_slack.api_url,
        QABOT_DATABASE_URL=database_url,
        QABOT_SECRET=secret,
        QABOT_HEALTH_PORT="0",
    )


def report(tmp_path: Path, index_cache_dir: Path, database_url: str) -> dict:
    env = environment(tmp_path, index_cache_dir, QABOT_DATABASE_URL=database_url)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert DATABASE_PASSWORD not in done.stdout + done.stderr
    return json.loads(done.stdout)


def test_two_replicas_write_one_log_and_a_vote_counts_whichever_replica_gets_it(
    start_qabot_slack, fake_slack: FakeSlack, postgres_url: str, tmp_path: Path, index_cache_dir: Path
):
    replicas = [replica(start_qabot_slack, fake_slack, postgres_url) for _ in range(2)]
    senders = [SignedSender(r.wait_for_line(EVENTS_URL).group(1), SIGNING_SECRET) for r in replicas]
    questions = ["What did the Flock spokesperson tell the BBC?", "who is the ceo of the moon"]
    for sender, question in zip(senders, questions, strict=True):
        assert sender.post_event(mention(question)).status == 200
    replies = fake_slack.wait_for_calls("chat.postMessage", 2, timeout=30)
    answer_ids = sorted(
        element["value"]
        for reply in replies
        for block in reply.params.get("blocks", [])
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == VOTE_DOWN_ACTION
    )
    assert len(answer_ids) == 2 and len(set(answer_ids)) == 2  # one sequence of IDs for both replicas

    # 👎 on each answer, each click sent to the replica that did NOT answer it.
    for sender, answer_id in zip(reversed(senders), answer_ids, strict=True):
        response_url = fake_slack.response_url(f"vote-{answer_id}")
        click = button_click(VOTE_DOWN_ACTION, answer_id, response_url, user=OTHER_ASKER)
        assert sender.post_interaction(click).status == 200
    fake_slack.wait_for_calls("response_url", 2, timeout=30)

    deadline = time.monotonic() + 15
    while True:
        data = report(tmp_path, index_cache_dir, postgres_url)
        if len(data["downvoted"]) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert data["total"] == 2
    assert sorted(d["question"] for d in data["downvoted"]) == sorted(questions)
    assert data["log"].startswith("PostgreSQL 127.0.0.1:")
    logged = stop_all(replicas)
    assert DATABASE_PASSWORD not in logged and LOG_SECRET not in logged


def test_a_replica_with_another_key_refuses_to_start(
    start_qabot_slack, fake_slack: FakeSlack, postgres_url: str
):
    first = replica(start_qabot_slack, fake_slack, postgres_url)
    first.wait_for_line(EVENTS_URL)
    other = replica(start_qabot_slack, fake_slack, postgres_url, secret="a-different-secret-on-this-replica")
    assert other.process.wait(timeout=60) == 2
    time.sleep(0.5)  # the last stderr lines are still being read
    said = "\n".join(other.lines)
    assert "hashes IDs with another key" in said and "QABOT_SECRET" in said
    assert "a-different-secret" not in said and LOG_SECRET not in said and "Traceback" not in said
    assert first.stop() == 0
