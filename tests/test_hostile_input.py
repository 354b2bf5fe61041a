"""Whatever anyone types, the bot answers within the platform's limits, pings nobody and never raises.

Hypothesis writes the questions: any Unicode at all, and mixtures of what hurts
chat bots: Slack and Discord mention syntax, markdown, right-to-left and
zero-width characters, emoji joined by ZWJ, control characters, lone
surrogates, huge runs. Each goes the whole way a real one goes: from the
platform's message text through the adapter's decoding, the real core over the
bundled articles, and the platform's formatter. The example counts are bounded
so the suite stays quick; CI and a developer run the same ones
(`QABOT_FUZZ=thorough` runs ten times as many).
"""

from __future__ import annotations

import json
import os
import re

import hypothesis
import pytest
from tests.support.discord_server import FakeDiscord, RecordedRequest
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from bot.adapters.discord.client import NO_MENTIONS, strip_mention
from bot.adapters.discord.formatting import (
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBEDS_PER_MESSAGE,
    EMBEDS_TOTAL_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    OutgoingMessage,
    discord_length,
    embed_length,
)
from bot.adapters.discord.formatting import format_answer as discord_format
from bot.adapters.slack.formatting import SlackMessage
from bot.adapters.slack.formatting import format_answer as slack_format
from bot.adapters.slack.markup import question_from_slack
from bot.answering.answer import Answer, Outcome, Passage, Source
from bot.answering.core import SHOWN_QUESTION_CHARS, AnsweringCore
from corpus import BUNDLED_DIR, load_corpus
from tests.support.slack_server import BOT_USER_ID, block_kit_problems, texts_of

SCALE = 10 if os.environ.get("QABOT_FUZZ") == "thorough" else 1
question_settings = hypothesis.settings(
    max_examples=120 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
answer_settings = hypothesis.settings(  # whole answers are large: fewer of them
    max_examples=50 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

BOT_DISCORD_ID = 1_100_000_000_000_000_001

TRICKS = [
    # Slack and Discord mentions, typed or as the platforms encode them
    "@everyone", "@here", "@channel", "<!channel>", "<!here>", "<!everyone>", "<!here|here>",
    "<@U0BOSS>", "<@U0BOSS|boss>", f"<@{BOT_USER_ID}>", "<#C0NEWS|newsroom>", "<!subteam^S0TEAM|@editors>",
    "<!date^1392734382^{date}|Feb 18>", "<@123456789012345678>", "<@!123456789012345678>",
    "<@&123456789012345678>", "<#123456789012345678>", f"<@{BOT_DISCORD_ID}>", "<t:1700000000:R>",
    "&lt;!channel&gt;", "&amp;", "&lt;", "&gt;", "<https://evil.example|click>", "<mailto:a@b.c>",
    # markdown of both platforms
    "**", "__", "*bold*", "_it_", "~~s~~", "~s~", "||spoiler||", "`code`", "```\nblock\n```", "> quote",
    "# heading", "-# subtext", "1. item", "- item", "[link](https://evil.example)", "\\", "\\*",
    # direction, joiners, invisible and control characters, emoji
    "\u202e", "\u202d", "\u200f", "\u200e", "\u2066", "\u2069", "\u200b", "\u200c", "\u200d", "\ufeff",
    "\u2028", "\u2029", "\x00", "\x1b[31m", "\x7f", "\r\n", "\t", "\u0085", "\ud800", "\udfff",
    "👨‍👩‍👧‍👦", "🏳️‍🌈", "🐦‍⬛", "👍🏽", "🇺🇸", "e\u0301", "ﷺ", "𒐫", "Z̴̡̛a̶l̷g̸o̵",
    "مرحبا", "שלום", "ＷＨＹ", "ᚠᚢᚦ",
    # words the articles use, so that many questions are really answered
    "why", "did", "Ring", "drop", "Flock", "police", "videos", "Super Bowl", "ad", "partnership", "cancel",
    "how much", "Amazon", "pay", "?", " ", "  ", "\n",
]  # fmt: skip

tricky_text = st.lists(
    st.one_of(st.sampled_from(TRICKS), st.text(max_size=40)), max_size=60
).map("".join)
"""Mixtures of the tricks above with anything else, up to a few thousand characters."""

LONE_SURROGATES = {"\ud800", "\udfff"}  # noqa: B033 (two different surrogates; the linter sees both as U+FFFD)
tricky_article_text = st.lists(
    st.one_of(st.sampled_from([t for t in TRICKS if t not in LONE_SURROGATES]), st.text(max_size=40)), max_size=60
).map("".join)
"""The same without lone surrogates, which no article can hold (they are read as UTF-8)."""

any_question = st.one_of(
    tricky_text,
    st.text(),  # any Unicode (Hypothesis includes odd categories, but not lone surrogates)
    st.text(alphabet=st.characters(codec=None, categories=None), max_size=200),  # lone surrogates too
    st.builds(lambda piece, times: piece * times, st.sampled_from(TRICKS), st.integers(500, 5000)),  # huge runs
)

EXAMPLES = [
    "",
    "@everyone <@&123456789012345678> why did ring drop flock?",
    "<!channel> <!here> <@U0BOSS> why did ring drop flock?",
    "\u202e\u200d👨‍👩‍👧‍👦 **why** did ||ring|| drop `flock`?\ud800",
    "1. why\n# did\n> ring drop flock",
    "why did ring drop flock " * 300,
    "&lt;!channel&gt; &amp;lt; <https://evil.example|why did ring drop flock>",
]


@pytest.fixture(scope="module")
def article_texts() -> list[str]:
    return [article.text for article in load_corpus(BUNDLED_DIR).articles]


# ---------------------------------------------------------------- the core


@given(question=any_question)
@example(question="\ud800 why did ring drop flock")
@example(question="\x00\u202e<!channel> **why** did @everyone ring drop flock\u200d👨‍👩‍👧")
@question_settings
def test_the_core_answers_anything_with_quotes_taken_verbatim_from_the_articles(core, article_texts, question):
    answer = core.answer(question)
    assert isinstance(answer.outcome, Outcome) and answer.message
    assert len(answer.question) <= SHOWN_QUESTION_CHARS + 1
    assert not re.search("[\ud800-\udfff]", answer.question + answer.message), "sendable text only"
    json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")  # serialises as UTF-8
    for passage in answer.passages:
        # Every word shown comes from an article, never from the question.
        assert any(passage.text in text for text in article_texts), passage.text


# ---------------------------------------------------------------- Slack, end to end


@given(slack_text=any_question, echo=st.booleans())
@question_settings
def test_any_slack_message_gets_a_reply_slack_accepts_that_notifies_nobody(core, slack_text, echo):
    question = question_from_slack(slack_text, BOT_USER_ID)
    message = slack_format(core.answer(question), echo_question=echo)
    assert_slack_accepts_and_notifies_nobody(message)


for hard_case in EXAMPLES:
    test_any_slack_message_gets_a_reply_slack_accepts_that_notifies_nobody = example(
        slack_text=hard_case, echo=True
    )(test_any_slack_message_gets_a_reply_slack_accepts_that_notifies_nobody)


# ---------------------------------------------------------------- Discord, end to end


@given(content=any_question, echo=st.booleans())
@question_settings
def test_any_discord_message_gets_a_reply_discord_accepts_that_notifies_nobody(core, content, echo):
    question = strip_mention(content, BOT_DISCORD_ID)
    messages = discord_format(core.answer(question), echo_question=echo)
    assert_discord_accepts_and_notifies_nobody(messages)


for hard_case in EXAMPLES:
    test_any_discord_message_gets_a_reply_discord_accepts_that_notifies_nobody = example(
        content=hard_case, echo=True
    )(test_any_discord_message_gets_a_reply_discord_accepts_that_notifies_nobody)


# ---------------------------------------------------------------- formatters on any answer at all

hostile_article_text = st.one_of(tricky_article_text, st.text(max_size=3000))
sources = st.builds(
    Source,
    article_id=st.just("a"),
    label=st.one_of(tricky_article_text, st.text(max_size=300)).filter(bool),
    title=st.none() | tricky_article_text,
    publisher=st.none() | tricky_article_text,
    url=st.none() | st.sampled_from(["https://example.com/a?b=1&c=<2>|x", "javascript:alert(1)", "<!channel>"])
    | st.text(max_size=60),
)
passages = st.builds(
    Passage,
    sentence=hostile_article_text,
    before=hostile_article_text,
    after=hostile_article_text,
    score=st.just(1.0),
    source=sources,
    also_reported_by=st.lists(sources, max_size=6).map(tuple),
)
answers = st.builds(
    Answer,
    # What the core hands over: its question and message never hold a lone surrogate.
    question=tricky_article_text,
    outcome=st.sampled_from(list(Outcome)),
    message=tricky_article_text,
    passages=st.lists(passages, max_size=8).map(tuple),
    coverage=tricky_article_text,
)


@given(answer=answers, echo=st.booleans())
@example(answer=Answer(question="", outcome=Outcome.ANSWERED, message=" "), echo=False)  # found: a blank text
@answer_settings
def test_any_answer_even_with_hostile_article_text_fits_slack_and_notifies_nobody(answer, echo):
    assert_slack_accepts_and_notifies_nobody(slack_format(answer, echo_question=echo))


@given(answer=answers, echo=st.booleans())
@answer_settings
def test_any_answer_even_with_hostile_article_text_fits_discord_and_notifies_nobody(answer, echo):
    assert_discord_accepts_and_notifies_nobody(discord_format(answer, echo_question=echo))


# ---------------------------------------------------------------- huge input


@pytest.mark.parametrize("size", [100_000, 5_000_000])
def test_a_huge_question_is_refused_quickly_and_its_echo_is_short(core: AnsweringCore, size: int):
    question = ("<!channel> why did ring drop flock? \u200d" * (size // 36 + 1))[:size]
    answer = core.answer(question)
    assert answer.outcome is Outcome.INVALID_QUESTION and "characters long" in answer.message
    assert answer.latency_ms < 5_000
    assert_slack_accepts_and_notifies_nobody(slack_format(answer, echo_question=True))
    assert_discord_accepts_and_notifies_nobody(discord_format(answer, echo_question=True))


# ---------------------------------------------------------------- what "accepted" and "notifies nobody" mean

_SLACK_CONTROL = re.compile(r"<([^>]*)>")


def assert_slack_accepts_and_notifies_nobody(message: SlackMessage) -> None:
    params = message.as_kwargs()
    assert block_kit_problems(params) == [], "Slack would refuse this message"
    assert message.text.strip(), "the notification text is never empty"
    assert len(message.text) <= 3000
    shown = [message.text, *texts_of(message.blocks)]
    for text in shown:
        # The only <...> sequences are our own links to article sources: no <!channel>, <@U…>,
        # <#C…> or <!subteam^…>, whatever the question or the article held.
        for control in _SLACK_CONTROL.findall(text):
            assert re.match(r"https?://[^\s|<>]+\|", control), f"live Slack control sequence <{control}> in {text!r}"
        assert "<" not in _SLACK_CONTROL.sub("", text), "an unmatched < could pair with later text"
        assert not re.search("[\ud800-\udfff]", text)
    for block in message.blocks:
        for element in [block.get("text"), *block.get("elements", [])]:
            if element is not None:
                assert element["type"] == "mrkdwn" and element["verbatim"] is True, "Slack must not auto-link"
    json.dumps(params, ensure_ascii=False).encode("utf-8")


_LIVE_DISCORD_MENTION = re.compile(r"(?<!\\)<(@[!&]?|#)\d+>|(?<!\\)<t:\d+")


def assert_discord_accepts_and_notifies_nobody(messages: list[OutgoingMessage]) -> None:
    assert messages, "an answer is at least one message"
    for number, message in enumerate(messages):
        assert message.content or message.embeds, "Discord refuses an empty message"
        assert discord_length(message.content or "") <= CONTENT_LIMIT
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(embed_length(e) for e in message.embeds) <= EMBEDS_TOTAL_LIMIT
        texts = [message.content or ""]
        for embed in message.embeds:
            assert discord_length(embed.title or "") <= EMBED_TITLE_LIMIT
            assert discord_length(embed.description or "") <= EMBED_DESCRIPTION_LIMIT
            for field in embed.fields:
                assert 0 < discord_length(field.name or "") <= FIELD_NAME_LIMIT
                assert 0 < discord_length(field.value or "") <= FIELD_VALUE_LIMIT
            texts += [embed.title or "", embed.description or "", *(f.value for f in embed.fields)]
        for text in texts:
            assert not _LIVE_DISCORD_MENTION.search(text), f"a live mention in {text!r}"
        # What the client sends with it (a reply in a channel): Discord notifies by allowed_mentions.
        body = {
            "content": message.content,
            "embeds": [e.to_dict() for e in message.embeds],
            "allowed_mentions": NO_MENTIONS.to_dict(),
            "message_reference": {"message_id": number + 1, "fail_if_not_exists": False},
        }
        json.dumps(body, ensure_ascii=False).encode("utf-8")
        assert FakeDiscord.pinged_by(RecordedRequest("POST", "/channels/1/messages", {}, body, None, 200)) == set()
