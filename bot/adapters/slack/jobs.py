"""Slack questions as durable jobs (with Redis): queued on receipt, answered by any replica.

A mention, a direct message, a message in a thread the bot answered in (with or without a
mention), or a top-level question in an auto-answer channel becomes a `QuestionJob` in Bolt's
middleware, that is before Slack's
request is acknowledged; the job carries the asker, channel and conversation (the message's
thread, or the direct-message conversation) as keyed hashes and where to reply (channel, thread).
The replicas' job workers answer it (`SlackJobAnswerer`) as a follow-up in its conversation, which
with Redis every replica shares: "why?" in the thread is read with the question a job answered,
and the thread counts as one the bot answered in (for follow-ups without a mention). Each reply is
tagged with its job's ID in Slack's message `metadata`, so a job taken over from a stopped
replica is first looked for in its thread (`conversations.replies`) or, for a direct message
outside a thread, in the conversation after the question (`conversations.history`): found, it is
acknowledged without posting again.

Failure behaviour: when the reply and its apology both fail, the job is left for another
attempt (`JobResult.RETRY`, after the claim expires, at most `MAX_DELIVERIES` times); when
Slack cannot be asked whether a taken-over job was answered, it is retried likewise rather
than risking a second reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from slack_sdk import WebClient

from bot.adapters.slack.formatting import apology_message, format_answer
from bot.adapters.slack.markup import question_from_slack
from bot.answering.answer import Answer
from bot.answering.conversation import asks_a_question
from bot.service.job_workers import JobResult
from bot.service.questions import JobAskService
from bot.stores.jobs import Job, QuestionJob, RedisJobQueue

log = logging.getLogger(__name__)

PLATFORM = "slack"
METADATA_EVENT_TYPE = "qabot_answer"
HISTORY_PAGE = 200
FOLLOW_UP_SUBTYPES = (None, "thread_broadcast")
"""Message subtypes a person's question can have (a reply also sent to the channel is one);
edits, deletions, joins and bot posts are not questions."""


def job_for_event(
    body: dict[str, Any],
    bot_user_id: str | None,
    service: JobAskService,
    bot_thread: Callable[[str, str], bool] = lambda channel, thread_ts: False,
    auto_channels: frozenset[str] = frozenset(),
) -> tuple[QuestionJob, list[str]] | None:
    """The job an event callback asks for, with its answered-event keys; None when it asks nothing
    (edits, joins, bot posts, other events, a message in a thread that is not the bot's, chatter).

    A question is a mention, a person's direct message, or a person's message in a thread: with a
    mention (its `message` event, which may come before its `app_mention`; both give one job, by
    their shared key), or without one in a thread `bot_thread(channel, thread_ts)` says the bot
    answered in (within the conversation's bounds); or a person's top-level message in one of
    `auto_channels` that asks something (or mentions the bot), answered in its thread."""
    if body.get("type") != "event_callback":
        return None
    event = body.get("event") or {}
    kind = event.get("type")
    channel, ts = str(event.get("channel", "")), str(event.get("ts", ""))
    from_a_person = event.get("subtype") in FOLLOW_UP_SUBTYPES and not event.get("bot_id")
    if kind == "app_mention":
        surface = "mention"
        thread_ts = event.get("thread_ts") or event.get("ts") or ""
    elif kind == "message" and event.get("channel_type") == "im" and not event.get("subtype") and not event.get("bot_id"):
        surface = "direct message"
        thread_ts = event.get("thread_ts") or ""
    elif kind == "message" and event.get("channel_type") != "im" and from_a_person and event.get("thread_ts") not in (None, ts):
        thread_ts = str(event["thread_ts"])
        mentioned = bool(bot_user_id) and f"<@{bot_user_id}>" in event.get("text", "")
        if not mentioned and not bot_thread(channel, thread_ts):
            return None  # chatter in someone else's thread, or the bot's thread past its bounds
        surface = "thread"
    elif kind == "message" and from_a_person and channel in auto_channels and event.get("thread_ts") in (None, ts):
        mentioned = bool(bot_user_id) and f"<@{bot_user_id}>" in event.get("text", "")
        if not mentioned and not asks_a_question(question_from_slack(event.get("text", ""), bot_user_id)):
            return None  # chatter ("lol nice") in an auto channel, as the in-process listener decides
        surface = "auto channel"
        thread_ts = ts
    else:
        return None
    user_key, channel_key = service.pseudonyms(PLATFORM, str(event.get("user", "")), channel or None)
    # The same conversation the in-process listeners use: the mention's thread (its own ts when it
    # starts one), or the direct-message conversation ("dm"), or a thread in it.
    conversation = thread_conversation(channel, thread_ts or ("dm" if surface == "direct message" else ts))
    job = QuestionJob(
        platform=PLATFORM,
        surface=surface,
        question=question_from_slack(event.get("text", ""), bot_user_id),
        user_key=user_key,
        channel_key=channel_key,
        reply_to={"channel": channel, "thread_ts": thread_ts, "ts": ts},
        received_at=time.time(),
        conversation_key=service.conversation_key(PLATFORM, conversation),
    )
    # The same keys as the in-process path (`SlackQuestions`), so both agree on what was seen.
    keys = [f"{PLATFORM}:message:{channel}:{ts}"]
    if body.get("event_id"):
        keys.insert(0, f"{PLATFORM}:event:{body['event_id']}")
    return job, keys


def thread_conversation(channel: str, thread_ts: str) -> str:
    """The conversation a Slack thread is (raw IDs: the service hashes them)."""
    return f"thread:{channel}:{thread_ts}"


def job_metadata(job_id: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"job_id": job_id}}


def already_answered(client: WebClient, reply_to: dict[str, str] | Any, job_id: str) -> bool:
    """Whether a reply tagged with `job_id` is in the job's thread (or conversation). Raises when
    Slack cannot be asked."""
    channel, thread_ts, ts = reply_to.get("channel", ""), reply_to.get("thread_ts", ""), reply_to.get("ts", "")
    if thread_ts:
        response = client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=HISTORY_PAGE
        )
    else:
        response = client.conversations_history(
            channel=channel, oldest=ts, inclusive=False, include_all_metadata=True, limit=HISTORY_PAGE
        )
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT_TYPE and (metadata.get("event_payload") or {}).get("job_id") == job_id:
            return True
    return False


@dataclass
class SlackJobAnswerer:
    """Answers one Slack job: check (if taken over), answer, post tagged, say what became of it."""

    service: JobAskService
    client: WebClient
    queue: RedisJobQueue

    def __call__(self, job: Job) -> JobResult:
        question = job.question
        reply_to = question.reply_to
        if job.deliveries > 1:
            try:
                if already_answered(self.client, reply_to, job.job_id):
                    self.queue.stats.found_already_answered += 1
                    log.info("job %s taken over: its reply was already posted", job.job_id)
                    return JobResult.DONE
            except Exception:
                log.warning("could not look for job %s's reply in Slack; trying again later", job.job_id, exc_info=True)
                return JobResult.RETRY
            log.info("job %s taken over (delivery %d): no reply in Slack yet; answering it", job.job_id, job.deliveries)
        answer = self._ask(question)
        log.info("%s: %s in %.0f ms", question.surface, answer.outcome.value, answer.latency_ms)
        if not self.queue.still_mine(job.job_id):
            log.warning("job %s was taken over by another replica while being answered; leaving it to that one", job.job_id)
            return JobResult.LOST_CLAIM
        return JobResult.DONE if self._post(question, answer, job.job_id) else JobResult.RETRY

    def answer_here(self, question: QuestionJob) -> None:
        """A question held through a long Redis outage: answered by this replica, never queued."""
        answer = self._ask(question)
        log.info("%s: %s in %.0f ms (held while Redis was down)", question.surface, answer.outcome.value, answer.latency_ms)
        self._post(question, answer, "held")

    def _ask(self, question: QuestionJob) -> Answer:
        return self.service.ask_as(
            question.question, question.user_key, PLATFORM, question.channel_key, question.conversation_key
        )

    def _post(self, question: QuestionJob, answer: Answer, job_id: str) -> bool:
        """Post the answer tagged with `job_id`, else an apology; False when neither could be posted."""
        channel, thread_ts = question.reply_to.get("channel", ""), question.reply_to.get("thread_ts") or None
        metadata = job_metadata(job_id)
        for message in (format_answer(answer, feedback=True), apology_message()):
            try:
                self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, metadata=metadata, **message.as_kwargs())
                return True
            except Exception:
                log.exception("posting the reply to job %s failed", job_id)
        return False
