"""The question log's cost per question, in SQLite and in PostgreSQL: what a replica pays to log.

    python -m benchmarks.question_log                 # 2,000 questions, 1 and 8 threads
    python -m benchmarks.question_log --questions 500

PostgreSQL is a real server started for the run (Debian's initdb/pg_ctl in a temporary folder,
on 127.0.0.1, as the tests start it, but with fsync on), so its figures include a loopback round
trip per statement; a server on another machine adds that network's. SQLite runs as the bot runs
it: autocommit, secure_delete on, its default journal and synchronous mode (an fsync per write). Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from bot.answering.answer import Vote
from bot.answering.core import AnsweringCore
from bot.app import load_core
from bot.settings import Settings
from bot.stores.questionlog.report import read_answers
from bot.stores.questionlog.store import QuestionLog
from tests.support.postgres_server import start_postgres

SECRET = "benchmark secret, long enough to be a key, 0123456789"
QUESTIONS = ["Why did Ring drop Flock?", "who owns ring", "what's the capital of australia"]


def measure(log: QuestionLog, core: AnsweringCore, questions: int, threads: int) -> dict[str, float]:
    answers = [core.answer(q) for q in QUESTIONS]

    def one(n: int) -> float:
        started = time.perf_counter()
        answer_id = log.record(
            answers[n % len(answers)], question=QUESTIONS[n % len(QUESTIONS)], platform="slack", user_key=f"u{n % 97}"
        )
        log.record_feedback(answer_id, f"v{n % 31}", Vote.UP if n % 2 else Vote.DOWN)
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        latencies = sorted(pool.map(one, range(questions)))
    elapsed = time.perf_counter() - started
    return {
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "per_second": questions / elapsed,
    }


def report_seconds(read: Callable[[], object]) -> float:
    started = time.perf_counter()
    read()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qabot-log-bench-"))
    core = load_core(Settings.load(environ={}, dotenv_path=None, cache_dir=folder / "cache"))
    server = start_postgres(durable=True)  # fsync on, like SQLite's default: a fair comparison
    try:
        print(f"{args.questions} questions, each logged and voted on (record + record_feedback)")
        print(f"{'database':<12} {'threads':>7} {'median ms':>10} {'p95 ms':>8} {'per second':>11} {'report s':>9}")
        for threads in (1, 8):
            sqlite_path = folder / f"questions-{threads}.sqlite3"
            database_url = server.new_database()
            places: list[tuple[str, Callable[[], QuestionLog], Callable[[QuestionLog], object]]] = [
                (
                    "sqlite",
                    lambda p=sqlite_path: QuestionLog.open(p, secret=SECRET),
                    lambda _log, p=sqlite_path: read_answers(p),
                ),
                (
                    "postgresql",
                    lambda url=database_url: QuestionLog.open_postgres(url, secret=SECRET),
                    lambda log: read_answers(log.database),
                ),
            ]
            for name, open_log, read in places:
                log = open_log()
                figures = measure(log, core, args.questions, threads)
                seconds = report_seconds(lambda log=log, read=read: read(log))
                log.close()
                print(
                    f"{name:<12} {threads:>7} {figures['median_ms']:>10.2f} {figures['p95_ms']:>8.2f}"
                    f" {figures['per_second']:>11.0f} {seconds:>9.3f}"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
