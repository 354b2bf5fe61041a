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

    listing = sub.add_parser("list", help="list the articles: title, publisher, date, URL, sentences")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")

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
        added = add_article(args.source, settings.corpus_dir, flags, limits, known=lambda: _known_articles(settings))
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
    _update_index(settings)
    print("Running bots answer from it within a few seconds (QABOT_RELOAD_SECONDS), or at once on SIGHUP.")
    return EXIT_OK


def _update_index(settings: Settings) -> None:
    """Bring the cached index up to date now (only the changed article is analysed), so the
    next `qabot ask` and the running bots' reload find it ready. A failure here is only
    reported: the article file is in place, and the next load updates the index."""
    from corpus import CorpusError
    from index.analysis import Analyzer
    from index.cache import refresh

    try:
        done = refresh(settings.corpus_dir, settings.cache_dir, Analyzer())
    except (CorpusError, OSError) as exc:
        print(f"qabot: the index was not updated ({exc}); the next start updates it", file=sys.stderr)
        return
    print(f"Index updated in {done.seconds:.1f} s.")


def _known_articles(settings: Settings) -> list[Any] | None:
    """The folder's articles with their URLs and text keys, from the index brought up to date
    (reading only the files changed since): the duplicate check then reads no other file.
    None when there is no index to ask (then every file is read)."""
    from corpus import Article, CorpusError
    from corpus.store import KnownArticle, StoredArticle
    from index.analysis import Analyzer
    from index.cache import read_metadata, refresh

    try:
        refresh(settings.corpus_dir, settings.cache_dir, Analyzer())
    except (CorpusError, OSError):
        return None  # an empty or unreadable folder: the plain way says what is wrong
    metadata = read_metadata(settings.corpus_dir, settings.cache_dir)
    if metadata is None or any(a.text_key is None for a in metadata.articles):
        return None
    folder = Path(settings.corpus_dir)
    return [
        KnownArticle(
            StoredArticle(
                Article(
                    article_id=a.article_id,
                    paragraphs=(a.first_paragraph,) if a.first_paragraph else (),
                    title=a.title,
                    publisher=a.publisher,
                    url=a.url,
                ),
                folder / f"{a.article_id}.md",
            ),
            a.text_key,  # type: ignore[arg-type]
        )
        for a in metadata.articles
    ]


def list_articles(args: argparse.Namespace, settings: Settings) -> int:
    from corpus.store import read_folder

    folder = Path(settings.corpus_dir)
    contents = read_folder(folder)
    counts, problem = _sentence_counts(settings)
    rows = [
        {
            "id": stored.article.article_id,
            "label": stored.article.label,
            "title": stored.article.title,
            "publisher": stored.article.publisher,
            "published": stored.article.published.isoformat() if stored.article.published else None,
            "url": stored.article.url,
            "sentences": counts.get(stored.article.article_id),
        }
        for stored in contents.articles
    ]
    broken = [str(error) for error in contents.broken]
    if args.json:
        print(json.dumps({"folder": str(folder), "articles": rows, "broken": broken}, ensure_ascii=False, indent=2))
        return EXIT_OK if not broken else EXIT_FAILED
    total = sum(c for c in counts.values())
    summary = f"{len(rows)} article{'s' if len(rows) != 1 else ''} in {folder}"
    print(summary + (f", {total:,} sentences" if counts else f" (sentences not counted: {problem})" if problem else ""))
    for row in rows:
        sentences = f"{row['sentences']:,} sentences" if row["sentences"] is not None else ""
        print()
        print(f"{row['id']}  {row['published'] or 'no date'}  {row['publisher'] or 'no publisher'}  {sentences}".rstrip())
        print(f"  {row['label']}")
        print(f"  {row['url'] or '(no link)'}")
    for error in broken:
        print(f"\nbroken: {error}")
    return EXIT_OK if not broken else EXIT_FAILED


def _sentence_counts(settings: Settings) -> tuple[dict[str, int], str]:
    from corpus import CorpusError, CorpusFileError
    from index.analysis import Analyzer
    from index.cache import load_or_build

    try:
        loaded = load_or_build(settings.corpus_dir, settings.cache_dir, Analyzer())
    except (CorpusError, CorpusFileError) as exc:
        return {}, str(exc)
    numbers = loaded.index.article.tolist()
    counts = {article.article_id: 0 for article in loaded.articles}
    for number in numbers:
        counts[loaded.articles[number].article_id] += 1
    return counts, ""


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
    _update_index(settings)
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
