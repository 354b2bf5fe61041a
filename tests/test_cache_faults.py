"""The index cache on disk goes wrong in the ways disks do: cut short, full, in the way.
The bot answers from memory all the same (tests/test_cache.py covers garbage and a folder
that cannot be created; these are the real-file cases)."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

import index.store_files
from bot.app import load_core
from index.analysis import Analyzer
from index.cache import index_folder, load_or_build
from tests.conftest import make_settings

QUESTION = "Why did Ring drop Flock?"


@pytest.fixture
def corpus_dir(articles: Path) -> Path:
    return articles


def cache_files(cache: Path) -> list[Path]:
    """Every file of the cached index, the manifest first."""
    return sorted(cache.glob("index-*/manifest.json")) + sorted(cache.glob("index-*/seg-*/*"))


def stored_files(cache: Path) -> list[Path]:
    """Everything in the cache but the updaters' lock file."""
    return sorted(p for p in cache.rglob("*") if p.is_file() and p.name != "lock")


@pytest.mark.parametrize("keep", ["header only", "half", "all but the last byte"])
@pytest.mark.parametrize("victim", ["manifest.json", "text_blob.npy", "postings_gain.npy", "around.npy", "meta.json"])
def test_a_cache_file_cut_short_is_rebuilt_and_the_answers_are_the_same(corpus_dir, tmp_path, caplog, keep, victim):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    before = load_core(settings).answer(QUESTION)
    [cached] = [p for p in cache_files(settings.cache_dir) if p.name == victim]
    whole = cached.read_bytes()
    cut = {"header only": min(len(whole) - 1, 128), "half": len(whole) // 2, "all but the last byte": len(whole) - 1}[keep]
    cached.write_bytes(whole[:cut])  # as a crash or a full disk would leave it, were it written in place

    with caplog.at_level(logging.WARNING, logger="index.cache"):
        again = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert not again.from_cache, "a cut file is never trusted"
    assert any("unusable" in r.getMessage() for r in caplog.records)
    after = load_core(settings).answer(QUESTION)
    assert [p.text for p in after.passages] == [p.text for p in before.passages]
    assert load_or_build(corpus_dir, settings.cache_dir, Analyzer()).from_cache, "the rebuilt cache was written whole"


@pytest.mark.parametrize("victim", ["postings_chunk.npy", "flags.npy", "vocabulary.json"])
def test_one_flipped_bit_is_caught_by_the_checksum(corpus_dir, tmp_path, caplog, victim):
    """A file of the right size whose bytes changed (bit rot, a stray write) is not trusted either."""
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    before = load_core(settings).answer(QUESTION)
    [cached] = [p for p in cache_files(settings.cache_dir) if p.name == victim]
    data = bytearray(cached.read_bytes())
    data[len(data) - 3] ^= 0x01
    cached.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        again = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert not again.from_cache
    assert "checksum does not match" in caplog.text
    after = load_core(settings).answer(QUESTION)
    assert [p.text for p in after.passages] == [p.text for p in before.passages]


def test_a_file_hashed_once_is_trusted_by_its_identity_but_a_rewrite_is_caught_even_with_its_old_times(
    corpus_dir, tmp_path, caplog, monkeypatch
):
    """Each cache file is hashed in full once, then known by its inode, size and times; writing
    to it changes its change time (which no program can set back), so it is hashed again."""
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_or_build(corpus_dir, settings.cache_dir, Analyzer())  # built
    load_or_build(corpus_dir, settings.cache_dir, Analyzer())  # loaded: every file hashed, and remembered
    hashed: list[str] = []
    real_checksum = index.store_files.checksum
    monkeypatch.setattr(index.store_files, "checksum", lambda path: hashed.append(path.name) or real_checksum(path))
    assert load_or_build(corpus_dir, settings.cache_dir, Analyzer()).from_cache
    assert hashed == [], "files already hashed, unchanged since, are not hashed again"

    [victim] = [p for p in cache_files(settings.cache_dir) if p.name == "postings_chunk.npy"]
    before = victim.stat()
    data = bytearray(victim.read_bytes())
    data[len(data) - 3] ^= 0x01
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))  # as if its times had never moved
    assert victim.stat().st_size == before.st_size and victim.stat().st_mtime_ns == before.st_mtime_ns
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        again = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert not again.from_cache and "postings_chunk.npy" in hashed
    assert "checksum does not match" in caplog.text


def test_an_array_that_would_need_pickle_is_refused_not_loaded(corpus_dir, tmp_path, caplog):
    """An object array in place of a numeric one (what a hostile cache would use to run code):
    numpy refuses it, even with a checksum that matches, and the index is rebuilt."""
    import json

    import numpy as np

    from index.store_files import describe

    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_core(settings)
    folder = index_folder(settings.cache_dir, corpus_dir)
    [segment] = folder.glob("seg-*")
    np.save(segment / "flags.npy", np.array([{"not": "numbers"}], dtype=object), allow_pickle=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["segments"][0]["files"]["flags.npy"] = describe(segment / "flags.npy")  # a "matching" checksum
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        core = load_core(settings)
    assert core.answer(QUESTION).answered
    assert "unusable" in caplog.text


def test_no_pickle_is_written_anywhere_in_the_cache(corpus_dir, tmp_path):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_core(settings)
    for path in stored_files(settings.cache_dir):
        data = path.read_bytes()
        assert path.suffix in (".npy", ".json"), path
        if path.suffix == ".npy":
            assert b"'descr': '|O'" not in data[:200] and b"'descr': 'O'" not in data[:200], path
        assert not data.startswith(b"\x80"), f"{path} looks like a pickle"


def test_a_disk_that_fills_up_while_the_cache_is_written_leaves_no_half_file(corpus_dir, tmp_path, caplog, monkeypatch):
    written = []

    def disk_full_after_two(folder, name, array):
        if len(written) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(name)
        real_save(folder, name, array)

    real_save = index.store_files.save_array
    monkeypatch.setattr("index.segments.save_array", disk_full_after_two)
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        core = load_core(settings)
    assert core.answer(QUESTION).answered, "answers come from memory"
    assert "No space left on device" in caplog.text and "answering from memory" in caplog.text
    assert stored_files(settings.cache_dir) == [], "no temporary or partial file is left behind"

    monkeypatch.undo()  # space again: the next start writes it
    load_core(settings)
    assert load_or_build(corpus_dir, settings.cache_dir, Analyzer()).from_cache


def test_a_folder_where_the_cache_file_should_be_costs_a_rebuild_not_an_answer(corpus_dir, tmp_path, caplog):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_core(settings)
    cached = index_folder(settings.cache_dir, corpus_dir) / "manifest.json"
    cached.unlink()
    cached.mkdir()  # something else took the name
    (cached / "keep").write_text("not ours")
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        core = load_core(settings)
    assert core.answer(QUESTION).answered
    assert "answering from memory" in caplog.text
    assert (cached / "keep").read_text() == "not ours", "what is not ours is left alone"


def test_a_garbled_manifest_costs_a_rebuild_not_an_answer(corpus_dir, tmp_path, caplog):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_core(settings)
    manifest = index_folder(settings.cache_dir, corpus_dir) / "manifest.json"
    manifest.write_bytes(b"\xff\xfe not a manifest \x00")
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        loaded = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert not loaded.from_cache and "unusable" in caplog.text
    assert load_core(settings).answer(QUESTION).answered


def test_a_damaged_segment_costs_only_its_own_articles(corpus_dir, tmp_path, caplog):
    """An added article is a segment of its own; damage to it re-analyses that one article."""
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    (corpus_dir / "zz-added.md").write_text(
        "---\ntitle: Drones\n---\n\nFlock Safety sells drones to police in Texas.\n", encoding="utf-8"
    )
    added = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert added.analysed_articles == 1 and added.segments == 2
    newest = max(index_folder(settings.cache_dir, corpus_dir).glob("seg-*"))
    (newest / "text_blob.npy").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="index.cache"):
        again = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert again.analysed_articles == 1, "only the damaged segment's article is analysed again"
    assert again.index.texts == added.index.texts
