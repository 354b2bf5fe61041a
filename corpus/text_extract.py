"""An article from a Markdown or plain-text file.

A file that already has the corpus header (`---` lines) is read as an article
file, its metadata kept. Otherwise paragraphs are separated by blank lines;
in Markdown a first-level heading on the first line is the title, and markup
(heading marks, emphasis, link targets, bullets) is dropped so that only the
article's words are quoted.
"""

from __future__ import annotations

import re
from pathlib import Path

from corpus.draft import MIN_WORDS, ArticleDraft
from corpus.errors import TextFileError
from corpus.fileformat import FENCE, CorpusFileError, parse_article

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})

_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_REFERENCE_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def extract_text_file(path: Path, raw: bytes) -> ArticleDraft:
    """The article in a Markdown or text file's bytes."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TextFileError(f"{path}, line {line}: not UTF-8 text; save the file as UTF-8") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.lstrip("\n").startswith(FENCE + "\n"):
        return _long_enough(path, _from_article_file(path, text.lstrip("\n").encode("utf-8")))
    markdown = path.suffix.lower() in MARKDOWN_SUFFIXES
    title, paragraphs = _markdown_paragraphs(text) if markdown else (None, _plain_paragraphs(text))
    if not paragraphs:
        raise TextFileError(f"{path}: the file has no text")
    return _long_enough(path, ArticleDraft(paragraphs=paragraphs, title=title, provenance=("text from a file",)))


def _long_enough(path: Path, draft: ArticleDraft) -> ArticleDraft:
    """The draft, or TextFileError when it is shorter than a page may be: a note or a stub is no article."""
    words = sum(len(p.split()) for p in draft.paragraphs)
    if words < MIN_WORDS:
        raise TextFileError(
            f"{path}: only {words} word{'s' if words != 1 else ''} of text; an article needs at least {MIN_WORDS}"
        )
    return draft


def _from_article_file(path: Path, raw: bytes) -> ArticleDraft:
    try:
        article = parse_article(str(path), raw, article_id=path.stem)
    except CorpusFileError as exc:
        raise TextFileError(str(exc)) from None
    provenance = (article.note,) if article.note else ()
    return ArticleDraft(
        paragraphs=article.paragraphs,
        title=article.title,
        publisher=article.publisher,
        author=article.author,
        published=article.published,
        url=article.url,
        provenance=provenance,
    )


def _blocks(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _plain_paragraphs(text: str) -> tuple[str, ...]:
    return tuple(" ".join(" ".join(block).split()) for block in _blocks(text.split("\n")))


def _markdown_paragraphs(text: str) -> tuple[str | None, tuple[str, ...]]:
    lines = _HTML_COMMENT.sub("", text).split("\n")
    title: str | None = None
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None:
        heading = _HEADING.match(lines[first])
        if heading and len(heading.group(1)) == 1:
            title = _inline(heading.group(2)) or None
            lines = lines[first + 1 :]
        elif first + 1 < len(lines) and re.fullmatch(r"\s{0,3}=+\s*", lines[first + 1]):
            title = _inline(lines[first]) or None
            lines = lines[first + 2 :]
    paragraphs: list[str] = []
    for block in _blocks(lines):
        # A list is one item per paragraph, so each item reads on its own.
        current: list[str] = []
        for line in block:
            if _RULE.match(line) or _LINK_DEFINITION.match(line):
                continue
            if _SETEXT_UNDERLINE.match(line) and current:
                continue
            line = _QUOTE.sub("", line)
            heading = _HEADING.match(line)
            if heading or _BULLET.match(line):
                if current:
                    paragraphs.append(" ".join(current))
                current = [_inline(heading.group(2) if heading else _BULLET.sub("", line))]
                if heading:
                    paragraphs.append(" ".join(current))
                    current = []
                continue
            current.append(_inline(line))
        if current:
            paragraphs.append(" ".join(current))
    return title, tuple(p for p in (" ".join(p.split()) for p in paragraphs) if p)


def _inline(text: str) -> str:
    text = _IMAGE.sub("", text)  # alt text describes a picture; it is not the article's words
    text = _LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\2", text)
    return " ".join(text.split())
