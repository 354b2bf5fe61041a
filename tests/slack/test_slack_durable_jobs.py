"""With Redis, every Slack question is a durable job: two `qabot slack --http` replicas, a burst
of 300 mentions, and one replica killed with SIGKILL (or Redis restarted) in the middle of it.
Every question is answered exactly once."""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from slack_sdk import WebClient

from bot.adapters.slack.jobs import SlackJobAnswerer, job_for_event, job_metadata
from bot.app import build_service, stores_for
from bot.service.job_workers import JobResult
from bot.settings import Settings
from bot.stores.jobs import RedisJobQueue
from tests.support.redis_server import start_redis
from tests.support.replica_bursts import BurstDelivery
from tests.support.slack_payloads import CHANNEL, SignedSender, channel_message, mention, new_ts
from tests.support.slack_server import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, FakeSlack

EVENTS_URL = r"serving Slack events at (http://127\.0\.0\.1:\d+/slack/events)"
BURST = 300
CLAIM_SECONDS = "3"
QUESTIONS = [
    "Why did Ring end its deal with Flock?",
    "When did Ring and Flock announce the partnership?",
    "Did Ring send customer videos to Flock?",
    "What did the Flock spokesperson tell the BBC?",
]


def start_replicas(start_qabot_slack, fake_slack: FakeSlack, redis_url: str, count: int = 2):
    replicas = [
        start_qabot_slack(
            "--http", "--port", "0",
            SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, QABOT_SLACK_API_URL=fake_slack.api_url,
            QABOT_REDIS_URL=redis_url, QABOT_RATE_LIMIT="0/1", QABOT_JOB_CLAIM_SECONDS=CLAIM_SECONDS,
            QABOT_QUESTION_LOG="false",
        )  # fmt: skip
        for _ in range(count)
    ]
    senders = [SignedSender(replica.wait_for_line(EVENTS_URL).group(1), SIGNING_SECRET) for replica in replicas]
    for replica in replicas:
        replica.wait_for_line("answering durable question jobs from Redis")
    return replicas, senders


def burst() -> list[dict]:
    return [mention(QUESTIONS[n % len(QUESTIONS)], user=f"U0BURST{n:04d}") for n in range(BURST)]


def replies_per_thread(fake_slack: FakeSlack) -> Counter[str]:
    return Counter(c.params.get("thread_ts") for c in fake_slack.calls("chat.postMessage") if c.error is None)


def wait_until_every_thread_has_a_reply(fake_slack: FakeSlack, events: list[dict], timeout: float = 120) -> float:
    wanted = {e["event"]["ts"] for e in events}
    started = time.monotonic()
    while not wanted <= set(replies_per_thread(fake_slack)):
        missing = len(wanted - set(replies_per_thread(fake_slack)))
        assert time.monotonic() - started < timeout, f"{missing} of {len(wanted)} questions still unanswered"
        time.sleep(0.2)
    return time.monotonic() - started


def assert_answered_exactly_once(fake_slack: FakeSlack, events: list[dict]) -> None:
    # Longer than a claim: a job someone still held would have been taken over and posted by now.
    time.sleep(float(CLAIM_SECONDS) * 2 + 1)
    per_thread = replies_per_thread(fake_slack)
    doubled = {ts: n for ts, n in per_thread.items() if n != 1}
    assert doubled == {}, f"answered more than once: {doubled}"
    assert set(per_thread) == {e["event"]["ts"] for e in events}


def deliver_in_background(delivery: BurstDelivery, events: list[dict]) -> tuple[threading.Thread, list]:
    results: list = []
    thread = threading.Thread(target=lambda: results.extend(delivery.deliver_all(events)), daemon=True)
    thread.start()
    return thread, results


def wait_for_accepted(delivery: BurstDelivery, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while delivery.accepted < count:
        assert time.monotonic() < deadline, f"only {delivery.accepted} events accepted"
        time.sleep(0.01)


def taken_over(lines: list[str]) -> tuple[int, int]:
    """(jobs taken over and answered, jobs taken over whose reply was already there) in a log."""
    answered = sum(1 for line in lines if re.search(r"taken over \(delivery \d+\): no reply in Slack yet", line))
    found = sum(1 for line in lines if "taken over: its reply was already posted" in line)
    return answered, found


def test_a_replica_killed_mid_burst_loses_no_question_and_none_is_answered_twice(
    start_qabot_slack, fake_slack: FakeSlack, redis_url: str, record_property
):
    (doomed, survivor), senders = start_replicas(start_qabot_slack, fake_slack, redis_url)
    events = burst()
    delivery = BurstDelivery(senders, alive=lambda index: index != 0 or doomed.process.poll() is None)
    sending, results = deliver_in_background(delivery, events)

    wait_for_accepted(delivery, BURST // 3)
    doomed.process.kill()  # SIGKILL: no clean-up, jobs in hand and unread stay in Redis
    doomed.process.wait(timeout=10)
    answered_at_kill = len(fake_slack.calls("chat.postMessage"))
    sending.join(timeout=120)

    assert all(r.accepted_by is not None for r in results), "Slack got a 200 for every event, in the end"
    accepted_by_doomed = sum(1 for r in results if r.accepted_by == 0)
    assert 0 < accepted_by_doomed and answered_at_kill < BURST, "the kill came in the middle of the burst"
    seconds = wait_until_every_thread_has_a_reply(fake_slack, events)
    assert_answered_exactly_once(fake_slack, events)
    answered_after_takeover, found_posted = taken_over(survivor.lines)
    # What an operator watching /metrics sees: nothing waiting, and the survivor's take-overs.
    with urllib.request.urlopen(senders[1].url.replace("/slack/events", "/metrics"), timeout=10) as response:
        metrics = response.read().decode()
    assert re.search(r"^qabot_jobs_waiting 0\.0$", metrics, re.M), metrics
    reclaimed = re.search(r"^qabot_jobs_reclaimed_total (\d+)\.0$", metrics, re.M)
    assert reclaimed and int(reclaimed.group(1)) >= answered_after_takeover + found_posted
    record_property(
        "load figures",
        f"slack: kill -9 of 1 of 2 replicas after {BURST // 3} of {BURST} events were accepted: "
        f"{accepted_by_doomed} accepted by the killed one, {answered_at_kill} answered at the kill, "
        f"{answered_after_takeover} taken over and answered, {found_posted} taken over and found answered, "
        f"all {BURST} answered exactly once, the last {seconds:.1f} s after the burst was sent",
    )
    assert survivor.stop() == 0


def test_a_redis_restart_mid_burst_loses_no_question_and_none_is_answered_twice(
    start_qabot_slack, fake_slack: FakeSlack, tmp_path: Path, record_property
):
    redis_server = start_redis(tmp_path / "redis", durable=True)  # appendfsync always: what was queued survives
    try:
        replicas, senders = start_replicas(start_qabot_slack, fake_slack, redis_server.url)
        events = burst()
        delivery = BurstDelivery(senders)
        sending, results = deliver_in_background(delivery, events)
        wait_for_accepted(delivery, BURST // 3)
        redis_server.stop()
        down_at = delivery.accepted
        time.sleep(1.0)
        redis_server.start()  # the same port, its data read back from the append-only file
        sending.join(timeout=120)
        back_at = delivery.accepted

        assert all(r.accepted_by is not None for r in results)
        seconds = wait_until_every_thread_has_a_reply(fake_slack, events)
        assert_answered_exactly_once(fake_slack, events)
        logged = [line for replica in replicas for line in replica.lines]
        assert any("Redis" in line and "failed" in line for line in logged), "the outage really happened"
        settled = [re.search(r"queued (\d+) held question\(s\); (\d+) had been queued after all", line) for line in logged]
        held_then_queued = sum(int(m.group(1)) for m in settled if m)
        queued_after_all = sum(int(m.group(2)) for m in settled if m)
        record_property(
            "load figures",
            f"slack: Redis stopped for 1 s after {down_at} of {BURST} events were accepted ({back_at} by the end): "
            f"{held_then_queued} held and queued when it was back, {queued_after_all} held but queued after all, "
            f"all {BURST} answered exactly once, the last {seconds:.1f} s after the burst was sent",
        )
        for replica in replicas:
            assert replica.stop() == 0
    finally:
        redis_server.stop()


def test_a_job_taken_over_after_its_reply_was_posted_is_not_answered_again(
    tmp_path: Path, fake_slack: FakeSlack, redis_url: str
):
    # The gap a marker set after posting leaves: a replica posts the reply, then dies before
    # acknowledging the job. The replica that takes it over finds the tagged reply in the thread.
    settings = Settings.load(
        environ={"QABOT_REDIS_URL": redis_url, "QABOT_JOB_CLAIM_SECONDS": "0.2", "QABOT_QUESTION_LOG": "false"},
        dotenv_path=None,
        cache_dir=tmp_path / "cache",
    )
    dead, alive = stores_for(settings), stores_for(settings)
    assert isinstance(dead.jobs, RedisJobQueue) and isinstance(alive.jobs, RedisJobQueue)
    dead.jobs.ensure_group()
    service = build_service(settings, alive)
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    for posted_before_dying in (True, False):
        event = mention("Why did Ring end its deal with Flock?")
        job, keys = job_for_event(event, None, service)  # type: ignore[misc]
        job_id = dead.jobs.submit(job, keys)
        assert isinstance(job_id, str)
        assert dead.jobs.submit(job, keys) is False, "a repeated delivery is not queued twice"
        taken = dead.jobs.take(block_ms=100)
        assert taken is not None and taken.job_id == job_id and taken.deliveries == 1
        if posted_before_dying:
            client.chat_postMessage(
                channel=job.reply_to["channel"], thread_ts=job.reply_to["thread_ts"], text="the answer",
                metadata=job_metadata(job_id),
            )  # fmt: skip
        time.sleep(0.3)  # the dead replica renews nothing: its claim runs out
        reclaimed = alive.jobs.take(block_ms=100)
        assert reclaimed is not None and reclaimed.job_id == job_id and reclaimed.deliveries == 2
        result = SlackJobAnswerer(service, client, alive.jobs)(reclaimed)
        assert result is JobResult.DONE
        alive.jobs.done(reclaimed.job_id)
        replies = [c for c in fake_slack.calls("chat.postMessage") if c.params.get("thread_ts") == event["event"]["ts"]]
        assert len(replies) == 1, "one reply, whoever posted it"
    assert alive.jobs.stats.found_already_answered == 1
    assert alive.jobs.waiting() == 0, "answered jobs are deleted: no question text stays in Redis"
    service.close()


def test_questions_in_an_auto_answer_channel_are_durable_jobs_and_chatter_is_left_alone(
    start_qabot_slack, fake_slack: FakeSlack, redis_url: str
):
    qabot = start_qabot_slack(
        "--http", "--port", "0",
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, QABOT_SLACK_API_URL=fake_slack.api_url,
        QABOT_REDIS_URL=redis_url, QABOT_SLACK_AUTO_CHANNELS=CHANNEL, QABOT_QUESTION_LOG="false",
    )  # fmt: skip
    sender = SignedSender(qabot.wait_for_line(EVENTS_URL).group(1), SIGNING_SECRET)
    qabot.wait_for_line("answering durable question jobs from Redis")
    qabot.wait_for_line("ready: the articles are read")

    sender.post_event(channel_message("lol nice"))
    question = channel_message("why did ring drop flock")  # a question word, no "?", no mention
    sender.post_event(question)
    ts = new_ts()  # one message, as both the message and the app_mention events Slack sends
    sender.post_event(channel_message(f"<@{BOT_USER_ID}> When did Ring and Flock announce the partnership?", ts=ts))
    sender.post_event(mention("When did Ring and Flock announce the partnership?", ts=ts))

    replies = fake_slack.wait_for_calls("chat.postMessage", count=2)
    assert {reply.params["thread_ts"] for reply in replies} == {question["event"]["ts"], ts}
    qabot.wait_for_line(r"auto channel: answered in \d+ ms")  # the job workers answered it, not a listener
    time.sleep(1)
    assert len(fake_slack.calls("chat.postMessage")) == 2, "chatter unanswered, the mentioned message once"
    assert qabot.stop() == 0


def test_without_redis_there_is_no_job_queue_and_one_process_answers_as_before(tmp_path: Path):
    stores = stores_for(Settings.load(environ={}, dotenv_path=None, cache_dir=tmp_path / "cache"))
    assert stores.jobs is None
