"""An admin adds articles as the story moves: from a saved page, a web address, or a text file.

Every test works on a temporary copy of the corpus and a web site served on 127.0.0.1.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import corpus.html_extract  # noqa: F401  (imported before any timing below)
from bot.app import load_core
from corpus import load_corpus, parse_article
from corpus.fetch import FetchLimits
from corpus.ingest import IngestError, MetadataFlags, add_article
from tests.conftest import make_settings
from tests.support.local_site import LOGIN_WALL, Page, article_html, local_site
from tests.support.listings import count_listings

QUICK = FetchLimits(timeout_seconds=1.0, max_bytes=200_000, retries=0)
CANONICAL = "https://tribune.example/2026/02/20/flock-drones"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in the folder, hidden ones included: a failed add must leave no trace."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def ask(folder: Path, tmp_path: Path, question: str):
    return load_core(make_settings(tmp_path, corpus_dir=folder)).answer(question)


def test_a_saved_page_is_added_and_then_quoted_with_its_canonical_link(articles, tmp_path):
    page = tmp_path / "flock-drones.html"
    page.write_bytes(article_html())

    added = add_article(str(page), articles)

    article = added.article
    assert added.path == articles / "example-tribune-flock-safety-expands-drone-program.md"
    assert (article.title, article.publisher, article.author) == (
        "Flock Safety expands drone program", "Example Tribune", "Maria Lopez"
    )
    assert article.published.isoformat() == "2026-02-20" and article.url == CANONICAL
    # Main text only: no navigation, comments or footer, and the headline is not a paragraph.
    text = article.text
    assert text.startswith("Flock Safety said on Friday")
    assert "Subscribe" not in text and "Reader123" not in text and "Copyright" not in text
    answer = ask(articles, tmp_path, "How many more cities will get Flock's drones?")
    assert answer.answered
    assert "forty more cities" in answer.passages[0].text
    assert answer.passages[0].source.url == CANONICAL


def test_a_web_page_is_fetched_and_stored_under_its_canonical_address_not_the_fetch_address(articles, tmp_path):
    with local_site() as site:
        site.pages["/news/123?utm_source=share"] = Page(article_html())
        added = add_article(site.url("/news/123?utm_source=share"), articles, limits=QUICK)

    assert added.article.url == CANONICAL
    assert "127.0.0.1" not in (added.article.url or "")
    note = added.article.note or ""
    assert f"fetched from {site.url('/news/123')};" in note  # provenance, not the link...
    assert "utm_source" not in note  # ...and without the query, which can carry access tokens
    answer = ask(articles, tmp_path, "how fast do flock drones respond to emergency calls")
    assert "ninety seconds" in answer.passages[0].text and answer.passages[0].source.url == CANONICAL


def test_og_url_is_used_when_there_is_no_canonical_link_and_a_relative_canonical_is_resolved(articles):
    with local_site() as site:
        site.pages["/a"] = Page(article_html(canonical=None, og_url="https://tribune.example/og/flock"))
        site.pages["/b"] = Page(
            article_html(canonical="/2026/ring-story", title="Ring story", paragraphs=("Other words " * 40,))
        )
        first = add_article(site.url("/a"), articles, limits=QUICK)
        second = add_article(site.url("/b"), articles, limits=QUICK)
    assert first.article.url == "https://tribune.example/og/flock"
    assert second.article.url == site.url("/2026/ring-story")


def test_a_page_naming_no_address_gets_no_url_rather_than_the_fetch_address(articles):
    with local_site() as site:
        site.pages["/plain"] = Page(article_html(canonical=None, site_name=None, author=None, published=None))
        added = add_article(site.url("/plain"), articles, limits=QUICK)
    article = added.article
    # Unknown stays unknown: nothing is guessed from the host name or the text.
    assert article.url is None and article.publisher is None and article.author is None
    assert article.published is None


def test_flags_set_and_override_the_metadata_and_an_empty_flag_makes_a_field_unknown(articles, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(article_html())
    flags = MetadataFlags(
        title="Flock to fly drones over forty more cities",
        publisher="The Tribune",
        author="",
        published="2026-02-21",
        url="https://tribune.example/fixed",
        article_id="tribune-drones",
    )
    added = add_article(str(page), articles, flags)
    article = added.article
    assert added.path.name == "tribune-drones.md"
    assert article.title == "Flock to fly drones over forty more cities" and article.publisher == "The Tribune"
    assert article.author is None and article.published.isoformat() == "2026-02-21"
    assert article.url == "https://tribune.example/fixed"
    assert "set on the command line: title, publisher, author, published, url" in (article.note or "")


def test_the_new_file_is_a_valid_article_file_written_whole(articles, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(article_html())
    added = add_article(str(page), articles)
    assert parse_article(str(added.path), added.path.read_bytes(), added.path.stem) == added.article
    assert [p.name for p in articles.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    assert len(load_corpus(articles).articles) == 6


def test_markdown_and_text_files_are_added_without_their_markup(articles, tmp_path):
    markdown = tmp_path / "statement.md"
    markdown.write_text(
        "# Ring's statement on Flock\n\n"
        "Ring **never** shared video with [Flock](https://flock.example) and says the\n"
        "integration was *not* launched.\n\n"
        "## Background\n\n"
        "- The deal was announced in October.\n"
        "- It was cancelled in February, after months of criticism from civil liberties groups and residents.\n"
    )
    text = tmp_path / "memo.txt"
    text.write_text(
        "A plain memo about doorbell cameras and warrants.\n\nSecond paragraph of the memo, which explains when "
        "police may ask a doorbell company for footage and when a judge must sign a warrant first.\n"
    )

    from_markdown = add_article(str(markdown), articles, MetadataFlags(publisher="Ring"))
    from_text = add_article(str(text), articles)

    assert from_markdown.article.title == "Ring's statement on Flock"
    assert from_markdown.article.paragraphs == (
        "Ring never shared video with Flock and says the integration was not launched.",
        "Background",
        "The deal was announced in October.",
        "It was cancelled in February, after months of criticism from civil liberties groups and residents.",
    )
    assert from_text.article.title is None and len(from_text.article.paragraphs) == 2
    assert from_text.path.name.startswith("a-plain-memo-about-doorbell")


def test_an_article_file_with_a_header_keeps_its_metadata(articles, tmp_path):
    source = tmp_path / "ready.md"
    source.write_text("---\ntitle: Ready-made\npublisher: Wire\nurl: https://wire.example/x\n---\n\n"
                      + "Some text here, long enough to count as an article rather than a note: " * 3 + "\n")
    added = add_article(str(source), articles)
    assert (added.article.title, added.article.publisher, added.article.url) == (
        "Ready-made", "Wire", "https://wire.example/x"
    )


@pytest.mark.parametrize("way", ["every file read", "the index's text keys"])
def test_the_same_article_twice_is_refused_by_url_or_by_text(articles, tmp_path, way, monkeypatch):
    if way == "every file read":
        add = add_article
    else:  # as `qabot add` does: the index, brought up to date once, knows each article's URL and
        # text, and the folder's own record adds those added since (the index is not updated between)
        from bot.cli.articles import _FolderAsIndexed
        from tests.conftest import make_settings

        indexed = _FolderAsIndexed(make_settings(tmp_path, corpus_dir=articles))
        monkeypatch.setattr("corpus.ingest.read_folder", lambda folder: pytest.fail("every file was read"))

        def add(source, folder):
            added = add_article(source, folder, known=indexed.known)
            indexed.added(added)
            return added

    page = tmp_path / "page.html"
    page.write_bytes(article_html())
    add(str(page), articles)
    before = snapshot(articles)

    with pytest.raises(IngestError, match="already has the same URL"):
        add(str(page), articles)
    # The same text under another address (a syndicated copy with other quotes and spacing) too.
    copy = tmp_path / "copy.html"
    copy.write_bytes(article_html(canonical="https://elsewhere.example/copy").replace(b"Friday", b"  FRIDAY "))
    with pytest.raises(IngestError, match="already has the same text") as caught:
        add(str(copy), articles)
    assert "example-tribune-flock-safety-expands-drone-program.md" in str(caught.value)
    # The bundled BBC article again, under its URL with tracking and a trailing slash.
    bbc = tmp_path / "bbc.html"
    bbc.write_bytes(article_html(canonical="https://bbc.com/news/articles/cwy8dxz1g7zo/?utm_source=x"))
    with pytest.raises(IngestError, match="bbc-ring-ends-deal-with-surveillance-firm.md already has the same URL"):
        add(str(bbc), articles)
    assert snapshot(articles) == before


@pytest.mark.parametrize(
    "page, expected",
    [
        (Page(b"missing", status=404), "answered HTTP 404"),
        (Page(b"%PDF-1.7 ...", content_type="application/pdf"), "not an HTML page (Content-Type: application/pdf)"),
        (Page(LOGIN_WALL), "is it an article"),
        (Page(b"\x00\x01binary junk", content_type=None), "does not look like an HTML page"),
        (Page(article_html(), delay_seconds=3.0), "did not send the page within 1 seconds"),
        (Page(article_html() * 3, drip_seconds=0.1), "did not send the page within 1 seconds"),
        (Page(b"<html>" + b"x" * 100, declared_length=50_000_000), "too large (50,000,000 bytes"),
        (Page(b"<html><body>" + b"<p>word</p>" * 30_000, announce_length=False), "too large"),
    ],
    ids=["not-found", "not-html", "no-article-text", "unlabelled-binary", "slow-server", "slow-drip",
         "declared-too-large", "streamed-too-large"],
)
def test_a_page_that_cannot_be_used_is_refused_and_the_corpus_is_unchanged(articles, page, expected):
    before = snapshot(articles)
    with local_site() as site:
        site.pages["/page"] = page
        started = time.monotonic()
        with pytest.raises(IngestError, match="not added") as caught:
            add_article(site.url("/page"), articles, limits=QUICK)
        waited = time.monotonic() - started
    assert expected in str(caught.value)
    assert snapshot(articles) == before
    # The time limit holds, even for a server that drips bytes. (The page extractor, which `qabot add`
    # imports only for a web page, about a second's work, is imported at the top of this file.)
    assert waited < 2 * QUICK.timeout_seconds


@pytest.mark.parametrize(
    "source, expected",
    [
        ("http://", "not a valid http(s) web address"),
        ("http://127.0.0.1:1/nothing-listens-here", "cannot connect to 127.0.0.1"),
        ("/no/such/page.html", "no such file"),
    ],
)
def test_a_bad_address_or_missing_file_gets_a_clear_error(articles, source, expected):
    before = snapshot(articles)
    with pytest.raises(IngestError) as caught:
        add_article(source, articles, limits=QUICK)
    assert expected in str(caught.value)
    assert snapshot(articles) == before


def test_a_redirect_is_followed_and_a_wrong_charset_label_does_not_break_the_text(articles):
    latin = article_html(paragraphs=("Café owners in Zürich say the cameras watch every street corner " * 4,))
    with local_site() as site:
        site.pages["/old"] = Page(b"", status=301, redirect_to="/new")
        site.pages["/new"] = Page(latin, content_type="text/html; charset=no-such-charset")
        added = add_article(site.url("/old"), articles, limits=QUICK)
    assert "Café owners in Zürich" in added.article.text
    assert f"fetched from {site.url('/new')}" in (added.article.note or "")


def test_bad_flags_are_named(articles, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(article_html())
    with pytest.raises(IngestError, match="--published '20 Feb'"):
        add_article(str(page), articles, MetadataFlags(published="20 Feb"))
    with pytest.raises(IngestError, match="--url"):
        add_article(str(page), articles, MetadataFlags(url="tribune.example/x"))
    with pytest.raises(IngestError, match="not a usable article ID"):
        add_article(str(page), articles, MetadataFlags(article_id="../escape"))


ZEPPELIN = """# Zeppelin cameras over Seattle

Ring said on Tuesday that it tested a zeppelin camera over Seattle during the summer. The airship
flew for three weeks and filmed the harbour, the company said in a statement.
"""


def run_add(settings, *args: str) -> int:
    """`qabot add ARGS` in this process, as the command line runs it."""
    from bot.cli.main import build_parser

    parsed = build_parser().parse_args(["add", *args])
    return parsed.handler(parsed, settings)


def test_qabot_add_never_lists_the_folder_and_leaves_an_index_the_next_ask_loads_as_it_is(
    articles, tmp_path, monkeypatch, capsys
):
    """At 20,000 articles one listing of the folder costs 0.15-0.3 s, and reading the index's
    table of articles 35-50 ms: the duplicate check and the update go by the index's own record
    of the folder (with the new file looked at on its own), and each segment's articles are
    read once."""
    import index.cache
    import index.segments
    from index.analysis import Analyzer
    from index.cache import is_current, load_or_build

    settings = make_settings(tmp_path, corpus_dir=articles)
    load_or_build(articles, settings.cache_dir, Analyzer())  # as after `qabot index`
    source = tmp_path / "zeppelin.md"
    source.write_text(ZEPPELIN, encoding="utf-8")
    listings = count_listings(monkeypatch, articles)
    read_articles: list[str] = []
    real_articles_of = index.segments._articles_of
    monkeypatch.setattr(index.segments, "_articles_of", lambda folder: read_articles.append(folder.name) or real_articles_of(folder))
    read_json: list[str] = []
    real_load_json = index.cache.load_json
    monkeypatch.setattr(index.cache, "load_json", lambda folder, name: read_json.append(name) or real_load_json(folder, name))
    assert run_add(settings, str(source), "--id", "zeppelin") == 0
    assert "Index updated" in capsys.readouterr().out
    assert listings == []
    assert len(read_articles) == len(set(read_articles)) == 1  # the bundled index: one segment, read once
    assert len([name for name in read_json if name.startswith("files-")]) == 1  # its per-file table, once
    monkeypatch.undo()

    assert is_current(articles, settings.cache_dir)
    loaded = load_or_build(articles, settings.cache_dir, Analyzer())
    assert loaded.from_cache and loaded.analysed_articles == 0
    answer = ask(articles, tmp_path, "what did ring test over seattle?")
    assert "zeppelin camera" in answer.passages[0].text


def test_a_file_written_by_someone_else_during_qabot_add_is_picked_up_by_the_next_load(articles, tmp_path, capsys):
    """The update goes by the index's own record of the folder and the added file: a file another
    program writes meanwhile is not in it, and the index then does not match the folder, so the
    next load reads that file (and nothing else)."""
    from bot.cli.articles import _FolderAsIndexed, _update_index
    from index.analysis import Analyzer
    from index.cache import is_current, load_or_build

    settings = make_settings(tmp_path, corpus_dir=articles)
    load_or_build(articles, settings.cache_dir, Analyzer())
    source = tmp_path / "zeppelin.md"
    source.write_text(ZEPPELIN, encoding="utf-8")
    indexed = _FolderAsIndexed(settings)
    added = add_article(str(source), articles, MetadataFlags(article_id="zeppelin"), known=indexed.known)
    indexed.added(added)
    (articles / "hailstorm.md").write_text(
        "---\ntitle: Hail in Tacoma\npublisher: Port Gazette\n---\n\n"
        "A hailstorm hit the harbour in Tacoma on Monday, the port said.\n",
        encoding="utf-8",
    )
    _update_index(settings, [added.path], indexed.index)
    assert "Index updated" in capsys.readouterr().out

    assert not is_current(articles, settings.cache_dir)
    loaded = load_or_build(articles, settings.cache_dir, Analyzer())
    assert loaded.analysed_articles == 1  # the other program's file; the zeppelin is indexed already
    assert "zeppelin camera" in ask(articles, tmp_path, "what did ring test over seattle?").passages[0].text
    assert "hailstorm" in ask(articles, tmp_path, "what hit the harbour in tacoma?").passages[0].text


def test_an_article_removed_by_hand_since_the_index_was_written_is_no_duplicate(articles, tmp_path, capsys):
    """The duplicate check goes by the index's record, which can be older than the folder: an
    article it names is a duplicate only if its file still says so."""
    from index.analysis import Analyzer
    from index.cache import load_or_build

    settings = make_settings(tmp_path, corpus_dir=articles)
    load_or_build(articles, settings.cache_dir, Analyzer())
    source = tmp_path / "zeppelin.md"
    source.write_text(ZEPPELIN, encoding="utf-8")
    assert run_add(settings, str(source), "--id", "zeppelin") == 0
    assert run_add(settings, str(source), "--id", "zeppelin-again") == 0  # a duplicate: not added, no failure
    assert "already has the same text" in capsys.readouterr().out
    assert not (articles / "zeppelin-again.md").exists()

    (articles / "zeppelin.md").unlink()  # by hand: the index still records it
    assert run_add(settings, str(source), "--id", "zeppelin-again") == 0
    assert (articles / "zeppelin-again.md").exists()
    assert "zeppelin camera" in ask(articles, tmp_path, "what did ring test over seattle?").passages[0].text


def test_qabot_remove_updates_the_index_without_listing_the_folder(articles, tmp_path, monkeypatch, capsys):
    import corpus.loader
    from bot.cli.main import build_parser
    from index.analysis import Analyzer
    from index.cache import is_current, load_or_build

    settings = make_settings(tmp_path, corpus_dir=articles)
    source = tmp_path / "zeppelin.md"
    source.write_text(ZEPPELIN, encoding="utf-8")
    load_or_build(articles, settings.cache_dir, Analyzer())
    assert run_add(settings, str(source), "--id", "zeppelin") == 0
    stated: list[str] = []  # every listing of a folder stats its entries here (other tests' threads too)
    real_stat_entries = corpus.loader._stat_entries

    def counted(where: str, entries):  # type: ignore[no-untyped-def]
        if Path(where) == articles:
            stated.append(where)
        return real_stat_entries(where, entries)

    monkeypatch.setattr(corpus.loader, "_stat_entries", counted)
    parsed = build_parser().parse_args(["remove", "zeppelin"])
    assert parsed.handler(parsed, settings) == 0
    assert "Index updated" in capsys.readouterr().out
    assert stated == []
    monkeypatch.undo()
    assert is_current(articles, settings.cache_dir)
    answer = ask(articles, tmp_path, "what did ring test over seattle?")
    assert not any("zeppelin" in p.text for p in answer.passages)


def test_a_file_rewritten_unseen_just_after_an_update_is_read_again_by_the_next_one(articles, tmp_path):
    """A file written in the moments before an index update cannot be vouched for by its size and
    time (a same-size rewrite within one clock tick keeps both): the next update, even one that
    does not list the folder, reads it again."""
    import os

    from index.analysis import Analyzer
    from index.cache import IndexFolder, load_or_build

    settings = make_settings(tmp_path, corpus_dir=articles)
    load_or_build(articles, settings.cache_dir, Analyzer())
    first = articles / "zeppelin.md"
    first.write_text(render_zeppelin("zeppelin camera"), encoding="utf-8")
    long_ago = time.time_ns() - 10_000_000_000  # so that the answering load below cannot see it as fresh
    os.utime(first, ns=(long_ago, long_ago))
    IndexFolder(articles, settings.cache_dir).update_with([first])  # written by this process: hashed
    written = first.stat()
    first.write_text(render_zeppelin("blimp antenna!!"), encoding="utf-8")  # same length, same time
    os.utime(first, ns=(written.st_atime_ns, written.st_mtime_ns))
    assert first.stat().st_size == written.st_size
    second = articles / "hailstorm.md"
    second.write_text(
        "---\ntitle: Hail in Tacoma\npublisher: Port Gazette\n---\n\n"
        "A hailstorm hit the harbour in Tacoma on Monday, the port said.\n",
        encoding="utf-8",
    )
    IndexFolder(articles, settings.cache_dir).update_with([second])
    assert "blimp antenna" in ask(articles, tmp_path, "what did ring test over seattle?").passages[0].text
    assert "hailstorm" in ask(articles, tmp_path, "what hit the harbour in tacoma?").passages[0].text


def render_zeppelin(thing: str) -> str:
    return (
        "---\ntitle: Tests over Seattle\npublisher: Example Tribune\n---\n\n"
        f"Ring said on Tuesday that it tested a {thing} over Seattle during the summer, the company said.\n"
    )
