"""Discord's gateway goes away and comes back; Discord asks the bot to wait too long: the bot
resumes, answers what was asked meanwhile exactly once, and gives up a hopeless send cleanly."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.support.discord_harness import STEP_TIMEOUT, Server, bot_in_server, corpus_service
from tests.support.discord_server import FakeDiscord, RecordedRequest

pytestmark = pytest.mark.asyncio

QUESTION = "Why did Ring end its deal with Flock?"
OTHER_QUESTION = "When did Ring and Flock announce the partnership?"


async def ask(server: Server, username: str, text: str) -> dict:
    fake = server.discord
    return await fake.post_message(fake.user(username), f"<@{fake.bot.id}> {text}", mentions=(fake.bot,))


def replied_to(requests: list[RecordedRequest]) -> list[int]:
    return [r.body["message_reference"]["message_id"] for r in requests]


async def quiet_then_sent(server: Server, seconds: float = 0.5) -> list[RecordedRequest]:
    """Every message sent, after giving a stray second answer time to show up."""
    await asyncio.sleep(seconds)
    return server.discord.messages_sent()


async def until_reconnected(server: Server, identifies: int, resumes: int) -> None:
    fake = server.discord

    async def connected() -> None:
        while not (
            fake.connected_sessions() == 1
            and len(fake.identify_payloads) == identifies
            and len(fake.resume_payloads) == resumes
        ):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(connected(), STEP_TIMEOUT)


async def test_when_the_gateway_closes_the_connection_the_bot_resumes_and_answers_what_was_asked_meanwhile(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        before = await ask(server, "alice", QUESTION)
        await server.replies(count=1)
        sequence_seen = server.bot.ws.sequence

        await server.discord.close_gateway(code=4000)
        meanwhile = await ask(server, "bob", OTHER_QUESTION)  # kept by the session, replayed on resume
        await server.replies(count=2)
        after = await ask(server, "carol", QUESTION)
        await server.replies(count=3)
        sent = await quiet_then_sent(server)

    assert len(server.discord.identify_payloads) == 1, "resumed, not identified again"
    [resume] = server.discord.resume_payloads
    assert resume["seq"] == sequence_seen and resume["session_id"].startswith("session-")
    assert replied_to(sent) == [int(before["id"]), int(meanwhile["id"]), int(after["id"])]


async def test_events_replayed_again_after_a_resume_are_not_answered_twice(tmp_path):
    # Discord delivers at least once: here the resume replays the last three events the bot already had.
    async with bot_in_server(corpus_service(tmp_path), discord=FakeDiscord(replay_overlap=3)) as server:
        first = await ask(server, "alice", QUESTION)
        second = await ask(server, "bob", OTHER_QUESTION)
        await server.replies(count=2)
        await server.discord.close_gateway(code=4000)
        await until_reconnected(server, identifies=1, resumes=1)
        third = await ask(server, "carol", QUESTION)
        await server.replies(count=3)
        sent = await quiet_then_sent(server)

    assert sorted(replied_to(sent)) == sorted([int(first["id"]), int(second["id"]), int(third["id"])])


async def test_when_discord_will_not_resume_the_session_the_bot_identifies_again_and_keeps_answering(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await ask(server, "alice", QUESTION)
        await server.replies(count=1)
        await server.discord.close_gateway(code=4000, forget_sessions=True)
        await until_reconnected(server, identifies=2, resumes=1)
        later = await ask(server, "bob", OTHER_QUESTION)
        await server.replies(count=2)
        sent = await quiet_then_sent(server)
    assert replied_to(sent)[1:] == [int(later["id"])]


async def test_a_connection_that_just_drops_is_resumed_too(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await server.discord.close_gateway(abrupt=True)  # no close frame at all, as when a network fails
        await until_reconnected(server, identifies=1, resumes=1)
        asked = await ask(server, "alice", QUESTION)
        [reply] = await server.replies(count=1)
    assert replied_to([reply]) == [int(asked["id"])]


async def test_a_send_discord_delays_for_too_long_is_given_up_with_a_log_line_and_the_bot_goes_on(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    async with bot_in_server(corpus_service(tmp_path)) as server:
        # Retry-After of two minutes for the answer and for the apology: waiting would stall the bot.
        server.discord.answer_with_status("POST", r"/channels/\d+/messages", status=429, retry_after=120, times=2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await ask(server, "alice", QUESTION)
        await server.discord.wait_for_request(lambda r: r.status == 429, count=2, timeout=STEP_TIMEOUT)
        gave_up_after = loop.time() - started
        later = await ask(server, "bob", OTHER_QUESTION)
        [reply] = await server.replies(count=1)
    assert gave_up_after < 5
    assert replied_to([reply]) == [int(later["id"])]
    assert any(r.getMessage() == "replying to a message failed" for r in caplog.records)
    assert any(r.getMessage() == "could not send the apology either" for r in caplog.records)
