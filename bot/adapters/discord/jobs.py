"""Discord mentions and direct messages as durable jobs (with Redis): every replica on the bot's
token receives each message, the first to queue it wins, and any replica's job workers answer it.

A job carries its conversation (the thread, the direct-message channel, the bot answer it
replies to, or its own message) as the service's keyed hash, worked out on receipt, where it is
known whether the message replies to the bot; the worker answers it as a follow-up there and
links its reply to the conversation, so a reply to that reply follows up too, on any replica
(with Redis the conversations are shared).

The reply references the question's message (in a server and in a direct message alike), which
is how a job taken over from a stopped replica is looked for: the bot's messages after the
question in its channel (`GET /channels/{id}/messages?after=`), one of them referencing it, means
it was answered. Job workers run in threads; posting runs on the client's event loop.

Failure behaviour: when the reply and the apology both fail, or Discord cannot be asked whether a
taken-over job was answered, the job is left for another attempt (`JobResult.RETRY`). `/ask` stays
answered in-process: its interaction token lives on the replica that deferred it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Coroutine, TypeVar

import discord

from bot.adapters.discord.formatting import format_answer
from bot.answering.answer import Answer
from bot.answering.messages import ERROR_MESSAGE
from bot.service.job_workers import JobResult
from bot.service.questions import JobAskService
from bot.stores.jobs import Job, QuestionJob, RedisJobQueue

if TYPE_CHECKING:
    from bot.adapters.discord.client import QABotClient

log = logging.getLogger(__name__)

PLATFORM = "discord"
HISTORY_LIMIT = 500
"""How many messages after a taken-over question are searched for its reply (pages of 100)."""
LOOP_TIMEOUT_SECONDS = 120.0
T = TypeVar("T")


def job_for_message(
    message: discord.Message, question: str, service: JobAskService, conversation: str
) -> tuple[QuestionJob, list[str]]:
    """The job a question in `message` becomes, in `conversation` (raw IDs, hashed here), with its
    answered-event key (the same as the in-process path's, so both agree on what was seen)."""
    user_key, channel_key = service.pseudonyms(PLATFORM, str(message.author.id), str(message.channel.id))
    job = QuestionJob(
        platform=PLATFORM,
        surface="mention" if message.guild is not None else "direct message",
        question=question,
        user_key=user_key,
        channel_key=channel_key,
        reply_to={"channel_id": str(message.channel.id), "message_id": str(message.id)},
        received_at=time.time(),
        conversation_key=service.conversation_key(PLATFORM, conversation),
    )
    return job, [f"{PLATFORM}:message:{message.id}"]


@dataclass
class DiscordJobAnswerer:
    """Answers one Discord job from a worker thread, posting on the client's event loop."""

    client: "QABotClient"
    service: JobAskService
    queue: RedisJobQueue

    def __call__(self, job: Job) -> JobResult:
        return self._on_loop(self._answer(job))

    def answer_here(self, question: QuestionJob) -> None:
        """A question held through a long Redis outage: answered by this replica."""
        answer = self._ask(question)
        self._on_loop(self._post(question, answer))

    def _ask(self, question: QuestionJob) -> Answer:
        return self.service.ask_as(
            question.question, question.user_key, PLATFORM, question.channel_key, question.conversation_key
        )

    def _on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.client.loop).result(LOOP_TIMEOUT_SECONDS)

    async def _answer(self, job: Job) -> JobResult:
        question = job.question
        if job.deliveries > 1:
            try:
                if await self._already_answered(question):
                    self.queue.stats.found_already_answered += 1
                    log.info("job %s taken over: its reply was already posted", job.job_id)
                    return JobResult.DONE
            except discord.DiscordException:
                log.warning("could not look for job %s's reply in Discord; trying again later", job.job_id, exc_info=True)
                return JobResult.RETRY
            log.info("job %s taken over (delivery %d): no reply in Discord yet; answering it", job.job_id, job.deliveries)
        answer = await asyncio.to_thread(self._ask, question)
        log.info("%s: %s in %.0f ms", question.surface, answer.outcome.value, answer.latency_ms)
        if not await asyncio.to_thread(self.queue.still_mine, job.job_id):
            log.warning("job %s was taken over by another replica while being answered; leaving it", job.job_id)
            return JobResult.LOST_CLAIM
        return JobResult.DONE if await self._post(question, answer) else JobResult.RETRY

    async def _post(self, question: QuestionJob, answer: Answer) -> bool:
        channel = self.client.get_partial_messageable(int(question.reply_to["channel_id"]))
        reference = discord.MessageReference(
            message_id=int(question.reply_to["message_id"]),
            channel_id=int(question.reply_to["channel_id"]),
            fail_if_not_exists=False,  # the question deleted meanwhile: the answer is still posted
        )
        sent: discord.Message | None = None
        try:
            for part in format_answer(answer):
                sent = await channel.send(
                    content=part.content, embeds=list(part.embeds), allowed_mentions=discord.AllowedMentions.none(),
                    reference=reference,
                )  # fmt: skip
                if question.conversation_key is not None:
                    await asyncio.to_thread(self._link, question.conversation_key, sent)
        except discord.DiscordException:
            log.exception("posting the reply to a Discord job failed")
            try:
                await channel.send(ERROR_MESSAGE, allowed_mentions=discord.AllowedMentions.none(), reference=reference)
            except discord.DiscordException:
                log.exception("the apology could not be posted either")
                return False
            return True
        await self.client.offer_feedback(answer, sent)
        return True

    def _link(self, conversation_key: str, sent: discord.Message) -> None:
        """A reply to `sent` continues the job's conversation; a failure costs the follow-up, never the answer."""
        try:
            self.service.link_conversation_key(PLATFORM, conversation_key, f"message:{sent.id}")
        except Exception:
            log.warning("could not remember an answer's conversation", exc_info=True)

    async def _already_answered(self, question: QuestionJob) -> bool:
        channel = self.client.get_partial_messageable(int(question.reply_to["channel_id"]))
        asked = int(question.reply_to["message_id"])
        me = self.client.user.id if self.client.user is not None else None
        async for message in channel.history(limit=HISTORY_LIMIT, after=discord.Object(id=asked)):
            if message.author.id == me and message.reference is not None and message.reference.message_id == asked:
                return True
        return False
