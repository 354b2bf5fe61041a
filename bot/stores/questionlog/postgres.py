"""The question log's PostgreSQL database, shared by replicas, through psycopg 3.

Imported only when QABOT_DATABASE_URL names a server (`bot.app.open_question_log`, `qabot
report`), so a bot with the SQLite log never loads psycopg. It takes the same SQL as the SQLite
database (`bot.stores.questionlog.database`), with `?` placeholders.

Failure behaviour: errors are `psycopg.Error`. A connection the server dropped (a restart, a
network cut) is opened again on the next call, so a log outlives its server's restart; the call
that met the dropped connection still fails (the caller, the question service, logs and goes on).
`ping()` never raises; the URL is never logged (it may hold a password).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Callable, Iterator, Sequence

import psycopg

from bot.stores.questionlog.database import Row

log = logging.getLogger(__name__)

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
