"""Two bot processes on one Discord token both receive every event: with a shared Redis,
each question is answered once and the rate limit counts questions handled by either."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import AsyncIterator

import pytest
from tests.support.discord_harness import connected_bot, corpus_settings
from tests.support.discord_server import FakeDiscord, RecordedRequest

from bot.answering.messages import RATE_LIMITED_MESSAGE
from bot.app import build_service, stores_for
from bot.settings import Secret, Settings
from bot.stores.ratelimit import RateLimit

pytestmark = pytest.mark.asyncio

QUESTIONS = [
    "Why did Ring end its deal with Flock?",
    "When did Ring and Flock announce the partnership?",
    "Did Ring send customer videos to Flock?",
    "What did the Flock spokesperson tell the BBC?",
]


@contextlib.asynccontextmanager
async def two_replicas(fake: FakeDiscord, settings: Settings) -> AsyncIterator[None]:
    """Two bots as two processes would be: each with its own service and its own stores."""
    replicas = []
    for _ in range(2):
        stores = stores_for(settings)
        replicas.append((build_service(settings, stores), stores.seen_events))
    (service_a, seen_a), (service_b, seen_b) = replicas
    async with connected_bot(fake, service_a, seen=seen_a), connected_bot(fake, service_b, seen=seen_b):
        assert fake.connected_sessions() == 2
        yield


async def ask_everything(fake: FakeDiscord) -> list[int]:
    """Eight mentions and two /ask from different people; the IDs of the mentions and interactions."""
    asked = []
    for number, question in enumerate(QUESTIONS * 2):
        user = fake.user(f"user{number}")
        message = await fake.post_message(user, f"<@{fake.bot.id}> {question}", mentions=(fake.bot,))
        asked.append(int(message["id"]))
    for question in QUESTIONS[:2]:
        interaction = await fake.run_slash_command(fake.user("slasher"), "ask", question=question)
        asked.append(int(interaction["id"]))
    return asked


async def settle(fake: FakeDiscord, count: int) -> list[RecordedRequest]:
    await fake.wait_for_request(lambda r: r.is_message_send() and r.status == 200, count=count, timeout=15)
    await asyncio.sleep(0.7)  # time for a second answer to arrive, if one were coming
    return fake.messages_sent()


def answered_messages(sent: list[RecordedRequest]) -> list[int]:
    return [r.body["message_reference"]["message_id"] for r in sent if r.body.get("message_reference")]


def interaction_callbacks(fake: FakeDiscord) -> list[int]:
    return [int(r.path.split("/")[2]) for r in fake.requests if r.path.endswith("/callback")]


async def test_two_replicas_sharing_redis_answer_every_question_exactly_once(tmp_path: Path, redis_url: str):
    settings = corpus_settings(tmp_path, redis_url=Secret(redis_url))
    async with FakeDiscord() as fake, two_replicas(fake, settings):
        asked = await ask_everything(fake)
        sent = await settle(fake, count=10)
    assert sorted(answered_messages(sent)) == sorted(asked[:8])
    assert sorted(interaction_callbacks(fake)) == sorted(asked[8:])
    assert len(sent) == 10


async def test_the_rate_limit_counts_questions_answered_by_either_replica(tmp_path: Path, redis_url: str):
    # One replica at a time, so which one answers is certain: A answers two, then B refuses the third.
    settings = corpus_settings(tmp_path, redis_url=Secret(redis_url), rate_limit=RateLimit(2, 60))
    async with FakeDiscord() as fake:
        alice = fake.user("alice")
        for _replica, questions in (("A", QUESTIONS[:2]), ("B", QUESTIONS[2:3])):
            stores = stores_for(settings)
            async with connected_bot(fake, build_service(settings, stores), seen=stores.seen_events):
                for question in questions:
                    await fake.post_message(alice, f"<@{fake.bot.id}> {question}", mentions=(fake.bot,))
                await fake.wait_for_request(lambda r: r.is_message_send(), count=len(fake.messages_sent()) + len(questions))
        sent = fake.messages_sent()
    assert [r.body["content"] == RATE_LIMITED_MESSAGE for r in sent] == [False, False, True]


async def test_without_redis_each_replica_answers_on_its_own_which_is_why_replicas_need_it(tmp_path: Path):
    # The control for the tests above: the fake really delivers every event to both bots.
    settings = corpus_settings(tmp_path)
    async with FakeDiscord() as fake, two_replicas(fake, settings):
        alice = fake.user("alice")
        asked = await fake.post_message(alice, f"<@{fake.bot.id}> {QUESTIONS[0]}", mentions=(fake.bot,))
        sent = await settle(fake, count=2)
    assert answered_messages(sent) == [int(asked["id"])] * 2
