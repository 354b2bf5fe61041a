"""An article the running bot answers from is corrupted on disk, or changes while a reload
reads it: the bot goes on answering from all the other articles, says once what is wrong
(file, line, problem), never touches the broken file, and takes the article up again when
it is whole."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

import bot.service.reload
from bot.app import build_service
from bot.service.questions import QuestionService
from bot.stores.ratelimit import RateLimit
from tests.conftest import make_settings
from tests.support.waiting import eventually

QUESTION = "What did the Flock spokesperson tell the BBC?"
BBC_WORDS = "A Flock spokesperson said in an email to the BBC"


@pytest.fixture
def service(articles: Path, tmp_path: Path) -> Iterator[QuestionService]:
    running = build_service(
        make_settings(tmp_path, corpus_dir=articles, reload_seconds=0.05, question_log=False, rate_limit=RateLimit(0, 1))
    )
    yield running
    running.close()


def quotes_the_bbc(service: QuestionService) -> bool:
    answer = service.ask(QUESTION, "reader")
    return answer.answered and any(BBC_WORDS in p.text for p in answer.passages)




def replace_whole(path: Path, raw: bytes) -> None:
    """Write `path` as a careful writer does (`qabot add`, most editors): beside it, then renamed
    into place, so no look at the folder can see it half-written. (Writing in place is covered in
    test_live_reload: the watcher waits for a change to settle.)"""
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(raw)
    os.replace(temporary, path)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bot.service.reload" and r.levelno >= logging.ERROR]


CORRUPTIONS: dict[str, Callable[[bytes], bytes]] = {
    "bytes that are not UTF-8": lambda raw: b"\xff\xfe" + raw[2:],
    "cut off in its header": lambda raw: raw[:30],
    "cut inside a character": lambda raw: raw[: raw.index("’".encode()) + 1] if "’".encode() in raw else raw[:40] + b"\xe2",
    "emptied": lambda raw: b"",
    "binary garbage": lambda raw: bytes(range(256)) * 8,
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupted_article_is_left_out_with_one_error_until_it_is_whole_again(
    service: QuestionService, articles: Path, caplog: pytest.LogCaptureFixture, corruption: str
):
    caplog.set_level(logging.INFO, logger="bot.service.reload")
    assert quotes_the_bbc(service)  # asking starts the watching
    bbc = next(articles.glob("bbc-*.md"))
    whole = bbc.read_bytes()
    broken = CORRUPTIONS[corruption](whole)
    replace_whole(bbc, broken)

    eventually(lambda: bool(errors(caplog)), "the broken article is reported")
    time.sleep(0.3)  # several more looks at the folder
    [error] = errors(caplog)
    assert bbc.name in error and "answering from the others" in error
    assert service.ask("Why did Ring drop Flock?", "reader").answered, "the other articles still answer"
    assert not quotes_the_bbc(service), "what answers is what is on disk: the broken article is left out"
    assert bbc.read_bytes() == broken, "the broken file is never rewritten"

    replace_whole(bbc, whole)
    eventually(lambda: quotes_the_bbc(service), "the mended article answers again")
    assert any("no longer broken" in r.getMessage() for r in caplog.records)
    assert len(errors(caplog)) == 1


def test_an_article_that_changes_while_a_reload_reads_it_leaves_the_others_answering(
    service: QuestionService, articles: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    caplog.set_level(logging.INFO, logger="bot.service.reload")
    assert quotes_the_bbc(service)
    bbc = next(articles.glob("bbc-*.md"))
    whole = bbc.read_bytes()
    real_fingerprint = bot.service.reload.corpus_fingerprint
    raced = []

    def fingerprint_then_a_writer_breaks_the_file(folder: Path, digests=None, listing=None) -> str:
        fingerprint = real_fingerprint(folder, digests, listing)
        # During the reload the new note causes: between reading the files and the build reading them again.
        if not raced and (articles / "zz-new.md").exists():
            raced.append(True)
            bbc.write_bytes(whole[:30])  # half-written: the header not closed yet
        return fingerprint

    monkeypatch.setattr(bot.service.reload, "corpus_fingerprint", fingerprint_then_a_writer_breaks_the_file)
    (articles / "zz-new.md").write_text("---\ntitle: A new note\n---\n\nRing sells a new chime.\n", encoding="utf-8")

    eventually(lambda: bool(errors(caplog)), "the half-written article is reported")
    assert raced
    assert bbc.name in errors(caplog)[0]
    assert service.ask("Why did Ring drop Flock?", "reader").answered, "the other articles still answer"

    bbc.write_bytes(whole)  # the writer finishes: the next look loads everything, the new note too
    eventually(lambda: quotes_the_bbc(service), "the whole article answers again")
    assert any("new chime" in p.text for p in service.ask("What does Ring sell now, a chime?", "reader").passages)
