"""A bot restarted with a cached index answers at once, from the index as it was last written,
and checks the article folder against it in the background: what changed while it was stopped
(an article edited in place, one removed) is answered from once that check has run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.answering.core import AnsweringCore
from bot.app import build_service, load_core
from bot.service.questions import QuestionService
from bot.stores.ratelimit import RateLimit
from tests.conftest import make_settings
from tests.support.waiting import eventually

NO_LIMIT = RateLimit(0, 1)
BBC_FILE = "bbc-ring-ends-deal-with-surveillance-firm.md"
NEW_FACT = "The spokesperson added that the company's zeppelin fleet had been painted vermilion."
NEW_QUESTION = "What colour was the zeppelin fleet painted?"




def quoted(core: object, question: str) -> str:
    assert isinstance(core, AnsweringCore)
    return " ".join(f"{p.before} {p.sentence} {p.after}" for p in core.answer(question).passages)


def cited(core: object, question: str) -> set[str]:
    assert isinstance(core, AnsweringCore)
    return {p.source.article_id for p in core.answer(question).passages}


@pytest.fixture
def restarted(articles: Path, tmp_path: Path):
    """Index the articles (the bot ran once), let the test change them (while it is stopped),
    then start a bot from the cached index (as `qabot slack` and `qabot discord` do)."""
    settings = make_settings(tmp_path, corpus_dir=articles, reload_seconds=0, question_log=False, rate_limit=NO_LIMIT)
    load_core(settings)  # the index, cached
    started: list[QuestionService] = []

    def restart() -> QuestionService:
        service = build_service(settings, start_from_cache=True)
        started.append(service)
        return service

    yield restart
    for service in started:
        service.close()


def test_an_article_edited_while_the_bot_was_stopped_is_answered_from_its_new_text_once_checked(
    restarted, articles: Path, caplog
):
    bbc = articles / BBC_FILE
    bbc.write_text(bbc.read_text(encoding="utf-8") + f"\n{NEW_FACT}\n", encoding="utf-8")  # in place, no rename
    caplog.set_level(logging.INFO)

    service = restarted()
    # Answering from the index as last written, before the folder is checked (no watching yet,
    # and reload_seconds=0: only the first check will look at the folder).
    assert service.watcher is not None and service.watcher.first_check_pending
    assert "vermilion" not in quoted(service.core, NEW_QUESTION)

    service.watch_corpus(reload_signal=None)
    eventually(lambda: "vermilion" in quoted(service.core, NEW_QUESTION), "the edited article's new text is quoted")
    assert not service.watcher.first_check_pending
    logged = caplog.text
    assert "changed while the bot was stopped: 1 added or changed" in logged
    assert "checked the articles in" in logged and "answering from the updated index" in logged


def test_an_article_removed_while_the_bot_was_stopped_is_no_longer_cited_once_checked(restarted, articles: Path):
    question = "What did the Flock spokesperson tell the BBC?"
    (articles / BBC_FILE).unlink()
    service = restarted()
    assert "bbc-ring-ends-deal-with-surveillance-firm" in cited(service.core, question)  # as last indexed
    service.watch_corpus(reload_signal=None)
    eventually(
        lambda: "bbc-ring-ends-deal-with-surveillance-firm" not in cited(service.core, question),
        "the removed article is no longer cited",
    )


def test_an_unchanged_folder_keeps_the_core_the_bot_started_with(restarted, caplog):
    caplog.set_level(logging.INFO)
    service = restarted()
    first = service.core
    service.watch_corpus(reload_signal=None)
    eventually(lambda: "they are as indexed" in caplog.text, "the first check ends")
    assert service.core is first
    assert "changed while the bot was stopped" not in caplog.text
