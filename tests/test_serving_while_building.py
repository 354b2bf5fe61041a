"""A bot that starts with no index cache serves at once: a question asked while its first index
is built is told "I'm still reading the articles (50%); ask again in a minute", and answered
properly once the index is ready. If the articles cannot be read at all, the asker is told so,
and the bot answers as soon as they are fixed."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import index.cache
from bot.answering.answer import Outcome
from bot.app import build_service, health_for
from bot.service.metrics import Metrics
from bot.settings import Settings
from bot.service.questions import QuestionService, IndexReadiness
from bot.stores.ratelimit import RateLimit
from corpus import BUNDLED_DIR, CorpusError, render_article
from index.progress import BuildProgress
from tests.conftest import make_settings
from tests.support.synthetic import articles as synthetic_articles
from tests.support.waiting import eventually

DEADLINE_SECONDS = 60.0
QUESTION = "What did the Flock spokesperson tell the BBC?"




@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The bundled articles and 400 synthetic ones: a build of two batches of 200 articles."""
    folder = tmp_path / "articles"
    shutil.copytree(BUNDLED_DIR, folder)
    for article in synthetic_articles(2_000, sentences_per_article=5):
        (folder / f"{article.article_id}.md").write_text(render_article(article), encoding="utf-8")
    return folder


@pytest.fixture
def build_paused_halfway(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The real build, held after its first batch of articles until the test sets the event."""
    go_on = threading.Event()
    real = index.cache.load_or_build

    def paused(*args: Any, progress: Callable[[BuildProgress], None] | None = None, **kwargs: Any) -> Any:
        def hold_after_a_batch(report: BuildProgress) -> None:
            if progress is not None:
                progress(report)
            if 0 < report.articles_done < report.articles_total:
                assert go_on.wait(DEADLINE_SECONDS)

        return real(*args, progress=hold_after_a_batch, **kwargs)

    monkeypatch.setattr(index.cache, "load_or_build", paused)
    yield go_on
    go_on.set()


def quick_settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return make_settings(
        tmp_path, corpus_dir=corpus_dir, question_log=False, rate_limit=RateLimit(0, 1), reload_seconds=0.05
    )


def started(tmp_path: Path, corpus_dir: Path) -> QuestionService:
    return build_service(quick_settings(tmp_path, corpus_dir), in_background=True)


def test_a_question_asked_while_the_first_index_is_built_is_told_how_far_it_got(
    tmp_path, corpus, build_paused_halfway, caplog
):
    caplog.set_level(logging.INFO)
    service = started(tmp_path, corpus)  # returns while the build is held: it did not wait for it
    try:
        eventually(lambda: bool(service.build_percent), "the build reports its first batch")
        assert service.readiness is IndexReadiness.BUILDING
        percent = service.build_percent
        assert percent is not None and 0 < percent < 100

        answer = service.ask(QUESTION, "U1", "slack")
        assert answer.outcome is Outcome.NOT_READY and not answer.answered and not answer.passages
        assert answer.message == f"I'm still reading the articles ({percent}%); ask again in a minute."
        assert any(
            f"still being read ({percent}%)" in r.getMessage() and "building" in r.getMessage() for r in caplog.records
        )
        readyz = health_for(quick_settings(tmp_path, corpus), service, Metrics()).readiness()
        assert not readyz.ready
        assert readyz.reasons == (f"index: building: the articles are being indexed ({percent}%)",)

        build_paused_halfway.set()
        eventually(lambda: service.readiness is IndexReadiness.READY, "the index is ready")
        answer = service.ask(QUESTION, "U1", "slack")
        assert answer.answered and any("A Flock spokesperson" in p.text for p in answer.passages)
    finally:
        service.close()


def test_when_no_article_loads_at_start_the_asker_is_told_and_a_fix_is_picked_up(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    folder = tmp_path / "articles"
    folder.mkdir()
    only = folder / "only.md"
    only.write_text("---\npublished: 13 Feb\n---\n\nRing dropped Flock in February.\n", encoding="utf-8")
    service = started(tmp_path, folder)
    try:
        eventually(lambda: service.readiness is IndexReadiness.FAILED, "the failed load is noticed")
        [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert "only.md, line 2" in error and "bad date" in error
        answer = service.ask("Why did Ring drop Flock?", "U1", "slack")
        assert answer.outcome is Outcome.NOT_READY and "can't read the articles right now" in answer.message

        only.write_text("---\npublished: 2026-02-13\n---\n\nRing dropped Flock in February.\n", encoding="utf-8")
        eventually(lambda: service.readiness is IndexReadiness.READY, "the fixed article is loaded")
        assert service.ask("Why did Ring drop Flock?", "U1", "slack").answered
        assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    finally:
        service.close()


def test_a_missing_folder_still_stops_the_start_at_once(tmp_path):
    with pytest.raises(CorpusError, match="no such folder"):
        started(tmp_path, tmp_path / "no-such-folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no article files"):
        started(tmp_path, tmp_path / "empty")


def test_a_bot_stopped_while_it_reads_the_articles_stops_the_build_and_starts_nothing_after(
    tmp_path, corpus, build_paused_halfway, caplog
):
    caplog.set_level(logging.INFO)
    service = started(tmp_path, corpus)
    eventually(lambda: bool(service.build_percent), "the build reports its first batch")
    closing = threading.Thread(target=service.close)
    closing.start()
    eventually(lambda: service._closing.is_set(), "close() has begun")
    build_paused_halfway.set()  # the build goes on to its next batch, and hears it must stop
    closing.join(DEADLINE_SECONDS)
    assert not closing.is_alive()

    assert not [t for t in threading.enumerate() if t.name == "qabot-first-load"]
    assert "stopped before the articles were read" in [r.getMessage() for r in caplog.records]
    assert service.readiness is IndexReadiness.BUILDING and service.core is None
    time.sleep(0.3)  # several reload periods: nothing watches the folder after close()
    assert service.watcher is not None and not service.watcher.watching
