"""Each term's postings with the highest gains first, to the depth a question needs: what
ranks a large corpus exactly without scoring every sentence that holds a question word
(`selection._best_by_impact`, a threshold algorithm in the manner of Fagin's TA).

A sentence's own score adds, concept by concept, the best weighted gain among the
concept's terms. Reading every question term's postings from its highest gain down, a
sentence not met yet in any of them scores at most the sum of what each list has left
(its next gain); once that falls below the score already at the last place wanted, no
unread sentence can enter, and the ranking is the one scoring every sentence would give.
For a word in half the sentences the best few hundred gains are its shortest sentences,
so the lists are rarely read deep.

`ImpactOrder.prefix(term_id, depth)` gives the term's `depth` best postings (positions in
its postings, best first) and the highest gain left after them. It is computed from the
arrays `BM25PlusIndex.postings` returns, the first time a question needs that depth (one
partial sort of the term's gains, O(postings)), and remembered, up to `CACHE_POSTINGS`
positions in all, so nothing on disk changes and any index giving those arrays works.

Failure behaviour: none expected; the inputs are the index's own arrays. Safe across
threads (a race only computes a prefix twice).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

CACHE_POSTINGS = 16_000_000
"""Positions remembered over all terms (4 bytes each: at most 64 MB); when full, the cache starts again."""
FIRST_DEPTH = 4096
"""The depth first computed for a term (past `selection.DEPTH_LIMIT`, so a term costs one pass
over its postings, not one per depth); a deeper question recomputes at four times the depth."""


class PostingsSource(Protocol):
    """What `ImpactOrder` needs of an index (`BM25PlusIndex` is one)."""

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(the chunks holding the term, sorted; the term's gain in each)."""
        ...


class Prefix(NamedTuple):
    positions: np.ndarray
    """Places in the term's postings of its best gains, best first (equal gains in posting order)."""
    rest: float
    """The highest gain among the postings not in `positions` (0.0 when there are none)."""


class ImpactOrder:
    """Best-gain-first prefixes of one index's postings, computed on first use."""

    def __init__(self, postings: PostingsSource, capacity: int = CACHE_POSTINGS) -> None:
        self._postings = postings
        self._capacity = capacity
        self._found: dict[int, Prefix] = {}
        self._held = 0

    def prefix(self, term_id: int, depth: int) -> Prefix:
        """The term's `depth` best postings (all of them if it has fewer)."""
        found = self._found.get(term_id)
        if found is not None and (len(found.positions) >= depth or found.rest == 0.0):
            return Prefix(found.positions[:depth], _rest_after(found, depth, self._postings.postings(term_id)[1]))
        _, gains = self._postings.postings(term_id)
        # Compute a little deeper than asked, so that a question going one step further reuses it.
        kept = best_first(gains, max(depth, FIRST_DEPTH, 4 * len(found.positions) if found else 0))
        if self._held + len(kept.positions) > self._capacity:
            self._found.clear()  # simple and bounded; the terms in use come back at once
            self._held = 0
        self._found[term_id] = kept
        self._held += len(kept.positions)
        return Prefix(kept.positions[:depth], _rest_after(kept, depth, gains))


def best_first(gains: np.ndarray, depth: int) -> Prefix:
    """The places of the `depth` highest of `gains`, highest first, equal gains in posting
    order (so a prefix is the same whatever depth was computed), and the highest of the rest."""
    if depth >= len(gains):
        return Prefix(np.argsort(-gains, kind="stable"), 0.0)
    # np.partition, not argpartition of -gains: no index array and no negated copy of a
    # common word's gains (a quarter of the time at 5M postings).
    below = len(gains) - depth
    parted = np.partition(gains, below)
    nth = parted[below]  # the depth-th highest gain; parted[:below] holds the lower ones
    above = np.flatnonzero(gains > nth)
    tied = np.flatnonzero(gains == nth)
    positions = np.concatenate((above, tied[: depth - len(above)]))
    positions = positions[np.lexsort((positions, -gains.take(positions)))]
    if len(above) + len(tied) > depth:
        rest = float(nth)  # some of the tied are left
    else:
        rest = float(parted[:below].max()) if below else 0.0  # every tied one was taken: the rest are lower
    return Prefix(positions, rest)


def _rest_after(found: Prefix, depth: int, gains: np.ndarray) -> float:
    """The highest gain not among the first `depth` of `found`."""
    if depth < len(found.positions):
        return float(gains[found.positions[depth]])
    return found.rest
