"""Two `qabot discord` processes on one bot token share a Redis: every mention is a durable job.
A burst of 300 mentions, one process killed with SIGKILL in the middle of it: every question is
answered exactly once, by a reply that references it."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.discord_server import FakeDiscord
from tests.support.processes import ends_with_the_tests

pytestmark = pytest.mark.asyncio

BURST = 300
CLAIM_SECONDS = "3"
QUESTIONS = [
    "Why did Ring end its deal with Flock?",
    "When did Ring and Flock announce the partnership?",
    "Did Ring send customer videos to Flock?",
    "What did the Flock spokesperson tell the BBC?",
]


async def start_replica(tmp_path: Path, fake: FakeDiscord, redis_url: str, cache: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "QABOT_", "SLACK_"))}
    env.update(
        HOME=str(tmp_path), QABOT_CACHE_DIR=str(cache), QABOT_LOG_LEVEL="info",
        DISCORD_TOKEN=fake.token, DISCORD_GUILD_ID=str(fake.guild_id),
        QABOT_DISCORD_API_URL=fake.api_url, QABOT_DISCORD_GATEWAY_URL=fake.gateway_url,
        QABOT_REDIS_URL=redis_url, QABOT_RATE_LIMIT="0/1", QABOT_JOB_CLAIM_SECONDS=CLAIM_SECONDS,
        QABOT_QUESTION_LOG="false",
    )  # fmt: skip
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "discord",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        preexec_fn=ends_with_the_tests,
    )  # fmt: skip


def replies_per_question(fake: FakeDiscord) -> Counter[int]:
    return Counter(
        int(r.body["message_reference"]["message_id"])
        for r in fake.messages_sent()
        if r.status == 200 and (r.body or {}).get("message_reference")
    )


async def until(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_a_replica_killed_mid_burst_loses_no_question_and_none_is_answered_twice(
    tmp_path: Path, redis_url: str, record_property
):
    cache = tmp_path / "cache"
    async with FakeDiscord() as fake:
        replicas = [await start_replica(tmp_path, fake, redis_url, cache) for _ in range(2)]
        doomed, survivor = replicas
        try:
            await until(lambda: fake.connected_sessions() == 2, 90, "both replicas to connect")
            asked: list[int] = []
            answered_at_kill = 0
            for number in range(BURST):
                user = fake.user(f"asker{number}")
                message = await fake.post_message(
                    user, f"<@{fake.bot.id}> {QUESTIONS[number % len(QUESTIONS)]}", mentions=(fake.bot,)
                )
                asked.append(int(message["id"]))
                if number == BURST // 3:
                    # Both replicas are answering by now; SIGKILL one mid-burst.
                    await until(lambda: len(replies_per_question(fake)) >= 20, 60, "the first answers")
                    doomed.kill()
                    await doomed.wait()
                    answered_at_kill = len(replies_per_question(fake))
                if number % 20 == 0:
                    await asyncio.sleep(0)  # let the fake's server breathe, as a real burst spreads a little
            seconds = await until(lambda: set(asked) <= set(replies_per_question(fake)), 120, "every answer")
            await asyncio.sleep(float(CLAIM_SECONDS) * 2 + 1)  # a job still held would be taken over by now
            per_question = replies_per_question(fake)
            assert {m: n for m, n in per_question.items() if n != 1} == {}, "answered more than once"
            assert set(per_question) == set(asked)
            assert answered_at_kill < BURST
        finally:
            for process in replicas:
                if process.returncode is None:
                    process.terminate()
            logs = []
            for process in replicas:
                try:
                    logs.append((await asyncio.wait_for(process.communicate(), 30))[1].decode())
                except asyncio.TimeoutError:
                    process.kill()
        assert survivor.returncode == 0
        survivor_log = logs[1]
        record_property(
            "load figures",
            f"discord: kill -9 of 1 of 2 replicas after {BURST // 3 + 1} of {BURST} mentions "
            f"({answered_at_kill} answered then): {survivor_log.count('no reply in Discord yet; answering it')} "
            f"taken over and answered, {survivor_log.count('its reply was already posted')} taken over and found "
            f"answered; all {BURST} answered exactly once, the last {seconds:.1f} s after the burst was sent",
        )
