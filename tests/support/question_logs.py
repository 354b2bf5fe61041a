"""Where a test's question log lives: a SQLite file, or a database of the tests' real PostgreSQL.

The question-log tests run once for each (`log_place` fixture in tests/conftest.py); a test
reads back what was logged the way `qabot report` does, and looks at everything stored, as
someone who copied the database would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bot.settings import Secret
from bot.stores.questionlog.postgres import PostgresDatabase
from bot.stores.questionlog.keys import key_path_for
from bot.stores.questionlog.report import LoggedAnswer, read_answers
from bot.stores.questionlog.store import QuestionLog


@dataclass(frozen=True)
class LogPlace:
    kind: str
    """'sqlite' or 'postgresql'."""
    path: Path
    """The SQLite file; with PostgreSQL, the file whose neighbour holds the key (questions.key)."""
    url: str = ""

    def settings(self) -> dict[str, Any]:
        """Settings overrides that put a bot's log here."""
        overrides: dict[str, Any] = {"question_log_path": self.path}
        if self.url:
            overrides["database_url"] = Secret(self.url)
        return overrides

    def environment(self) -> dict[str, str]:
        """The same, as a process's environment."""
        env = {"QABOT_QUESTION_LOG_PATH": str(self.path)}
        if self.url:
            env["QABOT_DATABASE_URL"] = self.url
        return env

    def open(self, secret: str = "", **options: Any) -> QuestionLog:
        if self.url:
            return QuestionLog.open_postgres(self.url, secret=secret, key_file=key_path_for(self.path), **options)
        return QuestionLog.open(self.path, secret=secret, **options)

    def read(self) -> list[LoggedAnswer]:
        if not self.url:
            return read_answers(self.path)
        database = PostgresDatabase(self.url)
        try:
            return read_answers(database)
        finally:
            database.close()

    def stored(self) -> bytes:
        """Every byte the database keeps: the SQLite file and its journals, or every row of every table."""
        if not self.url:
            return b"".join(p.read_bytes() for p in sorted(self.path.parent.glob(self.path.name + "*")))
        with psycopg.connect(self.url) as connection:
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                )
            ]
            rows = [repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')]
        return "\n".join(rows).encode("utf-8")

    def count(self, table: str) -> int:
        if not self.url:
            import sqlite3

            with sqlite3.connect(self.path) as db:
                return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        with psycopg.connect(self.url) as connection:
            row = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
            return int(row[0]) if row else 0
