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
"""

from __future__ import annotations

import logging
import re
from dataclasses import fields
from typing import Iterable, TextIO
from urllib.parse import urlsplit

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
        return True


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
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(SecretRedactor(configured_secrets(settings)))
    return handler


def configure_logging(settings: Settings) -> None:
    """Log at QABOT_LOG_LEVEL to standard error, like `logging.basicConfig`, every record redacted.

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


FETCH_LIBRARIES = ("urllib3", "trafilatura", "htmldate", "courlan", "justext", "charset_normalizer")
"""Libraries `qabot add` and the feed checker call, whose warnings ("Retrying ...", "Document is
empty") only repeat what qabot's own one line per source says."""


def quiet_fetch_libraries() -> None:
    """Let only the fetch libraries' critical records through; qabot reports each outcome itself."""
    for name in FETCH_LIBRARIES:
        logging.getLogger(name).setLevel(logging.CRITICAL)
