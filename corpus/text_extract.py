"""An article from a Markdown or plain-text file.

A file that already has the corpus header (`---` lines) is read as an article
file, its metadata kept. Otherwise paragraphs are separated by blank lines.
Markdown is parsed by markdown-it-py (CommonMark): a first-level heading first
in the file is the title; every heading, paragraph and list item is one
paragraph of the article; markup (emphasis, link targets, images, HTML,
rules, link definitions) is dropped so that only the article's words are quoted.

Failure behaviour: bytes that are not UTF-8 raise TextFileError naming the line;
a file with no text raises TextFileError. Markdown never fails to parse.
"""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from corpus.draft import MIN_WORDS, ArticleDraft
from corpus.errors import TextFileError
from corpus.fileformat import FENCE, CorpusFileError, parse_article

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})

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
    return ArticleDraft.from_article(article)


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
    tokens = MarkdownIt("commonmark").parse(text)
    title: str | None = None
    paragraphs: list[str] = []
    first_block = True
    for i, token in enumerate(tokens):
        if token.type in ("code_block", "fence"):
            paragraphs.append(" ".join(token.content.split()))
            first_block = False
        if token.type != "inline":
            continue
        words = _inline_words(token)
        opening = tokens[i - 1] if i else None
        if first_block and opening is not None and opening.type == "heading_open" and opening.tag == "h1":
            title = words or None
        else:
            paragraphs.append(words)
        first_block = False
    return title, tuple(p for p in paragraphs if p)


def _inline_words(inline: Token) -> str:
    """The words of one inline run: text and code, without link targets, images or HTML."""
    parts: list[str] = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        # image (alt text describes a picture, not the article's words), html_inline, and the
        # link_open/link_close around a link's own text tokens carry nothing to keep.
    return " ".join("".join(parts).split())
