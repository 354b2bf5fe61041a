"""Bursts of questions on both adapters, against the local fakes on 127.0.0.1: each question is
answered exactly once, no delivery fails, Slack's acknowledgements stay within its 3 seconds.

These run in the default suite (about 10 s together; -m "not load" leaves them out); their figures are printed at the end of
the run. Bigger runs: `python -m benchmarks.load slack --events 2000` (see benchmarks/load.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bursts import ACK_DEADLINE_MS, run_discord_burst, run_slack_http_load

pytestmark = pytest.mark.load

SLACK_EVENTS = 500
DISCORD_MENTIONS = 200
EVERY_NTH_SEND_RATE_LIMITED = 7


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("load-cache")


def test_a_burst_of_signed_slack_events_is_acknowledged_in_time_and_each_answered_once(cache_dir, record_property):
    report = run_slack_http_load(events=SLACK_EVENTS, concurrency=SLACK_EVENTS, users=125, cache_dir=cache_dir)
    record_property("load figures", report.summary())
    assert report.statuses == {200: SLACK_EVENTS}, "no 5xx, no refused or dropped connection"
    assert report.ack_max_ms < ACK_DEADLINE_MS, "Slack would have sent these again"
    assert len(report.posts_per_event) == SLACK_EVENTS
    assert set(report.posts_per_event.values()) == {1}, "every question answered, none twice"
    assert report.refusals == 0, "every answer a real one (users stay within the rate limit)"


@pytest.mark.asyncio
async def test_a_burst_of_discord_mentions_with_rate_limited_sends_is_each_answered_once(cache_dir, record_property):
    report = await run_discord_burst(
        mentions=DISCORD_MENTIONS, every=EVERY_NTH_SEND_RATE_LIMITED, users=40, cache_dir=cache_dir
    )
    record_property("load figures", report.summary())
    assert report.rate_limited_sends >= DISCORD_MENTIONS // EVERY_NTH_SEND_RATE_LIMITED
    assert len(report.replies_per_message) == DISCORD_MENTIONS
    assert set(report.replies_per_message.values()) == {1}, "every mention answered, none twice"
    assert report.refusals == 0
