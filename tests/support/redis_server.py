"""A real `redis-server` (Debian's package) for the tests, on 127.0.0.1 and a free port.

It runs with a password, so the secrets tests can check that it never shows,
keeps nothing on disk, and can be stopped and started again on the same port to
play an outage. Without redis-server on the machine the tests that need it are
skipped, except in CI (CI=true), where they fail: CI installs it (`.ci/run`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.support.processes import ends_with_the_tests

PASSWORD = "redis-pass-5c1d0e7f-never-logged"
START_TIMEOUT_SECONDS = 10.0


def redis_server_binary() -> str:
    """The redis-server path; skips the test (fails it in CI) when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (Debian package redis-server; .ci/run installs it)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server process; `stop()` and `start()` again keep its port."""

    binary: str
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    durable: bool = False
    """Keep every write in an append-only file, fsynced at once (`appendfsync always`), so a
    restart loses nothing: what a deployment that promises durable jobs must run."""

    @property
    def url(self) -> str:
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--requirepass", PASSWORD,
            "--save", "",
            "--appendonly", "yes" if self.durable else "no",
            "--appendfsync", "always",
            "--dir", str(self.folder),
            "--protected-mode", "yes",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=ends_with_the_tests
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                self.client().ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def flush(self) -> None:
        self.client().flushall()


def start_redis(folder: Path, durable: bool = False) -> RedisServer:
    """A started server; a port taken meanwhile by someone else is retried on another."""
    binary = redis_server_binary()
    for _ in range(3):
        server = RedisServer(binary, folder, durable=durable)
        try:
            return server.start()
        except RuntimeError:
            server.stop()
    raise RuntimeError("could not start redis-server on a free port")
