"""Every error qabot raises on purpose, in one tree, and the exit codes of its commands.

    QabotError                 anything qabot refuses to do; str() is one line for a person
     +-- SettingsError         a setting is missing or malformed (names the setting, never a secret)
     +-- SetupError            a bot cannot start: a missing or rejected token, a port in use, …
     +-- EvalFileError         a question file for `qabot eval` is malformed
     +-- CorpusError           the corpus folder cannot be used             (corpus.errors)
     |    +-- CorpusFileError  one article file is broken                   (corpus.errors)
     +-- FetchError, ExtractError, TextFileError, IngestError, StoreError   (corpus.errors)
     +-- SemanticModelError    QABOT_SEMANTIC_MODEL names a model that cannot be loaded (index.embedding)

Commands catch `QabotError` (or a branch of it) and print its message on one line; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import enum

from corpus.errors import (
    CorpusError,
    CorpusFileError,
    ExtractError,
    FetchError,
    IngestError,
    QabotError,
    StoreError,
    TextFileError,
)

__all__ = [
    "CorpusError",
    "CorpusFileError",
    "EvalFileError",
    "ExitCode",
    "ExtractError",
    "FetchError",
    "IngestError",
    "QabotError",
    "SettingsError",
    "SetupError",
    "StoreError",
    "TextFileError",
]


class ExitCode(enum.IntEnum):
    """What every `qabot` command returns to the shell."""

    OK = 0
    FAILED = 1
    """The command ran and could not do what was asked (a broken file, a failed add, …)."""
    SETUP = 2
    """Bad usage or settings, or a bot that cannot start: fix the command line or the settings."""
    INTERRUPTED = 130


class SettingsError(QabotError, ValueError):
    """A setting is missing or malformed; the message names it."""


class SetupError(QabotError):
    """A bot cannot start, or stopped for a reason the admin must fix; the message is the one line
    they see, and `exit_code` what the process returns."""

    def __init__(self, message: str, exit_code: int = ExitCode.SETUP) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class EvalFileError(QabotError, ValueError):
    """A question file for `qabot eval` is malformed; the message names the line."""
