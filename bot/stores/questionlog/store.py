"""The private question log: what was asked and how well the articles answered, in SQLite or PostgreSQL.

This bot is about surveillance; its log must not become one. So:
- users and channels are stored only as keyed hashes (HMAC-SHA256 with a secret
  from the settings, or a random key kept beside the database, readable only by
  its owner); a raw platform ID never reaches the database;
- platform mentions inside a question (`<@123>`, `<#C042>`) are replaced before
  the question is stored, since they carry raw IDs too;
- rows older than the retention period are deleted (in SQLite with secure_delete
  on, so their bytes are overwritten in the file, not just unlinked);
- a SQLite database and its key file are created readable by their owner only.

Where it lives: one SQLite file per process (`QuestionLog.open`), or one PostgreSQL database
that every replica writes (`QuestionLog.open_postgres`, QABOT_DATABASE_URL), so a vote reaches
the log whichever replica receives it and `qabot report` sees every replica. Both have the
same schema, brought up to date by `migrations.migrate` when the log opens.

Replicas sharing a database must hash IDs with the same key, or one user becomes two. The
database keeps a keyed fingerprint of that key (never the key); a log opened with a key whose
fingerprint differs raises `KeyMismatchError` and the bot refuses to start.

Failure behaviour: opening raises the database's error (`database.database_errors`),
`SchemaTooNewError` or `KeyMismatchError`; every later call raises the database's error, which
the question service logs and answers on regardless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
from pathlib import Path
from typing import Callable

from bot.answering.answer import Answer, Vote
from bot.errors import SetupError
from bot.stores.questionlog.database import Database, SqliteDatabase
from bot.stores.questionlog.keys import create_private_file, create_private_folder, key_path_for, load_or_create_key
from bot.stores.questionlog.migrations import LATEST_VERSION, TIME_FORMAT, migrate
from bot.stores.questionlog.redaction import redact_mentions

log = logging.getLogger(__name__)

SCHEMA_VERSION = LATEST_VERSION
MAX_LOGGED_QUESTION_CHARS = 2000
PURGE_EVERY = dt.timedelta(hours=1)
KEY_FINGERPRINT = "id_key_fingerprint"
"""The `deployment` row holding the fingerprint of the key IDs are hashed with."""


class KeyMismatchError(SetupError):
    """This replica hashes IDs with another key than the one the shared log was started with."""


def key_fingerprint(key: bytes) -> str:
    """A keyed fingerprint of the hashing key: equal keys give equal fingerprints; it reveals nothing of the key.

    (The deployment secret's own fingerprint, from `bot.service.privacy`, can be passed to
    `QuestionLog` instead, when that secret is what keys the log.)
    """
    return hmac.new(key, b"qabot: fingerprint of the key IDs are hashed with", hashlib.sha256).hexdigest()[:32]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class QuestionLog:
    """Append questions, record feedback, forget old rows. Safe to share between threads."""

    def __init__(
        self,
        database: Database,
        secret: bytes,
        retention_days: int = 30,
        clock: Callable[[], dt.datetime] = utc_now,
        fingerprint: str | None = None,
    ) -> None:
        """`fingerprint`: what the database records to tell keys apart (default: `key_fingerprint(secret)`)."""
        if not secret:
            raise ValueError("the question log needs a secret to hash IDs with")
        self.database = database
        self.retention = dt.timedelta(days=retention_days)
        self._secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        migrate(database)
        self._check_key(fingerprint or key_fingerprint(secret))
        self._next_purge = self._clock()
        self._purge_if_due()
        self._stop_purging = threading.Event()
        self._purger: threading.Thread | None = None

    @classmethod
    def open(cls, path: Path, secret: str = "", retention_days: int = 30, **options: object) -> "QuestionLog":
        """Open (or create) the SQLite log at `path`; with no `secret`, use the key file beside it."""
        path = Path(path).expanduser()
        create_private_folder(path.parent)
        key = secret.encode("utf-8") if secret else load_or_create_key(key_path_for(path))
        create_private_file(path)  # owner-only before SQLite opens it (SQLite would use the umask)
        database = SqliteDatabase(path)
        try:
            return cls(database, key, retention_days, **options)  # type: ignore[arg-type]
        except BaseException:
            database.close()
            raise

    @classmethod
    def open_postgres(
        cls, url: str, secret: str = "", key_file: Path | None = None, retention_days: int = 30, **options: object
    ) -> "QuestionLog":
        """Open the PostgreSQL log every replica shares, migrating its schema if needed.

        With no `secret`, the key in `key_file` (made on first use) hashes IDs: fine for one
        machine; replicas elsewhere make their own key and are refused (KeyMismatchError), so
        they need the same secret set on each.
        """
        if secret:
            key = secret.encode("utf-8")
        elif key_file is not None:
            create_private_folder(key_file.parent)
            key = load_or_create_key(key_file)
        else:
            raise ValueError("a question log in PostgreSQL needs a secret or a key file to hash IDs with")
        from bot.stores.questionlog.postgres import PostgresDatabase  # psycopg: only with PostgreSQL

        database = PostgresDatabase(url)
        try:
            return cls(database, key, retention_days, **options)  # type: ignore[arg-type]
        except BaseException:
            database.close()
            raise

    def _check_key(self, fingerprint: str) -> None:
        with self.database.transaction():
            rows = self.database.execute("SELECT value FROM deployment WHERE name = ?", (KEY_FINGERPRINT,))
            if not rows:  # the first process to open this log sets the key everyone else must use
                self.database.change(
                    "INSERT INTO deployment (name, value, set_at) VALUES (?, ?, ?)",
                    (KEY_FINGERPRINT, fingerprint, self._clock().strftime(TIME_FORMAT)),
                )
                return
        if rows[0][0] != fingerprint:
            raise KeyMismatchError(
                f"the question log at {self.database.description} hashes IDs with another key than this"
                " replica's: give every replica the same QABOT_SECRET (it is never shown;"
                " its fingerprint is kept in the log's deployment table)"
            )

    def ping(self) -> bool:
        """Whether the database answers now (for /readyz); never raises."""
        return self.database.ping()

    def __repr__(self) -> str:  # never shows the secret
        return f"QuestionLog({self.database.description!r}, retention_days={self.retention.days})"

    def start_purging(self, every_seconds: float = PURGE_EVERY.total_seconds()) -> None:
        """Delete expired rows every `every_seconds` in a background thread, even when nobody asks.

        (Recording a question also purges, at most hourly; this covers a quiet bot.)
        """
        if self._purger is not None:  # the usual case, on every question: no lock needed
            return
        with self._lock:
            if self._purger is not None:
                return
            self._purger = threading.Thread(
                target=self._purge_periodically, args=(every_seconds,), name="qabot-log-retention", daemon=True
            )
            self._purger.start()

    def close(self) -> None:
        self._stop_purging.set()
        purger = self._purger
        if purger is not None and purger is not threading.current_thread():
            purger.join(5)
        self.database.close()

    def _purge_periodically(self, every_seconds: float) -> None:
        while not self._stop_purging.wait(every_seconds):
            try:
                self.purge_expired()
            except Exception as exc:  # e.g. the database is locked for a moment: try next time
                log.warning("deleting expired questions failed (%s)", type(exc).__name__)

    # -- writing -------------------------------------------------------------

    def hashed(self, kind: str, platform: str, key: str) -> str:
        """A keyed hash of a user or channel key; without the secret it cannot be matched to anyone."""
        message = f"{kind}\0{platform}\0{key}".encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def record(
        self,
        answer: Answer,
        *,
        question: str,
        platform: str,
        user_key: str | None,
        channel_key: str | None = None,
        latency_ms: float | None = None,
    ) -> int:
        """Store one answered (or declined) question; returns its answer ID for feedback."""
        passages = [
            {
                "article_id": p.source.article_id,
                "url": p.source.url,
                "score": round(p.score, 4),
                "sentence": p.sentence,
            }
            for p in answer.passages
        ]
        row = (
            self._clock().strftime(TIME_FORMAT),
            platform,
            self.hashed("user", platform, user_key) if user_key else None,
            self.hashed("channel", platform, channel_key) if channel_key else None,
            redact_mentions(question)[:MAX_LOGGED_QUESTION_CHARS],
            answer.outcome.value,
            int(answer.answered),
            float(answer.confidence),
            float(answer.passages[0].score) if answer.passages else None,
            float(answer.latency_ms if latency_ms is None else latency_ms),
            json.dumps(passages, ensure_ascii=False),
        )
        with self._lock:
            answer_id = self.database.insert_returning_id(
                "INSERT INTO questions (asked_at, platform, user_hash, channel_hash, question, outcome,"
                " answered, confidence, top_score, latency_ms, passages) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            self._purge_if_due()
        return answer_id

    def record_feedback(self, answer_id: int, user_key: str, vote: Vote | int | str) -> bool:
        """One vote per user per answer; voting again replaces it. False if the answer is unknown
        (never logged, or deleted by retention)."""
        vote = Vote.parse(vote)
        with self._lock:
            platform = self._platform_of(answer_id)
            if platform is None:
                return False
            self.database.change(
                "INSERT INTO feedback (question_id, user_hash, vote, voted_at) VALUES (?,?,?,?)"
                " ON CONFLICT (question_id, user_hash) DO UPDATE SET vote = excluded.vote,"
                " voted_at = excluded.voted_at",
                (answer_id, self.hashed("user", platform, user_key), int(vote), self._clock().strftime(TIME_FORMAT)),
            )
        return True

    def withdraw_feedback(self, answer_id: int, user_key: str, vote: Vote | int | str | None = None) -> bool:
        """Forget a user's vote on an answer (only if it is `vote`, when given): a removed reaction."""
        with self._lock:
            platform = self._platform_of(answer_id)
            if platform is None:
                return False
            query = "DELETE FROM feedback WHERE question_id = ? AND user_hash = ?"
            values: tuple[object, ...] = (answer_id, self.hashed("user", platform, user_key))
            if vote is not None:
                query += " AND vote = ?"
                values += (int(Vote.parse(vote)),)
            return self.database.change(query, values) > 0

    def link_message(self, answer_id: int, platform: str, message_ref: str) -> None:
        """Remember which chat message shows an answer, so a reaction on it finds the answer.

        `message_ref` may hold raw channel IDs (Slack's channel + ts), so it is stored hashed.
        """
        with self._lock:
            self.database.change(
                "INSERT INTO messages (message_hash, question_id) VALUES (?, ?)"
                " ON CONFLICT (message_hash) DO UPDATE SET question_id = excluded.question_id",
                (self.hashed("message", platform, message_ref), answer_id),
            )

    def answer_for_message(self, platform: str, message_ref: str) -> int | None:
        with self._lock:
            rows = self.database.execute(
                "SELECT question_id FROM messages WHERE message_hash = ?",
                (self.hashed("message", platform, message_ref),),
            )
        return int(rows[0][0]) if rows else None

    def purge_expired(self) -> int:
        """Delete questions (and their feedback) older than the retention period; returns how many."""
        with self._lock:
            return self._purge()

    def _purge_if_due(self) -> None:
        if self._clock() >= self._next_purge:
            self._purge()

    def _purge(self) -> int:
        now = self._clock()
        cutoff = (now - self.retention).strftime(TIME_FORMAT)
        deleted = self.database.change("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
        self._next_purge = now + PURGE_EVERY
        if deleted:
            log.info("question log: deleted %d question(s) older than %d days", deleted, self.retention.days)
        return deleted

    def _platform_of(self, answer_id: int) -> str | None:
        rows = self.database.execute("SELECT platform FROM questions WHERE id = ?", (answer_id,))
        return str(rows[0][0]) if rows else None


