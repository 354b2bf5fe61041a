"""Slack's text markup, both ways: reading a question out of a message, and escaping what we send.

Slack sends message text with `&`, `<` and `>` escaped and with mentions,
channels and links as `<...>` sequences. A question is decoded into the plain
text a person typed; everything we send back is escaped again, so no text from
an article or a question can ever become a mention such as `<!channel>`.
"""

from __future__ import annotations

import re

_ANGLE_SEQUENCE = re.compile(r"<([^<>]*)>")
_SPECIAL_MENTIONS = {"here", "channel", "everyone"}


def escape(text: str) -> str:
    """Escape the three characters Slack treats as markup (`&` first, so nothing is escaped twice)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_length(text: str) -> int:
    """len(escape(text)) without building the escaped string."""
    return len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def unescape(text: str) -> str:
    """Undo Slack's escaping (`&amp;` last, so `&amp;lt;` becomes `&lt;`, as typed)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def question_from_slack(text: str, bot_user_id: str | None = None) -> str:
    """The question a person typed, from Slack's message text.

    Mentions of the bot itself are dropped (they address the question, they are not
    part of it); other mentions, channels and links become the words Slack showed.
    """

    def readable(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            if bot_user_id and target[1:] == bot_user_id:
                return " "
            return "@" + label.lstrip("@") if label else "@someone"
        if target.startswith("#"):
            return "#" + label if label else "#channel"
        if target.startswith("!"):
            name = target[1:]
            if name in _SPECIAL_MENTIONS:
                return "@" + name
            if label:  # user groups (<!subteam^ID|@team>) and dates (<!date^...|fallback>)
                return label
            return "@" + name.split("^", 1)[0]
        return label or target  # a link: the words shown, else the address

    decoded = _ANGLE_SEQUENCE.sub(readable, text)
    return " ".join(unescape(decoded).split())
