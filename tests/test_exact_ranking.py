"""A large corpus is not ranked by scoring every sentence that holds a question word: the
best candidates are found by reading each word's postings best gain first, and the search
stops once no unread sentence can reach them. Stopping there must never change an answer:
whenever the ranking says it is exact, it is the ranking of scoring every sentence."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from bot.answering.core import AnsweringCore
from bot.answering.evaluation import load_questions
from index import postings_search, selection
from index.analysis import Analyzer
from index.impact_order import best_first
from index.postings_search import BLOCK, within_blocks
from index.query import parse_question
from index.sentence_index import SentenceIndex
from tests.conftest import REPO, SHARED_EVAL
from tests.support.synthetic import articles as synthetic_articles
from tests.support.synthetic import questions


@pytest.fixture(scope="module")
def large_core() -> AnsweringCore:
    """16,000 synthetic sentences: too many for a dense gain table, so questions of common
    words have tens of thousands of postings to choose from."""
    made = tuple(synthetic_articles(16_000, seed=23))
    index = SentenceIndex.build(made, Analyzer())
    assert index.dense_gains is None
    return AnsweringCore.from_index(made, index, top_k=3)


def test_a_large_corpus_ranks_every_question_as_scoring_every_sentence_would(
    large_core: AnsweringCore, monkeypatch: pytest.MonkeyPatch
):
    index = large_core.index
    monkeypatch.setattr(selection, "PRUNE_FROM_POSTINGS", 0)  # the search for every question, however few its postings
    compared = exact = 0
    for question in questions(list(index.texts), 300, seed=4):
        query = parse_question(question, index.analyzer, large_core.vocabulary, large_core.lexicon)
        if not query.known_concepts:
            continue
        ranked = selection.rank(index, query, 3)
        everything = selection.rank(index, query, 3, exhaustive=True)
        compared += 1
        if ranked.exact:
            exact += 1
            assert ranked == everything, question
        else:
            # Stopped at its depth limit: the best found, from the lists' best postings.
            assert ranked.hits, question
    assert compared > 250
    assert exact > 0.9 * compared


def test_the_best_first_search_agrees_on_real_questions(core: AnsweringCore, monkeypatch: pytest.MonkeyPatch):
    """The bundled articles and the team's own questions, with the large-corpus way forced
    on (no dense table, pruning from the first posting, and a pool of 5 so that the search
    has something to leave out)."""
    searching = copy.copy(core.index)
    searching.dense_gains = None
    monkeypatch.setattr(selection, "PRUNE_FROM_POSTINGS", 0)
    monkeypatch.setattr(selection, "CONTEXT_POOL", 5)
    asked = [q.question for q in load_questions(REPO / "eval" / "team.jsonl")]
    asked += [q.question for q in load_questions(REPO / "eval" / "chat.jsonl")]
    if SHARED_EVAL.exists():
        asked += [q.question for q in load_questions(SHARED_EVAL)]
    compared = 0
    for question in asked:
        query = parse_question(question, core.index.analyzer, core.vocabulary, core.lexicon)
        if not query.known_concepts:
            continue
        ranked = selection.rank(searching, query, 3)
        assert ranked.exact, question  # a few hundred sentences: every list is read to its end if need be
        assert ranked == selection.rank(searching, query, 3, exhaustive=True), question
        compared += 1
    assert compared > 150


def test_ties_at_the_last_place_go_to_the_earlier_sentences_either_way(monkeypatch: pytest.MonkeyPatch):
    """Forty articles print the same sentence: all forty score the same, more than the pool
    holds, and which of them make it must not depend on how they were found."""
    same = "Solar panels were installed on the roof of the old school this week."
    made = tuple(
        dataclasses.replace(a, paragraphs=(a.paragraphs[0] + " " + same, *a.paragraphs[1:]))
        for a in synthetic_articles(800, seed=5)
    )
    index = SentenceIndex.build(made, Analyzer())
    index.dense_gains = None
    core = AnsweringCore.from_index(made, index, top_k=3)
    monkeypatch.setattr(selection, "PRUNE_FROM_POSTINGS", 0)
    monkeypatch.setattr(selection, "CONTEXT_POOL", 5)
    query = parse_question("solar panels on the school roof?", index.analyzer, core.vocabulary, core.lexicon)
    ranked = selection.rank(index, query, 3)
    assert ranked.exact
    assert ranked == selection.rank(index, query, 3, exhaustive=True)
    holding = [c for c in range(index.size) if index.texts[c] == same]
    assert len(holding) > 30  # (a few join the sentence before them when split)
    assert {h.chunk for h in ranked.hits} <= set(holding[:5])  # the earliest five made the pool


def test_a_terms_best_postings_are_the_same_whatever_depth_was_read_before():
    """Which postings a search reads must not depend on what earlier questions made the cache
    compute: the best come first, equal gains in posting order, at any depth."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        gains = rng.integers(1, 6, size=int(rng.integers(1, 60))).astype(np.float32)
        expected = np.lexsort((np.arange(len(gains)), -gains))
        for depth in range(1, len(gains) + 2):
            prefix = best_first(gains, depth)
            assert prefix.positions.tolist() == expected[:depth].tolist()
            assert prefix.rest == (float(gains[expected[depth]]) if depth < len(gains) else 0.0)


def test_chunks_found_block_by_block_are_where_a_binary_search_finds_them():
    """Long postings are searched through every BLOCK-th posting first: the places found must
    be searchsorted's own, for chunks before, between, on and past the postings."""
    rng = np.random.default_rng(7)
    for size in (1, 2, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK, 5 * BLOCK + 3, 40_000):
        postings = np.sort(rng.choice(4 * size + 10, size, replace=False)).astype(np.int32)
        chunks = np.sort(rng.integers(-2, 4 * size + 14, size=500)).astype(np.int32)
        chunks = np.concatenate((chunks, postings[:50], postings[-3:] + 1))
        found = within_blocks(postings, postings[::BLOCK].copy(), chunks)
        assert found.tolist() == postings.searchsorted(chunks).tolist(), size


def test_a_large_corpus_ranks_the_same_when_its_postings_are_searched_block_by_block(
    large_core: AnsweringCore, monkeypatch: pytest.MonkeyPatch
):
    index = large_core.index
    monkeypatch.setattr(selection, "PRUNE_FROM_POSTINGS", 0)
    asked = [
        q
        for q in (
            parse_question(question, index.analyzer, large_core.vocabulary, large_core.lexicon)
            for question in questions(list(index.texts), 100, seed=9)
        )
        if q.known_concepts
    ]
    plain = [selection.rank(index, query, 3) for query in asked]
    monkeypatch.setattr(postings_search, "FROM_POSTINGS", 1)  # every term's postings block by block
    monkeypatch.setattr(index, "postings_search", postings_search.PostingsSearch(capacity=3_000))  # and its cache refilled
    assert [selection.rank(index, query, 3) for query in asked] == plain
