"""An admin with a large corpus runs `qabot list`: a summary, not one line per sentence of output,
read from the index's own metadata (no article file is parsed while the index is current)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

import corpus.loader
import index.cache
from bot.cli.main import build_parser
from corpus import Article, render_article
from index.analysis import Analyzer
from index.cache import load_or_build
from tests.conftest import make_settings
from tests.test_admin_commands import qabot

ARTICLES = 25
SENTENCES = sum(2 + number % 3 for number in range(ARTICLES))


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """25 dated articles of two to four sentences, and one whose date was typed by hand."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for number in range(ARTICLES):
        article = Article(
            article_id=f"story-{number:02}",
            paragraphs=tuple(f"Story {number} reports fact {k} about the council." for k in range(2 + number % 3)),
            title=f"Council story {number}",
            publisher="Example Gazette",
            published=dt.date(2026, 1, 1) + dt.timedelta(days=number),
            url=f"https://gazette.example/{number}",
        )
        (folder / f"{article.article_id}.md").write_text(render_article(article), encoding="utf-8")
    (folder / "zz-draft.md").write_text("---\npublished: 13 Feb\n---\n\nA draft.\n", encoding="utf-8")
    return folder


def test_list_summarises_a_large_corpus_and_all_shows_every_article(articles, tmp_path):
    assert qabot("index", tmp_path=tmp_path).returncode == 0
    listed = qabot("list", tmp_path=tmp_path)
    assert listed.returncode == 1  # a broken file: a script notices
    lines = listed.stdout.splitlines()
    assert lines[0] == f"25 articles in {articles}, {SENTENCES} sentences"
    assert "newest: 2026-01-25  story-24" in lines and "oldest: 2026-01-01  story-00" in lines
    assert "1 broken file, left out until fixed:" in lines
    assert any(line.startswith("broken: ") and "zz-draft.md, line 2: bad date" in line for line in lines)
    shown = [line for line in lines if line.startswith("story-")]
    assert shown[0] == "story-00  2026-01-01  Example Gazette  2 sentences" and len(shown) == 10
    assert lines[-1].startswith("… and 15 more articles (`qabot list --all`")
    assert len(lines) < 60

    every = qabot("list", "--all", tmp_path=tmp_path).stdout.splitlines()
    assert len([line for line in every if line.startswith("story-")]) == 25 and "… and" not in "\n".join(every)


def test_list_json_still_has_every_article_with_its_sentences(articles, tmp_path):
    qabot("index", tmp_path=tmp_path)
    data = json.loads(qabot("list", "--json", tmp_path=tmp_path).stdout)
    assert len(data["articles"]) == 25 and [row["sentences"] for row in data["articles"][:3]] == [2, 3, 4]
    assert data["articles"][0] == {
        "id": "story-00",
        "label": "Council story 0",
        "title": "Council story 0",
        "publisher": "Example Gazette",
        "published": "2026-01-01",
        "url": "https://gazette.example/0",
        "sentences": 2,
    }
    [broken] = data["broken"]
    assert "zz-draft.md, line 2" in broken


def test_with_a_current_index_list_reads_only_its_metadata(articles, tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path, corpus_dir=articles)
    # Older than the freshness window of file times, as a corpus is between edits.
    for path in articles.iterdir():
        stamp = path.stat().st_mtime_ns - 10_000_000_000
        os.utime(path, ns=(stamp, stamp))
    load_or_build(articles, settings.cache_dir, Analyzer())

    def must_not_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the index was loaded")

    def must_not_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("an article file was read")

    monkeypatch.setattr(index.cache, "load_or_build", must_not_load)
    monkeypatch.setattr(index.cache, "read_article_file", must_not_read)
    monkeypatch.setattr(corpus.loader, "read_article_file", must_not_read)
    args = build_parser().parse_args(["list"])
    assert args.handler(args, settings) == 1  # 1: a file is broken
    shown = capsys.readouterr().out
    assert shown.startswith(f"25 articles in {articles}, {SENTENCES} sentences") and "zz-draft.md, line 2" in shown


def test_after_a_change_list_brings_the_index_up_to_date_and_counts_the_mended_file(articles, tmp_path):
    qabot("index", tmp_path=tmp_path)
    (articles / "zz-draft.md").write_text("---\npublished: 2026-02-13\n---\n\nA draft, finished.\n", encoding="utf-8")
    listed = qabot("list", tmp_path=tmp_path)
    assert listed.returncode == 0
    assert listed.stdout.startswith(f"26 articles in {articles}, {SENTENCES + 1} sentences")
    assert "newest: 2026-02-13  zz-draft" in listed.stdout
