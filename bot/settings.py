"""The one place settings are read: the environment, then a `.env` file.

Every setting has a name starting with QABOT_ (or the platform's own token
names), a default, and a parser that names the setting when a value is bad.
Secrets are wrapped in `Secret`, whose repr and str never show the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Mapping

import platformdirs
from dotenv import dotenv_values

import corpus
from bot.errors import SettingsError
from bot.secret import Secret
from bot.stores.ratelimit import RateLimit

APP_NAME = "qabot"

RENAMED = {"QABOT_QUESTION_LOG_SECRET": "QABOT_SECRET"}
"""Settings that were renamed: one still set stops the bot with a line naming the new name,
rather than being silently ignored (an ignored key would change every hash)."""


def _whole_number(text: str, requirement: str) -> int:
    """`int(text)`, or ValueError saying what the setting takes (not Python's "invalid literal")."""
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(requirement) from None


def _number(text: str, requirement: str) -> float:
    """`float(text)`, or ValueError saying what the setting takes (callers' range checks refuse NaN)."""
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(requirement) from None


def _positive_int(text: str) -> int:
    value = _whole_number(text, "must be a whole number above 0")
    if value <= 0:
        raise ValueError("must be a whole number above 0")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, "must be a number above 0")
    if not value > 0:
        raise ValueError("must be a number above 0")
    return value


def _seconds_or_off(text: str) -> float:
    value = _number(text, "must be 0 (off) or a number of seconds above 0")
    if not value >= 0:
        raise ValueError("must be 0 (off) or a number of seconds above 0")
    return value


def _fraction(text: str) -> float:
    value = _number(text, "must be a number from 0 to 1")
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be a number from 0 to 1")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in options:
            raise ValueError(f"must be one of: {', '.join(options)}")
        return value

    return parse


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _secret(text: str) -> Secret:
    return Secret(text.strip())


def _text(text: str) -> str:
    return text.strip()


def _redis_url(text: str) -> Secret:
    # A Secret: the URL may carry the Redis password (redis://:PASSWORD@host:6379/0).
    value = text.strip()
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://, for example redis://127.0.0.1:6379/0")
    return Secret(value)


def _database_url(text: str) -> Secret:
    # A Secret: the URL usually carries the database password.
    value = text.strip()
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must start with postgresql://, for example postgresql://qabot:PASSWORD@127.0.0.1:5432/qabot")
    return Secret(value)


def _port(text: str) -> int:
    value = _whole_number(text, "must be a port number from 0 to 65535 (0: any free port)")
    if not 0 <= value <= 65535:
        raise ValueError("must be a port number from 0 to 65535 (0: any free port)")
    return value


def _host(text: str) -> str:
    value = text.strip()
    if not value or any(c.isspace() for c in value):
        raise ValueError("must be a host name or address, for example 127.0.0.1")
    return value


def _positive_seconds(text: str) -> float:
    value = _number(text, "must be a number of seconds above 0")
    if not value > 0:
        raise ValueError("must be a number of seconds above 0")
    return value


def _key_prefix(text: str) -> str:
    value = text.strip()
    if not value or any(c.isspace() for c in value):
        raise ValueError("must be a non-empty word without spaces")
    return value


def _optional_int(text: str) -> int | None:
    return _whole_number(text, "must be a whole number (an ID)") if text.strip() else None


def _shards(text: str) -> int | str | None:
    value = text.strip().lower()
    if not value:
        return None
    if value == "auto":
        return "auto"
    count = _whole_number(value, "must be 'auto' or a whole number above 0")
    if count < 1:
        raise ValueError("must be 'auto' or a whole number above 0")
    return count


def _discord_ids(text: str) -> tuple[int, ...]:
    ids = [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
    if not all(part.isdigit() for part in ids):
        raise ValueError("must be channel IDs (numbers) separated by commas, e.g. 1300000000000000001,1300000000000000002")
    return tuple(int(part) for part in ids)


def _slack_ids(text: str) -> tuple[str, ...]:
    ids = [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]
    if not all(part.isalnum() and part[:1] in "CG" for part in ids):
        raise ValueError("must be channel IDs (C… or G…) separated by commas, e.g. C0123456789,G0123456789")
    return tuple(ids)


def user_corpus_dir() -> Path:
    """Where an installed qabot keeps its articles once an admin adds one: the bundled folder is
    part of the installed package (read-only, and replaced by the next upgrade)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "corpus"


def default_corpus_dir() -> Path:
    """The one rule for QABOT_CORPUS_DIR's default: the user data folder's corpus if it exists,
    else the bundled articles."""
    user = user_corpus_dir()
    return user if user.is_dir() else corpus.BUNDLED_DIR


def _semantic_model(text: str) -> str:
    value = text.strip()
    return value.lower() if value.lower() in {"static", "off"} else value


def _setting(env: str, parse: Callable[[str], object], default: object, doc: str):
    return field(default=default, metadata={"env": env, "parse": parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """All settings of the bot. Build with `Settings.load()`."""

    corpus_dir: Path = _setting(
        "QABOT_CORPUS_DIR",
        _path,
        None,
        "Folder of article files to answer from. Default: the user data folder's corpus if it exists "
        "(the first qabot add or follow makes it, from the bundled articles), else the bundled articles.",
    )
    cache_dir: Path = _setting(
        "QABOT_CACHE_DIR",
        _path,
        Path(platformdirs.user_cache_dir(APP_NAME)),
        "Where the built index is cached (outside the source tree).",
    )
    top_k: int = _setting("QABOT_TOP_K", _positive_int, 3, "How many passages an answer shows.")
    min_confidence: float | None = _setting(
        "QABOT_MIN_CONFIDENCE",
        _fraction,
        None,
        "Probability (0..1) that the best passage answers, below which the bot declines; "
        "empty: the decline model's own threshold (index/data/decline_model.json, or "
        "decline_model_off.json with QABOT_SEMANTIC_MODEL=off).",
    )
    semantic_model: str = _setting(
        "QABOT_SEMANTIC_MODEL",
        _semantic_model,
        "static",
        "Re-rank the best passages by meaning: 'static' (the bundled model, no torch), 'off', "
        "or a sentence-transformers model name or folder (needs the extra qabot[semantic]).",
    )
    max_question_chars: int = _setting(
        "QABOT_MAX_QUESTION_CHARS", _positive_int, 1000, "Longer questions are politely refused."
    )
    rate_limit: RateLimit = _setting(
        "QABOT_RATE_LIMIT",
        RateLimit.parse,
        RateLimit(5, 30.0),
        "Questions per user as COUNT/SECONDS; 0/1 turns the limit off.",
    )
    conversation_minutes: float = _setting(
        "QABOT_CONVERSATION_MINUTES",
        _positive_float,
        30.0,
        "A thread or reply chain stays a conversation (follow-ups such as 'why?' are read with its "
        "earlier questions) for this many minutes after its last question.",
    )
    conversation_messages: int = _setting(
        "QABOT_CONVERSATION_MESSAGES",
        _positive_int,
        15,
        "Slack: in a thread the bot answered in, this many questions are answered without a mention.",
    )
    conversations_max: int = _setting(
        "QABOT_CONVERSATIONS_MAX",
        _positive_int,
        5000,
        "Conversations kept at most, in memory or with QABOT_REDIS_URL in Redis (the least recently used "
        "is forgotten first).",
    )
    ask_about_visibility: str = _setting(
        "QABOT_ASK_ABOUT_VISIBILITY",
        _choice("private", "public"),
        "private",
        "Whether answers to 'Ask qabot about this' (Discord and Slack) are shown only to the asker or to the channel.",
    )
    log_level: str = _setting(
        "QABOT_LOG_LEVEL", _choice("debug", "info", "warning", "error"), "info", "Logging level."
    )
    discord_token: Secret = _setting("DISCORD_TOKEN", _secret, Secret(""), "Discord bot token.")
    discord_guild_id: int | None = _setting(
        "DISCORD_GUILD_ID", _optional_int, None, "Sync slash commands to this one server at once."
    )
    discord_shards: int | str | None = _setting(
        "QABOT_DISCORD_SHARDS",
        _shards,
        None,
        "Discord gateway shards: empty for one connection, 'auto' for Discord's recommendation, or a number.",
    )
    discord_application_id: int | None = _setting(
        "DISCORD_APPLICATION_ID",
        _optional_int,
        None,
        "Discord application ID, for --invite-url without a token (else it is looked up with the token).",
    )
    discord_api_url: str = _setting(
        "QABOT_DISCORD_API_URL", _text, "", "Override the Discord REST API base URL (proxy, tests)."
    )
    discord_gateway_url: str = _setting(
        "QABOT_DISCORD_GATEWAY_URL", _text, "", "Override the Discord gateway websocket URL (proxy, tests)."
    )
    discord_auto_channels: tuple[int, ...] = _setting(
        "QABOT_DISCORD_AUTO_CHANNELS",
        _discord_ids,
        (),
        "Discord channel and forum IDs (commas) where new questions are answered in a thread without "
        "a mention; needs the Message Content intent. Empty: off.",
    )
    slack_bot_token: Secret = _setting(
        "SLACK_BOT_TOKEN", _secret, Secret(""), "Slack bot token (xoxb-...)."
    )
    slack_app_token: Secret = _setting(
        "SLACK_APP_TOKEN", _secret, Secret(""), "Slack app-level token for Socket Mode (xapp-...)."
    )
    slack_signing_secret: Secret = _setting(
        "SLACK_SIGNING_SECRET", _secret, Secret(""), "Slack signing secret, for HTTP mode."
    )
    slack_api_url: str = _setting(
        "QABOT_SLACK_API_URL", _text, "", "Override the Slack Web API base URL (proxy, tests)."
    )
    slack_slash_visibility: str = _setting(
        "QABOT_SLACK_SLASH_VISIBILITY",
        _choice("in_channel", "ephemeral"),
        "ephemeral",
        "Whether /ask answers are shown to the channel or only to the asker.",
    )
    slack_auto_channels: tuple[str, ...] = _setting(
        "QABOT_SLACK_AUTO_CHANNELS",
        _slack_ids,
        (),
        "Slack channel IDs (commas) where every top-level question is answered in its thread without "
        "a mention. Empty: off.",
    )
    redis_url: Secret = _setting(
        "QABOT_REDIS_URL",
        _redis_url,
        Secret(""),
        "Redis shared by several replicas for answered events, rate limits, conversations and durable "
        "question jobs; empty: this process alone.",
    )
    redis_prefix: str = _setting(
        "QABOT_REDIS_PREFIX", _key_prefix, "qabot", "Prefix of every Redis key, to share one Redis between bots."
    )
    redis_timeout: float = _setting(
        "QABOT_REDIS_TIMEOUT",
        _positive_seconds,
        0.5,
        "Seconds to wait for Redis before going on without it (this replica's own stores).",
    )

    fetch_timeout: float = _setting(
        "QABOT_FETCH_TIMEOUT",
        _positive_float,
        20.0,
        "qabot add: the longest fetching one web page may take, in seconds.",
    )
    fetch_max_bytes: int = _setting(
        "QABOT_FETCH_MAX_BYTES",
        _positive_int,
        10_000_000,
        "qabot add: web pages larger than this many bytes are refused.",
    )
    follow_minutes: float = _setting(
        "QABOT_FOLLOW_MINUTES",
        _seconds_or_off,
        30.0,
        "A running bot checks the followed feeds and sitemaps (qabot follow) this often, in minutes; 0: never.",
    )
    follow_host_delay: float = _setting(
        "QABOT_FOLLOW_HOST_DELAY",
        _seconds_or_off,
        2.0,
        "Seconds between two requests to one site when checking followed sources (robots.txt is respected too).",
    )
    reload_seconds: float = _setting(
        "QABOT_RELOAD_SECONDS",
        _seconds_or_off,
        5.0,
        "A running bot checks the corpus folder for changes this often; 0: only on SIGHUP.",
    )
    question_log: bool = _setting(
        "QABOT_QUESTION_LOG",
        _bool,
        True,
        "Keep the private question log (for qabot report and 👍/👎 feedback); false turns it off.",
    )
    question_log_path: Path | None = _setting(
        "QABOT_QUESTION_LOG_PATH",
        _path,
        None,
        "The question log's SQLite file. Default: questions.sqlite3 in the user data folder.",
    )
    question_log_days: int = _setting(
        "QABOT_QUESTION_LOG_DAYS",
        _positive_int,
        30,
        "Questions older than this many days are deleted from the log.",
    )
    database_url: Secret = _setting(
        "QABOT_DATABASE_URL",
        _database_url,
        Secret(""),
        "PostgreSQL database (postgresql://...) holding the question log every replica shares; empty: the SQLite file.",
    )

    job_claim_seconds: float = _setting(
        "QABOT_JOB_CLAIM_SECONDS",
        _positive_seconds,
        10.0,
        "With Redis: a question job left this long by a replica (it stopped renewing its claim) is "
        "answered by another one.",
    )
    secret: Secret = _setting(
        "QABOT_SECRET",
        _secret,
        Secret(""),
        "Key for every hash of a platform ID (rate limits, answered events, jobs, the question log); "
        "every replica needs the same one. Default: a random key made on first use in QABOT_SECRET_FILE.",
    )
    secret_file: Path | None = _setting(
        "QABOT_SECRET_FILE",
        _path,
        None,
        "Where the key is kept when QABOT_SECRET is unset. Default: secret.key in the user data folder.",
    )

    def __post_init__(self) -> None:
        if self.corpus_dir is None:  # resolved when the settings are made, so a new user corpus counts
            object.__setattr__(self, "corpus_dir", default_corpus_dir())

    def secret_key_file(self) -> Path:
        """The key file used when QABOT_SECRET is unset (resolved when asked, like the log's path)."""
        if self.secret_file is not None:
            return self.secret_file
        return Path(platformdirs.user_data_dir(APP_NAME)) / "secret.key"

    health_host: str = _setting(
        "QABOT_HEALTH_HOST",
        _host,
        "127.0.0.1",
        "Address /healthz, /readyz and /metrics listen on in Socket Mode and on Discord.",
    )
    health_port: int = _setting(
        "QABOT_HEALTH_PORT",
        _port,
        8081,
        "Port of /healthz, /readyz and /metrics in Socket Mode and on Discord (0: any free port, logged).",
    )
    log_format: str = _setting(
        "QABOT_LOG_FORMAT",
        _choice("text", "json"),
        "text",
        "Log lines as text, or as one JSON object per line for log shippers.",
    )

    def question_log_file(self) -> Path:
        """Where the question log lives. Resolved when asked, so a changed XDG_DATA_HOME or HOME counts."""
        if self.question_log_path is not None:
            return self.question_log_path
        return Path(platformdirs.user_data_dir(APP_NAME)) / "questions.sqlite3"

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        dotenv_path: str | Path | None = ".env",
        **overrides: object,
    ) -> "Settings":
        """Read settings from `environ` (default: os.environ), falling back to a .env file.

        The environment wins over the .env file; keyword overrides win over both.
        Raises SettingsError naming the setting when a value cannot be parsed.
        """
        source: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            source.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        source.update(os.environ if environ is None else environ)
        for old_name, new_name in RENAMED.items():
            if source.get(old_name, "").strip():
                raise SettingsError(f"{old_name} is replaced by {new_name} (one key for every hash); rename it")
        values: dict[str, object] = {}
        for f in fields(cls):
            env = f.metadata["env"]
            raw = source.get(env)
            if raw is None or (raw.strip() == "" and not isinstance(f.default, Secret)):
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                shown = "(hidden)" if isinstance(f.default, Secret) else repr(raw)
                raise SettingsError(f"{env}={shown} is not valid: {exc}") from None
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def documented(cls) -> list[tuple[str, str, str]]:
        """(environment name, default, description) for every setting, for docs and tests."""
        rows = []
        for f in fields(cls):
            default = f.default
            shown = "" if isinstance(default, Secret) or default is None else str(default)
            rows.append((f.metadata["env"], shown, f.metadata["doc"]))
        return rows
