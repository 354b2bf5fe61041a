"""Tokens, the signing secret and the Redis password never show in a log, an error or a repr.

The adapters run against the local fakes with known fake secrets while every log record of
every logger, libraries included, is captured at debug level (our own caps on the library
loggers lifted), through failures, retries, reconnects and a Redis outage; then the secrets
are searched for. The bot's own log (`qabot discord` at QABOT_LOG_LEVEL=debug) is checked
for per-request tokens and raw user IDs too, and the files an admin copies settings from
are checked for what they must not hold.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import shutil
import signal
import subprocess
import time
import traceback
from pathlib import Path
from typing import Iterator

import pytest
from tests.support.discord_harness import bot_in_server
from tests.support.processes import QABOT, ends_with_the_tests, qabot_environment
from tests.support.discord_server import FakeDiscord

from bot.adapters.slack.app import build_app
from bot.adapters.slack.credentials import check_credentials
from bot.adapters.slack.http_server import start_http_server
from bot.adapters.slack.runner import slack_config
from bot.adapters.slack.socket_mode import connect_socket_mode, wait_until_connected
from bot.errors import SetupError
from bot.app import build_service, stores_for
from bot.logging_setup import (
    REDACTED,
    SecretRedactor,
    configured_secrets,
    redacting_handler,
)
from bot.settings import Secret, Settings, SettingsError
from tests.support.slack_payloads import (
    SignedSender,
    events_api_envelope,
    mention,
    slash_command,
)
from tests.support.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.support.redis_server import PASSWORD as REDIS_PASSWORD
from tests.support.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[1]
DISCORD_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GfAkEd.discord-bot-token-never-logged-0123"
SECRETS = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_APP_TOKEN": APP_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "DISCORD_TOKEN": DISCORD_TOKEN,
    "Redis password": REDIS_PASSWORD,
}
QUESTION = "Did Ring send customer videos to Flock?"


class EveryRecord(logging.Handler):
    """Keeps every record as the most talkative formatter would write it, traceback and stack included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(text)

    def text(self) -> str:
        return "\n".join(self.lines)

    def loggers(self) -> set[str]:
        return {line.split(":", 1)[0].split(" ", 1)[1] for line in self.lines if " " in line.split(":", 1)[0]}


@pytest.fixture
def every_log_record(monkeypatch: pytest.MonkeyPatch) -> Iterator[EveryRecord]:
    """Every logger at debug level, even those our adapters cap (they log user data there)."""
    original_set_level = logging.Logger.setLevel
    monkeypatch.setattr(logging.Logger, "setLevel", lambda logger, level: original_set_level(logger, logging.DEBUG))
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if isinstance(logger, logging.Logger):
            monkeypatch.setattr(logger, "level", logging.DEBUG)
            monkeypatch.setattr(logger, "disabled", False)
    logging.Logger.manager._clear_cache()
    capture = EveryRecord()
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)
        logging.Logger.manager._clear_cache()


def assert_no_secret_in(text: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"the {name} was logged"


def slack_settings(fake: FakeSlack, cache_dir: Path, redis_url: str) -> Settings:
    environment = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "QABOT_SLACK_API_URL": fake.api_url,
        "QABOT_REDIS_URL": redis_url,
        "QABOT_LOG_LEVEL": "debug",
    }
    return Settings.load(environ=environment, dotenv_path=None, cache_dir=cache_dir)


# ---------------------------------------------------------------- everything at debug level


def test_the_slack_app_logs_no_token_or_secret_even_with_every_logger_at_debug(
    every_log_record: EveryRecord, tmp_path: Path, redis_url: str
):
    with FakeSlack() as fake:
        settings = slack_settings(fake, tmp_path / "cache", redis_url)
        stores = stores_for(settings)
        app = build_app(slack_config(settings), build_service(settings, stores), stores.seen_events)

        # Over HTTP: answers, a retry, a forged request, failing and rate-limited Web API calls, /ask.
        server = start_http_server(app, "127.0.0.1", 0)
        try:
            sender = SignedSender(server.url, SIGNING_SECRET)
            fake.fail_next("chat.postMessage", status=500, error="internal_error")
            fake.fail_next("response_url", status=500, error="internal")
            question = mention(QUESTION)
            sender.post_event(question)
            sender.post_event(question, retry_num=1)
            sender.post_event(mention("forged"), signing_secret="0" * 32)
            sender.post_command(slash_command(QUESTION, fake.response_url()))
            fake.wait_for_calls("chat.postMessage", 2)
            fake.wait_for_calls("response_url", 2)
            fake.fail_next("chat.postMessage", status=200, error="invalid_auth")
            fake.fail_next("chat.postMessage", status=429, error="ratelimited", retry_after=0)
            sender.post_event(mention("What did the Flock spokesperson tell the BBC?"))
            fake.wait_for_calls("chat.postMessage", 5)
        finally:
            server.stop()

        # Over Socket Mode: connecting with the app-level token, an envelope, a dropped websocket.
        handler = connect_socket_mode(app, slack_config(settings))
        try:
            assert wait_until_connected(handler, 10)
            envelope = events_api_envelope(mention(QUESTION))
            fake.send_envelope(envelope)
            fake.wait_for_ack(envelope["envelope_id"])
            fake.drop_socket_connections()
            fake.wait_for_socket_connections(2, timeout=10)
        finally:
            handler.client.auto_reconnect_enabled = False
            fake.drop_socket_connections()
            handler.close()

    logged = every_log_record.text()
    # The libraries really spoke at debug level, so their silence about secrets means something.
    assert "Sending a request" in logged and "apps.connections.open" in logged  # slack_sdk
    assert "invalid_auth" in logged and "posting an answer failed" in logged
    assert_no_secret_in(logged)


def test_a_redis_outage_is_logged_without_the_password(
    every_log_record: EveryRecord, private_redis: RedisServer
):
    stores = stores_for(Settings.load(environ={"QABOT_REDIS_URL": private_redis.url}, dotenv_path=None))
    assert stores.seen_events.first_time("before")
    private_redis.stop()
    assert stores.seen_events.first_time("during") and stores.limiter.allow("someone")
    logged = every_log_record.text()
    assert "Redis at redis://127.0.0.1" in logged and "failed" in logged
    assert_no_secret_in(logged)


@pytest.mark.asyncio
async def test_the_discord_bot_logs_no_token_even_with_every_logger_at_debug(
    every_log_record: EveryRecord, tmp_path: Path, redis_url: str
):
    settings = Settings.load(environ={"QABOT_REDIS_URL": redis_url}, dotenv_path=None, cache_dir=tmp_path / "cache")
    stores = stores_for(settings)
    fake = FakeDiscord(token=DISCORD_TOKEN)
    fake.answer_with_status("POST", r"/webhooks/\d+/[^/]+", status=429, retry_after=0.05)
    fake.answer_with_status("POST", r"/channels/\d+/messages", status=500)
    service = build_service(settings, stores)
    async with bot_in_server(service, discord=fake, seen=stores.seen_events) as server:
        alice = fake.user("alice")
        await fake.post_message(alice, f"<@{fake.bot.id}> {QUESTION}", mentions=(fake.bot,))
        await fake.run_slash_command(alice, "ask", question=QUESTION)
        await server.replies(count=2)
        await fake.close_gateway(code=4000)  # the bot sends RESUME, which carries the token
        await _until(lambda: len(fake.resume_payloads) == 1 and fake.connected_sessions() == 1)
        await fake.post_message(alice, f"<@{fake.bot.id}> {QUESTION}", mentions=(fake.bot,))
        await server.replies(count=3)

    logged = every_log_record.text()
    assert "WebSocket Event" in logged and "has sent the RESUME payload" in logged  # discord.py at debug
    assert "rate limited" in logged and "answered 500" not in logged
    assert_no_secret_in(logged)


async def _until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- errors and reprs


def test_settings_stores_and_setup_errors_never_show_a_secret(redis_url: str):
    settings = Settings.load(
        environ={
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "QABOT_REDIS_URL": redis_url,
        },
        dotenv_path=None,
    )
    stores = stores_for(settings)
    shown = [repr(settings), str(settings), repr(stores), repr(stores.limiter), repr(stores.seen_events), stores.description]
    for name, bad in [
        ("SLACK_BOT_TOKEN", BOT_TOKEN.replace("xoxb-", "xoxp-")),
        ("SLACK_APP_TOKEN", "xoxb-" + APP_TOKEN),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET + "-not-hex"),
    ]:
        with pytest.raises(SetupError) as caught:
            check_credentials(
                slack_config(Settings.load(environ={**_valid_slack(), name: bad}, dotenv_path=None)),
                http=name != "SLACK_APP_TOKEN",
            )
        shown.append(str(caught.value))
        assert name in str(caught.value) and bad not in str(caught.value)
    with pytest.raises(SettingsError) as caught:
        Settings.load(environ={"QABOT_REDIS_URL": f"http://:{REDIS_PASSWORD}@host"}, dotenv_path=None)
    shown.append(str(caught.value))
    assert_no_secret_in("\n".join(shown))
    assert sorted(configured_secrets(settings)) == sorted(
        [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, DISCORD_TOKEN, redis_url, REDIS_PASSWORD]
    )


def _valid_slack() -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}


# ---------------------------------------------------------------- the bot's own log


@pytest.mark.parametrize(
    "line",
    [
        "Webhook ID 1100000000000000001 with POST https://discord.com/api/v10/webhooks/1100000000000000001/"
        "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWg has returned status code 200",
        "We are being rate limited. POST https://discord.com/api/v10/interactions/1234567890123/"
        "aW50ZXJhY3Rpb246c2VjcmV0/callback responded with 429. Retrying in 1.00 seconds.",
        "POST https://hooks.slack.com/commands/T0FAKETEAM/1234567890/AbCdEfGhIjKlMnOpQrStUvWx failed",
        "token xoxb-1234-5678-AbCdEfGh and xapp-1-A012-345-abcdef and xoxp-99-aa",
        "Redis at redis://user:hunter2hunter2@cache.internal:6379/0 failed",
        "WebSocket Event: {'t': 'INTERACTION_CREATE', 'd': {'id': '1', 'token': 'aW50ZXJhY3Rpb246dG9rZW4', 'type': 2}}",
    ],
)
def test_per_request_credentials_in_library_lines_are_blanked(line: str):
    redacted = SecretRedactor().redact(line)
    assert REDACTED in redacted
    for credential in re.findall(r"aW50[A-Za-z0-9]+|AbCdEf[A-Za-z]+|xox[bp]-[\w-]+|xapp-[\w-]+|hunter2hunter2", line):
        assert credential not in redacted
    assert redacted.split()[0] == line.split()[0], "the rest of the line is kept"


def test_the_bots_handler_blanks_configured_secrets_in_messages_and_tracebacks():
    settings = Settings.load(environ={"SLACK_BOT_TOKEN": "plain-secret-without-a-shape"}, dotenv_path=None)
    stream = io.StringIO()
    logger = logging.getLogger("tests.secrets.handler")
    handler = redacting_handler(settings, stream)
    logger.addHandler(handler)
    try:
        logger.error("calling with %s", "plain-secret-without-a-shape")
        try:
            raise RuntimeError("failed with plain-secret-without-a-shape")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "RuntimeError: failed with (redacted)" in written and "calling with (redacted)" in written
    assert "plain-secret-without-a-shape" not in written


@pytest.mark.asyncio
async def test_qabot_discord_at_debug_level_logs_no_token_interaction_token_or_user_id(
    tmp_path: Path, redis_url: str
):
    fake = FakeDiscord(token=DISCORD_TOKEN)
    # Rate limited follow-ups: discord.py logs their URL, which holds the interaction's token.
    fake.answer_with_status("POST", r"/webhooks/\d+/[^/]+", status=429, retry_after=0.05)
    async with fake:
        process = await asyncio.create_subprocess_exec(
            *QABOT, "discord",
            cwd=tmp_path,
            env=qabot_environment(
                tmp_path,
                DISCORD_TOKEN=DISCORD_TOKEN,
                QABOT_DISCORD_API_URL=fake.api_url,
                QABOT_DISCORD_GATEWAY_URL=fake.gateway_url,
                QABOT_REDIS_URL=redis_url,
                QABOT_LOG_LEVEL="debug",
            ),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=ends_with_the_tests,
        )  # fmt: skip
        try:
            await asyncio.wait_for(fake.session_ready.wait(), 60)
            alice = fake.user("alice")
            await fake.post_message(alice, f"<@{fake.bot.id}> {QUESTION}", mentions=(fake.bot,))
            interaction = await fake.run_slash_command(alice, "ask", question=QUESTION)
            await fake.wait_for_request(lambda r: r.is_message_send() and r.status == 200, count=2, timeout=30)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
    logged = stderr.decode()
    assert " DEBUG " in logged and "kept shared through Redis" in logged, "debug level was on"
    assert_no_secret_in(logged)
    assert interaction["token"] not in logged
    assert str(alice.id) not in logged, "a raw user ID reached the log"


# ---------------------------------------------------------------- the files settings come from


def test_dotenv_is_ignored_by_git():
    ignored = [line.strip() for line in (REPO / ".gitignore").read_text().splitlines()]
    assert ".env" in ignored
    git = shutil.which("git")
    if git and subprocess.run([git, "rev-parse"], cwd=REPO, capture_output=True).returncode == 0:
        check = subprocess.run([git, "check-ignore", "--no-index", "-q", ".env"], cwd=REPO)
        assert check.returncode == 0, "git would track a .env file"
        example = subprocess.run([git, "check-ignore", "--no-index", "-q", ".env.example"], cwd=REPO)
        assert example.returncode == 1, ".env.example must stay tracked"


TOKEN_SHAPES = [
    re.compile(r"xox[a-z]-[A-Za-z0-9-]{6,}"),  # Slack tokens
    re.compile(r"xapp-[A-Za-z0-9-]{6,}"),  # Slack app-level tokens
    re.compile(r"\b[0-9a-f]{32}\b"),  # a Slack signing secret
    re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{20,}"),  # a Discord bot token
    re.compile(r"://[^\s/@]*:(?!PASSWORD@)[^\s/@]+@"),  # a password in a URL (the placeholder PASSWORD aside)
]


def test_env_example_holds_no_secret():
    example = REPO / ".env.example"
    text = example.read_text()
    for shape in TOKEN_SHAPES:
        assert not shape.search(text), f".env.example holds something shaped like a secret: {shape.pattern}"
    # Read as a .env file, it gives every secret setting empty.
    settings = Settings.load(environ={}, dotenv_path=example)
    secret_values = {name: getattr(settings, name) for name in vars(settings) if isinstance(getattr(settings, name), Secret)}
    assert secret_values and all(not value for value in secret_values.values())


def test_the_database_url_and_its_password_are_secrets(postgres_url: str):
    from tests.support.postgres_server import PASSWORD as DATABASE_PASSWORD

    settings = Settings.load(environ={"QABOT_DATABASE_URL": postgres_url}, dotenv_path=None)
    assert DATABASE_PASSWORD not in repr(settings)
    assert sorted(configured_secrets(settings)) == sorted([postgres_url, DATABASE_PASSWORD])
    with pytest.raises(SettingsError) as caught:
        Settings.load(environ={"QABOT_DATABASE_URL": f"mysql://u:{DATABASE_PASSWORD}@h/db"}, dotenv_path=None)
    assert "QABOT_DATABASE_URL" in str(caught.value) and DATABASE_PASSWORD not in str(caught.value)


def test_json_log_lines_are_redacted_too():
    settings = Settings.load(
        environ={"SLACK_BOT_TOKEN": "plain-secret-without-a-shape", "QABOT_LOG_FORMAT": "json"}, dotenv_path=None
    )
    stream = io.StringIO()
    logger = logging.getLogger("tests.secrets.json")
    handler = redacting_handler(settings, stream)
    logger.addHandler(handler)
    try:
        logger.error("calling with %s", "plain-secret-without-a-shape", extra={"platform": "xoxb-1234-5678-AbCdEfGh"})
        try:
            raise RuntimeError("POST https://hooks.slack.com/commands/T0FAKETEAM/1234567890/AbCdEfGhIjKlMnOpQrStUvWx")
        except RuntimeError:
            logger.exception("boom with plain-secret-without-a-shape")
    finally:
        logger.removeHandler(handler)
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "calling with (redacted)" and first["level"] == "error"
    assert first["platform"] == "xox?-(redacted)"
    assert second["message"] == "boom with (redacted)" and "RuntimeError" in second["exception"]
    written = stream.getvalue()
    for secret in ("plain-secret-without-a-shape", "AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-1234"):
        assert secret not in written
