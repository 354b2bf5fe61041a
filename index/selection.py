"""From a parsed question to the few best sentences, with a confidence for each.

Scoring a sentence, for each concept of the question (see `query.py`):

- its own BM25 gain: the best weighted gain among the concept's terms;
- context: a concept the sentence lacks but a neighbour in the same paragraph
  has counts at `CONTEXT_WEIGHT` (the neighbour often names what "it" is);
- a bonus when the sentence can give the kind of answer asked for (a date for
  "when", a number for "how many", a reason for "why").

Confidence is the share of the question's weight the sentence and
its context cover: each concept weighs its best IDF, an unknown word weighs like
the rarest term. A "when" or "how many" question whose passage holds no date or
number is only half covered.

Which sentences are scored: every one holding a question term; when more than
`CONTEXT_POOL` do, only the `CONTEXT_POOL` best on their own words are scored with
context. In a large corpus those are found without scoring every match
(`_best_by_impact`: each term's postings best gain first, until no sentence not yet
met can reach them), so a large corpus ranks as a small one does; `Ranking.exact`
says whether that was proved within `DEPTH_LIMIT`.

Duplicates: the seed articles repeat one another. A sentence from another article
that states the same fact as a chosen one (`index.same_fact`: the same content and
the same numbers, dates, names and negation) is folded into it (`also`), so the
answer credits that article; one that only looks alike (another month, another
name) is a statement of its own and may be a passage of its own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from index.features import IS_HEADLINE, MAY_DEFINE, answer_type_required, defining_pattern, wanted_flag
from index.postings_search import PostingsSearch
from index.query import Concept, Query, QuestionKind, definition_subject
from index.same_fact import same_fact, share_terms
from index.sentence_index import SentenceIndex

if TYPE_CHECKING:
    from index.reranking import Reranker

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
HEADLINE_WEIGHT = 0.3
"""A headline's score is cut to this share: it names the story without saying much, so it
is a passage only when no sentence of the articles answers better."""
DEFINING_BONUS = 1.0
"""Score multiplier bonus for a sentence that says what the X of "what is X" is."""
DEFINING_POOL = 300
"""How many of the best candidates are checked for a definition (a regular expression each;
the defining sentence is often long, so it can rank low on the subject's words alone)."""
CANDIDATE_POOL = 20
ALSO_REPORTED_FLOOR = 0.4
"""A sentence below this share of the best score is not checked as a duplicate of a passage."""
CONTEXT_POOL = 300
"""At most this many candidates (and their neighbours) are scored with context: those with
the best score on their own words."""
PRUNE_FROM_POSTINGS = 5_000
"""In a corpus without a dense gain table, a question whose terms have more postings than
this finds its CONTEXT_POOL best by reading postings best gain first instead of scoring every posting."""
DEPTH_LIMIT = 2400
"""How deep the large-corpus search reads each term's best-gain-first postings at most (from
2 x CONTEXT_POOL, doubling). Most questions are proved exact sooner; one made of very common
words only may not be, and then ranks from what was read. At 1M sentences (load average 12,
rank() CPU time): 2400 proved 188 of 280 questions exact, top 3 equal to scoring every
sentence for 278, p95 10-12 ms; 4800: 223 proved, 280 equal, p95 15-17 ms; no limit: all
proved, p95 36-48 ms; the impact lists this replaced: 271 equal, p95 9-12 ms."""
MARGIN = 1.0 + 1e-9
"""Bounds are raised by this share: a sum of the same floats in another order may round differently."""



class Hit(NamedTuple):
    """One chosen sentence. (A NamedTuple, not a dataclass: every answer makes a few, and a
    frozen dataclass costs several times more to make.)"""

    chunk: int
    score: float
    confidence: float
    also: tuple[int, ...] = ()
    """Chunks in other articles that state the same fact (one per article)."""
    similarity: float | None = None
    """Cosine of question and sentence under the semantic model; None without re-ranking."""


class Ranking(NamedTuple):
    hits: tuple[Hit, ...]
    confidence: float
    own_confidence: float = 0.0
    """The share of the question's weight the first hit's own sentence covers (no context)."""
    heaviest_missing: float = 1.0
    """The weight (as a share of the rarest term's) of the heaviest question concept that neither
    the first hit nor the sentences around it hold; 1 for a word the articles never use."""
    best_similarity: float | None = None
    """The highest cosine among all re-ranked candidates; None without re-ranking. (The other
    fields describe the passages shown, re-ranked or not.)"""
    exact: bool = True
    """False when a large corpus's search stopped at `DEPTH_LIMIT` before it could prove its
    candidates the best (the passages are then very likely, not surely, those of scoring every
    sentence: `benchmarks.agreement` measures how often)."""


class TermPostings(NamedTuple):
    """One question term's postings: where it occurs, its gain there, its IDF."""

    term_id: int
    chunks: np.ndarray
    gains: np.ndarray
    idf: float


def rank(
    index: SentenceIndex, query: Query, k: int, reranker: "Reranker | None" = None, exhaustive: bool = False
) -> Ranking:
    """The k best passages for `query`; with a `reranker`, its best candidates re-ordered by meaning.
    `exhaustive`: score every chunk holding a question term, never pruning (the same ranking
    whenever the pruned one is `exact`, slower: for tests and benchmarks that check so)."""
    concepts = query.known_concepts
    if not concepts:
        return Ranking(hits=(), confidence=0.0)
    bm25 = index.bm25
    postings: dict[str, TermPostings] = {}
    for concept in concepts:
        for term in concept.terms:
            if term not in postings:
                term_id = bm25.vocabulary[term]
                postings[term] = TermPostings(term_id, *bm25.postings(term_id), bm25.idf.item(term_id))
    candidates, exact = _candidates(index, concepts, postings, exhaustive)
    if not len(candidates):
        return Ranking(hits=(), confidence=0.0)
    if len(candidates) > CONTEXT_POOL:
        # Many candidates: rank them on their own words first, and look at the context of
        # the best CONTEXT_POOL only (context can lift a sentence, not make one from nothing).
        best = _top(_own_scores(index, candidates, concepts, postings), candidates, CONTEXT_POOL)
        candidates = np.sort(candidates[best])
    # Each candidate and the sentences around it (rows: itself, then `SentenceIndex.around`).
    around = index.around
    assert around is not None  # computed on load (SentenceIndex.__post_init__)
    near = np.concatenate((candidates[None], around.take(candidates, axis=1)))
    # Neighbouring candidates share sentences: look each one up once.
    pool = _sorted_unique(near.ravel())
    matched, weights = _gather(index, pool, concepts, postings)
    matched = matched.take(pool.searchsorted(near), axis=2)  # (2, concepts, 5, candidates)
    gain, covered = matched[:, :, 0]

    # Context: for each concept, the best of the sentences around (weighted by distance);
    # a missing neighbour holds no term and counts 0.
    context_gain, context_cover = (matched[:, :, 1:] * _CONTEXT_WEIGHTS).max(axis=2)
    own = gain.sum(axis=0)  # > 0: every candidate holds a question term
    score = own + CONTEXT_WEIGHT * np.maximum(context_gain - gain, 0.0).sum(axis=0)

    flags = index.flags.take(candidates)
    flag = wanted_flag(query.kind)
    has_type = (flags & flag) != 0 if flag else None
    # One multiplier per candidate: the answer-kind bonus, and the headline's cut.
    factor = np.where(flags & IS_HEADLINE, HEADLINE_WEIGHT, 1.0)
    if has_type is not None:
        factor *= np.where(has_type, 1.0 + KIND_BONUS.get(query.kind, 0.0), 1.0)
    score = score * factor
    if query.kind is QuestionKind.DEFINITION:
        score = _prefer_definitions(index, query, candidates, score)

    unknown = len(query.concepts) - len(concepts)
    rarest = math.log(bm25.chunk_count + 1)
    total = weights.sum() + unknown * UNKNOWN_WEIGHT * rarest
    confidence = np.maximum(covered, CONTEXT_COVERAGE * context_cover).sum(axis=0) / total
    if has_type is not None and answer_type_required(query.kind):
        confidence = np.where(has_type, confidence, confidence * MISSING_TYPE_PENALTY)

    # Best first; candidates are in corpus order and the sort is stable, so ties go to the earlier sentence.
    order = np.argsort(-score, kind="stable")
    reranked = None if reranker is None else _reranked(index, query, reranker, candidates, order, score)
    best_similarity = None
    if reranked is None:
        hits = _pick(index, candidates, order[:CANDIDATE_POOL], score, confidence, k)
    else:
        new_order, similarity = reranked
        hits = _pick(index, candidates, new_order, score, confidence, k, similarity)
        best_similarity = float(similarity.take(new_order).max())
    # For the decline decision: what the first hit holds itself, and the heaviest concept it and
    # its context lack (candidates are sorted, so its place among them is a binary search).
    top = int(candidates.searchsorted(hits[0].chunk)) if hits else int(order[0])
    own = covered[:, top]
    missing = weights[(own == 0) & (context_cover[:, top] == 0)]
    heaviest = 1.0 if unknown else (float(missing.max()) / rarest if len(missing) else 0.0)
    return Ranking(
        hits=hits,
        confidence=max((h.confidence for h in hits), default=0.0),
        own_confidence=float(own.sum() / total),
        heaviest_missing=heaviest,
        best_similarity=best_similarity,
        exact=exact,
    )


def _reranked(
    index: SentenceIndex, query: Query, reranker: "Reranker", candidates: np.ndarray, order: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The lexical ranking's best candidates (`order`, best first; as many as
    `reranker.pool_for` the corpus's size) in their new order, and every candidate's cosine
    (0 outside the pool); None when the model failed (logged).

    (Sentences holding no question word are not added: tried with the neighbours of the best
    ten, they changed no result on the tune questions or SQuAD, since a passage already shows
    its neighbours, and cost a second scoring pass.)"""
    top = order[: reranker.pool_for(index.size)]
    texts = index.texts
    reranked = reranker.rerank(query.question, [texts[c] for c in candidates[top].tolist()], score[top])
    if reranked is None:
        return None
    similarity = np.zeros(len(candidates))
    similarity[top] = reranked.similarity
    return top[reranked.order], similarity


def _prefer_definitions(index: SentenceIndex, query: Query, candidates: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Lift, among the best candidates, the sentences that say what X is ("X, a ...")."""
    subject = definition_subject(query.question)
    if not subject:
        return score
    pattern = defining_pattern(tuple(_name_starts(index, query, subject.split())))
    if pattern is None:
        return score
    best = np.argsort(-score, kind="stable")[:DEFINING_POOL]
    best = best[(index.flags[candidates[best]] & MAY_DEFINE) != 0]  # a cheap first sieve, set on build
    texts = index.texts
    defining = [i for i, chunk in zip(best.tolist(), candidates[best].tolist()) if pattern.search(texts[chunk])]
    if defining:
        score = score.copy()
        score[defining] *= 1.0 + DEFINING_BONUS
    return score


def _name_starts(index: SentenceIndex, query: Query, subject: list[str]) -> list[str]:
    """How each word of X starts in the articles: the word itself when they use it, else its
    repair's stem ("flok" -> "flock"), a Snowball stem cut back where it turned y into i."""
    starts = []
    analyzer = index.analyzer
    by_word = {c.text: c for c in query.concepts}
    for word in subject:
        concept = by_word.get(word)
        if concept is None or not concept.terms or analyzer.term(word) in concept.terms:
            starts.append(word)
            continue
        stem = max(concept.terms, key=concept.terms.__getitem__)
        starts.append(stem[:-1] if stem.endswith("i") else stem)
    return starts


def _gather(
    index: SentenceIndex,
    chunks: np.ndarray,
    concepts: tuple[Concept, ...],
    postings: dict[str, TermPostings],
) -> tuple[np.ndarray, np.ndarray]:
    """For each concept and each of `chunks`: the weighted BM25 gain (`matched[0]`) and, if
    matched, the weighted IDF (`matched[1]`). Also each concept's weight (its best term's
    weighted IDF).

    Whole arrays, a fixed number of numpy steps whatever the question: in a small corpus
    the time goes into the number of steps, not their size."""
    found = list(postings.values())
    term_gain, present = _term_gains(index, found, chunks)

    # Each concept's weight for each term (0 for a term not its own), and that times the term's IDF.
    row_of = {term: i for i, term in enumerate(postings)}
    by_weight = [[0.0] * len(found) for _ in concepts]
    by_idf = [[0.0] * len(found) for _ in concepts]
    for concept, weight_row, idf_row in zip(concepts, by_weight, by_idf):
        for term, weight in concept.terms.items():
            i = row_of[term]
            weight_row[i] = weight
            idf_row[i] = weight * found[i].idf
    w = np.array((by_weight, by_idf))  # (2, concepts, terms)
    # (2, concepts, terms, chunks): gains and IDFs where matched; the best term of each concept.
    weighted = w[:, :, :, None] * np.array((term_gain, present), dtype=np.float64)[:, None]
    matched = weighted.max(axis=2)
    additive = [row for row, concept in enumerate(concepts) if concept.additive]
    if additive:
        matched[0, additive] = weighted[0, additive].sum(axis=1)
    return matched, w[1].max(axis=1)


def _term_gains(index: SentenceIndex, found: list[TermPostings], chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every question term's gain in every one of `chunks` (terms, chunks), 0 where absent,
    and where it is present."""
    table = index.dense_gains
    if table is not None:
        # A small corpus: read them off the dense table (every gain is > 0).
        term_gain = table[[f.term_id for f in found]].take(chunks, axis=1)
        return term_gain, term_gain > 0
    # A chunk's place in each term's (sorted) postings by binary search, term by term: one
    # search over all terms' postings laid end to end would first copy every posting of a
    # common word, work that grows with the corpus (tens of MB a question at 10M sentences).
    present = np.empty((len(found), len(chunks)), dtype=bool)
    term_gain = np.empty((len(found), len(chunks)), dtype=np.float32)
    search = index.postings_search
    for row, f in enumerate(found):
        at = search.positions(f.term_id, f.chunks, _like(chunks, f.chunks))
        np.equal(f.chunks.take(at, mode="clip"), chunks, out=present[row])
        np.multiply(f.gains.take(at, mode="clip"), present[row], out=term_gain[row])
    return term_gain, present


def _candidates(
    index: SentenceIndex,
    concepts: tuple[Concept, ...],
    postings: dict[str, TermPostings],
    exhaustive: bool = False,
) -> tuple[np.ndarray, bool]:
    """Sorted chunk numbers worth ranking exactly: every chunk with a question term, or,
    where those are many in a large corpus, the `CONTEXT_POOL` of them with the best own
    score, found without scoring them all (`_best_by_impact`). Either way `rank` goes on
    with the very same chunks, so a large corpus ranks as a small one would: surely when
    the second value is True, else very likely (see `DEPTH_LIMIT`)."""
    found = [p.chunks for p in postings.values()]
    total = sum(map(len, found))
    if exhaustive or index.dense_gains is not None or total <= PRUNE_FROM_POSTINGS:
        return (_sorted_unique(np.concatenate(found)) if total else np.zeros(0, dtype=np.int32)), True
    return _best_by_impact(index, concepts, postings, CONTEXT_POOL)


def _best_by_impact(
    index: SentenceIndex, concepts: tuple[Concept, ...], postings: dict[str, TermPostings], n: int
) -> tuple[np.ndarray, bool]:
    """The n chunks with the best own score (`_own_scores`; ties: the earlier chunk), as
    `_top` would choose them from every chunk holding a question term, without scoring
    every such chunk (`index.impact_order`). Sorted chunk numbers, like `_candidates`.

    Each term's postings are read best gain first, to a depth that doubles; every chunk met
    is scored exactly. A chunk met in none of the lists scores at most the sum over concepts
    of the best weighted gain the concept's lists have left; once that ceiling falls below
    the n-th best score found, the n found are the n best (True). At `DEPTH_LIMIT` the
    search stops with the best found (False)."""
    impacts = index.impact_order
    scored = np.zeros(0, dtype=np.int64)  # every chunk scored so far, sorted
    best_chunks, best_own = np.zeros(0, dtype=np.int64), np.zeros(0)
    depth = 2 * n
    while True:
        met, rest = [], {}
        for term, found in postings.items():
            prefix = impacts.prefix(found.term_id, depth)
            met.append(found.chunks.take(prefix.positions))
            rest[term] = prefix.rest
        chunks = _sorted_unique(np.concatenate(met))
        if len(scored):
            at = scored.searchsorted(chunks)
            chunks = chunks[scored.take(at, mode="clip") != chunks]  # score each chunk once
            scored = np.sort(np.concatenate((scored, chunks)))
        else:
            scored = chunks.astype(np.int64)
        own = _own_scores(index, chunks, concepts, postings)
        best_chunks = np.concatenate((best_chunks, chunks))
        best_own = np.concatenate((best_own, own))
        keep = _top(best_own, best_chunks, n)
        best_chunks, best_own = best_chunks[keep], best_own[keep]
        # The most a chunk met in no list can score, in `_own_scores`' order of operations
        # (raised by MARGIN: the same floats added in another order may round differently).
        ceiling = 0.0
        for concept in concepts:
            values = [weight * rest[term] for term, weight in concept.terms.items()]
            ceiling += sum(values) if concept.additive else max(values)
        if ceiling == 0.0 or (len(best_own) == n and ceiling * MARGIN < best_own.min()):
            return np.sort(best_chunks), True
        if depth >= DEPTH_LIMIT:
            return np.sort(best_chunks), False
        depth *= 2


def _own_scores(
    index: SentenceIndex, chunks: np.ndarray, concepts: tuple[Concept, ...], postings: dict[str, TermPostings]
) -> np.ndarray:
    """Each chunk's score on its own words: the sum over concepts of `_gather`'s gain
    (the same floats: one term's gain times its weight, the best of a concept's terms or
    their sum in the postings' order, concepts added in order)."""
    search = index.postings_search
    gains = {term: _gains_at(p, chunks, search) for term, p in postings.items()}
    total = np.zeros(len(chunks))
    for concept in concepts:
        best = np.zeros(len(chunks))
        for term in postings:  # `_gather`'s order of terms
            weight = concept.terms.get(term)
            if weight:
                value = weight * gains[term]
                best = best + value if concept.additive else np.maximum(best, value)
        total += best
    return total


def _gains_at(found: TermPostings, chunks: np.ndarray, search: PostingsSearch) -> np.ndarray:
    """The term's gain (float64) in each of `chunks`, 0 where it does not occur."""
    at = search.positions(found.term_id, found.chunks, _like(chunks, found.chunks))
    gains = found.gains.take(at, mode="clip").astype(np.float64)
    gains[found.chunks.take(at, mode="clip") != chunks] = 0.0
    return gains


def _like(needles: np.ndarray, postings: np.ndarray) -> np.ndarray:
    """`needles` (chunk numbers) in the dtype of the `postings` they are looked up in: given
    int64 chunks, `searchsorted` would first copy every one of a common word's int32 postings
    to int64 (ten times the search's own time at 10M sentences). Chunk numbers fit in int32."""
    return needles if needles.dtype == postings.dtype else needles.astype(postings.dtype)


def _top(values: np.ndarray, chunks: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n highest `values`; of equal values at the n-th place, those of the
    earlier chunks. (np.argpartition alone would break such ties by where they lie in the
    array, so a pruned and an exhaustive pass could keep different ones.)"""
    if len(values) <= n:
        return np.arange(len(values))
    nth = np.partition(values, -n)[-n]
    above = np.flatnonzero(values > nth)
    tied = np.flatnonzero(values == nth)
    tied = tied[np.argsort(chunks.take(tied), kind="stable")[: n - len(above)]]
    return np.concatenate((above, tied))


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique for a 1-d array: sort, keep the first of each run. Several times faster
    than np.unique (which hashes) on the few thousand chunk numbers a question gathers."""
    values = np.sort(values)
    first = np.empty(len(values), dtype=bool)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]


_CONTEXT_WEIGHTS = np.array([[1.0], [1.0], [SECOND_NEIGHBOUR], [SECOND_NEIGHBOUR]])
"""Weight of each row of `SentenceIndex.around`: next door, then two away."""


def _pick(
    index: SentenceIndex,
    candidates: np.ndarray,
    order: np.ndarray,
    score: np.ndarray,
    confidence: np.ndarray,
    k: int,
    similarity: np.ndarray | None = None,
) -> tuple[Hit, ...]:
    """The k best candidates (`order`, best first) that say different things; each of the
    others that repeats a chosen one from another article is noted in the chosen one's `also`."""
    # Plain lists: this loop reads a few values per candidate, and numpy is slow one value at a time.
    best = candidates[order]
    chunks = best.tolist()
    scores = score[order].tolist()
    articles = index.article[best].tolist()
    around = index.around
    assert around is not None
    next_door = around[:2].take(best, axis=1).T.tolist()  # a chosen one's neighbours are its context
    terms = [index.memo.terms(c) for c in chunks]
    facts_of = index.memo.facts
    weight = index.bm25.idf.item

    def same_fact_as(a: int, b: int) -> bool:
        # The cheap test first, which most pairs fail; a sentence's facts are read only for the rest.
        return share_terms(terms[a], terms[b]) and same_fact(
            terms[a], facts_of(chunks[a]), terms[b], facts_of(chunks[b]), weight
        )

    chosen: list[int] = []  # places in `chunks`
    also: dict[int, list[int]] = {}
    # Once the passages are chosen, only sentences scoring near them can be the same
    # statement from another article; weaker ones are not worth comparing.
    floor = ALSO_REPORTED_FLOOR * max(scores) if chunks else 0.0  # re-ranked, the first need not score best
    for i, chunk in enumerate(chunks):
        if len(chosen) == k and scores[i] < floor:
            if similarity is None:
                break  # best first by score: none of the rest is near enough either
            continue  # re-ranked: a later one may still score near a chosen one
        for kept in chosen:
            if chunk in next_door[kept] or same_fact_as(kept, i):
                if articles[i] != articles[kept] and all(articles[i] != articles[j] for j in also[kept]):
                    also[kept].append(i)
                break
        else:
            if len(chosen) < k:
                chosen.append(i)
                also[i] = []
    confidences = confidence[order].tolist()
    similarities = similarity[order].tolist() if similarity is not None else [None] * len(chunks)
    return tuple(
        Hit(
            chunk=chunks[i],
            score=scores[i],
            confidence=confidences[i],
            also=tuple(chunks[j] for j in also[i]),
            similarity=similarities[i],
        )
        for i in chosen
    )
