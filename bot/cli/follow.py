"""`qabot follow`: follow a story's feeds and sitemaps, list them, stop following one, check them now.

Only the standard library at module level (the parser is built at every start); the feed and
HTTP libraries load when a command needs them.
"""

from __future__ import annotations

import argparse
import sys

from bot.errors import ExitCode
from bot.settings import Settings


def add_parsers(sub: argparse._SubParsersAction) -> None:
    follow = sub.add_parser(
        "follow",
        help="follow an RSS, Atom or JSON feed or a sitemap: its new articles are added as they appear",
        description="Follow a feed or sitemap: a running bot checks it every QABOT_FOLLOW_MINUTES and adds "
        "new articles through the pipeline of `qabot add`. Without URL: --list, --remove or --now.",
    )
    follow.add_argument("url", nargs="?", metavar="URL", help="the feed's or sitemap's address")
    follow.add_argument(
        "--match", metavar="WORDS", default="", help="keep only items whose title or summary names one of these words"
    )
    follow.add_argument("--list", action="store_true", help="show each followed source: last checked, what it added, last error")
    follow.add_argument("--remove", metavar="URL", help="stop following URL (the articles it added stay)")
    follow.add_argument("--now", action="store_true", help="check every followed source once, now")
    follow.set_defaults(handler=follow_command)


def follow_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import follow_round, writable_corpus
    from bot.logging_setup import quiet_fetch_libraries
    from corpus.follow import follow, load_state, unfollow

    if not (args.url or args.list or args.remove or args.now):
        print("qabot: give a feed's URL to follow, or --list, --remove URL or --now", file=sys.stderr)
        return ExitCode.FAILED
    quiet_fetch_libraries()
    corpus = writable_corpus(settings)
    if corpus.copied_from is not None:
        print(
            f"Copied the {corpus.copied} bundled articles to {corpus.folder}, which qabot now answers from "
            "(the bundled folder is part of the installed package and is never changed)."
        )
    status = ExitCode.OK
    if args.remove:
        removed = unfollow(corpus.folder, args.remove)
        print(f"No longer following {removed.url}; the {len(removed.added)} articles it added stay.")
    if args.url:
        source, new = follow(corpus.folder, args.url, args.match.split())
        filtered = f", keeping items that name: {' '.join(source.match)}" if source.match else ""
        print(f"{'Following' if new else 'Already following'} {source.url}{filtered}")
        if not args.now and settings.follow_minutes > 0:
            print(
                f"A running bot checks it every {settings.follow_minutes:g} minutes (QABOT_FOLLOW_MINUTES); "
                "`qabot follow --now` checks it at once."
            )
        elif not args.now:
            print("QABOT_FOLLOW_MINUTES is 0, so running bots do not check it; `qabot follow --now` does.")
    if args.now:
        reports = follow_round(settings, corpus.folder, due_only=False)
        if reports is None:
            print("qabot: another check of these sources is running; try again in a moment", file=sys.stderr)
            return ExitCode.FAILED
        for report in reports:
            print(report.line())
            for failure in report.failed:
                print(f"  not added: {failure}")
        if any(report.error for report in reports):
            status = ExitCode.FAILED
        if any(report.added for report in reports):
            print("Running bots answer from new articles within a few seconds (QABOT_RELOAD_SECONDS), or at once on SIGHUP.")
    if args.list:
        state = load_state(corpus.folder)
        if not state.sources:
            print(f"Nothing is followed (corpus {corpus.folder}); `qabot follow URL` starts.")
        for source in state.sources.values():
            print(source.url)
            if source.match:
                print(f"  match:        {' '.join(source.match)}")
            print(f"  since:        {source.since}")
            print(f"  last checked: {source.last_checked or 'not yet'}")
            print(f"  added:        {len(source.added)}" + (f" ({', '.join(source.added[-5:])})" if source.added else ""))
            if source.last_error:
                print(f"  last error:   {source.last_error} ({source.failures} failed checks in a row)")
    return status
