"""An `Answer` as a Slack message: Block Kit blocks plus the plain `text` used in notifications.

Every piece of article text and every echoed question is escaped (see `markup`)
and marked `verbatim`, so nothing in them can mention or notify anyone. Slack
rejects a message whose section text is over 3,000 characters or that has more
than 50 blocks, so long passages are trimmed at word boundaries (the matched
sentence is kept before its context) and passages that do not fit are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.adapters.slack.markup import escape, escaped_length
from bot.answering.answer import Answer, Outcome, Passage, Source
from corpus.web_address import is_web_address

MAX_SECTION_CHARS = 3000
"""Slack's limit on a section's text (and on a context element's text)."""
MAX_BLOCKS = 50
"""Slack's limit on blocks in one message."""
MAX_FALLBACK_CHARS = 3000
"""The notification text stays short; Slack shows only its start anyway."""
MAX_SOURCE_LINE_CHARS = 1000
"""A source line longer than this (an absurd URL or title) is shown as a shorter plain label."""
ELLIPSIS = "…"

NOT_AN_ANSWER_NOTE = ":warning: *Not an answer.* These are the closest passages I found:"
RATE_LIMITED_ICON = ":hourglass_flowing_sand:"
APOLOGY = "Sorry, I couldn't send the answer to that question. Please try again in a moment."

FEEDBACK_OUTCOMES = (Outcome.ANSWERED, Outcome.NOT_FOUND)
"""Answers worth a vote: a quoted answer, or a decline (a 👎 there says the articles should cover it)."""
FEEDBACK_BLOCK_ID = "qabot_feedback"
VOTE_UP_ACTION = "qabot_vote_up"
VOTE_DOWN_ACTION = "qabot_vote_down"


@dataclass(frozen=True)
class SlackMessage:
    """What to send: `text` for notifications and screen readers, `blocks` for display."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Arguments for chat.postMessage and for responding to a slash command."""
        # Link previews would put a stranger's page (and its pictures) under every answer.
        return {"text": self.text, "blocks": self.blocks, "unfurl_links": False, "unfurl_media": False}


def apology_message() -> SlackMessage:
    """Sent when the answer itself could not be sent; plain text, so it cannot fail for its blocks."""
    return SlackMessage(text=APOLOGY)


def format_answer(answer: Answer, *, echo_question: bool = False, feedback: bool = False) -> SlackMessage:
    """The Slack message for `answer`.

    `echo_question` repeats the question at the top, for replies (like a slash
    command's) that are not shown under the question itself. `feedback` adds 👍/👎
    buttons for a logged answer (one with an `answer_id`) that quotes passages or declines.
    """
    blocks: list[dict[str, Any]] = []
    if echo_question and answer.question:
        blocks.append(_context("*Question:* " + _clip_end(answer.question, MAX_SECTION_CHARS - 14)))
    icon = RATE_LIMITED_ICON + " " if answer.outcome is Outcome.RATE_LIMITED else ""
    if answer.message.strip():  # Slack refuses a section without visible text
        blocks.append(_section(icon + _clip_end(answer.message, MAX_SECTION_CHARS - len(icon))))
    passages = answer.passages if answer.outcome in (Outcome.ANSWERED, Outcome.NOT_FOUND) else ()
    if passages and answer.outcome is Outcome.NOT_FOUND:
        blocks.append(_context(NOT_AN_ANSWER_NOTE))
    trailer = []
    if answer.coverage and answer.outcome in (Outcome.NOT_FOUND, Outcome.INVALID_QUESTION):
        trailer.append(_context(_clip_end(answer.coverage, MAX_SECTION_CHARS)))
    if feedback and answer.answer_id is not None and answer.outcome in FEEDBACK_OUTCOMES:
        trailer.append(_feedback_buttons(answer.answer_id))
    blocks.extend(_passage_blocks(passages, room=MAX_BLOCKS - len(blocks) - len(trailer)))
    blocks.extend(trailer)
    return SlackMessage(text=_fallback_text(answer), blocks=blocks)


def _feedback_buttons(answer_id: int) -> dict[str, Any]:
    """👍 and 👎 under an answer; a click comes back as a block action carrying the answer's ID."""

    def button(action_id: str, label: str) -> dict[str, Any]:
        return {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": str(answer_id),
        }

    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [button(VOTE_UP_ACTION, "👍 Helpful"), button(VOTE_DOWN_ACTION, "👎 Not helpful")],
    }


def _passage_blocks(passages: tuple[Passage, ...], room: int) -> list[dict[str, Any]]:
    """Blocks for as many passages as fit in `room` blocks, and a note counting the rest."""
    out: list[dict[str, Any]] = []
    for shown, passage in enumerate(passages):
        blocks = ([_divider()] if out else []) + _one_passage(passage)
        left_after = len(passages) - shown - 1
        note_room = 1 if left_after else 0
        if len(out) + len(blocks) + note_room > room:
            hidden = len(passages) - shown
            if len(out) + 1 <= room:
                out.append(_context(f"{hidden} more passage{'s' if hidden != 1 else ''} not shown."))
            break
        out.extend(blocks)
    return out


def _one_passage(passage: Passage) -> list[dict[str, Any]]:
    blocks = [_section(_passage_text(passage))]
    if passage.also_reported_by:
        blocks.append(_context(_also_reported_by(passage.also_reported_by)))
    return blocks


def _passage_text(passage: Passage) -> str:
    """`>…before *sentence* after…` and the source on the next line, within the section limit.

    The matched sentence is bold so it stands out from its context. When the whole
    does not fit, the context is trimmed first (keeping the words nearest the
    sentence), then the sentence's end.
    """
    source = _source_line(passage.source)
    sentence = " ".join(passage.sentence.split())
    before = " ".join(passage.before.split())
    after = " ".join(passage.after.split())
    budget = MAX_SECTION_CHARS - len(source) - len(">**\n") - 2  # 2: the spaces around the sentence
    sentence_text = _clip_end(sentence, budget)
    budget -= len(sentence_text)
    # Split what is left between the two sides; a side that needs less gives the rest to the other.
    before_need, after_need = escaped_length(before), escaped_length(after)
    before_room = max(budget // 2, budget - after_need)
    before_text = _clip_start(before, min(before_room, before_need))
    after_text = _clip_end(after, budget - len(before_text))
    quoted = " ".join(part for part in (before_text, f"*{sentence_text}*", after_text) if part)
    return f">{quoted}\n{source}"


def _source_line(source: Source) -> str:
    name = source.name
    url = _safe_url(source.url)
    if url is not None:
        line = f"<{url}|{escape(name)}>"
        if len(line) <= MAX_SOURCE_LINE_CHARS:
            return line
    return _clip_end(name, 300)


def _safe_url(url: str | None) -> str | None:
    """The URL as it may appear inside `<...|...>`, or None when it must not be linked."""
    if not url or not is_web_address(url):
        return None
    # `|` would end the address inside `<url|label>`; a percent-encoded one means the same URL.
    return escape(url).replace("|", "%7C")


def _also_reported_by(sources: tuple[Source, ...]) -> str:
    head = "Also reported by "
    names: list[str] = []
    used = len(head)
    for number, source in enumerate(sources):
        name = _source_line(source)
        rest = len(sources) - number - 1
        tail = f" and {rest} more" if rest else ""
        if used + len(name) + 2 + len(tail) + 20 > MAX_SECTION_CHARS:
            names.append(f"{len(sources) - number} more")
            break
        names.append(name)
        used += len(name) + 2
    return head + ", ".join(names)


def _fallback_text(answer: Answer) -> str:
    """One line for notifications: the message, and for an answer its best sentence and source."""
    text = answer.message.strip() or "Answer"  # a notification must say something
    if answer.outcome is Outcome.ANSWERED and answer.passages:
        best = answer.passages[0]
        text += f" “{' '.join(best.sentence.split())}” ({best.source.label})"
    return _clip_end(text, MAX_FALLBACK_CHARS)


def _section(mrkdwn: str) -> dict[str, Any]:
    # verbatim: Slack must not turn words in article text or questions into links or mentions.
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn, "verbatim": True}]}


def _divider() -> dict[str, Any]:
    return {"type": "divider"}


def _clip_end(text: str, limit: int) -> str:
    """`text` escaped, cut at a word boundary (with `…`) so it is at most `limit` characters."""
    if escaped_length(text) <= limit:
        return escape(text)
    if limit <= len(ELLIPSIS):
        return ""
    keep = _longest_prefix(text, limit - len(ELLIPSIS))
    space = text.rfind(" ", 0, keep + 1)
    if space > keep // 2:  # cut between words unless that loses more than half
        keep = space
    return escape(text[:keep].rstrip()) + ELLIPSIS


def _clip_start(text: str, limit: int) -> str:
    """Like `_clip_end`, keeping the end of `text` (the words just before a matched sentence)."""
    if escaped_length(text) <= limit:
        return escape(text)
    if limit <= len(ELLIPSIS):
        return ""
    reversed_keep = _longest_prefix(text[::-1], limit - len(ELLIPSIS))
    start = len(text) - reversed_keep
    space = text.find(" ", start - 1)
    if 0 <= space < start + reversed_keep // 2:
        start = space + 1
    return ELLIPSIS + escape(text[start:].lstrip())


def _longest_prefix(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` once escaped (entities are never split)."""
    used = 0
    for index, char in enumerate(text):
        used += escaped_length(char)
        if used > limit:
            return index
    return len(text)
