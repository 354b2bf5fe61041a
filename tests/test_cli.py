"""A new user runs `qabot` in a terminal: real subprocesses, real output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import qabot_environment, run_qabot

REPO = Path(__file__).resolve().parents[1]


def qabot(*args: str, tmp_path: Path, env: dict[str, str] | None = None, stdin: str | None = None):
    return run_qabot(*args, env=qabot_environment(tmp_path, **(env or {})), cwd=tmp_path, stdin=stdin)


def test_ask_prints_the_answer_with_its_sources_and_links(tmp_path):
    result = qabot("ask", "how much did amazon pay for ring?", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "$839 million" in result.stdout
    assert "https://aicnbc.com/17387.html" in result.stdout
    assert "\033[" not in result.stdout  # no colour codes when not writing to a terminal


def test_ask_json_prints_one_parseable_object(tmp_path):
    result = qabot("ask", "--json", "Why did Ring drop Flock?", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answered"] is True and isinstance(data["message"], str)
    first = data["passages"][0]
    assert {"text", "title", "publisher", "url", "score", "also_reported_by"} <= set(first)
    assert first["also_reported_by"] and {"title", "publisher", "url", "sentence"} <= set(first["also_reported_by"][0])
    assert "time and resources" in first["also_reported_by"][0]["sentence"]  # the other article's own words


def test_ask_declines_plainly_when_the_articles_do_not_answer(tmp_path):
    result = qabot("ask", "--json", "what's the capital of australia", tmp_path=tmp_path)
    data = json.loads(result.stdout)
    assert data["answered"] is False and "don't mention" in data["message"]


def test_questions_can_come_on_standard_input(tmp_path):
    result = qabot("ask", "--json", tmp_path=tmp_path, stdin="why did ring drop flock\n\nwho owns ring\n")
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["passages"] for line in lines)


def test_index_says_what_it_holds_and_uses_the_cache_the_second_time(tmp_path):
    first = qabot("index", tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "articles:  5" in first.stdout and "sentences:" in first.stdout and "terms:" in first.stdout
    assert "built" in first.stdout
    assert "loaded from cache" in qabot("index", tmp_path=tmp_path).stdout


def test_eval_prints_the_metrics(tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "1", "question": "how much did amazon pay for ring", "answers": ["$839 million"]}) + "\n"
    )
    result = qabot("eval", str(questions), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Hit@1" in result.stdout and "MRR" in result.stdout
    data = json.loads(qabot("eval", "--json", str(questions), tmp_path=tmp_path).stdout)
    assert data["overall"]["hit_at_1"] == 1.0


def test_eval_measures_any_corpus_folder_and_the_plain_bm25plus_baseline_beside_it(tmp_path):
    articles = tmp_path / "other"
    articles.mkdir()
    (articles / "rivers.md").write_text(
        "---\ntitle: Rivers\n---\n\nThe Seine flows through Paris. The Rhine flows into the North Sea.\n"
    )
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "1", "question": "which river flows through paris", "answers": ["The Seine"], "split": "test"},
        {"id": "2", "question": "who won the world cup", "answers": [], "kind": "offtopic", "split": "test"},
        {"id": "3", "question": "how much did amazon pay for ring", "answers": ["$839 million"], "split": "tune"},
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ("eval", str(questions), "--corpus", str(articles), "--split", "test", "--json")
    qabot_report = json.loads(qabot(*args, tmp_path=tmp_path).stdout)
    assert qabot_report["system"] == "qabot" and qabot_report["answerable"] == 1
    assert qabot_report["overall"]["hit_at_1"] == 1.0 and qabot_report["rightly_declined"] == 1
    plain = json.loads(qabot(*args, "--baseline", "bm25plus", tmp_path=tmp_path).stdout)
    assert plain["system"] == "BM25Plus baseline" and plain["overall"]["hit_at_1"] == 1.0
    assert plain["by_kind"]["offtopic"] == {**plain["by_kind"]["offtopic"], "unanswerable": 1, "declined": 0}
    missing = qabot("eval", str(questions), "--corpus", str(tmp_path / "nowhere"), tmp_path=tmp_path)
    assert missing.returncode == 1 and "not a folder" in missing.stderr


BAD_DATE = "---\ntitle: Draft\npublished: 13 Feb\n---\n\nA draft about doorbells.\n"


@pytest.fixture
def corpus_with_one_broken_article(articles: Path) -> Path:
    """The bundled articles, and one more whose date an admin typed by hand."""
    corpus = articles
    (corpus / "draft.md").write_text(BAD_DATE, encoding="utf-8")
    return corpus


def test_one_broken_article_does_not_stop_ask_which_names_it_on_stderr(tmp_path, corpus_with_one_broken_article):
    env = {"QABOT_CORPUS_DIR": str(corpus_with_one_broken_article)}
    for run in ("built", "from the cache"):
        result = qabot("ask", "Why did Ring drop Flock?", tmp_path=tmp_path, env=env)
        assert result.returncode == 0, (run, result.stderr)
        assert "Here is what the articles say" in result.stdout
        [line] = result.stderr.splitlines()
        assert "draft.md, line 3" in line and "bad date '13 Feb'" in line and "skipped" in line, run
    assert (corpus_with_one_broken_article / "draft.md").read_text(encoding="utf-8") == BAD_DATE  # left alone


def test_index_names_a_broken_article_and_strict_makes_it_fail_for_ci(tmp_path, corpus_with_one_broken_article):
    env = {"QABOT_CORPUS_DIR": str(corpus_with_one_broken_article)}
    relaxed = qabot("index", tmp_path=tmp_path, env=env)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "articles:  5" in relaxed.stdout and "broken:    1 article file left out" in relaxed.stdout
    assert "draft.md, line 3" in relaxed.stderr
    strict = qabot("index", "--strict", tmp_path=tmp_path, env=env)
    assert strict.returncode == 1 and "draft.md, line 3" in strict.stderr
    (corpus_with_one_broken_article / "draft.md").write_text(BAD_DATE.replace("13 Feb", "2026-02-13"), encoding="utf-8")
    mended = qabot("index", "--strict", tmp_path=tmp_path, env=env)
    assert mended.returncode == 0 and mended.stderr == "" and "articles:  6" in mended.stdout


def test_many_broken_articles_are_summarised_not_flooded(tmp_path, corpus_with_one_broken_article):
    for number in range(30):
        (corpus_with_one_broken_article / f"draft-{number:02}.md").write_text(BAD_DATE, encoding="utf-8")
    result = qabot("ask", "Why did Ring drop Flock?", tmp_path=tmp_path,
                   env={"QABOT_CORPUS_DIR": str(corpus_with_one_broken_article)})
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 11 and "… and 21 more broken article files" in lines[-1] and "qabot list" in lines[-1]


def test_a_broken_article_file_is_named_with_its_line(tmp_path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "broken.md").write_text("---\npublished: yesterday\n---\n\nText.\n")
    result = qabot("ask", "anything", tmp_path=tmp_path, env={"QABOT_CORPUS_DIR": str(corpus)})
    assert result.returncode == 1
    assert "broken.md, line 2" in result.stderr and "bad date" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_named_without_a_traceback(tmp_path):
    result = qabot("ask", "anything", tmp_path=tmp_path, env={"QABOT_TOP_K": "lots"})
    assert result.returncode == 2
    assert "QABOT_TOP_K" in result.stderr and "Traceback" not in result.stderr


def modules_loaded_by(tmp_path: Path, argv: list[str], watched: tuple[str, ...], env: dict[str, str] | None = None) -> str:
    """Which of the `watched` top-level packages a `qabot` command imported (printed as a list)."""
    code = (
        f"import sys; from bot.cli.main import main; main({argv!r}); "
        f"print(sorted({{m.split('.')[0] for m in sys.modules if m.split('.')[0] in {watched!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "QABOT_CACHE_DIR": str(tmp_path / "cache"),
            "HOME": str(tmp_path), "QABOT_QUESTION_LOG": "false", **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1]


SERVING_ONLY = ("discord", "slack_bolt", "slack_sdk", "aiohttp", "redis", "psycopg", "prometheus_client", "asyncio")
"""What only a running bot (or `qabot report`) needs: every other command starts without them."""
FETCHING_ONLY = ("trafilatura", "urllib3", "lxml")
"""What only fetching a web page or reading a saved HTML page needs."""


def test_answering_in_the_terminal_loads_neither_the_chat_libraries_nor_the_extractor(tmp_path):
    assert modules_loaded_by(tmp_path, ["ask", "who owns ring"], SERVING_ONLY + FETCHING_ONLY) == "[]"


def test_adding_a_markdown_file_loads_neither_the_web_client_nor_the_html_extractor(tmp_path):
    corpus = tmp_path / "articles"
    shutil.copytree(REPO / "corpus" / "articles", corpus)
    source = tmp_path / "zeppelin.md"
    source.write_text(
        "# Zeppelin cameras over Seattle\n\nRing said on Tuesday that it tested a zeppelin camera over Seattle "
        "during the summer. The airship flew for three weeks and filmed the harbour, the company said in a "
        "statement, and residents asked the council about the flights.\n",
        encoding="utf-8",
    )
    loaded = modules_loaded_by(
        tmp_path, ["add", str(source), "--id", "zeppelin"], SERVING_ONLY + FETCHING_ONLY,
        env={"QABOT_CORPUS_DIR": str(corpus)},
    )
    assert loaded == "[]"
    assert (corpus / "zeppelin.md").exists()


@pytest.mark.parametrize("args", [[], ["--help"]])
def test_the_command_explains_itself(tmp_path, args):
    result = qabot(*args, tmp_path=tmp_path)
    assert "ask" in result.stdout and "discord" in result.stdout and "slack" in result.stdout


def test_a_commands_whole_output_reaches_a_pipe_and_its_exit_status_is_kept(tmp_path):
    """The command ends without the interpreter's teardown (`bot.cli.main.exit_without_teardown`):
    nothing it printed may be lost on the way out, and a failure still exits non-zero."""
    questions = "".join(f"who owns ring {n}\n" for n in range(40))
    answered = qabot("ask", "--json", tmp_path=tmp_path, stdin=questions)
    assert answered.returncode == 0, answered.stderr
    assert len([json.loads(line) for line in answered.stdout.splitlines()]) == 40
    missing = qabot("ask", "who owns ring", tmp_path=tmp_path, env={"QABOT_CORPUS_DIR": str(tmp_path / "nowhere")})
    assert missing.returncode == 1 and "no such folder" in missing.stderr


def test_ending_a_command_quickly_still_runs_its_exit_handlers_and_waits_for_its_threads(tmp_path):
    code = (
        "import sys, tempfile, threading, time\n"
        "from bot.cli.main import exit_without_teardown\n"
        "left = tempfile.TemporaryDirectory(dir=sys.argv[1])  # removed by an exit handler\n"
        "def later():\n"
        "    time.sleep(0.3)\n"
        "    open(sys.argv[1] + '/written-by-a-thread', 'w').close()\n"
        "if sys.argv[2] == 'thread':\n"
        "    threading.Thread(target=later).start()\n"
        "print('printed', end='')\n"
        "exit_without_teardown(3)\n"
    )
    for mode in ("alone", "thread"):
        folder = tmp_path / mode
        folder.mkdir()
        done = subprocess.run(
            [sys.executable, "-c", code, str(folder), mode], env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True, text=True, timeout=60,
        )
        assert (done.returncode, done.stdout) == (3, "printed"), done.stderr
        left = sorted(p.name for p in folder.iterdir())
        assert left == (["written-by-a-thread"] if mode == "thread" else [])
