"""The admin's commands on the corpus: `qabot add`, `qabot list`, `qabot remove`.

Imported by `bot.cli.main` at start-up, so only the standard library is imported
here at module level; trafilatura and the HTTP client load with `qabot add` alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import ExitCode
from bot.settings import Settings

if TYPE_CHECKING:
    from corpus.ingest import AddedArticle
    from corpus.store import KnownArticle
    from index.cache import IndexFolder



def add_parsers(sub: argparse._SubParsersAction) -> None:
    add = sub.add_parser(
        "add",
        help="add articles from web addresses, saved HTML pages, Markdown or text files, or folders of them",
        description="Add articles to the corpus folder (QABOT_CORPUS_DIR), one line per source: added, "
        "duplicate, or failed and why. Metadata found in a source is kept; the flags set or override it "
        "('' makes a field unknown; --title, --url and --id only with one source).",
    )
    add.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="http(s) address, saved .html page, .md/.txt file, or a folder of them"
    )
    add.add_argument("--title")
    add.add_argument("--publisher")
    add.add_argument("--author")
    add.add_argument("--published", metavar="YYYY-MM-DD")
    add.add_argument("--url", help="the article's canonical address (default: the page's own canonical link)")
    add.add_argument("--id", dest="article_id", help="file name for the article (default: from publisher and title)")
    add.set_defaults(handler=add_article)

    listing = sub.add_parser(
        "list", help="summarise the articles (counts, newest, oldest, broken files) and show the first ones"
    )
    listing.add_argument("--all", action="store_true", help="show every article and broken file, not the first few")
    listing.add_argument("--json", action="store_true", help="print every article and broken file as JSON")
    listing.set_defaults(handler=list_articles)

    remove = sub.add_parser("remove", help="remove an article by its ID (its file name, as `qabot list` shows it)")
    remove.add_argument("article_id", metavar="ID")
    remove.set_defaults(handler=remove_article)


ONE_ARTICLE_FLAGS = (("title", "--title"), ("url", "--url"), ("article_id", "--id"))
"""Flags that name one article: with several sources they would give them all one title or link."""


def add_article(args: argparse.Namespace, settings: Settings) -> int:
    """Add each source (folders: the saved pages and text files in them); one line per source, and
    the details when there is just one. Exit status 1 if any source failed (a duplicate is no failure)."""
    from bot.app import writable_corpus
    from bot.logging_setup import quiet_fetch_libraries
    from corpus.bulk import SourceOutcome, Status, add_sources
    from corpus.fetch import FetchLimits
    from corpus.ingest import MetadataFlags
    from corpus.ingest import add_article as ingest

    sources: list[str] = args.sources
    several = len(sources) > 1 or Path(sources[0]).expanduser().is_dir()
    given = [flag for name, flag in ONE_ARTICLE_FLAGS if getattr(args, name) is not None]
    if several and given:
        print(f"qabot: {', '.join(given)} name one article; give one source with them", file=sys.stderr)
        return ExitCode.FAILED
    flags = MetadataFlags(
        title=args.title,
        publisher=args.publisher,
        author=args.author,
        published=args.published,
        url=args.url,
        article_id=args.article_id,
    )
    limits = FetchLimits(timeout_seconds=settings.fetch_timeout, max_bytes=settings.fetch_max_bytes)
    quiet_fetch_libraries()  # urllib3's retry warnings and trafilatura's parser complaints: the line below says it all
    corpus = writable_corpus(settings)
    if corpus.copied_from is not None:
        print(
            f"Copied the {corpus.copied} bundled articles to {corpus.folder}, which qabot now answers from "
            "(the bundled folder is part of the installed package and is never changed)."
        )
    target = dataclasses.replace(settings, corpus_dir=corpus.folder)
    folder = _FolderAsIndexed(target)

    def add_one(source: str, folder_path: Path, flags: MetadataFlags, limits: FetchLimits) -> Any:
        # The duplicate check reads the index's metadata (kept up to date) instead of every file.
        added = ingest(source, folder_path, flags, limits, known=folder.known)
        folder.added(added)
        return added

    outcomes: list[SourceOutcome] = []
    for outcome in add_sources(sources, corpus.folder, flags, limits, add=add_one):
        outcomes.append(outcome)
        print(outcome.line(), file=sys.stderr if outcome.status is Status.FAILED else sys.stdout, flush=True)
    added = [o.added for o in outcomes if o.added is not None]
    if len(outcomes) == 1 and added:
        _print_details(added[0])
    if added:
        counts = {status: sum(1 for o in outcomes if o.status is status) for status in Status}
        if len(outcomes) > 1:
            print(", ".join(f"{counts[s]} {s.value}" for s in Status) + f", in {corpus.folder}")
        _update_index(target, [a.path for a in added], folder.index)
        print("Running bots answer from new articles within a few seconds (QABOT_RELOAD_SECONDS), or at once on SIGHUP.")
    failed = any(o.status is Status.FAILED for o in outcomes)
    return ExitCode.FAILED if failed else ExitCode.OK


def _print_details(added: Any) -> None:
    article = added.article
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


def _update_index(settings: Settings, changed: list[Path], index: IndexFolder | None = None) -> None:
    """Bring the cached index up to date now with the article files at `changed` (just added,
    or removed), so the next `qabot ask` and the running bots' reload find it ready: only those
    are analysed, and the folder is not listed (see `index.cache.IndexFolder.update_with`).
    `index`: the handle on the index already asked about its articles. A failure here is only
    reported: the article files are in place, and the next load updates the index."""
    from corpus import CorpusError
    from index.cache import IndexFolder

    try:
        index = index or IndexFolder(Path(settings.corpus_dir), Path(settings.cache_dir))
        done = index.update_with(changed)
    except (CorpusError, OSError) as exc:
        print(f"qabot: the index was not updated ({exc}); the next start updates it", file=sys.stderr)
        return
    print(f"Index updated in {done.seconds:.1f} s.")


class _FolderAsIndexed:
    """What `qabot add` knows of the corpus folder: its articles as the index last recorded them
    (for the duplicate check) and the files added since. Nothing here lists the folder (at
    20,000 articles a listing costs 0.15-0.3 s): a duplicate the index names is confirmed by
    reading its file, and the update after the adds goes by the index's record and the new
    files. An article file put in the folder by hand since the index was last brought up to
    date is not compared; the next `qabot ask` or bot reload indexes it as usual."""

    def __init__(self, settings: Settings) -> None:
        from index.cache import IndexFolder

        self.settings = settings
        self.index = IndexFolder(Path(settings.corpus_dir), Path(settings.cache_dir))
        """The one handle on the index this command uses: each segment's articles are read once."""
        self._known: list[KnownArticle] | None = None
        self._added: list[AddedArticle] = []

    def known(self) -> list[KnownArticle] | None:
        """The folder's articles with their URLs and text keys, from the index's metadata, and
        those added since: the duplicate check then reads no other file. With no usable index
        one is brought up to date first (the folder listed, perhaps built); None when there is
        still none to ask (then every file is read)."""
        from corpus import CorpusError
        from corpus.store import KnownArticle, text_key

        if self._known is None:
            self._known = self.index.known_articles()
            if self._known is None:
                try:
                    self.index.refresh()
                except (CorpusError, OSError):
                    return None  # an empty or unreadable folder: the plain way says what is wrong
                self._known = self.index.known_articles()
                if self._known is None:
                    return None
            self._added = []
        return [
            *self._known,
            *(KnownArticle(a.article.article_id, a.article.url, text_key(a.article), a.article.label) for a in self._added),
        ]

    def added(self, added: AddedArticle) -> None:
        self._added.append(added)


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
        return ExitCode.FAILED
    status = ExitCode.OK if not broken else ExitCode.FAILED
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


def remove_article(args: argparse.Namespace, settings: Settings) -> int:
    from corpus.store import StoredArticle, StoreError, remove_file

    try:
        removed = remove_file(Path(settings.corpus_dir), args.article_id)
    except (StoreError, OSError) as exc:
        print(f"qabot: not removed: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    if isinstance(removed, StoredArticle):
        print(f"Removed {removed.path.name}: “{removed.article.label}”")
    else:
        print(f"Removed {removed.name} (it did not load as an article)")
    _update_index(settings, [removed.path if isinstance(removed, StoredArticle) else removed])
    print("Running bots stop quoting it within a few seconds (QABOT_RELOAD_SECONDS), or at once on SIGHUP.")
    return ExitCode.OK
