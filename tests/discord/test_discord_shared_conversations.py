"""With Redis, Discord mentions and replies to the bot are durable jobs, and their conversations
are shared: a reply to an answer one replica posted is a follow-up when another replica answers
it, and so is a mention in a thread the bot answered in. Real bots, the fake Discord, real Redis."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import build_service, stores_for
from bot.settings import Secret
from tests.support.discord_harness import STEP_TIMEOUT, connected_bot, corpus_settings
from tests.support.discord_server import FakeDiscord, RecordedRequest

pytestmark = pytest.mark.asyncio

FIRST = "When did Ring cancel the Flock deal?"
REASON = "significantly more time and resources than anticipated"
SECRET = "one deployment secret for both replicas, 0123456789abcdef"


def replica(settings):
    """One replica as `qabot discord` builds it: its own service and stores, the job queue among them."""
    stores = stores_for(settings)
    assert stores.jobs is not None
    return build_service(settings, stores), stores


def sentences(request: RecordedRequest) -> list[str]:
    return [m for e in request.body.get("embeds", []) for m in re.findall(r"\*\*(.+?)\*\*", e["description"])]


def quoted_text(request: RecordedRequest) -> str:
    return " ".join(e["description"] for e in request.body.get("embeds", []))


async def replies(fake: FakeDiscord, count: int) -> list[RecordedRequest]:
    return await fake.wait_for_request(lambda r: r.is_message_send() and r.status == 200, count=count, timeout=STEP_TIMEOUT * 2)


async def test_a_reply_to_an_answer_another_replica_posted_is_a_follow_up(tmp_path: Path, redis_url: str):
    settings = corpus_settings(tmp_path, redis_url=Secret(redis_url), secret=Secret(SECRET), question_log=False)
    async with FakeDiscord() as fake:
        alice = fake.user("alice")
        service, stores = replica(settings)
        async with connected_bot(fake, service, seen=stores.seen_events, jobs=stores.jobs):
            await fake.post_message(alice, f"<@{fake.bot.id}> {FIRST}", mentions=(fake.bot,))
            [answer] = await replies(fake, 1)
        service.close()

        # That replica is gone (a deploy); the next one answers the reply to its answer.
        service, stores = replica(settings)
        async with connected_bot(fake, service, seen=stores.seen_events, jobs=stores.jobs):
            await fake.post_message(alice, "why?", reply_to=fake.bot_message(answer))
            _, why = await replies(fake, 2)
            await fake.post_message(alice, "tell me more", reply_to=fake.bot_message(why))
            _, _, more = await replies(fake, 3)
        service.close()

    assert why.body["content"].startswith(f"(about: {FIRST})")
    assert REASON in quoted_text(why)
    assert more.body["content"].startswith(f"(about: {FIRST})")
    assert sentences(more) and set(sentences(more)).isdisjoint(sentences(answer) + sentences(why))


async def test_a_mention_in_a_thread_is_a_follow_up_whichever_of_two_replicas_answers(tmp_path: Path, redis_url: str):
    settings = corpus_settings(tmp_path, redis_url=Secret(redis_url), secret=Secret(SECRET), question_log=False)
    (service_a, stores_a), (service_b, stores_b) = replica(settings), replica(settings)
    async with FakeDiscord() as fake:
        bob = fake.user("bob")
        async with connected_bot(fake, service_a, seen=stores_a.seen_events, jobs=stores_a.jobs), connected_bot(
            fake, service_b, seen=stores_b.seen_events, jobs=stores_b.jobs
        ):
            thread = await fake.open_thread(bob, "ring and flock")
            await fake.post_message(bob, f"<@{fake.bot.id}> {FIRST}", mentions=(fake.bot,), channel_id=thread)
            await replies(fake, 1)
            await fake.post_message(bob, f"<@{fake.bot.id}> why?", mentions=(fake.bot,), channel_id=thread)
            _, why = await replies(fake, 2)
            elsewhere = await fake.open_thread(bob, "something else")
            await fake.post_message(bob, f"<@{fake.bot.id}> why?", mentions=(fake.bot,), channel_id=elsewhere)
            *_, alone = await replies(fake, 3)
    for service in (service_a, service_b):
        service.close()

    assert why.path == f"/channels/{thread}/messages"
    assert why.body["content"].startswith(f"(about: {FIRST})") and REASON in quoted_text(why)
    assert "(about:" not in (alone.body["content"] or "")
