"""The `qabot` command: ask in the terminal, build the index, evaluate, run a chat adapter.

Only the standard library and the core are imported at start-up; the Discord and
Slack libraries are imported by their subcommands alone, so `qabot ask` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from bot.settings import Settings, SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qabot",
        description="Answer questions from news articles, quoting the passages and linking the sources.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    discord = sub.add_parser("discord", help="run the Discord bot (needs DISCORD_TOKEN)")
    discord.add_argument(
        "--invite-url", action="store_true", help="print the link that invites the bot to a server, then exit"
    )

    slack = sub.add_parser("slack", help="run the Slack app (Socket Mode by default)")
    slack.add_argument("--http", action="store_true", help="serve Slack's HTTP events at /slack/events")
    slack.add_argument("--host", default="127.0.0.1", help="address to bind in --http mode (default 127.0.0.1)")
    slack.add_argument("--port", type=int, default=3000, help="port to bind in --http mode (default 3000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "discord":
        from bot.adapters.discord.runner import run as run_discord

        return run_discord(args, settings)
    if args.command == "slack":
        from bot.adapters.slack.runner import run as run_slack

        return run_slack(args, settings)
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
