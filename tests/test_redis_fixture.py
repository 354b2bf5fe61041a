"""Tests that need redis-server skip on a developer's machine without it, but fail in CI."""

from __future__ import annotations

import pytest

import tests.support.redis_server
from tests.support.redis_server import redis_server_binary


@pytest.mark.parametrize("ci", ["true", "1"])
def test_in_ci_a_missing_redis_server_fails_the_test(monkeypatch: pytest.MonkeyPatch, ci: str):
    monkeypatch.setattr(tests.support.redis_server.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="redis-server is not installed"):
        redis_server_binary()


def test_elsewhere_a_missing_redis_server_skips_the_test(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tests.support.redis_server.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        redis_server_binary()
