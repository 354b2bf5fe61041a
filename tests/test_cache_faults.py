"""The index cache on disk goes wrong in the ways disks do: cut short, full, in the way.
The bot answers from memory all the same (tests/test_cache.py covers garbage and a folder
that cannot be created; these are the real-file cases)."""

from __future__ import annotations

import errno
import logging
import shutil
from pathlib import Path

import pytest

import index.cache
from bot.app import load_core
from corpus import BUNDLED_DIR
from index.analysis import Analyzer
from index.cache import MAGIC, load_or_build
from tests.conftest import make_settings

QUESTION = "Why did Ring drop Flock?"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(BUNDLED_DIR, folder)
    return folder


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("index-*.pickle"))


@pytest.mark.parametrize("keep", ["magic only", "half", "all but the last byte"])
def test_a_cache_file_cut_short_is_rebuilt_and_the_answers_are_the_same(corpus_dir, tmp_path, caplog, keep):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    before = load_core(settings).answer(QUESTION)
    [cached] = cache_files(settings.cache_dir)
    whole = cached.read_bytes()
    cut = {"magic only": len(MAGIC), "half": len(whole) // 2, "all but the last byte": len(whole) - 1}[keep]
    cached.write_bytes(whole[:cut])  # as a crash or a full disk would leave it, were it written in place

    with caplog.at_level(logging.WARNING, logger="index.cache"):
        again = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert not again.from_cache, "a cut file is never trusted"
    assert any("unusable" in r.getMessage() for r in caplog.records)
    after = load_core(settings).answer(QUESTION)
    assert [p.text for p in after.passages] == [p.text for p in before.passages]
    assert cached.read_bytes() == whole, "the rebuilt cache was written whole again"


def test_a_disk_that_fills_up_while_the_cache_is_written_leaves_no_half_file(corpus_dir, tmp_path, caplog, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(index.cache.pickle, "dump", disk_full)
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        core = load_core(settings)
    assert core.answer(QUESTION).answered, "answers come from memory"
    assert "No space left on device" in caplog.text and "answering from memory" in caplog.text
    assert list(settings.cache_dir.iterdir()) == [], "no temporary or partial file is left behind"

    monkeypatch.undo()  # space again: the next start writes it
    load_core(settings)
    assert load_or_build(corpus_dir, settings.cache_dir, Analyzer()).from_cache


def test_a_folder_where_the_cache_file_should_be_costs_a_rebuild_not_an_answer(corpus_dir, tmp_path, caplog):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_core(settings)
    [cached] = cache_files(settings.cache_dir)
    cached.unlink()
    cached.mkdir()  # something else took the name
    (cached / "keep").write_text("not ours")
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        core = load_core(settings)
    assert core.answer(QUESTION).answered
    assert "answering from memory" in caplog.text
    assert (cached / "keep").read_text() == "not ours", "what is not ours is left alone"


def test_a_garbled_manifest_only_costs_the_fast_start(corpus_dir, tmp_path):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_core(settings)
    [manifest] = settings.cache_dir.glob("index-*.manifest")
    manifest.write_bytes(b"\xff\xfe not a manifest \x00")
    loaded = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert loaded.from_cache, "the files are read and fingerprinted, and the cache still matches"
