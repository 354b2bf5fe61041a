"""An article is credited as "also reported by" only when its own sentence states the same fact.

A reader who checks an answer's credits must find, in each credited article, a sentence saying
what the passage says: not one with another month, another sum, another name, or a "not".
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from bot.app import load_core
from bot.adapters.discord.formatting import format_answer as discord_format
from bot.adapters.slack.formatting import format_answer as slack_format
from bot.answering.core import AnsweringCore
from bot.adapters.terminal import render
from index.analysis import Analyzer
from index.same_fact import Facts, same_fact, sentence_facts
from tests.conftest import REPO, make_settings

ANALYZER = Analyzer()


def says_the_same(a: str, b: str) -> bool:
    """`same_fact` on two loose sentences, every term weighing alike (no corpus to weigh them)."""
    terms_a, terms_b = frozenset(ANALYZER.analyze(a)), frozenset(ANALYZER.analyze(b))
    facts_a, facts_b = sentence_facts(a, ANALYZER.stopwords), sentence_facts(b, ANALYZER.stopwords)
    return same_fact(terms_a, facts_a, terms_b, facts_b, lambda term: 1.0)


def facts(text: str) -> Facts:
    return sentence_facts(text, ANALYZER.stopwords)


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (REPO / "eval" / name).read_text().splitlines() if line.strip()]


# --- The bundled story, as a user asks it -------------------------------------------------


def test_the_october_announcement_is_not_credited_to_the_article_that_says_january(core):
    answer = core.answer("when was the partnership announced")
    [october] = [p for p in answer.passages if p.sentence == "Ring and Flock announced the partnership in October."]
    credited = " ".join(s.sentence or "" for s in october.also_reported_by)
    assert "January" not in credited
    # The article that says January is not hidden behind the October passage: if it ranks, it is
    # a passage of its own, so the reader sees the two accounts disagree.
    january = [p for p in answer.passages if "announced in January" in p.sentence]
    assert all(not p.also_reported_by or "October" not in p.sentence for p in january)


def test_a_sentence_about_another_fact_is_not_credited_even_when_it_shares_the_words(core):
    answer = core.answer("when was the partnership announced")
    [october] = [p for p in answer.passages if p.sentence == "Ring and Flock announced the partnership in October."]
    for other in october.also_reported_by:
        # BBC's "time and resources" reason and AICNBC's "The October announcement ... was positioned
        # as an enhancement" both share the words; neither says when the partnership was announced.
        assert "time and resources" not in (other.sentence or "")
        assert "positioned" not in (other.sentence or "")


def test_two_articles_quoting_the_same_denial_are_one_passage_crediting_both(core):
    answer = core.answer("did ring share videos with flock")
    [denial] = [p for p in answer.passages if "No videos were ever shared between these services" in p.sentence]
    [other] = denial.also_reported_by
    assert other.article_id != denial.source.article_id
    assert "no videos were ever shared between these services" in other.sentence


def test_chat_and_terminal_list_the_credited_outlets_and_json_carries_their_sentences(core):
    answer = core.answer("did ring share videos with flock")
    credited = [s for p in answer.passages for s in p.also_reported_by]
    assert credited and all(s.sentence for s in credited)
    # The renderings list the outlets; the sentence travels in the JSON only, so it changes nothing there.
    bare = replace(
        answer,
        passages=tuple(
            replace(p, also_reported_by=tuple(replace(s, sentence=None) for s in p.also_reported_by))
            for p in answer.passages
        ),
    )
    assert render(answer) == render(bare) and credited[0].publisher in render(answer)
    assert discord_format(answer) == discord_format(bare)
    assert slack_format(answer) == slack_format(bare)
    data = json.loads(json.dumps(answer.to_dict()))
    sentences = [s["sentence"] for p in data["passages"] for s in p["also_reported_by"]]
    assert sentences == [s.sentence for s in credited]


def test_every_credit_in_answers_to_many_questions_names_the_same_numbers_and_months(core):
    """Checked with a simpler reading than the one the bot uses: the digits and month names."""
    questions = [row["question"] for row in read_jsonl("team.jsonl")]
    months = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b")
    digits = re.compile(r"\d+(?:[.,]\d+)*")
    credits = 0
    for question in questions:
        for passage in core.answer(question).passages:
            for other in passage.also_reported_by:
                credits += 1
                assert other.sentence, "every credit carries its sentence"
                assert set(months.findall(other.sentence)) == set(months.findall(passage.sentence))
                assert set(digits.findall(other.sentence)) == set(digits.findall(passage.sentence))
    assert credits >= 3  # the story's articles do repeat one another: credits are still given


# --- A corpus made for the story: one fact, a restatement, a contradiction -------------------


@pytest.fixture(scope="module")
def council_core(tmp_path_factory: pytest.TempPathFactory) -> AnsweringCore:
    folder = tmp_path_factory.mktemp("council")
    articles = {
        "gazette": ("Harbor Gazette", "The city council approved a budget of $4 million for the new library on Tuesday."),
        "courier": ("Valley Courier", "On Tuesday the city council approved a $4 million budget for the new library."),
        "herald": ("Morning Herald", "The city council approved a budget of $6 million for the new library on Tuesday."),
        "tribune": ("Daily Tribune", "The city council did not approve a budget for the new library on Tuesday."),
    }
    for name, (publisher, text) in articles.items():
        (folder / f"{name}.md").write_text(
            f"---\ntitle: Library budget\npublisher: {publisher}\n---\n\n{text}\n\nOther news followed.\n",
            encoding="utf-8",
        )
    return load_core(make_settings(folder, corpus_dir=folder))


def test_a_restatement_is_credited_and_a_different_sum_or_a_denial_stands_on_its_own(council_core):
    answer = council_core.answer("what budget did the city council approve for the library")
    by_publisher = {p.source.publisher: p for p in answer.passages}
    shown = {p.source.publisher for p in answer.passages}
    credited = {s.publisher: s for p in answer.passages for s in p.also_reported_by}
    # Gazette and Courier say the same thing in other words: one passage credits the other.
    assert {"Harbor Gazette", "Valley Courier"} & shown and {"Harbor Gazette", "Valley Courier"} & set(credited)
    # $6 million and "did not approve" are other facts: each is its own passage, credited to no one.
    assert {"Morning Herald", "Daily Tribune"} <= shown
    assert not {"Morning Herald", "Daily Tribune"} & set(credited)
    [restated] = [p for p in answer.passages if p.also_reported_by]
    assert "$4 million" in restated.sentence and "$4 million" in restated.also_reported_by[0].sentence
    assert by_publisher["Morning Herald"].also_reported_by == ()


# --- The team's labelled pairs (eval/same_fact_pairs.jsonl, written by another engineer) ----


def test_on_the_labelled_pairs_no_contradiction_is_merged_and_merges_are_right(core):
    """120 pairs of sentences from the bundled articles, labelled same / different / contradiction
    (28 contradictions pair a real sentence with a copy altered in one fact). The rule was chosen
    before this set existed; it is measured here, with the bundled index's term weights."""
    index = core.index
    analyzer, vocabulary, idf = index.analyzer, index.bm25.vocabulary, index.bm25.idf
    unknown = float(idf.max())  # an altered copy's new word weighs like the rarest term

    def weight(term: str) -> float:
        found = vocabulary.get(term)
        return unknown if found is None else idf.item(found)

    def merged(pair: dict) -> bool:
        a, b = pair["sentence_a"], pair["sentence_b"]
        return same_fact(
            frozenset(analyzer.analyze(a)), facts(a), frozenset(analyzer.analyze(b)), facts(b), weight
        )

    pairs = read_jsonl("same_fact_pairs.jsonl")
    labels = ("same", "different", "contradiction")
    outcome = {label: [p["id"] for p in pairs if p["label"] == label and merged(p)] for label in labels}
    same_total = sum(p["label"] == "same" for p in pairs)
    merged_total = sum(map(len, outcome.values()))
    report = f"merged: {outcome}; recall on same {len(outcome['same'])}/{same_total}"
    assert outcome["contradiction"] == [], report
    assert merged_total >= 3, report  # merging nothing would be precise and useless
    assert len(outcome["same"]) / merged_total >= 0.95, report


# --- The rule on loose sentences ---------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("Ring and Flock announced the partnership in October.", "Ring and Flock announced the partnership in January."),
        ("The FTC ordered Ring to pay $5.8 million.", "The FTC ordered Ring to pay $8.5 million."),
        ("The FTC ordered Ring to pay $5.8 million.", "The FTC ordered Ring to pay 5.8 billion dollars."),
        ("Amazon bought Ring in 2018 for $839 million.", "Amazon bought Ring in 2017 for $839 million."),
        ("Five cities cancelled their contracts last year.", "Six cities cancelled their contracts last year."),
        ("The police shared the videos with the agency.", "The police never shared the videos with the agency."),
        ("Ring shared the videos with the police.", "Ring didn't share the videos with the police."),
        ("Ring said the integration had been cancelled.", "Flock said the integration had been cancelled."),
        ("Jane Smith said the integration had been cancelled.", "John Smith said the integration had been cancelled."),
        ("Senator Ron Wyden said the integration had been cancelled.",
         "Senator Ed Markey said the integration had been cancelled."),
        ("It receives thousands of requests a year from agencies.", "It receives hundreds of requests a year from agencies."),
        ("The company announced the deal on Thursday.", "The company announced the deal on Monday."),
        ("Support for the plan rose to 27% in March.", "Support for the plan fell to 27% in March."),
        ("Ring cancelled the deal before the ad aired.", "Ring cancelled the deal after the ad aired."),
        ("More police departments use the cameras.", "Fewer police departments use the cameras."),
        ("Support for the plan rose to 27% in March.", "Support for the plan rose to 72% in March."),
        ("The council approved the library budget.", "The council approved the library budget without a vote."),
    ],
)
def test_near_copies_that_differ_in_a_number_date_name_or_negation_are_different_facts(a, b):
    assert not says_the_same(a, b)
    assert not says_the_same(b, a)


@pytest.mark.parametrize(
    "a, b",
    [
        ("Ring and Flock announced the partnership in October.", "In October, Ring and Flock announced the partnership."),
        ("Five cities cancelled their contracts.", "5 cities cancelled their contracts."),
        ("The fine was $5.8 million.", "The fine was 5.8 million dollars."),
        ("Support rose to 27% of voters.", "Support rose to 27 percent of voters."),
        ("Twenty-five thousand people signed the petition against the deal.", "25,000 people signed the petition against the deal."),
        ("The integration never launched, so no Ring videos were sent to Flock Safety.",
         "The integration never launched, so no Ring videos were sent to Flock."),
        ("Critics said the ad was creepy and dystopian.", "The ad was creepy and dystopian, critics said."),
        ("Senator Ron Wyden said the integration had been cancelled.", "Wyden said the integration had been cancelled."),
        ("Ring’s founder said the deal was cancelled.", "Ring's founder said the deal was cancelled."),
    ],
)
def test_the_same_fact_in_other_words_or_spellings_is_the_same_fact(a, b):
    assert says_the_same(a, b)
    assert says_the_same(b, a)


def test_a_sentence_that_mentions_the_fact_among_much_else_says_something_else():
    short = "Ring and Flock announced the partnership in October."
    long = ("The deal, which Ring and Flock announced in October, would have let police request video "
            "from doorbell owners through a program called Community Requests.")
    assert not says_the_same(short, long)


def test_numbers_are_read_with_their_scale_and_spelled_out_numbers_as_numbers():
    assert {"5800000", "$"} <= facts("a $5.8 million fine").anchors
    assert "25000" in facts("twenty-five thousand people").anchors
    assert {"5000", "6"} <= facts("5,000 people, six cities").anchors
    assert {"2026", "month:2"} <= facts("in February 2026").anchors
    assert {"21"} <= facts("the 21st time").anchors
    assert "month:5" not in facts("it may happen").anchors  # "may" the verb is not May the month


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\u200b\u202e", "$", "%%%", "1.2.3.4", "é" * 5000, "Ring " * 2000])
def test_any_text_gives_facts_and_never_an_error(text):
    found = facts(text)
    assert isinstance(found, Facts)
    assert says_the_same(text, text) in (True, False)
