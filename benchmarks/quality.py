"""Answer quality on every question set, qabot beside plain BM25Plus over the same sentences.

    python -m benchmarks.quality                       # shared sets from ../shared/eval
    python -m benchmarks.quality --shared /path/to/shared/eval --markdown

One table: for each set (the shared dev set, the team's set, the chat set's tune and test halves,
the casual set (held out), the off-topic set, SQuAD 2.0 dev on its own articles), qabot and the BM25Plus baseline
(`bot.answering.evaluation.BaselineAnswerer`: rank-bm25's BM25Plus on the index's sentence tokens, top 3,
no declines): Hit@1, Hit@3 and MRR over the answerable questions, answerable questions wrongly
declined, unanswerable ones declined, and answer latency; headed by the git commit measured.
Settings come from an empty environment (the default install, top 3 passages) unless
`--use-environment` is given (for example to measure an optional model setting).
A set whose file is missing is listed as missing, not fatal. Numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.answering.core import AnsweringCore
from bot.app import core_over
from bot.answering.evaluation import BaselineAnswerer, EvalQuestion, EvalReport, evaluate, load_questions, select_split
from bot.settings import Settings
from corpus import BUNDLED_DIR
from index.analysis import Analyzer
from index.cache import load_or_build

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class QuestionSet:
    name: str
    file: Path
    corpus: Path
    split: str | None = None


def question_sets(shared: Path) -> list[QuestionSet]:
    squad = shared / "squad2-dev"
    return [
        QuestionSet("shared dev", shared / "dev.jsonl", BUNDLED_DIR),
        QuestionSet("team", REPO / "eval" / "team.jsonl", BUNDLED_DIR),
        QuestionSet("chat tune", REPO / "eval" / "chat.jsonl", BUNDLED_DIR, "tune"),
        QuestionSet("chat test", REPO / "eval" / "chat.jsonl", BUNDLED_DIR, "test"),
        QuestionSet("casual (held out)", REPO / "eval" / "casual.jsonl", BUNDLED_DIR),
        QuestionSet("offtopic", REPO / "eval" / "offtopic.jsonl", BUNDLED_DIR),
        QuestionSet("squad2-dev", squad / "questions.jsonl", squad / "articles"),
    ]


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    # Uncommitted changes to tracked files mean the figures are not the commit's.
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def measure(
    sets: list[QuestionSet], use_environment: bool, cache_dir: Path = RESULTS / "cache-quality"
) -> list[tuple[QuestionSet, EvalReport, EvalReport]]:
    results = []
    answerers: dict[Path, tuple[AnsweringCore, BaselineAnswerer]] = {}
    for qset in sets:
        if not qset.file.exists() or not qset.corpus.is_dir():
            print(f"missing: {qset.name} ({qset.file})", file=sys.stderr)
            continue
        questions: list[EvalQuestion] = select_split(load_questions(qset.file), qset.split)
        if qset.corpus not in answerers:
            overrides = dict(corpus_dir=qset.corpus, cache_dir=cache_dir, top_k=3)
            settings = (
                Settings.load(**overrides)
                if use_environment
                else Settings.load(environ={}, dotenv_path=None, **overrides)
            )
            loaded = load_or_build(settings.corpus_dir, settings.cache_dir, Analyzer())
            answerers[qset.corpus] = (
                core_over(loaded, settings),
                BaselineAnswerer.from_index(loaded.articles, loaded.index, top_k=settings.top_k),
            )
        core, baseline = answerers[qset.corpus]
        for question in questions[:20]:
            core.answer(question.question)  # warm-up: first answers fill caches, not what users wait on
        results.append(
            (qset, evaluate(core, questions, "qabot"), evaluate(baseline, questions, "BM25Plus"))
        )
    return results


def _count(done: int, total: int) -> str:
    return f"{done}/{total}" if total else "-"


def rows(results: list[tuple[QuestionSet, EvalReport, EvalReport]]) -> list[list[str]]:
    table = []
    for qset, *reports in results:
        for report in reports:
            s = report.overall
            hits = [f"{s.hit_at_1:.2f}", f"{s.hit_at_3:.2f}", f"{s.mrr:.2f}"] if s.questions else ["-"] * 3
            table.append(
                [
                    qset.name,
                    report.system,
                    str(s.questions + s.unanswerable),
                    *hits,
                    _count(s.wrongly_declined, s.questions),
                    _count(s.declined, s.unanswerable),
                    f"{s.median_ms:.2f}",
                    f"{s.p95_ms:.2f}",
                ]
            )
    return table


HEADER = ["set", "system", "questions", "Hit@1", "Hit@3", "MRR", "wrongly declined", "unanswerable declined",
          "median ms", "p95 ms"]


def format_table(table: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in table]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [HEADER, *table]) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in [HEADER, *table]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=REPO.parent / "shared" / "eval",
        help="folder of the shared sets (dev.jsonl, squad2-dev/); default ../shared/eval beside the repo",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    parser.add_argument("--json", action="store_true", help="print every report as JSON instead of the table")
    parser.add_argument(
        "--use-environment", action="store_true", help="read QABOT_* settings from the environment and .env"
    )
    args = parser.parse_args()
    commit = git_commit()
    results = measure(question_sets(args.shared), args.use_environment)
    if args.json:
        print(json.dumps(
            {"commit": commit, "sets": [
                {"set": q.name, "qabot": a.to_dict(), "bm25plus": b.to_dict()} for q, a, b in results
            ]},
            indent=2, ensure_ascii=False,
        ))
        return 0
    print(f"commit {commit}; top 3 passages; BM25Plus = rank-bm25 BM25Plus on the same sentences, no declines")
    print(format_table(rows(results), args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
