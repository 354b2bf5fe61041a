"""Waiting for a bot started with `bot.app.running` to have read its articles: with no current
index in the cache it builds one while serving, and answers "still reading" until then
(tests/test_serving_while_building.py)."""

from __future__ import annotations

import time

from bot.app import RunningBot
from bot.service.questions import IndexReadiness


def until_the_articles_are_read(bot: RunningBot, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while bot.service.readiness is not IndexReadiness.READY:
        assert time.monotonic() < deadline, f"the articles were not read within {seconds:.0f} s"
        time.sleep(0.05)
