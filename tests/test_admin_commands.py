"""An admin runs `qabot add`, `list`, `remove` and `report` in a terminal: real subprocesses."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import pytest

from bot.answering.answer import Answer, Outcome, Passage, Source, Vote
from bot.stores.questionlog.store import QuestionLog
from tests.support.processes import qabot_environment, run_qabot
from tests.support.local_site import Page, article_html, local_site

REPO = Path(__file__).resolve().parents[1]
CANONICAL = "https://tribune.example/2026/02/20/flock-drones"


def qabot(*args: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    settings = {"QABOT_CORPUS_DIR": str(tmp_path / "articles"), **(env or {})}
    return run_qabot(*args, env=qabot_environment(tmp_path, **settings), cwd=tmp_path)


def test_add_from_a_web_address_then_ask_list_and_remove(articles, tmp_path):
    with local_site() as site:
        site.pages["/story"] = Page(article_html())
        added = qabot("add", site.url("/story"), "--author", "M. Lopez", tmp_path=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(f"added: {site.url('/story')}: example-tribune-flock-safety-expands-drone-program.md\n")
    assert "author:    M. Lopez" in added.stdout and f"url:       {CANONICAL}" in added.stdout

    asked = qabot("ask", "--json", "how many more cities will get flock drones", tmp_path=tmp_path)
    first = json.loads(asked.stdout)["passages"][0]
    assert "forty more cities" in first["text"] and first["url"] == CANONICAL

    listed = json.loads(qabot("list", "--json", tmp_path=tmp_path).stdout)
    rows = {row["id"]: row for row in listed["articles"]}
    assert len(rows) == 6 and listed["broken"] == []
    new = rows["example-tribune-flock-safety-expands-drone-program"]
    assert (new["title"], new["publisher"], new["published"], new["url"]) == (
        "Flock Safety expands drone program", "Example Tribune", "2026-02-20", CANONICAL
    )
    assert new["sentences"] == 3 and all(row["sentences"] > 10 for i, row in rows.items() if i != new["id"])
    text = qabot("list", tmp_path=tmp_path).stdout
    assert "6 articles in" in text and "Example Tribune  3 sentences" in text

    removed = qabot("remove", "example-tribune-flock-safety-expands-drone-program", tmp_path=tmp_path)
    assert removed.returncode == 0 and "Removed example-tribune-flock-safety-expands-drone-program.md" in removed.stdout
    assert len(list(articles.glob("*.md"))) == 5


def test_add_refuses_a_duplicate_and_a_timeout_with_one_line_and_no_change(articles, tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes(article_html())
    assert qabot("add", str(page), tmp_path=tmp_path).returncode == 0
    before = sorted(p.name for p in articles.iterdir())

    again = qabot("add", str(page), tmp_path=tmp_path)
    assert again.returncode == 0  # nothing failed: the corpus already has it (re-adding a folder is harmless)
    assert again.stdout.startswith(f"duplicate: {page}: example-tribune-flock-safety-expands-drone-program.md already has the same URL")

    with local_site() as site:
        site.pages["/slow"] = Page(article_html(), delay_seconds=3)
        slow = qabot("add", site.url("/slow"), tmp_path=tmp_path, env={"QABOT_FETCH_TIMEOUT": "0.5"})
    assert slow.returncode == 1 and "did not send the page within 0.5 seconds" in slow.stderr
    assert slow.stderr.startswith(f"failed: {site.url('/slow')}: ")  # the one line, no library chatter before it
    assert "Traceback" not in slow.stderr
    assert sorted(p.name for p in articles.iterdir()) == before


def test_list_names_a_broken_file_and_remove_can_delete_it(articles, tmp_path):
    (articles / "broken.md").write_text("---\npublished: someday\n---\n\nText.\n")
    listed = qabot("list", tmp_path=tmp_path)
    assert listed.returncode == 1
    assert "broken: " in listed.stdout and "broken.md, line 2" in listed.stdout
    assert "5 articles in" in listed.stdout
    removed = qabot("remove", "broken", tmp_path=tmp_path)
    assert removed.returncode == 0 and "Removed broken.md" in removed.stdout


def test_remove_explains_an_unknown_id(articles, tmp_path):
    result = qabot("remove", "no-such-article", tmp_path=tmp_path)
    assert result.returncode == 1 and "no article 'no-such-article'" in result.stderr


# -- qabot report ---------------------------------------------------------------------------


def _answer(outcome: Outcome, confidence: float, *sentences: str) -> Answer:
    source = Source(article_id="bbc-ring", label="BBC", url="https://www.bbc.com/news/x")
    passages = tuple(Passage(sentence=s, before="", after="", score=3.0, source=source) for s in sentences)
    return Answer(question="", outcome=outcome, message="", passages=passages, confidence=confidence, latency_ms=5)


@pytest.fixture
def seeded_log(tmp_path: Path) -> Path:
    """A week of questions: answered well, answered weakly, declined, invalid; some voted on."""
    path = tmp_path / "log" / "questions.sqlite3"
    now = dt.datetime.now(dt.timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    day1, day2 = now - dt.timedelta(days=3), now - dt.timedelta(days=1)
    clock_now = [day1]
    log = QuestionLog.open(path, secret="a test secret for the report", clock=lambda: clock_now[0])
    good = log.record(_answer(Outcome.ANSWERED, 0.9, "Ring cancelled it."), question="why did ring drop flock",
                      platform="discord", user_key="a")
    log.record_feedback(good, "a", Vote.UP)
    log.record(_answer(Outcome.NOT_FOUND, 0.1), question="Who is the CEO of Flock?", platform="slack", user_key="b")
    weak = log.record(_answer(Outcome.ANSWERED, 0.45, "Flock was founded in 2017."),
                      question="when did flock start selling drones", platform="discord", user_key="c")
    log.record_feedback(weak, "c", Vote.DOWN)
    log.record_feedback(weak, "d", Vote.DOWN)
    clock_now[0] = day2
    log.record(_answer(Outcome.NOT_FOUND, 0.2), question="who is the  ceo of flock?", platform="discord", user_key="e")
    log.record(_answer(Outcome.INVALID_QUESTION, 0.0), question="", platform="slack", user_key="f")
    log.close()
    return path


def test_report_shows_coverage_gaps_downvoted_answers_and_daily_counts(seeded_log, tmp_path):
    result = qabot("report", tmp_path=tmp_path, env={"QABOT_QUESTION_LOG_PATH": str(seeded_log)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("5 questions in the whole log")
    gaps = out.split("Coverage gaps")[1].split("Answers marked")[0]
    # The CEO question, asked twice on two platforms, comes first and once; the weak answer follows.
    lines = [line for line in gaps.splitlines() if "×" in line]
    assert "2×" in lines[0] and "declined" in lines[0] and "discord, slack" in lines[0]
    assert "ceo of flock" in lines[0].lower()
    assert "low (0.45)" in lines[1] and "when did flock start selling drones" in lines[1]
    assert len(lines) == 2  # the good answer and the empty question are no coverage gaps
    downvoted = out.split("Answers marked 👎")[1].split("Per day")[0]
    assert "when did flock start selling drones" in downvoted and "👎 2" in downvoted
    assert "shown: bbc-ring: Flock was founded in 2017." in downvoted
    assert "why did ring drop flock" not in downvoted

    data = json.loads(qabot("report", "--json", tmp_path=tmp_path,
                            env={"QABOT_QUESTION_LOG_PATH": str(seeded_log)}).stdout)
    per_day = [(d["platform"], d["questions"], d["answered"], d["declined"], d["other"], d["up_votes"],
                d["down_votes"]) for d in data["per_day"]]
    assert per_day == [
        ("discord", 2, 2, 0, 0, 1, 2),
        ("slack", 1, 0, 1, 0, 0, 0),
        ("discord", 1, 0, 1, 0, 0, 0),
        ("slack", 1, 0, 0, 1, 0, 0),
    ]
    assert not re.search(r"\b[0-9a-f]{32}\b", json.dumps(data))  # no user or channel hash of any kind


def test_report_since_a_day_leaves_out_older_questions(seeded_log, tmp_path):
    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).date().isoformat()
    result = qabot("report", "--since", since, "--json", tmp_path=tmp_path,
                   env={"QABOT_QUESTION_LOG_PATH": str(seeded_log)})
    data = json.loads(result.stdout)
    assert data["total"] == 2 and data["since"] == since
    assert [g["times"] for g in data["gaps"]] == [1] and data["downvoted"] == []


def test_report_explains_a_missing_log_and_a_bad_date(tmp_path):
    # A deployment that has logged nothing yet: said so, and no error (exit 0).
    missing = qabot("report", tmp_path=tmp_path, env={"QABOT_QUESTION_LOG_PATH": str(tmp_path / "none.sqlite3")})
    assert missing.returncode == 0, missing.stderr
    assert "nothing has been logged yet" in missing.stderr and missing.stdout.startswith("0 questions")
    assert not (tmp_path / "none.sqlite3").exists()  # reporting never creates a log
    not_a_database = tmp_path / "notes.sqlite3"
    not_a_database.write_text("these are my notes, not a database " * 100)
    broken = qabot("report", tmp_path=tmp_path, env={"QABOT_QUESTION_LOG_PATH": str(not_a_database)})
    assert broken.returncode == 1 and "cannot be read" in broken.stderr and "Traceback" not in broken.stderr
    bad = qabot("report", "--since", "last week", tmp_path=tmp_path)
    assert bad.returncode == 2 and "--since 'last week': use YYYY-MM-DD" in bad.stderr
