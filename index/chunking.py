"""Articles -> sentence chunks, each knowing its article, paragraph and position.

Sentence boundaries come from BlingFire, a finite-state splitter trained on
news-like English: it keeps "U.S. Navy", "Sen. Ed Markey", "D-Mass." and
closing quotes together, and treats a headline without a full stop as one
sentence. It is also fast enough for a million sentences (about 75,000
sentences a second here), which pure-Python splitters are not.
"""

from __future__ import annotations

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


def split_sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph, verbatim (no character changed or dropped but spacing)."""
    import blingfire  # only building an index needs it; loading from the cache does not

    paragraph = " ".join(paragraph.split("\n")).strip()
    if not paragraph:
        return []
    # BlingFire puts each sentence on its own line and leaves the characters alone;
    # check that, and fall back to its (slower) offsets if it ever does not.
    marked = blingfire.text_to_sentences(paragraph)
    sentences = [s.strip() for s in marked.split("\n")]
    if marked.replace("\n", " ") != paragraph and "".join(marked.split()) != "".join(paragraph.split()):
        _, offsets = blingfire.text_to_sentences_and_offsets(paragraph)
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


def chunk_article(article_index: int, paragraphs: Sequence[str]) -> Iterable[Chunk]:
    for p, paragraph in enumerate(paragraphs):
        for s, sentence in enumerate(split_sentences(paragraph)):
            yield Chunk(article=article_index, paragraph=p, position=s, text=sentence)


def chunk_articles(articles: Sequence[Article]) -> list[Chunk]:
    """Every sentence of every article, in corpus order."""
    chunks: list[Chunk] = []
    for a, article in enumerate(articles):
        chunks.extend(chunk_article(a, article.paragraphs))
    return chunks
