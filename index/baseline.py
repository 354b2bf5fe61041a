"""Plain BM25Plus over the index's sentences: the yardstick every quality figure stands beside.

No question parsing, no concepts, no expansion, no context from neighbours, no declines:
rank-bm25's `BM25Plus` (its default k1, b and delta) over each sentence's analyzed tokens
(the analyzer the index was built with, so the same stemming and stopwords), and the question's
tokens as the query. The top k sentences by score, ties to the earlier sentence.

Failure behaviour: never raises on a question. A question with no searchable token scores every
sentence alike and gets the first k sentences (a baseline that cannot decline still answers);
an index with no sentences gives no hits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from rank_bm25 import BM25Plus

from index.analysis import Analyzer
from index.sentence_index import SentenceIndex


class BaselineHit(NamedTuple):
    chunk: int
    score: float


@dataclass(frozen=True)
class BM25PlusBaseline:
    analyzer: Analyzer
    model: BM25Plus | None
    """None when the index holds no sentence (rank-bm25 cannot be built on an empty corpus)."""

    @classmethod
    def from_index(cls, index: SentenceIndex) -> "BM25PlusBaseline":
        tokens = [index.analyzer.analyze(text) for text in index.texts]
        return cls(analyzer=index.analyzer, model=BM25Plus(tokens) if tokens else None)

    def top(self, question: str, k: int) -> list[BaselineHit]:
        if self.model is None or k <= 0:
            return []
        scores = np.asarray(self.model.get_scores(self.analyzer.analyze(question)), dtype=np.float64)
        # A stable sort of the negated scores keeps ties in sentence order: reproducible runs.
        order = np.argsort(-scores, kind="stable")[:k]
        return [BaselineHit(int(chunk), float(scores[chunk])) for chunk in order]
