"""Measuring answer quality on a file of questions with known answers.

File format (JSON Lines), one question per line:

    {"id": "d01", "question": "...", "answers": ["substring of an article", ...], "kind": "lookup"}

`answers: []` marks a question the articles do not answer. A returned passage is
a hit when its text contains one of the answers, both compared after Unicode
normalisation, curly-to-straight quotes, case folding and collapsed whitespace.
Hits count the passages returned whether or not the answer was marked confident;
declines count `answered: false`.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from bot.answering.answer import Answer
from bot.answering.core import AnsweringCore
from bot.errors import EvalFileError
from index.analysis import clean_text


@dataclass(frozen=True)
class EvalQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]
    kind: str

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class Scores:
    questions: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    mrr: float = 0.0


@dataclass
class EvalReport:
    overall: Scores
    by_kind: dict[str, Scores]
    unanswerable: int
    rightly_declined: int
    answerable: int
    wrongly_declined: int
    median_ms: float
    p95_ms: float
    misses: list[dict[str, object]] = field(default_factory=list)

    def to_text(self) -> str:
        """The report as `qabot eval` prints it."""
        return _as_text(self)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def normalise(text: str) -> str:
    return " ".join(clean_text(text).casefold().split())


def load_questions(path: Path | str) -> list[EvalQuestion]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot be read ({exc})") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            answers = row.get("answers", [])
            if not isinstance(row["question"], str) or not isinstance(answers, list):
                raise TypeError
            questions.append(
                EvalQuestion(
                    qid=str(row.get("id", number)),
                    question=row["question"],
                    answers=tuple(str(a) for a in answers),
                    kind=str(row.get("kind") or ("unanswerable" if not answers else "other")),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise EvalFileError(
                f"{path}, line {number}: expected a JSON object with 'question' (text) and 'answers' (list)"
            ) from None
    if not questions:
        raise EvalFileError(f"{path}: no questions in the file")
    return questions


def hit_rank(answer: Answer, expected: Iterable[str]) -> int | None:
    """1-based rank of the first returned passage containing an expected answer, else None."""
    wanted = [normalise(a) for a in expected]
    for rank, passage in enumerate(answer.passages, start=1):
        text = normalise(passage.text)
        if any(w in text for w in wanted):
            return rank
    return None


def evaluate(core: AnsweringCore, questions: list[EvalQuestion]) -> EvalReport:
    overall = Scores()
    by_kind: dict[str, Scores] = defaultdict(Scores)
    latencies: list[float] = []
    unanswerable = rightly_declined = answerable = wrongly_declined = 0
    misses: list[dict[str, object]] = []
    for q in questions:
        answer = core.answer(q.question)
        latencies.append(answer.latency_ms)
        if not q.answerable:
            unanswerable += 1
            rightly_declined += not answer.answered
            if answer.answered:
                misses.append({"id": q.qid, "question": q.question, "problem": "answered, should decline"})
            continue
        answerable += 1
        wrongly_declined += not answer.answered
        rank = hit_rank(answer, q.answers)
        for scores in (overall, by_kind[q.kind]):
            scores.questions += 1
            scores.hit_at_1 += rank == 1
            scores.hit_at_3 += rank is not None and rank <= 3
            scores.mrr += 1 / rank if rank else 0.0
        if rank != 1 or not answer.answered:
            problem = "not found" if rank is None else f"first hit at rank {rank}"
            if not answer.answered:
                problem += ", declined"
            misses.append({"id": q.qid, "question": q.question, "problem": problem})
    for scores in (overall, *by_kind.values()):
        if scores.questions:
            scores.hit_at_1 /= scores.questions
            scores.hit_at_3 /= scores.questions
            scores.mrr /= scores.questions
    latencies.sort()
    return EvalReport(
        overall=overall,
        by_kind=dict(sorted(by_kind.items())),
        unanswerable=unanswerable,
        rightly_declined=rightly_declined,
        answerable=answerable,
        wrongly_declined=wrongly_declined,
        median_ms=statistics.median(latencies) if latencies else 0.0,
        p95_ms=latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0.0,
        misses=misses,
    )


def _as_text(report: EvalReport) -> str:
    lines = [f"{'':<14}{'questions':>10}{'Hit@1':>8}{'Hit@3':>8}{'MRR':>8}"]

    def row(name: str, s: Scores) -> str:
        return f"{name:<14}{s.questions:>10}{s.hit_at_1:>8.2f}{s.hit_at_3:>8.2f}{s.mrr:>8.2f}"

    lines.append(row("answerable", report.overall))
    for kind, scores in report.by_kind.items():
        lines.append(row(f"  {kind}", scores))
    lines.append("")
    lines.append(
        f"unanswerable rightly declined: {report.rightly_declined} of {report.unanswerable}"
    )
    lines.append(f"answerable wrongly declined:   {report.wrongly_declined} of {report.answerable}")
    lines.append(f"latency per question: median {report.median_ms:.2f} ms, p95 {report.p95_ms:.2f} ms")
    if report.misses:
        lines.append("")
        lines.append("not a clean hit:")
        for miss in report.misses:
            lines.append(f"  {miss['id']}: {miss['problem']}: {miss['question']}")
    return "\n".join(lines)
