"""The question log helps admins find coverage gaps without becoming a surveillance tool.

Most tests run twice, through the `log_place` fixture: with the log in a SQLite file, and in
a real PostgreSQL database (the log replicas share). Those about files (permissions, the key
file, bytes overwritten on disk) are about SQLite alone."""

from __future__ import annotations

import datetime as dt
import stat
import time
from pathlib import Path

import pytest

from bot.answering.answer import Outcome, Vote
from bot.app import build_service
from bot.service.privacy import user_key
from bot.stores.questionlog.store import QuestionLog
from bot.stores.ratelimit import RateLimit
from tests.conftest import make_settings
from tests.support.question_logs import LogPlace

RAW_DISCORD_USER = "987654321098765432"
RAW_DISCORD_CHANNEL = "112233445566778899"
RAW_SLACK_USER = "U0RAWUSER42"
RAW_SLACK_CHANNEL = "C0RAWCHAN77"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "questions.sqlite3"


@pytest.fixture
def service(tmp_path: Path, log_place: LogPlace):
    running = build_service(make_settings(tmp_path, reload_seconds=0, **log_place.settings()))
    yield running
    running.close()


@pytest.fixture
def sqlite_service(tmp_path: Path, log_path: Path):
    running = build_service(make_settings(tmp_path, question_log_path=log_path, reload_seconds=0))
    yield running
    running.close()


def database_bytes(path: Path) -> bytes:
    """The database and any journal beside it, as a thief copying the folder would get them."""
    return LogPlace("sqlite", path).stored()


def test_each_question_is_logged_with_how_it_went(service, log_place):
    answered = service.ask("Why did Ring drop Flock?", user_key("discord", RAW_DISCORD_USER, service.id_secret), platform="discord")
    declined = service.ask("what's the capital of australia", user_key("slack", RAW_SLACK_USER, service.id_secret), platform="slack")

    rows = log_place.read()
    assert [r.answer_id for r in rows] == [answered.answer_id, declined.answer_id]
    first, second = rows
    assert (first.platform, first.question, first.outcome, first.answered) == (
        "discord", "Why did Ring drop Flock?", "answered", True
    )
    assert first.confidence == pytest.approx(answered.confidence) and first.top_score == pytest.approx(
        answered.passages[0].score, abs=1e-3
    )
    assert first.latency_ms > 0
    assert [p.sentence for p in first.passages] == [p.sentence for p in answered.passages]
    assert first.passages[0].url == answered.passages[0].source.url
    assert (second.platform, second.outcome, second.answered) == ("slack", "not_found", False)


def test_the_log_holds_no_raw_user_or_channel_ids(service, log_place):
    # Adapters hand the service raw platform IDs; neither they nor their plain keys reach the log.
    discord_key = user_key("discord", RAW_DISCORD_USER, service.id_secret)
    slack_key = user_key("slack", RAW_SLACK_USER, service.id_secret)
    service.ask("who owns ring", RAW_DISCORD_USER, platform="discord", channel_id=RAW_DISCORD_CHANNEL)
    # A question that mentions people and channels carries their raw IDs in its markup.
    service.ask(
        f"<@{RAW_DISCORD_USER}> says <#{RAW_DISCORD_CHANNEL}> knows why ring dropped flock",
        RAW_DISCORD_USER,
        platform="discord",
    )
    answer = service.ask(f"did <@{RAW_SLACK_USER}|alice> in <#{RAW_SLACK_CHANNEL}|news> see the super bowl ad",
                         RAW_SLACK_USER, platform="slack", channel_id=RAW_SLACK_CHANNEL)
    assert service.record_feedback(answer.answer_id, RAW_SLACK_USER, Vote.DOWN, platform="slack")

    stored = log_place.stored()
    assert b"ring dropped flock" in stored  # the questions are there...
    for raw in (RAW_DISCORD_USER, RAW_DISCORD_CHANNEL, RAW_SLACK_USER, RAW_SLACK_CHANNEL, discord_key, slack_key):
        assert raw.encode() not in stored, raw  # ...but no ID, nor the adapters' unsalted user keys
    questions = [r.question for r in log_place.read()]
    assert questions[1] == "@someone says #channel knows why ring dropped flock"
    assert questions[2].startswith("did @someone in #channel see")


def test_the_log_and_its_key_are_readable_by_their_owner_only(sqlite_service, log_path):
    service = sqlite_service
    service.ask("who owns ring", "someone", platform="discord")
    key_file = make_settings(log_path).secret_key_file()  # the deployment secret hashes the log's IDs
    for path in (log_path, key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(log_path.parent.stat().st_mode) == 0o700
    secret = key_file.read_text().strip()
    assert len(secret) == 64 and secret.encode() not in database_bytes(log_path)
    assert secret not in repr(service.question_log)


def test_the_same_user_hashes_alike_with_one_key_and_differently_with_another(tmp_path):
    one = QuestionLog.open(tmp_path / "one.sqlite3", secret="first secret, long enough")
    two = QuestionLog.open(tmp_path / "two.sqlite3", secret="second secret, long enough")
    assert one.hashed("user", "slack", "k") == one.hashed("user", "slack", "k")
    assert one.hashed("user", "slack", "k") != two.hashed("user", "slack", "k")
    assert one.hashed("user", "slack", "k") != one.hashed("user", "discord", "k")
    assert not (tmp_path / "one.key").exists()  # a secret from the settings needs no key file
    one.close()
    two.close()


def test_old_questions_are_deleted_after_the_retention_period_bytes_and_all(log_place, core):
    clock = Clock(dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc))
    question_log = log_place.open(retention_days=30, clock=clock)
    answer = core.answer("Why did Ring drop Flock? (an old question about flamingos)")
    old_id = question_log.record(answer, question="an old question about flamingos", platform="slack", user_key="u")
    question_log.record_feedback(old_id, "u", Vote.UP)
    clock.now += dt.timedelta(days=29)
    recent_id = question_log.record(answer, question="a recent question", platform="slack", user_key="u")
    assert [r.answer_id for r in log_place.read()] == [old_id, recent_id]

    clock.now += dt.timedelta(days=2)  # the first question is now 31 days old
    assert question_log.purge_expired() == 1
    assert [r.answer_id for r in log_place.read()] == [recent_id]
    # Gone (in SQLite's file, overwritten, not just unlinked; PostgreSQL's own storage reuses it later).
    assert b"flamingos" not in log_place.stored()
    assert not question_log.record_feedback(old_id, "u", Vote.DOWN)  # nothing left to vote on
    assert log_place.count("feedback") == 0
    question_log.close()


def test_opening_the_log_deletes_what_expired_while_the_bot_was_stopped(log_place, core):
    clock = Clock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    first = log_place.open(retention_days=7, clock=clock)
    first.record(core.answer("who owns ring"), question="who owns ring", platform="discord", user_key="u")
    first.close()
    clock.now += dt.timedelta(days=8)
    log_place.open(retention_days=7, clock=clock).close()
    assert log_place.read() == []


def test_a_quiet_bot_still_deletes_expired_questions(log_place, core):
    clock = Clock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    question_log = log_place.open(retention_days=1, clock=clock)
    question_log.record(core.answer("who owns ring"), question="who owns ring", platform="slack", user_key="u")
    question_log.start_purging(every_seconds=0.05)
    clock.now += dt.timedelta(days=2)  # nobody asks anything meanwhile
    deadline = time.monotonic() + 10
    while log_place.read() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log_place.read() == []
    question_log.close()


def test_a_vote_is_recorded_once_per_user_and_can_be_changed(service, log_place):
    alice, bob = user_key("discord", "1", service.id_secret), user_key("discord", "2", service.id_secret)
    answer = service.ask("Why did Ring drop Flock?", alice, platform="discord")

    assert service.record_feedback(answer.answer_id, alice, Vote.UP)
    assert service.record_feedback(answer.answer_id, alice, "👎")  # changed her mind
    assert service.record_feedback(answer.answer_id, bob, "+1::skin-tone-3")
    (row,) = log_place.read()
    assert (row.up_votes, row.down_votes) == (1, 1)
    assert service.withdraw_feedback(answer.answer_id, bob, Vote.DOWN) is False  # bob's vote was not 👎
    assert service.withdraw_feedback(answer.answer_id, bob, Vote.UP) is True
    (row,) = log_place.read()
    assert (row.up_votes, row.down_votes) == (0, 1)
    assert service.record_feedback(999_999, alice, Vote.UP) is False
    with pytest.raises(ValueError):
        service.record_feedback(answer.answer_id, alice, "heart")


def test_a_chat_message_is_linked_to_its_answer_for_reactions(service):
    answer = service.ask("who owns ring", "k", platform="slack")
    service.link_message(answer.answer_id, "slack", "C0RAWCHAN77:1700000000.000100")
    assert service.answer_for_message("slack", "C0RAWCHAN77:1700000000.000100") == answer.answer_id
    assert service.answer_for_message("slack", "C0RAWCHAN77:1700000000.000999") is None
    assert service.answer_for_message("discord", "C0RAWCHAN77:1700000000.000100") is None


def test_rate_limited_questions_are_not_logged(tmp_path, log_place):
    service = build_service(
        make_settings(tmp_path, rate_limit=RateLimit(1, 60), reload_seconds=0, **log_place.settings())
    )
    try:
        assert service.ask("who owns ring", "k", platform="discord").answer_id is not None
        limited = service.ask("who owns ring", "k", platform="discord")
        assert limited.outcome is Outcome.RATE_LIMITED and limited.answer_id is None
        assert len(log_place.read()) == 1
    finally:
        service.close()


def test_with_the_log_turned_off_nothing_is_written(tmp_path, log_path):
    service = build_service(
        make_settings(tmp_path, question_log=False, question_log_path=log_path, reload_seconds=0)
    )
    answer = service.ask("Why did Ring drop Flock?", "k", platform="discord")
    assert answer.answered and answer.answer_id is None
    assert service.record_feedback(1, "k", Vote.UP) is False
    assert not log_path.parent.exists()
    service.close()


def test_a_failing_log_never_stops_the_answers(service, caplog):
    service.question_log.close()  # e.g. the disk went away
    answer = service.ask("Why did Ring drop Flock?", "k", platform="discord")
    assert answer.answered and answer.answer_id is None
    assert "the question log failed" in caplog.text and "Why did Ring" not in caplog.text


def test_the_default_log_lives_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings = make_settings(tmp_path)
    assert settings.question_log_file() == tmp_path / "xdg" / "qabot" / "questions.sqlite3"


def test_a_log_that_cannot_be_opened_is_reported_once_and_the_bot_answers_anyway(tmp_path, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the log's folder should be")
    service = build_service(
        make_settings(tmp_path, question_log_path=blocked / "questions.sqlite3", reload_seconds=0)
    )
    answer = service.ask("Why did Ring drop Flock?", "k", platform="discord")
    assert answer.answered and answer.answer_id is None
    [error] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert "the question log at" in error and "answering without it" in error
    service.close()


def test_two_bots_starting_together_share_one_key(tmp_path):
    path = tmp_path / "shared" / "questions.sqlite3"
    first = QuestionLog.open(path)
    second = QuestionLog.open(path)
    assert first.hashed("user", "slack", "k") == second.hashed("user", "slack", "k")
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".key-")] == []  # no temporary key left
    first.close()
    second.close()
