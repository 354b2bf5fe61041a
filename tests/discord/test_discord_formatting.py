"""How an Answer looks in Discord: quotes with the match in bold, linked sources, and
never a message that Discord would refuse for its size."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.adapters.discord.formatting import (
    ALSO_REPORTED_FIELD,
    CLOSEST_TITLE,
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBEDS_PER_MESSAGE,
    EMBEDS_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    SOURCE_FIELD,
    OutgoingMessage,
    discord_length,
    embed_length,
    escape_markdown,
    fit,
    format_answer,
)
from bot.answering.answer import Answer, Outcome, Passage, Source

BBC = Source(
    article_id="bbc",
    label="Amazon's Ring ends deal with surveillance firm after backlash",
    title="Amazon's Ring ends deal with surveillance firm after backlash",
    publisher="BBC News",
    url="https://www.bbc.com/news/articles/cwy8dxz1g7zo",
)
NBC = Source(article_id="nbc", label="Amazon no longer working with Flock", title="Amazon no longer working with Flock", publisher="NBC News")
AICNBC = Source(article_id="aicnbc", label="AICNBC", publisher="AICNBC", url="https://example.com/aicnbc")


def passage(sentence: str, before: str = "", after: str = "", source: Source = BBC, also=()) -> Passage:
    return Passage(sentence=sentence, before=before, after=after, score=1.0, source=source, also_reported_by=tuple(also))


def answered(*passages: Passage, question: str = "Why did Ring end the Flock deal?") -> Answer:
    return Answer(question=question, outcome=Outcome.ANSWERED, message="Here is what the articles say.", passages=passages)


def unescape(text: str) -> str:
    """What Discord shows for escaped text: a backslash before punctuation disappears."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text)


def assert_within_discord_limits(messages: list[OutgoingMessage]) -> None:
    assert messages, "an answer must produce at least one message"
    for message in messages:
        assert message.content or message.embeds, "Discord refuses an empty message"
        assert discord_length(message.content or "") <= CONTENT_LIMIT
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(embed_length(e) for e in message.embeds) <= EMBEDS_TOTAL_LIMIT
        for embed in message.embeds:
            assert discord_length(embed.description or "") <= EMBED_DESCRIPTION_LIMIT
            for field in embed.fields:
                assert 0 < discord_length(field.value or "") <= FIELD_VALUE_LIMIT


def test_the_matched_sentence_is_bold_between_its_context():
    [message] = format_answer(answered(passage("Ring cancelled the deal.", before="After backlash,", after="Flock agreed.")))
    [embed] = message.embeds
    assert embed.description == "After backlash, **Ring cancelled the deal.** Flock agreed."
    assert message.content == "Here is what the articles say."


def test_a_source_with_a_url_is_a_link_with_title_and_publisher():
    [message] = format_answer(answered(passage("Ring cancelled the deal.")))
    source = message.embeds[0].fields[0]
    assert source.name == SOURCE_FIELD
    assert source.value == (
        "[Amazon's Ring ends deal with surveillance firm after backlash · BBC News]"
        "(https://www.bbc.com/news/articles/cwy8dxz1g7zo)"
    )


def test_a_source_without_a_url_is_plain_text_and_a_publisher_is_not_repeated():
    [message] = format_answer(answered(passage("One.", source=NBC), passage("Two.", source=AICNBC)))
    assert message.embeds[0].fields[0].value == "Amazon no longer working with Flock · NBC News"
    assert message.embeds[1].fields[0].value == "[AICNBC](https://example.com/aicnbc)"


def test_other_outlets_carrying_the_passage_are_listed_as_also_reported_by():
    [message] = format_answer(answered(passage("Ring cancelled the deal.", also=[NBC, AICNBC])))
    also = message.embeds[0].fields[1]
    assert also.name == ALSO_REPORTED_FIELD
    assert also.value.splitlines() == [
        "Amazon no longer working with Flock · NBC News",
        "[AICNBC](https://example.com/aicnbc)",
    ]


def test_a_decline_says_so_and_marks_the_closest_passages_as_not_an_answer():
    answer = Answer(
        question="Who won the match?",
        outcome=Outcome.NOT_FOUND,
        message="The articles don't answer that.",
        coverage="They are about Ring ending its partnership with Flock Safety.",
        passages=(passage("Ring cancelled the deal."),),
    )
    [message] = format_answer(answer)
    assert message.content.splitlines() == [
        "The articles don't answer that.",
        "They are about Ring ending its partnership with Flock Safety.",
    ]
    [embed] = message.embeds
    assert embed.title == CLOSEST_TITLE
    assert embed.colour != format_answer(answered(passage("x")))[0].embeds[0].colour


def test_rate_limit_and_error_notes_are_plain_text_without_passages():
    for outcome in (Outcome.RATE_LIMITED, Outcome.ERROR):
        answer = Answer(question="q", outcome=outcome, message="Please slow down.", coverage="c", passages=(passage("x"),))
        assert format_answer(answer) == [OutgoingMessage(content="Please slow down.", embeds=())]


def test_a_question_that_cannot_be_searched_gets_the_cores_advice_and_what_the_articles_cover():
    answer = Answer(question="", outcome=Outcome.INVALID_QUESTION, message="Please ask a question.", coverage="I answer from 5 articles.")
    assert format_answer(answer) == [OutgoingMessage(content="Please ask a question.\nI answer from 5 articles.")]


def test_an_echoed_question_is_quoted_on_one_line_and_escaped():
    answer = answered(passage("x"), question="**who**\n> ended _it_? @everyone")
    [message] = format_answer(answer, echo_question=True)
    first_line, second_line = message.content.splitlines()
    assert first_line == r"> \*\*who\*\* \> ended \_it\_? @everyone"
    assert second_line == "Here is what the articles say."


def test_article_markdown_is_shown_literally_and_cannot_pair_with_our_bold():
    [message] = format_answer(answered(passage("5 * 3 = 15", before="a lone * star", after="# not a heading")))
    description = message.embeds[0].description
    assert description == r"a lone \* star **5 \* 3 = 15** \# not a heading"
    assert unescape(description.replace("**", "")) == "a lone * star 5 * 3 = 15 # not a heading"


def test_urls_in_article_text_are_left_intact():
    text = "See https://example.com/a_b_(c) for more_info"
    assert escape_markdown(text) == r"See https://example.com/a_b_(c) for more\_info"


def test_a_very_long_passage_is_trimmed_around_the_bold_sentence():
    before = "Earlier context. " * 400
    after = " Later context." * 400
    [message] = format_answer(answered(passage("The key sentence.", before=before, after=after)))
    description = message.embeds[0].description
    assert "**The key sentence.**" in description
    assert description.startswith("…") and description.endswith("…")
    assert discord_length(description) <= EMBED_DESCRIPTION_LIMIT


def test_many_passages_are_split_over_several_messages_and_only_the_first_has_text():
    long_passages = [passage(f"Sentence {i}. " + "word " * 700) for i in range(12)]
    messages = format_answer(answered(*long_passages))
    assert len(messages) > 1
    assert_within_discord_limits(messages)
    assert messages[0].content and all(m.content is None for m in messages[1:])
    bold = [e.description.split("**")[1] for m in messages for e in m.embeds]
    assert [b.split(".")[0] for b in bold] == [f"Sentence {i}" for i in range(12)], "no passage lost, order kept"


def test_a_long_also_reported_by_list_ends_with_how_many_more():
    many = [Source(article_id=str(i), label=f"Outlet number {i} " + "x" * 60, url=f"https://e.com/{i}") for i in range(40)]
    [message] = format_answer(answered(passage("x", also=many)))
    value = message.embeds[0].fields[1].value
    assert discord_length(value) <= FIELD_VALUE_LIMIT
    assert re.search(r"and \d+ more$", value)
    shown = len(value.splitlines()) - 1
    assert value.endswith(f"and {40 - shown} more")


@given(st.text(), st.integers(min_value=0, max_value=300), st.sampled_from(["start", "end"]))
@example("0.", 3, "start")  # found by this test: "\0." showed its backslash (it escapes punctuation only)
@example("12. Ring", 50, "end")
@settings(max_examples=300, deadline=None)
def test_fit_never_exceeds_its_limit_and_keeps_what_it_shows_verbatim(text, limit, keep):
    shown = fit(text, limit, keep=keep)
    assert discord_length(shown) <= limit
    visible = unescape(shown.strip(ELLIPSIS))
    if keep == "start":
        assert text.startswith(visible) or not visible
    else:
        assert text.endswith(visible) or not visible


ELLIPSIS = "…"
article_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6000
)
sources = st.builds(
    Source,
    article_id=st.just("a"),
    label=st.text(min_size=1, max_size=400),
    publisher=st.none() | st.text(max_size=300),
    url=st.none() | st.just("https://example.com/x_(y)") | st.text(max_size=50),
)
passages = st.builds(
    Passage,
    sentence=article_text,
    before=article_text,
    after=article_text,
    score=st.just(1.0),
    source=sources,
    also_reported_by=st.lists(sources, max_size=15).map(tuple),
)


@given(
    st.sampled_from(list(Outcome)),
    st.text(max_size=3000),
    st.text(max_size=3000),
    st.lists(passages, max_size=12),
    st.booleans(),
)
@settings(max_examples=100, deadline=None)
def test_any_answer_fits_discord_limits(outcome, question, message, passage_list, echo):
    answer = Answer(question=question, outcome=outcome, message=message, coverage=message, passages=tuple(passage_list))
    assert_within_discord_limits(format_answer(answer, echo_question=echo))


def test_escaping_hides_every_markdown_character():
    text = "*b* _i_ ~~s~~ `c` ||sp|| [x](y) <@1> <t:1> \\"
    escaped = escape_markdown(text)
    assert unescape(escaped) == text
    assert not re.search(r"(?<!\\)[*_~`|\[\]<>]", escaped.replace("\\\\", ""))


def test_one_passage_with_the_longest_text_and_source_lists_still_fits_one_message():
    huge = Source(article_id="h", label="L" * 2000, publisher="P" * 2000, url="https://example.com/" + "u" * 500)
    giant = passage("S" * 5000, before="B" * 5000, after="A" * 5000, source=huge, also=[huge] * 30)
    messages = format_answer(answered(giant))
    assert_within_discord_limits(messages)
    assert len(messages) == 1 and "**" in messages[0].embeds[0].description
