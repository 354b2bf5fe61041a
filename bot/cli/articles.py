"""The admin's commands on the corpus: `qabot add`, `qabot list`, `qabot remove`.

Imported by `bot.cli.main` at start-up, so only the standard library is imported
here at module level; trafilatura and the HTTP client load with `qabot add` alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.errors import ExitCode
from bot.settings import Settings



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
    add.set_defaults(handler=add_article)

    listing = sub.add_parser("list", help="list the articles: title, publisher, date, URL, sentences")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    listing.set_defaults(handler=list_articles)

    remove = sub.add_parser("remove", help="remove an article by its ID (its file name, as `qabot list` shows it)")
    remove.add_argument("article_id", metavar="ID")
    remove.set_defaults(handler=remove_article)


def add_article(args: argparse.Namespace, settings: Settings) -> int:
    from corpus import BUNDLED_DIR
    from corpus.fetch import FetchLimits
    from corpus.ingest import IngestError, MetadataFlags
    from corpus.ingest import add_article as ingest

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
        added = ingest(args.source, settings.corpus_dir, flags, limits)
    except IngestError as exc:
        print(f"qabot: {exc}", file=sys.stderr)
        return ExitCode.FAILED
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
    return ExitCode.OK


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
        return ExitCode.OK if not broken else ExitCode.FAILED
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
    return ExitCode.OK if not broken else ExitCode.FAILED


def _sentence_counts(settings: Settings) -> tuple[dict[str, int], str]:
    from corpus import CorpusError
    from index.analysis import Analyzer
    from index.cache import load_or_build

    try:
        loaded = load_or_build(settings.corpus_dir, settings.cache_dir, Analyzer())
    except CorpusError as exc:
        return {}, str(exc)
    numbers = loaded.index.article.tolist()
    counts = {article.article_id: 0 for article in loaded.articles}
    for number in numbers:
        counts[loaded.articles[number].article_id] += 1
    return counts, ""


def remove_article(args: argparse.Namespace, settings: Settings) -> int:
    from corpus.store import StoreError, StoredArticle, remove_file

    try:
        removed = remove_file(Path(settings.corpus_dir), args.article_id)
    except (StoreError, OSError) as exc:
        print(f"qabot: not removed: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    if isinstance(removed, StoredArticle):
        print(f"Removed {removed.path.name}: “{removed.article.label}”")
    else:
        print(f"Removed {removed.name} (it did not load as an article)")
    print("Running bots stop quoting it within a few seconds (QABOT_RELOAD_SECONDS), or at once on SIGHUP.")
    return ExitCode.OK
