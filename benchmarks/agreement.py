"""How often the large-corpus ranking differs from scoring every sentence.

    python -m benchmarks.agreement --sentences 1000000 --queries 300

In a large corpus `index.selection` does not score every sentence holding a question
word: it reads each word's postings best gain first and stops once no sentence not yet
met can reach the best `CONTEXT_POOL` (then the ranking is exact, `Ranking.exact`), or at
`DEPTH_LIMIT` (then it ranks from what it read). This prints how many questions were
proved exact, how many have the same top 3 passages (sentence, order and score) and the
same first passage as `rank(..., exhaustive=True)`, which scores every sentence holding a
question word, and the CPU time of each way (the lexical ranking alone, no re-ranking).
The corpus and its cached index are the ones `benchmarks.measure` makes (built here if
missing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from benchmarks.measure import RESULTS, corpus_folder
from bot.app import load_core
from bot.settings import Settings
from index.query import parse_question
from index.selection import Ranking, rank
from tests.support.synthetic import questions


def passages(ranking: Ranking) -> tuple[tuple[int, float], ...]:
    return tuple((h.chunk, round(h.score, 6)) for h in ranking.hits)


def percentiles(times: list[float]) -> str:
    times = sorted(times)
    return f"p50 {statistics.median(times):.2f} ms, p95 {times[int(0.95 * len(times))]:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    folder = corpus_folder(args.sentences)
    settings = Settings.load(
        environ={"QABOT_SEMANTIC_MODEL": "off"}, dotenv_path=None, corpus_dir=folder,
        cache_dir=RESULTS / f"cache-{args.sentences}", top_k=3,
    )
    core = load_core(settings)
    index = core.index
    parsed = [parse_question(q, index.analyzer, core.vocabulary, core.lexicon) for q in questions(list(index.texts), args.queries, seed=11)]
    asked = [q for q in parsed if q.known_concepts]
    for query in asked:  # first use of each term: its gains and best-first order, as a running bot has them
        rank(index, query, 3)
    pruned, full, pruned_ms, full_ms = [], [], [], []
    for query in asked:
        started = time.process_time()
        pruned.append(rank(index, query, 3))
        pruned_ms.append((time.process_time() - started) * 1000)
        started = time.process_time()
        full.append(rank(index, query, 3, exhaustive=True))
        full_ms.append((time.process_time() - started) * 1000)
    answered = [i for i, f in enumerate(full) if f.hits]
    count = len(answered)
    proved = sum(1 for i in answered if pruned[i].exact)
    same = sum(1 for i in answered if passages(pruned[i]) == passages(full[i]))
    first = sum(1 for i in answered if passages(pruned[i])[:1] == passages(full[i])[:1])
    wrong_exact = sum(1 for i in answered if pruned[i].exact and passages(pruned[i]) != passages(full[i]))
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"sentences: {index.size:,}; questions with passages: {count} of {len(parsed)}")
    print(f"proved exact:                        {proved} of {count} ({proved / count:.1%})")
    print(f"top 3 identical (sentence, order, score): {same} of {count} ({same / count:.1%})")
    print(f"top 1 identical:                     {first} of {count} ({first / count:.1%})")
    print(f"proved exact but different (must be 0): {wrong_exact}")
    print(f"rank() CPU time: pruned {percentiles(pruned_ms)}; every sentence scored {percentiles(full_ms)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
