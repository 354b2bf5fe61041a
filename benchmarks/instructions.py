"""CPU instructions per answer on the bundled corpus, counted by valgrind's callgrind.

    python -m benchmarks.instructions            # needs valgrind; about a minute

Wall-clock time on a shared 2-core machine moves by a third from one run to the next;
the number of instructions an answer executes does not (it changes only with the code,
Python and numpy). So this is the figure to compare two versions of the ranking by,
and `benchmarks.run` gives the times. It runs the team's questions through
`AnsweringCore.answer` `--rounds` times and once not at all, in two processes under
callgrind, and prints the difference per answer (start-up and imports cancel out).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.measure import semantic_environ
from benchmarks.run import RESULTS

TEAM_QUESTIONS = Path(__file__).resolve().parents[1] / "eval" / "team.jsonl"


def team_questions() -> list[str]:
    from bot.answering.evaluation import load_questions

    return [q.question for q in load_questions(TEAM_QUESTIONS)]


def answer_questions(rounds: int) -> None:
    """Answer the team's questions `rounds` times, after one warm-up round."""
    from bot.app import load_core
    from bot.settings import Settings

    core = load_core(
        Settings.load(environ=semantic_environ(), dotenv_path=None, cache_dir=RESULTS / "cache-bundled")
    )
    questions = team_questions()
    for question in questions:
        core.answer(question)  # warm-up: stem and term caches, lazily imported modules
    for _ in range(rounds):
        for question in questions:
            core.answer(question)


def collected_instructions(rounds: int) -> int:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "benchmarks.instructions", "--answer-only", str(rounds),
    ]
    # A fixed hash seed and one BLAS thread: the same instructions on every run.
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no total:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="times the questions are asked")
    parser.add_argument("--answer-only", type=int, metavar="ROUNDS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.answer_only is not None:
        answer_questions(args.answer_only)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    answer_questions(0)  # builds the bundled cache, if needed, outside valgrind
    asked = len(team_questions()) * args.rounds
    with_answers = collected_instructions(args.rounds)
    without = collected_instructions(0)
    print(f"bundled corpus: answer() executes {(with_answers - without) / asked / 1000:,.0f} thousand "
          f"instructions per question (callgrind, {asked} answers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
