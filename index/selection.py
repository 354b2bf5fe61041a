"""From a parsed question to the few best sentences, with a confidence for each.

Scoring a sentence, for each concept of the question (see `query.py`):

- its own BM25 gain: the best weighted gain among the concept's terms;
- context: a concept the sentence lacks but a neighbour in the same paragraph
  has counts at `CONTEXT_WEIGHT` (the neighbour often names what "it" is);
- a bonus when the sentence can give the kind of answer asked for (a date for
  "when", a number for "how many", a reason for "why").

Confidence (`coverage`) is the share of the question's weight the sentence and
its context cover: each concept weighs its best IDF, an unknown word weighs like
the rarest term. A "when" or "how many" question whose passage holds no date or
number is only half covered.

Duplicates: the seed articles repeat one another. Sentences from other articles
that say the same thing as a chosen one are folded into it (`also`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from index.features import answer_type_required, wanted_flag
from index.query import Concept, Query, QuestionKind
from index.sentence_index import NO_NEIGHBOUR, SentenceIndex

CONTEXT_WEIGHT = 0.35
CONTEXT_COVERAGE = 0.5
SECOND_NEIGHBOUR = 0.5
"""Two sentences away counts half as much as next door."""
KIND_BONUS = {
    QuestionKind.REASON: 1.0,
    QuestionKind.TIME: 0.3,
    QuestionKind.QUANTITY: 0.3,
    QuestionKind.PERSON: 0.1,
    QuestionKind.PLACE: 0.2,
}
"""Score multiplier bonus for a sentence that can give the kind of answer asked for.
A "why" question names an event; the answer is the sentence that explains it, so the
reason cue counts most."""
UNKNOWN_WEIGHT = 1.0
"""An unknown word weighs like the rarest term: it occurs in no sentence at all."""
MISSING_TYPE_PENALTY = 0.5
CANDIDATE_POOL = 20
ALSO_REPORTED_FLOOR = 0.4
"""A sentence below this share of the best score is not checked as a duplicate of a passage."""
SHORTLIST = 1000
CONTEXT_POOL = 300
"""At most this many candidates (and their neighbours) are scored with context."""
"""In a large corpus, how many sentences are ranked exactly after a quick first pass."""
SAME_STATEMENT = 0.5
"""Term-set overlap (Jaccard, or containment of the shorter) above which two sentences say the same."""



@dataclass(frozen=True)
class Hit:
    chunk: int
    score: float
    coverage: float
    also: tuple[int, ...] = field(default=())
    """Chunks in other articles that carry the same statement."""


@dataclass(frozen=True)
class Ranking:
    hits: tuple[Hit, ...]
    best_coverage: float


def rank(index: SentenceIndex, query: Query, k: int) -> Ranking:
    concepts = query.known_concepts
    if not concepts:
        return Ranking(hits=(), best_coverage=0.0)
    bm25 = index.bm25
    postings = {}
    for concept in concepts:
        for term in concept.terms:
            if term not in postings:
                term_id = bm25.vocabulary[term]
                postings[term] = (*bm25.postings(term_id), float(bm25.idf[term_id]))
    candidates = _candidates(index, concepts, postings)
    if not len(candidates):
        return Ranking(hits=(), best_coverage=0.0)
    if len(candidates) > CONTEXT_POOL:
        # Many candidates: rank them on their own words first, and look at the context of
        # the best CONTEXT_POOL only (context can lift a sentence, not make one from nothing).
        own, _, _ = _gather(candidates, concepts, postings)
        best = np.argpartition(own.sum(axis=0), -CONTEXT_POOL)[-CONTEXT_POOL:]
        candidates = np.sort(candidates[best])
    pool = _with_neighbours(index, candidates)
    gain, covered, weights = _gather(pool, concepts, postings)

    # Context: for each concept, the best of the sentences around (weighted by distance).
    at, present = _positions(pool, _context(index, pool))
    nearness = present * _CONTEXT_WEIGHTS  # (4 neighbours, pool)
    context_gain = (gain[:, at] * nearness).max(axis=1)
    context_cover = (covered[:, at] * nearness).max(axis=1)
    own = gain.sum(axis=0)
    score = own + CONTEXT_WEIGHT * np.maximum(context_gain - gain, 0.0).sum(axis=0)
    # Only sentences that contain part of the question can answer it; their
    # neighbours are in the pool to lend context, not to be shown for it.
    score = np.where(own > 0, score, -np.inf)

    flag = wanted_flag(query.kind)
    has_type = (index.flags[pool] & flag) != 0 if flag else None
    if has_type is not None:
        score = score * np.where(has_type, 1.0 + KIND_BONUS.get(query.kind, 0.0), 1.0)

    unknown = len(query.concepts) - len(concepts)
    rarest = math.log(bm25.chunk_count + 1)
    total = weights.sum() + unknown * UNKNOWN_WEIGHT * rarest
    coverage = np.maximum(covered, CONTEXT_COVERAGE * context_cover).sum(axis=0) / total
    if has_type is not None and answer_type_required(query.kind):
        coverage = np.where(has_type, coverage, coverage * MISSING_TYPE_PENALTY)

    order = np.lexsort((pool, -score))[: min(CANDIDATE_POOL, int(np.isfinite(score).sum()))]
    hits = _pick(index, pool, order, score, coverage, k)
    best = max((h.coverage for h in hits), default=0.0)
    return Ranking(hits=hits, best_coverage=best)


def _gather(
    pool: np.ndarray, concepts: tuple[Concept, ...], postings: dict[str, tuple[np.ndarray, np.ndarray, float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per concept and pool chunk: the weighted BM25 gain, and the weighted IDF if matched.
    Also each concept's weight (its best term's weighted IDF)."""
    terms = list(postings)
    # Every question term's gain in every pool chunk, in one matrix (0 where absent).
    # A pool chunk's place in a term's postings is found by binary search, all terms at once.
    lengths = np.array([len(postings[t][0]) for t in terms])
    all_chunks = np.concatenate([postings[t][0] for t in terms])
    all_gains = np.concatenate([postings[t][1] for t in terms])
    # Offset each term's (sorted) chunks past every chunk number, so all terms form one sorted array.
    shift = np.int64(max(int(all_chunks.max()), int(pool[-1])) + 1)
    keys = all_chunks.astype(np.int64) + np.repeat(np.arange(len(terms), dtype=np.int64) * shift, lengths)
    wanted = (np.arange(len(terms), dtype=np.int64)[:, None] * shift + pool[None, :]).ravel()
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    present = (keys[at] == wanted).reshape(len(terms), len(pool))
    term_gain = np.where(present, all_gains[at].reshape(len(terms), len(pool)), 0.0)
    row_of = {t: i for i, t in enumerate(terms)}
    idf = np.array([postings[t][2] for t in terms])

    gain = np.zeros((len(concepts), len(pool)))
    covered = np.zeros((len(concepts), len(pool)))
    weights = np.zeros(len(concepts))
    for row, concept in enumerate(concepts):
        rows = [row_of[t] for t in concept.terms]
        w = np.fromiter(concept.terms.values(), dtype=np.float64, count=len(rows))[:, None]
        weighted = w * term_gain[rows]
        gain[row] = weighted.sum(axis=0) if concept.additive else weighted.max(axis=0)
        covered[row] = (w * idf[rows, None] * present[rows]).max(axis=0)
        weights[row] = float((w[:, 0] * idf[rows]).max())
    return gain, covered, weights


def _candidates(
    index: SentenceIndex, concepts: tuple[Concept, ...], postings: dict[str, tuple[np.ndarray, np.ndarray, float]]
) -> np.ndarray:
    """Sorted chunk numbers worth ranking exactly.

    In a small corpus: every chunk with a question term. In a large one, a quick first
    pass keeps the `SHORTLIST` best chunks by weighted BM25 over the question's less
    common terms, plus each very common term's impact list (its best chunks); the
    exact ranking then scores every term for these. Work grows with the postings read,
    never with the corpus size.
    """
    bm25 = index.bm25
    weights: dict[str, float] = {}
    for concept in concepts:
        for term, weight in concept.terms.items():
            weights[term] = max(weights.get(term, 0.0), weight)
    rare = [t for t in weights if bm25.vocabulary[t] not in bm25.impact]
    common = [t for t in weights if bm25.vocabulary[t] in bm25.impact]
    parts = [bm25.impact[bm25.vocabulary[t]] for t in common]
    found = [postings[t][0] for t in rare]
    total = sum(len(chunks) for chunks in found)
    if total <= SHORTLIST:
        parts.extend(found)
    else:
        quick = np.zeros(index.size, dtype=np.float32)
        for term in rare:
            chunks, gains, _ = postings[term]
            quick[chunks] += np.float32(weights[term]) * gains  # a term's chunks are distinct
        every = np.concatenate(found)
        best = np.argpartition(quick[every], -SHORTLIST)[-SHORTLIST:]
        parts.append(every[best])
    if not parts:
        return np.zeros(0, dtype=np.int32)
    return np.unique(np.concatenate(parts))


def _with_neighbours(index: SentenceIndex, chunks: np.ndarray) -> np.ndarray:
    """`chunks` and the sentences up to two away in the same paragraph, sorted, unique."""
    previous, following = index.previous, index.following
    parts = [chunks]
    for step in (previous, following):
        near = step[chunks]
        near = near[near != NO_NEIGHBOUR]
        parts.append(near)
        further = step[near]
        parts.append(further[further != NO_NEIGHBOUR])
    return np.unique(np.concatenate(parts))


_CONTEXT_WEIGHTS = np.array([[1.0], [1.0], [SECOND_NEIGHBOUR], [SECOND_NEIGHBOUR]])


def _context(index: SentenceIndex, pool: np.ndarray) -> np.ndarray:
    """The sentences around each pool chunk in its paragraph, as rows: previous,
    following, two before, two after (NO_NEIGHBOUR where there is none)."""
    previous, following = index.previous[pool], index.following[pool]
    return np.stack(
        [
            previous,
            following,
            np.where(previous != NO_NEIGHBOUR, index.previous[np.maximum(previous, 0)], NO_NEIGHBOUR),
            np.where(following != NO_NEIGHBOUR, index.following[np.maximum(following, 0)], NO_NEIGHBOUR),
        ]
    )


def _positions(pool: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each target chunk sits in `pool`, and whether it is there at all."""
    at = np.minimum(np.searchsorted(pool, targets), len(pool) - 1)
    return at, (targets != NO_NEIGHBOUR) & (pool[at] == targets)


def _pick(
    index: SentenceIndex,
    pool: np.ndarray,
    order: np.ndarray,
    score: np.ndarray,
    coverage: np.ndarray,
    k: int,
) -> tuple[Hit, ...]:
    chosen: list[int] = []
    also: dict[int, list[int]] = {}
    terms_of = index.memo.terms
    shingles_of = index.memo.shingles

    def same_statement(a: int, b: int) -> bool:
        if _similar_terms(terms_of(a), terms_of(b)):
            return True
        # Different wording around the same quotation: a long run of identical words
        # (which needs a few shared terms, a cheap test that rules out most pairs first).
        return (
            index.article[a] != index.article[b]
            and len(terms_of(a) & terms_of(b)) >= 4
            and bool(shingles_of(a) & shingles_of(b))
        )

    # Once the passages are chosen, only sentences scoring near them can be the same
    # statement from another article; weaker ones are not worth comparing.
    floor = ALSO_REPORTED_FLOOR * float(score[order[0]]) if len(order) else 0.0
    for i in order:
        chunk = int(pool[i])
        if len(chosen) == k and score[i] < floor:
            break
        duplicate_of = None
        for kept in chosen:
            if _overlaps_context(index, kept, chunk) or same_statement(kept, chunk):
                duplicate_of = kept
                break
        if duplicate_of is None:
            if len(chosen) < k:
                chosen.append(chunk)
                also[chunk] = []
            continue
        other_articles = {int(index.article[c]) for c in [duplicate_of, *also[duplicate_of]]}
        if int(index.article[chunk]) not in other_articles:
            also[duplicate_of].append(chunk)
    position = {int(pool[i]): i for i in order}
    return tuple(
        Hit(chunk=c, score=float(score[position[c]]), coverage=float(coverage[position[c]]), also=tuple(also[c]))
        for c in chosen
    )


def _overlaps_context(index: SentenceIndex, a: int, b: int) -> bool:
    """b is a's neighbour in the same paragraph: already shown as a's context."""
    return b in (int(index.previous[a]), int(index.following[a]))


def _similar_terms(a: frozenset[int], b: frozenset[int]) -> bool:
    if len(a) < 3 or len(b) < 3:
        return a == b
    shared = len(a & b)
    return shared / len(a | b) >= SAME_STATEMENT or shared / min(len(a), len(b)) >= 0.8
