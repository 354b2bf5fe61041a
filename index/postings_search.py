"""Finding many chunks in one term's long postings at once, in fewer cache misses than a
binary search over all of them.

Ranking a large corpus looks up a few thousand chunks in each question term's postings
(`selection._gains_at`). A common word's postings at 10M sentences are millions of int32
chunk numbers, tens of MB: `searchsorted` takes about 22 steps per chunk, most of them
cache misses. Here every `BLOCK`-th posting of a term, kept (1/BLOCK of its postings, small
enough to stay in cache), finds the block each chunk lies in, and a binary search within
the blocks, all chunks at once, finishes in log2(BLOCK) steps over nearby memory.

`PostingsSearch.positions` gives exactly `postings.searchsorted(chunks)` (tests compare
them); short postings are searched by `searchsorted` itself.

Failure behaviour: none expected; the inputs are the index's own sorted postings. Safe
across threads (a race only computes a term's samples twice).
"""

from __future__ import annotations

import numpy as np

BLOCK = 128
"""Postings per block: the samples are 1/128 of the postings; the search within a block takes 7 steps."""
FROM_POSTINGS = 1 << 18
"""Shorter postings (1 MB) are searched by `searchsorted`: they are mostly in cache anyway."""
CACHE_SAMPLES = 4_000_000
"""Samples remembered over all terms (4 bytes each: at most 16 MB); when full, the cache starts again."""


class PostingsSearch:
    """Each long term's every BLOCK-th posting, computed on first use and remembered."""

    def __init__(self, capacity: int = CACHE_SAMPLES) -> None:
        self._capacity = capacity
        self._samples: dict[int, np.ndarray] = {}
        self._held = 0

    def positions(self, term_id: int, postings: np.ndarray, chunks: np.ndarray) -> np.ndarray:
        """`postings.searchsorted(chunks)` (the first place holding a chunk at least as large);
        `postings` are term `term_id`'s, sorted, and `chunks` of the same dtype."""
        if len(postings) < FROM_POSTINGS:
            return postings.searchsorted(chunks)
        samples = self._samples.get(term_id)
        if samples is None:
            samples = postings[::BLOCK].copy()
            if self._held + len(samples) > self._capacity:
                self._samples.clear()  # simple and bounded; the common words come back at once
                self._held = 0
            self._samples[term_id] = samples
            self._held += len(samples)
        return within_blocks(postings, samples, chunks)


def within_blocks(postings: np.ndarray, samples: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """`postings.searchsorted(chunks)`, given `samples = postings[::BLOCK]`."""
    size = len(postings)
    block = samples.searchsorted(chunks)  # the first block starting at or past each chunk
    # postings[low] < chunk (or low == 0), and the answer is in (low, high].
    low = np.maximum(block - 1, 0) * BLOCK
    high = np.minimum(block * BLOCK, size)
    step = BLOCK
    while step > 1:
        step //= 2
        middle = low + step
        below = postings.take(np.minimum(middle, size - 1)) < chunks
        below &= middle < high
        low = np.where(below, middle, low)
    # low is now the last place below the chunk, except where none is (then low == 0).
    return np.where(postings.take(low) < chunks, low + 1, low)
