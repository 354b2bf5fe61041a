"""Deterministic synthetic news corpora of any size, for benchmarks and scale tests.

Sentences draw words from a Zipf-like vocabulary (a few very common words, a
long tail of rare ones) with the length spread of news prose (median about 21
words, from 4 to 70), sprinkled with names, numbers, money and percentages, and
grouped into paragraphs and articles with metadata. A fixed seed gives the same
corpus on every machine.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator

import numpy as np

from corpus import Article

SYLLABLES = (
    "ka ri to ne sa mo lu pe di ga fo ve shi na ro te bi la mu zo re ta po ki de su "
    "an el or is um ex pro con tra ver dis com sur tech port"
).split()
FUNCTION_WORDS = (
    "the of and to a in that is was for on with as by it from at said has have be "
    "its were which an this would been their after also more than who had"
).split()


def make_vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        n = int(rng.integers(1, 4))
        words.add("".join(SYLLABLES[int(i)] for i in rng.integers(0, len(SYLLABLES), n)))
    return sorted(words)


def sentences(count: int, seed: int = 7, vocabulary_size: int = 50_000) -> Iterator[str]:
    rng = np.random.default_rng(seed)
    vocabulary = make_vocabulary(vocabulary_size, rng)
    ranks = np.arange(1, len(vocabulary) + 1)
    weights = 1.0 / ranks**1.07
    weights /= weights.sum()
    batch = 10_000
    made = 0
    while made < count:
        n = min(batch, count - made)
        lengths = np.clip(rng.lognormal(mean=3.0, sigma=0.45, size=n).astype(int), 4, 70)
        content = rng.choice(len(vocabulary), size=int(lengths.sum()), p=weights)
        glue = rng.integers(0, len(FUNCTION_WORDS), size=int(lengths.sum()))
        is_glue = rng.random(int(lengths.sum())) < 0.4
        extras = rng.random(n)
        at = 0
        for i, length in enumerate(lengths):
            words = [
                FUNCTION_WORDS[int(glue[at + j])] if is_glue[at + j] else vocabulary[int(content[at + j])]
                for j in range(int(length))
            ]
            at += int(length)
            words[0] = words[0].capitalize()
            if extras[i] < 0.08:
                words.insert(len(words) // 2, f"${int(extras[i] * 10_000)} million")
            elif extras[i] < 0.14:
                words.insert(len(words) // 2, f"{int(extras[i] * 700)}%")
            elif extras[i] < 0.30:
                words.insert(1, vocabulary[int(content[at - 1])].capitalize())
            yield " ".join(words) + "."
        made += n


def articles(sentence_count: int, seed: int = 7, sentences_per_article: int = 20) -> list[Article]:
    """`sentence_count` sentences in articles of about `sentences_per_article`, 4 per paragraph."""
    return list(iter_articles(sentence_count, seed, sentences_per_article))


def iter_articles(sentence_count: int, seed: int = 7, sentences_per_article: int = 20) -> Iterator[Article]:
    """The same articles as `articles`, one at a time (10M sentences do not fit comfortably in a list)."""
    stream = sentences(sentence_count, seed)
    rng = np.random.default_rng(seed + 1)
    start = dt.date(2020, 1, 1)
    number = 0
    buffer: list[str] = []
    for sentence in stream:
        buffer.append(sentence)
        if len(buffer) == sentences_per_article:
            yield _article(number, buffer, rng, start)
            number += 1
            buffer = []
    if buffer:
        yield _article(number, buffer, rng, start)


def _article(number: int, body: list[str], rng: np.random.Generator, start: dt.date) -> Article:
    paragraphs = tuple(" ".join(body[i : i + 4]) for i in range(0, len(body), 4))
    return Article(
        article_id=f"synthetic-{number:07d}",
        paragraphs=paragraphs,
        title=body[0].rstrip("."),
        publisher=f"Publisher {int(rng.integers(0, 40))}",
        author=None,
        published=start + dt.timedelta(days=int(rng.integers(0, 2000))),
        url=f"https://news.example/{number}",
    )


QUESTION_STARTS = ["why did", "what is", "who said", "how many", "when did", "what happened to", "does", ""]


def questions(texts: list[str], count: int, seed: int = 5) -> list[str]:
    """Varied questions: words from a random sentence, a question opener, sometimes a typo or an unknown word."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        words = texts[int(rng.integers(0, len(texts)))].rstrip(".").split()
        picked = [words[int(j)] for j in rng.choice(len(words), size=min(len(words), int(rng.integers(2, 7))), replace=False)]
        if i % 7 == 3 and picked[0][1:]:
            picked[0] = picked[0][:-1]  # a typo
        if i % 11 == 5:
            picked.append("zeppelinx")  # a word no article uses
        out.append(f"{QUESTION_STARTS[i % len(QUESTION_STARTS)]} {' '.join(picked)}?".strip())
    return out
