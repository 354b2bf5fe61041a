"""Running the real Discord bot against the fake Discord, for the adapter's tests."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from tests.support.discord_server import FakeDiscord, RecordedRequest

from bot.adapters.discord.client import AskService, QABotClient, make_client
from bot.adapters.discord.runner import discord_endpoints
from bot.app import build_service
from bot.service.questions import QuestionService
from bot.settings import Settings
from bot.stores.seen_events import SeenEvents

STEP_TIMEOUT = 10.0
"""Longest any one step (connecting, waiting for a reply) may take before a test fails."""


def corpus_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for the bundled articles, with nothing read from this machine's environment."""
    return Settings.load(environ={}, dotenv_path=None, cache_dir=tmp_path / "cache", **overrides)


def corpus_service(tmp_path: Path, **overrides: Any) -> QuestionService:
    """The real question service over the bundled articles."""
    return build_service(corpus_settings(tmp_path, **overrides))


@dataclass
class Server:
    """A fake Discord with the real bot connected to it."""

    discord: FakeDiscord
    bot: QABotClient

    async def replies(self, *, count: int = 1) -> list[RecordedRequest]:
        """The first `count` messages the bot posted, waiting for them."""
        return await self.discord.wait_for_request(
            lambda r: r.is_message_send() and r.status == 200, count=count, timeout=STEP_TIMEOUT
        )


@contextlib.asynccontextmanager
async def bot_in_server(
    service: AskService,
    *,
    guild_id: int | None = None,
    discord: FakeDiscord | None = None,
    seen: SeenEvents | None = None,
    example_question: str | None = None,
) -> AsyncIterator[Server]:
    """Start a fake Discord and the bot, logged in and ready; close both afterwards."""
    async with discord or FakeDiscord() as fake:
        async with connected_bot(fake, service, guild_id=guild_id, seen=seen, example_question=example_question) as bot:
            yield Server(fake, bot)


@contextlib.asynccontextmanager
async def connected_bot(
    fake: FakeDiscord,
    service: AskService,
    *,
    guild_id: int | None = None,
    seen: SeenEvents | None = None,
    shards: int | str | None = None,
    example_question: str | None = None,
) -> AsyncIterator[QABotClient]:
    """The real bot connected to an already running fake Discord (several may connect: replicas)."""
    with discord_endpoints(fake.api_url, fake.gateway_url):
        # A short guild_ready_timeout: the fake sends every guild at once, no need to wait 2 s.
        bot = make_client(
            service,
            shards=shards,
            seen=seen,
            guild_id=guild_id,
            example_question=example_question,
            guild_ready_timeout=0.05,
        )
        running = asyncio.create_task(bot.start(fake.token))
        try:
            await _ready(bot, running)
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(running, STEP_TIMEOUT)


async def _ready(bot: QABotClient, running: asyncio.Task[None]) -> None:
    waiting = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({waiting, running}, timeout=STEP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    if running in done:
        waiting.cancel()
        running.result()  # raises why the bot could not start
        raise AssertionError("the bot stopped before it was ready")
    if waiting not in done:
        waiting.cancel()
        raise AssertionError("the bot did not become ready in time")
