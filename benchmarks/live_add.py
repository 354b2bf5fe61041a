"""A running bot answers from an article added while it runs: how soon, on a large corpus.

    python -m benchmarks.live_add [--articles 20000] [--reload-seconds 5] [--rounds 3]

Starts `qabot slack --http` as its own process on a hard-linked copy of the synthetic corpus
of `--articles` articles, its index built and cached first (as a bot finds it after `qabot
index`), its Web API the local fake Slack on 127.0.0.1. Each round runs `qabot add` of a new
article, then mentions the bot with a question about it (a signed app_mention, as Slack sends
it) every 0.25 s until a reply quotes the article, and prints the seconds from the end of
`qabot add` (the file in place, the index already updated) to that reply, against the issue's
target of QABOT_RELOAD_SECONDS + 2 s, with the load average. `qabot remove` then takes the
article away and the round waits until the bot no longer quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.first_start import free_port, start_slack_http
from tests.support.waiting import accepts_connections
from benchmarks.incremental import NEW_ARTICLE, QUESTION, fresh_copy
from benchmarks.measure import RESULTS
from tests.support.slack_helpers import everything_shown
from tests.support.slack_payloads import SignedSender, mention
from tests.support.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack

QUOTED = "zeppelin camera"
"""Words of the added article's own sentence: a reply holding them answers from it."""


def qabot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True)


def replies_quoting(fake: FakeSlack, since: int) -> list[str]:
    return [everything_shown(c) for c in fake.calls("chat.postMessage")[since:] if QUOTED in everything_shown(c)]


def ask_until(fake: FakeSlack, sender: SignedSender, quoted: bool, limit: float) -> float:
    """Mention the bot every 0.25 s until a reply quotes the article (or, `quoted` False, until one
    does not); the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = len(fake.calls("chat.postMessage"))
        sender.post_event(mention(QUESTION))
        [reply] = fake.wait_for_calls("chat.postMessage", count=before + 1, timeout=30)[before:]
        if (QUOTED in everything_shown(reply)) == quoted:
            return time.monotonic() - started
        time.sleep(0.25)
    raise SystemExit(f"the bot did not {'quote' if quoted else 'stop quoting'} the article within {limit:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--reload-seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # benchmarks.incremental's copy and cache: one index build serves both; run them one at a time.
    folder, cache = fresh_copy(args.articles)
    new_file = RESULTS / "zeppelin.md"
    new_file.write_text(NEW_ARTICLE, encoding="utf-8")
    port = free_port()
    lines: list[str] = []
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "QABOT_CACHE_DIR": str(cache),
            "QABOT_CORPUS_DIR": str(folder),
            "QABOT_QUESTION_LOG": "false",
            "QABOT_RATE_LIMIT": "0/1",
            "QABOT_RELOAD_SECONDS": str(args.reload_seconds),
            "QABOT_FOLLOW_MINUTES": "0",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "QABOT_SLACK_API_URL": fake.api_url,
        }
        indexed = qabot(env, "index")
        print(indexed.stdout.strip().splitlines()[0] if indexed.stdout else indexed.stderr.strip())
        process = start_slack_http(env, home, port, lines.append)
        rows = []
        try:
            started = time.monotonic()
            while not (accepts_connections(port) and any("ready:" in line for line in lines)):
                if process.poll() is not None or time.monotonic() - started > 300:
                    raise SystemExit(f"qabot slack did not start: {lines[-5:]}")
                time.sleep(0.05)
            sender = SignedSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
            for _ in range(args.rounds):
                add_started = time.monotonic()
                added = qabot(env, "add", str(new_file), "--publisher", "Example Tribune", "--id", "zeppelin")
                add_seconds = time.monotonic() - add_started
                if added.returncode != 0:
                    raise SystemExit(f"qabot add failed: {added.stderr}")
                answered = ask_until(fake, sender, quoted=True, limit=120)
                removed = qabot(env, "remove", "zeppelin")
                if removed.returncode != 0:
                    raise SystemExit(f"qabot remove failed: {removed.stderr}")
                gone = ask_until(fake, sender, quoted=False, limit=120)
                rows.append((add_seconds, answered, gone))
        finally:
            process.terminate()
            process.wait(timeout=30)
    target = args.reload_seconds + 2
    print(f"{args.articles:,} articles, QABOT_RELOAD_SECONDS={args.reload_seconds:g}: target {target:g} s")
    print(f"{'qabot add s':>12} {'answered after s':>17} {'gone after remove s':>20}")
    for add_seconds, answered, gone in rows:
        print(f"{add_seconds:>12.2f} {answered:>17.2f} {gone:>20.2f}")
    reloads = [line.split("reloaded the articles", 1)[1].strip() for line in lines if "reloaded the articles" in line]
    print(json.dumps({"reload_log_lines": reloads[:6]}))
    print(f"machine load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
