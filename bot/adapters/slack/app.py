"""The Slack app: mentions, thread follow-ups, direct messages, `/ask`, the "Ask qabot about
this" message shortcut and vote buttons, as listeners on a Bolt `App`.

Each listener is one method of `SlackQuestions`, which holds what they share (the service,
the seen-events store, who sees /ask answers, how the app takes part in conversations);
`build_app` registers them.

How the app is served (Socket Mode or HTTP) is chosen by `runner`; nothing here
depends on it. Bolt acknowledges every event before the listener runs, and the
slash command listener acknowledges first thing, so Slack always gets its answer
within 3 seconds; the question is then answered in Bolt's worker threads.

One question gets one answer: a delivery whose `event_id` was already seen (a
retry, `X-Slack-Retry-Num`) is acknowledged and dropped, and so is a second event
for the same message (the same channel and `ts`): with `message.channels` beside
`app_mention`, Slack sends a mention in a channel as both events, in either order,
and whichever listener claims the message first answers it.

Conversations: a channel question is answered in its thread, and the thread is a
conversation; a later message there is a follow-up ("why?", "tell me more"), with a
mention or, for `QABOT_CONVERSATION_MINUTES` and `follow_up_messages` questions, without
one (only in threads the bot answered in). `auto_channels` answer every top-level
question without a mention. A direct-message conversation is one conversation too.

With Redis, mentions, direct messages, follow-ups in the bot's threads (with or without a
mention) and questions in auto-answer channels are durable jobs (`jobs`): queued by the middleware before Slack's request is
acknowledged, answered by whichever replica's job workers take them, so a replica dying after
the acknowledgement loses nothing. A job carries its conversation's hashed key, and the
conversations are in Redis too, so follow-ups work across replicas. `/ask` and the message
shortcut are answered in-process (their answers go to Slack's `response_url`).

Feedback: a logged answer carries 👍/👎 buttons (they work in threads, direct
messages and `/ask` answers alike, ephemeral ones included, and need no extra
OAuth scope); a click is recorded as that person's vote on that answer.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Callable

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_bolt.context.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.adapters.slack.formatting import (
    VOTE_UP_ACTION,
    SlackMessage,
    apology_message,
    format_answer,
)
from bot.adapters.slack.jobs import FOLLOW_UP_SUBTYPES, job_for_event, thread_conversation
from bot.adapters.slack.markup import question_from_slack
from bot.answering.answer import Answer, Outcome
from bot.answering.conversation import asks_a_question
from bot.stores.jobs import RedisJobQueue
from bot.stores.seen_events import InMemorySeenEvents, SeenEvents
from bot.answering.answer import Vote
from bot.answering.messages import ERROR_MESSAGE
from bot.service.questions import AskService
from bot.adapters.slack.api_metrics import count_api_calls, count_each_request
from bot.adapters.slack.web_client import SlackConfig, build_web_client, library_logger
from bot.service.metrics import Metrics

log = logging.getLogger(__name__)

PLATFORM = "slack"


VOTE_ACTIONS = re.compile(r"^qabot_vote_(up|down)$")
ASK_ABOUT_CALLBACK = "qabot_ask_about"
"""The message shortcut's callback ID (the manifest's `shortcuts`)."""
HELP_QUESTION = "help"
"""What `/ask` with no text asks: the help reply."""
THANKS = {Vote.UP: "Thanks, your 👍 is noted.", Vote.DOWN: "Thanks, your 👎 is noted; it helps us find better articles."}


@dataclass(frozen=True)
class SlackQuestions:
    """The listeners' shared dependencies; each method below is one Bolt listener."""

    service: AskService
    seen_events: SeenEvents
    slash_response_type: str
    """Who sees /ask answers: "in_channel" (everyone) or "ephemeral" (the asker)."""
    ask_about_response_type: str = "ephemeral"
    """Who sees "Ask qabot about this" answers."""
    auto_channels: frozenset[str] = frozenset()
    """Channels where every top-level question is answered in its thread, no mention needed."""
    follow_up_messages: int = 15
    """Questions answered without a mention in a thread the bot answered in."""
    jobs: RedisJobQueue | None = None
    """With Redis: mentions, direct messages, thread follow-ups and auto-channel questions are queued
    here before Slack is answered."""

    def skip_repeated_deliveries(
        self, body: dict[str, Any], request: BoltRequest, context: BoltContext, next: Callable[[], None]
    ) -> BoltResponse | None:
        """Global middleware: acknowledge and drop an event delivery already seen; with a job
        queue, queue a question durably and acknowledge it (the job workers answer it)."""
        if self.jobs is not None and (queued := self._queue_question(body, context)) is not None:
            return queued
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not self.seen_events.first_time(f"{PLATFORM}:event:{event_id}"):
            retry = request.headers.get("x-slack-retry-num", ["0"])[0]
            reason = request.headers.get("x-slack-retry-reason", [""])[0]
            log.info("dropped a repeated delivery of event %s (retry %s %s)", event_id, retry, reason)
            return BoltResponse(status=200, body="")  # a 200 tells Slack to stop retrying
        next()
        return None

    def _queue_question(self, body: dict[str, Any], context: BoltContext) -> BoltResponse | None:
        """The response for a question now queued, held until Redis answers, or already seen; None
        when the event is no question (the listeners handle it)."""
        assert self.jobs is not None
        found = job_for_event(body, context.bot_user_id, self.service, self._bot_thread, self.auto_channels)  # type: ignore[arg-type]
        if found is None:
            return None
        job, event_keys = found
        queued = self.jobs.submit(job, event_keys)
        if queued is False:
            log.info("dropped a repeated delivery of event %s", body.get("event_id"))
        # A 200 only now: the job is in Redis, so a replica dying from here on loses nothing (or,
        # Redis down, held here until it is back: see bot.stores.jobs).
        return BoltResponse(status=200, body="")

    def _bot_thread(self, channel: str, thread_ts: str) -> bool:
        """Whether a message without a mention in this thread is a follow-up: the bot answered in
        it, within `QABOT_CONVERSATION_MINUTES` and `follow_up_messages` (with Redis, whichever
        replica did)."""
        return self.service.in_conversation(PLATFORM, thread_conversation(channel, thread_ts), self.follow_up_messages)

    def answer_mention(self, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """`@qabot question` in a channel: answer in the message's thread (its conversation)."""
        if not self._first_time_for_message(event):
            return
        self._answer_in_thread(event, context, client, "mention")

    def answer_message(self, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """A message event: a direct message, a follow-up in a thread the bot answered in, or
        a question in a channel that answers by itself. Anything else is left alone here (a
        mention is `answer_mention`'s), and left unclaimed, so the other event can answer it."""
        if event.get("subtype") not in FOLLOW_UP_SUBTYPES or event.get("bot_id"):
            return
        if event.get("channel_type") == "im":
            self.answer_direct_message(event, context, client)
            return
        channel, ts, thread_ts = event.get("channel", ""), event.get("ts", ""), event.get("thread_ts")
        mentioned = bool(context.bot_user_id) and f"<@{context.bot_user_id}>" in event.get("text", "")
        if thread_ts and thread_ts != ts:
            # A reply in a thread: a follow-up with a mention, or within the bounds without one.
            if not mentioned and not self._bot_thread(channel, thread_ts):
                return
        elif channel not in self.auto_channels:
            return  # a top-level message: only auto channels answer without a mention
        elif not mentioned and not asks_a_question(question_from_slack(event.get("text", ""), context.bot_user_id)):
            return  # chatter ("lol nice") in an auto channel
        if not self._first_time_for_message(event):
            return  # the app_mention event for this message came first and answered it
        self._answer_in_thread(event, context, client, "thread" if thread_ts else "auto channel")

    def _answer_in_thread(self, event: dict[str, Any], context: BoltContext, client: WebClient, surface: str) -> None:
        channel = event.get("channel", "")
        thread_ts = event.get("thread_ts") or event.get("ts", "")
        question = question_from_slack(event.get("text", ""), context.bot_user_id)
        answer = self._ask(question, event.get("user", ""), channel, surface, thread_conversation(channel, thread_ts))
        post_reply(client, channel, thread_ts, format_answer(answer, feedback=True))

    def answer_direct_message(self, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """A direct message to the bot: answer in the conversation (in its thread, if it has one)."""
        # Subtypes are edits, deletions, joins, bot posts...; none of them is a new question.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not self._first_time_for_message(event):
            return
        channel = event.get("channel", "")
        question = question_from_slack(event.get("text", ""), context.bot_user_id)
        # The direct-message channel (or a thread in it) is one conversation.
        conversation = thread_conversation(channel, event.get("thread_ts") or "dm")
        answer = self._ask(question, event.get("user", ""), channel, "direct message", conversation)
        message = format_answer(answer, feedback=True)
        post_reply(client, channel, event.get("thread_ts"), message)

    def answer_about_message(self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """The "Ask qabot about this" message shortcut: the message's text is the question; the
        answer (ephemeral unless configured otherwise) links the message."""
        ack()
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id", "")
        question = question_from_slack(message.get("text", ""), _bot_user_id(body))
        answer = self._ask(question, (body.get("user") or {}).get("id", ""), channel, "shortcut")
        link = _permalink(client, channel, message.get("ts", ""))
        formatted = format_answer(answer, echo_question=True, feedback=True, about_message=link)
        try:
            _respond(respond, formatted, self.ask_about_response_type)
        except Exception:
            log.exception("responding to a message shortcut failed")
            try:
                _respond(respond, apology_message(), "ephemeral")
            except Exception:
                log.exception("the apology for a failed shortcut response could not be sent either")

    def answer_ask_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        """`/ask question`: acknowledge at once (Slack waits only 3 seconds), then respond.
        `/ask` alone gets the help reply."""
        ack()
        question = question_from_slack(command.get("text", "")) or HELP_QUESTION
        answer = self._ask(question, command.get("user_id", ""), command.get("channel_id", ""), "/ask")
        message = format_answer(answer, echo_question=True, feedback=True)
        try:
            _respond(respond, message, self.slash_response_type)
        except Exception:
            log.exception("responding to /ask failed")
            try:
                _respond(respond, apology_message(), self.slash_response_type)
            except Exception:
                log.exception("the apology for a failed /ask response could not be sent either")

    def record_vote(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """A click on 👍 or 👎 under an answer: that person's vote on it (a second click changes it)."""
        ack()
        vote = Vote.UP if action.get("action_id") == VOTE_UP_ACTION else Vote.DOWN
        try:
            answer_id = int(action.get("value", ""))
        except ValueError:
            log.warning("a feedback button carried no answer ID")
            return
        raw_user_id = (body.get("user") or {}).get("id", "")
        try:
            recorded = self.service.record_feedback(answer_id, raw_user_id, vote, PLATFORM)
        except Exception:
            log.exception("recording a 👍/👎 failed")
            return
        if not recorded:
            return  # the question log is off, or the answer has expired from it
        try:
            # Only the voter sees the thanks; the answer itself stays as it was.
            respond(text=THANKS[vote], response_type="ephemeral", replace_original=False)
        except Exception:
            log.warning("could not thank for a vote", exc_info=True)

    def _ask(
        self, question: str, raw_user_id: str, raw_channel_id: str, surface: str, conversation: str | None = None
    ) -> Answer:
        # The service never raises by contract; a broken service must still not silence the bot.
        try:
            # Raw IDs go to the service, which hashes them before anything keeps them.
            if conversation is None:
                answer = self.service.ask(question, raw_user_id, PLATFORM, raw_channel_id or None)
            else:
                answer = self.service.ask(question, raw_user_id, PLATFORM, raw_channel_id or None, conversation)
        except Exception:
            log.exception("the question service raised")
            return Answer(question=question, outcome=Outcome.ERROR, message=ERROR_MESSAGE)
        # The service logs the one info line per question; this adds where it came from.
        log.debug("%s: %s in %.0f ms", surface, answer.outcome.value, answer.latency_ms)
        return answer

    def _first_time_for_message(self, event: dict[str, Any]) -> bool:
        # Slack may deliver one message in two events with different event_ids (an edited
        # message, or a mention that is also a direct message): a message is answered once.
        # A shared store hashes the channel and ts with the deployment secret (privacy.KeyedSeenEvents).
        return self.seen_events.first_time(f"{PLATFORM}:message:{event.get('channel', '')}:{event.get('ts', '')}")


def _bot_user_id(body: dict[str, Any]) -> str | None:
    for authorization in body.get("authorizations") or []:
        if authorization.get("is_bot"):
            return authorization.get("user_id")
    return None


def _permalink(client: WebClient, channel: str, ts: str) -> str | None:
    """A link to the message (chat.getPermalink needs no scope); None if Slack will not give one."""
    if not channel or not ts:
        return None
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except Exception:
        log.warning("could not get a link to the message a shortcut was used on", exc_info=True)
        return None


def post_reply(client: WebClient, channel: str, thread_ts: str | None, message: SlackMessage) -> bool:
    """Post `message`; on failure log it and try a short apology. True if the answer was posted."""
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.as_kwargs())
        return True
    except Exception:
        log.exception("posting an answer failed")
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **apology_message().as_kwargs())
    except Exception:
        log.exception("the apology for a failed answer could not be posted either")
    return False


def _respond(respond: Respond, message: SlackMessage, response_type: str) -> None:
    response = respond(response_type=response_type, **message.as_kwargs())
    if response.status_code != 200:
        raise RuntimeError(f"Slack refused the /ask response (HTTP {response.status_code}: {response.body[:200]})")


@dataclass(frozen=True)
class SlackConversations:
    """How the app takes part in conversations (from the settings, via the runner)."""

    auto_channels: frozenset[str] = frozenset()
    follow_up_messages: int = 15
    ask_about_response_type: str = "ephemeral"


def build_app(
    config: SlackConfig,
    service: AskService,
    seen_events: SeenEvents | None = None,
    listener_executor: Executor | None = None,
    metrics: Metrics | None = None,
    conversations: SlackConversations | None = None,
    jobs: RedisJobQueue | None = None,
) -> App:
    """The Bolt app, its Web API client pointed at `config.api_url` when set.

    `listener_executor` runs the listeners (Bolt's own pool of 5 threads when None); `metrics`
    counts the Web API calls that fail and the ones retried. With `jobs` (and a service that can
    ask by keys), mentions, direct messages and follow-ups in the bot's threads are queued there as
    durable jobs instead of being answered by the listeners; the runner's job workers answer them.

    Builds with an `auth.test` call, so a rejected bot token fails here (as a BoltError).
    """
    client = build_web_client(config)
    if metrics is not None:
        client = count_api_calls(client, metrics)
    app = App(
        client=client,
        signing_secret=config.signing_secret.reveal(),
        logger=library_logger(),
        name="qabot",
        listener_executor=listener_executor,
    )
    conversations = conversations or SlackConversations()
    questions = SlackQuestions(
        service=service,
        seen_events=seen_events if seen_events is not None else InMemorySeenEvents(),
        slash_response_type=config.slash_response_type,
        ask_about_response_type=conversations.ask_about_response_type,
        auto_channels=conversations.auto_channels,
        follow_up_messages=conversations.follow_up_messages,
        jobs=jobs,
    )
    app.middleware(questions.skip_repeated_deliveries)
    if metrics is not None:
        app.middleware(count_each_request(metrics))
    app.event("app_mention")(questions.answer_mention)
    app.event("message")(questions.answer_message)
    app.command("/ask")(questions.answer_ask_command)
    app.shortcut(ASK_ABOUT_CALLBACK)(questions.answer_about_message)
    app.action(VOTE_ACTIONS)(questions.record_vote)
    return app
