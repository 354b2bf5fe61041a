"""How often the large-corpus ranking's top 3 differs from exhaustive ranking.

    python -m benchmarks.agreement --sentences 1000000 --queries 300

Large corpora rank in two passes (`index.selection`): a very common term (in over 2% of
sentences) contributes only its impact list of best sentences to the candidates, the
quick first pass keeps `SHORTLIST` of them, and only `CONTEXT_POOL` are scored with
context. Exhaustive ranking scores every sentence holding a question term, with context.
This prints the share of questions whose top 3 passages (sentence and order) are the
same both ways, and the time each way takes. The corpus and its cached index are the
ones `benchmarks.measure` makes (built here if missing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from typing import Iterator

from benchmarks.measure import RESULTS, corpus_folder
from bot.app import load_core
from bot.settings import Settings
from index import selection
from tests.support.synthetic import questions




@contextmanager
def exhaustive(core) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Rank every sentence that holds a question term, all with context: no impact lists,
    no shortlist, no context pool."""
    bm25 = core.index.bm25
    saved = (selection.SHORTLIST, selection.CONTEXT_POOL, bm25.impact)
    selection.SHORTLIST = selection.CONTEXT_POOL = 10**12
    bm25.impact = {}
    try:
        yield
    finally:
        selection.SHORTLIST, selection.CONTEXT_POOL, bm25.impact = saved


def top(core, question: str, k: int = 3) -> tuple[tuple[str, float], ...]:  # type: ignore[no-untyped-def]
    return tuple((p.sentence, round(p.score, 4)) for p in core.answer(question).passages[:k])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    folder = corpus_folder(args.sentences)
    settings = Settings.load(
        environ={}, dotenv_path=None, corpus_dir=folder, cache_dir=RESULTS / f"cache-{args.sentences}", top_k=3
    )
    core = load_core(settings)
    asked = questions(list(core.index.texts), args.queries, seed=11)
    pruned_ms, full_ms = [], []
    pruned, full = [], []
    for question in asked:
        started = time.perf_counter()
        pruned.append(top(core, question))
        pruned_ms.append((time.perf_counter() - started) * 1000)
    with exhaustive(core):
        for question in asked:
            started = time.perf_counter()
            full.append(top(core, question))
            full_ms.append((time.perf_counter() - started) * 1000)
    answered = [i for i, f in enumerate(full) if f]
    same = sum(1 for i in answered if pruned[i] == full[i])
    same_set = sum(1 for i in answered if {t for t, _ in pruned[i]} == {t for t, _ in full[i]})
    first = sum(1 for i in answered if pruned[i][:1] == full[i][:1])
    print(f"sentences: {core.index.size:,}; questions with passages: {len(answered)} of {len(asked)}")
    print(f"top 3 identical (same sentences, same order): {same} of {len(answered)} ({same / len(answered):.1%})")
    print(f"top 3 same sentences, any order:              {same_set} of {len(answered)} ({same_set / len(answered):.1%})")
    print(f"top 1 identical:                              {first} of {len(answered)} ({first / len(answered):.1%})")
    for name, times in (("pruned", pruned_ms), ("exhaustive", full_ms)):
        times.sort()
        print(f"{name:>10}: answer() p50 {statistics.median(times):.1f} ms, p95 {times[int(0.95 * len(times))]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
