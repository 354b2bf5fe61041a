"""Load on the real adapters against the local fakes, on 127.0.0.1 only; prints the figures.

    python -m benchmarks.load slack   [--events 500] [--concurrency 500] [--users 125]
    python -m benchmarks.load discord [--mentions 200] [--every 7] [--users 40]

slack:   the real Bolt app served over HTTP (its Web API the fake Slack) takes a burst of
         signed events sent all at once by a second process (`tests.support.slack_sender`).
discord: the real discord.py bot, connected to the fake Discord's gateway, takes a burst of
         mentions while the fake answers every n-th send with a 429.

Both check what the tests check (`tests/test_load.py` runs them at the sizes above): every
question answered exactly once with a real answer, no 5xx, every acknowledgement within
3 seconds. Questions come from eval/team.jsonl, spread over a number of users kept within
the default rate limit (5 per 30 s). The bundled corpus answers; its index is cached under
benchmarks/results/ (git-ignored) unless a cache folder is given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from tests.support.bursts import ACK_DEADLINE_MS, run_discord_burst, run_slack_http_load

RESULTS = Path(__file__).resolve().parent / "results"


# ---------------------------------------------------------------- the command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="platform", required=True)
    slack = sub.add_parser("slack", help="signed events to the app over HTTP")
    slack.add_argument("--events", type=int, default=500)
    slack.add_argument("--concurrency", type=int, default=500)
    slack.add_argument("--users", type=int, default=125)
    discord = sub.add_parser("discord", help="a burst of mentions through the gateway, with 429s")
    discord.add_argument("--mentions", type=int, default=200)
    discord.add_argument("--every", type=int, default=7, help="answer every n-th send with 429")
    discord.add_argument("--users", type=int, default=40)
    parser.add_argument("--cache-dir", type=Path, default=RESULTS / "cache-bundled")
    args = parser.parse_args(argv)
    if args.platform == "slack":
        report: Any = run_slack_http_load(args.events, args.concurrency, args.users, args.cache_dir)
        ok = set(report.posts_per_event.values()) == {1} and set(report.statuses) == {200}
        ok = ok and report.ack_max_ms < ACK_DEADLINE_MS and not report.refusals
    else:
        report = asyncio.run(run_discord_burst(args.mentions, args.every, args.users, args.cache_dir))
        ok = set(report.replies_per_message.values()) == {1} and not report.refusals
    print(report.summary())
    print("every question answered exactly once" if ok else "FAILED: see the figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
