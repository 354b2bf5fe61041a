"""Rendering an Answer for a terminal: wrapped text, the matched sentence in bold, sources and links."""

from __future__ import annotations

import textwrap

from bot.answering.answer import Answer, Outcome, Passage, Source

WIDTH = 88
BOLD, DIM, RESET = "\033[1m", "\033[2m", "\033[0m"


def source_line(source: Source) -> str:
    return f"{source.name} · {source.published}" if source.published else source.name


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def _passage_text(passage: Passage, color: bool) -> str:
    if not color:
        return passage.text
    parts = []
    if passage.before:
        parts.append(f"{DIM}{passage.before}{RESET}")
    parts.append(f"{BOLD}{passage.sentence}{RESET}")
    if passage.after:
        parts.append(f"{DIM}{passage.after}{RESET}")
    return " ".join(parts)


def render(answer: Answer, color: bool = False) -> str:
    """The answer as plain text (with ANSI bold/dim for the matched sentence when `color`)."""
    out = [_wrap(answer.message, "")]
    if answer.outcome is Outcome.NOT_FOUND and answer.coverage:
        out.append(_wrap(answer.coverage, ""))
    for number, passage in enumerate(answer.passages, start=1):
        out.append("")
        if color:
            # Let the terminal wrap coloured text: escape codes would confuse textwrap's widths.
            out.append(f"{number}. {_passage_text(passage, True)}")
        else:
            out.append(f"{number}." + _wrap(passage.text, "   ")[2:])
        out.append(f"   — {source_line(passage.source)}")
        out.append(f"     {passage.source.url or '(no link known)'}")
        if passage.also_reported_by:
            also = "; ".join(
                (s.publisher or s.label) + (f" <{s.url}>" if s.url else " (no link known)")
                for s in passage.also_reported_by
            )
            out.append(_wrap(f"Also reported by: {also}", "     "))
    return "\n".join(out)
