"""A running bot picks up article changes without a restart, and survives a broken file."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest

from bot.app import build_service
from bot.service.questions import QuestionService
from bot.service.reload import CorpusWatcher
from bot.stores.ratelimit import RateLimit
from corpus.ingest import add_article
from tests.conftest import make_settings
from tests.support.local_site import article_html
from tests.support.waiting import eventually
from tests.support.listings import count_listings

NO_LIMIT = RateLimit(0, 1)
"""The tests ask again and again until a change shows; the per-user limit would step in."""
NEW_QUESTION = "How many more cities will get Flock's drones?"


@pytest.fixture
def service(articles: Path, tmp_path: Path):
    running = build_service(
        make_settings(tmp_path, corpus_dir=articles, reload_seconds=0.05, question_log=False, rate_limit=NO_LIMIT)
    )
    yield running
    running.close()




def quotes_new_article(service: QuestionService) -> bool:
    answer = service.ask(NEW_QUESTION, "admin")
    return any("forty more cities" in p.text for p in answer.passages)


def add_drone_article(articles: Path, tmp_path: Path) -> None:
    page = tmp_path / "drones.html"
    page.write_bytes(article_html())
    add_article(str(page), articles)


def test_a_running_bot_answers_from_an_article_added_after_it_started(service, articles, tmp_path):
    assert not quotes_new_article(service)
    add_drone_article(articles, tmp_path)
    eventually(lambda: quotes_new_article(service), "the new article is quoted")


def test_a_removed_article_is_no_longer_quoted(service, articles):
    question = "how much did amazon pay for ring?"
    assert any("aicnbc" in p.source.article_id for p in service.ask(question, "admin").passages)
    (articles / "aicnbc-ring-dissolves-flock-partnership.md").unlink()

    def gone() -> bool:
        answer = service.ask(question, "admin")
        sources = [p.source.article_id for p in answer.passages]
        sources += [s.article_id for p in answer.passages for s in p.also_reported_by]
        return not any("aicnbc" in s for s in sources)

    eventually(gone, "the removed article is gone from answers")


def test_a_broken_file_leaves_the_old_articles_answering_and_is_logged_once(service, articles, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.service.reload")
    assert service.ask("Why did Ring drop Flock?", "admin").answered  # running, and watching since asked
    (articles / "half-written.md").write_text("---\ntitle: Unfinished\npublished: next week\n---\n\nText.\n")

    eventually(lambda: any(r.levelno == logging.ERROR for r in caplog.records), "the error is logged")
    time.sleep(0.5)  # ten more checks of the folder
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "half-written.md, line 3" in errors[0] and "bad date" in errors[0]
    answer = service.ask("Why did Ring drop Flock?", "admin")
    assert answer.answered and answer.passages

    # Fixing the file (and adding an article meanwhile) brings the bot up to date.
    (articles / "half-written.md").write_text("---\ntitle: Finished\n---\n\nA finished note about doorbells.\n")
    add_drone_article(articles, tmp_path)
    eventually(lambda: quotes_new_article(service), "the fixed corpus is loaded")
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1


def test_sighup_reloads_at_once_when_periodic_checks_are_off(articles, tmp_path):
    if not hasattr(signal, "SIGHUP"):
        pytest.skip("no SIGHUP on this platform")
    previous = signal.getsignal(signal.SIGHUP)
    service = build_service(
        make_settings(tmp_path, corpus_dir=articles, reload_seconds=0, question_log=False, rate_limit=NO_LIMIT)
    )
    try:
        service.watch_corpus()
        add_drone_article(articles, tmp_path)
        time.sleep(0.3)
        assert not quotes_new_article(service), "with checks off, nothing changes until the signal"
        os.kill(os.getpid(), signal.SIGHUP)
        eventually(lambda: quotes_new_article(service), "the signal reloads the articles")
    finally:
        service.close()
    assert signal.getsignal(signal.SIGHUP) == previous  # closing puts the old handler back


def test_only_real_changes_rebuild_and_a_touched_file_is_not_one(articles):
    builds: list[int] = []

    def build(listing=None) -> int:
        builds.append(1)
        return len(builds)

    watcher: CorpusWatcher[int] = CorpusWatcher(articles, build, interval_seconds=0)
    assert watcher.load() == 1
    assert watcher.check() is None  # nothing changed (the first look takes the loaded fingerprint)
    assert watcher.check() is None
    some_file = next(articles.glob("*.md"))
    os.utime(some_file, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert watcher.check() is None and watcher.settling  # a change: wait one look for it to settle
    assert watcher.check() is None and len(builds) == 1  # same bytes, same fingerprint
    some_file.write_text(some_file.read_text() + "\nOne more paragraph.\n")
    assert watcher.check() is None and watcher.settling
    assert watcher.check() == 2


def test_a_file_seen_while_it_is_being_written_is_read_only_once_it_is_whole(articles, caplog):
    """An editor or a script that rewrites a file in place empties it first: a look at
    that moment must not report the article as broken, nor build without it."""
    caplog.set_level(logging.INFO, logger="bot.service.reload")
    built_from: list[list[str]] = []

    def build(listing=None) -> int:
        built_from.append(sorted(p.read_text(encoding="utf-8")[:3] for p in articles.glob("*.md")))
        return len(built_from)

    watcher: CorpusWatcher[int] = CorpusWatcher(articles, build, interval_seconds=0)
    watcher.load()
    some_file = next(articles.glob("*.md"))
    whole = some_file.read_bytes()
    with some_file.open("wb") as half_written:  # truncated, nothing written yet
        assert watcher.check() is None and watcher.settling
        half_written.write(whole + b"\nOne more paragraph.\n")
    assert watcher.check() is None and watcher.settling  # changed again since the last look: not settled
    assert watcher.check() == 2
    assert all(start == "---" for start in built_from[-1])  # never built from the emptied file
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_questions_are_answered_while_a_slow_reload_is_under_way(articles):
    started = time.monotonic()

    def slow_build(listing=None) -> str:
        time.sleep(0.5)
        return f"core built at {time.monotonic() - started:.1f}"

    watcher: CorpusWatcher[str] = CorpusWatcher(articles, slow_build, interval_seconds=0.05)
    current = [watcher.load()]
    watcher.start(lambda core: current.__setitem__(0, core))
    try:
        first = current[0]
        (articles / "new.md").write_text("---\ntitle: New\n---\n\nNew text.\n")
        time.sleep(0.2)
        assert current[0] == first  # still the old core: swapping happens only when the new one is whole
        eventually(lambda: current[0] != first, "the new core is swapped in")
    finally:
        watcher.stop()


def test_a_reload_lists_the_folder_once_and_answers_from_the_added_article(articles, tmp_path, monkeypatch):
    """At 20,000 articles each listing of the folder costs 0.15-0.3 s of the reload: the look,
    the fingerprint and the index's own check all go by the one listing (four before)."""
    from bot.app import load_core

    settings = make_settings(tmp_path, corpus_dir=articles)
    watcher = CorpusWatcher(articles, lambda listing: load_core(settings, listing=listing), interval_seconds=0)
    watcher.load()
    (articles / "zeppelin.md").write_text(
        "---\ntitle: Zeppelin cameras over Seattle\npublisher: Example Tribune\n---\n\n"
        "Ring said on Tuesday that it tested a zeppelin camera over Seattle during the summer.\n",
        encoding="utf-8",
    )
    assert watcher.check() is None and watcher.settling
    listings = count_listings(monkeypatch, articles)
    core = watcher.check()
    assert core is not None
    assert len(listings) == 1
    monkeypatch.undo()
    assert "zeppelin camera" in core.answer("what did ring test over seattle?").passages[0].text
    assert watcher.check() is None  # the change is the loaded one now


def test_the_first_reload_after_a_start_reads_only_the_changed_file(articles, tmp_path, monkeypatch):
    """The watcher fingerprints the folder by each file's SHA-256; it starts from the index's
    record of them instead of reading every file once (at 20,000 articles that first reading
    took 3 s of the first reload after each start)."""
    settings = make_settings(tmp_path, corpus_dir=articles, reload_seconds=0, question_log=False)
    running = build_service(settings)
    try:
        watcher = running.watcher
        assert watcher is not None
        new = articles / "zz-zeppelin.md"
        new.write_text(
            "---\ntitle: Zeppelin cameras\n---\n\nRing tested a zeppelin camera over Seattle.\n", encoding="utf-8"
        )
        assert watcher.check() is None and watcher.settling
        read: list[str] = []
        real_read_bytes = Path.read_bytes

        def counted(path: Path) -> bytes:
            if path.parent == articles:
                read.append(path.name)
            return real_read_bytes(path)

        monkeypatch.setattr(Path, "read_bytes", counted)
        core = watcher.check()
        monkeypatch.undo()
        assert core is not None
        assert set(read) == {"zz-zeppelin.md"}  # the fingerprint's look at it, and the index's
        assert "zeppelin camera" in core.answer("what did ring test over seattle?").passages[0].text
    finally:
        running.close()


def test_an_article_qabot_add_wrote_and_indexed_is_answered_at_the_first_look(articles, tmp_path):
    """`qabot add` writes the file whole and brings the index up to date with it: a running bot
    that finds the folder exactly as indexed reloads at once, without waiting for a second look
    (half a second, and one more listing of the folder)."""
    from bot.cli.articles import _update_index

    settings = make_settings(tmp_path, corpus_dir=articles, reload_seconds=0, question_log=False)
    running = build_service(settings)
    try:
        watcher = running.watcher
        assert watcher is not None
        source = tmp_path / "zeppelin.md"
        source.write_text(
            "# Zeppelin cameras over Seattle\n\nRing said on Tuesday that it tested a zeppelin camera over "
            "Seattle during the summer. The airship flew for three weeks and filmed the harbour, the company "
            "said in a statement, and residents asked the council about the flights.\n",
            encoding="utf-8",
        )
        added = add_article(str(source), articles)
        _update_index(settings, [added.path])  # as `qabot add` does after writing the file

        core = watcher.check()
        assert core is not None and not watcher.settling
        assert "zeppelin camera" in core.answer("what did ring test over seattle?").passages[0].text
        # A file written by anything else (not indexed yet) still waits for the next look.
        (articles / "zz-other.md").write_text("---\ntitle: Other\n---\n\nRing sold a blimp.\n", encoding="utf-8")
        assert watcher.check() is None and watcher.settling
        assert watcher.check() is not None
    finally:
        running.close()
