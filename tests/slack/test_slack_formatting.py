"""How an answer reads in Slack: quoted passages, their sources, honest declines, and Slack's limits."""

from __future__ import annotations

import re

from bot.adapters.slack.formatting import (
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    NOT_AN_ANSWER_NOTE,
    format_answer,
)
from bot.answering.answer import Answer, Outcome, Passage, Source
from tests.support.slack_server import block_kit_problems, texts_of

BBC = Source(
    article_id="bbc",
    label="Amazon's Ring ends deal with surveillance firm after backlash",
    title="Amazon's Ring ends deal with surveillance firm after backlash",
    publisher="BBC News",
    url="https://www.bbc.com/news/articles/cwy8dxz1g7zo",
)
NBC_NO_URL = Source(article_id="nbc", label="NBC News", publisher="NBC News")
TECHCRUNCH = Source(
    article_id="tc",
    label="Ring cancels partnership with Flock",
    title="Ring cancels partnership with Flock",
    publisher="TechCrunch",
    url="https://techcrunch.com/ring?a=1&b=2",
)


def passage(sentence: str, source: Source = BBC, before: str = "", after: str = "", also=()) -> Passage:
    return Passage(sentence=sentence, before=before, after=after, score=1.0, source=source, also_reported_by=also)


def answered(*passages: Passage, question: str = "Why did Ring end the deal?") -> Answer:
    return Answer(
        question=question,
        outcome=Outcome.ANSWERED,
        message="Here is what the articles say:",
        passages=passages,
    )


def all_text(answer: Answer, echo: bool = False) -> str:
    message = format_answer(answer, echo_question=echo)
    return "\n".join([message.text, *texts_of(message.blocks)])


def test_a_passage_is_quoted_with_its_matched_sentence_in_bold_and_a_link_to_its_source():
    answer = answered(
        passage(
            "The decision cancels a deal announced in October.",
            before="Amazon's smart doorbell company is dropping a partnership.",
            after="The agreement would have allowed agencies to retrieve video.",
        )
    )
    message = format_answer(answer)
    section = message.blocks[1]["text"]["text"]
    assert section.startswith(">Amazon's smart doorbell company is dropping a partnership. ")
    assert "*The decision cancels a deal announced in October.*" in section
    assert section.endswith(
        "The agreement would have allowed agencies to retrieve video.\n"
        "<https://www.bbc.com/news/articles/cwy8dxz1g7zo|"
        "Amazon's Ring ends deal with surveillance firm after backlash · BBC News>"
    )
    assert message.blocks[0]["text"]["text"] == "Here is what the articles say:"


def test_a_source_without_a_url_is_named_but_not_linked():
    section = format_answer(answered(passage("Ring terminated the partnership.", NBC_NO_URL))).blocks[1]
    assert section["text"]["text"].endswith("\nNBC News")
    assert "<" not in section["text"]["text"]


def test_ampersands_in_a_url_are_escaped_inside_the_link():
    section = format_answer(answered(passage("Ring cancels.", TECHCRUNCH))).blocks[1]["text"]["text"]
    assert "<https://techcrunch.com/ring?a=1&amp;b=2|Ring cancels partnership with Flock · TechCrunch>" in section


def test_other_outlets_carrying_the_same_passage_are_listed_in_a_context_block():
    message = format_answer(answered(passage("Ring ended it.", also=(NBC_NO_URL, TECHCRUNCH))))
    context = message.blocks[2]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == (
        "Also reported by NBC News, "
        "<https://techcrunch.com/ring?a=1&amp;b=2|Ring cancels partnership with Flock · TechCrunch>"
    )


def test_links_previews_are_off_and_the_notification_text_carries_the_best_sentence():
    message = format_answer(answered(passage("Ring ended the Flock deal.")))
    kwargs = message.as_kwargs()
    assert kwargs["unfurl_links"] is False and kwargs["unfurl_media"] is False
    assert message.text == (
        "Here is what the articles say: “Ring ended the Flock deal.” "
        "(Amazon's Ring ends deal with surveillance firm after backlash)"
    )


def test_when_the_articles_do_not_answer_the_closest_passages_are_marked_as_not_an_answer():
    answer = Answer(
        question="Who won the Super Bowl?",
        outcome=Outcome.NOT_FOUND,
        message="I couldn't find an answer to that in the articles.",
        passages=(passage("A Ring advertisement aired during the Super Bowl."),),
        coverage="I answer from 5 articles from BBC News and TechCrunch.",
    )
    message = format_answer(answer)
    texts = texts_of(message.blocks)
    assert texts[0] == "I couldn't find an answer to that in the articles."
    assert texts[1] == NOT_AN_ANSWER_NOTE
    assert "*A Ring advertisement aired during the Super Bowl.*" in texts[2]
    assert texts[-1] == "I answer from 5 articles from BBC News and TechCrunch."
    assert message.text == "I couldn't find an answer to that in the articles."


def test_a_rate_limited_asker_gets_a_polite_note_and_no_passages():
    answer = Answer(
        question="q",
        outcome=Outcome.RATE_LIMITED,
        message="You're asking faster than I can keep up.",
        passages=(passage("Should not be shown."),),
    )
    message = format_answer(answer)
    assert texts_of(message.blocks) == [":hourglass_flowing_sand: You're asking faster than I can keep up."]


def test_an_error_is_an_apology_alone():
    answer = Answer(question="q", outcome=Outcome.ERROR, message="Sorry, something went wrong.")
    assert texts_of(format_answer(answer).blocks) == ["Sorry, something went wrong."]


def test_mentions_typed_into_a_question_or_found_in_an_article_notify_nobody():
    answer = answered(
        passage("AT&T said <!here> is <b>not</b> a tag & <@U123> is nobody."),
        question="<!channel> <!here> <@U0BOSS> what did AT&T say?",
    )
    text = all_text(answer, echo=True)
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U0BOSS&gt; what did AT&amp;T say?" in text
    assert "AT&amp;T said &lt;!here&gt; is &lt;b&gt;not&lt;/b&gt; a tag &amp; &lt;@U123&gt; is nobody." in text
    # No Slack control sequence except our own source link.
    assert re.findall(r"<[^>]*>", text) == [
        (
            "<https://www.bbc.com/news/articles/cwy8dxz1g7zo|"
            "Amazon's Ring ends deal with surveillance firm after backlash · BBC News>"
        )
    ]
    message = format_answer(answer, echo_question=True)
    assert all(element.get("verbatim") for element in _text_objects(message.blocks))


def test_the_question_is_echoed_only_when_asked_for():
    answer = answered(passage("Ring ended it."), question="Why did Ring end it?")
    assert "*Question:* Why did Ring end it?" in all_text(answer, echo=True)
    assert "Why did Ring end it?" not in all_text(answer, echo=False)


def test_a_very_long_passage_is_trimmed_to_slacks_section_limit_keeping_the_matched_sentence():
    context = "Flock & Ring <said> " * 400  # 8,000 characters, longer still once escaped
    sentence = "Ring ended the partnership with Flock after the Super Bowl advertisement."
    message = format_answer(answered(passage(sentence, before=context, after=context)))
    section = message.blocks[1]["text"]["text"]
    assert len(section) <= MAX_SECTION_CHARS
    assert f"*{sentence}*" in section
    assert section.startswith(">…") and "…\n<https://www.bbc.com/" in section
    assert not re.search(r"&(?!amp;|lt;|gt;)", section), "an escape sequence was cut in half"
    assert block_kit_problems(message.as_kwargs()) == []


def test_a_matched_sentence_longer_than_a_section_is_cut_at_a_word_and_still_linked():
    sentence = "word & more " * 600
    section = format_answer(answered(passage(sentence))).blocks[1]["text"]["text"]
    assert len(section) <= MAX_SECTION_CHARS
    assert section.startswith(">*word &amp; more") and "…*\n<https://www.bbc.com/" in section


def test_many_passages_stay_within_fifty_blocks_and_say_how_many_were_left_out():
    passages = [passage(f"Sentence number {n}.", also=(NBC_NO_URL,)) for n in range(40)]
    message = format_answer(answered(*passages), echo_question=True)
    assert len(message.blocks) <= MAX_BLOCKS
    shown = sum(1 for t in texts_of(message.blocks) if t.startswith(">*Sentence number"))
    assert 10 <= shown < 40
    assert texts_of(message.blocks)[-1] == f"{40 - shown} more passages not shown."
    assert block_kit_problems(message.as_kwargs()) == []


def test_a_passage_reported_by_hundreds_of_outlets_still_fits_its_context_block():
    outlets = tuple(
        Source(article_id=f"a{n}", label=f"Outlet number {n}", url=f"https://example.com/{n}") for n in range(300)
    )
    message = format_answer(answered(passage("Ring ended it.", also=outlets)))
    context = message.blocks[2]["elements"][0]["text"]
    assert len(context) <= MAX_SECTION_CHARS
    assert context.startswith("Also reported by <https://example.com/0|Outlet number 0>, ")
    assert re.search(r", \d+ more$", context)


def _text_objects(blocks):
    for block in blocks:
        if "text" in block:
            yield block["text"]
        yield from block.get("elements", [])
