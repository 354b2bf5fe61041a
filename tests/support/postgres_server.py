"""A real PostgreSQL server (Debian's `postgresql` package) for the tests, on 127.0.0.1 and a free port.

`initdb` makes a cluster in a temporary folder and `pg_ctl` starts it with a password (so the
secrets tests can check it never shows) and fsync off (the tests need no durability). PostgreSQL
refuses to run as root, so as root (CI runs as root) the cluster belongs to the `postgres` user
the Debian package creates, and both commands run through `runuser`. Each test gets a database
of its own (`new_database`). Without PostgreSQL on the machine the tests that need it are skipped,
except in CI (CI=true), where they fail: CI installs it (`.ci/run`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from tests.support.redis_server import free_port

USER = "qabot"
PASSWORD = "pg-pass-3b9e61d2-never-logged"
START_TIMEOUT_SECONDS = 60


def postgres_bin_dir() -> Path:
    """The folder of initdb and pg_ctl; skips the test (fails it in CI) when PostgreSQL is not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    found = Path(candidates[-1]).parent if candidates else None
    if found is None and shutil.which("initdb") and shutil.which("pg_ctl"):
        found = Path(shutil.which("initdb")).resolve().parent  # type: ignore[arg-type]
    if found is None:
        message = "PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def _version(initdb: str) -> int:
    try:
        return int(Path(initdb).parts[-3])
    except ValueError:
        return 0


@dataclass
class PostgresServer:
    """One PostgreSQL cluster; `stop()` ends it and removes its folder."""

    bin_dir: Path
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="qabot-pg-")))
    port: int = field(default_factory=free_port)
    owner: str | None = None
    """The system user running the server (`postgres` when the tests run as root)."""
    durable: bool = False
    """fsync on, as a real deployment runs it (benchmarks); the tests need no durability."""

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def start(self) -> "PostgresServer":
        if os.geteuid() == 0:
            self.owner = "postgres"
            self.folder.chmod(0o755)
            shutil.chown(self.folder, user=self.owner)
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD + "\n")
        if self.owner:
            shutil.chown(password_file, user=self.owner)
        self._run(
            "initdb", "-D", str(self.data_dir), "-U", USER, f"--pwfile={password_file}",
            "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        password_file.unlink()
        self._start_server()
        return self

    def _start_server(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        # -l: the server's output goes to a file, never to the pipe this process reads.
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.folder / "server.log"),
            "-w", "-t", str(START_TIMEOUT_SECONDS), "start",
        )  # fmt: skip

    def restart(self) -> None:
        """Stop the server at once (dropping every connection) and start it again on the same port."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        self._start_server()

    def stop(self) -> None:
        if self.data_dir.exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_database(self) -> str:
        """A new, empty database of this server; returns its URL."""
        name = "test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.folder, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def start_postgres(durable: bool = False) -> PostgresServer:
    """A started server; a port taken meanwhile by someone else is retried on another."""
    bin_dir = postgres_bin_dir()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root, PostgreSQL needs the 'postgres' user (the Debian package makes it)")
    last_error: Exception | None = None
    for _ in range(3):
        server = PostgresServer(bin_dir, durable=durable)
        try:
            return server.start()
        except RuntimeError as exc:
            last_error = exc
            server.stop()
    raise RuntimeError(f"could not start PostgreSQL on a free port: {last_error}")
