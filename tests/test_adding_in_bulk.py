"""An admin adds a day's articles at once: several files, a folder of saved pages, web addresses.

Real `qabot add` subprocesses, a corpus copied to a temporary folder, and pages served on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corpus import BUNDLED_DIR
from tests.support.local_site import Page, article_html, local_site
from tests.support.run_qabot import run_qabot

LONG_MEMO = (
    "Residents of Springfield asked the city council on Tuesday to publish every request police make to "
    "doorbell camera companies, after the Ring and Flock partnership was cancelled last week. The council "
    "will vote on the request in March."
)


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(BUNDLED_DIR, folder)
    return folder


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_folder_and_an_address_are_added_one_line_each_and_a_failure_makes_the_exit_status_1(articles, tmp_path):
    saved = tmp_path / "saved-pages"
    (saved / "monday").mkdir(parents=True)
    (saved / "drones.html").write_bytes(article_html())
    (saved / "drones-again.html").write_bytes(article_html())  # the same page saved twice
    (saved / "monday" / "council.md").write_text(f"# Council asks for camera requests\n\n{LONG_MEMO}\n")
    (saved / "broken.txt").write_bytes(b"caf\xe9 " * 40)  # Latin-1, not UTF-8
    (saved / "note.txt").write_text("Call the newsroom back.\n")  # too short to be an article
    (saved / "photo.jpg").write_bytes(b"\xff\xd8\xff")  # not an article file: not even tried
    (saved / ".hidden.md").write_text(LONG_MEMO)  # hidden: an editor's backup
    other = article_html(title="Police chiefs defend camera networks", canonical="https://wire.example/chiefs",
                         paragraphs=("Police chiefs in three states defended their use of licence plate cameras "
                                     "on Wednesday, saying the networks helped solve car thefts and find missing "
                                     "people within hours of a report.",))
    with local_site() as site:
        site.pages["/chiefs"] = Page(other)
        result = run_qabot("add", str(saved), site.url("/chiefs"), site.url("/gone"), home=tmp_path / "home",
                           env={"QABOT_CORPUS_DIR": str(articles), "QABOT_CACHE_DIR": str(tmp_path / "cache")})

    assert result.returncode == 1
    out, err = lines(result.stdout), lines(result.stderr)
    assert out[:4] == [  # in name order: drones-again.html comes before drones.html
        f"added: {saved / 'drones-again.html'}: example-tribune-flock-safety-expands-drone-program.md",
        f"duplicate: {saved / 'drones.html'}: example-tribune-flock-safety-expands-drone-program.md already has the same URL "
        "(“Flock Safety expands drone program”)",
        f"added: {saved / 'monday' / 'council.md'}: council-asks-for-camera-requests.md",
        f"added: {site.url('/chiefs')}: example-tribune-police-chiefs-defend-camera-networks.md",
    ], out
    assert "3 added, 1 duplicate, 3 failed" in result.stdout
    assert err == [
        f"failed: {saved / 'broken.txt'}: {saved / 'broken.txt'}, line 1: not UTF-8 text; save the file as UTF-8",
        f"failed: {saved / 'note.txt'}: {saved / 'note.txt'}: only 4 words of text; an article needs at least 30",
        f"failed: {site.url('/gone')}: {site.url('/gone')} answered HTTP 404 Not Found",
    ], err
    names = sorted(p.name for p in articles.glob("*.md"))
    assert len(names) == 5 + 3 and "council-asks-for-camera-requests.md" in names


def test_library_chatter_is_not_printed_before_the_one_line(articles, tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_text("<html></html>")  # trafilatura logs "Document is empty" for this
    with local_site() as site:
        site.pages["/busy"] = Page(b"try later", status=503)  # urllib3 retries, warning each time
        result = run_qabot("add", str(empty), site.url("/busy"), home=tmp_path / "home",
                           env={"QABOT_CORPUS_DIR": str(articles), "QABOT_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert lines(result.stderr) == [
        f"failed: {empty}: no article text found in the page; is it an article (and not a login or cookie page)?",
        f"failed: {site.url('/busy')}: {site.url('/busy')} answered HTTP 503 Service Unavailable",
    ]
    assert site.requests.count("/busy") == 3  # retried twice, silently


def test_several_sources_refuse_flags_that_name_one_article(articles, tmp_path):
    result = run_qabot("add", "a.html", "b.html", "--title", "One title", home=tmp_path / "home",
                       env={"QABOT_CORPUS_DIR": str(articles)})
    assert result.returncode == 1
    assert result.stderr == "qabot: --title name one article; give one source with them\n"


def test_the_bundled_articles_are_never_written_the_first_add_copies_them_to_the_user_data_folder(tmp_path):
    bundled_before = {p.name: p.read_bytes() for p in BUNDLED_DIR.iterdir()}
    page = tmp_path / "drones.html"
    page.write_bytes(article_html())
    home = tmp_path / "home"
    env = {"QABOT_CACHE_DIR": str(tmp_path / "cache")}  # no QABOT_CORPUS_DIR: the default

    first = run_qabot("add", str(page), home=home, env=env)

    user_corpus = home / ".local" / "share" / "qabot" / "corpus"
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == (
        f"Copied the 5 bundled articles to {user_corpus}, which qabot now answers from "
        "(the bundled folder is part of the installed package and is never changed)."
    )
    assert {p.name: p.read_bytes() for p in BUNDLED_DIR.iterdir()} == bundled_before
    assert len(list(user_corpus.glob("*.md"))) == 6
    # The default corpus now follows the user data folder: list and ask see the new article...
    listed = run_qabot("list", home=home, env=env)
    assert f"6 articles in {user_corpus}" in listed.stdout
    asked = run_qabot("ask", "how many more cities will get flock drones", home=home, env=env)
    assert "expand its drone program" in asked.stdout
    # ...and a second add goes there too, without copying again.
    (tmp_path / "memo.md").write_text(f"# Council asks for camera requests\n\n{LONG_MEMO}\n")
    second = run_qabot("add", str(tmp_path / "memo.md"), home=home, env=env)
    assert second.returncode == 0 and "Copied" not in second.stdout
    assert len(list(user_corpus.glob("*.md"))) == 7
