"""`qabot discord`, `qabot slack`: run a chat bot. Each runner (and its chat library) is imported
only when its command runs, so the other commands start fast and need neither library."""

from __future__ import annotations

import argparse
import sys

from bot.errors import SetupError
from bot.settings import Settings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    discord = sub.add_parser("discord", help="run the Discord bot (needs DISCORD_TOKEN)")
    discord.add_argument(
        "--invite-url", action="store_true", help="print the link that invites the bot to a server, then exit"
    )
    discord.set_defaults(handler=run_discord)

    slack = sub.add_parser("slack", help="run the Slack app (Socket Mode by default)")
    slack.add_argument("--http", action="store_true", help="serve Slack's HTTP events at /slack/events")
    slack.add_argument("--host", default="127.0.0.1", help="address to bind in --http mode (default 127.0.0.1)")
    slack.add_argument("--port", type=int, default=3000, help="port to bind in --http mode (default 3000)")
    slack.add_argument(
        "--manifest",
        action="store_true",
        help="print the Slack app manifest, /ask's usage hint a question the articles answer, then exit",
    )
    slack.set_defaults(handler=run_slack)


def run_discord(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.discord.runner import run

    return run(args, settings)


def run_slack(args: argparse.Namespace, settings: Settings) -> int:
    if args.manifest:
        from bot.adapters.slack.manifest import manifest_text
        from bot.app import load_core

        print(manifest_text(load_core(settings).example_question), end="")
        return 0
    listening = None
    if args.http:
        # Bound first, before the Slack libraries and the index code load (see
        # bot.adapters.slack.listening): Slack's requests queue instead of being refused.
        from bot.adapters.slack.listening import listening_socket

        try:
            listening = listening_socket(args.host, args.port)
        except SetupError as exc:
            print(f"qabot slack: {exc}", file=sys.stderr)
            return exc.exit_code
    from bot.adapters.slack.runner import run

    return run(args, settings, listening)
