"""Incremental index updates on a large corpus, timed as a user meets them.

    python -m benchmarks.incremental --articles 20000

On a synthetic corpus of `--articles` articles (about 19 sentences each), whose index is
built first (and cached), this times whole `qabot` processes: `qabot add` of one new
article followed by `qabot ask` about it (the acceptance figure: both together), an
edited article followed by `qabot ask` (the ask updates the index), and `qabot remove`
followed by `qabot ask`; then `qabot index`, which merges the segments back into one.
Each `qabot ask` reports whether it found the article's own sentence. The corpus is a
hard-linked copy of `benchmarks.measure`'s, so the original is never changed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.measure import RESULTS, corpus_folder

NEW_ARTICLE = """# Zeppelin cameras over Seattle

Ring said on Tuesday that it tested a zeppelin camera over Seattle during the summer. The airship
flew for three weeks and filmed the harbour, the company said in a statement.

Residents of the city had asked the council about the flights, and a spokesperson said the test has ended.
"""
QUESTION = "what did ring test over seattle?"


CPU: list[float] = []
"""CPU seconds (user + system) of each `qabot` run, in order: on a busy machine the wall time
says more about the neighbours than about qabot."""


def qabot(environment: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=environment, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return time.perf_counter() - started, done


def fresh_copy(articles: int) -> tuple[Path, Path]:
    """The synthetic corpus of `articles` articles as a fresh hard-linked copy (the source is
    never changed), and the index cache folder that goes with it (kept between runs)."""
    source = corpus_folder(articles * 20)
    folder = RESULTS / f"incremental-{articles}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder, copy_function=os.link)
    return folder, RESULTS / f"incremental-cache-{articles}"


def edit(path: Path, more: str) -> None:
    """Append `more` to the article as an editor saving it a while ago would (its time 10 s back:
    not within the 2 s freshness window). The new text goes into a new file renamed over the
    old name: the copy's files are hard links to the synthetic corpus, which writing into them
    in place would change for everyone using it."""
    edited = path.with_name(f".{path.name}.edit")
    edited.write_text(path.read_text(encoding="utf-8") + more, encoding="utf-8")
    old = time.time() - 10
    os.utime(edited, (old, old))
    os.replace(edited, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder, cache = fresh_copy(args.articles)
    environment = {
        # Without PYTHONDONTWRITEBYTECODE (set in some shells and CI images): an installed qabot
        # has its modules compiled once, so each process here should not recompile them either.
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "QABOT_CORPUS_DIR": str(folder),
        "QABOT_CACHE_DIR": str(cache),
        "QABOT_QUESTION_LOG": "false",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    seconds, built = qabot(environment, "index")
    print(f"corpus: {args.articles:,} articles; `qabot index` first: {seconds:.1f} s")
    print(built.stdout.strip())
    new_file = RESULTS / "zeppelin.md"
    new_file.write_text(NEW_ARTICLE, encoding="utf-8")
    victim = sorted(folder.glob("synthetic-*.md"))[len(list(folder.glob("*.md"))) // 2]
    rows = []
    for round_number in range(args.rounds):
        add_s, added = qabot(environment, "add", str(new_file), "--publisher", "Example Tribune", "--id", "zeppelin")
        ask_s, asked = qabot(environment, "ask", QUESTION)
        found = "zeppelin camera" in asked.stdout
        rows.append(("add + ask", add_s, ask_s, found, added.returncode, CPU[-2] + CPU[-1]))
        edit(victim, "\nA hailstorm hit the harbour in Tacoma.\n")
        ask2_s, asked2 = qabot(environment, "ask", "hailstorm harbour tacoma")
        rows.append(("edit + ask", 0.0, ask2_s, "hailstorm" in asked2.stdout, asked2.returncode, CPU[-1]))
        remove_s, removed = qabot(environment, "remove", "zeppelin")
        ask3_s, asked3 = qabot(environment, "ask", QUESTION)
        rows.append(
            ("remove + ask", remove_s, ask3_s, "zeppelin camera" not in asked3.stdout, removed.returncode, CPU[-2] + CPU[-1])
        )
        print(f"round {round_number + 1}: {added.stdout.strip().splitlines()[-2] if added.stdout else added.stderr}")
    print(f"{'step':>14} {'change s':>9} {'ask s':>7} {'total s':>8} {'CPU s':>6}  right answer")
    for name, change_s, ask_s, right, status, cpu in rows:
        total = change_s + ask_s
        print(f"{name:>14} {change_s:>9.2f} {ask_s:>7.2f} {total:>8.2f} {cpu:>6.2f}  {'yes' if right and status == 0 else 'NO'}")
    print(f"machine load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    merge_s, merged = qabot(environment, "index")
    print(f"`qabot index` afterwards (merges the segments): {merge_s:.1f} s")
    print(merged.stdout.strip().splitlines()[-2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
