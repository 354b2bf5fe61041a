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

    Read from the index's own metadata when it is current (no article file, no array is
    read); otherwise the index is brought up to date first. Exit status 1 while any file
    is broken, so a script notices."""
    from corpus import CorpusError

    folder = Path(settings.corpus_dir)
    try:
        rows, broken = _listed_articles(settings)
    except CorpusError as exc:  # no such folder, or no article in it loads
        print(f"qabot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    status = EXIT_OK if not broken else EXIT_FAILED
    if args.json:
        print(json.dumps({"folder": str(folder), "articles": rows, "broken": broken}, ensure_ascii=False, indent=2))
        return status
    limit = None if args.all else SHOWN_ARTICLES
    count = len(rows)
    total = sum(row["sentences"] for row in rows)
    print(f"{count:,} article{'s' if count != 1 else ''} in {folder}, {total:,} sentences")
    dated = sorted((row["published"], row["id"]) for row in rows if row["published"])
    if dated:
        print(f"newest: {dated[-1][0]}  {dated[-1][1]}")
        print(f"oldest: {dated[0][0]}  {dated[0][1]}")
    if len(dated) < count:
        print(f"{count - len(dated):,} without a date")
    if broken:
        print(f"{len(broken):,} broken file{'s' if len(broken) != 1 else ''}, left out until fixed:")
        for error in broken[:limit]:
            print(f"broken: {error}")
        _more(len(broken), limit, "broken files")
    for row in rows[:limit]:
        print()
        print(f"{row['id']}  {row['published'] or 'no date'}  {row['publisher'] or 'no publisher'}  {row['sentences']:,} sentences")
        print(f"  {row['label']}")
        print(f"  {row['url'] or '(no link)'}")
    if limit is not None and count > limit:
        print()
    _more(count, limit, "articles")
    return status


def _listed_articles(settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """Every article (as `qabot list --json` shows it) and every broken file, in file-name order."""
    from index.analysis import Analyzer
    from index.cache import load_or_build, read_metadata

    analyzer = Analyzer()
    metadata = read_metadata(settings.corpus_dir, settings.cache_dir, analyzer)
    if metadata is not None and metadata.current:
        return [
            {
                "id": a.article_id,
                "label": a.label,
                "title": a.title,
                "publisher": a.publisher,
                "published": a.published,
                "url": a.url,
                "sentences": a.sentences,
            }
            for a in metadata.articles
        ], [str(error) for error in metadata.broken]
    # Changed since the index was built (or never built): update it, then count.
    loaded = load_or_build(settings.corpus_dir, settings.cache_dir, analyzer)
    counts = [0] * len(loaded.articles)
    for number in loaded.index.article.tolist():
        counts[number] += 1
    return [
        {
            "id": a.article_id,
            "label": a.label,
            "title": a.title,
            "publisher": a.publisher,
            "published": a.published.isoformat() if a.published else None,
            "url": a.url,
            "sentences": count,
        }
        for a, count in zip(loaded.articles, counts)
    ], [str(error) for error in loaded.broken]


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
