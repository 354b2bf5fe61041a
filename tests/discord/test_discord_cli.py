"""An admin runs `qabot discord` as a real process: clear lines for setup mistakes, an invite
link with the right scopes and permissions, and a bot that answers until it is stopped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from corpus import BUNDLED_DIR
from index.analysis import Analyzer
from index.cache import load_or_build
from tests.support.processes import qabot_environment
from tests.support.processes import start_qabot as start_process
from tests.support.discord_harness import STEP_TIMEOUT
from tests.support.discord_server import FakeDiscord

pytestmark = pytest.mark.asyncio

PROCESS_TIMEOUT = 60.0


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def discord_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    return qabot_environment(tmp_path, **{"QABOT_LOG_LEVEL": "warning", **settings})


async def start_qabot(tmp_path: Path, *args: str, **settings: str) -> asyncio.subprocess.Process:
    # cwd is an empty folder, so no .env file of this checkout is read.
    return await start_process("discord", *args, env=discord_environment(tmp_path, **settings), cwd=tmp_path)


async def finish(process: asyncio.subprocess.Process) -> Finished:
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode is not None
    return Finished(process.returncode, stdout.decode(), stderr.decode())


async def run_qabot(tmp_path: Path, *args: str, **settings: str) -> Finished:
    return await finish(await start_qabot(tmp_path, *args, **settings))


def fake_discord_settings(fake: FakeDiscord) -> dict[str, str]:
    return {"QABOT_DISCORD_API_URL": fake.api_url, "QABOT_DISCORD_GATEWAY_URL": fake.gateway_url}


def assert_one_clear_line(finished: Finished, *names: str) -> None:
    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr
    [line] = finished.stderr.splitlines()
    assert line.startswith("qabot: ")
    for name in names:
        assert name in line


async def test_without_a_token_the_bot_says_to_set_DISCORD_TOKEN(tmp_path):
    finished = await run_qabot(tmp_path)
    assert_one_clear_line(finished, "DISCORD_TOKEN")
    assert finished.stdout == ""


async def test_a_token_discord_rejects_ends_with_one_line_naming_DISCORD_TOKEN(tmp_path):
    async with FakeDiscord() as fake:
        finished = await run_qabot(tmp_path, DISCORD_TOKEN="not-the-token", **fake_discord_settings(fake))
    assert_one_clear_line(finished, "DISCORD_TOKEN", "rejected")
    assert [r.path for r in fake.requests] == ["/users/@me"]
    assert "not-the-token" not in finished.stderr + finished.stdout


async def test_a_token_the_gateway_rejects_ends_with_the_same_line(tmp_path):
    async with FakeDiscord(gateway_rejects_token=True) as fake:
        finished = await run_qabot(tmp_path, DISCORD_TOKEN=fake.token, **fake_discord_settings(fake))
    assert_one_clear_line(finished, "DISCORD_TOKEN", "rejected")
    assert len(fake.identify_payloads) == 1, "no reconnect loop with a rejected token"


async def test_the_invite_link_asks_for_the_bot_and_its_commands_with_minimal_permissions(tmp_path):
    finished = await run_qabot(tmp_path, "--invite-url", DISCORD_APPLICATION_ID="987654321098765432")
    assert finished.returncode == 0 and finished.stderr == ""
    [url] = finished.stdout.split()
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query["client_id"] == ["987654321098765432"]
    assert query["scope"] == ["bot applications.commands"]
    granted = {name for name, on in discord.Permissions(int(query["permissions"][0])) if on}
    assert granted == {
        "send_messages", "embed_links", "read_message_history", "send_messages_in_threads",
        "create_public_threads",  # a question in a channel that answers by itself gets its own thread
        "add_reactions",
    }  # fmt: skip


async def test_the_invite_link_looks_up_the_application_id_with_the_token(tmp_path):
    async with FakeDiscord(application_id=555_000_000_000_000_555) as fake:
        finished = await run_qabot(tmp_path, "--invite-url", DISCORD_TOKEN=fake.token, **fake_discord_settings(fake))
    assert finished.returncode == 0 and finished.stderr == ""
    assert parse_qs(urlsplit(finished.stdout.strip()).query)["client_id"] == ["555000000000000555"]
    assert not fake.identify_payloads, "looking up the ID needs no gateway connection"


async def test_the_invite_link_without_an_application_id_or_token_names_both(tmp_path):
    finished = await run_qabot(tmp_path, "--invite-url")
    assert_one_clear_line(finished, "DISCORD_APPLICATION_ID", "DISCORD_TOKEN")


async def test_the_invite_link_with_a_rejected_token_names_DISCORD_TOKEN(tmp_path):
    async with FakeDiscord() as fake:
        finished = await run_qabot(tmp_path, "--invite-url", DISCORD_TOKEN="wrong", **fake_discord_settings(fake))
    assert_one_clear_line(finished, "DISCORD_TOKEN")


def index_built_beforehand(corpus: Path, tmp_path: Path) -> None:
    """As after an earlier run: the bot then loads its index before connecting, and answers the
    first mention (with an index still to build it would say it is still reading; see
    tests/test_serving_while_building.py)."""
    load_or_build(corpus, tmp_path / "cache", Analyzer())


async def test_qabot_discord_answers_mentions_until_it_is_stopped(tmp_path):
    index_built_beforehand(BUNDLED_DIR, tmp_path)
    async with FakeDiscord() as fake:
        process = await start_qabot(
            tmp_path, DISCORD_TOKEN=fake.token, DISCORD_GUILD_ID=str(fake.guild_id), **fake_discord_settings(fake)
        )
        try:
            await asyncio.wait_for(fake.session_ready.wait(), PROCESS_TIMEOUT)
            alice = fake.user("alice")
            await fake.post_message(alice, f"<@{fake.bot.id}> Why did Ring end its deal with Flock?", mentions=(fake.bot,))
            [reply] = await fake.wait_for_request(lambda r: r.is_message_send(), timeout=STEP_TIMEOUT)
            process.send_signal(signal.SIGTERM)
            finished = await finish(process)
        finally:
            if process.returncode is None:
                process.kill()

    assert "**" in reply.body["embeds"][0]["description"]
    assert any(r.path == f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands" for r in fake.requests)
    # Stopped right after the reply: the answer still gets its 👍 and 👎 before the bot goes.
    assert sum("/reactions/" in r.path for r in fake.requests) == 2
    assert finished.returncode == 0, finished.stderr
    assert "Traceback" not in finished.stderr and fake.token not in finished.stderr


async def test_qabot_discord_starts_and_answers_with_a_broken_article_in_the_folder(tmp_path, articles):
    (articles / "draft.md").write_bytes(b"---\ntitle: Draft\npublished: 13 Feb\n---\n\nA draft.\n")
    an_hour_ago = time.time_ns() - 3600 * 1_000_000_000
    os.utime(articles / "draft.md", ns=(an_hour_ago, an_hour_ago))  # not just written: the cache can vouch for it
    index_built_beforehand(articles, tmp_path)
    async with FakeDiscord() as fake:
        process = await start_qabot(
            tmp_path,
            DISCORD_TOKEN=fake.token,
            DISCORD_GUILD_ID=str(fake.guild_id),
            QABOT_CORPUS_DIR=str(articles),
            **fake_discord_settings(fake),
        )
        try:
            await asyncio.wait_for(fake.session_ready.wait(), PROCESS_TIMEOUT)
            alice = fake.user("alice")
            await fake.post_message(alice, f"<@{fake.bot.id}> Why did Ring end its deal with Flock?", mentions=(fake.bot,))
            [reply] = await fake.wait_for_request(lambda r: r.is_message_send(), timeout=STEP_TIMEOUT)
            process.send_signal(signal.SIGTERM)
            finished = await finish(process)
        finally:
            if process.returncode is None:
                process.kill()

    assert "**" in reply.body["embeds"][0]["description"]
    assert finished.returncode == 0, finished.stderr
    named = [line for line in finished.stderr.splitlines() if "draft.md" in line]
    assert len(named) == 1 and "line 3" in named[0] and "bad date" in named[0]


SERVING_ELSEWHERE = ("redis", "psycopg", "slack_bolt", "slack_sdk")
"""What `qabot discord` with default settings never needs: no QABOT_REDIS_URL, the question log in SQLite."""


async def test_qabot_discord_with_default_settings_imports_neither_redis_nor_psycopg(tmp_path):
    index_built_beforehand(BUNDLED_DIR, tmp_path)
    report = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(report)!r}, 'w').write(json.dumps(sorted("
        f"{{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {SERVING_ELSEWHERE!r}}}))))\n"
        "from bot.cli.main import main\n"
        "sys.exit(main(['discord']))\n"
    )
    question_log = tmp_path / "questions.sqlite3"
    async with FakeDiscord() as fake:
        env = discord_environment(
            tmp_path, DISCORD_TOKEN=fake.token, DISCORD_GUILD_ID=str(fake.guild_id), **fake_discord_settings(fake),
            QABOT_QUESTION_LOG_PATH=str(question_log),
        )  # fmt: skip
        assert "QABOT_REDIS_URL" not in env and "QABOT_DATABASE_URL" not in env and "QABOT_QUESTION_LOG" not in env
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await asyncio.wait_for(fake.session_ready.wait(), PROCESS_TIMEOUT)
            alice = fake.user("alice")
            await fake.post_message(alice, f"<@{fake.bot.id}> Why did Ring end its deal with Flock?", mentions=(fake.bot,))
            await fake.wait_for_request(lambda r: r.is_message_send(), timeout=STEP_TIMEOUT)
            process.send_signal(signal.SIGTERM)
            finished = await finish(process)
        finally:
            if process.returncode is None:
                process.kill()
    assert finished.returncode == 0, finished.stderr
    assert question_log.exists()  # the question log is on, in its SQLite file
    assert json.loads(report.read_text()) == []
