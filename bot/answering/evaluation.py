"""Measuring answer quality on a file of questions with known answers.

File format (JSON Lines), one question per line:

    {"id": "d01", "question": "...", "answers": ["substring of an article", ...], "kind": "lookup"}

`answers: []` marks a question the articles do not answer. A returned passage is
a hit when its text contains one of the answers, both compared after Unicode
normalisation, curly-to-straight quotes, case folding and collapsed whitespace.
A row may also carry `paragraph`, the text the question was written on (SQuAD's
context): then a hit also needs the passage's matched sentence to lie inside that
paragraph, since short answers ("France") appear in many passages.
Hits count the passages returned whether or not the answer was marked confident;
declines count `answered: false`.

Figures, overall and for each `kind`: Hit@1, Hit@3 and MRR over the answerable
questions, answerable questions wrongly declined, unanswerable questions declined,
and the latency of each answer. Any object with `answer(question) -> Answer` can be
measured: the answering core, or `BaselineAnswerer`, plain BM25Plus over the same
sentences with no declines, the yardstick to report beside it.

Failure behaviour: a broken question file raises `EvalFileError` naming the line;
nothing else here raises on a question (the answerers never do).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Protocol, Sequence

from bot.answering.answer import Answer, Outcome, Passage, Source
from bot.errors import EvalFileError
from corpus import Article
from index.analysis import clean_text
from index.baseline import BM25PlusBaseline
from index.sentence_index import SentenceIndex


@dataclass(frozen=True)
class EvalQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]
    kind: str
    paragraph: str | None = None
    """The text the question was written on; when set, a hit's sentence must lie in it."""
    split: str | None = None
    """"tune" or "test" in a set split for tuning on one half and reporting on the other."""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


class Answerer(Protocol):
    def answer(self, question: str) -> Answer: ...


@dataclass
class Scores:
    questions: int = 0
    """Answerable questions (Hit@k and MRR are over these)."""
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    mrr: float = 0.0
    wrongly_declined: int = 0
    """Answerable questions answered `answered: false`."""
    unanswerable: int = 0
    declined: int = 0
    """Unanswerable questions rightly declined."""
    median_ms: float = 0.0
    p95_ms: float = 0.0


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
    system: str = "qabot"

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
            paragraph = row.get("paragraph")
            if (
                not isinstance(row["question"], str)
                or not isinstance(answers, list)
                or not isinstance(paragraph, (str, type(None)))
            ):
                raise TypeError
            questions.append(
                EvalQuestion(
                    qid=str(row.get("id", number)),
                    question=row["question"],
                    answers=tuple(str(a) for a in answers),
                    kind=str(row.get("kind") or ("unanswerable" if not answers else "other")),
                    paragraph=paragraph,
                    split=str(row["split"]) if row.get("split") is not None else None,
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise EvalFileError(
                f"{path}, line {number}: expected a JSON object with 'question' (text), 'answers' (list) "
                "and, if any, 'paragraph' (text)"
            ) from None
    if not questions:
        raise EvalFileError(f"{path}: no questions in the file")
    return questions


def select_split(questions: list[EvalQuestion], split: str | None) -> list[EvalQuestion]:
    """The questions of one half ("tune" or "test"); all of them when `split` is None."""
    return questions if split is None else [q for q in questions if q.split == split]


def hit_rank(answer: Answer, expected: Iterable[str], paragraph: str | None = None) -> int | None:
    """1-based rank of the first returned passage containing an expected answer, else None.

    With `paragraph`, the passage's matched sentence must also lie inside it."""
    wanted = [normalise(a) for a in expected]
    within = normalise(paragraph) if paragraph is not None else None
    for rank, passage in enumerate(answer.passages, start=1):
        text = normalise(passage.text)
        if any(w in text for w in wanted) and (within is None or normalise(passage.sentence) in within):
            return rank
    return None


def evaluate(answerer: Answerer, questions: list[EvalQuestion], system: str = "qabot") -> EvalReport:
    overall = Scores()
    by_kind: dict[str, Scores] = defaultdict(Scores)
    latencies: dict[str, list[float]] = defaultdict(list)
    misses: list[dict[str, object]] = []
    for q in questions:
        started = time.perf_counter()
        answer = answerer.answer(q.question)
        # Measured here, not taken from the answer, so every answerer is timed the same way.
        elapsed_ms = (time.perf_counter() - started) * 1000
        latencies[q.kind].append(elapsed_ms)
        latencies[""].append(elapsed_ms)
        tallies = (overall, by_kind[q.kind])
        if not q.answerable:
            for scores in tallies:
                scores.unanswerable += 1
                scores.declined += not answer.answered
            if answer.answered:
                misses.append({"id": q.qid, "question": q.question, "problem": "answered, should decline"})
            continue
        rank = hit_rank(answer, q.answers, q.paragraph)
        for scores in tallies:
            scores.questions += 1
            scores.wrongly_declined += not answer.answered
            scores.hit_at_1 += rank == 1
            scores.hit_at_3 += rank is not None and rank <= 3
            scores.mrr += 1 / rank if rank else 0.0
        if rank != 1 or not answer.answered:
            problem = "not found" if rank is None else f"first hit at rank {rank}"
            if not answer.answered:
                problem += ", declined"
            misses.append({"id": q.qid, "question": q.question, "problem": problem})
    for kind, scores in (("", overall), *by_kind.items()):
        if scores.questions:
            scores.hit_at_1 /= scores.questions
            scores.hit_at_3 /= scores.questions
            scores.mrr /= scores.questions
        scores.median_ms, scores.p95_ms = _median_p95(latencies[kind])
    return EvalReport(
        overall=overall,
        by_kind=dict(sorted(by_kind.items())),
        unanswerable=overall.unanswerable,
        rightly_declined=overall.declined,
        answerable=overall.questions,
        wrongly_declined=overall.wrongly_declined,
        median_ms=overall.median_ms,
        p95_ms=overall.p95_ms,
        misses=misses,
        system=system,
    )


def _median_p95(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


@dataclass(frozen=True)
class BaselineAnswerer:
    """Plain BM25Plus (`index.baseline`) over the same index, shaped as answers: the top k
    sentences as passages with the same neighbouring sentences as context, never a decline."""

    articles: Sequence[Article]
    index: SentenceIndex
    baseline: BM25PlusBaseline
    top_k: int = 3

    @classmethod
    def from_index(cls, articles: Sequence[Article], index: SentenceIndex, top_k: int = 3) -> "BaselineAnswerer":
        return cls(articles=articles, index=index, baseline=BM25PlusBaseline.from_index(index), top_k=top_k)

    def answer(self, question: str) -> Answer:
        started = time.perf_counter()
        hits = self.baseline.top(question if isinstance(question, str) else "", self.top_k)
        return Answer(
            question=question,
            outcome=Outcome.ANSWERED,
            message="",
            passages=tuple(self._passage(hit.chunk, hit.score) for hit in hits),
            confidence=1.0 if hits else 0.0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _passage(self, chunk: int, score: float) -> Passage:
        before, after = self.index.context(chunk)
        return Passage(
            sentence=self.index.sentence(chunk),
            before=before,
            after=after,
            score=score,
            source=Source.of(self.articles[self.index.article_of(chunk)]),
        )


def _count(done: int, total: int) -> str:
    return f"{done}/{total}" if total else "-"


def _as_text(report: EvalReport) -> str:
    lines = [
        f"{report.system}",
        f"{'':<16}{'answerable':>11}{'Hit@1':>7}{'Hit@3':>7}{'MRR':>7}{'wrongly':>9}"
        f"{'unanswer.':>10}{'median':>9}{'p95':>9}",
        f"{'':<16}{'':>11}{'':>7}{'':>7}{'':>7}{'declined':>9}{'declined':>10}{'ms':>9}{'ms':>9}",
    ]

    def row(name: str, s: Scores) -> str:
        hits = (
            f"{s.hit_at_1:>7.2f}{s.hit_at_3:>7.2f}{s.mrr:>7.2f}" if s.questions else f"{'-':>7}{'-':>7}{'-':>7}"
        )
        return (
            f"{name:<16}{s.questions:>11}{hits}{_count(s.wrongly_declined, s.questions):>9}"
            f"{_count(s.declined, s.unanswerable):>10}{s.median_ms:>9.2f}{s.p95_ms:>9.2f}"
        )

    lines.append(row("all", report.overall))
    for kind, scores in report.by_kind.items():
        lines.append(row(f"  {kind}", scores))
    lines.append("")
    lines.append(f"unanswerable rightly declined: {report.rightly_declined} of {report.unanswerable}")
    lines.append(f"answerable wrongly declined:   {report.wrongly_declined} of {report.answerable}")
    lines.append(f"latency per question: median {report.median_ms:.2f} ms, p95 {report.p95_ms:.2f} ms")
    if report.misses:
        lines.append("")
        lines.append("not a clean hit:")
        for miss in report.misses:
            lines.append(f"  {miss['id']}: {miss['problem']}: {miss['question']}")
    return "\n".join(lines)
