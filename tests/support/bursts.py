"""Bursts of questions against the local fakes, counted: used by the load tests and `python -m benchmarks.load`.

Load on the real adapters against the local fakes, on 127.0.0.1 only; prints the figures.

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

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

REPO = Path(__file__).resolve().parents[2]
ACK_DEADLINE_MS = 3000.0
"""Slack's limit: an event not acknowledged within 3 seconds is sent again."""
REFUSALS = ("You're asking faster", "Sorry, something went wrong", "Sorry, I couldn't send")


def questions() -> list[str]:
    """The team's evaluation questions: realistic, and each answerable or politely declined."""
    with (REPO / "eval" / "team.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle if line.strip()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else 0.0


# ---------------------------------------------------------------- Slack over HTTP


@dataclass(frozen=True)
class SlackLoadReport:
    events: int
    concurrency: int
    statuses: dict[int, int]
    """How many deliveries got each HTTP status (0: no answer at all)."""
    ack_p50_ms: float
    ack_p95_ms: float
    ack_max_ms: float
    burst_seconds: float
    """From the first request sent to the last acknowledgement received."""
    answer_p50_ms: float
    answer_p95_ms: float
    """From an event's request to its answer reaching the (fake) Web API."""
    answered_seconds: float
    """From the first request sent to the last answer posted."""
    posts_per_event: dict[str, int]
    """Event ts -> chat.postMessage calls answering it (each must be 1)."""
    refusals: int
    """Answers that were an apology or a rate-limit note instead of an answer."""

    @property
    def acks_per_second(self) -> float:
        return self.events / self.burst_seconds if self.burst_seconds else 0.0

    @property
    def answers_per_second(self) -> float:
        return self.events / self.answered_seconds if self.answered_seconds else 0.0

    def summary(self) -> str:
        return (
            f"Slack HTTP: {self.events} signed events, {self.concurrency} at once from a second process; "
            f"statuses {dict(sorted(self.statuses.items()))}; "
            f"acks p50 {self.ack_p50_ms:.0f} ms, p95 {self.ack_p95_ms:.0f} ms, max {self.ack_max_ms:.0f} ms, "
            f"{self.acks_per_second:.0f} acks/s; answers p50 {self.answer_p50_ms:.0f} ms, "
            f"p95 {self.answer_p95_ms:.0f} ms, all {self.events} in {self.answered_seconds:.1f} s "
            f"({self.answers_per_second:.0f} answers/s)"
        )


def run_slack_http_load(events: int, concurrency: int, users: int, cache_dir: Path) -> SlackLoadReport:
    """`qabot slack --http` as its own process, the fake Slack here, the sender a third process."""
    from tests.support.slack_payloads import mention
    from tests.support.slack_server import BOT_TOKEN, SIGNING_SECRET, FakeSlack
    from tests.support.slack_processes import RunningQabot

    with FakeSlack() as fake:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(cache_dir),
            "QABOT_CACHE_DIR": str(cache_dir),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "QABOT_SLACK_API_URL": fake.api_url,
            "QABOT_LOG_LEVEL": "info",  # the default: a line per answer, as in production
        }
        app = RunningQabot(["--http", "--port", "0"], environment, cwd=cache_dir)
        try:
            url = app.wait_for_line(r"serving Slack events at (http://127\.0\.0\.1:\d+/slack/events)").group(1)
            app.wait_for_line(r"ready: the articles are read")  # the burst measures answering, not the first build
            asked = itertools.cycle(questions())
            bodies = [mention(next(asked), user=f"U0LOAD{n % users:05d}") for n in range(events)]
            sent = _send_from_another_process(url, bodies, concurrency, SIGNING_SECRET)
            fake.wait_for_calls("chat.postMessage", events, timeout=120)
            fake.assert_no_more_calls("chat.postMessage", expected=events, quiet_seconds=0.5)
        finally:
            app.stop()
        posts = fake.calls("chat.postMessage")

    started = min(r["started"] for r in sent["requests"])
    sent_at = {bodies[r["index"]]["event"]["ts"]: r["started"] for r in sent["requests"]}
    acks = [r["ack_ms"] for r in sent["requests"]]
    answer_ms = [(post.at - sent_at[post.params.get("thread_ts", "")]) * 1000 for post in posts]
    return SlackLoadReport(
        events=events,
        concurrency=concurrency,
        statuses=dict(Counter(r["status"] for r in sent["requests"])),
        ack_p50_ms=percentile(acks, 0.5),
        ack_p95_ms=percentile(acks, 0.95),
        ack_max_ms=max(acks),
        burst_seconds=max(r["started"] + r["ack_ms"] / 1000 for r in sent["requests"]) - started,
        answer_p50_ms=percentile(answer_ms, 0.5),
        answer_p95_ms=percentile(answer_ms, 0.95),
        answered_seconds=max(post.at for post in posts) - started,
        posts_per_event=_per_key(sent_at, [post.params.get("thread_ts", "") for post in posts]),
        refusals=sum(1 for post in posts if any(r in _shown(post.params) for r in REFUSALS)),
    )


def _per_key(asked: dict[Any, float], answered: list[Any]) -> dict[Any, int]:
    """How many answers each question got; an answer to no question asked counts too."""
    counts = Counter(answered)
    return {key: counts.get(key, 0) for key in asked} | {k: n for k, n in counts.items() if k not in asked}


def _shown(params: dict[str, Any]) -> str:
    from tests.support.slack_server import texts_of

    return "\n".join([params.get("text", ""), *texts_of(params.get("blocks") or [])])


def _send_from_another_process(url: str, bodies: list[dict[str, Any]], concurrency: int, secret: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump(bodies, handle)
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "tests.support.slack_sender", url, handle.name, "--concurrency", str(concurrency)],
            env={**os.environ, "SLACK_SIGNING_SECRET": secret},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.unlink(handle.name)
    if finished.returncode != 0:
        raise RuntimeError(f"the sender failed: {finished.stderr.strip()[-2000:]}")
    return json.loads(finished.stdout)


# ---------------------------------------------------------------- Discord through the gateway


@dataclass(frozen=True)
class DiscordBurstReport:
    mentions: int
    rate_limited_sends: int
    """Sends the fake answered with 429 (each retried by discord.py)."""
    replies_per_message: dict[int, int]
    """Mention message ID -> successful replies to it (each must be 1)."""
    refusals: int
    reply_p50_ms: float
    reply_p95_ms: float
    seconds: float
    """From the first mention dispatched to the last reply received."""

    @property
    def replies_per_second(self) -> float:
        return self.mentions / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"Discord gateway: {self.mentions} mentions in a burst, {self.rate_limited_sends} sends answered 429 "
            f"and retried; replies p50 {self.reply_p50_ms:.0f} ms, p95 {self.reply_p95_ms:.0f} ms; all in "
            f"{self.seconds:.1f} s ({self.replies_per_second:.0f} replies/s)"
        )


async def run_discord_burst(mentions: int, every: int, users: int, cache_dir: Path) -> DiscordBurstReport:
    from bot.app import build_service
    from bot.settings import Settings
    from tests.support.discord_server import FakeDiscord

    fake = FakeDiscord()
    # Every `every`-th reply is rate limited for a moment, as Discord does in a busy channel.
    fake.answer_with_status("POST", r"/channels/\d+/messages", status=429, retry_after=0.05, times=mentions, every=every)
    service = build_service(Settings.load(environ={}, dotenv_path=None, cache_dir=cache_dir))
    people = [fake.user(f"reader{n}") for n in range(users)]
    asked = itertools.cycle(questions())
    async with fake, _connected(fake, service):
        dispatched: dict[int, float] = {}
        for n in range(mentions):
            message = await fake.post_message(
                people[n % users], f"<@{fake.bot.id}> {next(asked)}", mentions=(fake.bot,)
            )
            dispatched[int(message["id"])] = time.monotonic()
        await fake.wait_for_request(lambda r: r.is_message_send() and r.status == 200, count=mentions, timeout=120)
        await asyncio.sleep(0.5)  # time for any second reply to show up
        sends = [r for r in fake.requests if r.is_message_send()]
    replies = [r for r in sends if r.status == 200]
    replied_to = [int(r.body["message_reference"]["message_id"]) for r in replies]
    latencies = [(r.at - dispatched[m]) * 1000 for r, m in zip(replies, replied_to) if m in dispatched]
    return DiscordBurstReport(
        mentions=mentions,
        rate_limited_sends=sum(1 for r in sends if r.status == 429),
        replies_per_message=_per_key(dispatched, replied_to),
        refusals=sum(1 for r in replies if any(x in (r.body.get("content") or "") for x in REFUSALS)),
        reply_p50_ms=percentile(latencies, 0.5),
        reply_p95_ms=percentile(latencies, 0.95),
        seconds=max(r.at for r in replies) - min(dispatched.values()),
    )


@contextlib.asynccontextmanager
async def _connected(fake: Any, service: Any) -> AsyncIterator[Any]:
    from bot.adapters.discord.client import QABotClient
    from bot.adapters.discord.runner import discord_endpoints

    with discord_endpoints(fake.api_url, fake.gateway_url):
        bot = QABotClient(service, guild_ready_timeout=0.05)
        running = asyncio.create_task(bot.start(fake.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(running, 10)


