"""People follow up in Discord: a reply to the bot's answer, a mention in a thread the bot answered
in, "Ask qabot about this" on someone's message, and channels that answer by themselves."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.adapters.discord.client import ASK_ABOUT_COMMAND
from tests.discord.test_discord_cli import (
    assert_one_clear_line,
    fake_discord_settings,
    run_qabot,
)
from tests.support.discord_harness import Server, bot_in_server, corpus_service
from tests.support.discord_server import FakeDiscord, RecordedRequest

pytestmark = pytest.mark.asyncio

FIRST = "When did Ring cancel the Flock deal?"
REASON = "significantly more time and resources than anticipated"
EPHEMERAL = 64


def mention(server: Server, text: str) -> str:
    return f"<@{server.discord.bot.id}> {text}"


def sentences(request: RecordedRequest) -> list[str]:
    return [m for e in request.body.get("embeds", []) for m in re.findall(r"\*\*(.+?)\*\*", e["description"])]


def quoted_text(request: RecordedRequest) -> str:
    return " ".join(e["description"] for e in request.body.get("embeds", []))


async def test_a_reply_to_the_bots_answer_is_a_follow_up(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        fake, alice = server.discord, server.discord.user("alice")
        await fake.post_message(alice, mention(server, FIRST), mentions=(fake.bot,))
        [answer] = await server.replies()
        # A reply pings the replied-to author: the bot gets the content without any privileged intent.
        await fake.post_message(alice, "why?", reply_to=fake.bot_message(answer))
        _, why = await server.replies(count=2)
        await fake.post_message(alice, "tell me more", reply_to=fake.bot_message(why))
        _, _, more = await server.replies(count=3)

    assert why.body["content"].startswith(f"(about: {FIRST})")
    assert REASON in quoted_text(why)
    assert more.body["content"].startswith(f"(about: {FIRST})")
    assert sentences(more) and set(sentences(more)).isdisjoint(sentences(answer) + sentences(why))


async def test_a_mention_in_a_thread_the_bot_answered_in_follows_up_and_a_new_question_stands_alone(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        fake, bob = server.discord, server.discord.user("bob")
        thread = await fake.open_thread(bob, "ring and flock")
        await fake.post_message(bob, mention(server, FIRST), mentions=(fake.bot,), channel_id=thread)
        await server.replies()
        await fake.post_message(bob, mention(server, "why?"), mentions=(fake.bot,), channel_id=thread)
        _, why = await server.replies(count=2)
        await fake.post_message(
            bob, mention(server, "How much did Amazon pay for Ring?"), mentions=(fake.bot,), channel_id=thread
        )
        _, _, new = await server.replies(count=3)

    assert why.path == f"/channels/{thread}/messages"
    assert why.body["content"].startswith(f"(about: {FIRST})") and REASON in quoted_text(why)
    assert "(about:" not in new.body["content"]
    assert "$839 million" in quoted_text(new)


async def test_a_follow_up_in_another_thread_is_not_read_with_this_one(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        fake, bob = server.discord, server.discord.user("bob")
        first, second = await fake.open_thread(bob, "one"), await fake.open_thread(bob, "two")
        await fake.post_message(bob, mention(server, FIRST), mentions=(fake.bot,), channel_id=first)
        await server.replies()
        await fake.post_message(bob, mention(server, "why?"), mentions=(fake.bot,), channel_id=second)
        _, elsewhere = await server.replies(count=2)
    assert "(about:" not in (elsewhere.body["content"] or "") and not elsewhere.body.get("embeds")


async def test_ask_qabot_about_this_answers_about_another_persons_message_privately(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        fake = server.discord
        carol, dave = fake.user("carol"), fake.user("dave")
        target = fake.message_payload(carol, "Ring cancelled the Flock deal, but why did they drop it?")
        await fake.run_message_command(dave, ASK_ABOUT_COMMAND, target)
        [callback] = await fake.wait_for_request(lambda r: r.path.endswith("/callback"))
        [followup] = await server.replies()

    registered = [r for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert any(c.get("type") == 3 and c["name"] == ASK_ABOUT_COMMAND for r in registered for c in r.body)
    assert callback.body["data"]["flags"] & EPHEMERAL and followup.body["flags"] & EPHEMERAL
    link = f"https://discord.com/channels/{fake.guild_id}/{fake.channel_id}/{target['id']}"
    assert link in followup.body["content"]
    assert REASON in quoted_text(followup)
    assert not fake.reactions_added()  # nobody else sees it, so no 👍/👎 to click


async def test_ask_qabot_about_this_can_answer_in_public(tmp_path):
    async with bot_in_server(corpus_service(tmp_path), ask_about_private=False) as server:
        fake = server.discord
        target = fake.message_payload(fake.user("carol"), "How much did Amazon pay for Ring?")
        await fake.run_message_command(fake.user("dave"), ASK_ABOUT_COMMAND, target)
        [followup] = await server.replies()
    assert not followup.body.get("flags", 0) & EPHEMERAL and "$839 million" in quoted_text(followup)


async def test_an_auto_answer_channel_answers_questions_in_a_thread_and_ignores_chatter(tmp_path):
    fake = FakeDiscord(message_content_enabled=True)
    async with bot_in_server(corpus_service(tmp_path), discord=fake, auto_channels=frozenset({fake.channel_id})) as server:
        erin = fake.user("erin")
        await fake.post_message(erin, "lol nice")
        question = await fake.post_message(erin, FIRST)  # no mention
        [answer] = await server.replies()
        await fake.post_message(erin, "thanks all, that settles it")
        await asyncio.sleep(0.3)
        sent = fake.messages_sent()

    [opened] = [r for r in fake.requests if r.path.endswith("/threads")]
    assert opened.path == f"/channels/{fake.channel_id}/messages/{question['id']}/threads"
    assert opened.body["name"] == FIRST
    assert answer.path == f"/channels/{question['id']}/messages"  # in the thread, which has the message's ID
    assert sentences(answer)
    assert sent == [answer]


async def test_a_forum_post_in_an_auto_answer_forum_is_answered_in_its_post(tmp_path):
    fake = FakeDiscord(message_content_enabled=True)
    async with bot_in_server(
        corpus_service(tmp_path), discord=fake, auto_channels=frozenset({fake.forum_channel_id})
    ) as server:
        post = await fake.post_in_forum(fake.user("erin"), "Ring and Flock", "Why did Ring drop Flock?")
        [answer] = await server.replies()
    assert answer.path == f"/channels/{post['id']}/messages" and REASON in quoted_text(answer)
    assert not [r for r in fake.requests if r.path.endswith("/threads")]


async def test_without_auto_channels_the_bot_asks_for_no_message_content(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await server.discord.post_message(server.discord.user("erin"), FIRST)
        await asyncio.sleep(0.3)
        assert not server.discord.messages_sent()
    assert not int(server.discord.identify_payloads[0]["intents"]) & (1 << 15)


async def test_auto_channels_without_the_message_content_intent_stop_with_one_line(tmp_path):
    async with FakeDiscord(message_content_enabled=False) as fake:
        finished = await run_qabot(
            tmp_path,
            DISCORD_TOKEN=fake.token,
            QABOT_DISCORD_AUTO_CHANNELS=str(fake.channel_id),
            QABOT_QUESTION_LOG="false",
            **fake_discord_settings(fake),
        )
    assert_one_clear_line(finished, "QABOT_DISCORD_AUTO_CHANNELS", "Message Content Intent")


async def test_help_lists_the_articles_from_the_corpus(tmp_path):
    from bot.app import load_core
    from tests.support.discord_harness import corpus_settings

    core = load_core(corpus_settings(tmp_path))
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await server.discord.post_message(server.discord.user("alice"), mention(server, "help"), mentions=(server.discord.bot,))
        [reply] = await server.replies()
    content = reply.body["content"]
    assert content.startswith(f"I answer from {len(core.articles)} articles") and not reply.body.get("embeds")
    titled = [a for a in core.articles if a.title]
    assert titled and all(a.title in content for a in titled)
    assert "<https://www.bbc.com/news/articles/cwy8dxz1g7zo>" in content  # a link, without a preview
    assert core.example_question in content
