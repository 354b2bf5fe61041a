"""Our BM25 is rank-bm25's BM25Plus, bit for bit, only faster."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Plus

from tests.support.synthetic import sentences
from index.analysis import Analyzer
from index.scoring import BM25PlusIndex


@pytest.fixture(scope="module")
def tokenized() -> list[list[str]]:
    analyzer = Analyzer()
    return [analyzer.analyze(s) for s in sentences(10_000, seed=11)]


def reference_order(scores: np.ndarray, n: int) -> list[int]:
    """rank-bm25's scores, best first, ties broken by corpus order."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:n]


def test_scores_and_ranking_match_rank_bm25_exactly_on_10k_sentences(tokenized):
    reference = BM25Plus(tokenized)
    ours = BM25PlusIndex.build(tokenized)
    rng = np.random.default_rng(3)
    vocabulary = sorted({t for doc in tokenized for t in doc})
    queries = [list(rng.choice(vocabulary, size=int(rng.integers(1, 7)))) for _ in range(40)]
    queries += [tokenized[5][:4], tokenized[77] * 2, ["not-a-term", tokenized[9][0]], []]
    for query in queries:
        expected = reference.get_scores(query)
        got = ours.get_scores(query)
        assert np.array_equal(got, expected), query  # the same bits, not merely close
        assert ours.top_n(query, 10) == reference_order(expected, 10)


def test_idf_stays_positive_for_terms_in_most_sentences():
    tokenized = [["ring", "flock"], ["ring", "flock", "deal"], ["ring", "police"], ["ring"]]
    index = BM25PlusIndex.build(tokenized)
    assert (index.idf > 0).all()
    ring, deal = index.vocabulary["ring"], index.vocabulary["deal"]
    assert index.idf[ring] < index.idf[deal]
