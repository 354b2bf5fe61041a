"""The `qabot` command: ask in the terminal, build the index, evaluate, run a chat adapter.

Only the standard library and the core are imported at start-up; the Discord and
Slack libraries are imported by their subcommands alone, so `qabot ask` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

from bot.log_setup import configure_logging
from bot.settings import Settings, SettingsError
from corpus import CorpusError, CorpusFileError
from index.embedding import SemanticModelError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qabot",
        description="Answer questions from news articles, quoting the passages and linking the sources.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question in the terminal (no question: ask interactively)")
    ask.add_argument("question", nargs="*", help="the question (quote it, or it is joined from the words)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    sub.add_parser("index", help="build the index (or load it from the cache) and say what it holds")

    evaluate = sub.add_parser("eval", help="measure answer quality on a JSON Lines file of questions")
    evaluate.add_argument("file", help="questions with expected answers, e.g. ../shared/eval/dev.jsonl")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")

    from bot import admin_cli

    admin_cli.add_parsers(sub)

    discord = sub.add_parser("discord", help="run the Discord bot (needs DISCORD_TOKEN)")
    discord.add_argument(
        "--invite-url", action="store_true", help="print the link that invites the bot to a server, then exit"
    )

    slack = sub.add_parser("slack", help="run the Slack app (Socket Mode by default)")
    slack.add_argument("--http", action="store_true", help="serve Slack's HTTP events at /slack/events")
    slack.add_argument("--host", default="127.0.0.1", help="address to bind in --http mode (default 127.0.0.1)")
    slack.add_argument("--port", type=int, default=3000, help="port to bind in --http mode (default 3000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        settings = Settings.load()
    except SettingsError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        if args.command == "ask":
            return _ask(args, settings)
        if args.command == "index":
            return _index(settings)
        if args.command == "eval":
            return _eval(args, settings)
        if args.command in ("add", "list", "remove", "report"):
            from bot import admin_cli

            return admin_cli.run(args, settings)
        if args.command == "discord":
            from bot.adapters.discord.runner import run as run_discord

            return run_discord(args, settings)
        if args.command == "slack":
            from bot.adapters.slack.runner import run as run_slack

            return run_slack(args, settings)
    except (CorpusError, CorpusFileError) as exc:
        print(f"qabot: the articles could not be loaded: {exc}", file=sys.stderr)
        return 1
    except SemanticModelError as exc:
        print(f"qabot: QABOT_SEMANTIC_MODEL: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `qabot ask ... | head`: the reader left; nothing is wrong
        sys.stderr.close()
        return 0
    parser.error(f"unknown command {args.command!r}")
    return 2


def _core(settings: Settings):
    from bot.core import AnsweringCore

    return AnsweringCore.from_settings(settings)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.terminal import render

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
    return 0


def _interactive(core, color: bool) -> int:
    from bot.terminal import render

    print("Ask a question about the articles (an empty line or Ctrl-D quits).")
    while True:
        try:
            question = input("\n? ")
        except EOFError:
            print()
            return 0
        if not question.strip():
            return 0
        print(render(core.answer(question), color=color))


def _index(settings: Settings) -> int:
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
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from bot.evaluation import EvalFileError, evaluate, format_report, load_questions

    try:
        questions = load_questions(args.file)
    except EvalFileError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return 1
    # Hit@3 needs at least three passages per answer.
    core = _core(replace(settings, top_k=max(settings.top_k, 3)))
    report = evaluate(core, questions)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
