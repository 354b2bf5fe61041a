"""Measure one corpus size; prints one JSON line. Run by `benchmarks.run` in a fresh process.

`--phase start` (on a corpus built before, with `--phase build`): how a start from the cached
index goes, in this one process, in order: a bot's start (`build_service(start_from_cache=True)`,
the article files not looked at) until it answers, the bot's first check of the folder in the
background (the watcher's first pass), and a start that checks every file first as `qabot ask`
does (`load_core`); wall and CPU seconds each, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from tests.support.synthetic import iter_articles as synthetic_articles
from tests.support.synthetic import questions
from corpus import render_article
from index.analysis import Analyzer
from index.cache import load_or_build
from index.progress import for_stream

RESULTS = Path(__file__).resolve().parent / "results"


def semantic_environ() -> dict[str, str]:
    """Only QABOT_SEMANTIC_MODEL is taken from the environment (`QABOT_SEMANTIC_MODEL=off python -m
    benchmarks...` measures without re-ranking); everything else is the defaults."""
    model = os.environ.get("QABOT_SEMANTIC_MODEL")
    return {"QABOT_SEMANTIC_MODEL": model} if model else {}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_worker_rss_mb() -> float:
    """The largest peak of any finished child process (the build's workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found.append(int(child))
                found.extend(_descendants(int(child)))
    except OSError:
        pass  # gone meanwhile
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB of one process, 0 if it is gone."""
    figures = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":", 1)
            figures[name.strip()] = int(value.split()[0])
    except (OSError, ValueError):
        return 0, 0
    return figures.get("Rss", 0), figures.get("Pss", 0)


SAMPLING_SHARE = 0.05
"""The most of a core PeakMemory's sampling may take: it waits at least its last sample's CPU time / this."""


class PeakMemory:
    """The largest total memory of this process and all its descendants (the build's workers),
    sampled every `interval` seconds in a thread: RSS summed (pages shared between them
    counted in each) and PSS summed (each shared page divided among its sharers: the memory
    the processes together take)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.rss_mb = self.pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            cpu = time.thread_time()
            pids = [os.getpid(), *_descendants(os.getpid())]
            figures = [_memory_kb(pid) for pid in pids]
            self.rss_mb = max(self.rss_mb, sum(r for r, _ in figures) / 1024)
            self.pss_mb = max(self.pss_mb, sum(p for _, p in figures) / 1024)
            # Reading smaps_rollup walks each process's page tables in the kernel: at 10M
            # sentences about 60 ms of CPU a sample, a seventh of a core every 0.5 s, taken
            # from the build it measures. Sampling no more than 5% of the time keeps it small.
            if self._stop.wait(max(self.interval, (time.thread_time() - cpu) / SAMPLING_SHARE)):
                return


def corpus_folder(sentences: int) -> Path:
    """The synthetic corpus as article files, written once and reused."""
    folder = RESULTS / f"corpus-{sentences}"
    done = folder / ".complete"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for article in synthetic_articles(sentences):
            (folder / f"{article.article_id}.md").write_text(render_article(article), encoding="utf-8")
        done.write_text("ok")
    return folder


def build(sentences: int) -> dict[str, float]:
    folder = corpus_folder(sentences)
    cache = RESULTS / f"cache-{sentences}"
    shutil.rmtree(cache, ignore_errors=True)  # measure a real build
    cpu = os.times()
    with PeakMemory() as peak:
        loaded = load_or_build(folder, cache, Analyzer(), progress=for_stream(sys.stderr))
    used = os.times()
    size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    return {
        "build_s": loaded.build_seconds,
        "total_first_start_s": loaded.seconds,
        "build_cpu_s": sum(used[:4]) - sum(cpu[:4]),  # user + system, this process and its workers
        "peak_build_mb": peak_rss_mb(),
        "peak_worker_mb": peak_worker_rss_mb(),
        "peak_all_rss_mb": peak.rss_mb,
        "peak_all_pss_mb": peak.pss_mb,
        "cache_mb": size / 1e6,
        "sentences": loaded.index.size,
    }


def query(sentences: int, count: int, reference_count: int) -> dict[str, float]:
    from bot.app import load_core
    from bot.settings import Settings

    folder, cache = corpus_folder(sentences), RESULTS / f"cache-{sentences}"
    started = time.perf_counter()
    core = load_core(Settings.load(environ=semantic_environ(), dotenv_path=None, corpus_dir=folder, cache_dir=cache))
    load_s = time.perf_counter() - started
    load_mb = peak_rss_mb()
    asked = questions(core.index.texts, count)
    for q in asked[:20]:
        core.answer(q)
    times, cpu = [], []
    for q in asked:
        t, c = time.perf_counter(), time.process_time()
        core.answer(q)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)  # moves far less than wall time on a busy machine
    times.sort()
    cpu.sort()
    result = {
        "load_s": load_s,
        "peak_load_mb": load_mb,
        "answer_p50_ms": statistics.median(times),
        "answer_p95_ms": times[int(0.95 * len(times))],
        "answer_cpu_p50_ms": statistics.median(cpu),
        "answer_cpu_p95_ms": cpu[int(0.95 * len(cpu))],
        "load_average": os.getloadavg()[0],
    }
    if reference_count:
        result.update(reference(core, asked[:reference_count]))
    else:  # at 10M, rank-bm25 over every sentence would take hours and tens of GB
        result.update({"reference_p50_ms": float("nan"), "reference_p95_ms": float("nan")})
    return result


def start(sentences: int) -> dict[str, float]:
    from bot.answering.answer import Outcome
    from bot.answering.core import AnsweringCore
    from bot.app import build_service, load_core
    from bot.settings import Settings

    folder, cache = corpus_folder(sentences), RESULTS / f"cache-{sentences}"
    settings = Settings.load(
        environ={**semantic_environ(), "QABOT_QUESTION_LOG": "false"}, dotenv_path=None, corpus_dir=folder, cache_dir=cache
    )
    result: dict[str, float] = {"load_average_before": os.getloadavg()[0]}

    def timed(name: str, work):  # type: ignore[no-untyped-def]
        wall, cpu = time.perf_counter(), time.process_time()
        done = work()
        result[f"{name}_s"] = round(time.perf_counter() - wall, 3)
        result[f"{name}_cpu_s"] = round(time.process_time() - cpu, 3)
        return done

    service = timed("bot_start", lambda: build_service(settings, start_from_cache=True))
    assert service.watcher is not None
    core = service.core
    assert isinstance(core, AnsweringCore)
    # Answered before the folder is checked (the core itself: service.ask would start the watcher).
    answer = core.answer(questions(core.index.texts, 1)[0])
    result["bot_answered_before_the_check"] = float(answer.outcome is not Outcome.NOT_READY)
    result["bot_first_check_pending"] = float(service.watcher.first_check_pending)
    timed("bot_first_check", service.watcher.check)  # what its watcher thread does first, here in the foreground
    service.close()
    core = timed("checked_start", lambda: load_core(settings))
    result["sentences"] = core.index.size
    result["peak_mb"] = peak_rss_mb()
    result["load_average_after"] = os.getloadavg()[0]
    return result


def reference(core, asked: list[str]) -> dict[str, float]:
    """Plain rank-bm25 BM25Plus on the same tokens: get_scores, then the top 5."""
    from rank_bm25 import BM25Plus

    analyzer = core.index.analyzer
    model = BM25Plus([analyzer.analyze(t) for t in core.index.texts])
    times = []
    for q in asked:
        tokens = analyzer.analyze(q)
        t = time.perf_counter()
        scores = model.get_scores(tokens)
        np.argsort(scores)[::-1][:5]
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"reference_p50_ms": statistics.median(times), "reference_p95_ms": times[int(0.95 * len(times))]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--reference-queries", type=int, default=200)
    parser.add_argument("--phase", choices=["all", "build", "query", "start"], default="all")
    args = parser.parse_args()
    if args.phase == "build":
        print(json.dumps(build(args.sentences)))
        return 0
    if args.phase == "start":
        print(json.dumps(start(args.sentences)))
        return 0
    if args.phase == "query":
        print(json.dumps(query(args.sentences, args.queries, args.reference_queries)))
        return 0
    # Build and query in separate processes: each phase's peak memory is its own.
    result: dict[str, float] = {}
    for phase in ("build", "query"):
        command = [sys.executable, "-m", "benchmarks.measure", "--sentences", str(args.sentences),
                   "--queries", str(args.queries), "--reference-queries", str(args.reference_queries),
                   "--phase", phase]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result.update(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
