"""`qabot eval` measures Hit@1, Hit@3, MRR and declines the way the question file defines them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answering.answer import Answer, Outcome, Passage, Source
from bot.answering.evaluation import (
    EvalFileError,
    evaluate,
    hit_rank,
    load_questions,
    normalise,
)
from tests.conftest import SHARED_EVAL


def passage(text: str) -> Passage:
    return Passage(sentence=text, before="", after="", score=1.0, source=Source("a", "A"))


def test_answers_match_after_unicode_quote_case_and_space_normalisation():
    assert normalise("“Creepy”  SURVEILLANCE\n state") == normalise('"creepy" surveillance state')
    answer = Answer("q", Outcome.ANSWERED, "", (passage("nothing here"), passage("It was “never  live”.")))
    assert hit_rank(answer, ['was "never live"']) == 2
    assert hit_rank(answer, ["absent"]) is None


def test_the_report_counts_hits_ranks_and_declines(core, tmp_path: Path):
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "1", "question": "how much did amazon pay for ring", "answers": ["$839 million"], "kind": "numeric"},
        {"id": "2", "question": "Why did Ring drop Flock?", "answers": ["no such text anywhere"], "kind": "why"},
        {"id": "3", "question": "what's the capital of australia", "answers": [], "kind": "unanswerable"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = evaluate(core, load_questions(path))
    assert report.overall.questions == 2
    assert report.overall.hit_at_1 == pytest.approx(0.5)
    assert report.overall.mrr == pytest.approx(0.5)
    assert report.by_kind["numeric"].hit_at_3 == 1.0 and report.by_kind["why"].hit_at_3 == 0.0
    assert (report.rightly_declined, report.unanswerable) == (1, 1)
    assert report.wrongly_declined == 0


def test_a_broken_question_file_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "ok", "answers": []}\n{not json\n')
    with pytest.raises(EvalFileError, match="line 2"):
        load_questions(path)


@pytest.mark.skipif(not SHARED_EVAL.exists(), reason="the team's shared dev questions are not beside the repo")
def test_the_dev_questions_meet_the_quality_bar(core):
    report = evaluate(core, load_questions(SHARED_EVAL))
    assert report.overall.hit_at_3 >= 0.80
    assert report.overall.hit_at_1 >= 0.60
    assert report.rightly_declined >= 3
    assert report.wrongly_declined <= 3


def test_the_teams_own_questions_meet_the_quality_bar(core):
    path = Path(__file__).resolve().parents[1] / "eval" / "team.jsonl"
    report = evaluate(core, load_questions(path))
    assert report.overall.hit_at_3 >= 0.80
    assert report.overall.hit_at_1 >= 0.60
    assert report.wrongly_declined <= 3
