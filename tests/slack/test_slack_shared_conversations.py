"""Two `qabot slack --http` replicas on one Redis: a mention is a durable job, answered by
whichever replica takes it, and the thread is still a conversation for both. "why?" without a
mention, sent to the replica that did not answer, is a follow-up; "tell me more" with a mention
(a job again) shows passages not shown yet; a restarted deployment still knows the thread."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.slack_payloads import OTHER_ASKER, SignedSender, channel_message, direct_message, mention, new_ts
from tests.support.slack_server import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, FakeSlack, texts_of

EVENTS_URL = r"serving Slack events at (http://127\.0\.0\.1:\d+/slack/events)"
FIRST = "When did Ring cancel the Flock deal?"
REASON = "significantly more time and resources than anticipated"
JOB_ANSWERED = r"(mention|direct message|thread): answered in"


def start_replicas(start_qabot_slack, fake_slack: FakeSlack, redis_url: str, count: int = 2):
    replicas = [
        start_qabot_slack(
            "--http", "--port", "0",
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, QABOT_SLACK_API_URL=fake_slack.api_url,
            QABOT_REDIS_URL=redis_url, QABOT_RATE_LIMIT="0/1", QABOT_QUESTION_LOG="false",
        )  # fmt: skip
        for _ in range(count)
    ]
    senders = [SignedSender(replica.wait_for_line(EVENTS_URL).group(1), SIGNING_SECRET) for replica in replicas]
    for replica in replicas:
        replica.wait_for_line("answering durable question jobs from Redis")
        replica.wait_for_line("ready: the articles are read")
    return replicas, senders


def quoted(call) -> list[str]:
    return [t for t in texts_of(call.params.get("blocks", [])) if t.startswith(">")]


def which_answered(replicas, timeout: float = 10) -> int:
    """The replica whose job worker logged answering the one job so far."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = [n for n, replica in enumerate(replicas) if answered_jobs(replica)]
        if answered:
            return answered[0]
        time.sleep(0.05)
    raise AssertionError("\n".join(line for replica in replicas for line in replica.lines))


def wait_for_any_line(replicas, pattern: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not any(re.search(pattern, line) for replica in replicas for line in replica.lines):
        assert time.monotonic() < deadline, f"no replica logged {pattern!r}"
        time.sleep(0.05)


def answered_jobs(replica) -> int:
    return sum(1 for line in replica.lines if re.search(JOB_ANSWERED, line))


def test_a_thread_a_job_answered_is_followed_up_without_a_mention_on_the_other_replica(
    start_qabot_slack, fake_slack: FakeSlack, redis_url: str
):
    replicas, senders = start_replicas(start_qabot_slack, fake_slack, redis_url)
    question = mention(FIRST)
    thread = question["event"]["ts"]
    assert senders[0].post_event(question).status == 200
    [first] = fake_slack.wait_for_calls("chat.postMessage", 1, timeout=30)
    # Whichever replica's worker took the job, "why?" goes to the other one.
    answerer = which_answered(replicas)
    other = 1 - answerer

    assert senders[other].post_event(channel_message("why?", thread_ts=thread, user=OTHER_ASKER)).status == 200
    _, why = fake_slack.wait_for_calls("chat.postMessage", 2, timeout=30)
    assert why.params["thread_ts"] == thread
    assert f"_About:_ {FIRST}" in texts_of(why.params["blocks"])
    assert REASON in " ".join(quoted(why))
    # Without a mention too, a follow-up in the bot's thread is a durable job (any replica answers it).
    wait_for_any_line(replicas, r"thread: answered in")

    # With a mention: a durable job again, answered by either replica, in the same conversation.
    assert senders[answerer].post_event(mention("tell me more", thread_ts=thread)).status == 200
    *_, more = fake_slack.wait_for_calls("chat.postMessage", 3, timeout=30)
    assert f"_About:_ {FIRST}" in texts_of(more.params["blocks"])
    assert quoted(more) and set(quoted(more)).isdisjoint(quoted(first) + quoted(why))

    # A thread the bot never answered in is still left alone, on both replicas.
    for sender in senders:
        sender.post_event(channel_message("why?", thread_ts="1700000000.000001"))
    fake_slack.assert_no_more_calls("chat.postMessage", 3, quiet_seconds=1.5)
    for replica in replicas:
        assert replica.stop() == 0
        # A quiet queue is no outage: the workers' blocking reads stay within the Redis timeout.
        assert not any("Redis failed" in line for line in replica.lines)


def test_a_conversation_outlives_the_replica_that_answered_it(start_qabot_slack, fake_slack: FakeSlack, redis_url: str):
    (first_replica,), (first_sender,) = start_replicas(start_qabot_slack, fake_slack, redis_url, count=1)
    question = mention(FIRST)
    first_sender.post_event(question)
    fake_slack.wait_for_calls("chat.postMessage", 1, timeout=30)
    dm = direct_message("Why did Ring drop Flock?")
    first_sender.post_event(dm)
    fake_slack.wait_for_calls("chat.postMessage", 2, timeout=30)
    assert first_replica.stop() == 0

    # A new replica (a deploy, a restart): the thread and the direct-message conversation go on.
    (second_replica,), (second_sender,) = start_replicas(start_qabot_slack, fake_slack, redis_url, count=1)
    second_sender.post_event(channel_message("why?", thread_ts=question["event"]["ts"]))
    *_, why = fake_slack.wait_for_calls("chat.postMessage", 3, timeout=30)
    assert f"_About:_ {FIRST}" in texts_of(why.params["blocks"]) and REASON in " ".join(quoted(why))
    second_sender.post_event(direct_message("who said that?", channel=dm["event"]["channel"]))
    *_, who = fake_slack.wait_for_calls("chat.postMessage", 4, timeout=30)
    assert "_About:_ Why did Ring drop Flock?" in texts_of(who.params["blocks"])
    second_replica.wait_for_line(r"direct message: answered in")  # durable jobs, answered in their conversations
    second_replica.wait_for_line(r"thread: answered in")
    assert second_replica.stop() == 0


@pytest.mark.parametrize("first_event", ["app_mention", "message"])
def test_a_mention_in_the_thread_sent_as_both_events_to_both_replicas_is_answered_once(
    start_qabot_slack, fake_slack: FakeSlack, redis_url: str, first_event: str
):
    replicas, senders = start_replicas(start_qabot_slack, fake_slack, redis_url)
    question = mention(FIRST)
    senders[0].post_event(question)
    fake_slack.wait_for_calls("chat.postMessage", 1, timeout=30)
    ts, thread = new_ts(), question["event"]["ts"]
    as_mention = mention("why?", ts=ts, thread_ts=thread)
    as_message = channel_message(f"<@{BOT_USER_ID}> why?", ts=ts, thread_ts=thread)
    first, second = (as_mention, as_message) if first_event == "app_mention" else (as_message, as_mention)
    # Each event to another replica, then Slack's retries of both to both.
    assert senders[0].post_event(first).status == 200
    assert senders[1].post_event(second).status == 200
    for sender in senders:
        for delivery in (first, second):
            assert sender.post_event(delivery, retry_num=1).status == 200
    _, why = fake_slack.wait_for_calls("chat.postMessage", 2, timeout=30)
    fake_slack.assert_no_more_calls("chat.postMessage", 2, quiet_seconds=2.0)
    assert f"_About:_ {FIRST}" in texts_of(why.params["blocks"]) and REASON in " ".join(quoted(why))
    for replica in replicas:
        assert replica.stop() == 0
