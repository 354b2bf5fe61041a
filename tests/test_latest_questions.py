"""People ask what is new: the newest articles answer first, the date is said, undated articles never count as new."""

from __future__ import annotations

import shutil

import pytest

from bot.answering.answer import Outcome
from bot.app import load_core
from corpus import BUNDLED_DIR
from index.recency import recency_question
from tests.conftest import make_settings

UNDATED = """---
title: Flock drones over Springfield
publisher: Springfield Herald
url: https://herald.example/flock-drones
---

Flock drones flew over Springfield for the first time, and Flock said the drones will answer emergency calls.

The city council said the Flock drones would be reviewed after a month of flights over the town.
"""

NEWER = """---
title: Council pauses Flock drones
publisher: Valley Gazette
published: 2026-02-27
url: https://gazette.example/council-pauses-flock-drones
---

The valley council voted on Thursday to pause its Flock drones until a privacy review is finished.

Residents said they had not been told the Flock drones were recording video of their gardens.
"""


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    folder = tmp_path_factory.mktemp("latest") / "articles"
    shutil.copytree(BUNDLED_DIR, folder)
    (folder / "herald-flock-drones.md").write_text(UNDATED, encoding="utf-8")
    (folder / "gazette-council-pauses.md").write_text(NEWER, encoding="utf-8")
    return load_core(make_settings(folder.parent, corpus_dir=folder))


@pytest.mark.parametrize(
    "question, subject",
    [
        ("what's the latest on flock?", "what's on flock?"),
        ("Any news today?", ""),
        ("what happened most recently?", ""),
        ("anything new on the drones lately", "anything new on the drones"),
        ("Why did Ring drop Flock?", None),
        ("What did the recent partnership involve?", None),  # "recent" describes, it does not ask for news
    ],
)
def test_recency_questions_are_recognised_by_general_phrases(question, subject):
    found = recency_question(question)
    assert (found.subject if found else None) == subject


def test_the_latest_on_a_subject_comes_from_the_newest_dated_article_and_says_its_date(core):
    answer = core.answer("what's the latest on the flock drones?")
    assert answer.outcome is Outcome.ANSWERED
    assert answer.message == "Here is the latest in the articles, newest first (the newest is from 2026-02-27):"
    assert answer.passages[0].source.publisher == "Valley Gazette"
    dates = [p.source.published for p in answer.passages]
    assert dates == sorted(dates, key=lambda d: d or "", reverse=True)  # newest first, undated (None) last


def test_an_undated_article_is_never_taken_as_new(core):
    answer = core.answer("any news today?")
    assert answer.outcome is Outcome.ANSWERED
    assert "2026-02-27" in answer.message
    assert answer.passages[0].sentence.startswith("The valley council voted on Thursday")
    assert all(p.source.published for p in answer.passages)
    assert "Springfield Herald" not in {p.source.publisher for p in answer.passages}


def test_other_questions_rank_as_before(core):
    plain = core.answer("what did the city council say about the flock drones over springfield")
    assert plain.message == "Here is what the articles say:"
    assert plain.passages[0].source.publisher == "Springfield Herald"  # the undated article answers this one


def test_the_latest_on_something_the_articles_never_mention_is_declined_as_usual(core):
    answer = core.answer("what's the latest on the weather in Paris?")
    assert answer.outcome is Outcome.NOT_FOUND
