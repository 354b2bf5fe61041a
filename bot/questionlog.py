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
import enum
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot.answer import Answer

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

# Platform mention markup carries raw user, role and channel IDs.
_MENTIONS = (
    (re.compile(r"<@[!&]?\d+>"), "@someone"),  # Discord user or role
    (re.compile(r"<#\d+>"), "#channel"),  # Discord channel
    (re.compile(r"<@[UWB][A-Z0-9]+(?:\|[^>]*)?>"), "@someone"),  # Slack user
    (re.compile(r"<#C[A-Z0-9]+(?:\|[^>]*)?>"), "#channel"),  # Slack channel
    (re.compile(r"<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>"), "@group"),  # Slack user group
)


_SKIN_TONES = re.compile("[\U0001F3FB-\U0001F3FF\uFE0F]")


class Vote(enum.IntEnum):
    UP = 1
    DOWN = -1

    @classmethod
    def parse(cls, value: "Vote | int | str") -> "Vote":
        if isinstance(value, Vote):
            return value
        # Reactions may carry a skin tone: Slack's "+1::skin-tone-3", or a modifier after the emoji.
        text = _SKIN_TONES.sub("", str(value).strip().lower().split("::")[0])
        if text in {"1", "+1", "up", "👍", "thumbsup"}:
            return cls.UP
        if text in {"-1", "down", "👎", "thumbsdown"}:
            return cls.DOWN
        raise ValueError(f"not a vote: {value!r}; use up or down")


@dataclass(frozen=True)
class ShownPassage:
    article_id: str
    url: str | None
    score: float
    sentence: str


@dataclass(frozen=True)
class LoggedAnswer:
    """One logged question, as `qabot report` reads it back. Holds no user or channel hash."""

    answer_id: int
    asked_at: dt.datetime
    platform: str
    question: str
    outcome: str
    answered: bool
    confidence: float
    top_score: float | None
    latency_ms: float
    passages: tuple[ShownPassage, ...]
    up_votes: int
    down_votes: int


def redact_mentions(text: str) -> str:
    for pattern, replacement in _MENTIONS:
        text = pattern.sub(replacement, text)
    return text


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def load_or_create_key(key_path: Path) -> bytes:
    """The log's hashing key from `key_path`, made (random, owner-only) on first use.

    A new key is written to a temporary file and linked into place, so a crash or a
    second process starting at the same moment never leaves an empty or different key.
    """
    if not key_path.exists():
        fd, temp_name = tempfile.mkstemp(prefix=".key-", dir=key_path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temp_name, key_path)
            log.info("made a new key for hashing IDs in the question log: %s", key_path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temp_name)
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("the question log key %s was readable by others; now owner-only", key_path)
        os.chmod(key_path, 0o600)
    key = key_path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ValueError(f"{key_path} does not hold a usable key; delete it to make a new one")
    return key.encode("ascii")


def key_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.stem + ".key")


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
        _create_private_file(self.path)
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
        _create_private_folder(path.parent)
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


def read_answers(path: Path, since: dt.datetime | None = None) -> list[LoggedAnswer]:
    """Every logged question since `since` (UTC), oldest first, with its vote counts. Read-only."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(str(path))
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        rows = db.execute(
            "SELECT q.id, q.asked_at, q.platform, q.question, q.outcome, q.answered, q.confidence,"
            " q.top_score, q.latency_ms, q.passages,"
            " COALESCE(SUM(f.vote = 1), 0), COALESCE(SUM(f.vote = -1), 0)"
            " FROM questions q LEFT JOIN feedback f ON f.question_id = q.id"
            " WHERE q.asked_at >= ? GROUP BY q.id ORDER BY q.asked_at, q.id",
            ((since or dt.datetime.min).strftime(TIME_FORMAT),),
        ).fetchall()
    finally:
        db.close()
    return [_logged_answer(row) for row in rows]


def _logged_answer(row: tuple) -> LoggedAnswer:
    (answer_id, asked_at, platform, question, outcome, answered, confidence, top_score, latency, passages, up, down) = row
    return LoggedAnswer(
        answer_id=answer_id,
        asked_at=dt.datetime.strptime(asked_at, TIME_FORMAT).replace(tzinfo=dt.timezone.utc),
        platform=platform,
        question=question,
        outcome=outcome,
        answered=bool(answered),
        confidence=confidence,
        top_score=top_score,
        latency_ms=latency,
        passages=tuple(ShownPassage(**p) for p in json.loads(passages)),
        up_votes=int(up),
        down_votes=int(down),
    )


def _create_private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _create_private_file(path: Path) -> None:
    """Create the database file owner-only before SQLite opens it (SQLite would use the umask)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
