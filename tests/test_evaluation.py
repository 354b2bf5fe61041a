"""`qabot eval` measures Hit@1, Hit@3, MRR and declines the way the question file defines them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answering.answer import Answer, Outcome, Passage, Source
from bot.answering.evaluation import (
    BaselineAnswerer,
    EvalFileError,
    evaluate,
    hit_rank,
    load_questions,
    normalise,
    select_split,
)
from bot.app import load_core
from index.analysis import Analyzer
from index.cache import load_or_build
from tests.conftest import SHARED_EVAL, make_settings


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


NORMANS = "The Normans settled in Normandy, a region in France. Rollo was their first ruler."
PARIS = "Paris is the largest city in France. The Seine flows through Paris."
FILLERS = [
    "Bakers in the valley rise before dawn. Their bread is sold at the market.",
    "The orchard grows apples and pears. Harvest comes in the autumn.",
    "A ferry crosses the lake twice a day. It carries cars and bicycles.",
]


def small_corpus(tmp_path: Path) -> Path:
    """One article: the Normans paragraph first, Paris last, unrelated paragraphs between."""
    folder = tmp_path / "articles"
    folder.mkdir()
    body = "\n\n".join([NORMANS, *FILLERS, PARIS])
    (folder / "regions.md").write_text(f"---\ntitle: Regions\npublisher: Test\n---\n\n{body}\n", encoding="utf-8")
    return folder


def write_questions(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def baseline_for(folder: Path, tmp_path: Path) -> BaselineAnswerer:
    loaded = load_or_build(folder, tmp_path / "cache", Analyzer())
    return BaselineAnswerer.from_index(loaded.articles, loaded.index, top_k=3)


def test_with_a_paragraph_a_hit_needs_the_passage_sentence_from_that_paragraph(tmp_path: Path):
    # "France" is in both paragraphs; only the Normans sentence answers where the Normans settled.
    folder = small_corpus(tmp_path)
    rows = [
        {"id": "own", "question": "where did the normans settle", "answers": ["France"], "paragraph": NORMANS},
        {"id": "other", "question": "where did the normans settle", "answers": ["France"], "paragraph": PARIS},
        {"id": "none", "question": "where did the normans settle", "answers": ["France"]},
    ]
    questions = load_questions(write_questions(tmp_path, rows))
    baseline = baseline_for(folder, tmp_path)
    ranks = {q.qid: hit_rank(baseline.answer(q.question), q.answers, q.paragraph) for q in questions}
    # The Normans sentence comes first and holds "France": a hit for its own paragraph and with
    # no paragraph given, but not for the Paris paragraph, whose sentence is not in the top 3.
    assert ranks == {"own": 1, "other": None, "none": 1}
    report = evaluate(baseline, questions)
    assert report.overall.questions == 3 and report.overall.hit_at_1 == pytest.approx(2 / 3)


def test_the_baseline_ranks_by_plain_bm25plus_and_never_declines(tmp_path: Path):
    folder = small_corpus(tmp_path)
    baseline = baseline_for(folder, tmp_path)
    answer = baseline.answer("which river flows through paris")
    assert answer.answered and len(answer.passages) == 3
    assert answer.passages[0].sentence == "The Seine flows through Paris."
    assert answer.passages[0].before == "Paris is the largest city in France."
    scores = [p.score for p in answer.passages]
    assert scores == sorted(scores, reverse=True)
    # Its own words: no parsing, so even chat noise and an empty question get passages.
    assert baseline.answer("lol").answered and baseline.answer("").answered


def test_declines_are_counted_for_each_kind_and_the_baseline_declines_nothing(tmp_path: Path):
    folder = small_corpus(tmp_path)
    rows = [
        {"id": "a1", "question": "which river flows through paris", "answers": ["The Seine"], "kind": "lookup"},
        # Answerable by the file's say-so, but none of its words is in the articles: qabot declines.
        {"id": "a2", "question": "zebras quantum", "answers": ["The Seine"], "kind": "lookup"},
        {"id": "u1", "question": "who won the world cup", "answers": [], "kind": "offtopic"},
        {"id": "u2", "question": "how do zebras sleep", "answers": [], "kind": "offtopic"},
    ]
    questions = load_questions(write_questions(tmp_path, rows))
    core = load_core(make_settings(tmp_path, corpus_dir=folder))
    report = evaluate(core, questions)
    lookup, offtopic = report.by_kind["lookup"], report.by_kind["offtopic"]
    assert (lookup.questions, lookup.wrongly_declined, lookup.hit_at_1) == (2, 1, 0.5)
    assert (offtopic.unanswerable, offtopic.declined) == (2, 2)
    assert (report.wrongly_declined, report.answerable, report.rightly_declined, report.unanswerable) == (1, 2, 2, 2)
    assert lookup.median_ms > 0 and lookup.p95_ms >= lookup.median_ms

    plain = evaluate(baseline_for(folder, tmp_path), questions, system="BM25Plus baseline")
    assert (plain.wrongly_declined, plain.rightly_declined) == (0, 0)
    assert plain.by_kind["lookup"].hit_at_1 == 0.5
    assert "BM25Plus baseline" in plain.to_text()


def test_a_split_selects_one_half_of_the_questions(tmp_path: Path):
    rows = [
        {"question": "a", "answers": [], "split": "tune"},
        {"question": "b", "answers": [], "split": "test"},
        {"question": "c", "answers": []},
    ]
    questions = load_questions(write_questions(tmp_path, rows))
    assert [q.question for q in select_split(questions, "test")] == ["b"]
    assert len(select_split(questions, None)) == 3


def test_a_paragraph_that_is_not_text_names_the_line(tmp_path: Path):
    path = write_questions(tmp_path, [{"question": "a", "answers": ["x"], "paragraph": 3}])
    with pytest.raises(EvalFileError, match="line 1"):
        load_questions(path)


def test_the_quality_table_puts_qabot_and_the_baseline_side_by_side_for_each_set(tmp_path: Path):
    from benchmarks.quality import QuestionSet, format_table, measure, rows

    folder = small_corpus(tmp_path)
    questions = write_questions(
        tmp_path,
        [
            {"question": "which river flows through paris", "answers": ["The Seine"], "split": "test"},
            {"question": "who won the world cup", "answers": [], "split": "test"},
        ],
    )
    sets = [QuestionSet("rivers", questions, folder, "test"), QuestionSet("absent", tmp_path / "no.jsonl", folder)]
    table = rows(measure(sets, use_environment=False, cache_dir=tmp_path / "cache"))
    assert [(r[0], r[1], r[2], r[3]) for r in table] == [("rivers", "qabot", "2", "1.00"), ("rivers", "BM25Plus", "2", "1.00")]
    assert [r[7] for r in table] == ["1/1", "0/1"]
    assert format_table(table, markdown=True).splitlines()[0].startswith("| set | system |")
