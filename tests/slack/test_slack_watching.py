"""`qabot slack` watched as an operator would: /healthz, /readyz and /metrics beside /slack/events in
HTTP mode, on QABOT_HEALTH_PORT in Socket Mode; Web API errors and retries counted; one log line
per question with an opaque request ID, as text or JSON."""

from __future__ import annotations

import json
import re
import time
from typing import Callable, TypeVar

from tests.support.health_client import get, metric, wait_until_ready
from tests.support.slack_payloads import ASKER, SignedSender, events_api_envelope, mention
from tests.support.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack

EVENTS_URL = r"serving Slack events at (http://127\.0\.0\.1:\d+)/slack/events"
HEALTH_URL = r"serving /healthz, /readyz and /metrics at (http://127\.0\.0\.1:\d+)"
QUESTION = "What did the Flock spokesperson tell the BBC?"
T = TypeVar("T")


def wait_until(read: Callable[[], T], done: Callable[[T], bool], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        assert time.monotonic() < deadline, f"still {value!r}"
        time.sleep(0.05)
    return value


def test_http_mode_serves_health_readiness_and_metrics_beside_the_events(start_qabot_slack, fake_slack: FakeSlack):
    qabot = start_qabot_slack(
        "--http", "--port", "0",
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, QABOT_SLACK_API_URL=fake_slack.api_url,
    )  # fmt: skip
    base = qabot.wait_for_line(EVENTS_URL).group(1)
    assert qabot.wait_for_line(HEALTH_URL).group(1) == base  # the same port
    assert get(base + "/healthz").body == "alive\n"
    ready = wait_until_ready(base)
    assert ready.status == 200 and ready.body == "ready: index, database, platform\n"

    sender = SignedSender(base + "/slack/events", SIGNING_SECRET)
    # A 500 from Slack is retried once (and the answer posted); then an error Slack will not take back.
    fake_slack.fail_next("chat.postMessage", status=500, error="internal_error")
    assert sender.post_event(mention(QUESTION)).status == 200
    fake_slack.wait_for_calls("chat.postMessage", 2)
    fake_slack.fail_next("chat.postMessage", error="invalid_auth")
    assert sender.post_event(mention("who is the ceo of the moon")).status == 200
    fake_slack.wait_for_calls("chat.postMessage", 4)  # the failed answer and its apology

    text = get(base + "/metrics").body
    assert metric(text, "qabot_questions_total", platform="slack", outcome="answered") == 1
    assert metric(text, "qabot_questions_total", platform="slack", outcome="not_found") == 1
    assert metric(text, "qabot_answer_seconds_count", platform="slack") == 2
    assert metric(text, "qabot_platform_api_retries_total", platform="slack") == 1
    assert metric(text, "qabot_platform_api_errors_total", platform="slack") == 1
    assert qabot.stop() == 0
    logged = "\n".join(qabot.lines)
    ids = re.findall(r"\[([0-9a-f]{12})\]: question on slack: (?:answered|not_found) in \d+ ms", logged)
    assert len(ids) == 2 and len(set(ids)) == 2  # one line per question, each its own request ID
    assert ASKER not in logged and QUESTION not in logged


def test_socket_mode_serves_them_on_the_health_port_and_readyz_follows_the_connection(
    start_qabot_slack, fake_slack: FakeSlack
):
    qabot = start_qabot_slack(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, QABOT_SLACK_API_URL=fake_slack.api_url,
        QABOT_LOG_FORMAT="json",
    )  # fmt: skip
    base = qabot.wait_for_line(HEALTH_URL).group(1)
    ready = wait_until_ready(base)
    assert ready.status == 200 and "platform" in ready.body
    envelope = events_api_envelope(mention(QUESTION))
    fake_slack.send_envelope(envelope)
    fake_slack.wait_for_ack(envelope["envelope_id"])
    fake_slack.wait_for_calls("chat.postMessage")
    text = get(base + "/metrics").body
    assert metric(text, "qabot_questions_total", platform="slack", outcome="answered") == 1

    # Slack closes the websocket and will not open another for a while: not ready, with the reason.
    fake_slack.fail_next("apps.connections.open", times=10_000)
    fake_slack.drop_socket_connections()
    not_ready = wait_until(lambda: get(base + "/readyz"), lambda reply: reply.status == 503)
    assert "platform: not connected to Slack (Socket Mode)" in not_ready.body
    assert get(base + "/healthz").status == 200
    fake_slack.stop_failing("apps.connections.open")
    assert wait_until_ready(base, timeout=60).status == 200

    assert qabot.stop() == 0
    records = [json.loads(line) for line in qabot.lines]  # every line is one JSON object
    [question] = [r for r in records if r.get("event") == "question"]
    assert question["level"] == "info" and question["platform"] == "slack" and question["outcome"] == "answered"
    assert re.fullmatch(r"[0-9a-f]{12}", question["request_id"])
    assert question["message"].startswith("question on slack: answered in ")
    for secret in (BOT_TOKEN, APP_TOKEN, ASKER):
        assert secret not in "\n".join(qabot.lines)
