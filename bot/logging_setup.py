"""The bot's log: one handler on standard error, and nothing secret in it whatever logs it.

Our own code never logs a token, the signing secret or the Redis password, and the
libraries we use do not either, even at debug level (tests/test_secrets.py checks). Some
library lines do carry short-lived credentials, though: discord.py logs the URL of every
interaction response and follow-up, whose last part is the interaction's token (for 15
minutes it lets anyone post as the bot), at debug level and, when Discord rate limits it,
at warning level; a Slack slash command's response_url ends in a secret too. So every
record reaching the bot's handler passes through `SecretRedactor`, which blanks the
configured secrets wherever they appear and anything shaped like one of these credentials,
in the message and in a traceback alike.

Lines are text (`LOG_FORMAT`) or, with QABOT_LOG_FORMAT=json, one JSON object per line for log
shippers: time (UTC, ISO 8601), level, logger, message, the request's opaque ID when the line
was made inside one (`bot.service.request_ids`), the event's fields (`EVENT_FIELDS`), and the
exception. The redaction runs before either formatter, so JSON lines are as clean as text ones.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import fields
from typing import Iterable, TextIO
from urllib.parse import urlsplit

from bot.service.request_ids import current_request_id
from bot.settings import Secret, Settings

REDACTED = "(redacted)"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_CREDENTIAL_SHAPES = [
    # Discord interaction callbacks and webhook follow-ups: /interactions/ID/TOKEN/..., /webhooks/ID/TOKEN
    (re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?#'\"]+"), r"\1" + REDACTED),
    # A "token" field in a logged payload (an interaction event, a RESUME): 'token': '...'
    (re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""), r"\1" + REDACTED),
    # Slack bot, user and app-level tokens
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+"), "xox?-" + REDACTED),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), "xapp-" + REDACTED),
    # A slash command's response_url: https://hooks.slack.com/commands/TEAM/ID/SECRET
    (re.compile(r"(hooks\.slack(?:-gov)?\.com/[^\s'\"]*/)[A-Za-z0-9]{16,}"), r"\1" + REDACTED),
    # A password in a Redis (or any) URL: scheme://user:PASSWORD@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^\s:@/]*:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
]


class SecretRedactor(logging.Filter):
    """Blanks known secret values and credential-shaped text in every record it sees."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is blanked whole. Very short values
        # would blank ordinary words; real tokens and secrets are far longer.
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for shape, replacement in _CREDENTIAL_SHAPES:
            text = shape.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself; let it through untouched
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatted now, so the traceback's text (exception messages hold URLs) is redacted too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name in EVENT_FIELDS:  # JSON lines carry these as they are
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


EVENT_FIELDS = ("event", "platform", "outcome", "latency_ms", "answer_id", "vote")
"""Fields a log call may pass in `extra=` for JSON lines (none holds a user, channel or question)."""


class RequestIdFilter(logging.Filter):
    """Stamps each record with the ID of the request it was logged in (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class TextFormatter(logging.Formatter):
    """`LOG_FORMAT`, with the request ID after the logger's name when the line has one."""

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT)
        self._with_request = logging.Formatter(LOG_FORMAT.replace("%(name)s:", "%(name)s [%(request_id)s]:"))

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None):
            return self._with_request.format(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            payload["request_id"] = request_id
        for name in EVENT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                payload[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False, default=str)


def formatter_for(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format == "json" else TextFormatter()


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret value in `settings`, and the passwords inside QABOT_REDIS_URL and QABOT_DATABASE_URL."""
    values = [getattr(settings, f.name).reveal() for f in fields(settings) if isinstance(f.default, Secret)]
    for url in (settings.redis_url.reveal(), settings.database_url.reveal()):
        if not url:
            continue
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            values.append(password)
    return [value for value in values if value]


def redacting_handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to standard error (or `stream`), every record redacted."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(settings))
    handler.addFilter(SecretRedactor(configured_secrets(settings)))
    handler.addFilter(RequestIdFilter())
    return handler


def configure_logging(settings: Settings) -> None:
    """Log at QABOT_LOG_LEVEL to standard error, like `logging.basicConfig`, every record redacted,
    as text or JSON (QABOT_LOG_FORMAT).

    Handlers someone else installed first (an embedding program, pytest) are kept as they are,
    but get the redaction too.
    """
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(redacting_handler(settings))
        root.setLevel(settings.log_level.upper())
        return
    for handler in root.handlers:
        if not any(isinstance(f, SecretRedactor) for f in handler.filters):
            handler.addFilter(SecretRedactor(configured_secrets(settings)))
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())


FETCH_LIBRARIES = ("urllib3", "trafilatura", "htmldate", "courlan", "justext", "charset_normalizer")
"""Libraries `qabot add` and the feed checker call, whose warnings ("Retrying ...", "Document is
empty") only repeat what qabot's own one line per source says."""


def quiet_fetch_libraries() -> None:
    """Let only the fetch libraries' critical records through; qabot reports each outcome itself."""
    for name in FETCH_LIBRARIES:
        logging.getLogger(name).setLevel(logging.CRITICAL)
