"""The two databases the question log can live in: one SQLite file, or a PostgreSQL server shared by replicas.

Both take the same SQL, written with `?` placeholders (PostgreSQL's `%s` is put in for it), and
answer with plain tuples, so `store.py`, `migrations.py` and `report.py` hold the only copy of
each statement. Every call is serialised by one lock per connection: the log writes one short
row per question, far below what either database takes.

Failure behaviour:
- SQLite: errors are `sqlite3.Error`, as the standard library raises them.
- PostgreSQL: errors are `psycopg.Error`. A connection the server dropped (a restart, a network
  cut) is opened again on the next call, so a log outlives its server's restart; the call that
  met the dropped connection still fails (the caller, the question service, logs and goes on).
- `ping()` says whether the database answers now, for /readyz; it never raises.
- Neither ever logs the URL (it may hold a password).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import psycopg

log = logging.getLogger(__name__)

Row = tuple[Any, ...]

DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
"""What a failing log database raises, whichever it is."""
LOG_FAILURES: tuple[type[Exception], ...] = (OSError, ValueError, *DATABASE_ERRORS)
"""What opening or using the log can raise for reasons outside the bot: files, keys, the database."""


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


MIGRATION_LOCK_ID = 0x7161626F74  # "qabot": the advisory lock replicas migrating one database take turns on
CONNECT_TIMEOUT_SECONDS = 5


class PostgresDatabase:
    """A PostgreSQL database through psycopg 3: one connection, autocommit, reopened when dropped."""

    kind = "postgresql"

    def __init__(self, url: str, connect: Callable[[str], psycopg.Connection[Any]] | None = None) -> None:
        self._url = url
        self._connect = connect or _connect
        self._lock = threading.RLock()
        self._connection: psycopg.Connection[Any] | None = None
        self._closed = False
        self.description = describe_database(url)
        self._live()  # fail now if the server cannot be reached at all (the caller says what to do)

    def __repr__(self) -> str:  # never shows the URL's password
        return f"PostgresDatabase({self.description!r})"

    def _live(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise psycopg.InterfaceError("the question log's database connection was closed")
        if self._connection is None or self._connection.closed or self._connection.broken:
            if self._connection is not None:
                log.warning("question log: the connection to %s was lost; connecting again", self.description)
                with contextlib.suppress(Exception):
                    self._connection.close()
            self._connection = None
            self._connection = self._connect(self._url)
        return self._connection

    def execute(self, sql: str, values: Sequence[object] = ()) -> list[Row]:
        with self._lock:
            cursor = self._live().execute(_placeholders(sql), tuple(values))
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def change(self, sql: str, values: Sequence[object] = ()) -> int:
        with self._lock:
            return int(self._live().execute(_placeholders(sql), tuple(values)).rowcount)

    def insert_returning_id(self, sql: str, values: Sequence[object]) -> int:
        [(new_id,)] = self.execute(sql + " RETURNING id", values)
        return int(new_id)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            connection = self._live()
            with connection.transaction():
                # Held until the transaction ends: replicas starting together migrate one at a time.
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
                yield

    def ping(self) -> bool:
        try:
            self.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.close()
                self._connection = None


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name="qabot")


def _placeholders(sql: str) -> str:
    # Our statements hold no literal '?' or '%': a plain swap is exact.
    return sql.replace("?", "%s")


def describe_database(url: str) -> str:
    """host:port/dbname of a PostgreSQL URL, without the user or password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (a URL that could not be read)"
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    return f"PostgreSQL {host}:{port}/{info.get('dbname') or info.get('user') or ''}"
