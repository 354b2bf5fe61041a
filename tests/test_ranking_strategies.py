"""A small corpus reads question terms' gains from a dense table, a large one searches the
postings: both must rank exactly alike, or the bundled corpus would answer differently from
an admin's archive for the same reason."""

from __future__ import annotations

import copy

from tests.support.synthetic import questions
from bot.answering.core import AnsweringCore
from bot.answering.evaluation import load_questions
from index.query import parse_question
from index.selection import rank
from tests.conftest import REPO, SHARED_EVAL


def test_the_bundled_corpus_keeps_a_dense_gain_table(core: AnsweringCore):
    table = core.index.dense_gains
    assert table is not None
    assert table.shape == (core.index.term_count, core.index.size + 1)
    assert not table[:, -1].any()  # the "no sentence" column holds nothing


def test_dense_table_and_postings_search_rank_every_question_alike(core: AnsweringCore):
    searching = copy.copy(core.index)
    searching.dense_gains = None  # the large-corpus way, on the same index
    asked = [q.question for q in load_questions(REPO / "eval" / "team.jsonl")]
    if SHARED_EVAL.exists():
        asked += [q.question for q in load_questions(SHARED_EVAL)]
    asked += questions(list(core.index.texts), 200)  # words of random sentences, typos, unknown words
    compared = 0
    for question in asked:
        query = parse_question(question, core.index.analyzer, core.vocabulary, core.lexicon)
        if not query.known_concepts:
            continue
        assert rank(core.index, query, 3) == rank(searching, query, 3), question
        compared += 1
    assert compared > 200
