"""`qabot report`: what the question log says about the articles' coverage gaps, for the admin."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
from typing import Any

from bot.errors import ExitCode
from bot.settings import Settings
from bot.stores.questionlog.report import DEFAULT_LOW_CONFIDENCE, build_report, read_answers


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    report.set_defaults(handler=show_report)


def show_report(args: argparse.Namespace, settings: Settings) -> int:
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
    path = settings.question_log_file()
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.timezone.utc) if since else None
    try:
        answers = read_answers(path, start)
    except FileNotFoundError:
        off = "" if settings.question_log else " (QABOT_QUESTION_LOG is off)"
        print(f"qabot: no question log at {path}{off}; nothing has been logged yet", file=sys.stderr)
        return ExitCode.FAILED
    except sqlite3.Error as exc:
        print(f"qabot: the question log at {path} cannot be read ({exc})", file=sys.stderr)
        return ExitCode.FAILED
    result = build_report(answers, since, low)
    if args.json:
        payload: dict[str, Any] = {"log": str(path), **result.to_dict()}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print(result.to_text())
    return ExitCode.OK
