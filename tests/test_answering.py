"""A user asks about the Ring / Flock story and gets the passages that answer, with their sources."""

from __future__ import annotations

import pytest

from bot.answering.answer import Outcome
from bot.app import load_core
from corpus import BUNDLED_DIR, load_corpus
from tests.conftest import make_settings

TECHCRUNCH_URL = (
    "https://techcrunch.com/2026/02/13/amazons-ring-cancels-partnership-with-flock-"
    "a-network-of-ai-cameras-used-by-ice-feds-and-police/"
)


def test_why_ring_dropped_flock_is_answered_with_the_reason_and_its_sources(core):
    answer = core.answer("Why did Ring drop Flock?")
    assert answer.answered
    first = answer.passages[0]
    assert "significantly more time and resources than anticipated" in first.text
    # TechCrunch and the BBC both report Ring giving that reason, in the same quoted words:
    # shown once, the other credited, each crediting article with its own sentence.
    sources = [first.source, *first.also_reported_by]
    assert len({s.article_id for s in sources}) == len(sources) >= 2
    assert any(s.url == TECHCRUNCH_URL for s in sources)
    for other in first.also_reported_by:
        assert "more time and resources than anticipated" in other.sentence


def test_a_numeric_question_gets_the_sentence_with_the_number_and_the_articles_link(core):
    answer = core.answer("how much did amazon pay for ring")
    assert answer.answered
    first = answer.passages[0]
    assert "$839 million" in first.sentence
    assert first.source.publisher == "AICNBC"
    assert first.source.url == "https://aicnbc.com/17387.html"


def test_each_passage_is_the_matched_sentence_with_its_neighbours_quoted_verbatim(core):
    answer = core.answer("What does Ring's Familiar Faces tool let customers do?")
    passage = answer.passages[0]
    assert "save and label faces of frequent visitors" in passage.text
    assert passage.text == " ".join(p for p in (passage.before, passage.sentence, passage.after) if p)
    article = next(a for a in load_corpus(BUNDLED_DIR).articles if a.article_id == passage.source.article_id)
    assert passage.text in article.text  # every word shown comes from the article


def test_an_article_with_no_known_url_is_shown_without_a_link(core):
    answer = core.answer("what percent of american households have a doorbell camera")
    first = answer.passages[0]
    assert "27%" in first.sentence
    assert first.source.publisher == "NBC News" and first.source.url is None


def test_an_article_with_no_title_or_publisher_is_named_by_its_first_words(core):
    answer = core.answer("could police use the flock integration for fishing expeditions?")
    sources = [p.source for p in answer.passages]
    unknown = next(s for s in sources if s.publisher is None)
    assert unknown.title is None and unknown.url is None
    assert unknown.label.startswith("Amazon's Ring abruptly terminated")


def test_no_passage_is_shown_twice(core):
    for question in ("did any ring videos get shared with flock", "why did ring drop flock"):
        texts = [p.sentence for p in core.answer(question).passages]
        assert len(texts) == len(set(texts))


def test_a_question_the_articles_cannot_answer_is_declined_and_says_what_they_cover(core):
    answer = core.answer("what's the capital of australia")
    assert answer.outcome is Outcome.NOT_FOUND and not answer.answered
    assert "capital" in answer.message and "australia" in answer.message
    assert answer.passages == ()
    assert "5 articles" in answer.coverage and "BBC News" in answer.coverage


def test_an_on_topic_question_without_an_answer_shows_closest_passages_marked_as_not_an_answer(core):
    answer = core.answer("How many Ring doorbells has Amazon sold?")
    assert not answer.answered
    assert answer.passages, "the closest passages may follow"
    assert "may not answer" in answer.message


def test_questions_in_chat_style_are_understood(core):
    answer = core.answer("what percent of american housholds have a doorbell cam")
    assert answer.answered and "27%" in answer.passages[0].text
    answer = core.answer("what were ppl afraid the superbowl ad tech could realy be used for")
    assert answer.answered
    assert any("track people" in p.text for p in answer.passages)
    answer = core.answer("who did the ftc say had access to customer videos")  # FTC = Federal Trade Commission
    assert "employees and contractors had broad access" in answer.passages[0].text


def test_the_number_of_passages_follows_the_setting(tmp_path):
    core = load_core(make_settings(tmp_path, top_k=1))
    assert len(core.answer("Why did Ring drop Flock?").passages) == 1


@pytest.mark.parametrize(
    "question",
    ["", "   \n\t  ", "\u200b\u200b", "\x00\x01\x02"],
)
def test_an_empty_question_gets_a_clear_reply(core, question):
    answer = core.answer(question)
    assert answer.outcome is Outcome.INVALID_QUESTION
    assert "Please ask a question" in answer.message


def test_a_question_of_only_stopwords_gets_a_clear_reply(core):
    answer = core.answer("what is the?")
    assert answer.outcome is Outcome.INVALID_QUESTION
    assert "words to search for" in answer.message


def test_a_very_long_question_is_refused_politely_without_searching(core):
    answer = core.answer("why did ring drop flock " * 500)
    assert answer.outcome is Outcome.INVALID_QUESTION
    assert "characters long" in answer.message
    assert len(answer.question) < 400  # the echo is shortened too


@pytest.mark.parametrize(
    "question",
    [
        "why did ring\u200b drop flock?",  # zero-width space inside
        "\u202ewhy did ring drop flock?",  # right-to-left override
        "ＷＨＹ did ＲＩＮＧ drop Ｆｌｏｃｋ？",  # full-width letters
        "why did ring 💍 drop flock 🐦🐦‍⬛",  # emoji and a zero-width joiner
        "@everyone **why** did <@123> ring drop `flock`?",  # mention and markdown tricks
        "<!channel> why did ring drop flock <script>",
    ],
)
def test_odd_unicode_and_markup_still_get_the_answer(core, question):
    answer = core.answer(question)
    assert answer.answered
    assert "significantly more time and resources" in answer.passages[0].text


def test_the_core_never_raises_on_non_text_input(core):
    answer = core.answer(None)  # type: ignore[arg-type]
    assert answer.outcome is Outcome.INVALID_QUESTION


def test_the_answer_serialises_to_the_documented_json_shape(core):
    data = core.answer("Why did Ring drop Flock?").to_dict()
    assert data["answered"] is True and isinstance(data["message"], str)
    passage = data["passages"][0]
    for key in ("text", "title", "publisher", "url", "score", "also_reported_by"):
        assert key in passage
    assert passage["also_reported_by"]
    assert all(set(s) >= {"title", "publisher", "url", "sentence"} for s in passage["also_reported_by"])


def test_a_flood_of_text_is_refused_before_it_is_processed(core):
    answer = core.answer("why did ring drop flock " * 400_000)  # ~10 MB
    assert answer.outcome is Outcome.INVALID_QUESTION and "characters long" in answer.message
    assert len(answer.question) <= 301  # the echo stays short
