"""The index is cached on disk; a changed corpus rebuilds it, a damaged cache never stops the bot."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.app import load_core
from index.analysis import Analyzer
from index.cache import index_folder, load_or_build
from tests.conftest import make_settings


def segments(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("index-*/seg-*") if p.is_dir())


@pytest.fixture
def corpus_dir(articles: Path) -> Path:
    return articles


def test_the_second_start_loads_the_index_from_the_cache(corpus_dir, tmp_path):
    first = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    second = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    assert not first.from_cache and second.from_cache
    assert second.index.texts == first.index.texts
    assert [p.name for p in (tmp_path / "cache").glob("index-*/manifest.json")] == ["manifest.json"]
    assert len(segments(tmp_path / "cache")) == 1


def test_articles_from_the_cache_have_the_metadata_and_labels_of_their_files(corpus_dir, tmp_path):
    (corpus_dir / "untitled.md").write_text(
        "---\npublished: 2026-02-20\n---\n\nA council member said on Friday that the cameras over the harbour "
        "would be switched off by June, after residents asked about the flights.\n",
        encoding="utf-8",
    )
    from corpus import load_corpus

    from_files = load_corpus(corpus_dir).articles
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    cached = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    assert cached.from_cache and len(cached.articles) == len(from_files) == 6

    def described(article):
        return (article.article_id, article.title, article.publisher, article.author, article.published, article.url,
                article.note, article.label)

    assert [described(a) for a in cached.articles] == [described(a) for a in from_files]
    assert cached.articles[-1].label == "A council member said on Friday that the…"


def test_a_changed_article_rebuilds_the_index_by_itself(corpus_dir, tmp_path):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    assert not load_core(settings).answer("what about the zeppelin?").answered
    article = next(corpus_dir.glob("bbc-*.md"))
    article.write_text(
        article.read_text(encoding="utf-8") + "\nRing also tested a zeppelin camera over Seattle.\n",
        encoding="utf-8",
    )
    answer = load_core(settings).answer("what about the zeppelin?")
    assert answer.answered and "zeppelin camera" in answer.passages[0].sentence
    # An edited article is a new small segment; the first build's stays, and so does the text.
    assert len(segments(tmp_path / "cache")) <= 2


@pytest.mark.parametrize("damage", [b"", b"garbage", b"\x93NUMPY\x01\x00truncated"])
@pytest.mark.parametrize("victim", ["text_blob.npy", "postings_chunk.npy", "articles.json", "manifest.json"])
def test_a_damaged_cache_is_rebuilt_with_a_warning(corpus_dir, tmp_path, caplog, damage, victim):
    built = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    folder = index_folder(tmp_path / "cache", corpus_dir)
    [damaged] = folder.glob(victim) if victim == "manifest.json" else folder.glob(f"seg-*/{victim}")
    damaged.write_bytes(damage)
    with caplog.at_level(logging.WARNING):
        again = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    assert not again.from_cache and again.index.texts == built.index.texts
    assert "unusable" in caplog.text
    assert load_or_build(corpus_dir, tmp_path / "cache", Analyzer()).from_cache  # repaired


def test_an_unwritable_cache_folder_still_answers_from_memory(corpus_dir, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING):
        core = load_core(make_settings(tmp_path, corpus_dir=corpus_dir, cache_dir=blocker))
    assert core.answer("Why did Ring drop Flock?").answered
    assert "could not write the index cache" in caplog.text


def test_an_unchanged_corpus_is_not_even_read_again(corpus_dir, tmp_path, monkeypatch):
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    import index.cache

    def must_not_read(folder):
        raise AssertionError("the article files were read although nothing changed")

    monkeypatch.setattr(index.cache, "read_article_file", must_not_read)
    assert load_or_build(corpus_dir, tmp_path / "cache", Analyzer()).from_cache


def test_a_load_right_after_an_article_was_added_trusts_the_index_yet_sees_a_same_size_rewrite(
    corpus_dir, tmp_path, monkeypatch
):
    """What `qabot add` then `qabot ask` do: the ask comes within the 2 s in which the new file's
    time cannot vouch for it, so its bytes are checked (and nothing else is read)."""
    import index.cache

    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    added = corpus_dir / "zz-added.md"
    added.write_text("---\ntitle: A new chime\n---\n\nRing sells a new chime for its doorbells this week.\n")
    assert load_or_build(corpus_dir, tmp_path / "cache", Analyzer()).analysed_articles == 1  # as qabot add's refresh
    read: list[str] = []
    real_read = index.cache.read_article_file
    monkeypatch.setattr(index.cache, "read_article_file", lambda stat: read.append(stat.name) or real_read(stat))
    monkeypatch.setattr(
        index.cache._Store, "read_files_table", lambda self, manifest: pytest.fail("the update path was taken")
    )
    again = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    assert again.from_cache and again.analysed_articles == 0 and read == ["zz-added.md"]

    # The same number of bytes, rewritten at once: its time may not have moved, its bytes have.
    monkeypatch.undo()
    before = added.stat()
    added.write_text(added.read_text().replace("chime", "bells"))
    os.utime(added, ns=(before.st_atime_ns, before.st_mtime_ns))
    rewritten = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    assert rewritten.analysed_articles == 1 and not rewritten.from_cache


def test_a_touched_file_is_checked_by_content_and_the_cache_still_used(corpus_dir, tmp_path):
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    article = next(corpus_dir.glob("*.md"))
    article.write_bytes(article.read_bytes())  # same bytes, new modification time
    assert load_or_build(corpus_dir, tmp_path / "cache", Analyzer()).from_cache


def test_a_file_changed_a_moment_ago_is_always_read(corpus_dir, tmp_path, monkeypatch):
    """File times move in ticks; a same-size rewrite inside one tick must not be missed."""
    article = next(corpus_dir.glob("*.md"))
    article.write_bytes(article.read_bytes())  # just now
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    import index.cache

    reads = []
    real = index.cache.read_article_file
    monkeypatch.setattr(index.cache, "read_article_file", lambda path: reads.append(path) or real(path))
    assert load_or_build(corpus_dir, tmp_path / "cache", Analyzer()).from_cache
    assert reads, "a file changed within the last seconds was trusted by its size and time"


def test_a_broken_article_is_left_out_and_still_named_when_the_index_comes_from_the_cache(corpus_dir, tmp_path):
    (corpus_dir / "draft.md").write_text("---\npublished: 13 Feb\n---\n\nA draft.\n", encoding="utf-8")
    built = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    cached = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    assert not built.from_cache and cached.from_cache
    for loaded in (built, cached):
        assert len(loaded.articles) == 5 and "draft" not in {a.article_id for a in loaded.articles}
        [error] = loaded.broken
        assert str(error) == f"{corpus_dir / 'draft.md'}, line 2: bad date '13 Feb' for 'published'; use YYYY-MM-DD or leave it empty"
    (corpus_dir / "draft.md").write_text("---\npublished: 2026-02-13\n---\n\nA draft.\n", encoding="utf-8")
    mended = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    assert not mended.from_cache and mended.broken == () and len(mended.articles) == 6


def named_files(manifest: dict) -> list[str]:
    """Every file a manifest names, as a reader opens them: each segment's files and the files table."""
    table = manifest["files_table"]["name"]
    return [table] + [f"{e['name']}/{f}" for e in manifest["segments"] for f in e["files"]]


def test_files_a_reader_may_still_be_opening_outlive_two_updates_and_dead_ones_go_after(corpus_dir, tmp_path):
    """A process reads the manifest, then opens the files it names: an update meanwhile must
    not take them away. What a manifest retires stays until the update after next begins;
    that one removes it (in the background, while it works)."""
    import json

    cache = tmp_path / "cache"
    load_or_build(corpus_dir, cache, Analyzer())
    folder = index_folder(cache, corpus_dir)
    (corpus_dir / "zz-a.md").write_text("---\ntitle: A\n---\n\nRing sold a zeppelin.\n", encoding="utf-8")
    load_or_build(corpus_dir, cache, Analyzer())
    read_by_a_reader = json.loads((folder / "manifest.json").read_text())  # names zz-a's segment
    for update in ("zz-b", "zz-c"):  # zz-a goes first: its segment is dead from then on
        (corpus_dir / "zz-a.md").unlink(missing_ok=True)
        (corpus_dir / f"{update}.md").write_text(f"---\ntitle: {update}\n---\n\nRing sold a {update}.\n", "utf-8")
        load_or_build(corpus_dir, cache, Analyzer())
        assert all((folder / name).exists() for name in named_files(read_by_a_reader)), update
    (corpus_dir / "zz-d.md").write_text("---\ntitle: D\n---\n\nRing sold a drone.\n", encoding="utf-8")
    load_or_build(corpus_dir, cache, Analyzer())
    current = json.loads((folder / "manifest.json").read_text())
    dead = {e["name"] for e in read_by_a_reader["segments"]} - {e["name"] for e in current["segments"]}
    assert dead and not any((folder / name).exists() for name in dead)  # zz-a's segment is gone


def test_a_segment_is_on_disk_before_it_is_put_in_place(corpus_dir, tmp_path, monkeypatch):
    """Every file of a new segment is synced before its folder is renamed into place (the
    syncs run side by side), so a crash cannot leave a segment named but half on disk."""
    import os

    synced: list[str] = []
    renamed: list[tuple[str, list[str]]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    def rename(source, target) -> None:
        renamed.append((str(target), sorted(str(p) for p in Path(source).iterdir()) if Path(source).is_dir() else []))
        real_rename(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
    [(target, files)] = [(t, f) for t, f in renamed if Path(t).name.startswith("seg-")]
    assert len(files) > 20 and set(files) <= set(synced)


def test_the_cycle_collector_rests_while_an_index_loads_but_runs_while_one_is_built(corpus_dir, tmp_path, monkeypatch):
    """A load allocates in bulk and makes no cycles, so the collector is paused for it; a build
    can take minutes while a bot's other threads answer, so it runs then; and it is on again after."""
    import gc

    import index.cache
    from index.sentence_index import SentenceIndex

    seen: dict[str, bool] = {}
    real_build, real_open = SentenceIndex.build.__func__, index.cache._Store.open_segments

    def build(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen["building"] = gc.isenabled()
        return real_build(cls, *args, **kwargs)

    def open_segments(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen["opening"] = gc.isenabled()
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(SentenceIndex, "build", classmethod(build))
    monkeypatch.setattr(index.cache._Store, "open_segments", open_segments)
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())  # built
    assert seen == {"building": True} and gc.isenabled()
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer())  # from the cache
    assert seen == {"building": True, "opening": False} and gc.isenabled()
