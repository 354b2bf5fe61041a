"""`qabot slack`: check the credentials, then serve the app in Socket Mode or over HTTP.

Socket Mode (the default) needs no public URL (`socket_mode`); `--http` serves Slack's HTTP
requests at `/slack/events` (`http_server`). The runner reads the settings, makes the Slack
config, and assembles the bot through `bot.app`.

Every startup problem with a token or secret ends in one line naming it, on stderr, and a
non-zero exit; values are never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Callable

import redis
from slack_bolt import App
from slack_bolt.error import BoltError

from bot import app as composition
from bot.adapters.slack.acks_first import AcknowledgementsFirst
from bot.adapters.slack.app import SlackConversations, build_app
from bot.adapters.slack.credentials import check_credentials, verify_app_token, verify_bot_token
from bot.adapters.slack.draining import DRAIN_SECONDS, DrainingExecutor
from bot.adapters.slack.http_server import EVENTS_PATH, start_http_server
from bot.adapters.slack.socket_mode import SOCKET_CONNECT_WAIT_SECONDS, connect_socket_mode, wait_until_connected
from bot.adapters.slack.web_client import SlackConfig, build_web_client
from bot.errors import ExitCode, SetupError
from bot.adapters.slack.jobs import SlackJobAnswerer
from bot.service.health import Health
from bot.service.job_workers import JobWorkers
from bot.service.metrics import Metrics
from bot.service.questions import AskService, QuestionService
from bot.stores.jobs import RedisJobQueue
from bot.settings import Settings
from bot.stores.seen_events import SeenEvents

log = logging.getLogger(__name__)


def slack_config(settings: Settings) -> SlackConfig:
    """The Slack side of the settings, as the adapter takes it."""
    return SlackConfig(
        bot_token=settings.slack_bot_token,
        app_token=settings.slack_app_token,
        signing_secret=settings.slack_signing_secret,
        api_url=settings.slack_api_url,
        slash_response_type=settings.slack_slash_visibility,
    )


def slack_conversations(settings: Settings) -> SlackConversations:
    """The conversation side of the settings, as the adapter takes it."""
    return SlackConversations(
        auto_channels=frozenset(settings.slack_auto_channels),
        follow_up_messages=settings.conversation_messages,
        ask_about_response_type="ephemeral" if settings.ask_about_visibility == "private" else "in_channel",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """`qabot slack [--http] [--host H] [--port P]`: serve until SIGINT or SIGTERM; 0 on a clean stop."""
    config = slack_config(settings)
    try:
        check_credentials(config, http=args.http)
        client = build_web_client(config, logger=_startup_check_logger())
        verify_bot_token(client, config)
        if not args.http:
            verify_app_token(client, config)
        with composition.running(settings) as bot, contextlib.ExitStack() as watched:
            # Over HTTP, Slack's requests are acknowledged before answers are worked out (acks_first).
            acknowledgements = AcknowledgementsFirst() if args.http else None
            listeners = acknowledgements.executor() if acknowledgements is not None else DrainingExecutor()
            jobs = bot.stores.jobs
            app = _build_app(
                config,
                bot.service,
                bot.stores.seen_events,
                listeners,
                bot.metrics,
                jobs,
                slack_conversations(settings),
            )
            workers = _start_job_workers(app, bot.service, jobs, acknowledgements) if jobs is not None else None
            stop = _serve(app, args, config, acknowledgements, bot.health)
            if not args.http:
                # Over HTTP they are beside /slack/events; in Socket Mode on a port of their own.
                watched.enter_context(composition.serving_health(settings, bot.health))
            try:
                _wait_for_stop_signal()
            finally:
                log.info("stopping")
                stop()  # no new requests; then the answers being worked out finish, before the service closes
                unfinished = listeners.drain(DRAIN_SECONDS)
                if unfinished:
                    log.warning("stopping with %d answer(s) still being worked out", unfinished)
                if workers is not None:
                    workers.stop()
    except SetupError as exc:
        print(f"qabot slack: {exc}", file=sys.stderr)
        return exc.exit_code
    return ExitCode.OK


def _serve(
    app: App,
    args: argparse.Namespace,
    config: SlackConfig,
    acknowledgements: AcknowledgementsFirst | None,
    health: Health,
) -> Callable[[], None]:
    """Start serving `app` the chosen way, and tell `health` how to know it is connected;
    returns what stops it."""
    if args.http:
        server = start_http_server(app, args.host, args.port, acknowledgements, health)
        # Slack calls us: there is no connection to hold, and the bot token passed auth.test at start.
        health.add_check("platform", lambda: None)
        log.info("serving Slack events at %s", server.url)
        log.info("serving /healthz, /readyz and /metrics at %s", server.url.removesuffix(EVENTS_PATH))
        return server.stop
    handler = connect_socket_mode(app, config)
    health.add_check(
        "platform", lambda: None if handler.client.is_connected() else "not connected to Slack (Socket Mode)"
    )
    if wait_until_connected(handler, SOCKET_CONNECT_WAIT_SECONDS):
        log.info("connected to Slack in Socket Mode")
    else:
        log.warning("the Socket Mode connection is not open yet; retrying in the background")
    return handler.close


def _startup_check_logger() -> logging.Logger:
    # The checks report a failure in one line themselves; slack_sdk would add its own lines first.
    logger = logging.getLogger(__name__ + ".startup_check")
    logger.disabled = True
    return logger


def _start_job_workers(
    app: App, service: QuestionService, jobs: RedisJobQueue, acknowledgements: AcknowledgementsFirst | None
) -> JobWorkers:
    """Answer the durable jobs every replica queues (with Redis). Over HTTP they, too, wait for the
    acknowledgements first (`acks_first`)."""
    try:
        jobs.ensure_group()
    except redis.RedisError:
        pass  # Redis down at start: the workers make the group once it answers
    answerer = SlackJobAnswerer(service, app.client, jobs)
    workers = JobWorkers(jobs, answerer, answer_here=answerer.answer_here)
    if acknowledgements is not None:
        workers.before_each = acknowledgements.wait_for_acknowledgements
    workers.start()
    log.info("answering durable question jobs from Redis as %s", jobs.consumer)
    return workers


def _build_app(
    config: SlackConfig,
    service: AskService,
    seen_events: SeenEvents,
    listeners: DrainingExecutor,
    metrics: Metrics,
    jobs: RedisJobQueue | None = None,
    conversations: SlackConversations | None = None,
) -> App:
    try:
        return build_app(config, service, seen_events, listeners, metrics, conversations=conversations, jobs=jobs)
    except BoltError:
        # verify_bot_token passed moments ago, so this is Slack changing its mind (a revoked token).
        raise SetupError("SLACK_BOT_TOKEN was rejected by Slack (auth.test failed)") from None


def _wait_for_stop_signal() -> None:
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping.wait(1.0):
        pass
