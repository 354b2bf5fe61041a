"""Chat noise and the help reply: "help", "thanks", "lol", "quit", "?" are not questions.

A message that is only a greeting, thanks, laughter, "ok", "quit", a request for help or
no word at all is never searched (a search would find some passage that shares a word,
and quote it with confidence). It gets `chat_reply`: what the bot answers from and an
example question, both made from the loaded corpus, never a fixed story.

Failure behaviour: nothing here raises on any text. `example_question` asks the core a
few questions (at most ten, on first use) and falls back to a generic question when none
of the corpus's names gets an answer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the core calls into this module; the type only for annotations
    from bot.answering.core import AnsweringCore

_CHAT_NOISE = frozenset(
    """help|help me|help pls|help please|hi|hello|hey|hiya|yo|sup|hey there|hello there|hi bot|hello bot
    |thanks|thank you|thank u|thanks a lot|thanks so much|thx|ty|tysm|cheers|much appreciated
    |lol|lmao|rofl|haha|hehe|omg|wow|ok|okay|k|kk|cool|nice|great|awesome|good|sure|yes|no|yep|nope
    |quit|exit|bye|goodbye|see ya|cya|stop|test|testing|ping|start|menu|commands|usage|info
    |what can you do|what do you do|who are you|what are you|how does this work|how do i use this
    |how do you work|what do you know|what can i ask|what can i ask you|what should i ask"""
    .replace("\n", "").split("|")
)
"""Whole messages that are chat, not a question about the articles (compared casefolded, without
punctuation, a mention or repeated letters)."""
CHAT_NOISE_CHARS = 40
"""Longer messages are never chat noise (the longest phrase above, with room for punctuation)."""
_NOT_WORD = re.compile(r"[^\w\s']+")
_LAUGH = re.compile(r"^(?:(?:ha|he|hi|lo)+l?|l+o+l+|x+d+)$")


def is_chat_noise(text: str) -> bool:
    """Chat noise: a greeting, thanks, laughter, "ok", "quit", a request for help, or no word at
    all ("?", "!!", an emoji). Such a message is never searched."""
    if len(text) > CHAT_NOISE_CHARS:
        return False  # a real question, the common case: decided at once
    words = " ".join(_NOT_WORD.sub(" ", text.casefold()).replace("'", "").split())
    if not words:
        return bool(text.strip())  # only punctuation or symbols
    words = " ".join(w for w in words.split() if w not in ("please", "pls", "bot", "qabot"))
    squeezed = re.sub(r"(\w)\1{2,}", r"\1", words)  # "thanksss", "hiii", "okkkk"
    return (words or "help") in _CHAT_NOISE or squeezed in _CHAT_NOISE or bool(_LAUGH.match(squeezed.replace(" ", "")))


def chat_reply(core: AnsweringCore) -> str:
    """The reply to chat noise: what the bot answers from, and a question to try. (A fuller help
    reply, such as a list of the articles, belongs here too.)"""
    return (
        f"{core.coverage} Ask me a question about them and I'll quote the passages that answer it, "
        f"with links to their sources; for example: “{core.example_question}”"
    )


_NAME_RUN = re.compile(r"(?<=[a-z,;:] )[A-Z][\w\u2019'&-]*(?: (?:of |and |for |the )?[A-Z][\w\u2019'&-]*){0,3}")
"""A capitalised name that is not a sentence's first word: "Flock Safety", "Federal Trade Commission"."""
GENERIC_EXAMPLE = "What do the articles say happened?"
EXAMPLE_SENTENCES = 3000
"""How many sentences (from the start of the corpus) are read for names to ask about."""


def example_question(core: AnsweringCore) -> str:
    """A "what is X?" question about a name the articles use often, which the core answers
    (checked by asking it); from any corpus, never a fixed story's question."""
    index = core.index
    counts: dict[str, set[int]] = {}
    mentions: dict[str, int] = {}
    with_the: dict[str, int] = {}
    for chunk in range(min(index.size, EXAMPLE_SENTENCES)):
        text = index.texts[chunk]
        for match in _NAME_RUN.finditer(text):
            name = re.sub(r"[\u2019']s$", "", match.group(0))
            counts.setdefault(name, set()).add(int(index.article[chunk]))
            mentions[name] = mentions.get(name, 0) + 1
            # "the English Channel": asked about with its article too.
            the = text[max(0, match.start() - 4) : match.start()].casefold() == "the "
            with_the[name] = with_the.get(name, 0) + (1 if the else -1)
    # Names most articles share first; a name of several words (more specific, and not an
    # adjective such as "French") before a single word; then the most mentioned.
    names = sorted(counts, key=lambda n: (-len(counts[n]), " " not in n, -mentions[n], n))
    for name in names[:10]:
        question = f"What is {'the ' if with_the[name] > 0 else ''}{name}?"
        if core.answer(question).answered:
            return question
    if names:
        return f"What is {names[0]}?"
    title = next((a.title for a in core.articles if a.title), None)
    return f"What happened in “{title}”?" if title else GENERIC_EXAMPLE
