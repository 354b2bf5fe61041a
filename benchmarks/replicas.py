"""Memory of bot replicas sharing one memory-mapped index on one host.

    python -m benchmarks.replicas --sentences 1000000 --replicas 2

Starts `--replicas` processes that each load the cached index (as a bot does at start)
and answer 100 questions, then prints each one's resident set size (RSS) and
proportional set size (PSS, from /proc/PID/smaps_rollup: a page shared by n processes
counts 1/n to each), and how much of it is file-backed and shared. The index's arrays
are mapped read-only from the cache files, so their pages are the page cache's, shared
by every replica. The corpus and its cached index are `benchmarks.measure`'s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.measure import RESULTS, corpus_folder

REPLICA = """
import sys
from pathlib import Path
from bot.app import load_core
from bot.settings import Settings
from tests.support.synthetic import questions
settings = Settings.load(environ={}, dotenv_path=None, corpus_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
core = load_core(settings)
texts = core.index.texts
for question in questions([texts[i] for i in range(0, core.index.size, max(1, core.index.size // 2000))], 100):
    core.answer(question)
print("ready", flush=True)
sys.stdin.readline()
"""


def rollup(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/smaps_rollup."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        figures[name.strip()] = int(value.split()[0])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1_000_000)
    parser.add_argument("--replicas", type=int, default=2)
    args = parser.parse_args()
    folder = corpus_folder(args.sentences)
    cache = RESULTS / f"cache-{args.sentences}"
    processes = []
    try:
        for _ in range(args.replicas):
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-c", REPLICA, str(folder), str(cache)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit("a replica did not start")
            processes.append((process, time.perf_counter() - started))
        print(f"{args.replicas} replicas, each loaded the index and answered 100 questions ({args.sentences:,} sentences)")
        print(f"{'replica':>8} {'start s':>8} {'RSS MB':>8} {'PSS MB':>8} {'shared MB':>10} {'private MB':>11}")
        for number, (process, seconds) in enumerate(processes, start=1):
            f = rollup(process.pid)
            shared = f["Shared_Clean"] + f["Shared_Dirty"]
            private = f["Private_Clean"] + f["Private_Dirty"]
            print(
                f"{number:>8} {seconds:>8.2f} {f['Rss'] / 1024:>8.0f} {f['Pss'] / 1024:>8.0f} "
                f"{shared / 1024:>10.0f} {private / 1024:>11.0f}"
            )
        index_mb = sum(p.stat().st_size for p in cache.rglob("*.npy")) / 1e6
        print(f"the index's arrays on disk: {index_mb:.0f} MB (mapped by every replica, held once in the page cache)")
    finally:
        for process, _ in processes:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
