"""Two `qabot slack --http` processes behind one Slack app, sharing a real Redis: an event that
reaches both (a retry sent to the other replica) is answered once, and the rate limit counts
questions sent to either."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from bot.answering.messages import RATE_LIMITED_MESSAGE
from tests.support.slack_payloads import SignedSender, mention
from tests.support.slack_server import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    texts_of,
)
from tests.support.redis_server import PASSWORD, RedisServer

EVENTS_URL = r"serving Slack events at (http://127\.0\.0\.1:\d+/slack/events)"


def start_replicas(start_qabot_slack, fake_slack: FakeSlack, redis_url: str, count: int = 2):
    replicas = [
        start_qabot_slack(
            "--http",
            "--port",
            "0",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            QABOT_SLACK_API_URL=fake_slack.api_url,
            QABOT_REDIS_URL=redis_url,
            QABOT_RATE_LIMIT="1/60",
            QABOT_LOG_LEVEL="debug",
        )
        for _ in range(count)
    ]
    senders = [SignedSender(replica.wait_for_line(EVENTS_URL).group(1), SIGNING_SECRET) for replica in replicas]
    return replicas, senders


def test_an_event_delivered_to_two_replicas_is_answered_once(
    start_qabot_slack, fake_slack: FakeSlack, redis_url: str, redis_server: RedisServer
):
    replicas, (replica_a, replica_b) = start_replicas(start_qabot_slack, fake_slack, redis_url)
    events = [mention("Did Ring send customer videos to Flock?", user=f"U0ASKER{n:03d}") for n in range(12)]

    def deliver_to_both(event: dict) -> list[int]:
        # Slack's first delivery to one replica and its retry to the other, at the same moment.
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(replica_a.post_event, event)
            retry = pool.submit(replica_b.post_event, event, retry_num=1)
            return [first.result().status, retry.result().status]

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(deliver_to_both, events))
    assert statuses == [[200, 200]] * len(events)

    fake_slack.wait_for_calls("chat.postMessage", len(events), timeout=30)
    fake_slack.assert_no_more_calls("chat.postMessage", expected=len(events), quiet_seconds=1.0)
    threads = sorted(c.params["thread_ts"] for c in fake_slack.calls("chat.postMessage"))
    assert threads == sorted(e["event"]["ts"] for e in events)

    logged = stop_all(replicas)
    assert logged.count(f"kept shared through Redis at redis://127.0.0.1:{redis_server.port}/0") == 2
    for secret in (PASSWORD, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in logged


def test_the_rate_limit_counts_questions_sent_to_either_replica(start_qabot_slack, fake_slack: FakeSlack, redis_url: str):
    replicas, (replica_a, replica_b) = start_replicas(start_qabot_slack, fake_slack, redis_url)
    assert replica_a.post_event(mention("Did Ring send customer videos to Flock?", user="U0ALICE")).status == 200
    fake_slack.wait_for_calls("chat.postMessage", 1)
    # Within the minute, to the other replica: 1/60 is already used up there too.
    assert replica_b.post_event(mention("What did the Flock spokesperson tell the BBC?", user="U0ALICE")).status == 200
    first, second = fake_slack.wait_for_calls("chat.postMessage", 2)
    assert RATE_LIMITED_MESSAGE not in " ".join(texts_of(first.params["blocks"]))
    assert texts_of(second.params["blocks"]) == [f":hourglass_flowing_sand: {RATE_LIMITED_MESSAGE}"]
    assert re.search(r"mention: rate_limited", stop_all(replicas))


def stop_all(replicas) -> str:
    for replica in replicas:
        assert replica.stop() == 0
    return "\n".join(line for replica in replicas for line in replica.lines)


def test_a_replica_whose_secret_differs_refuses_to_start_with_one_line(start_qabot_slack, fake_slack: FakeSlack, redis_url: str):
    (first,), _ = start_replicas(start_qabot_slack, fake_slack, redis_url, count=1)
    other = start_qabot_slack(
        "--http", "--port", "0",
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, QABOT_SLACK_API_URL=fake_slack.api_url,
        QABOT_REDIS_URL=redis_url, QABOT_SECRET="another-deployment-secret-0123456789abcdef",
    )  # fmt: skip
    code, lines = other.exit_code_and_lines()
    assert code == 2
    errors = [line for line in lines if line.startswith("qabot slack: ")]
    assert len(errors) == 1 and "QABOT_SECRET differs from the secret the other replicas use" in errors[0]
    assert "another-deployment-secret" not in "\n".join(lines) and "Traceback" not in "\n".join(lines)
    assert first.stop() == 0
