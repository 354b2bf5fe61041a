"""Turning an `Answer` into Discord messages that always fit Discord's limits.

Every passage becomes one embed: the article text with the matched sentence in
bold, then its source as a link and the other outlets that carry the same
passage. Text that came from an article or from the asker is markdown-escaped,
so an asterisk in a quote stays an asterisk. When the embeds do not fit one
message they are spread over several; a single piece of text that is too long
is cut at a word with an ellipsis, never left to make the send fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import discord

from bot.answering.answer import Answer, Outcome, Passage, Source
from corpus.web_address import is_web_address

# Discord's documented limits. We count in UTF-16 code units, which is never
# fewer than the characters Discord counts, so staying under these is safe.
CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
EMBEDS_TOTAL_LIMIT = 6000
"""All titles, descriptions, field names and values of one message's embeds together."""
EMBEDS_PER_MESSAGE = 10

ELLIPSIS = "…"

ANSWER_COLOUR = discord.Colour.green()
CLOSEST_COLOUR = discord.Colour.light_grey()
CLOSEST_TITLE = "Closest passage (not an answer)"
SOURCE_FIELD = "Source"
ALSO_REPORTED_FIELD = "Also reported by"
MIN_LINK_WORDS = 40
"""Fewest characters of a link's words worth showing; with less room the URL is left out."""
NOTHING_TO_SHOW = "Sorry, I have nothing to show for that."

# Bare URLs stay as they are: escaping an underscore inside one would break the link.
_URL = re.compile(r"https?://[^\s<>]+")
# Characters that start or end inline markdown anywhere in a line: bold, italics,
# strikethrough, code, spoilers, masked links, and <@mentions>/<t:timestamps>.
_INLINE_MARKUP = re.compile(r"([\\*_~`|\[\]<>])")
# Markup that only counts at the start of a line: headings, quotes, lists, subtext.
_LINE_START_MARKUP = re.compile(r"^(\s*)(#|>|-|\+)", re.MULTILINE)
# A numbered list is escaped at its dot ("1\."): Discord drops a backslash only before
# punctuation, so one before the digit ("\1.") would be shown.
_ORDERED_LIST_MARKER = re.compile(r"^(\s*\d+)\.", re.MULTILINE)


@dataclass(frozen=True)
class OutgoingMessage:
    """One Discord message to send: text content and/or embeds, already within limits."""

    content: str | None
    embeds: tuple[discord.Embed, ...] = ()


def discord_length(text: str) -> int:
    """Length as JavaScript (and so, conservatively, Discord) counts it."""
    # surrogatepass: a lone surrogate is measured (as one unit) instead of raising.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape_markdown(text: str) -> str:
    """`text` with every markdown character backslash-escaped, so Discord shows it literally.

    Unlike `discord.utils.escape_markdown`, a lone `*` is escaped too: our own
    `**bold**` sits next to article text, and an unescaped star there could pair with it.
    """
    pieces: list[str] = []
    position = 0
    for url in _URL.finditer(text):
        pieces.append(_escape_plain(text[position : url.start()]))
        pieces.append(url.group())
        position = url.end()
    pieces.append(_escape_plain(text[position:]))
    return "".join(pieces)


def _escape_plain(text: str) -> str:
    text = _INLINE_MARKUP.sub(r"\\\1", text)
    text = _LINE_START_MARKUP.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
    return _ORDERED_LIST_MARKER.sub(lambda m: f"{m.group(1)}\\.", text)


def fit(raw: str, limit: int, *, keep: Literal["start", "end"] = "start") -> str:
    """`raw` escaped and, if too long, cut to at most `limit` units with an ellipsis.

    `keep="end"` cuts from the front instead (for text that leads up to the match).
    The cut is made on the raw text before escaping, so it never splits an escape.
    """
    escaped = escape_markdown(raw)
    if discord_length(escaped) <= limit:
        return escaped
    if limit <= discord_length(ELLIPSIS):
        return ""

    def cut(n: int) -> str:
        return raw[:n].rstrip() if keep == "start" else raw[len(raw) - n :].lstrip()

    def shown(n: int) -> str:
        piece = escape_markdown(cut(n))
        return piece + ELLIPSIS if keep == "start" else ELLIPSIS + piece

    # Longest raw cut whose escaped, ellipsised form fits: escaping only grows
    # text, so the length is monotonic in n and a binary search finds it.
    low, high = 0, len(raw)
    while low < high:
        middle = (low + high + 1) // 2
        if discord_length(shown(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    n = _word_boundary(raw, low, keep)
    while n > 0 and discord_length(shown(n)) > limit:  # guard: escaping is not strictly monotonic
        n -= 1
    return shown(n)


def _word_boundary(raw: str, n: int, keep: Literal["start", "end"]) -> int:
    """Shorten a cut of n characters to end on a space, unless that loses too much."""
    window = min(40, n // 4)
    if keep == "start":
        space = raw.rfind(" ", n - window, n + 1) if n < len(raw) else n
        return space if space > 0 else n
    start = len(raw) - n
    space = raw.find(" ", start, start + window + 1)
    return len(raw) - space - 1 if space >= 0 else n


def source_text(source: Source, limit: int = FIELD_VALUE_LIMIT) -> str:
    """`[label · publisher](url)`, or the same words unlinked when the corpus has no URL.

    A URL too long to leave room for its words is dropped rather than cut, since
    a cut URL would lead somewhere else.
    """
    words = source.name
    url = _safe_url(source.url)
    if url and limit - discord_length(url) - len("[]()") >= MIN_LINK_WORDS:
        return f"[{fit(words, limit - discord_length(url) - len('[]()'))}]({url})"
    return fit(words, limit)


def _safe_url(url: str | None) -> str | None:
    """A URL usable inside a markdown link, or None when it is not a web address."""
    # `<` and `>` would end Discord's own <link> markup early.
    if not url or not is_web_address(url.strip()) or any(c in url for c in "<>"):
        return None
    # Parentheses and spaces would end the markdown link early.
    return url.strip().replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def sources_list(sources: tuple[Source, ...], limit: int = FIELD_VALUE_LIMIT) -> str:
    """One source per line; what does not fit becomes "and N more"."""
    lines: list[str] = []
    for index, source in enumerate(sources):
        line = source_text(source, limit // 2)  # leaves room for at least one line and the tail
        remaining = len(sources) - index - 1
        tail = f"\nand {remaining} more" if remaining else ""
        if discord_length("\n".join([*lines, line]) + tail) > limit:
            lines.append(f"and {len(sources) - index} more")
            break
        lines.append(line)
    return "\n".join(lines)


def quote(passage: Passage, limit: int) -> str:
    """The passage with its matched sentence in bold, trimmed around that sentence to fit."""
    sentence = passage.sentence.strip()
    before, after = passage.before.strip(), passage.after.strip()
    if not sentence:
        return fit(passage.text, limit)
    bold = f"**{fit(sentence, limit - 4)}**"
    room = limit - discord_length(bold)
    # The context on each side gets half of what is left; a side that needs less
    # hands the rest to the other. Each side costs one more unit for its space.
    before_full = escape_markdown(before)
    after_full = escape_markdown(after)
    before_need = discord_length(before_full) + 1 if before else 0
    after_need = discord_length(after_full) + 1 if after else 0
    if before_need + after_need <= room:
        before_room, after_room = before_need, after_need
    elif before_need <= room // 2:
        before_room, after_room = before_need, room - before_need
    elif after_need <= room // 2:
        before_room, after_room = room - after_need, after_need
    else:
        before_room, after_room = room // 2, room - room // 2
    parts = [
        fit(before, before_room - 1, keep="end") if before and before_room > 1 else "",
        bold,
        fit(after, after_room - 1) if after and after_room > 1 else "",
    ]
    return " ".join(part for part in parts if part)


def passage_embed(passage: Passage, *, closest: bool) -> discord.Embed:
    """One passage as an embed that alone stays within every per-embed and per-message limit."""
    title = CLOSEST_TITLE if closest else None
    embed = discord.Embed(title=title, colour=CLOSEST_COLOUR if closest else ANSWER_COLOUR)
    embed.add_field(name=SOURCE_FIELD, value=source_text(passage.source), inline=False)
    if passage.also_reported_by:
        embed.add_field(name=ALSO_REPORTED_FIELD, value=sources_list(passage.also_reported_by), inline=False)
    room = min(EMBED_DESCRIPTION_LIMIT, EMBEDS_TOTAL_LIMIT - embed_length(embed))
    embed.description = quote(passage, room)
    return embed


def embed_length(embed: discord.Embed) -> int:
    """What counts towards the 6,000 per message, measured like `discord_length`."""
    total = discord_length(embed.title or "") + discord_length(embed.description or "")
    for field in embed.fields:
        total += discord_length(field.name or "") + discord_length(field.value or "")
    total += discord_length(embed.footer.text or "") + discord_length(embed.author.name or "")
    return total


def header(answer: Answer, *, echo_question: bool) -> str:
    """The message text above the embeds: the question (when echoed) and the core's sentence."""
    lines = [fit(answer.message.strip(), CONTENT_LIMIT // 2)]
    # What the articles cover helps someone whose question they cannot answer.
    if answer.outcome in (Outcome.NOT_FOUND, Outcome.INVALID_QUESTION) and answer.coverage.strip():
        lines.append(fit(answer.coverage.strip(), CONTENT_LIMIT // 4))
    if echo_question and answer.question.strip():
        # One line, so the quote marker covers the whole question.
        question = " ".join(answer.question.split())
        room = CONTENT_LIMIT - discord_length("\n".join(lines)) - len("> \n")
        lines.insert(0, f"> {fit(question, room)}")
    return "\n".join(line for line in lines if line)


def format_answer(answer: Answer, *, echo_question: bool = False) -> list[OutgoingMessage]:
    """The messages that carry `answer`: the first has the text, all within Discord's limits.

    `echo_question` repeats the question above the answer, for replies (like a
    slash command's) where the question is not already shown next to them.
    """
    content = header(answer, echo_question=echo_question)
    showing_passages = answer.outcome in (Outcome.ANSWERED, Outcome.NOT_FOUND)
    embeds = [
        passage_embed(passage, closest=answer.outcome is Outcome.NOT_FOUND)
        for passage in (answer.passages if showing_passages else ())
    ]
    messages: list[OutgoingMessage] = []
    batch: list[discord.Embed] = []
    batch_length = 0
    for embed in embeds:
        length = embed_length(embed)
        if batch and (len(batch) == EMBEDS_PER_MESSAGE or batch_length + length > EMBEDS_TOTAL_LIMIT):
            messages.append(OutgoingMessage(content=None, embeds=tuple(batch)))
            batch, batch_length = [], 0
        batch.append(embed)
        batch_length += length
    if batch or not messages:
        messages.append(OutgoingMessage(content=None, embeds=tuple(batch)))
    first = messages[0]
    if not content and not first.embeds:
        content = NOTHING_TO_SHOW  # Discord refuses an empty message
    messages[0] = OutgoingMessage(content=content or None, embeds=first.embeds)
    return messages
