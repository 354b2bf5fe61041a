"""`qabot ask`, `qabot index`, `qabot eval`: the answering core in a terminal, no platform needed.

Only the core is imported here; the chat libraries never load for these commands. A corpus
that cannot be loaded raises `CorpusError`, which `bot.cli.main` turns into one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING

from bot.errors import ExitCode
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.answering.core import AnsweringCore


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    asking = sub.add_parser("ask", help="answer a question in the terminal (no question: ask interactively)")
    asking.add_argument("question", nargs="*", help="the question (quote it, or it is joined from the words)")
    asking.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    asking.set_defaults(handler=ask)

    indexing = sub.add_parser("index", help="build the index (or load it from the cache) and say what it holds")
    indexing.set_defaults(handler=show_index)

    evaluating = sub.add_parser("eval", help="measure answer quality on a JSON Lines file of questions")
    evaluating.add_argument("file", help="questions with expected answers, e.g. ../shared/eval/dev.jsonl")
    evaluating.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluating.set_defaults(handler=run_eval)


def _core(settings: Settings) -> AnsweringCore:
    from bot.app import load_core

    return load_core(settings)


def ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.terminal import render

    core = _core(settings)
    color = sys.stdout.isatty() and not args.json
    if args.question:
        questions = [" ".join(args.question)]
    elif sys.stdin.isatty():
        return _interactive(core, color)
    else:
        questions = [line for line in sys.stdin.read().splitlines() if line.strip()] or [""]
    for question in questions:
        answer = core.answer(question)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False))
        else:
            print(render(answer, color=color))
    return ExitCode.OK


def _interactive(core: AnsweringCore, color: bool) -> int:
    from bot.adapters.terminal import render

    print("Ask a question about the articles (an empty line or Ctrl-D quits).")
    while True:
        try:
            question = input("\n? ")
        except EOFError:
            print()
            return ExitCode.OK
        if not question.strip():
            return ExitCode.OK
        print(render(core.answer(question), color=color))


def show_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.analysis import Analyzer
    from index.cache import cache_path, load_or_build

    started = time.perf_counter()
    loaded = load_or_build(settings.corpus_dir, settings.cache_dir, Analyzer())
    index = loaded.index
    print(f"articles:  {len(loaded.articles)}  ({settings.corpus_dir})")
    print(f"sentences: {index.size}")
    print(f"terms:     {index.term_count}")
    how = "loaded from cache" if loaded.from_cache else "built"
    print(f"index:     {how} in {time.perf_counter() - started:.2f} s")
    print(f"cache:     {cache_path(settings.cache_dir, settings.corpus_dir, loaded.key)}")
    return ExitCode.OK


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from bot.answering.evaluation import evaluate, load_questions

    questions = load_questions(args.file)  # EvalFileError: one line from main()
    # Hit@3 needs at least three passages per answer.
    core = _core(replace(settings, top_k=max(settings.top_k, 3)))
    report = evaluate(core, questions)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.to_text())
    return ExitCode.OK
