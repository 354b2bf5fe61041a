"""`qabot report`: what the question log says about the articles' coverage gaps, for the admin."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

from bot.errors import ExitCode
from bot.settings import Settings

# The question log's code is imported by `qabot report` alone: every command imports this
# module to register its parser, and psycopg alone took 0.2-1.2 s of each `qabot ask`.
if TYPE_CHECKING:
    from bot.stores.questionlog.report import LoggedAnswer


def add_parsers(sub: argparse._SubParsersAction) -> None:
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
    report.add_argument(
        "--html",
        metavar="FILE",
        help="write the report as one self-contained page with charts (needs the extra qabot[report])",
    )
    report.set_defaults(handler=show_report)


def show_report(args: argparse.Namespace, settings: Settings) -> int:
    from bot.stores.questionlog.database import database_errors
    from bot.stores.questionlog.migrations import SchemaTooNewError
    from bot.stores.questionlog.report import DEFAULT_LOW_CONFIDENCE, build_report

    since: dt.date | None = None
    if args.since:
        try:
            since = dt.date.fromisoformat(args.since)
        except ValueError:
            print(f"qabot: --since {args.since!r}: use YYYY-MM-DD", file=sys.stderr)
            return ExitCode.SETUP
    low = DEFAULT_LOW_CONFIDENCE if args.low is None else args.low
    if not 0.0 <= low <= 1.0:
        print("qabot: --low must be a number from 0 to 1", file=sys.stderr)
        return ExitCode.SETUP
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.timezone.utc) if since else None
    url = settings.database_url.reveal()
    if url:
        from bot.stores.questionlog.postgres import describe_database  # psycopg: only with PostgreSQL

        where = describe_database(url)
    else:
        where = str(settings.question_log_file())
    try:
        answers = _read_log(settings, start)
    except FileNotFoundError:
        off = " (QABOT_QUESTION_LOG is off)" if not settings.question_log else ""
        # A deployment that has logged nothing yet is not broken: say so and succeed.
        print(f"qabot: no question log at {where}{off}; nothing has been logged yet", file=sys.stderr)
        answers = []
    except database_errors(postgres=bool(url)) + (SchemaTooNewError,) as exc:
        print(f"qabot: the question log {where} cannot be read ({' '.join(str(exc).split())})", file=sys.stderr)
        return ExitCode.FAILED
    result = build_report(answers, since, low)
    if args.html:
        return _write_page(args.html, result, answers, settings, where)
    if args.json:
        payload: dict[str, Any] = {"log": where, **result.to_dict()}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(result.to_text())
    return ExitCode.OK


def _read_log(settings: Settings, start: dt.datetime | None) -> list[LoggedAnswer]:
    """The shared PostgreSQL log when QABOT_DATABASE_URL is set, else the SQLite file."""
    from bot.stores.questionlog.report import read_answers

    url = settings.database_url.reveal()
    if not url:
        return read_answers(settings.question_log_file(), start)
    from bot.stores.questionlog.postgres import PostgresDatabase

    database = PostgresDatabase(url)
    try:
        return read_answers(database, start)
    finally:
        database.close()


def _write_page(file: str, result: Any, answers: list[LoggedAnswer], settings: Settings, where: str) -> int:
    from pathlib import Path

    from bot.cli.report_page import FollowedSummary, render_page
    from corpus.follow import FollowStateError, load_state

    try:
        state = load_state(Path(settings.corpus_dir))
        followed = [
            FollowedSummary(s.url, s.since, s.last_checked, tuple(s.added), s.last_error) for s in state.sources.values()
        ]
    except FollowStateError as exc:
        print(f"qabot: the followed sources are left out of the page: {exc}", file=sys.stderr)
        followed = []
    page = render_page(result, answers, followed, log_name=where)
    target = Path(file).expanduser()
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        print(f"qabot: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.FAILED
    print(f"Wrote {target} ({len(page.encode()):,} bytes, {result.total:,} questions); open it in a browser, no network needed.")
    return ExitCode.OK
