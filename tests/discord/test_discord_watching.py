"""`qabot discord` watched as an operator would: /healthz, /readyz and /metrics on QABOT_HEALTH_PORT,
/readyz following the gateway session, REST errors and retries counted."""

from __future__ import annotations

import asyncio
import re
import signal

import pytest

from tests.discord.test_discord_cli import PROCESS_TIMEOUT, fake_discord_settings, finish, start_qabot
from tests.support.discord_harness import STEP_TIMEOUT
from tests.support.discord_server import FakeDiscord
from tests.support.health_client import Reply, get, metric

pytestmark = pytest.mark.asyncio

HEALTH_URL = re.compile(r"serving /healthz, /readyz and /metrics at (http://127\.0\.0\.1:\d+)")
QUESTION = "Why did Ring end its deal with Flock?"


async def health_url(process: asyncio.subprocess.Process, seen: list[str]) -> str:
    assert process.stderr is not None
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), PROCESS_TIMEOUT)).decode()
        assert line, f"qabot discord ended before serving its health endpoints: {seen}"
        seen.append(line)
        if found := HEALTH_URL.search(line):
            return found.group(1)


async def read(url: str) -> Reply:
    return await asyncio.to_thread(get, url)


async def until(url: str, status: int) -> Reply:
    deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT
    while (reply := await read(url)).status != status:
        assert asyncio.get_running_loop().time() < deadline, reply
        await asyncio.sleep(0.05)
    return reply


async def test_the_discord_bot_serves_health_readiness_and_metrics_on_its_health_port(tmp_path):
    async with FakeDiscord() as fake:
        process = await start_qabot(
            tmp_path, DISCORD_TOKEN=fake.token, DISCORD_GUILD_ID=str(fake.guild_id), QABOT_LOG_LEVEL="info",
            **fake_discord_settings(fake),
        )  # fmt: skip
        try:
            base = await health_url(process, [])
            assert (await read(base + "/healthz")).body == "alive\n"
            await asyncio.wait_for(fake.session_ready.wait(), PROCESS_TIMEOUT)
            ready = await until(base + "/readyz", 200)
            assert ready.body == "ready: index, database, platform\n"

            alice = fake.user("alice")
            # The answer is rate limited once (discord.py waits and retries), then one is refused.
            fake.answer_with_status("POST", r"/channels/\d+/messages", status=429, retry_after=0.05)
            await fake.post_message(alice, f"<@{fake.bot.id}> {QUESTION}", mentions=(fake.bot,))
            await fake.wait_for_request(lambda r: r.is_message_send() and r.status == 200, timeout=STEP_TIMEOUT)
            fake.answer_with_status("POST", r"/channels/\d+/messages", status=403)
            await fake.post_message(alice, f"<@{fake.bot.id}> who is the ceo of the moon", mentions=(fake.bot,))
            await fake.wait_for_request(
                lambda r: r.is_message_send() and r.status == 200, count=2, timeout=STEP_TIMEOUT
            )

            text = (await read(base + "/metrics")).body
            assert metric(text, "qabot_questions_total", platform="discord", outcome="answered") == 1
            assert metric(text, "qabot_questions_total", platform="discord", outcome="not_found") == 1
            assert metric(text, "qabot_answer_seconds_count", platform="discord") == 2
            assert (metric(text, "qabot_platform_api_retries_total", platform="discord") or 0) >= 1
            assert metric(text, "qabot_platform_api_errors_total", platform="discord") == 1

            # The gateway goes away and does not take the bot back at once: not ready, and why.
            await fake.close_gateway(forget_sessions=True)
            not_ready = await until(base + "/readyz", 503)
            assert "platform: " in not_ready.body
            assert (await read(base + "/healthz")).status == 200
            await until(base + "/readyz", 200)  # discord.py reconnects by itself
            process.send_signal(signal.SIGTERM)
            finished = await finish(process)
        finally:
            if process.returncode is None:
                process.kill()
    assert finished.returncode == 0, finished.stderr
    assert fake.token not in finished.stderr  # (the refused reply's traceback is logged, as it should be)
