"""An admin's articles load, and a broken file is named with its line and problem, left
out and left alone, while every other article loads."""

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
def test_a_broken_file_is_named_with_its_line_and_problem_and_the_others_load(tmp_path, content, line, problem):
    write(tmp_path, "good.md", GOOD)
    broken_path = write(tmp_path, "broken.md", content)
    before = broken_path.read_bytes()
    corpus = load_corpus(tmp_path)
    assert [a.article_id for a in corpus.articles] == ["good"]
    [error] = corpus.broken
    assert isinstance(error, CorpusFileError)
    message = str(error)
    assert "broken.md" in message and f"line {line}" in message and problem in message
    assert broken_path.read_bytes() == before, "nothing in the broken file is changed"


def test_files_that_cannot_be_read_at_all_are_named_and_the_others_load(tmp_path):
    write(tmp_path, "good.md", GOOD)
    (tmp_path / "a-folder.md").mkdir()
    write(tmp_path, "empty.md", b"")
    (tmp_path / "dangling.md").symlink_to(tmp_path / "gone")
    corpus = load_corpus(tmp_path)
    assert [a.article_id for a in corpus.articles] == ["good"]
    problems = {Path(e.path).name: e.problem for e in corpus.broken}
    assert list(problems) == ["a-folder.md", "dangling.md", "empty.md"]  # in name order
    assert "is a folder" in problems["a-folder.md"]
    assert "cannot be read" in problems["dangling.md"]
    assert "must start with" in problems["empty.md"]


def test_when_no_article_loads_the_message_names_the_first_broken_file(tmp_path):
    write(tmp_path, "a.md", "---\npublished: soon\n---\n\ntext\n")
    write(tmp_path, "b.md", b"")
    with pytest.raises(CorpusError, match=r"none of the 2 article files loads; the first: .*a\.md, line 2: bad date"):
        load_corpus(tmp_path)


def test_fixing_a_broken_file_changes_the_fingerprint(tmp_path):
    write(tmp_path, "good.md", GOOD)
    broken = write(tmp_path, "broken.md", "---\npublished: soon\n---\n\ntext\n")
    before = load_corpus(tmp_path).fingerprint
    broken.write_text("---\npublished: 2026-02-14\n---\n\ntext\n", encoding="utf-8")
    assert load_corpus(tmp_path).fingerprint != before


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


def test_a_look_at_the_folder_changes_with_any_name_size_time_or_kind_and_both_ways_agree(tmp_path):
    """The watcher compares a fresh look at the folder (`folder_look`) with the look of a listing it
    took (`look_of`): the two must agree on an unchanged folder, and differ after any change."""
    import os

    from corpus.loader import folder_look, list_folder, look_of

    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD)
    os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.md")  # listed with size and time -1
    (tmp_path / "folder.md").mkdir()  # a folder named like an article: listed, never read
    os.utime(tmp_path / "a.md", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    os.utime(tmp_path / "b.md", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    def look():
        seen = folder_look(tmp_path)
        assert seen == look_of(list_folder(tmp_path))
        return seen.signature

    before = look()
    assert look() == before
    os.utime(tmp_path / "b.md", ns=(1_700_000_000_000_000_001, 1_700_000_000_000_000_001))
    after_time = look()
    write(tmp_path, "b.md", GOOD + "More.\n")
    os.utime(tmp_path / "b.md", ns=(1_700_000_000_000_000_001, 1_700_000_000_000_000_001))
    after_size = look()
    os.rename(tmp_path / "b.md", tmp_path / "c.md")
    after_name = look()
    (tmp_path / "folder.md").rmdir()
    os.symlink(tmp_path / "a.md", tmp_path / "folder.md")  # same name, now a file
    after_kind = look()
    assert len({before, after_time, after_size, after_name, after_kind}) == 5


def test_an_articles_text_key_ignores_case_spacing_and_punctuation_whether_ascii_or_not():
    # ASCII text takes a quicker path to its comparable words; it must give what the general
    # one (NFKC, casefold, runs of \w) gives, so that duplicates are found either way.
    import random
    import re
    import unicodedata

    from corpus import Article
    from corpus.store import comparable_text, text_key

    pick = random.Random(16)
    chars = [chr(c) for c in range(128)]
    for _ in range(20_000):
        text = "".join(pick.choice(chars) for _ in range(pick.randint(1, 40)))
        general = " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))
        assert comparable_text(Article(article_id="a", paragraphs=(text,))) == general, repr(text)
    plain = Article(article_id="a", paragraphs=("Ring's deal, ended.", "FLOCK_2 said no"))
    curly = Article(article_id="b", paragraphs=("ring\u2019s  DEAL \u2014 ended", "flock_2 Said No!"))
    assert comparable_text(plain) == "ring s deal ended flock_2 said no"
    assert text_key(plain) == text_key(curly)
