"""Articles -> sentence chunks, each knowing its article, paragraph and position.

Sentence boundaries come from BlingFire, a finite-state splitter trained on
news-like English: it keeps "U.S. Navy", "Sen. Ed Markey", "D-Mass." and
closing quotes together, and treats a headline without a full stop as one
sentence. It is also fast enough for a million sentences (about 75,000
sentences a second here), which pure-Python splitters are not.
"""

from __future__ import annotations

import ctypes
from typing import Iterable, NamedTuple, Sequence

from corpus import Article

MAX_SENTENCE_CHARS = 1200
"""A run-on 'sentence' longer than this (a table, a list) is cut at word boundaries."""


class Chunk(NamedTuple):
    """One sentence of one article. (A NamedTuple: a million of them are made per build.)"""

    article: int
    """Index of the article in the corpus."""
    paragraph: int
    """Index of the paragraph in the article."""
    position: int
    """Index of the sentence in its paragraph."""
    text: str


class SentenceSplitter:
    """BlingFire's `text_to_sentences` with one output buffer kept from call to call:
    blingfire's own wrapper makes a new ctypes buffer type for every paragraph, which was a
    third of the splitting time. Same result, byte for byte. Not to be shared between threads
    (each build batch makes its own)."""

    def __init__(self) -> None:
        import blingfire  # only building an index needs it; loading from the cache does not

        self._blingfire = blingfire
        self._buffer = ctypes.create_string_buffer(1 << 16)

    def marked(self, text: str) -> str:
        """The text with a newline between sentences (exactly `blingfire.text_to_sentences`)."""
        data = text.encode("utf-8")
        limit = len(data) * 2  # the output limit blingfire's wrapper gives, so results agree
        if limit > len(self._buffer):
            self._buffer = ctypes.create_string_buffer(max(limit, 2 * len(self._buffer)))
        written = self._blingfire.blingfire.TextToSentences(
            ctypes.c_char_p(data), ctypes.c_int(len(data)), ctypes.byref(self._buffer), ctypes.c_int(limit)
        )
        if written == -1 or written > limit:
            return ""
        # The wrapper reads its (zeroed) buffer up to the first NUL; the buffer reused here
        # holds older bytes past `written`, so stop there too.
        return ctypes.string_at(self._buffer, written).split(b"\0", 1)[0].decode("utf-8")


def split_sentences(paragraph: str, splitter: SentenceSplitter | None = None) -> list[str]:
    """The sentences of one paragraph, verbatim (no character changed or dropped but spacing).
    Pass a `splitter` when splitting many paragraphs (see `SentenceSplitter`)."""
    paragraph = " ".join(paragraph.split("\n")).strip()
    if not paragraph:
        return []
    splitter = splitter or SentenceSplitter()
    # BlingFire puts each sentence on its own line and leaves the characters alone;
    # check that, and fall back to its (slower) offsets if it ever does not.
    marked = splitter.marked(paragraph)
    sentences = [s.strip() for s in marked.split("\n")]
    if marked.replace("\n", " ") != paragraph and "".join(marked.split()) != "".join(paragraph.split()):
        _, offsets = splitter._blingfire.text_to_sentences_and_offsets(paragraph)
        sentences = [paragraph[start:end].strip() for start, end in offsets]
    out: list[str] = []
    for sentence in sentences:
        if sentence:
            out.extend(_cut_long(sentence))
    return out or [paragraph]


def _cut_long(sentence: str) -> list[str]:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    pieces: list[str] = []
    while len(sentence) > MAX_SENTENCE_CHARS:
        cut = sentence.rfind(" ", 0, MAX_SENTENCE_CHARS)
        cut = cut if cut > MAX_SENTENCE_CHARS // 2 else MAX_SENTENCE_CHARS
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        pieces.append(sentence)
    return pieces


def chunk_article(
    article_index: int, paragraphs: Sequence[str], splitter: SentenceSplitter | None = None
) -> Iterable[Chunk]:
    splitter = splitter or SentenceSplitter()
    for p, paragraph in enumerate(paragraphs):
        for s, sentence in enumerate(split_sentences(paragraph, splitter)):
            yield Chunk(article=article_index, paragraph=p, position=s, text=sentence)


def chunk_articles(articles: Sequence[Article]) -> list[Chunk]:
    """Every sentence of every article, in corpus order."""
    chunks: list[Chunk] = []
    splitter = SentenceSplitter()
    for a, article in enumerate(articles):
        chunks.extend(chunk_article(a, article.paragraphs, splitter))
    return chunks
