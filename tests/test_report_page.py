"""The admin opens `qabot report --html` in a browser: charts drawn, gaps with a way to ask again, no request made.

A week of questions is logged, one feed is followed, the page is written by a real `qabot report`
subprocess and opened in headless Chromium with networking off.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from pathlib import Path

import pytest

from bot.answering.answer import Answer, Outcome, Passage, Source, Vote
from bot.cli.report_page import ask_again_command
from bot.stores.questionlog.store import QuestionLog
from corpus import BUNDLED_DIR
from corpus.follow import FollowedSource, FollowState, save_state
from tests.support.chromium import load_in_chromium
from tests.support.run_qabot import run_qabot

MEASURE = """JSON.stringify({
  charts: [...document.querySelectorAll('section.chart')].map(section => {
    const svg = section.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    const shapes = svg ? [...svg.querySelectorAll('rect.rect, path.line, circle.dot, rect.reactive')] : [];
    return {id: section.id, width: box.width, height: box.height,
            drawn: shapes.filter(s => { const r = s.getBoundingClientRect(); return r.width > 0 || r.height > 0; }).length};
  }),
  gaps: [...document.querySelectorAll('#gaps code.ask')].map(code => code.textContent),
  followed: document.querySelector('#followed') ? document.querySelector('#followed').innerText : '',
  share: document.querySelector('#share-answered').textContent,
})"""


def _answer(outcome: Outcome, confidence: float, latency_ms: float) -> Answer:
    source = Source(article_id="bbc-ring", label="BBC", url="https://www.bbc.com/news/x")
    passages = (Passage(sentence="Ring cancelled it.", before="", after="", score=3.0, source=source),)
    return Answer(question="", outcome=outcome, message="", passages=passages if outcome is Outcome.ANSWERED else (),
                  confidence=confidence, latency_ms=latency_ms)


@pytest.fixture
def deployment(tmp_path: Path) -> dict[str, str]:
    log_path = tmp_path / "log" / "questions.sqlite3"
    start = dt.datetime.now(dt.timezone.utc).replace(hour=9, minute=0, second=0, microsecond=0) - dt.timedelta(days=4)
    now = [start]
    log = QuestionLog.open(log_path, secret="a test secret for the html report", clock=lambda: now[0])
    for day in range(4):
        now[0] = start + dt.timedelta(days=day)
        for n in range(3 + day):
            answer_id = log.record(_answer(Outcome.ANSWERED, 0.9, 4.0 + n), question="why did ring drop flock",
                                   platform="discord", user_key=f"u{day}{n}")
            log.record_feedback(answer_id, f"u{day}{n}", Vote.UP if n % 3 else Vote.DOWN)
        log.record(_answer(Outcome.NOT_FOUND, 0.1, 2.0), question="Who is the CEO of Flock?", platform="slack",
                   user_key="b")
        if day % 2:
            log.record(_answer(Outcome.NOT_FOUND, 0.2, 2.5), question="what's <b>Flock's</b> revenue & why?",
                       platform="slack", user_key="c")
        log.record(_answer(Outcome.INVALID_QUESTION, 0.0, 0.1), question="", platform="slack", user_key="d")
    log.close()
    articles = tmp_path / "articles"
    shutil.copytree(BUNDLED_DIR, articles)
    state = FollowState(sources={
        "https://news.example/flock/feed.xml": FollowedSource(
            "https://news.example/flock/feed.xml", since="2026-02-14T08:00:00Z", last_checked="2026-02-20T08:00:00Z",
            added=["example-tribune-flock-drones", "example-tribune-council-vote"]),
        "https://down.example/sitemap.xml": FollowedSource(
            "https://down.example/sitemap.xml", since="2026-02-15T08:00:00Z", last_checked="2026-02-20T08:00:00Z",
            last_error="https://down.example/sitemap.xml answered HTTP 500 Internal Server Error", failures=2),
    })
    save_state(articles, state)
    return {"QABOT_QUESTION_LOG_PATH": str(log_path), "QABOT_CORPUS_DIR": str(articles),
            "QABOT_CACHE_DIR": str(tmp_path / "cache")}


def test_the_html_report_draws_its_charts_in_a_browser_without_any_request(deployment, tmp_path):
    page = tmp_path / "report.html"
    written = run_qabot("report", "--html", str(page), home=tmp_path / "home", env=deployment)
    assert written.returncode == 0, written.stderr
    assert written.stdout.startswith(f"Wrote {page} (")

    text = page.read_text(encoding="utf-8")
    # Self-contained: nothing refers to another address than the SVG namespaces and the followed sources.
    addresses = set(re.findall(r"(?:src|href)\s*=\s*[\"']([^\"']+)", text))
    assert addresses == set(), addresses
    assert "<b>Flock's</b>" not in text and html.escape("what's <b>Flock's</b> revenue & why?") in text

    loaded = load_in_chromium(page.as_uri(), MEASURE, tmp_path / "profile", tmp_path / "report.png")

    assert loaded.requests == [] and loaded.failed == []  # the page asked for nothing at all
    import json

    measured = json.loads(loaded.value)
    charts = {chart["id"]: chart for chart in measured["charts"]}
    assert set(charts) == {"chart-outcomes", "chart-share", "chart-votes", "chart-latency"}
    for chart in charts.values():
        assert chart["width"] > 300 and chart["height"] > 100, chart
        assert chart["drawn"] > 0, chart  # bars, lines or dots really laid out
    assert measured["gaps"][:2] == [
        ask_again_command("Who is the CEO of Flock?"),  # asked 4 times: first
        ask_again_command("what's <b>Flock's</b> revenue & why?"),
    ]
    assert measured["gaps"][0] == "qabot ask 'Who is the CEO of Flock?'"
    assert "https://news.example/flock/feed.xml" in measured["followed"]
    assert "2: example-tribune-flock-drones, example-tribune-council-vote" in measured["followed"]
    assert "answered HTTP 500" in measured["followed"]
    total, answered = 4 * 2 + 2 + 3 + 4 + 5 + 6, 3 + 4 + 5 + 6
    assert measured["share"] == f"{100 * answered / total:.0f}%"
    assert loaded.screenshot is not None and loaded.screenshot.stat().st_size > 10_000
    assert loaded.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_empty_log_still_writes_a_page(tmp_path):
    page = tmp_path / "empty.html"
    written = run_qabot("report", "--html", str(page), home=tmp_path / "home",
                        env={"QABOT_QUESTION_LOG_PATH": str(tmp_path / "none.sqlite3")})
    assert written.returncode == 0, written.stderr
    assert "nothing has been logged yet" in written.stderr
    assert "0 questions" in page.read_text(encoding="utf-8")
