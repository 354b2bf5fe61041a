"""The job queue on its own, against a real Redis: what a job carries, repeats, questions held
through an outage, and the claim a working replica keeps."""

from __future__ import annotations

import time
from pathlib import Path

from bot.app import stores_for
from bot.settings import Settings
from bot.stores.jobs import QuestionJob, RedisJobQueue
from tests.support.redis_server import RedisServer


def queue_for(tmp_path: Path, redis_url: str, claim: str = "0.3") -> RedisJobQueue:
    settings = Settings.load(
        environ={"QABOT_REDIS_URL": redis_url, "QABOT_JOB_CLAIM_SECONDS": claim},
        dotenv_path=None,
        cache_dir=tmp_path / "cache",
    )
    jobs = stores_for(settings).jobs
    assert jobs is not None
    jobs.ensure_group()
    return jobs


def a_job(question: str = "why did ring drop flock?", **extra: object) -> QuestionJob:
    return QuestionJob(platform="slack", surface="mention", question=question, user_key="k" * 32,
                       reply_to={"channel": "C1", "thread_ts": "1.1", "ts": "1.1"}, **extra)  # type: ignore[arg-type]


def test_a_job_carries_odd_unicode_and_grows_without_breaking_older_replicas():
    odd = "why \ud800 did <!channel> \u202e ring drop flock? " + "🙂" * 50
    job = a_job(odd)
    assert QuestionJob.decode(job.encode()) == job
    assert job.encode().isascii()
    # A newer replica's field is ignored by this one; a missing one takes its default.
    newer = job.encode()[:-1] + ', "thread_history": ["an earlier answer"]}'
    assert QuestionJob.decode(newer) == job
    assert QuestionJob.decode('{"platform": "slack", "surface": "mention", "question": "q", "user_key": "u"}').reply_to == {}


def test_a_repeated_event_is_queued_once_and_an_answered_job_is_deleted(tmp_path: Path, redis_url: str):
    jobs = queue_for(tmp_path, redis_url)
    job_id = jobs.submit(a_job(), ["slack:event:Ev1", "slack:message:C1:1.1"])
    assert isinstance(job_id, str)
    assert jobs.submit(a_job(), ["slack:event:Ev2", "slack:message:C1:1.1"]) is False  # same message, other event
    taken = jobs.take(block_ms=100)
    assert taken is not None and taken.job_id == job_id and taken.deliveries == 1
    assert jobs.take(block_ms=50) is None
    jobs.done(job_id)
    assert jobs.waiting() == 0


def test_a_replica_working_on_a_job_keeps_it_and_one_that_stopped_loses_it(tmp_path: Path, redis_url: str):
    working, other = queue_for(tmp_path, redis_url), queue_for(tmp_path, redis_url)
    job_id = working.submit(a_job(), ["slack:event:Ev3"])
    assert working.take(block_ms=100) is not None
    for _ in range(4):  # renewing more often than the claim runs out
        time.sleep(0.1)
        assert working.renew(job_id)
        assert other.take(block_ms=10) is None
    time.sleep(0.4)  # no renewal: the claim runs out
    taken = other.take(block_ms=10)
    assert taken is not None and taken.job_id == job_id and taken.deliveries == 2
    assert not working.still_mine(job_id), "the first replica learns it before posting"
    assert other.still_mine(job_id)


def test_questions_arriving_while_redis_is_down_are_held_then_queued_once(tmp_path: Path, private_redis: RedisServer):
    replica_a, replica_b = queue_for(tmp_path, private_redis.url), queue_for(tmp_path, private_redis.url)
    private_redis.stop()
    answered_here: list[QuestionJob] = []
    # Slack delivered the same event to both replicas (a retry) while Redis was down.
    assert replica_a.submit(a_job(), ["slack:event:Ev4"]) is None
    assert replica_b.submit(a_job(), ["slack:event:Ev4"]) is None
    assert replica_a.submit(a_job("another"), ["slack:event:Ev5"]) is None
    replica_a.resolve_held(answered_here.append)
    assert replica_a.held() == 2 and answered_here == [], "held, not answered at once"
    private_redis.start()
    private_redis.client().xgroup_create(replica_a.stream, replica_a.group, id="0", mkstream=True)
    replica_a.resolve_held(answered_here.append)
    replica_b.resolve_held(answered_here.append)
    assert replica_a.held() == replica_b.held() == 0 and answered_here == []
    assert replica_a.waiting() == 2, "each question queued once"


def test_a_question_held_through_a_long_outage_is_answered_by_its_replica(tmp_path: Path, private_redis: RedisServer):
    jobs = queue_for(tmp_path, private_redis.url)
    private_redis.stop()
    answered_here: list[QuestionJob] = []
    assert jobs.submit(a_job(), ["slack:event:Ev6"]) is None
    jobs.resolve_held(answered_here.append, hold_seconds=0.0)
    assert [j.question for j in answered_here] == ["why did ring drop flock?"] and jobs.held() == 0
