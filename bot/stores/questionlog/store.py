"""The private question log: what was asked and how well the articles answered, in SQLite.

This bot is about surveillance; its log must not become one. So:
- users and channels are stored only as keyed hashes (HMAC-SHA256 with a secret
  from the settings, or a random key kept beside the database, readable only by
  its owner); a raw platform ID never reaches the database;
- platform mentions inside a question (`<@123>`, `<#C042>`) are replaced before
  the question is stored, since they carry raw IDs too;
- rows older than the retention period are deleted, with SQLite's secure_delete
  on so their bytes are overwritten in the file, not just unlinked;
- the database and key files are created readable by their owner only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Callable

from bot.answering.answer import Answer, Vote
from bot.stores.questionlog.keys import create_private_file, create_private_folder, key_path_for, load_or_create_key
from bot.stores.questionlog.redaction import redact_mentions

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""UTC, SQLite's own date-time text: sorts in time order and works with date()."""
MAX_LOGGED_QUESTION_CHARS = 2000
PURGE_EVERY = dt.timedelta(hours=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at     TEXT    NOT NULL,
    platform     TEXT    NOT NULL,
    user_hash    TEXT,
    channel_hash TEXT,
    question     TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    answered     INTEGER NOT NULL,
    confidence   REAL    NOT NULL,
    top_score    REAL,
    latency_ms   REAL    NOT NULL,
    passages     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_by_time ON questions (asked_at);
CREATE TABLE IF NOT EXISTS feedback (
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    user_hash   TEXT    NOT NULL,
    vote        INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at    TEXT    NOT NULL,
    PRIMARY KEY (question_id, user_hash)
);
CREATE TABLE IF NOT EXISTS messages (
    message_hash TEXT    PRIMARY KEY,
    question_id  INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS messages_by_question ON messages (question_id);
"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class QuestionLog:
    """Append questions, record feedback, forget old rows. Safe to share between threads."""

    def __init__(
        self,
        path: Path,
        secret: bytes,
        retention_days: int = 30,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if not secret:
            raise ValueError("the question log needs a secret to hash IDs with")
        self.path = Path(path)
        self.retention = dt.timedelta(days=retention_days)
        self._secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        create_private_file(self.path)
        self._db = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.executescript(SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._next_purge = self._clock()
        self._purge_if_due()
        self._stop_purging = threading.Event()
        self._purger: threading.Thread | None = None

    @classmethod
    def open(cls, path: Path, secret: str = "", retention_days: int = 30, **options: object) -> "QuestionLog":
        """Open (or create) the log at `path`; with no `secret`, use the key file beside it."""
        path = Path(path).expanduser()
        create_private_folder(path.parent)
        key = secret.encode("utf-8") if secret else load_or_create_key(key_path_for(path))
        return cls(path, key, retention_days, **options)  # type: ignore[arg-type]

    def __repr__(self) -> str:  # never shows the secret
        return f"QuestionLog({str(self.path)!r}, retention_days={self.retention.days})"

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
        with self._lock:
            self._db.close()

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
            cursor = self._db.execute(
                "INSERT INTO questions (asked_at, platform, user_hash, channel_hash, question, outcome,"
                " answered, confidence, top_score, latency_ms, passages) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            answer_id = int(cursor.lastrowid)  # type: ignore[arg-type]
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
            self._db.execute(
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
            return self._db.execute(query, values).rowcount > 0

    def link_message(self, answer_id: int, platform: str, message_ref: str) -> None:
        """Remember which chat message shows an answer, so a reaction on it finds the answer.

        `message_ref` may hold raw channel IDs (Slack's channel + ts), so it is stored hashed.
        """
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO messages (message_hash, question_id) VALUES (?, ?)",
                (self.hashed("message", platform, message_ref), answer_id),
            )

    def answer_for_message(self, platform: str, message_ref: str) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT question_id FROM messages WHERE message_hash = ?",
                (self.hashed("message", platform, message_ref),),
            ).fetchone()
        return int(row[0]) if row else None

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
        deleted = self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
        self._next_purge = now + PURGE_EVERY
        if deleted:
            log.info("question log: deleted %d question(s) older than %d days", deleted, self.retention.days)
        return deleted

    def _platform_of(self, answer_id: int) -> str | None:
        row = self._db.execute("SELECT platform FROM questions WHERE id = ?", (answer_id,)).fetchone()
        return row[0] if row else None


