"""The two databases the question log can live in: one SQLite file, or a PostgreSQL server shared by replicas.

The SQLite one is here; the PostgreSQL one is in `bot.stores.questionlog.postgres`, imported only
when QABOT_DATABASE_URL names a server (psycopg took 0.3 s of every bot's start). Both take the
same SQL, written with `?` placeholders (PostgreSQL's `%s` is put in for it), and answer with plain tuples, so `store.py`, `migrations.py` and `report.py` hold the only copy of
each statement. Every call is serialised by one lock per connection: the log writes one short
row per question, far below what either database takes.

Failure behaviour:
- SQLite: errors are `sqlite3.Error`, as the standard library raises them.
- PostgreSQL: errors are `psycopg.Error`; a dropped connection is opened again on the next call
  (see `bot.stores.questionlog.postgres`).
- `ping()` says whether the database answers now, for /readyz; it never raises.
- Neither ever logs the URL (it may hold a password).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

log = logging.getLogger(__name__)

Row = tuple[Any, ...]


def database_errors(postgres: bool) -> tuple[type[Exception], ...]:
    """What a failing log database raises: sqlite3's errors, and with PostgreSQL psycopg's too
    (imported only then)."""
    if not postgres:
        return (sqlite3.Error,)
    import psycopg

    return (sqlite3.Error, psycopg.Error)


def log_failures(postgres: bool) -> tuple[type[Exception], ...]:
    """What opening or using the log can raise for reasons outside the bot: files, keys, the database."""
    return (OSError, ValueError, *database_errors(postgres))


class Database(Protocol):
    """What the question log needs of a database."""

    kind: str
    """'sqlite' or 'postgresql': which of the migrations' SQL texts applies."""
    description: str
    """Where it is, for messages: a file path, or a PostgreSQL host and database (never a password)."""

    def execute(self, sql: str, values: Sequence[object] = ()) -> list[Row]: ...

    def change(self, sql: str, values: Sequence[object] = ()) -> int:
        """Run an INSERT, UPDATE or DELETE; returns how many rows it touched."""
        ...

    def insert_returning_id(self, sql: str, values: Sequence[object]) -> int: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Statements inside run as one transaction, with the schema locked against other processes."""
        ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """One SQLite file (created owner-only by the caller), in autocommit mode, secure_delete on."""

    kind = "sqlite"

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        self._lock = threading.RLock()
        if read_only:
            # `qabot report` must never create or change the file it reads.
            target, uri = f"{self.path.resolve().as_uri()}?mode=ro", True
        else:
            target, uri = str(self.path), False
        self._db = sqlite3.connect(target, uri=uri, timeout=5.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            # Deleted rows are overwritten in the file, not just unlinked (retention means gone).
            self._db.execute("PRAGMA secure_delete = ON")

    def execute(self, sql: str, values: Sequence[object] = ()) -> list[Row]:
        with self._lock:
            return [tuple(row) for row in self._db.execute(sql, tuple(values)).fetchall()]

    def change(self, sql: str, values: Sequence[object] = ()) -> int:
        with self._lock:
            return int(self._db.execute(sql, tuple(values)).rowcount)

    def insert_returning_id(self, sql: str, values: Sequence[object]) -> int:
        with self._lock:
            new_id = self._db.execute(sql, tuple(values)).lastrowid
        assert new_id is not None  # an INSERT into a table with an INTEGER PRIMARY KEY always sets it
        return new_id

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            # IMMEDIATE takes the write lock at once: two processes migrating one file take turns.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def ping(self) -> bool:
        try:
            self.execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        with self._lock:
            self._db.close()
