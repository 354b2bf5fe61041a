"""The Discord bot: `/ask`, @mentions, replies and direct messages in, formatted answers out.

The client stays thin: it turns a Discord event into a question and an opaque
user key, asks the shared `QuestionService` (rate limit and apology live there),
and sends what `formatting` makes of the answer. Without auto-answer channels it
needs no privileged intent: Discord delivers message content for mentions (a reply
to the bot counts as one), DMs, slash commands and context-menu commands anyway.

Conversations: a reply to one of the bot's answers continues that answer's conversation,
a mention inside a thread continues the thread's, and a direct-message channel is one;
follow-ups ("why?", "tell me more") are read with the earlier questions there. The
"Ask qabot about this" message command answers about someone's message, privately unless
configured otherwise. Channels that answer by themselves (`auto_channels`, opt-in) answer
every new question, a forum post or a message that looks like a question, in a thread;
only they need the Message Content intent.

Feedback: the bot adds 👍 and 👎 to each logged answer it posts where people can
see it, and records a person's click on them (raw reaction events, so it works
for messages sent before a restart) against that answer in the question log.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.formatting import OutgoingMessage, fit, format_answer
from bot.adapters.discord.jobs import DiscordJobAnswerer, job_for_message
from bot.service.job_workers import JobWorkers
from bot.stores.jobs import RedisJobQueue
from bot.answering.answer import Answer, Outcome
from bot.answering.conversation import asks_a_question
from bot.stores.seen_events import InMemorySeenEvents, SeenEvents
from bot.answering.answer import Vote
from bot.answering.messages import ERROR_MESSAGE
from bot.service.questions import AskService

log = logging.getLogger(__name__)

# Sent with every message: a question holding @everyone, a role or a user mention
# is echoed and quoted back, and must never ping anyone.
NO_MENTIONS = discord.AllowedMentions.none()

# A send Discord asks us to delay for longer than this is given up (the asker gets an
# apology if that can be sent): waiting would hold the reply, and every reply queued behind
# it, for as long as Discord says, possibly hours. 30 s is the least discord.py accepts.
MAX_RATE_LIMIT_WAIT_SECONDS = 30.0

# Message types a person writes; joins, pins, thread starts and the like are not questions.
QUESTION_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)


PLATFORM = "discord"
FEEDBACK_REACTIONS = ("👍", "👎")
FEEDBACK_OUTCOMES = (Outcome.ANSWERED, Outcome.NOT_FOUND)
"""Answers worth a vote: a quoted answer, or a decline (a 👎 there says the articles should cover it)."""


THREAD_NAME_LIMIT = 100
"""Discord's longest thread name."""
ASK_ABOUT_COMMAND = "Ask qabot about this"
DRAIN_SECONDS = 5.0
"""On stop, how long messages being answered may take to finish (the reply and its 👍/👎)
before the connection closes under them."""


def question_intents(*, message_content: bool = False) -> discord.Intents:
    """Only what asking needs: servers and channels, and message events in them and in DMs.

    `message_content` only for channels that answer by themselves: it is privileged (turned
    on in the Developer Portal), and Discord sends the content of mentions, replies to the
    bot and DMs without it, which is all the bot reads otherwise.
    """
    intents = discord.Intents.none()
    intents.message_content = message_content
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.guild_reactions = True  # 👍/👎 on answers; not privileged
    intents.dm_reactions = True
    return intents


class QABotClient(discord.Client):
    def __init__(
        self,
        service: AskService,
        *,
        seen: SeenEvents | None = None,
        guild_id: int | None = None,
        auto_channels: frozenset[int] = frozenset(),
        ask_about_private: bool = True,
        jobs: RedisJobQueue | None = None,
        example_question: str | None = None,
        **options: Any,
    ) -> None:
        # `options` go to discord.Client as they are (the tests shorten guild_ready_timeout).
        options.setdefault("max_ratelimit_timeout", MAX_RATE_LIMIT_WAIT_SECONDS)
        intents = question_intents(message_content=bool(auto_channels))
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS, **options)
        self.service = service
        self.auto_channels = frozenset(auto_channels)
        """Channels and forums where new questions are answered in a thread, no mention needed."""
        self.ask_about_private = ask_about_private
        # Gateway reconnects can deliver an event again; each one is answered once.
        self.seen: SeenEvents = seen if seen is not None else InMemorySeenEvents()
        self.guild_id = guild_id
        # With Redis: mentions and DMs become durable jobs any replica's workers answer.
        self.jobs = jobs
        self.job_workers: JobWorkers | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        """Messages being answered: stopping waits for them (up to DRAIN_SECONDS)."""
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(ask_command(example_question))
        self.tree.add_command(app_commands.ContextMenu(name=ASK_ABOUT_COMMAND, callback=ask_about_message))
        self.tree.error(self.on_app_command_error)

    async def setup_hook(self) -> None:
        if self.jobs is not None:
            self._start_job_workers(self.jobs)
        await self._sync_commands()

    def _start_job_workers(self, jobs: RedisJobQueue) -> None:
        import redis  # here: only a bot with Redis has jobs (see bot.stores.choice)

        try:
            jobs.ensure_group()
        except redis.RedisError:
            pass  # Redis down at start: the workers make the group once it answers
        answerer = DiscordJobAnswerer(self, self.service, jobs)  # type: ignore[arg-type]
        self.job_workers = JobWorkers(jobs, answerer, answer_here=answerer.answer_here)
        self.job_workers.start()
        log.info("answering durable question jobs from Redis as %s", jobs.consumer)

    async def close(self) -> None:
        # Answers being sent finish first: closing the HTTP session under one would cost its
        # reply or its 👍/👎 and log a "Session is closed" traceback.
        pending = [task for task in self._in_flight if task is not asyncio.current_task()]
        if pending:
            await asyncio.wait(pending, timeout=DRAIN_SECONDS)
        if self.job_workers is not None:
            # Off the loop: a worker finishing its job posts on this loop.
            await asyncio.to_thread(self.job_workers.stop)
        await super().close()

    async def _sync_commands(self) -> None:
        # A guild sync shows the command in that server at once, which is what an
        # admin setting the bot up wants; a global sync can take a while to appear.
        try:
            if self.guild_id is not None:
                guild = discord.Object(id=self.guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
                log.info("slash commands synced to server %s", self.guild_id)
            else:
                await self.tree.sync()
                log.info("slash commands synced globally (they can take a while to appear)")
        except discord.HTTPException:
            # Mentions and DMs still work without /ask, so keep running.
            log.exception(
                "could not register /ask; check DISCORD_GUILD_ID and that the bot was invited "
                "with the applications.commands scope"
            )

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("connected to Discord as %s in %d server(s)", self.user.name, len(self.guilds))

    async def answer(
        self, question: str, raw_user_id: int, raw_channel_id: int | None = None, conversation: str | None = None
    ) -> Answer:
        """Ask the service off the event loop, so a slow answer never stalls the gateway."""
        # Raw IDs go to the service, which hashes them before anything keeps them.
        channel_id = str(raw_channel_id) if raw_channel_id is not None else None
        try:
            if conversation is None:
                return await asyncio.to_thread(self.service.ask, question, str(raw_user_id), PLATFORM, channel_id)
            return await asyncio.to_thread(
                self.service.ask, question, str(raw_user_id), PLATFORM, channel_id, conversation
            )
        except Exception:
            # The service promises not to raise; if it breaks that promise, the user still hears back.
            log.exception("the question service failed")
            return Answer(question=question, outcome=Outcome.ERROR, message=ERROR_MESSAGE)

    async def first_time(self, event_key: str) -> bool:
        """Whether this event is new, asked off the event loop: the store may be a Redis
        shared with other replicas, and a slow one must never stall the gateway."""
        return await asyncio.to_thread(self.seen.first_time, event_key)

    # -- @mentions and direct messages ----------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        # Tracked, so that stopping the bot lets this message's answer finish (see close()).
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self.answer_message(message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def answer_message(self, message: discord.Message) -> None:
        question = self.question_in(message)
        auto = question is None and self.answers_by_itself(message)
        if auto:
            question = message.content.strip()
        if question is None:
            return
        if self.jobs is not None and not auto:
            # Replicas: queued (or held while Redis is down) by the first replica; the job workers
            # answer it in its conversation (its hashed key is in the job; Redis keeps them all).
            conversation = self.conversation_of(message, message.channel)
            job, keys = job_for_message(message, question, self.service, conversation)  # type: ignore[arg-type]
            await asyncio.to_thread(self.jobs.submit, job, keys)
            return
        if not await self.first_time(f"discord:message:{message.id}"):
            return
        try:
            where: discord.abc.Messageable = message.channel
            if auto and not isinstance(message.channel, discord.Thread):
                # A new question in a channel that answers by itself: answered in its own thread.
                where = await message.create_thread(name=fit(" ".join(question.split()), THREAD_NAME_LIMIT) or "question")
            conversation = self.conversation_of(message, where)
            answer = await self.answer(question, message.author.id, message.channel.id, conversation)
            sent = await self.reply(message, format_answer(answer), where, conversation)
        except Exception:
            log.exception("replying to a message failed")
            await self.apologise(message)
            return
        await self.offer_feedback(answer, sent)

    def question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when it is not meant for the bot."""
        if not self.from_a_person(message):
            return None
        assert self.user is not None
        if message.guild is None:
            return message.content.strip()
        # A direct @mention (a reply to the bot is one), never @everyone or a role mention;
        # or a reply to one of the bot's answers with its ping turned off.
        if not any(user.id == self.user.id for user in message.mentions) and not self.replies_to_the_bot(message):
            return None
        return strip_mention(message.content, self.user.id)

    def from_a_person(self, message: discord.Message) -> bool:
        if self.user is None or message.author.bot or message.author.id == self.user.id:
            return False
        return message.webhook_id is None and message.type in QUESTION_MESSAGE_TYPES

    def replies_to_the_bot(self, message: discord.Message) -> bool:
        reference = message.reference
        replied = reference.resolved if reference is not None else None
        return isinstance(replied, discord.Message) and self.user is not None and replied.author.id == self.user.id

    def answers_by_itself(self, message: discord.Message) -> bool:
        """A new question in a channel that answers by itself: a forum post (its first message),
        or a top-level message there that ends with "?" or starts with a question word."""
        if not self.auto_channels or message.guild is None or not self.from_a_person(message):
            return False
        channel = message.channel
        if isinstance(channel, discord.Thread):
            # A forum post's first message has the thread's own ID.
            return channel.parent_id in self.auto_channels and message.id == channel.id and bool(message.content.strip())
        return channel.id in self.auto_channels and asks_a_question(message.content)

    def conversation_of(self, message: discord.Message, where: discord.abc.Messageable) -> str:
        """Which conversation a message belongs to (raw IDs; the service hashes them): its
        thread, the direct-message channel, the bot answer it replies to, or its own."""
        if isinstance(where, discord.Thread):
            return f"thread:{where.id}"
        if message.guild is None:
            return f"dm:{message.channel.id}"
        if self.replies_to_the_bot(message) and message.reference is not None:
            return f"message:{message.reference.message_id}"
        return f"message:{message.id}"

    async def reply(
        self,
        message: discord.Message,
        outgoing: list[OutgoingMessage],
        where: discord.abc.Messageable | None = None,
        conversation: str | None = None,
    ) -> discord.Message | None:
        """Send the answer's messages (in `where`, by default the message's channel); returns the
        last one (where the 👍/👎 go). Each one continues `conversation`: a reply to it follows up."""
        sent: discord.Message | None = None
        where = where or message.channel
        for part in outgoing:
            if message.guild is None or where is not message.channel:
                # A DM, or the thread opened for the question: the answer needs no reference.
                sent = await where.send(content=part.content, embeds=list(part.embeds), allowed_mentions=NO_MENTIONS)
            else:
                # A reply keeps the answer attached to its question in a busy channel;
                # if the question was deleted meanwhile, the answer is still posted.
                sent = await where.send(
                    content=part.content,
                    embeds=list(part.embeds),
                    allowed_mentions=NO_MENTIONS,
                    reference=message.to_reference(fail_if_not_exists=False),
                )
            if conversation is not None:
                # Off the loop: with Redis the conversations are shared, and a slow Redis must not stall it.
                await asyncio.to_thread(self.link_conversation, conversation, sent)
        return sent

    def link_conversation(self, conversation: str, sent: discord.Message) -> None:
        """Let a reply to `sent` continue `conversation`; a failure costs the follow-up, never the answer."""
        try:
            self.service.link_conversation(PLATFORM, conversation, f"message:{sent.id}")
        except Exception:
            log.warning("could not remember an answer's conversation", exc_info=True)

    async def apologise(self, message: discord.Message) -> None:
        try:
            await message.channel.send(ERROR_MESSAGE, allowed_mentions=NO_MENTIONS)
        except Exception:  # Discord unreachable or refusing: nothing more we can do but log
            log.exception("could not send the apology either")

    # -- 👍/👎 feedback ----------------------------------------------------------

    async def offer_feedback(self, answer: Answer, sent: discord.Message | None) -> None:
        """Add 👍 and 👎 under a logged answer. A failure here costs the votes, never the answer."""
        if sent is None or answer.answer_id is None or answer.outcome not in FEEDBACK_OUTCOMES:
            return
        try:
            # Linked first, so a click that comes before the second reaction is already counted.
            await asyncio.to_thread(self.service.link_message, answer.answer_id, PLATFORM, str(sent.id))
            for emoji in FEEDBACK_REACTIONS:
                await sent.add_reaction(emoji)
        except Exception:
            if self.is_closed():  # stopped while reacting (past DRAIN_SECONDS): nothing is wrong
                log.info("stopping: 👍/👎 not offered on the last answer")
                return
            log.warning("could not offer 👍/👎 on an answer (is the Add Reactions permission missing?)", exc_info=True)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.record_reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.record_reaction(payload, added=False)

    async def record_reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        """A person's 👍/👎 on one of the bot's answers becomes (or stops being) their vote on it."""
        if self.user is None or payload.user_id == self.user.id or payload.emoji.id is not None:
            return
        if payload.member is not None and payload.member.bot:
            return
        try:
            vote = Vote.parse(payload.emoji.name or "")
        except ValueError:
            return  # some other emoji
        raw_user_id = str(payload.user_id)

        def record() -> None:
            answer_id = self.service.answer_for_message(PLATFORM, str(payload.message_id))
            if answer_id is None:
                return  # not an answer of ours, or its log entry has expired
            if added:
                self.service.record_feedback(answer_id, raw_user_id, vote, PLATFORM)
            else:
                self.service.withdraw_feedback(answer_id, raw_user_id, vote, PLATFORM)

        try:
            await asyncio.to_thread(record)
        except Exception:
            log.exception("recording a 👍/👎 failed")

    # -- /ask ------------------------------------------------------------------

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("/ask failed", exc_info=error)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(ERROR_MESSAGE, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(ERROR_MESSAGE, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except Exception:  # Discord unreachable or refusing: nothing more we can do but log
            log.exception("could not send the apology either")


def strip_mention(content: str, bot_id: int) -> str:
    """The message text without the bot's own @mention (in either of its forms)."""
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())


QUESTION_HINT = "What you want to know about the articles"
OPTION_DESCRIPTION_LIMIT = 100
"""Discord refuses an option description longer than this."""


def question_hint(example: str | None) -> str:
    """The /ask question option's description: with an example made from the corpus when it fits."""
    if example:
        hint = f"{QUESTION_HINT}, for example: {example}"
        if len(hint) <= OPTION_DESCRIPTION_LIMIT:
            return hint
    return QUESTION_HINT


def ask_command(example: str | None = None) -> app_commands.Command[Any, ..., None]:
    """The /ask command, its question hinted with `example` (a question the loaded articles
    answer, never a fixed story's)."""
    return app_commands.describe(question=question_hint(example), private="Show the answer only to you")(
        app_commands.Command(name="ask", description=ask.__doc__ or "Ask the articles", callback=ask)
    )


async def ask(interaction: discord.Interaction[QABotClient], question: str, private: bool = False) -> None:
    """Ask the news articles a question; the answer quotes them and links the sources."""
    client = interaction.client
    if not await client.first_time(f"discord:interaction:{interaction.id}"):
        return
    # Discord wants a response within 3 seconds; deferring shows "thinking…" while we look.
    await interaction.response.defer(ephemeral=private, thinking=True)
    answer = await client.answer(question, interaction.user.id, interaction.channel_id)
    # The slash command's question is not shown with the reply, so echo it.
    sent: discord.Message | None = None
    for part in format_answer(answer, echo_question=True):
        sent = await interaction.followup.send(
            content=part.content or discord.utils.MISSING,
            embeds=list(part.embeds),
            ephemeral=private,
            allowed_mentions=NO_MENTIONS,
            wait=True,  # returns the message, for the 👍/👎
        )
    if not private:  # Discord allows no reactions on a message only its asker sees
        await client.offer_feedback(answer, sent)


async def ask_about_message(interaction: discord.Interaction[QABotClient], message: discord.Message) -> None:
    """The "Ask qabot about this" message command: the message's text is the question; the
    answer (private unless QABOT_ASK_ABOUT_VISIBILITY=public) links the message."""
    client = interaction.client
    if not await client.first_time(f"discord:interaction:{interaction.id}"):
        return
    private = client.ask_about_private
    await interaction.response.defer(ephemeral=private, thinking=True)
    answer = await client.answer(message.content, interaction.user.id, interaction.channel_id)
    sent: discord.Message | None = None
    for part in format_answer(answer, echo_question=True, about_message=message.jump_url):
        sent = await interaction.followup.send(
            content=part.content or discord.utils.MISSING,
            embeds=list(part.embeds),
            ephemeral=private,
            allowed_mentions=NO_MENTIONS,
            wait=True,
        )
    if not private:
        await client.offer_feedback(answer, sent)


class ShardedQABotClient(QABotClient, discord.AutoShardedClient):
    """The same bot over several gateway connections (shards), in one process.

    Discord requires sharding from 2,500 servers on; discord.py's AutoShardedClient
    opens the shards and routes each server's events to the handlers above.
    """


def make_client(service: AskService, *, shards: int | str | None = None, **options: Any) -> QABotClient:
    """One gateway connection, or `shards` of them ('auto': as many as Discord recommends)."""
    if shards is None:
        return QABotClient(service, **options)
    return ShardedQABotClient(service, shard_count=None if shards == "auto" else int(shards), **options)
