"""Chat noise and the help reply: "help", "thanks", "lol", "quit", "?" are not questions.

A message that is only a greeting, thanks, laughter, "ok", "quit", a request for help or
no word at all is never searched (a search would find some passage that shares a word,
and quote it with confidence). It gets `chat_reply`: what the bot answers from and an
example question, both made from the loaded corpus, never a fixed story. A request for
help ("help", "what can you do", "what do you know", "sources") gets the fuller
`help_reply`: how many articles, the first few with publisher, date and link, a count of
the rest, two example questions made from them, and how to follow up.

Failure behaviour: nothing here raises on any text. `example_question` asks the core a
few questions (at most ten, on first use) and falls back to a generic question when none
of the corpus's names gets an answer; `second_example_question` likewise (at most twenty).
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
) | frozenset(
    """sources|your sources|what sources|which sources|what are your sources|list sources|articles
    |what articles|which articles|list articles|list the articles|what do you cover|what topics"""
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


_HELP_REQUESTS = frozenset(
    """help|help me|help pls|help please|what can you do|what do you do|who are you|what are you
    |how does this work|how do i use this|how do you work|what do you know|what can i ask
    |what can i ask you|what should i ask|commands|usage|info|menu|start|sources|your sources
    |what sources|which sources|what are your sources|list sources|articles|what articles
    |which articles|list articles|list the articles|what do you cover|what topics"""
    .replace("\n", "").split("|")
)
"""Chat noise that asks what the bot can do or knows: answered with `help_reply`."""
HELP_ARTICLES_SHOWN = 5
"""Articles listed by name in the help reply; the rest are counted."""


def is_help_request(text: str) -> bool:
    words = " ".join(_NOT_WORD.sub(" ", text.casefold()).replace("'", "").split())
    words = " ".join(w for w in words.split() if w not in ("please", "pls", "bot", "qabot"))
    return not words or words in _HELP_REQUESTS


def chat_reply(core: AnsweringCore, text: str = "help") -> str:
    """The reply to chat noise `text`: for a request for help, `help_reply`; otherwise what the
    bot answers from, and a question to try."""
    if is_help_request(text):
        return help_reply(core)
    return (
        f"{core.coverage} Ask me a question about them and I'll quote the passages that answer it, "
        f"with links to their sources; for example: “{core.example_question}”"
    )


def help_reply(core: AnsweringCore) -> str:
    """What the bot knows, from the corpus itself: how many articles, the first few (newest
    first) with publisher, date and link, a count of the others, and two questions to try."""
    articles = sorted(core.articles, key=lambda a: (a.published is None, -(a.published.toordinal() if a.published else 0), a.label))
    count = len(articles)
    lines = [f"I answer from {count:,} article{'s' if count != 1 else ''}, quoting the passages that answer and linking them:"]
    for article in articles[:HELP_ARTICLES_SHOWN]:
        details = [part for part in (article.publisher if article.publisher != article.label else None,
                                     article.published.isoformat() if article.published else None) if part]
        line = f"• {article.label}" + (f" — {', '.join(details)}" if details else "")
        lines.append(line + (f" {article.url}" if article.url else ""))
    if count > HELP_ARTICLES_SHOWN:
        more = count - HELP_ARTICLES_SHOWN
        lines.append(f"…and {more:,} more article{'s' if more != 1 else ''}.")
    examples = [core.example_question, second_example_question(core)]
    lines.append("Try: " + " or ".join(f"“{q}”" for q in dict.fromkeys(examples)))
    lines.append("Then follow up with “why?”, “when?” or “tell me more”.")
    return "\n".join(lines)


_NAME_RUN = re.compile(r"(?<=[a-z,;:] )[A-Z][\w\u2019'&-]*(?: (?:of |and |for |the )?[A-Z][\w\u2019'&-]*){0,3}")
"""A capitalised name that is not a sentence's first word: "Flock Safety", "Federal Trade Commission"."""
GENERIC_EXAMPLE = "What do the articles say happened?"
EXAMPLE_SENTENCES = 3000
"""How many sentences (from the start of the corpus) are read for names to ask about."""


def example_question(core: AnsweringCore) -> str:
    """A "what is X?" question about a name the articles use often, which the core answers
    (checked by asking it); from any corpus, never a fixed story's question."""
    names, with_the = _names(core)
    for name in names[:10]:
        question = f"What is {'the ' if with_the[name] > 0 else ''}{name}?"
        if core.answer(question).answered:
            return question
    if names:
        return f"What is {names[0]}?"
    title = next((a.title for a in core.articles if a.title), None)
    return f"What happened in “{title}”?" if title else GENERIC_EXAMPLE


_SPEAKER = re.compile(r"([A-Z][\w\u2019'&-]*(?: [A-Z][\w\u2019'&-]*){0,3}) (?:said|says|told)\b")
"""A name right before "said", "says" or "told": someone the articles quote."""


def second_example_question(core: AnsweringCore) -> str:
    """Another question to try: "What did X say?" about someone the articles quote, else "What
    is X?" about another of their names, checked to be answered; the first example again when
    none is."""
    first = core.example_question
    index = core.index
    speakers: dict[str, int] = {}
    for chunk in range(min(index.size, EXAMPLE_SENTENCES)):
        for match in _SPEAKER.finditer(index.texts[chunk]):
            speakers[match.group(1)] = speakers.get(match.group(1), 0) + 1
    names, with_the = _names(core)
    candidates = [f"What did {name} say?" for name in sorted(speakers, key=lambda n: (-speakers[n], n))[:10]]
    candidates += [f"What is {'the ' if with_the[name] > 0 else ''}{name}?" for name in names[:10]]
    for question in candidates:
        if question != first and not any(word in first for word in question.split()[2:4]):
            if core.answer(question).answered:
                return question
    return first


def _names(core: AnsweringCore) -> tuple[list[str], dict[str, int]]:
    """The corpus's names, most articles sharing them first, and whether each is said with "the"."""
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
    return names, with_the
