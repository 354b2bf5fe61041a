"""A large corpus is built on disk as it is read (`index.merging`), in bounded memory: the
segment it writes is, file for file, the one a build in memory writes for the same articles,
and the cache serves and updates it like any other."""

from __future__ import annotations

import os
import time
from pathlib import Path

import blingfire
import numpy as np
import pytest

import index.cache as cache
from corpus import render_article
from corpus.loader import list_article_files, load_corpus
from corpus.store import text_key
from index.analysis import Analyzer
from index.chunking import SentenceSplitter
from index.merging import Source, build_segment
from index.segments import write_segment
from index.sentence_index import SentenceIndex
from tests.support.synthetic import articles as synthetic_articles

ODD = """---
title: Odd text, to be split and analysed as anywhere else
publisher: Example Tribune
published: 2026-02-20
---

The Federal Trade Commission (FTC) said on Friday that 40% of the \u201cdrones\u201d cost $1,200.50 each.

Na\u00efve caf\u00e9 owners in Z\u00fcrich, a city known as \u201cthe bank\u201d, said the U.S. Navy\u2019s ships \u2014 the fleet \u2014 came in 2019 due to the storm.

\u65e5\u672c\u8a9e\u306e\u6587\u3002 \uff11\uff12\uff13 full-width digits\u200b and a zero\u2011width space. Customs and Border Protection (CBP), the agency, was called Border in 1999.
"""


@pytest.fixture
def corpus_dir(articles: Path) -> Path:
    """The bundled articles, 200 synthetic ones (about 4,000 sentences), one of odd text and
    one broken file (a bad date)."""
    for article in synthetic_articles(4000, seed=3):
        (articles / f"{article.article_id}.md").write_text(render_article(article), encoding="utf-8")
    (articles / "odd-text.md").write_text(ODD, encoding="utf-8")
    (articles / "broken.md").write_text(ODD.replace("2026-02-20", "the 31st of June"), encoding="utf-8")
    an_hour_ago = time.time() - 3600  # files as a newsroom's folder has them, not all written this second
    for path in articles.iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    return articles


def test_a_build_on_disk_writes_the_segment_a_build_in_memory_writes(corpus_dir: Path, tmp_path: Path) -> None:
    analyzer = Analyzer()
    articles = load_corpus(corpus_dir).articles
    in_memory = write_segment(
        tmp_path, "seg-memory", SentenceIndex.build(articles, analyzer), articles, [text_key(a) for a in articles]
    )
    # Small runs and merge steps, so that the build writes many runs and merges many term ranges.
    built = build_segment(
        [Source(stat) for stat in list_article_files(corpus_dir)], tmp_path, "seg-disk", analyzer,
        workers=2, run_postings=3_000, merge_postings=2_000,
    )
    assert built.segment_files == in_memory  # every file: same size, same checksum
    assert list(built.broken) == ["broken.md"]
    assert built.broken["broken.md"][4].startswith("bad date")
    assert [a.article_id for a in built.articles] == [a.article_id for a in articles]
    assert built.sentences == sum(np.load(tmp_path / "seg-disk" / "article.npy").shape)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary runs left behind"


def test_a_build_with_nothing_that_loads_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "broken.md").write_text(ODD.replace("2026-02-20", "someday"), encoding="utf-8")
    built = build_segment([Source(s) for s in list_article_files(folder)], tmp_path, "seg-none", Analyzer())
    assert built.segment_files is None and list(built.broken) == ["broken.md"]
    assert not (tmp_path / "seg-none").exists()


def test_the_cache_builds_many_new_articles_on_disk_and_keeps_them_up_to_date(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzer = Analyzer()
    monkeypatch.setattr(cache, "STREAMING_FROM_ARTICLES", 10**9)
    in_memory = cache.load_or_build(corpus_dir, tmp_path / "memory", analyzer)
    monkeypatch.setattr(cache, "STREAMING_FROM_ARTICLES", 1)
    on_disk = cache.load_or_build(corpus_dir, tmp_path / "disk", analyzer)
    assert [str(b) for b in on_disk.broken] == [str(b) for b in in_memory.broken]
    assert "broken.md" in str(on_disk.broken[0])
    assert on_disk.analysed_articles == in_memory.analysed_articles == len(in_memory.articles)
    for name in ("postings_chunk", "postings_gain", "terms", "flags"):
        assert np.array_equal(np.load(on_disk.location / _segment(on_disk) / f"{name}.npy"),  # type: ignore[operator]
                              np.load(in_memory.location / _segment(in_memory) / f"{name}.npy"))  # type: ignore[operator]
    question = on_disk.index.analyzer.analyze("what did the Federal Trade Commission say about drones")
    assert on_disk.index.bm25.top_n(question, 5) == in_memory.index.bm25.top_n(question, 5)

    again = cache.load_or_build(corpus_dir, tmp_path / "disk", analyzer)
    assert again.from_cache and again.index.size == in_memory.index.size

    # One article added and the broken one fixed: an update of two articles, not a rebuild.
    (corpus_dir / "added.md").write_text(ODD.replace("Odd text", "Added text"), encoding="utf-8")
    (corpus_dir / "broken.md").write_text(ODD, encoding="utf-8")
    updated = cache.load_or_build(corpus_dir, tmp_path / "disk", analyzer)
    assert updated.analysed_articles == 2 and not updated.broken
    assert updated.index.size == in_memory.index.size + 2 * sum(1 for c in _odd_sentences())


def test_the_splitter_that_keeps_its_buffer_splits_as_blingfire_does() -> None:
    splitter = SentenceSplitter()
    texts = [
        "word " * 30_000,  # larger than the first buffer: it grows
        "A. B.",  # then short ones, after long: nothing of the older text may show
        "Sen. Ed Markey (D-Mass.) said \u201cno.\u201d Then he left.",
        "x\0y. Zed said so.",
        "\u65e5\u672c\u8a9e\u306e\u6587\u3002\u6b21\u306e\u6587\u3002",
        " ",
        "One sentence without a full stop",
    ]
    for text in texts:
        assert splitter.marked(text) == blingfire.text_to_sentences(text)


def _segment(loaded: cache.LoadedIndex) -> str:
    manifest = cache.load_json(loaded.location, "manifest.json")  # type: ignore[arg-type]
    (entry,) = manifest["segments"]
    return entry["name"]


def _odd_sentences() -> list[str]:
    from corpus import parse_article
    from index.chunking import chunk_articles

    return [c.text for c in chunk_articles([parse_article("odd.md", ODD.encode(), "odd")])]


def test_many_new_articles_and_an_unwritable_cache_folder_are_built_in_memory(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cache, "STREAMING_FROM_ARTICLES", 1)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level("WARNING"):
        loaded = cache.load_or_build(corpus_dir, blocker, Analyzer())
    assert "building it in memory" in caplog.text
    assert loaded.location is None and not loaded.from_cache
    assert "broken.md" in str(loaded.broken[0]) and len(loaded.articles) == len(load_corpus(corpus_dir).articles)
    question = loaded.index.analyzer.analyze("what did the Federal Trade Commission say about drones")
    assert loaded.index.bm25.top_n(question, 1)
