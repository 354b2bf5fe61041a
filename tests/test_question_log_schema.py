"""The question log's schema is versioned: old SQLite logs upgrade in place, a newer log is left
alone, replicas starting together migrate once, and replicas must hash IDs with one key."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from bot.app import build_service, open_question_log
from bot.errors import SetupError
from bot.settings import Secret
from bot.stores.questionlog.database import SqliteDatabase
from bot.stores.questionlog.postgres import PostgresDatabase
from bot.stores.questionlog.migrations import LATEST_VERSION, SchemaTooNewError, applied_versions
from bot.stores.questionlog.report import read_answers
from bot.stores.questionlog.store import KeyMismatchError, QuestionLog
from tests.conftest import make_settings
from tests.support.postgres_server import PASSWORD
from tests.support.question_logs import LogPlace
from tests.support.redis_server import free_port

# The schema every log had before migrations: `PRAGMA user_version = 1`, no schema_migrations table.
VERSION_1_SCHEMA = """
CREATE TABLE questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, asked_at TEXT NOT NULL, platform TEXT NOT NULL, user_hash TEXT,
    channel_hash TEXT, question TEXT NOT NULL, outcome TEXT NOT NULL, answered INTEGER NOT NULL,
    confidence REAL NOT NULL, top_score REAL, latency_ms REAL NOT NULL, passages TEXT NOT NULL);
CREATE INDEX questions_by_time ON questions (asked_at);
CREATE TABLE feedback (
    question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE, user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), voted_at TEXT NOT NULL, PRIMARY KEY (question_id, user_hash));
CREATE TABLE messages (
    message_hash TEXT PRIMARY KEY, question_id INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE);
INSERT INTO questions VALUES (7, '2026-11-30 09:00:00', 'slack', 'u', NULL, 'who owns ring', 'answered', 1,
    0.9, 3.2, 4.0, '[]');
INSERT INTO feedback VALUES (7, 'v', -1, '2026-11-30 09:01:00');
PRAGMA user_version = 1;
"""


def test_a_version_1_sqlite_log_is_upgraded_in_place_keeping_its_questions_and_votes(tmp_path, core):
    path = tmp_path / "questions.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1_SCHEMA)
    log = QuestionLog.open(path, secret="a secret long enough to hash with")
    assert applied_versions(log.database) == list(range(1, LATEST_VERSION + 1))
    new_id = log.record(core.answer("who owns ring"), question="who owns ring", platform="discord", user_key="k")
    log.close()
    old, new = read_answers(path)
    assert (old.answer_id, old.question, old.down_votes) == (7, "who owns ring", 1)
    assert new.answer_id == new_id > 7
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (LATEST_VERSION,)


def test_opening_a_current_log_again_applies_nothing(log_place):
    log_place.open(secret="a secret long enough to hash with").close()
    again = log_place.open(secret="a secret long enough to hash with")
    assert applied_versions(again.database) == list(range(1, LATEST_VERSION + 1))
    assert log_place.count("schema_migrations") == LATEST_VERSION
    again.close()


def test_a_log_from_a_newer_qabot_is_neither_written_nor_misread(log_place, tmp_path):
    log_place.open(secret="a secret long enough to hash with").close()
    database = _database(log_place)
    database.change(
        "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
        (LATEST_VERSION + 1, "from the future", "2027-01-01 00:00:00"),
    )
    with pytest.raises(SchemaTooNewError, match=f"schema version {LATEST_VERSION + 1}.*upgrade qabot"):
        log_place.open(secret="a secret long enough to hash with")
    with pytest.raises(SchemaTooNewError):
        read_answers(database)
    database.close()
    # A bot refuses to start over it rather than answer without its log.
    with pytest.raises(SetupError, match="upgrade qabot"):
        build_service(make_settings(tmp_path, reload_seconds=0, **log_place.settings()))


def test_a_replica_hashing_with_another_key_is_refused(log_place, tmp_path):
    first = log_place.open(secret="the deployment's own secret, shared")
    with pytest.raises(KeyMismatchError, match="another key") as refused:
        log_place.open(secret="a replica that was given another secret")
    assert "shared" not in str(refused.value) and "another secret" not in str(refused.value)
    log_place.open(secret="the deployment's own secret, shared").close()  # the right key is let in
    first.close()
    settings = make_settings(
        tmp_path, reload_seconds=0, secret=Secret("yet another secret, long enough to be a key"), **log_place.settings()
    )
    with pytest.raises(SetupError, match="QABOT_SECRET"):
        open_question_log(settings)


def test_replicas_starting_together_migrate_once(postgres_url, tmp_path):
    place = LogPlace("postgresql", tmp_path / "questions.sqlite3", postgres_url)
    opened: list[QuestionLog] = []
    failures: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(place.open(secret="the deployment's own secret, shared"))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and len(opened) == 4
    assert place.count("schema_migrations") == LATEST_VERSION and place.count("deployment") == 1
    for log in opened:
        log.close()


def test_an_unreachable_database_is_reported_once_and_the_bot_answers_without_its_log(tmp_path, caplog):
    url = f"postgresql://qabot:{PASSWORD}@127.0.0.1:{free_port()}/qabot"  # nobody listens there
    service = build_service(
        make_settings(tmp_path, reload_seconds=0, database_url=Secret(url), secret=Secret("s" * 32))
    )
    try:
        answer = service.ask("Why did Ring drop Flock?", "k", platform="discord")
        assert answer.answered and answer.answer_id is None
        [error] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert "the question log in PostgreSQL 127.0.0.1:" in error and "answering without it" in error
        assert PASSWORD not in caplog.text
    finally:
        service.close()


def test_the_log_outlives_a_restart_of_its_postgresql(tmp_path, core):
    from tests.support.postgres_server import start_postgres

    server = start_postgres()
    try:
        url = server.new_database()
        log = QuestionLog.open_postgres(url, secret="a secret long enough to hash with")
        first = log.record(core.answer("who owns ring"), question="who owns ring", platform="slack", user_key="k")
        server.restart()
        # The first call after the restart may meet the dropped connection; the next one reconnects.
        with pytest.raises(psycopg.Error):  # which one depends on timing (a dropped or refused connection)
            log.record(core.answer("who owns ring"), question="lost in the restart", platform="slack", user_key="k")
        second = log.record(core.answer("who owns ring"), question="who owns ring", platform="slack", user_key="k")
        assert second > first
        assert [a.question for a in read_answers(log.database)] == ["who owns ring", "who owns ring"]
        log.close()
    finally:
        server.stop()


def _database(place: LogPlace) -> SqliteDatabase | PostgresDatabase:
    return PostgresDatabase(place.url) if place.url else SqliteDatabase(Path(place.path))
