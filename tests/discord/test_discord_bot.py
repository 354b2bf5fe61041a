"""People ask the bot in a Discord server; the real discord.py client answers through a fake Discord.

Every test starts a fake Discord on 127.0.0.1, connects the real bot to it
(REST login, gateway HELLO/IDENTIFY/READY), plays a user, and asserts on the
requests that reached the fake. Answers come from the real question service
over the bundled articles unless a test needs a failing or special corpus.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import string

import discord
import pytest
from tests.support.discord_harness import Server, bot_in_server, corpus_service
from tests.support.discord_server import FakeDiscord, RecordedRequest

from bot.adapters.discord.formatting import (
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBEDS_PER_MESSAGE,
    EMBEDS_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    discord_length,
)
from bot.answering.answer import Answer
from bot.app import example_question
from bot.answering.messages import ERROR_MESSAGE, RATE_LIMITED_MESSAGE
from bot.service.questions import QuestionService
from bot.stores.ratelimit import RateLimit, SlidingWindowLimiter
from corpus import BUNDLED_DIR

pytestmark = pytest.mark.asyncio

BBC_URL = "https://www.bbc.com/news/articles/cwy8dxz1g7zo"
QUESTION = "Why did Ring end its deal with Flock?"
EPHEMERAL = 64
DEFERRED_CHANNEL_MESSAGE = 5
MESSAGE_CONTENT_INTENT = 1 << 15


def mention(server: Server, text: str) -> str:
    return f"<@{server.discord.bot.id}> {text}"


async def ask_by_mention(server: Server, author, text: str, **options) -> dict:
    return await server.discord.post_message(author, mention(server, text), mentions=(server.discord.bot,), **options)


def bold_sentences(request: RecordedRequest) -> list[str]:
    return [m for e in request.body.get("embeds", []) for m in re.findall(r"\*\*(.+?)\*\*", e["description"])]


def source_fields(request: RecordedRequest) -> list[str]:
    return [f["value"] for e in request.body.get("embeds", []) for f in e["fields"] if f["name"] == "Source"]


def bundled_article_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in BUNDLED_DIR.glob("*.md"))


def assert_within_discord_limits(request: RecordedRequest) -> None:
    body = request.body
    embeds = body.get("embeds", [])
    assert discord_length(body.get("content") or "") <= CONTENT_LIMIT
    assert len(embeds) <= EMBEDS_PER_MESSAGE
    total = 0
    for embed in embeds:
        assert discord_length(embed.get("description", "")) <= EMBED_DESCRIPTION_LIMIT
        total += discord_length(embed.get("title") or "") + discord_length(embed.get("description", ""))
        for field in embed.get("fields", []):
            assert discord_length(field["value"]) <= FIELD_VALUE_LIMIT
            total += discord_length(field["name"]) + discord_length(field["value"])
    assert total <= EMBEDS_TOTAL_LIMIT


# -- asking by @mention and by direct message ------------------------------------


async def test_a_mention_is_answered_in_reply_with_the_source_link(tmp_path):
    expected = corpus_service(tmp_path).ask(QUESTION, "someone-else")
    async with bot_in_server(corpus_service(tmp_path)) as server:
        alice = server.discord.user("alice")
        question = await ask_by_mention(server, alice, QUESTION)

        [reply] = await server.replies()

    assert reply.path == f"/channels/{server.discord.channel_id}/messages"
    assert reply.body["message_reference"]["message_id"] == int(question["id"])
    assert reply.body["allowed_mentions"] == {"parse": []}
    assert reply.body["content"] == expected.message
    assert bold_sentences(reply) == [p.sentence for p in expected.passages]
    first = expected.passages[0].source
    assert f"[{first.label} · {first.publisher}]({first.url})" in source_fields(reply)
    assert all(sentence in bundled_article_text() for sentence in bold_sentences(reply))


async def test_a_source_without_a_url_is_named_without_a_link(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await ask_by_mention(server, server.discord.user("alice"), "Why did Amazon drop plans to partner with Flock Safety?")
        [reply] = await server.replies()
    nbc = [value for value in source_fields(reply) if "NBC News" in value]
    assert nbc and all("](" not in value for value in nbc), "NBC's article has no URL in the corpus"


async def test_other_outlets_carrying_the_same_passage_are_listed_as_also_reported_by(tmp_path):
    question = "Did any Ring videos go to Flock?"
    expected = corpus_service(tmp_path).ask(question, "someone-else")
    [shared] = [p for p in expected.passages if p.also_reported_by]
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await ask_by_mention(server, server.discord.user("alice"), question)
        [reply] = await server.replies()
    [embed] = [e for e in reply.body["embeds"] if f"**{shared.sentence}**" in e["description"]]
    also = {f["name"]: f["value"] for f in embed["fields"]}["Also reported by"]
    assert f"({BBC_URL})" in also and "BBC News" in also


async def test_when_the_articles_do_not_answer_the_bot_says_so_and_marks_the_closest_passages(tmp_path):
    question = "What colour is the Ring doorbell?"
    # A confidence bar no passage reaches, so the core declines whatever its tuning.
    strict = {"min_confidence": 0.99}
    expected = corpus_service(tmp_path, **strict).ask(question, "someone-else")
    async with bot_in_server(corpus_service(tmp_path, **strict)) as server:
        await ask_by_mention(server, server.discord.user("alice"), question)
        await server.replies()
        await ask_by_mention(server, server.discord.user("bob"), "What is the weather on Mars?")
        closest, nothing = await server.replies(count=2)

    assert closest.body["content"].splitlines() == [expected.message, expected.coverage]
    assert len(closest.body["embeds"]) == len(expected.passages) > 0
    assert all(e["title"] == "Closest passage (not an answer)" for e in closest.body["embeds"])
    assert "don't mention" in nothing.body["content"] and not nothing.body.get("embeds")


async def test_messages_not_for_the_bot_are_ignored(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        fake = server.discord
        alice, other_bot = fake.user("alice"), fake.user("newsbot", bot=True)
        await fake.post_message(alice, "Why did Ring end its deal with Flock?")  # no mention
        await fake.post_message(alice, f"@everyone {QUESTION}", mention_everyone=True)
        await fake.post_message(other_bot, mention(server, QUESTION), mentions=(fake.bot,))
        await fake.post_message(fake.bot, mention(server, QUESTION), mentions=(fake.bot,))  # its own message
        asked = await ask_by_mention(server, alice, QUESTION)

        await server.replies()
        # Events are handled in order, so the ignored ones were handled before this reply.
        await asyncio.sleep(0.2)
        replies = fake.messages_sent()

    assert [r.body["message_reference"]["message_id"] for r in replies] == [int(asked["id"])]


async def test_a_direct_message_is_answered_in_the_conversation(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        alice = server.discord.user("alice")
        await server.discord.post_message(alice, QUESTION, direct=True)
        [reply] = await server.replies()
    assert reply.path == f"/channels/{server.discord.dm_channel_id(alice)}/messages"
    assert "message_reference" not in reply.body
    assert reply.body["allowed_mentions"] == {"parse": []}
    assert bold_sentences(reply)


async def test_a_message_delivered_twice_is_answered_once(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        alice = server.discord.user("alice")
        first = await ask_by_mention(server, alice, QUESTION)
        await ask_by_mention(server, alice, QUESTION, message_id=int(first["id"]))  # redelivered
        second = await ask_by_mention(server, alice, "When did Ring and Flock announce the partnership?")

        await server.replies(count=2)
        await asyncio.sleep(0.2)
        replied_to = [r.body["message_reference"]["message_id"] for r in server.discord.messages_sent()]

    assert sorted(replied_to) == sorted([int(first["id"]), int(second["id"])])


# -- the /ask slash command ---------------------------------------------------------


async def test_slash_ask_is_deferred_at_once_then_followed_up_with_the_answer(tmp_path):
    expected = corpus_service(tmp_path).ask(QUESTION, "someone-else")
    async with bot_in_server(corpus_service(tmp_path)) as server:
        interaction = await server.discord.run_slash_command(server.discord.user("alice"), "ask", question=QUESTION)
        [callback] = await server.discord.wait_for_request(lambda r: r.path.endswith("/callback"))
        [followup] = await server.replies()

    assert callback.path == f"/interactions/{interaction['id']}/{interaction['token']}/callback"
    assert callback.body["type"] == DEFERRED_CHANNEL_MESSAGE
    assert not (callback.body.get("data") or {}).get("flags", 0) & EPHEMERAL
    assert server.discord.requests.index(callback) < server.discord.requests.index(followup)
    assert followup.path == f"/webhooks/{server.discord.application_id}/{interaction['token']}"
    assert not followup.body.get("flags", 0) & EPHEMERAL
    assert followup.body["content"] == f"> {QUESTION}\n{expected.message}"
    assert bold_sentences(followup) == [p.sentence for p in expected.passages]
    assert followup.body["allowed_mentions"] == {"parse": []}


async def test_a_private_ask_is_shown_only_to_the_asker(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await server.discord.run_slash_command(server.discord.user("alice"), "ask", question=QUESTION, private=True)
        [callback] = await server.discord.wait_for_request(lambda r: r.path.endswith("/callback"))
        [followup] = await server.replies()
    assert callback.body["data"]["flags"] & EPHEMERAL
    assert followup.body["flags"] & EPHEMERAL


async def test_ask_is_registered_with_its_description_globally_or_in_one_server(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        [global_sync] = [r for r in server.discord.requests if r.method == "PUT"]
    guild_id = 1_234_567_890_123_456_789
    async with bot_in_server(corpus_service(tmp_path), guild_id=guild_id) as server:
        [guild_sync] = [r for r in server.discord.requests if r.method == "PUT"]

    app = server.discord.application_id
    assert global_sync.path == f"/applications/{app}/commands"
    assert guild_sync.path == f"/applications/{app}/guilds/{guild_id}/commands"
    for sync in (global_sync, guild_sync):
        [command] = sync.body
        assert command["name"] == "ask"
        assert command["description"].startswith("Ask the news articles a question")
        assert [(o["name"], o["required"]) for o in command["options"]] == [("question", True), ("private", False)]


async def test_the_ask_hint_is_a_question_the_loaded_articles_answer_not_a_fixed_story(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "bakery.md").write_text(
        "---\ntitle: Town bakery wins award\npublisher: Valley Gazette\n---\n\n"
        "The judges praised the Riverside Bakery, a family business founded in 1952, for its rye bread.\n\n"
        "Owner Maria Lopez said the Riverside Bakery would keep its prices.\n",
        encoding="utf-8",
    )
    service = corpus_service(tmp_path, corpus_dir=folder)
    example = example_question(service)
    assert example is not None and "Riverside Bakery" in example
    async with bot_in_server(service, example_question=example) as server:
        [sync] = [r for r in server.discord.requests if r.method == "PUT"]
    [command] = sync.body
    hint = {o["name"]: o["description"] for o in command["options"]}["question"]
    assert hint.endswith(f"for example: {example}") and len(hint) <= 100
    assert "Ring" not in hint and "Flock" not in hint
    assert service.ask(example, "someone").answered


async def test_when_ask_cannot_be_registered_mentions_still_work(tmp_path, caplog):
    fake = FakeDiscord()
    fake.answer_with_status("PUT", r"/applications/\d+/guilds/\d+/commands", status=403)  # bot not in that server
    async with bot_in_server(corpus_service(tmp_path), guild_id=42, discord=fake) as server:
        await ask_by_mention(server, server.discord.user("alice"), QUESTION)
        [reply] = await server.replies()
    assert bold_sentences(reply)
    assert any("could not register /ask" in r.getMessage() for r in caplog.records)


async def test_the_bot_asks_for_no_privileged_intent(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        [identify] = server.discord.identify_payloads
    intents = discord.Intents._from_value(identify["intents"])
    assert not intents.message_content and not intents.members and not intents.presences
    assert intents.guild_messages and intents.dm_messages and intents.guilds


# -- safety -------------------------------------------------------------------------


async def test_everyone_and_other_mentions_in_a_question_ping_nobody(tmp_path):
    pings = "@everyone @here <@&1300000000000000999> <@1300000000000000998>"
    async with bot_in_server(corpus_service(tmp_path)) as server:
        alice = server.discord.user("alice")
        await ask_by_mention(server, alice, f"{pings} {QUESTION}", mention_everyone=True)
        await server.discord.run_slash_command(alice, "ask", question=f"{pings} {QUESTION}")
        await server.discord.run_slash_command(alice, "ask", question=pings)  # nothing to search: the core's advice
        sent = await server.replies(count=3)

    echoed = [r for r in sent if r.body.get("content", "").startswith(">")]
    assert len(echoed) == 2 and all("@everyone" in r.body["content"] for r in echoed), "the question is shown"
    assert [FakeDiscord.pinged_by(r) for r in sent] == [set(), set(), set()]


async def test_markdown_in_a_question_is_shown_literally(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        await server.discord.run_slash_command(server.discord.user("alice"), "ask", question="Why did **Ring** drop ||Flock||?")
        [followup] = await server.replies()
    assert followup.body["content"].splitlines()[0] == r"> Why did \*\*Ring\*\* drop \|\|Flock\|\|?"


async def test_logs_hold_neither_the_token_nor_raw_user_ids(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="bot")
    service = QuestionService(core=ExplodingCore(), limiter=SlidingWindowLimiter(RateLimit(5, 30)))
    async with bot_in_server(service) as server:
        alice = server.discord.user("alice")
        await ask_by_mention(server, alice, QUESTION)
        await server.discord.run_slash_command(alice, "ask", question=QUESTION)
        await server.replies(count=2)
    ours = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records if r.name.startswith("bot"))
    assert "answering failed" in ours, "the failures were logged"
    assert str(alice.id) not in ours and server.discord.token not in ours


# -- limits -------------------------------------------------------------------------


async def test_a_user_asking_too_fast_is_asked_to_slow_down_while_others_are_answered(tmp_path):
    service = corpus_service(tmp_path, rate_limit=RateLimit(2, 60))
    async with bot_in_server(service) as server:
        alice, bob = server.discord.user("alice"), server.discord.user("bob")
        questions = [
            lambda: ask_by_mention(server, alice, QUESTION),
            lambda: ask_by_mention(server, alice, QUESTION),
            lambda: ask_by_mention(server, alice, QUESTION),
            lambda: server.discord.run_slash_command(alice, "ask", question=QUESTION),
            lambda: ask_by_mention(server, bob, QUESTION),
        ]
        for asked, ask in enumerate(questions, start=1):
            await ask()
            await server.replies(count=asked)  # one at a time, so the replies are in asking order
        alice_1, alice_2, alice_3, alice_slash, bob_1 = server.discord.messages_sent()

    for answered in (alice_1, alice_2, bob_1):
        assert bold_sentences(answered)
    assert alice_3.body["content"] == RATE_LIMITED_MESSAGE and not alice_3.body.get("embeds")
    assert alice_slash.body["content"] == f"> {QUESTION}\n{RATE_LIMITED_MESSAGE}"


async def test_a_long_answer_is_split_into_messages_within_discord_limits(tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "lighthouse.md").write_text(lighthouse_log_with_long_sentences(), encoding="utf-8")
    service = corpus_service(tmp_path, corpus_dir=articles, top_k=10)
    async with bot_in_server(service) as server:
        await server.discord.run_slash_command(server.discord.user("alice"), "ask", question="Which whale did the lighthouse keeper record?")
        await server.discord.wait_for_request(lambda r: r.path.endswith("/callback"))
        await asyncio.wait_for(_until_quiet(server), 10)
        sent = server.discord.messages_sent()

    assert len(sent) > 1, "ten long passages do not fit one message"
    for request in sent:
        assert_within_discord_limits(request)
        assert not request.body.get("flags", 0) & EPHEMERAL
    assert sent[0].body["content"].startswith("> Which whale") and all("content" not in r.body for r in sent[1:])
    assert sum(len(r.body["embeds"]) for r in sent) == 10
    assert all(s.startswith("The lighthouse keeper recorded a whale") for r in sent for s in bold_sentences(r))


def lighthouse_log_with_long_sentences() -> str:
    """An article of 36 sentences of about 1,500 characters, each about a whale sighting."""
    rng = random.Random(7)  # distinct made-up words, so no two sentences count as the same statement

    def words(n: int) -> str:
        return " ".join("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9))) for _ in range(n))

    paragraphs = [
        " ".join(f"The lighthouse keeper recorded a whale near {words(200)}." for _ in range(3)) for _ in range(12)
    ]
    header = "---\ntitle: The lighthouse log\npublisher: Coast Weekly\nurl: https://example.com/lighthouse\n---\n\n"
    return header + "\n\n".join(paragraphs) + "\n"


async def _until_quiet(server: Server, quiet_seconds: float = 0.3) -> None:
    """Wait until the bot has sent something and then nothing more for a moment."""
    seen = -1
    while seen != len(server.discord.requests) or not server.discord.messages_sent():
        seen = len(server.discord.requests)
        await asyncio.sleep(quiet_seconds)


async def test_a_reply_rate_limited_by_discord_is_retried(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        server.discord.answer_with_status("POST", r"/channels/\d+/messages", status=429, retry_after=0.3)
        loop = asyncio.get_running_loop()
        asked_at = loop.time()
        await ask_by_mention(server, server.discord.user("alice"), QUESTION)
        [reply] = await server.replies()
        answered_after = loop.time() - asked_at
    posts = [r for r in server.discord.requests if r.method == "POST"]
    assert [r.status for r in posts] == [429, 200]
    assert posts[0].body == posts[1].body
    assert answered_after >= 0.3, "the retry waited as long as Discord asked"
    assert bold_sentences(reply)


async def test_a_slash_answer_rate_limited_by_discord_is_retried(tmp_path):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        server.discord.answer_with_status("POST", r"/webhooks/\d+/[^/]+", status=429, retry_after=0.2)
        await server.discord.run_slash_command(server.discord.user("alice"), "ask", question=QUESTION)
        [followup] = await server.replies()
    followups = [r for r in server.discord.requests if r.path.startswith("/webhooks/")]
    assert [r.status for r in followups] == [429, 200]
    assert bold_sentences(followup)


# -- failures -----------------------------------------------------------------------


class ExplodingCore:
    """An answering core that fails on every question."""

    def answer(self, question: str) -> Answer:
        raise RuntimeError("the index is corrupt")


class CoreFailingOnce:
    """The real core, except that the first question fails."""

    def __init__(self, real) -> None:
        self.real = real
        self.failed = False

    def answer(self, question: str) -> Answer:
        if not self.failed:
            self.failed = True
            raise RuntimeError("the index is corrupt")
        return self.real.answer(question)


async def test_a_failure_inside_the_core_gets_an_apology_and_the_bot_keeps_answering(tmp_path, caplog):
    real = corpus_service(tmp_path)
    service = QuestionService(core=CoreFailingOnce(real.core), limiter=real.limiter)
    async with bot_in_server(service) as server:
        alice = server.discord.user("alice")
        await ask_by_mention(server, alice, QUESTION)
        [apology] = await server.replies()
        await ask_by_mention(server, alice, QUESTION)
        await server.replies(count=2)
        await server.discord.run_slash_command(alice, "ask", question=QUESTION)
        _, answered, slash_answered = await server.replies(count=3)

    assert apology.body["content"] == ERROR_MESSAGE and not apology.body.get("embeds")
    assert bold_sentences(answered) and bold_sentences(slash_answered)
    [failure] = [r for r in caplog.records if r.getMessage() == "answering failed"]
    assert failure.exc_info and "the index is corrupt" in str(failure.exc_info[1])


class BrokenService:
    """A service that breaks its promise never to raise."""

    def ask(self, question: str, user_id: str, platform: str = "", channel_id: str | None = None) -> Answer:
        raise RuntimeError("a bug in the service")


async def test_an_unexpected_error_in_the_adapter_still_gets_an_apology(tmp_path, caplog):
    async with bot_in_server(BrokenService()) as server:
        alice = server.discord.user("alice")
        await ask_by_mention(server, alice, QUESTION)
        await server.replies()
        await server.discord.run_slash_command(alice, "ask", question=QUESTION, private=True)
        mention_reply, slash_reply = await server.replies(count=2)
    assert mention_reply.body["content"] == ERROR_MESSAGE
    assert slash_reply.body["content"] == f"> {QUESTION}\n{ERROR_MESSAGE}" and slash_reply.body["flags"] & EPHEMERAL
    assert any(r.getMessage() == "the question service failed" and r.exc_info for r in caplog.records)


async def test_a_reply_discord_refuses_is_logged_and_the_next_question_is_answered(tmp_path, caplog):
    async with bot_in_server(corpus_service(tmp_path)) as server:
        server.discord.answer_with_status("POST", r"/channels/\d+/messages", status=403, times=2)
        alice = server.discord.user("alice")
        await ask_by_mention(server, alice, QUESTION)  # the answer and the apology are both refused
        await server.discord.wait_for_request(lambda r: r.status == 403, count=2)
        await ask_by_mention(server, alice, QUESTION)
        [reply] = await server.replies()
    assert bold_sentences(reply)
    assert any(r.getMessage() == "replying to a message failed" and r.exc_info for r in caplog.records)
    assert any(r.getMessage() == "could not send the apology either" for r in caplog.records)


async def test_a_sharded_bot_answers_like_a_single_connection(tmp_path):
    """QABOT_DISCORD_SHARDS runs discord.py's AutoShardedClient: the same handlers over shards."""
    from tests.support.discord_harness import connected_bot

    from bot.adapters.discord.client import ShardedQABotClient

    async with FakeDiscord() as fake:
        async with connected_bot(fake, corpus_service(tmp_path), shards=1) as bot:
            assert isinstance(bot, ShardedQABotClient) and bot.shard_count == 1
            server = Server(fake, bot)
            await ask_by_mention(server, fake.user("alice"), QUESTION)
            [reply] = await server.replies()
    assert reply.body["allowed_mentions"] == {"parse": []}
    assert bold_sentences(reply)


def test_the_shard_setting_chooses_the_client():
    from bot.adapters.discord.client import QABotClient, ShardedQABotClient, make_client
    from bot.settings import Settings, SettingsError

    class Silent:
        def ask(self, question, user_key, *args, **kwargs):
            raise AssertionError("not asked")

    assert type(make_client(Silent())) is QABotClient
    assert make_client(Silent(), shards="auto").shard_count is None
    assert isinstance(make_client(Silent(), shards=3), ShardedQABotClient)
    assert Settings.load(environ={"QABOT_DISCORD_SHARDS": "auto"}, dotenv_path=None).discord_shards == "auto"
    assert Settings.load(environ={"QABOT_DISCORD_SHARDS": "4"}, dotenv_path=None).discord_shards == 4
    with pytest.raises(SettingsError, match="QABOT_DISCORD_SHARDS"):
        Settings.load(environ={"QABOT_DISCORD_SHARDS": "0"}, dotenv_path=None)
