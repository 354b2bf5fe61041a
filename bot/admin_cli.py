"""The admin's commands: `qabot add`, `qabot list`, `qabot remove`, `qabot report`.

Imported by `bot.cli` at start-up, so only the standard library is imported
here at module level; trafilatura and the HTTP client load with `qabot add` alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add = sub.add_parser(
        "add",
        help="add an article from a web address, a saved HTML page, or a Markdown or text file",
        description="Add one article to the corpus folder (QABOT_CORPUS_DIR). Metadata found in the "
        "source is kept; the flags set or override it ('' makes a field unknown).",
    )
    add.add_argument("source", help="http(s) address, saved .html page, or .md/.txt file")
    add.add_argument("--title")
    add.add_argument("--publisher")
    add.add_argument("--author")
    add.add_argument("--published", metavar="YYYY-MM-DD")
    add.add_argument("--url", help="the article's canonical address (default: the page's own canonical link)")
    add.add_argument("--id", dest="article_id", help="file name for the article (default: from publisher and title)")

    listing = sub.add_parser(
        "list", help="summarise the articles (counts, newest, oldest, broken files) and show the first ones"
    )
    listing.add_argument("--all", action="store_true", help="show every article and broken file, not the first few")
    listing.add_argument("--json", action="store_true", help="print every article and broken file as JSON")

    remove = sub.add_parser("remove", help="remove an article by its ID (its file name, as `qabot list` shows it)")
    remove.add_argument("article_id", metavar="ID")

    report = sub.add_parser(
        "report", help="questions the articles did not answer well, 👎 answers, counts per day and platform"
    )
    report.add_argument("--since", metavar="YYYY-MM-DD", help="only questions asked on or after this day (UTC)")
    report.add_argument(
        "--low",
        type=float,
        default=None,
        metavar="CONFIDENCE",
        help="answers below this confidence count as gaps (default 0.6)",
    )
    report.add_argument("--json", action="store_true", help="print JSON instead of text")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "add":
        return add(args, settings)
    if args.command == "list":
        return list_articles(args, settings)
    if args.command == "remove":
        return remove(args, settings)
    return report(args, settings)


def add(args: argparse.Namespace, settings: Settings) -> int:
    from corpus import BUNDLED_DIR
    from corpus.fetch import FetchLimits
    from corpus.ingest import IngestError, MetadataFlags, add_article

    flags = MetadataFlags(
        title=args.title,
        publisher=args.publisher,
        author=args.author,
        published=args.published,
        url=args.url,
        article_id=args.article_id,
    )
    limits = FetchLimits(timeout_seconds=settings.fetch_timeout, max_bytes=settings.fetch_max_bytes)
    try:
        added = add_article(args.source, settings.corpus_dir, flags, limits)
    except IngestError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    article = added.article
    print(f"Added {added.path.name} to {added.path.parent}")
    for name, value in (
        ("title", article.title),
        ("publisher", article.publisher),
        ("author", article.author),
        ("published", article.published.isoformat() if article.published else None),
        ("url", article.url),
    ):
        print(f"  {name + ':':<11}{value if value else '(unknown)'}")
    print(f"  {'text:':<11}{len(article.paragraphs)} paragraphs, {added.words:,} words")
    if not article.url:
        print("  The page names no canonical URL, so answers will quote it without a link; add one with --url.")
    if Path(settings.corpus_dir).resolve() == BUNDLED_DIR.resolve():
        print("  Note: this is the bundled corpus folder; set QABOT_CORPUS_DIR to keep your articles elsewhere.")
    print("Running bots answer from it within a few seconds (QABOT_RELOAD_SECONDS), or at once on SIGHUP.")
    return EXIT_OK


SHOWN_ARTICLES = 10
"""`qabot list` shows this many articles (and as many broken files) unless --all."""


def list_articles(args: argparse.Namespace, settings: Settings) -> int:
    """A summary (counts, newest and oldest, broken files, the first articles); --all, --json: everything.

    Exit status 1 while any file is broken, so a script notices."""
    from corpus import CorpusError
    from index.analysis import Analyzer
    from index.listing import corpus_listing

    folder = Path(settings.corpus_dir)
    try:
        listing = corpus_listing(folder, settings.cache_dir, Analyzer())
    except CorpusError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    rows = [
        {
            "id": a.article_id,
            "label": a.label,
            "title": a.title,
            "publisher": a.publisher,
            "published": a.published.isoformat() if a.published else None,
            "url": a.url,
            "sentences": a.sentences,
        }
        for a in listing.articles
    ]
    broken = [str(error) for error in listing.broken]
    status = EXIT_OK if not broken else EXIT_FAILED
    if args.json:
        print(json.dumps({"folder": str(folder), "articles": rows, "broken": broken}, ensure_ascii=False, indent=2))
        return status
    limit = None if args.all else SHOWN_ARTICLES
    count, total = len(rows), listing.sentences
    summary = f"{count:,} article{'s' if count != 1 else ''} in {folder}"
    if total is not None:
        summary += f", {total:,} sentences"
    else:
        summary += " (sentences not counted: the index is not up to date with the files; `qabot index` builds it)"
    print(summary)
    newest, oldest = listing.newest(), listing.oldest()
    undated = sum(1 for a in listing.articles if a.published is None)
    if newest is not None and oldest is not None:
        print(f"newest: {newest.published}  {newest.article_id}")
        print(f"oldest: {oldest.published}  {oldest.article_id}")
    if undated:
        print(f"{undated:,} without a date")
    if broken:
        print(f"{len(broken):,} broken file{'s' if len(broken) != 1 else ''}, left out until fixed:")
        for error in broken[:limit]:
            print(f"broken: {error}")
        _more(len(broken), limit, "broken files")
    for row in rows[:limit]:
        sentences = f"{row['sentences']:,} sentences" if row["sentences"] is not None else ""
        print()
        print(f"{row['id']}  {row['published'] or 'no date'}  {row['publisher'] or 'no publisher'}  {sentences}".rstrip())
        print(f"  {row['label']}")
        print(f"  {row['url'] or '(no link)'}")
    if limit is not None and count > limit:
        print()
    _more(count, limit, "articles")
    return status


def _more(count: int, limit: int | None, what: str) -> None:
    if limit is not None and count > limit:
        print(f"… and {count - limit:,} more {what} (`qabot list --all` shows every one, `--json` for scripts)")


def remove(args: argparse.Namespace, settings: Settings) -> int:
    from corpus.store import StoreError, StoredArticle, remove_file

    try:
        removed = remove_file(Path(settings.corpus_dir), args.article_id)
    except (StoreError, OSError) as exc:
        print(f"qabot: not removed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(removed, StoredArticle):
        print(f"Removed {removed.path.name}: “{removed.article.label}”")
    else:
        print(f"Removed {removed.name} (it did not load as an article)")
    print("Running bots stop quoting it within a few seconds (QABOT_RELOAD_SECONDS), or at once on SIGHUP.")
    return EXIT_OK


def report(args: argparse.Namespace, settings: Settings) -> int:
    import sqlite3

    from bot.questionlog import read_answers
    from bot.report import DEFAULT_LOW_CONFIDENCE, build_report, format_report

    since: dt.date | None = None
    if args.since:
        try:
            since = dt.date.fromisoformat(args.since)
        except ValueError:
            print(f"qabot: --since {args.since!r}: use YYYY-MM-DD", file=sys.stderr)
            return 2
    low = DEFAULT_LOW_CONFIDENCE if args.low is None else args.low
    if not 0.0 <= low <= 1.0:
        print("qabot: --low must be a number from 0 to 1", file=sys.stderr)
        return 2
    path = settings.question_log_file()
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.timezone.utc) if since else None
    try:
        answers = read_answers(path, start)
    except FileNotFoundError:
        off = "" if settings.question_log else " (QABOT_QUESTION_LOG is off)"
        print(f"qabot: no question log at {path}{off}; nothing has been logged yet", file=sys.stderr)
        return EXIT_FAILED
    except sqlite3.Error as exc:
        print(f"qabot: the question log at {path} cannot be read ({exc})", file=sys.stderr)
        return EXIT_FAILED
    result = build_report(answers, since, low)
    if args.json:
        payload: dict[str, Any] = {"log": str(path), **result.to_dict()}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(format_report(result))
    return EXIT_OK
