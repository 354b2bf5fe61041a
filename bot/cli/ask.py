"""`qabot ask`, `qabot index`, `qabot eval`: the answering core in a terminal, no platform needed.

Only the core is imported here; the chat libraries never load for these commands. A corpus
that cannot be loaded raises `CorpusError`, which `bot.cli.main` turns into one line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.errors import ExitCode
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.answering.core import AnsweringCore
    from corpus import CorpusFileError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    asking = sub.add_parser("ask", help="answer a question in the terminal (no question: ask interactively)")
    asking.add_argument("question", nargs="*", help="the question (quote it, or it is joined from the words)")
    asking.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    asking.add_argument(
        "--conversation",
        action="store_true",
        help="read the questions on standard input as one conversation: follow-ups such as "
        "'why?' or 'tell me more' are read with the earlier questions (with --json: one JSON "
        "object a line, with follow_up_of)",
    )
    asking.set_defaults(handler=ask)

    indexing = sub.add_parser("index", help="build the index (or load it from the cache) and say what it holds")
    indexing.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 if any article file is broken (a check of the corpus, e.g. in CI)",
    )
    indexing.set_defaults(handler=show_index)

    evaluating = sub.add_parser("eval", help="measure answer quality on a JSON Lines file of questions")
    evaluating.add_argument("file", help="questions with expected answers, e.g. ../shared/eval/dev.jsonl")
    evaluating.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluating.add_argument(
        "--corpus", metavar="DIR", help="evaluate against the articles in DIR instead of QABOT_CORPUS_DIR"
    )
    evaluating.add_argument("--split", choices=["tune", "test"], help="only the questions whose 'split' field says so")
    evaluating.add_argument(
        "--baseline",
        choices=["bm25plus"],
        help="measure plain BM25Plus over the same sentences (top 3, never declines) instead of qabot",
    )
    evaluating.set_defaults(handler=run_eval)


def _core(settings: Settings) -> AnsweringCore:
    from bot.app import load_core

    core = load_core(settings)
    _report_broken(core.broken_files)
    return core


def _report_broken(broken: tuple[CorpusFileError, ...]) -> None:
    """Name each article file left out (file, line, problem) on stderr, once per command."""
    from corpus import broken_file_lines

    for line in broken_file_lines(broken):
        print(f"qabot: {line}", file=sys.stderr)


def ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.terminal import render

    from bot.answering.conversation import Conversation

    core = _core(settings)
    color = sys.stdout.isatty() and not args.json
    questions: Iterable[str]
    if args.question:
        questions = [" ".join(args.question)]
    elif sys.stdin.isatty():
        return _interactive(core, color)
    else:
        # One line at a time, answered as it comes, so a conversation can be typed or piped.
        questions = (line.rstrip("\n") for line in sys.stdin)
    # Without --conversation each line is a question of its own, as before.
    conversation = Conversation() if args.conversation else None
    asked = 0
    for question in questions:
        if not args.question and not question.strip():
            continue
        asked += 1
        answer = core.answer(question, conversation)
        if args.json:
            fields = answer.to_dict()
            if args.conversation:
                fields["follow_up_of"] = answer.follow_up_of
            print(json.dumps(fields, ensure_ascii=False), flush=True)
        else:
            print(render(answer, color=color), flush=True)
    if not asked:  # an empty standard input: say how to ask, as for an empty question
        answer = core.answer("")
        print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else render(answer, color=color))
    return ExitCode.OK


def _interactive(core: AnsweringCore, color: bool) -> int:
    """Questions typed one after another are one conversation: "why?" follows up the last one."""
    from bot.adapters.terminal import render
    from bot.answering.conversation import Conversation

    conversation = Conversation()
    print("Ask a question about the articles; follow up with “why?” or “tell me more” (an empty line or Ctrl-D quits).")
    while True:
        try:
            question = input("\n? ")
        except EOFError:
            print()
            return ExitCode.OK
        if not question.strip():
            return ExitCode.OK
        print(render(core.answer(question, conversation), color=color))


def show_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.analysis import Analyzer
    from index.cache import load_or_build, merge
    from index.progress import for_stream

    started = time.perf_counter()
    loaded = load_or_build(settings.corpus_dir, settings.cache_dir, Analyzer(), progress=for_stream(sys.stderr))
    _report_broken(loaded.broken)
    how = (
        "loaded from cache" if loaded.from_cache
        else f"updated ({loaded.analysed_articles:,} changed articles read)"
        if loaded.analysed_articles < len(loaded.articles)
        else "built"
    )
    if loaded.segments > 1:
        # Asked to build the index: also merge what incremental updates left in pieces, so
        # processes share it memory-mapped.
        how += f", {loaded.segments} segments merged into one"
        loaded = merge(settings.corpus_dir, settings.cache_dir, Analyzer())
    index = loaded.index
    print(f"articles:  {len(loaded.articles)}  ({settings.corpus_dir})")
    print(f"sentences: {index.size}")
    print(f"terms:     {index.term_count}")
    print(f"index:     {how} in {time.perf_counter() - started:.2f} s")
    print(f"cache:     {loaded.location or 'not written (see the warning above)'}")
    if loaded.broken:
        print(f"broken:    {len(loaded.broken):,} article file{'s' if len(loaded.broken) != 1 else ''} left out")
        return ExitCode.FAILED if args.strict else ExitCode.OK
    return ExitCode.OK


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace
    from pathlib import Path

    from bot.answering.evaluation import BaselineAnswerer, evaluate, load_questions, select_split

    questions = select_split(load_questions(args.file), args.split)  # EvalFileError: one line from main()
    if not questions:
        print(f"qabot: {args.file}: no question has \"split\": \"{args.split}\"", file=sys.stderr)
        return ExitCode.FAILED
    if args.corpus is not None:
        corpus_dir = Path(args.corpus).expanduser()
        if not corpus_dir.is_dir():
            print(f"qabot: --corpus {args.corpus}: not a folder of articles", file=sys.stderr)
            return ExitCode.FAILED
        settings = replace(settings, corpus_dir=corpus_dir)
    # Hit@3 needs at least three passages per answer.
    settings = replace(settings, top_k=max(settings.top_k, 3))
    if args.baseline == "bm25plus":
        from index.analysis import Analyzer
        from index.cache import load_or_build

        loaded = load_or_build(settings.corpus_dir, settings.cache_dir, Analyzer())
        answerer = BaselineAnswerer.from_index(loaded.articles, loaded.index, top_k=settings.top_k)
        report = evaluate(answerer, questions, system="BM25Plus baseline")
    else:
        report = evaluate(_core(settings), questions, system="qabot")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.to_text())
    return ExitCode.OK
