"""`qabot report`: what the question log says about the articles' coverage gaps.

Three parts, for an admin deciding which articles to add next:
- the questions the bot declined or answered with low confidence, the same
  question asked again counted once with how often;
- the answers someone marked 👎, with what was shown;
- how many questions came per day and platform, and how they went.
No user or channel appears in a report, hashed or otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from bot.stores.questionlog.database import Database, SqliteDatabase
from bot.stores.questionlog.migrations import TIME_FORMAT, check_readable, has_questions_table

DEFAULT_LOW_CONFIDENCE = 0.6
GAP_OUTCOMES = ("answered", "not_found")
"""Invalid questions (empty, too long) and failures say nothing about the articles."""


@dataclass(frozen=True)
class ShownPassage:
    article_id: str
    url: str | None
    score: float
    sentence: str


@dataclass(frozen=True)
class LoggedAnswer:
    """One logged question, as `qabot report` reads it back. Holds no user or channel hash."""

    answer_id: int
    asked_at: dt.datetime
    platform: str
    question: str
    outcome: str
    answered: bool
    confidence: float
    top_score: float | None
    latency_ms: float
    passages: tuple[ShownPassage, ...]
    up_votes: int
    down_votes: int


@dataclass(frozen=True)
class Gap:
    question: str
    times: int
    last_asked: str
    platforms: tuple[str, ...]
    declined: bool
    """True if the bot declined every time; False if it answered, with low confidence, at least once."""
    best_confidence: float


@dataclass(frozen=True)
class Downvoted:
    answer_id: int
    asked_at: str
    platform: str
    question: str
    outcome: str
    confidence: float
    up_votes: int
    down_votes: int
    shown: tuple[str, ...]
    """'article-id: matched sentence' for each passage shown."""


@dataclass(frozen=True)
class DayCount:
    day: str
    platform: str
    questions: int
    answered: int
    declined: int
    other: int
    """Invalid questions and failures."""
    up_votes: int
    down_votes: int


@dataclass(frozen=True)
class Report:
    since: str | None
    low_confidence: float
    total: int
    gaps: tuple[Gap, ...]
    downvoted: tuple[Downvoted, ...]
    per_day: tuple[DayCount, ...]

    def to_text(self, width: int = 100) -> str:
        """The report as `qabot report` prints it, lines at most about `width` characters."""
        return _as_text(self, width)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_report(
    answers: Iterable[LoggedAnswer], since: dt.date | None = None, low_confidence: float = DEFAULT_LOW_CONFIDENCE
) -> Report:
    answers = list(answers)
    return Report(
        since=since.isoformat() if since else None,
        low_confidence=low_confidence,
        total=len(answers),
        gaps=_gaps(answers, low_confidence),
        downvoted=tuple(_downvoted(a) for a in answers if a.down_votes > 0),
        per_day=_per_day(answers),
    )


def is_gap(answer: LoggedAnswer, low_confidence: float) -> bool:
    if answer.outcome not in GAP_OUTCOMES:
        return False
    return not answer.answered or answer.confidence < low_confidence


def _gaps(answers: list[LoggedAnswer], low_confidence: float) -> tuple[Gap, ...]:
    groups: dict[str, list[LoggedAnswer]] = defaultdict(list)
    for answer in answers:
        if is_gap(answer, low_confidence):
            groups[" ".join(answer.question.casefold().split())].append(answer)
    gaps = [
        Gap(
            question=group[-1].question,
            times=len(group),
            last_asked=_minute(group[-1].asked_at),
            platforms=tuple(sorted({a.platform for a in group})),
            declined=not any(a.answered for a in group),
            best_confidence=round(max(a.confidence for a in group), 3),
        )
        for group in groups.values()
    ]
    # Most asked first: those are the gaps worth an article.
    gaps.sort(key=lambda g: (-g.times, g.best_confidence, g.question.casefold()))
    return tuple(gaps)


def _downvoted(answer: LoggedAnswer) -> Downvoted:
    return Downvoted(
        answer_id=answer.answer_id,
        asked_at=_minute(answer.asked_at),
        platform=answer.platform,
        question=answer.question,
        outcome=answer.outcome,
        confidence=round(answer.confidence, 3),
        up_votes=answer.up_votes,
        down_votes=answer.down_votes,
        shown=tuple(f"{p.article_id}: {p.sentence}" for p in answer.passages),
    )


def _per_day(answers: list[LoggedAnswer]) -> tuple[DayCount, ...]:
    counts: dict[tuple[str, str], list[LoggedAnswer]] = defaultdict(list)
    for answer in answers:
        counts[(answer.asked_at.date().isoformat(), answer.platform)].append(answer)
    return tuple(
        DayCount(
            day=day,
            platform=platform,
            questions=len(group),
            answered=sum(a.answered for a in group),
            declined=sum(a.outcome == "not_found" for a in group),
            other=sum(a.outcome not in GAP_OUTCOMES for a in group),
            up_votes=sum(a.up_votes for a in group),
            down_votes=sum(a.down_votes for a in group),
        )
        for (day, platform), group in sorted(counts.items())
    )


def _minute(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _as_text(report: Report, width: int = 100) -> str:
    lines: list[str] = []
    period = f"since {report.since}" if report.since else "in the whole log"
    lines.append(f"{report.total} question{'s' if report.total != 1 else ''} {period} (times in UTC).")
    if not report.total:
        return "\n".join(lines)

    lines += ["", f"Coverage gaps: questions declined or answered with confidence below {report.low_confidence:.2f}"]
    if not report.gaps:
        lines.append("  none")
    for gap in report.gaps:
        how = "declined" if gap.declined else f"low ({gap.best_confidence:.2f})"
        times = f"{gap.times}×" if gap.times > 1 else "1×"
        lines.append(f"  {times:>4} {how:<11} {gap.last_asked}  {', '.join(gap.platforms):<15} {_cut(gap.question, width - 50)}")

    lines += ["", "Answers marked 👎"]
    if not report.downvoted:
        lines.append("  none")
    for item in report.downvoted:
        lines.append(
            f"  #{item.answer_id} {item.asked_at} {item.platform}: {_cut(item.question, width - 30)}"
            f"  (👎 {item.down_votes}, 👍 {item.up_votes}, confidence {item.confidence:.2f}, {item.outcome})"
        )
        for shown in item.shown:
            lines.append(f"      shown: {_cut(shown, width - 13)}")

    lines += ["", "Per day and platform"]
    lines.append(f"  {'day':<10}  {'platform':<10} {'asked':>6} {'answered':>9} {'declined':>9} {'other':>6} {'up':>4} {'down':>4}")
    for row in report.per_day:
        lines.append(
            f"  {row.day:<10}  {row.platform:<10} {row.questions:>6} {row.answered:>9} {row.declined:>9}"
            f" {row.other:>6} {row.up_votes:>4} {row.down_votes:>4}"
        )
    return "\n".join(lines)


def _cut(text: str, limit: int) -> str:
    limit = max(limit, 20)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_answers(source: Path | Database, since: dt.datetime | None = None) -> list[LoggedAnswer]:
    """Every logged question since `since` (UTC), oldest first, with its vote counts. Read-only.

    `source` is a SQLite file (FileNotFoundError when there is none) or an open `Database`
    (the PostgreSQL log replicas share); a database nothing was logged in yet gives [].
    """
    if not isinstance(source, (str, Path)):
        return _read(source, since)
    path = Path(source).expanduser()
    if not path.is_file():
        raise FileNotFoundError(str(path))
    database = SqliteDatabase(path, read_only=True)
    try:
        return _read(database, since)
    finally:
        database.close()


def _read(database: Database, since: dt.datetime | None) -> list[LoggedAnswer]:
    check_readable(database)
    if not has_questions_table(database):
        return []  # a database the bot has not written to yet
    rows = database.execute(
        "SELECT q.id, q.asked_at, q.platform, q.question, q.outcome, q.answered, q.confidence,"
        " q.top_score, q.latency_ms, q.passages,"
        " COALESCE(SUM(CASE WHEN f.vote = 1 THEN 1 ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN f.vote = -1 THEN 1 ELSE 0 END), 0)"
        " FROM questions q LEFT JOIN feedback f ON f.question_id = q.id"
        " WHERE q.asked_at >= ? GROUP BY q.id ORDER BY q.asked_at, q.id",
        ((since or dt.datetime.min).strftime(TIME_FORMAT),),
    )
    return [_logged_answer(row) for row in rows]


def _logged_answer(row: tuple[Any, ...]) -> LoggedAnswer:
    (answer_id, asked_at, platform, question, outcome, answered, confidence, top_score, latency, passages, up, down) = row
    return LoggedAnswer(
        answer_id=int(answer_id),
        asked_at=dt.datetime.strptime(asked_at, TIME_FORMAT).replace(tzinfo=dt.timezone.utc),
        platform=platform,
        question=question,
        outcome=outcome,
        answered=bool(answered),
        confidence=float(confidence),
        top_score=None if top_score is None else float(top_score),
        latency_ms=float(latency),
        passages=tuple(ShownPassage(**p) for p in json.loads(passages)),
        up_votes=int(up),
        down_votes=int(down),
    )
