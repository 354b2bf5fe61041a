"""The benchmark suite: prints a table of build, load, latency and memory figures.

    python -m benchmarks.run                      # 1k, 10k, 100k and 1M sentences, plus the bundled corpus
    python -m benchmarks.run --sizes 1k,10k       # a quicker run

Every corpus size runs in a fresh Python process (`benchmarks.measure`), so peak
memory is that size's alone. Synthetic corpora are generated with a fixed seed
and written as article files under benchmarks/results/ (git-ignored) the first
time. Numbers are printed, never asserted: this is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.measure import semantic_environ

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
RESULTS = Path(__file__).resolve().parent / "results"


def run_size(sentences: int, queries: int, reference_queries: int) -> dict[str, float]:
    command = [
        sys.executable, "-m", "benchmarks.measure",
        "--sentences", str(sentences), "--queries", str(queries),
        "--reference-queries", str(reference_queries),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def whole_process_ask(runs: int = 10) -> tuple[float, float]:
    """Median and best wall time of `qabot ask` on the bundled corpus, cache already warm."""
    command = [sys.executable, "-m", "bot.cli", "ask", "Why did Ring drop Flock?"]
    env = {**os.environ, "QABOT_CACHE_DIR": str(RESULTS / "cache-bundled")}
    # Warm both caches, as on any machine that has run the bot before: the index cache, and
    # Python's bytecode for our modules (unless a sandbox forbids writing it, as some do).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(command, env=env, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times)


def bundled_latency(rounds: int = 20) -> tuple[float, float]:
    """answer() median and p95 (ms) on the bundled corpus over the team's questions."""
    from bot.app import load_core
    from bot.answering.evaluation import load_questions
    from bot.settings import Settings

    core = load_core(
        Settings.load(environ=semantic_environ(), dotenv_path=None, cache_dir=RESULTS / "cache-bundled")
    )
    questions = [q.question for q in load_questions(Path(__file__).resolve().parents[1] / "eval" / "team.jsonl")]
    for question in questions:
        core.answer(question)
    times = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            core.answer(question)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * len(times))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,10k,100k,1m", help="comma-separated: 1k, 10k, 100k, 1m, 10m")
    parser.add_argument("--queries", type=int, default=300, help="questions timed per size")
    parser.add_argument(
        "--reference-queries", type=int, default=0,
        help="questions timed for plain rank-bm25 (default: 200, or 20 at 1M where it is slow)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    median, best = whole_process_ask()
    print(f"bundled corpus: `qabot ask` whole process, warm cache: median {median * 1000:.0f} ms, best {best * 1000:.0f} ms")
    median_ms, p95_ms = bundled_latency()
    print(f"bundled corpus: answer() median {median_ms:.3f} ms, p95 {p95_ms:.3f} ms")
    print()
    header = (
        f"{'sentences':>10} {'build s':>8} {'cpu s':>7} {'peak MB':>8} {'worker MB':>10} {'all MB':>7} {'cache MB':>9} {'load s':>7} "
        f"{'answer p50':>11} {'p95 ms':>7} {'cpu p50':>8} {'p95 ms':>7} {'rank-bm25 p50':>14} {'p95 ms':>8} "
        f"{'ratio p50':>10} {'load':>5}"
    )
    print(header)
    for name in args.sizes.split(","):
        sentences = SIZES[name.strip().lower()]
        # rank-bm25 keeps a Python dict per sentence: 20 questions at 1M, none at 10M.
        reference = args.reference_queries or (0 if sentences >= 10_000_000 else 20 if sentences >= 1_000_000 else 200)
        r = run_size(sentences, args.queries, reference)
        print(
            f"{r['sentences']:>10,} {r['build_s']:>8.1f} {r['build_cpu_s']:>7.0f} {r['peak_build_mb']:>8.0f} {r['peak_worker_mb']:>10.0f} "
            f"{r['peak_all_pss_mb']:>7.0f} {r['cache_mb']:>9.0f} "
            f"{r['load_s']:>7.2f} {r['answer_p50_ms']:>11.2f} {r['answer_p95_ms']:>7.2f} "
            f"{r['answer_cpu_p50_ms']:>8.2f} {r['answer_cpu_p95_ms']:>7.2f} "
            f"{r['reference_p50_ms']:>14.1f} {r['reference_p95_ms']:>8.1f} "
            f"{r['reference_p50_ms'] / r['answer_p50_ms']:>9.1f}x {r['load_average']:>5.1f}",
            flush=True,
        )
    print()
    print("sentences: as split (the generator writes 1k/10k/100k/1M; the splitter joins a few);")
    print("build: reading, splitting, analysis and BM25 from the article files (large corpora: in 2 worker")
    print("processes, written straight to disk), wall time; cpu: user + system CPU of the build and its")
    print("workers; peak MB: the building process's")
    print("max RSS; worker MB: the largest build worker's (large corpora are analysed in 2 processes);")
    print("all MB: the most the building process and its workers took together (summed PSS, sampled);")
    print("load: a fresh process reading the cached index (fingerprinting the article files included);")
    print("answer: answer() end to end, wall time, and cpu: its CPU time (process_time, every thread), which a")
    print("busy machine moves far less; load: the 1-minute load average after the size's answers;")
    print("rank-bm25: BM25Plus.get_scores + top 5 on the same tokens.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

