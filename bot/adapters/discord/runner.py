"""`qabot discord`: check the token, build the question service, run the bot until stopped.

Setup mistakes an admin can make (no token, a wrong token, no application ID
for the invite link) end with one line naming the setting and a non-zero exit
code, not a traceback. SIGINT and SIGTERM stop the bot cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Iterator

import aiohttp
import discord
import yarl

from bot import app as composition
from bot.adapters.discord.api_metrics import count_api_calls
from bot.adapters.discord.client import make_client
from bot.errors import ExitCode, SetupError
from bot.settings import Settings

log = logging.getLogger(__name__)

INVITE_SCOPES = ("bot", "applications.commands")
INVITE_PERMISSIONS = discord.Permissions(
    send_messages=True,
    embed_links=True,
    read_message_history=True,
    send_messages_in_threads=True,
    add_reactions=True,
)
"""The least the bot needs: post answers as embeds, reply to a message, answer in threads,
and put 👍/👎 under its answers for feedback."""

MISSING_TOKEN = (
    "DISCORD_TOKEN is not set: put the bot token from the Discord Developer Portal "
    "(your application > Bot > Reset Token) in the environment or in .env"
)
REJECTED_TOKEN = (
    "Discord rejected DISCORD_TOKEN: copy the bot token again from the Developer Portal "
    "(your application > Bot > Reset Token); it is neither the application ID nor the public key"
)
MISSING_APPLICATION_ID = (
    "--invite-url needs DISCORD_APPLICATION_ID (Developer Portal > your application > "
    "General Information > Application ID), or DISCORD_TOKEN to look it up"
)
SHUTDOWN_GRACE_SECONDS = 10.0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """What `qabot discord [--invite-url]` does; returns the process exit code."""
    # The bot never joins voice; discord.py's warnings about missing voice libraries
    # would only puzzle an admin reading the log.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    quiet_library_debug_logs()
    try:
        with discord_endpoints(settings.discord_api_url, settings.discord_gateway_url):
            if args.invite_url:
                print(asyncio.run(invite_url_for(settings)))
                return ExitCode.OK
            token = settings.discord_token
            if not token:
                raise SetupError(MISSING_TOKEN)
            with composition.running(settings) as bot:
                client = make_client(
                    bot.service,
                    shards=settings.discord_shards,
                    seen=bot.stores.seen_events,
                    guild_id=settings.discord_guild_id,
                    jobs=bot.stores.jobs,
                    # The /ask hint is registered once, at start: an example from the articles then.
                    example_question=composition.example_question(bot.service),
                )
                count_api_calls(client, bot.metrics)
                bot.health.add_check("platform", lambda: gateway_problem(client))
                with composition.serving_health(settings, bot.health):
                    asyncio.run(serve(client, token.reveal()))
            return ExitCode.OK
    except SetupError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return exc.exit_code


def gateway_problem(client: discord.Client) -> str | None:
    """None while the gateway session is up (asked from the health server's thread: reads flags only)."""
    if client.is_closed():
        return "the Discord connection is closed"
    if not client.is_ready():
        return "not connected to the Discord gateway yet"
    if isinstance(client, discord.AutoShardedClient):
        down = sorted(shard_id for shard_id, shard in client.shards.items() if shard.is_closed())
        return f"gateway shard(s) {', '.join(map(str, down))} reconnecting" if down else None
    ws = client.ws
    if ws is None or not ws.open:  # discord.py is reconnecting (it keeps is_ready() meanwhile)
        return "the Discord gateway connection is down; reconnecting"
    return None


def quiet_library_debug_logs() -> None:
    """Keep discord.py at info level or above, whatever QABOT_LOG_LEVEL says.

    At debug level it logs every gateway event and request body whole: raw user IDs and
    the text of every message the bot can see, which the bot's log must never hold.
    """
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))


def invite_url(application_id: int) -> str:
    """The OAuth2 link that adds the bot, with its slash commands, to a server."""
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES)


async def invite_url_for(settings: Settings) -> str:
    if settings.discord_application_id is not None:
        return invite_url(settings.discord_application_id)
    if not settings.discord_token:
        raise SetupError(MISSING_APPLICATION_ID)
    # Logging in over REST (no gateway) is enough to learn the application ID.
    async with discord.Client(intents=discord.Intents(guilds=True)) as client:
        with setup_errors():
            await client.login(settings.discord_token.reveal())
        assert client.application_id is not None
        return invite_url(client.application_id)


async def serve(client: discord.Client, token: str) -> None:
    """Run `client` until Discord ends the session for good or we are told to stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            loop.add_signal_handler(signum, stop.set)
    async with client:
        running = asyncio.create_task(client.start(token))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if running.done():
            with setup_errors():
                running.result()  # why the bot stopped on its own
            return
        log.info("stopping")
        await client.close()
        _, still_running = await asyncio.wait({running}, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in still_running:
            task.cancel()


@contextlib.contextmanager
def setup_errors() -> Iterator[None]:
    """Turn what discord.py raises for a bad token or an unreachable Discord into a SetupError."""
    try:
        yield
    except discord.LoginFailure:
        raise SetupError(REJECTED_TOKEN) from None
    except discord.ConnectionClosed as exc:
        if exc.code == 4004:  # the gateway's "authentication failed"
            raise SetupError(REJECTED_TOKEN) from None
        raise SetupError(f"Discord closed the connection (code {exc.code}): {exc.reason}", ExitCode.FAILED) from None
    except discord.PrivilegedIntentsRequired:
        raise SetupError("Discord refused the requested intents; this bot needs no privileged intent") from None
    except discord.HTTPException as exc:
        raise SetupError(f"Discord answered {exc.status}: {exc.text or 'no details'}", ExitCode.FAILED) from None
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise SetupError(f"cannot reach Discord: {exc}", ExitCode.FAILED) from None


@contextlib.contextmanager
def discord_endpoints(api_url: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py at another REST API and gateway (a proxy, or a test's fake Discord).

    discord.py reads both from class attributes, so this affects the whole
    process while it lasts; they are put back afterwards.
    """
    saved_api, saved_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    if api_url:
        discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = saved_api
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved_gateway
