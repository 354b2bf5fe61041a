"""Reading the question a person typed out of Slack's message markup, and escaping text back."""

from __future__ import annotations

import pytest

from bot.adapters.slack.markup import (
    escape,
    escaped_length,
    question_from_slack,
    unescape,
)


@pytest.mark.parametrize(
    ("slack_text", "question"),
    [
        ("<@U0BOT> why did Ring drop Flock?", "why did Ring drop Flock?"),
        ("why did <@U0BOT> Ring drop Flock?", "why did Ring drop Flock?"),
        ("<!channel> who ended the deal?", "@channel who ended the deal?"),
        ("<!here|here> news?", "@here news?"),
        ("did <@U0ALICE> say that?", "did @someone say that?"),
        ("did <@U0ALICE|alice> say that?", "did @alice say that?"),
        ("in <#C0NEWS|newsroom>?", "in #newsroom?"),
        ("was <https://example.com/a?b=1&amp;c=2|this story> right?", "was this story right?"),
        ("what about <https://example.com/x>?", "what about https://example.com/x?"),
        ("ask <!subteam^S0TEAM|@editors> about AT&amp;T", "ask @editors about AT&T"),
        ("I typed &lt;!channel&gt; literally", "I typed <!channel> literally"),
        ("&amp;lt; stays as typed", "&lt; stays as typed"),
        ("  spaced\n\tout  ", "spaced out"),
        ("<@U0BOT>", ""),
    ],
)
def test_a_question_reads_as_the_person_typed_it(slack_text: str, question: str):
    assert question_from_slack(slack_text, bot_user_id="U0BOT") == question


def test_without_knowing_the_bot_every_mention_is_kept_as_a_mention():
    assert question_from_slack("<@U0BOT> hi") == "@someone hi"


@pytest.mark.parametrize("text", ["", "plain", "a & b < c > d", "&amp; already", "<!channel>"])
def test_escaping_is_undone_exactly_and_its_length_is_known_in_advance(text: str):
    assert unescape(escape(text)) == text
    assert escaped_length(text) == len(escape(text))
    assert "<" not in escape(text) and ">" not in escape(text)
