"""People vote 👍/👎 on the bot's answers in Discord; each vote lands in the private question log.

The real discord.py client runs against the fake Discord on 127.0.0.1: the bot's
own reactions are the requests it makes, people's clicks are gateway events.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support.discord_harness import STEP_TIMEOUT, Server, bot_in_server, corpus_service

from bot.stores.questionlog.report import LoggedAnswer, read_answers

pytestmark = pytest.mark.asyncio

QUESTION = "Why did Ring end its deal with Flock?"


def log_path(tmp_path: Path) -> Path:
    return tmp_path / "log" / "questions.sqlite3"


async def feedback_buttons(server: Server, count: int = 2) -> list[tuple[int, int, str]]:
    await server.discord.wait_for_request(
        lambda r: r.method == "PUT" and "/reactions/" in r.path, count=count, timeout=STEP_TIMEOUT
    )
    return server.discord.reactions_added()


async def logged_votes(tmp_path: Path, expected: tuple[int, int]) -> LoggedAnswer:
    """The one logged answer, once its (👍, 👎) counts are `expected` (votes are recorded off the event loop)."""
    deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
    while True:
        [row] = read_answers(log_path(tmp_path))
        if (row.up_votes, row.down_votes) == expected or asyncio.get_running_loop().time() > deadline:
            return row
        await asyncio.sleep(0.05)


async def test_the_bot_offers_thumbs_under_its_answer_and_records_a_click(tmp_path):
    service = corpus_service(tmp_path, question_log_path=log_path(tmp_path))
    async with bot_in_server(service) as server:
        fake = server.discord
        alice, bob = fake.user("alice"), fake.user("bob")
        await fake.post_message(alice, f"<@{fake.bot.id}> {QUESTION}", mentions=(fake.bot,))
        [reply] = await server.replies()
        buttons = await feedback_buttons(server)
        channel_id, message_id, _ = buttons[0]
        assert [emoji for *_, emoji in buttons] == ["👍", "👎"]
        assert {(c, m) for c, m, _ in buttons} == {(fake.channel_id, message_id)}

        await fake.react(fake.bot, channel_id, message_id, "👍")  # the bot's own reaction comes back as an event
        await fake.react(bob, channel_id, message_id, "👎")
        row = await logged_votes(tmp_path, (0, 1))
        assert (row.up_votes, row.down_votes) == (0, 1) and row.platform == "discord"
        assert row.question == QUESTION

        await fake.react(bob, channel_id, message_id, "👍")  # bob changes his mind: still one vote
        row = await logged_votes(tmp_path, (1, 0))
        assert (row.up_votes, row.down_votes) == (1, 0)
        await fake.react(bob, channel_id, message_id, "👍", remove=True)  # and takes it back
        row = await logged_votes(tmp_path, (0, 0))
        assert (row.up_votes, row.down_votes) == (0, 0)

        await fake.react(alice, channel_id, message_id, "🎉")  # not a vote
        await fake.react(alice, channel_id, message_id + 1, "👎")  # not an answer of the bot's
        await fake.react(alice, channel_id, message_id, "👎🏽")  # a vote, whatever the skin tone
        row = await logged_votes(tmp_path, (0, 1))
        assert (row.up_votes, row.down_votes) == (0, 1)
    assert reply.body["message_reference"]
    service.close()


async def test_a_public_slash_answer_gets_thumbs_and_a_private_one_does_not(tmp_path):
    service = corpus_service(tmp_path, question_log_path=log_path(tmp_path))
    async with bot_in_server(service) as server:
        alice = server.discord.user("alice")
        await server.discord.run_slash_command(alice, "ask", question=QUESTION, private=True)
        await server.replies()
        await server.discord.run_slash_command(alice, "ask", question=QUESTION)
        await server.replies(count=2)
        buttons = await feedback_buttons(server)
        await asyncio.sleep(0.2)  # nothing more comes for the private answer
        assert len(server.discord.reactions_added()) == 2
        channel_id, message_id, _ = buttons[0]
        await server.discord.react(alice, channel_id, message_id, "👍")
        deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
        while not any(r.up_votes for r in read_answers(log_path(tmp_path))):
            assert asyncio.get_running_loop().time() < deadline, "the vote was not recorded"
            await asyncio.sleep(0.05)
    private, public = read_answers(log_path(tmp_path))
    assert (private.up_votes, public.up_votes) == (0, 1)
    service.close()


async def test_no_thumbs_when_the_question_log_is_off(tmp_path):
    service = corpus_service(tmp_path, question_log=False)
    async with bot_in_server(service) as server:
        alice = server.discord.user("alice")
        await server.discord.post_message(alice, f"<@{server.discord.bot.id}> {QUESTION}", mentions=(server.discord.bot,))
        await server.replies()
        await asyncio.sleep(0.3)
        assert server.discord.reactions_added() == []
    service.close()


async def test_a_refused_reaction_costs_the_votes_not_the_answer(tmp_path, caplog):
    service = corpus_service(tmp_path, question_log_path=log_path(tmp_path))
    async with bot_in_server(service) as server:
        server.discord.answer_with_status("PUT", r"/channels/\d+/messages/\d+/reactions/.+", status=403, times=5)
        alice = server.discord.user("alice")
        await server.discord.post_message(alice, f"<@{server.discord.bot.id}> {QUESTION}", mentions=(server.discord.bot,))
        [reply] = await server.replies()
        await server.discord.wait_for_request(lambda r: r.status == 403)
        await asyncio.sleep(0.2)
        assert len(server.discord.messages_sent()) == 1  # no apology: the answer went out fine
    assert reply.body["embeds"]
    assert any("could not offer 👍/👎" in r.getMessage() for r in caplog.records)
    service.close()
