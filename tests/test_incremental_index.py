"""Adding, editing and removing articles updates the index piece by piece, and the answers are
exactly those of an index rebuilt from scratch over the same articles."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

from bot.answering.core import AnsweringCore
from bot.app import core_over
from corpus import render_article
from index.analysis import Analyzer
from index.cache import load_or_build, merge, read_metadata
from index.segmented import SegmentedIndex
from tests.support.synthetic import articles as synthetic_articles
from tests.support.synthetic import questions
from tests.conftest import make_settings

ADDED = """---
title: Flock Safety expands its drone program
publisher: Example Tribune
published: 2026-02-20
---

Flock Safety said on Friday that its drones will fly from 40 police stations in Texas by June.

The company did not say what each drone costs. Critics said the drones could watch whole neighbourhoods.
"""


@pytest.fixture
def corpus_dir(articles: Path) -> Path:
    """The bundled articles and 150 synthetic ones (about 3,000 sentences)."""
    folder = articles
    for article in synthetic_articles(3000, seed=11):
        (folder / f"{article.article_id}.md").write_text(render_article(article), encoding="utf-8")
    an_hour_ago = time.time() - 3600  # files as a newsroom's folder has them, not all written this second
    for path in folder.iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    return folder


def answers(core: AnsweringCore, asked: list[str]) -> list[list[tuple[str, float]]]:
    return [[(p.sentence, p.score) for p in core.answer(q).passages] for q in asked]


def same_ranking(got: list[tuple[str, float]], expected: list[tuple[str, float]]) -> bool:
    """Same passages in the same order, scores equal up to float rounding; two passages of
    exactly equal score may come in either order (sentences are numbered segment by segment)."""
    if len(got) != len(expected):
        return False
    for (_text, score), (_want_text, want_score) in zip(got, expected):
        if not math.isclose(score, want_score, rel_tol=1e-6):
            return False
    ties = lambda ranking: sorted((round(s, 5), t) for t, s in ranking)  # noqa: E731
    return ties(got) == ties(expected) and all(
        t == w or math.isclose(s, ws, rel_tol=1e-6) for (t, s), (w, ws) in zip(got, expected)
    )


def test_an_incrementally_updated_index_answers_exactly_like_a_full_rebuild(corpus_dir, tmp_path):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    first = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert first.segments == 1 and first.analysed_articles == len(first.articles)

    # A day in a newsroom: three articles added, two edited, two removed, one load after each.
    (corpus_dir / "tribune-flock-drones.md").write_text(ADDED, encoding="utf-8")
    step = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert step.analysed_articles == 1, "an added article costs only its own analysis"
    for article in synthetic_articles(60, seed=99):
        renamed = article.article_id.replace("synthetic-", "zz-late-")
        (corpus_dir / f"{renamed}.md").write_text(render_article(article), encoding="utf-8")
    assert load_or_build(corpus_dir, settings.cache_dir, Analyzer()).analysed_articles == 3
    bbc = next(corpus_dir.glob("bbc-*.md"))
    bbc.write_text(bbc.read_text(encoding="utf-8") + "\nRing also tested a zeppelin camera over Seattle.\n", "utf-8")
    edited = corpus_dir / "synthetic-0000007.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nTornado warnings followed the storm.\n", "utf-8")
    assert load_or_build(corpus_dir, settings.cache_dir, Analyzer()).analysed_articles == 2
    (corpus_dir / "synthetic-0000003.md").unlink()
    next(corpus_dir.glob("nbc-*.md")).unlink()
    updated = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    assert updated.analysed_articles == 0 and updated.segments > 1, "still several segments, not merged"
    assert isinstance(updated.index, SegmentedIndex), "answered from the segments in place, postings not copied"

    rebuilt = load_or_build(corpus_dir, tmp_path / "fresh-cache", Analyzer())
    assert rebuilt.segments == 1 and rebuilt.analysed_articles == len(rebuilt.articles)
    assert [a.article_id for a in updated.articles] == [a.article_id for a in rebuilt.articles]
    assert updated.index.size == rebuilt.index.size
    assert updated.index.bm25.average_length == rebuilt.index.bm25.average_length
    assert set(updated.index.bm25.vocabulary) == set(rebuilt.index.bm25.vocabulary)
    assert list(updated.index.surface.items()) == list(rebuilt.index.surface.items())
    assert len(updated.index.surface) == len(rebuilt.index.surface)
    assert updated.index.acronyms == rebuilt.index.acronyms

    incremental = core_over(updated, settings)
    full = core_over(rebuilt, settings)
    asked = questions(list(full.index.texts), 300, seed=3) + [
        "Why did Ring drop Flock?",
        "what about the zeppelin?",
        "how many police stations will fly flock drones?",
        "tornado warnings",
    ]
    got, expected = answers(incremental, asked), answers(full, asked)
    differing = [q for q, g, e in zip(asked, got, expected) if not same_ranking(g, e)]
    assert differing == []
    assert sum(1 for e in expected if e) > 250, "the questions find passages"
    assert incremental.answer("what about the zeppelin?").answered
    shown = incremental.answer("Why did Ring drop Flock?").passages
    assert shown and not any(p.source.article_id.startswith("nbc-") for p in shown), "a removed article is gone"

    # Merging the segments (what a running bot does in the background) changes nothing either.
    merged = merge(corpus_dir, settings.cache_dir, Analyzer())
    assert merged.segments == 1
    after_merge = core_over(merged, settings)
    assert [q for q, g, e in zip(asked, answers(after_merge, asked), expected) if not same_ranking(g, e)] == []


def test_the_index_metadata_counts_sentences_without_loading_the_index(corpus_dir, tmp_path):
    settings = make_settings(tmp_path, corpus_dir=corpus_dir)
    assert read_metadata(corpus_dir, settings.cache_dir) is None, "no index yet: nothing to read"
    loaded = load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    metadata = read_metadata(corpus_dir, settings.cache_dir)
    assert metadata is not None and metadata.current
    assert [a.article_id for a in metadata.articles] == [a.article_id for a in loaded.articles]
    assert metadata.sentences == loaded.index.size
    added_file = corpus_dir / "tribune-flock-drones.md"
    added_file.write_text(ADDED, encoding="utf-8")
    stale = read_metadata(corpus_dir, settings.cache_dir)
    assert stale is not None and not stale.current, "a changed folder is noticed"
    os.utime(added_file, (time.time() - 60, time.time() - 60))
    load_or_build(corpus_dir, settings.cache_dir, Analyzer())
    fresh = read_metadata(corpus_dir, settings.cache_dir)
    assert fresh is not None and fresh.current
    [added] = [a for a in fresh.articles if a.article_id == "tribune-flock-drones"]
    assert added.sentences == 3 and added.title == "Flock Safety expands its drone program"


def test_a_build_reports_its_progress_and_an_update_only_the_changed_articles(corpus_dir, tmp_path):
    heard = []
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer(), progress=heard.append)
    assert heard[0].articles_done == 0 and heard[-1].finished
    assert heard[-1].articles_total == 155 and heard[-1].sentences_done > 2900
    done = [p.articles_done for p in heard]
    assert done == sorted(done) and len(heard) >= 3, "progress as batches finish, not only at the end"
    (corpus_dir / "tribune-flock-drones.md").write_text(ADDED, encoding="utf-8")
    update = []
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer(), progress=update.append)
    assert update[-1].articles_total == 1 and update[-1].sentences_done == 3
    cached = []
    load_or_build(corpus_dir, tmp_path / "cache", Analyzer(), progress=cached.append)
    assert cached == [], "nothing to build, nothing to report"


def test_many_small_updates_are_merged_before_they_pile_up(corpus_dir, tmp_path):
    from index import cache

    for i in range(cache.MAX_SEGMENTS + 1):
        (corpus_dir / f"zz-update-{i}.md").write_text(ADDED.replace("40 police", f"{i + 2} police"), "utf-8")
        loaded = load_or_build(corpus_dir, tmp_path / "cache", Analyzer())
        assert loaded.segments <= cache.MAX_SEGMENTS
    assert len(loaded.articles) == 156 + cache.MAX_SEGMENTS


def test_words_only_a_removed_article_used_leave_the_spelling_table_as_in_a_full_rebuild(corpus_dir, tmp_path):
    """The spelling-repair table of several segments is looked up at once and put in frequency
    order only when a repair needs it; a word only removed articles used is in neither."""
    cache = tmp_path / "cache"
    load_or_build(corpus_dir, cache, Analyzer())
    for name, word in (("zz-one", "zeppelinish"), ("zz-two", "blimpery")):
        text = ADDED.replace("Critics said", f"Critics, {word} and all, said")
        (corpus_dir / f"{name}.md").write_text(text, encoding="utf-8")
    load_or_build(corpus_dir, cache, Analyzer())  # both in one new segment
    (corpus_dir / "zz-one.md").unlink()  # the new segment lives on with zz-two
    (corpus_dir / "synthetic-0000005.md").unlink()  # and the first one loses an article
    updated = load_or_build(corpus_dir, cache, Analyzer())
    rebuilt = load_or_build(corpus_dir, tmp_path / "fresh-cache", Analyzer())
    assert updated.segments == 2
    surface = updated.index.surface
    assert "zeppelinish" not in surface and "blimpery" in surface
    assert dict(surface.items()) == dict(rebuilt.index.surface.items())
    assert list(surface) == list(rebuilt.index.surface)  # frequency order, made now
    assert updated.index.vocabulary().correct("blimpary") == "blimpery"
