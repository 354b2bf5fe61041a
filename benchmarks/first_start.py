"""A bot's first start with no index cache: how soon it listens, and what a question gets meanwhile.

    python -m benchmarks.first_start [--articles 20000] [--corpus DIR]

Starts `qabot slack --http` as its own process on a synthetic corpus (written once under
benchmarks/results/) with an empty cache folder, its Web API the local fake Slack on
127.0.0.1. Prints one JSON object: seconds from starting the process until a TCP connection
to its port is accepted, the reply to a mention sent at that moment, and seconds until the
index is ready. The issue's target: listening within 1 s at 20,000 articles.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from benchmarks.measure import corpus_folder
from tests.support.slack_helpers import everything_shown
from tests.support.slack_payloads import SignedSender, mention
from tests.support.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.support.waiting import accepts_connections

SENTENCES_PER_ARTICLE = 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_slack_http(
    env: dict[str, str], home: str, port: int, on_line: Callable[[str], None]
) -> subprocess.Popen[str]:
    """`qabot slack --http --port PORT` in the background, each line of its stderr handed to
    `on_line` (from a reader thread) as it comes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "slack", "--http", "--port", str(port)],
        env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def collect() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            on_line(line.rstrip("\n"))

    threading.Thread(target=collect, daemon=True).start()
    return process


def first_start(articles: int, corpus: Path | None = None, wait_until_ready: bool = True) -> dict[str, object]:
    folder = corpus or corpus_folder(articles * SENTENCES_PER_ARTICLE)
    articles = sum(1 for name in os.listdir(folder) if name.endswith(".md"))
    port = free_port()
    lines: list[tuple[float, str]] = []
    with FakeSlack() as fake, tempfile.TemporaryDirectory() as home:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": home,
            "QABOT_CACHE_DIR": str(Path(home) / "cache"),
            "QABOT_CORPUS_DIR": str(folder),
            "QABOT_QUESTION_LOG": "false",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "QABOT_SLACK_API_URL": fake.api_url,
        }
        started = time.monotonic()
        process = start_slack_http(env, home, port, lambda line: lines.append((time.monotonic() - started, line)))
        try:
            while not accepts_connections(port):
                if process.poll() is not None or time.monotonic() - started > 120:
                    raise SystemExit(f"qabot slack did not listen: {[line for _, line in lines]}")
                time.sleep(0.01)
            listening = time.monotonic() - started
            sender = SignedSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
            sender.post_event(mention("What did the Flock spokesperson tell the BBC?"))
            [reply] = fake.wait_for_calls("chat.postMessage", timeout=60)
            replied = time.monotonic() - started
            while wait_until_ready and not any("ready:" in line for _, line in lines):
                if process.poll() is not None or time.monotonic() - started > 1800:
                    raise SystemExit(f"the index was not ready: {[line for _, line in lines][-5:]}")
                time.sleep(0.2)
            ready = next((at for at, line in lines if "ready:" in line), None)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "articles": articles,
        "listening_seconds": round(listening, 3),
        "first_reply_seconds": round(replied, 3),
        "first_reply": everything_shown(reply).splitlines()[0],
        "ready_seconds": round(ready, 1) if ready is not None else None,
        "progress_lines": [line.split(": ", 1)[-1] for _, line in lines if "building the index:" in line][:3],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=20_000, help="synthetic articles (about 20 sentences each)")
    parser.add_argument("--corpus", type=Path, help="a folder of articles to use instead")
    parser.add_argument("--runs", type=int, default=1, help="starts to measure (only the last waits for the index)")
    args = parser.parse_args()
    for run in range(args.runs):
        measured = first_start(args.articles, args.corpus, wait_until_ready=run == args.runs - 1)
        print(json.dumps(measured, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
