"""Re-ranking qabot's best candidates by meaning: its own score blended with the cosine
similarity of question and sentence under a sentence-embedding model (`embedding.py`).

Lexical ranking (`selection.py`) finds sentences that share the question's words;
it cannot tell "did privacy groups think it let police skip a warrant" from a
sentence that merely names police. The top `POOL` candidates of the lexical ranking
(`LARGE_POOL` in a corpus of `LARGE_CORPUS` sentences or more) are embedded with the
question, and re-ordered by

    combined = lexical_weight * score / best score + cosine(question, sentence)

Only those candidates are embedded, at question time, and remembered in a bounded
cache keyed by sentence text (`SentenceVectors`): the index, its cache file and its
memory do not change, whatever the corpus size.

The interface other stages use (stable; `declines` reads the similarity):

- `selection.rank(index, query, k, reranker)`: with a `Reranker`, each `Hit` carries
  `similarity`, the cosine (-1..1, in practice 0..1) between the question and its
  sentence, and `Ranking.best_similarity` is the highest cosine among all re-ranked
  candidates (not only the hits shown). With `reranker=None` both are None and the
  ranking is exactly the lexical one.
- `Reranker.from_setting(spec)`: the re-ranker the `QABOT_SEMANTIC_MODEL` setting
  names, or None for "off".

Failure behaviour: `from_setting` raises `embedding.SemanticModelError` (one line,
names the model) when the model cannot be loaded; a bot stops at start rather than
answer worse without saying so. At question time an encoder that fails (it should
not: it takes any text) is logged and the lexical order is kept, never an error to
the user.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

from index.embedding import SentenceEncoder, load_encoder

log = logging.getLogger(__name__)

POOL = 30
"""How many of the lexical ranking's best candidates are re-ranked."""
LARGE_CORPUS = 100_000
"""From this many sentences on, only LARGE_POOL candidates are re-ranked. In a small corpus
the sentence cache soon holds every sentence questions reach, so a pool of 30 costs little
after the first questions; in a large one nearly every question meets sentences never
embedded, each ~0.1 ms to tokenize and embed, which at 1M sentences made re-ranking 30 the
largest part of an answer's time."""
LARGE_POOL = 10
"""Re-ranking 10 instead of 30 gave the same Hit@1, Hit@3, MRR and declines on every set of
`benchmarks.quality` (shared dev, team, chat tune and test, off-topic, squad2-dev) at 731d7bb."""
LEXICAL_WEIGHT = {"static": 3.0, "transformer": 1.0}
"""Weight of the lexical score (as a share of the best candidate's) against the cosine, per
kind of model: the best MRR on the tune half of eval/chat.jsonl (the smallest weight of a tie).
Static, of 0.5-6: 3 (MRR .779; without re-ranking .784, no weight did better). MiniLM, of
0.1-2: 1 (MRR .784, Hit@3 .852 against .836 without)."""
CACHE_SENTENCES = 20_000
"""Sentence vectors remembered (about 20 MB at 256 dimensions, 30 MB at 384)."""


class Reranked(NamedTuple):
    order: np.ndarray
    """Indices into the candidates given, best first."""
    similarity: np.ndarray
    """Each candidate's cosine with the question, in the order given."""


class SentenceVectors:
    """A bounded memory of sentence vectors, by text. When full, the oldest entries go.

    Safe across threads (one lock around the dictionary; encoding happens outside it)."""

    def __init__(self, encoder: SentenceEncoder, capacity: int = CACHE_SENTENCES) -> None:
        self._encoder = encoder
        self._capacity = capacity
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            found = [self._vectors.get(t) for t in texts]
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            fresh = self._encoder.encode([texts[i] for i in missing])
            with self._lock:
                for i, vector in zip(missing, fresh):
                    found[i] = vector
                    self._remember(texts[i], vector)
        return np.stack(found)  # type: ignore[arg-type]

    def _remember(self, text: str, vector: np.ndarray) -> None:
        if len(self._vectors) >= self._capacity:
            del self._vectors[next(iter(self._vectors))]  # dicts keep insertion order: the oldest
        self._vectors[text] = vector


@dataclass(frozen=True)
class Reranker:
    encoder: SentenceEncoder
    lexical_weight: float
    pool: int = POOL
    cache: SentenceVectors = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cache", SentenceVectors(self.encoder))

    def pool_for(self, sentences: int) -> int:
        """How many candidates to re-rank in a corpus of `sentences` sentences."""
        return self.pool if sentences < LARGE_CORPUS else min(self.pool, LARGE_POOL)

    @classmethod
    def for_encoder(cls, encoder: SentenceEncoder, pool: int = POOL) -> "Reranker":
        return cls(encoder=encoder, lexical_weight=LEXICAL_WEIGHT.get(encoder.kind, 0.5), pool=pool)

    @classmethod
    def from_setting(cls, spec: str) -> "Reranker | None":
        encoder = load_encoder(spec)
        return None if encoder is None else cls.for_encoder(encoder)

    def rerank(self, question: str, texts: Sequence[str], scores: np.ndarray) -> Reranked | None:
        """Candidates (`texts`, with their lexical `scores`, best first) in their new order,
        or None when the encoder failed (the caller keeps the lexical order)."""
        try:
            question_vector = self.encoder.encode([question])[0]
            sentence_vectors = self.cache.vectors(texts)
        except Exception:  # a model failing mid-answer must not fail the answer
            log.exception("semantic re-ranking failed; answering with the lexical ranking")
            return None
        similarity = sentence_vectors @ question_vector
        best = float(scores[0]) if len(scores) else 0.0
        lexical = scores / best if best > 0 else np.zeros_like(scores)
        combined = self.lexical_weight * lexical + similarity
        return Reranked(order=np.argsort(-combined, kind="stable"), similarity=similarity)
