"""An admin's articles load, and a broken file is named with its line and problem."""

from pathlib import Path

import pytest

from corpus import BUNDLED_DIR, CorpusError, CorpusFileError, load_corpus, parse_article, render_article

GOOD = """---
title: A title
publisher: Example News
author:
published: 2026-02-13
url: https://example.com/a
---

First paragraph. Second sentence.

Second paragraph
continues here.
"""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def test_the_bundled_corpus_has_the_five_seed_articles_with_known_metadata_only():
    corpus = load_corpus(BUNDLED_DIR)
    assert len(corpus.articles) == 5
    by_publisher = {a.publisher: a for a in corpus.articles}
    bbc = by_publisher["BBC News"]
    assert bbc.url == "https://www.bbc.com/news/articles/cwy8dxz1g7zo"
    assert bbc.author == "Kali Hays"
    nbc = by_publisher["NBC News"]
    assert nbc.url is None and nbc.author is None  # unknown stays unknown
    unknown = [a for a in corpus.articles if a.publisher is None]
    assert len(unknown) == 1 and unknown[0].title is None and unknown[0].url is None


def test_an_article_without_title_or_publisher_is_named_by_its_first_words():
    corpus = load_corpus(BUNDLED_DIR)
    unknown = next(a for a in corpus.articles if a.publisher is None)
    assert unknown.label.startswith("Amazon's Ring abruptly terminated")
    aicnbc = next(a for a in corpus.articles if a.publisher == "AICNBC")
    assert aicnbc.label == "AICNBC"


def test_page_furniture_is_gone_and_joined_words_are_mended():
    text = "\n".join(a.text for a in load_corpus(BUNDLED_DIR).articles)
    for furniture in ("What's Your Reaction?", "Please log in or register", "If you wish to reprint", "Tags:"):
        assert furniture not in text
    assert "bypolice" not in text and "by police" in text


def test_an_article_round_trips_through_its_file_format(tmp_path):
    article = parse_article("a.md", GOOD.encode(), "a")
    assert article.paragraphs == ("First paragraph. Second sentence.", "Second paragraph continues here.")
    assert parse_article("a.md", render_article(article).encode(), "a") == article


@pytest.mark.parametrize(
    "content, line, problem",
    [
        ("title: no header\n\ntext\n", 1, "must start with a '---'"),
        ("---\ntitel: typo\n---\n\ntext\n", 2, "unknown field 'titel'"),
        ("---\ntitle: x\n---\n\n\n", 4, "no text after the header"),
        ("---\npublished: 13 Feb 2026\n---\n\ntext\n", 2, "bad date"),
        ("---\nurl: not a url\n---\n\ntext\n", 2, "bad URL"),
        ("---\ntitle: x\ntitle: y\n---\n\ntext\n", 3, "given twice"),
        ("---\ntitle: x\n", 2, "never closed"),
        ("---\ntitle: x\n\ntext\n", 4, "closing '---' line missing"),
        ("---\nno colon here\n---\n\ntext\n", 2, "bad header line"),
        (b"---\ntitle: x\n---\n\ncaf\xe9\n", 5, "not UTF-8"),
    ],
)
def test_a_broken_file_is_named_with_its_line_and_problem(tmp_path, content, line, problem):
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "broken.md", content)
    with pytest.raises(CorpusFileError) as caught:
        load_corpus(tmp_path)
    message = str(caught.value)
    assert "broken.md" in message and f"line {line}" in message and problem in message


def test_a_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="no such folder"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no article files"):
        load_corpus(tmp_path)


def test_the_fingerprint_changes_when_any_article_changes(tmp_path):
    path = write(tmp_path, "a.md", GOOD)
    before = load_corpus(tmp_path).fingerprint
    path.write_text(GOOD.replace("First", "Opening"), encoding="utf-8")
    assert load_corpus(tmp_path).fingerprint != before
